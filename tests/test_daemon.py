"""The daemon as a process: routerctl lifecycle, readiness, signals, reload, stale and live sockets.

These run real ``routerd`` and ``routerctl`` processes, as a user would."""

import ctypes
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import apsw
import pytest

from tests.daemon_proc import (HTTP_ANY_PORT, ROUTERCTL, ROUTERD, Foreground, HeldUpstream, env_for, routerctl,
                               wait_for)


@pytest.fixture
def env(tmp_path):
    return env_for(tmp_path)


def test_routerctl_lifecycle(env, tmp_path):
    """start, ping, status, status --json, reload, stop: each works and says what it did."""
    started = routerctl(env, "start")
    assert started.returncode == 0, started.stderr
    assert "routerd started (pid" in started.stdout and str(tmp_path / "routerd.sock") in started.stdout
    try:
        again = routerctl(env, "start")
        assert again.returncode == 0 and "already running" in again.stdout
        assert "pong from routerd" in routerctl(env, "ping").stdout
        status = routerctl(env, "status")
        assert status.returncode == 0
        for field in ("backend", "socket", "http", "config", "last reload", "state", "rows"):
            assert field in status.stdout
        assert re.search(r"^brain +state (loading|ready),", status.stdout, re.M), status.stdout
        data = json.loads(routerctl(env, "status", "--json").stdout)
        assert data["socket"] == str(tmp_path / "routerd.sock")
        assert data["backend"].startswith("asyncio")
        assert set(data["rows"]) >= {"decisions", "calls", "feedback", "classification_cache"}
        assert data["last_reload"]["ok"] is True
        assert routerctl(env, "reload").returncode == 0
    finally:
        stopped = routerctl(env, "stop")
    assert stopped.returncode == 0 and "routerd stopped" in stopped.stdout
    assert not (tmp_path / "routerd.sock").exists()


@pytest.mark.parametrize("args", [["status"], ["ping"], ["stop"], ["reload"], ["status", "--json"]])
def test_commands_without_a_daemon_say_so_in_one_line(env, tmp_path, args):
    """With no daemon every command prints one line naming the socket and how to start, exit 3."""
    result = routerctl(env, *args)
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not running" in lines[0]
    assert str(tmp_path / "routerd.sock") in lines[0] and "routerctl start" in lines[0]
    assert "Traceback" not in result.stderr


def test_config_check(env, tmp_path):
    """config check validates a file offline, naming the key and line of an error."""
    good = tmp_path / "good.toml"
    good.write_text('[daemon]\nlog_level = "debug"\n')
    bad = tmp_path / "bad.toml"
    bad.write_text('[daemon]\nlog_level = "debug"\ndrain_timout_s = 3\n')
    assert routerctl(env, "config", "check", str(good)).returncode == 0
    result = routerctl(env, "config", "check", str(bad))
    assert result.returncode == 1
    assert f"{bad}:3: daemon.drain_timout_s: unknown key" in result.stderr


