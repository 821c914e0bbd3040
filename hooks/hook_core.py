"""routerd's command-hook shim for Claude Code, Codex CLI and Gemini CLI. Standard library only.

``hook.py`` imports this module (so that its bytecode is cached: compiling it on every run cost
~3 ms) and calls ``main``. Run as ``<venv python> -I -S hook.py --host claude-code --event
UserPromptSubmit [--socket PATH] [--budget-ms 50] [--wait-s 120] [--fail-closed]``. It reads
the host's hook JSON from stdin, wraps those bytes unparsed as the ``payload`` of a ``hook``
request, sends it to routerd's socket as one frame (4-byte big-endian length, then JSON) and
writes the reply's
``stdout``/``stderr`` and exit code. The socket is ``--socket`` (``routerctl install`` writes it,
since hosts run hooks without the daemon's environment), else found as ``routerd/paths.py`` does.

Fail open: when the daemon is down, errs, or does not answer within the budget (``--budget-ms``,
else ``$ROUTERD_HOOK_BUDGET_MS``, else 50 ms) the shim prints nothing and exits 0, so the prompt
goes through. A daemon that needs longer (zero_claude mode answers through another model) first
sends a non-final reply; the shim then waits up to ``--wait-s``. With ``--fail-closed`` (installed
for hard mode) an unreachable daemon blocks prompt and tool events with exit 2, saying why.

It imports only ``_socket``, ``sys``, ``time`` and ``posix``: ``json`` alone would cost ~10 ms.
The socket path follows ``routerd/paths.py`` and the framing ``routerd/framing.py``; contract tests
in ``tests/integrations`` prove both agree.
"""

import _socket
import posix
import sys
import time

DEFAULT_BUDGET_MS = 50
DEFAULT_WAIT_S = 120.0
MAX_FRAME = 8 * 1024 * 1024
# Events where blocking means "do not run this": exit 2 there is a block, elsewhere it is not.
BLOCKABLE = ("UserPromptSubmit", "PreToolUse", "BeforeAgent", "BeforeTool", "BeforeModel")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def socket_path(env):
    """As ``routerd.paths.socket_path``, over ``posix.environ`` (bytes keys and values)."""
    if env.get(b"ROUTERD_SOCKET"):
        return env[b"ROUTERD_SOCKET"]
    if env.get(b"XDG_RUNTIME_DIR"):
        return env[b"XDG_RUNTIME_DIR"] + b"/routerd/routerd.sock"
    return b"/tmp/routerd-%d/routerd.sock" % posix.getuid()


def build_request(host, event, payload):
    """The ``hook`` request's JSON bytes, with ``payload`` (the host's JSON) embedded unparsed."""
    head = b'{"type":"hook","v":1,"host":"' + host + b'"'
    if event:
        head += b',"event":"' + event + b'"'
    return head + b',"payload":' + payload + b"}"


def frame(body):
    return len(body).to_bytes(4, "big") + body


def parse_reply(body):
    """A flat JSON object (strings, numbers, booleans, null) as a dict of str; enough for the
    daemon's ``hook_reply`` and ``error`` replies, which have no nested values."""
    text = body.decode("utf-8", "surrogatepass")
    out, i, n = {}, text.index("{") + 1, len(text)
    while i < n:
        if text[i] != '"':
            i += 1
            continue
        key, i = _string(text, i)
        i = text.index(":", i) + 1
        while text[i] in " \t\r\n":
            i += 1
        if text[i] == '"':
            value, i = _string(text, i)
        else:
            j = i
            while text[j] not in ",}":
                j += 1
            value, i = text[i:j].strip(), j
        out[key] = value
    return out


