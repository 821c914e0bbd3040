"""The command-hook shim: stdlib only, the same bytes and paths as the daemon, and fail-open."""

import json
import os
import socket
import subprocess
import threading
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routerd import paths
from routerd.framing import encode_frame
from routerd.protocol.codec import ENCODER, REQUEST_DECODER
from routerd.protocol.replies import Error, HookReply
from routerd.protocol.requests import Hook
from tests.integrations.support import HOOK_CORE, HOOK_SHIM, PYTHON, claude_payload, load_shim, shim_command

shim = load_shim(HOOK_CORE)
FORBIDDEN = {"msgspec", "anyio", "httpx", "click", "json", "socket", "routerd"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def test_shim_imports_nothing_outside_the_standard_library(tmp_path: Path):
    """Running the shim end to end loads none of msgspec, anyio, httpx, click, json or socket."""
    probe = (
        "import sys\n"
        f"sys.argv = ['hook.py', '--host', 'claude-code', '--event', 'Stop']\n"
        f"code = compile(open({str(HOOK_SHIM)!r}).read(), 'hook.py', 'exec')\n"
        f"try:\n    exec(code, {{'__name__': '__main__', '__file__': {str(HOOK_SHIM)!r}}})\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('MODULES ' + ' '.join(sorted(sys.modules)))\n"
    )
    env = {"ROUTERD_SOCKET": str(tmp_path / "none.sock"), "PATH": os.environ["PATH"]}
    proc = subprocess.run([PYTHON, "-I", "-S", "-c", probe], input=claude_payload("Stop"),
                          capture_output=True, env=env, timeout=30)
    loaded = set(proc.stderr.decode().split("MODULES ")[1].split())
    assert not {m.split(".")[0] for m in loaded} & FORBIDDEN, loaded


@settings(max_examples=200, deadline=None)
@given(payload=st.dictionaries(st.text(), json_values, max_size=5),
       host=st.sampled_from(["claude-code", "codex", "gemini-cli"]),
       event=st.sampled_from(["", "UserPromptSubmit", "PreToolUse", "BeforeModel"]))
def test_hand_built_request_decodes_with_the_daemons_decoder(payload, host, event):
    """The shim's bytes are a valid ``hook`` request carrying the host's JSON untouched."""
    raw = json.dumps(payload).encode()
    request = REQUEST_DECODER.decode(shim.build_request(host.encode(), event.encode(), raw))
    assert isinstance(request, Hook)
    assert (request.host, request.event or "") == (host, event)
    assert json.loads(bytes(request.payload)) == payload


@settings(max_examples=300, deadline=None)
@given(stdout=st.text(), stderr=st.text(), exit_code=st.integers(0, 255))
def test_reply_parser_reads_what_the_daemon_encodes(stdout, stderr, exit_code):
    """Any hook_reply msgspec writes, the shim's parser reads back exactly."""
    body = ENCODER.encode(HookReply(stdout=stdout, stderr=stderr, exit_code=exit_code))
    reply = shim.parse_reply(body)
    assert reply.get("stdout", "") == stdout
    assert reply.get("stderr", "") == stderr
    assert int(reply.get("exit_code", "0")) == exit_code


def test_error_replies_parse():
    """An error reply is recognised as one, with its code."""
    reply = shim.parse_reply(ENCODER.encode(Error(code="bad_request", message='no "host"', retryable=False)))
    assert (reply["type"], reply["code"], reply["message"]) == ("error", "bad_request", 'no "host"')


@pytest.mark.parametrize("env", [
    {"ROUTERD_SOCKET": "/x/y.sock", "XDG_RUNTIME_DIR": "/run/user/1"},
    {"ROUTERD_SOCKET": "", "XDG_RUNTIME_DIR": "/run/user/1"},
    {"XDG_RUNTIME_DIR": "/run/user/1"},
    {},
])
def test_socket_path_rules_match_the_daemon(env):
    """The shim finds the socket where routerd/paths.py puts it."""
    ours = shim.socket_path({k.encode(): v.encode() for k, v in env.items()})
    assert ours.decode() == str(paths.socket_path(env))


def test_frames_match_routerd_framing():
    """The shim's length prefix is routerd.framing's."""
    assert shim.frame(b'{"a":1}') == encode_frame(b'{"a":1}')


def _run(args: list[str], sock: Path, payload: bytes, timeout: float = 20) -> subprocess.CompletedProcess:
    env = {"ROUTERD_SOCKET": str(sock), "PATH": os.environ["PATH"]}
    return subprocess.run(shim_command(*args), input=payload, capture_output=True, env=env,
                          timeout=timeout)


def test_daemon_down_prints_nothing_and_exits_zero(tmp_path: Path):
    """No daemon: the prompt goes through (empty stdout, exit 0)."""
    proc = _run(["--host", "claude-code", "--event", "UserPromptSubmit"], tmp_path / "no.sock",
                claude_payload("UserPromptSubmit", prompt="hi"))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")


def test_fail_closed_blocks_prompt_and_tool_events_only(tmp_path: Path):
    """Installed for hard mode, an unreachable daemon blocks tools (exit 2, says why), not Stop."""
    tool = _run(["--event", "PreToolUse", "--fail-closed"], tmp_path / "no.sock",
                claude_payload("PreToolUse", tool_name="Bash", tool_input={}))
    assert tool.returncode == 2 and b"routerd hard mode blocks" in tool.stderr
    stop = _run(["--event", "Stop", "--fail-closed"], tmp_path / "no.sock", claude_payload("Stop"))
    assert (stop.returncode, stop.stdout) == (0, b"")


class _SilentServer:
    """A Unix socket that accepts connections and never answers (a hung daemon)."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(4)
        self.accepted = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        self.conns.append(conn)
        self.accepted.set()

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.sock.close()


def test_slow_daemon_is_abandoned_after_the_budget(tmp_path: Path):
    """A daemon that does not answer within --budget-ms: nothing printed, exit 0."""
    server = _SilentServer(tmp_path / "slow.sock")
    try:
        proc = _run(["--event", "UserPromptSubmit", "--budget-ms", "30"], tmp_path / "slow.sock",
                    claude_payload("UserPromptSubmit", prompt="hi"), timeout=10)
        assert server.accepted.is_set()
        assert (proc.returncode, proc.stdout) == (0, b"")
    finally:
        server.close()


def test_socket_argument_wins_over_the_environment(tmp_path: Path):
    """--socket (what install writes) names the daemon even where ROUTERD_SOCKET says otherwise."""
    server = _SilentServer(tmp_path / "daemon.sock")
    try:
        proc = _run(["--event", "SessionStart", "--socket", str(tmp_path / "daemon.sock"), "--budget-ms", "30"],
                    tmp_path / "elsewhere.sock", claude_payload("SessionStart"), timeout=10)
        assert server.accepted.is_set() and (proc.returncode, proc.stdout) == (0, b"")
    finally:
        server.close()


def test_reply_fields_are_written_verbatim(tmp_path: Path):
    """stdout, stderr and the exit code come from the daemon's hook_reply."""
    path = tmp_path / "fake.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    reply = HookReply(stdout='{"x": "é\\n"}', stderr="why", exit_code=2)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(encode_frame(ENCODER.encode(HookReply(final=False))))
            conn.sendall(encode_frame(msgspec.json.encode(reply)))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        proc = _run(["--event", "UserPromptSubmit"], path, claude_payload("UserPromptSubmit", prompt="x"))
    finally:
        thread.join(10)
        listener.close()
    assert (proc.stdout.decode(), proc.stderr.decode(), proc.returncode) == ('{"x": "é\\n"}', "why", 2)