def test_invalid_config_at_start_is_fatal_with_the_reason(env, tmp_path):
    """routerd refuses to start on a broken config file, exit 2, naming key and line."""
    (tmp_path / "config.toml").write_text('[http]\nlisten = 4141\n')
    result = subprocess.run(ROUTERD, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "config.toml:2: http.listen: Expected `str`, got `int`" in result.stderr


def test_a_config_whose_runtime_fails_stops_the_start_with_the_reason(env, tmp_path):
    """A config that parses but names what does not exist stops the start once the listeners are
    bound (the runtime is built then): exit 2 with the key and line, the socket file removed."""
    (tmp_path / "config.toml").write_text(f'{HTTP_ANY_PORT}[routing]\nquality_floor = "no-such-model"\n')
    result = subprocess.run(ROUTERD, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "routing.quality_floor: 'no-such-model' is neither a tier" in result.stderr
    assert "config.toml:" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "routerd.sock").exists()


# Six threads each allocating past pymalloc's 512 bytes (glibc's malloc, in that thread), all alive
# while glibc's malloc_stats prints one "Arena N:" block per arena to stderr.
ARENAS = """
import ctypes, sys, threading
from routerd.daemon import limit_malloc_arenas
if sys.argv[1] == "limit":
    limit_malloc_arenas()
barrier = threading.Barrier(7)
def work():
    held = [bytes(2000) for _ in range(100)]
    barrier.wait()
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(6)]
for thread in threads:
    thread.start()
barrier.wait()
ctypes.CDLL(None).malloc_stats()
barrier.wait()
"""


@pytest.mark.skipif(not hasattr(ctypes.CDLL(None), "malloc_stats"), reason="glibc's malloc only")
def test_the_daemons_threads_share_two_malloc_arenas():
    """The daemon caps glibc's malloc arenas at two before its threads start (each thread would
    otherwise get one, and keep its pages: idle RSS); a MALLOC_ARENA_MAX in the environment wins."""
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}

    def arenas(mode: str, **extra: str) -> int:
        result = subprocess.run([sys.executable, "-c", ARENAS, mode], env={**env, **extra}, capture_output=True,
                                text=True, check=True, timeout=60)
        return len(re.findall(r"^Arena \d+:", result.stderr, re.M))

    assert (arenas("limit"), arenas("none")) == (2, 7)
    assert arenas("limit", MALLOC_ARENA_MAX="3") == 3


def test_sigterm_notifies_and_exits_cleanly(env, tmp_path):
    """Under a notify socket: READY=1 at start, STOPPING=1 on SIGTERM, then exit 0."""
    daemon = Foreground(env, tmp_path)
    try:
        daemon.proc.send_signal(signal.SIGTERM)
        daemon.notify.expect("STOPPING=1")
        assert daemon.proc.wait(timeout=30) == 0
    finally:
        daemon.close()
    assert not (tmp_path / "routerd.sock").exists()


# routerd, sending itself a signal at one point of its start, before its handler is in place: while
# its modules are imported ("import"), once its socket file is bound ("bound"), or from the worker
# thread opening the store, inside the event loop ("store").
SIGNAL_AT = """
import importlib.abc, os, signal, sys
signum, point = int(sys.argv[1]), sys.argv[2]


def send():
    os.kill(os.getpid(), signum)


class AtImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "routerd.app":
            sys.meta_path.remove(self)
            send()
        return None


def send_after(owner, name):
    original = getattr(owner, name)
    def then_send(*args):
        done = original(*args)
        send()
        return done
    setattr(owner, name, then_send)


if point == "import":
    sys.meta_path.insert(0, AtImport())
elif point == "bound":
    import routerd.listeners as listeners
    send_after(listeners, "bind_unix")
elif point == "store":
    from routerd.store.store import Store
    send_after(Store, "_open_sync")
from routerd.main import main
sys.exit(main([]))
"""


def _as_a_background_job() -> None:
    """What a non-interactive shell does to a job it starts with ``&`` (POSIX): SIGINT and SIGQUIT
    ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)


@pytest.mark.parametrize("started", ["foreground", "background"])
@pytest.mark.parametrize("point", ["import", "bound", "store"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_signal_during_start_up_stops_the_daemon_cleanly(env, tmp_path, signum, point, backend, started):
    """SIGTERM or Ctrl-C at any point of the start, before the handler is in place, waits for it:
    the daemon stops as after any other signal, exit 0, its socket file removed; also when it was
    started as a script's background job, with SIGINT ignored (trio lost it)."""
    result = subprocess.run([sys.executable, "-c", SIGNAL_AT, str(int(signum)), point],
                            env={**env, "ROUTERD_BACKEND": backend}, capture_output=True, text=True, timeout=60,
                            preexec_fn=_as_a_background_job if started == "background" else None)
    assert (result.returncode, "Traceback" in result.stderr) == (0, False), result.stderr
    assert f"({backend}" in result.stderr and "routerd stopped" in result.stderr
    assert not (tmp_path / "routerd.sock").exists()