def _string(text, i):
    """The JSON string starting at ``text[i] == '"'`` and the index after its closing quote."""
    i += 1
    parts = []
    while True:
        quote, slash = text.find('"', i), text.find("\\", i)
        if slash < 0 or quote < slash:
            parts.append(text[i:quote])
            return "".join(parts), quote + 1
        parts.append(text[i:slash])
        kind = text[slash + 1]
        if kind != "u":
            parts.append(_ESCAPES[kind])
            i = slash + 2
            continue
        code, i = int(text[slash + 2:slash + 6], 16), slash + 6
        if 0xD800 <= code < 0xDC00 and text[i:i + 2] == "\\u":
            low = int(text[i + 2:i + 6], 16)
            if 0xDC00 <= low < 0xE000:
                code, i = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00), i + 6
        parts.append(chr(code))


def exchange(path, request, budget_s, wait_s):
    """Send one frame; return the final reply's body. Raises OSError (incl. timeouts) or ValueError."""
    deadline = time.monotonic() + budget_s
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(budget_s)
        sock.connect(path)
        sock.sendall(frame(request))
        buf = b""
        while True:
            while len(buf) >= 4 and len(buf) - 4 >= int.from_bytes(buf[:4], "big"):
                size = int.from_bytes(buf[:4], "big")
                body, buf = buf[4:4 + size], buf[4 + size:]
                if b'"final":false' not in body:
                    return body
                deadline = time.monotonic() + wait_s  # the daemon asked for more time
            if len(buf) >= 4 and int.from_bytes(buf[:4], "big") > MAX_FRAME:
                raise ValueError("reply frame too large")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("over budget")
            sock.settimeout(remaining)
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("routerd closed the connection")
            buf += data
    finally:
        sock.close()


def parse_args(argv, env):
    opts = {"host": b"claude-code", "event": b"", "fail_closed": False, "wait_s": DEFAULT_WAIT_S,
            "budget_ms": float(env.get(b"ROUTERD_HOOK_BUDGET_MS") or DEFAULT_BUDGET_MS)}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--fail-closed":
            opts["fail_closed"] = True
        elif arg == "--socket" and i + 1 < len(argv):
            i += 1
            opts["socket"] = argv[i]
        elif arg in ("--host", "--event", "--budget-ms", "--wait-s") and i + 1 < len(argv):
            i += 1
            key = arg[2:].replace("-", "_")
            value = argv[i]
            opts[key] = float(value) if key in ("budget_ms", "wait_s") else _name(value)
        i += 1
    return opts


def _name(value):
    """Host and event names go into JSON unescaped, so only plain names are accepted."""
    if not value or not all(c.isalnum() or c in "-_" for c in value):
        raise SystemExit(0)  # a broken hook config must not block the user either
    return value.encode()


def main():
    env = posix.environ
    opts = parse_args(sys.argv[1:], env)
    payload = sys.stdin.buffer.read().strip()
    if not payload:
        return 0
    try:
        path = opts.get("socket") or socket_path(env)
        body = exchange(path, build_request(opts["host"], opts["event"], payload),
                        opts["budget_ms"] / 1000.0, opts["wait_s"])
        reply = parse_reply(body)
    except (OSError, ValueError, IndexError, KeyError) as exc:
        return fail(opts, f"routerd is not answering ({type(exc).__name__}: {exc})")
    if reply.get("type") != "hook_reply":
        return fail(opts, f"routerd answered {reply.get('code', 'an error')}: {reply.get('message', '')}")
    if reply.get("stdout"):
        sys.stdout.buffer.write(reply["stdout"].encode("utf-8", "surrogatepass"))
    if reply.get("stderr"):
        sys.stderr.buffer.write(reply["stderr"].encode("utf-8", "surrogatepass"))
    return int(reply.get("exit_code") or 0)


def fail(opts, why):
    """Fail open; with ``--fail-closed`` block prompt and tool events (exit 2, reason on stderr)."""
    if opts["fail_closed"] and opts["event"].decode() in BLOCKABLE:
        sys.stderr.write(f"routerd hard mode blocks this until routerd answers: {why}. "
                         "Start it with `routerctl start`, or run `routerctl mode advise`.\n")
        return 2
    return 0