def test_second_daemon_refuses_live_socket(env, tmp_path):
    """A second routerd on a live socket exits 1 with a clear message; the first keeps serving."""
    daemon = Foreground(env, tmp_path)
    try:
        second = subprocess.run(ROUTERD, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert "already running" in second.stderr and str(tmp_path / "routerd.sock") in second.stderr
        assert routerctl(env, "ping").returncode == 0
    finally:
        daemon.close()


def test_stale_socket_is_replaced(env, tmp_path):
    """A socket file left by a dead daemon is removed and the new daemon starts."""
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(tmp_path / "routerd.sock"))
    stale.close()
    daemon = Foreground(env, tmp_path)
    try:
        assert routerctl(env, "ping").returncode == 0
        mode = os.stat(tmp_path / "routerd.sock").st_mode & 0o777
        assert mode == 0o600
    finally:
        daemon.close()


def test_socket_directory_is_private(tmp_path):
    """The default socket directory is created 0700 and the socket 0600."""
    env = env_for(tmp_path, XDG_RUNTIME_DIR=str(tmp_path / "run"))
    env.pop("ROUTERD_SOCKET")
    daemon = Foreground(env, tmp_path)
    try:
        assert os.stat(tmp_path / "run" / "routerd").st_mode & 0o777 == 0o700
        assert os.stat(tmp_path / "run" / "routerd" / "routerd.sock").st_mode & 0o777 == 0o600
    finally:
        daemon.close()


def _status(env):
    result = routerctl(env, "status", "--json")
    return json.loads(result.stdout) if result.returncode == 0 else None


def test_reload_on_file_change_and_sighup(env, tmp_path):
    """Editing the file reloads it; a broken edit keeps the old config and status says why;
    SIGHUP reloads too; a start-only setting reports restart required."""
    config = tmp_path / "config.toml"
    config.write_text(HTTP_ANY_PORT + '[daemon]\nlog_level = "info"\n')
    daemon = Foreground(env, tmp_path)
    try:
        config.write_text(HTTP_ANY_PORT + '[daemon]\nlog_levl = "debug"\n')
        daemon.notify.expect("RELOADING=1")
        failed = wait_for(lambda: (s := _status(env)) and not s["last_reload"]["ok"] and s,
                          what="failed reload in status")
        assert "config.toml:4: daemon.log_levl: unknown key" in failed["last_reload"]["message"]
        assert routerctl(env, "ping").returncode == 0

        config.write_text(HTTP_ANY_PORT + f'[state]\npath = "{tmp_path / "other.db"}"\n')
        daemon.proc.send_signal(signal.SIGHUP)
        ok = wait_for(lambda: (s := _status(env)) and s["last_reload"].get("restart_required") and s,
                      what="reload with restart required")
        assert ok["last_reload"]["ok"] is True
        assert ok["last_reload"]["restart_required"] == ["state.path"]
        assert ok["state_path"] != str(tmp_path / "other.db")
    finally:
        daemon.close()


ACTIVATE = """
import os, socket, sys
sock = socket.socket(socket.AF_UNIX)
sock.bind(sys.argv[1])
sock.listen(16)
if sock.fileno() != 3:
    os.dup2(sock.fileno(), 3)
os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="routerd.socket")
os.execv(sys.executable, [sys.executable, "-m", "routerd.main"])
"""


def test_socket_activation(env, tmp_path):
    """Given a listening socket as fd 3 (LISTEN_FDS), routerd serves on it instead of binding."""
    path = tmp_path / "activated.sock"
    activated_env = dict(env, ROUTERD_SOCKET=str(path))
    daemon = Foreground(activated_env, tmp_path, [sys.executable, "-c", ACTIVATE, str(path)])
    try:
        assert routerctl(activated_env, "ping").returncode == 0
    finally:
        daemon.close()
    assert path.exists(), "an activated socket belongs to systemd and is not removed"


def test_output_cut_short_by_its_reader_is_not_an_error(env, tmp_path):
    """`routerctl status | head -1` with head already gone: exit 0, nothing said about the pipe."""
    daemon = Foreground(env, tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to stdout now fails with EPIPE, deterministically
    try:
        result = subprocess.run([*ROUTERCTL, "status"], env=env, stdout=write_end,
                                stderr=subprocess.PIPE, text=True, timeout=60)
        assert result.returncode == 0 and result.stderr == "", result.stderr
    finally:
        os.close(write_end)
        daemon.close()


def test_a_second_daemon_on_the_same_state_database_refuses_to_start(env, tmp_path):
    """Two daemons on one state DB (own sockets) would overshoot every budget: the second exits 1
    in one line naming the first one's pid; the first keeps serving."""
    daemon = Foreground(env, tmp_path)
    try:
        second = subprocess.run(ROUTERD, env={**env, "ROUTERD_SOCKET": str(tmp_path / "second.sock")},
                                capture_output=True, text=True, timeout=60)
        state = tmp_path / "state" / "routerd" / "routerd.db"
        assert second.returncode == 1
        assert second.stderr.strip().splitlines() == [
            f"routerd: cannot start: state database {state}: in use by another routerd "
            f"(pid {daemon.proc.pid}); stop it first, or give this one its own state.path"]
        assert routerctl(env, "ping").returncode == 0
    finally:
        daemon.close()


def _foreign(path):
    conn = apsw.Connection(str(path))
    conn.execute("CREATE TABLE moz_places(id INTEGER PRIMARY KEY, url TEXT); INSERT INTO moz_places VALUES (1, 'x')")
    conn.close()


def _newer(path):
    conn = apsw.Connection(str(path))
    conn.execute("CREATE TABLE decisions(id TEXT); PRAGMA user_version=99")
    conn.close()


@pytest.mark.parametrize(("make", "reason"), [
    (lambda p: p.write_bytes(random.Random(1).randbytes(64 * 1024)), "not a SQLite database"),
    (lambda p: p.write_bytes(b"SQLite format 3\0" + bytes(34)), "not a SQLite database"),
    (_foreign, "not a routerd database (it holds another program's tables: moz_places)"),
    (_newer, "schema v99 is newer than this routerd knows"),
    (lambda p: p.mkdir(), "is a directory"),
], ids=["random", "truncated-header", "foreign", "newer", "directory"])
def test_a_state_file_that_is_no_routerd_database_stops_the_start_in_one_line(env, tmp_path, make, reason):
    """A corrupt or foreign state DB: one line naming the file and why, exit 1, and the file's mode
    is left as it was (routerd does not chmod a file that is not its own)."""
    state = tmp_path / "state" / "routerd" / "routerd.db"
    state.parent.mkdir(parents=True)
    make(state)
    state.chmod(0o644)
    result = subprocess.run(ROUTERD, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"routerd: cannot start: state database {state}: "), lines
    assert reason in lines[0]
    assert state.stat().st_mode & 0o777 == 0o644


def _chat_in_thread(address: str, replies: list) -> threading.Thread:
    """POST one chat completion to routerd from a thread; its (status, body) lands in ``replies``."""
    def post() -> None:
        request = urllib.request.Request(
            f"http://{address}/v1/chat/completions", method="POST", headers={"content-type": "application/json"},
            data=json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).encode())
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                replies.append((answer.status, json.loads(answer.read())))
        except urllib.error.HTTPError as exc:  # an error answer
            with exc:
                replies.append((exc.code, json.loads(exc.read())))
        except OSError as exc:  # the connection cut
            replies.append(exc)

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread


def _held_upstream(tmp_path) -> HeldUpstream:
    """An upstream that holds its requests until answered, in a config with a minute of drain."""
    upstream = HeldUpstream()
    (tmp_path / "config.toml").write_text(HTTP_ANY_PORT + "[daemon]\ndrain_timeout_s = 60\n"
                                          + upstream.provider_toml())
    return upstream


def _a_request_held(address: str, upstream: HeldUpstream) -> tuple[threading.Thread, list]:
    """A chat request to routerd at ``address`` that ``upstream`` holds: the client's thread and the
    list its (status, body) will land in."""
    replies: list = []
    client = _chat_in_thread(address, replies)
    upstream.wait_request()
    return client, replies


def test_status_and_a_second_stop_while_draining(env, tmp_path):
    """While routerd drains a request held upstream: status says STOPPING (exit 0), ping says it is
    stopping (exit 1), a second stop says it is already stopping and waits; the request finishes and
    both stops exit 0 once routerd has exited."""
    upstream = _held_upstream(tmp_path)
    daemon = Foreground(env, tmp_path)
    try:
        client, replies = _a_request_held(_status(env)["http"], upstream)
        first = subprocess.Popen([*ROUTERCTL, "stop"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        wait_for(lambda: (s := _status(env)) and s.get("draining"), what="status during the drain")
        status = routerctl(env, "status")
        assert status.returncode == 0 and "STOPPING: draining in-flight requests" in status.stdout
        ping = routerctl(env, "ping")
        assert ping.returncode == 1 and "routerd is stopping" in ping.stderr
        second = subprocess.Popen([*ROUTERCTL, "stop"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        assert second.stdout.readline() == f"routerd (pid {daemon.proc.pid}) is already stopping; waiting for it to exit\n"
        upstream.answer("finished while draining")
        assert daemon.proc.wait(timeout=30) == 0
        for stop in (first, second):
            out, err = stop.communicate(timeout=30)
            assert stop.returncode == 0 and out.endswith(f"routerd stopped (pid {daemon.proc.pid})\n"), err
        client.join(timeout=30)
        assert replies[0][0] == 200 and replies[0][1]["choices"][0]["message"]["content"] == "finished while draining"
    finally:
        upstream.close()  # a held request fails at once, so that a failed test does not wait out the drain
        daemon.close()


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_second_signal_ends_the_drain_at_once(env, tmp_path, signum, backend):
    """Ctrl-C (or SIGTERM) while routerd drains a request held upstream, with a minute of drain
    left: it cuts the request now (its client gets a 503), records its call once, and exits 0."""
    upstream = _held_upstream(tmp_path)
    daemon = Foreground({**env, "ROUTERD_BACKEND": backend}, tmp_path)
    try:
        client, replies = _a_request_held(_status(env)["http"], upstream)
        daemon.proc.send_signal(signum)
        wait_for(lambda: (s := _status(env)) and s.get("draining"), what="the drain")
        daemon.proc.send_signal(signum)
        assert daemon.proc.wait(timeout=15) == 0
        client.join(timeout=15)
        assert replies[0][0] == 503 and replies[0][1]["error"]["code"] == "shutting_down"  # cut, and told so
    finally:
        upstream.close()
        daemon.close()
    log = daemon.log.read_text()
    assert f"({backend}" in log and "while stopping: cancelling 1 in-flight request(s) now" in log
    state = apsw.Connection(str(tmp_path / "state" / "routerd" / "routerd.db"))
    assert [row[0] for row in state.execute("SELECT provider FROM calls")] == ["held"]


def test_restart_while_a_request_is_in_flight(env, tmp_path):
    """routerctl restart with a request held upstream: the old daemon drains it (its client gets
    the answer), then a new daemon serves; a request sent meanwhile gets a 503, not a refused
    connection."""
    upstream, old, client, replies = _started_with_a_request_held(env, tmp_path)
    restart = None
    try:
        restart = subprocess.Popen([*ROUTERCTL, "restart"], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        wait_for(lambda: (s := _status(env)) and s.get("draining"), what="the old daemon draining")
        refused: list = []
        _chat_in_thread(old["http"], refused).join(timeout=30)
        assert refused[0][0] == 503 and refused[0][1]["error"]["code"] == "shutting_down"
        upstream.answer("finished across the restart")
        out, err = restart.communicate(timeout=60)
        assert restart.returncode == 0, err
        assert f"routerd stopped (pid {old['pid']})" in out and "routerd started (pid" in out
        client.join(timeout=30)
        assert replies[0][0] == 200 and replies[0][1]["choices"][0]["message"]["content"] == "finished across the restart"
        new = _status(env)
        assert new["pid"] != old["pid"] and not new.get("draining")
    finally:
        _end(restart)  # a failed test must not leave it to start a daemon after the stop below
        upstream.close()
        routerctl(env, "stop")


def _started_with_a_request_held(env, tmp_path) -> tuple[HeldUpstream, dict, threading.Thread, list]:
    """routerctl start with a minute of drain, and a chat request the upstream holds: the upstream,
    the daemon's status, the client's thread and the list its reply will land in."""
    upstream = _held_upstream(tmp_path)
    assert routerctl(env, "start").returncode == 0
    try:
        old = _status(env)
        client, replies = _a_request_held(old["http"], upstream)
    except BaseException:  # a failed test must not leave the daemon running
        upstream.close()
        routerctl(env, "stop")
        raise
    return upstream, old, client, replies


def _end(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.communicate()


def test_stop_returns_once_the_daemon_exited_even_if_nobody_reaps_it(env, tmp_path):
    """routerctl stop returns as soon as routerd has exited, even while its parent has not reaped
    it (a container's first process may reap late or never): here the test is the parent and reaps
    only after the stop returned."""
    daemon = Foreground(env, tmp_path)
    try:
        stopped = subprocess.run([*ROUTERCTL, "stop"], env=env, capture_output=True, text=True, timeout=15)
        assert stopped.returncode == 0 and f"routerd stopped (pid {daemon.proc.pid})" in stopped.stdout
    finally:
        assert daemon.close() == 0


def test_sighup_while_draining_does_not_reload(env, tmp_path):
    """SIGHUP while routerd drains is logged and ignored: no reload (new pools for a daemon on its
    way out), and no READY=1 to the supervisor after STOPPING=1."""
    upstream = _held_upstream(tmp_path)
    daemon = Foreground(env, tmp_path)
    try:
        client, replies = _a_request_held(_status(env)["http"], upstream)
        daemon.proc.send_signal(signal.SIGTERM)
        daemon.notify.expect("STOPPING=1")
        daemon.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "(SIGHUP)" in (log := daemon.log.read_text()) or "SIGHUP while" in log, what="the SIGHUP")
        upstream.answer("done")
        assert daemon.proc.wait(timeout=30) == 0
        client.join(timeout=30)
        daemon.notify.sock.settimeout(0)
        with pytest.raises(BlockingIOError):  # nothing after STOPPING=1: no RELOADING=1, no READY=1
            daemon.notify.sock.recv(4096)
    finally:
        upstream.close()
        daemon.close()
    log = daemon.log.read_text()
    assert "SIGHUP while stopping: not reloading" in log and "reloaded" not in log


def test_start_after_the_daemon_was_killed(env, tmp_path):
    """A daemon killed with SIGKILL leaves its socket and its state lock file (naming its pid):
    routerctl says it is not running (exit 3), and the next start takes their place."""
    assert routerctl(env, "start").returncode == 0
    pid = _status(env)["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: routerctl(env, "ping").returncode == 3, what="the killed daemon's socket to refuse")
    lock = tmp_path / "state" / "routerd" / "routerd.db.lock"
    assert (tmp_path / "routerd.sock").exists() and lock.read_text().strip() == str(pid)
    try:
        started = routerctl(env, "start")
        assert started.returncode == 0, started.stderr
        assert _status(env)["pid"] != pid
    finally:
        assert routerctl(env, "stop").returncode == 0


def test_start_while_a_daemon_drains_waits_for_it_then_starts(env, tmp_path):
    """routerctl start while routerd drains a request held upstream: it says the daemon is already
    stopping, waits for it to exit (the request is answered), then starts a new one, exit 0."""
    upstream, old, client, replies = _started_with_a_request_held(env, tmp_path)
    start = None
    try:
        stop = subprocess.Popen([*ROUTERCTL, "stop"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        wait_for(lambda: (s := _status(env)) and s.get("draining"), what="the drain")
        start = subprocess.Popen([*ROUTERCTL, "start"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        assert start.stdout.readline() == f"routerd (pid {old['pid']}) is already stopping; waiting for it to exit\n"
        upstream.answer("answered before the start")
        out, err = start.communicate(timeout=60)
        assert start.returncode == 0 and "routerd started (pid" in out, err
        stop.communicate(timeout=30)
        assert stop.returncode == 0
        client.join(timeout=30)
        assert replies[0][0] == 200
        assert _status(env)["pid"] != old["pid"]
    finally:
        _end(start)
        upstream.close()
        routerctl(env, "stop")
