"""What a new user hits at the command line: bad input gets one clear line (never a traceback),
``config check`` agrees with the daemon, ``restart`` stops nothing for a config the daemon would
refuse, and a failed ``start`` shows only its own errors. Real ``routerd``/``routerctl`` processes."""

import socket
import subprocess
import sys

import pytest

from tests.daemon_proc import ROUTERCTL, ROUTERD, Foreground, env_for, routerctl


@pytest.fixture
def env(tmp_path):
    return env_for(tmp_path)


def _one_clear_line(result: subprocess.CompletedProcess, code: int, *words: str) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and all(w in line for w in words), line
    return line


@pytest.mark.parametrize("what", ["missing", "directory", "latin-1"])
def test_unreadable_messages_file_is_one_line(env, tmp_path, what):
    """classify --messages with a missing file, a directory or non-UTF-8 bytes says why, exit 2."""
    path = {"missing": tmp_path / "nonexistent.json", "directory": tmp_path}.get(what, tmp_path / "l1.json")
    if what == "latin-1":
        path.write_bytes('[{"role": "user", "content": "caf\xe9"}]'.encode("latin-1"))
    result = routerctl(env, "classify", "--messages", str(path))
    reason = {"missing": "No such file", "directory": "Is a directory", "latin-1": "not UTF-8"}[what]
    _one_clear_line(result, 2, "--messages", reason)


def test_route_dash_reads_stdin_and_oversized_prompts_are_refused(env):
    """`route -` classifies what is piped in, not the literal '-'; a prompt beyond the 8 MiB frame
    limit is refused before anything is sent, in one line."""
    assert routerctl(env, "start").returncode == 0
    try:
        piped = subprocess.run([*ROUTERCTL, "route", "--json", "-"], env=env, capture_output=True,
                               text=True, input="implement a lock-free queue in C++ with tests", timeout=60)
        assert piped.returncode == 0 and '"task_type": "code"' in piped.stdout
        big = subprocess.run([*ROUTERCTL, "route"], env=env, capture_output=True, text=True,
                             input="x" * (11 << 20), timeout=60)
        _one_clear_line(big, 2, "11.0 MiB", "at most 8 MiB")
    finally:
        routerctl(env, "stop")


@pytest.mark.parametrize("config, words", [
    ('[http]\nlisten = "localhost"\n', ("http.listen", "host:port")),
    ('[http]\nlisten = "0.0.0.0:0"\n', ("beyond loopback", "gateway_key_env")),
    ('[http]\nlisten = "127.0.0.1:4999"\n[providers.loop]\nbase_url = "http://127.0.0.1:4999/v1"\n',
     ("points back at routerd itself",)),
    ('[http]\nlisten = "127.0.0.1:4999"\n[providers.loop]\nbase_url = "http://[::ffff:127.0.0.1]:4999/v1"\n',
     ("points back at routerd itself",)),
])
def test_config_check_refuses_what_the_daemon_refuses(env, tmp_path, config, words):
    """config check and the daemon share one validation: what one refuses, so does the other."""
    path = tmp_path / "config.toml"
    path.write_text(config)
    _one_clear_line(routerctl(env, "config", "check", str(path)), 1, *words)
    started = subprocess.run(ROUTERD, env=env, capture_output=True, text=True, timeout=60)
    assert started.returncode == 2 and all(w in started.stderr for w in words)


def test_restart_with_a_refused_config_stops_nothing(env, tmp_path):
    """restart validates first: with a config the new daemon would refuse, the running one stays."""
    assert routerctl(env, "start").returncode == 0
    try:
        pid = routerctl(env, "ping").stdout.split("pid ")[1].split(")")[0]
        (tmp_path / "config.toml").write_text('[http]\nlisten = "0.0.0.0:0"\n')
        _one_clear_line(routerctl(env, "restart"), 1, "beyond loopback", "nothing was stopped")
        assert f"pid {pid}" in routerctl(env, "ping").stdout
    finally:
        routerctl(env, "stop")


def test_a_failed_start_prints_only_its_own_errors(env, tmp_path):
    """The log keeps earlier runs; a failed start shows the lines of this attempt alone."""
    config = tmp_path / "config.toml"
    config.write_text('[http]\nlisten = "127.0.0.1:0"\n[daemon]\nlog_level = "lowd"\n')
    first = routerctl(env, "start")
    config.write_text('[http]\nlisten = "127.0.0.1:0"\n[daemon]\nlog_levle = "info"\n')
    second = routerctl(env, "start")
    assert first.returncode == second.returncode == 4
    assert "log_levle" in second.stderr and "lowd" not in second.stderr


def test_trio_backend_without_trio_says_how_to_get_it(env, tmp_path):
    """routerd --backend trio where trio is not importable says to install the trio extra."""
    blocker = tmp_path / "no_trio"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import importlib.abc, sys\n"
        "class _Hide(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'trio':\n"
        "            raise ModuleNotFoundError('no trio')\n"
        "sys.meta_path.insert(0, _Hide())\n")
    result = subprocess.run([sys.executable, "-m", "routerd.main", "--backend", "trio"],
                            env={**env, "PYTHONPATH": str(blocker)}, capture_output=True, text=True,
                            timeout=60)
    _one_clear_line(result, 2, "pip install 'routerd[trio]'")


def test_a_port_in_use_at_start_names_the_address(env, tmp_path):
    """routerd on an http.listen address another process holds exits 1 naming the setting and address."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        (tmp_path / "config.toml").write_text(f'[http]\nlisten = "{listen}"\n')
        result = subprocess.run(ROUTERD, env=env, capture_output=True, text=True, timeout=60)
    _one_clear_line(result, 1, f"routerd: cannot start: http.listen {listen} is already in use")


def test_a_named_config_file_that_does_not_exist_fails_the_start(env, tmp_path):
    """--config or ROUTERD_CONFIG naming a missing file: routerd exits 2, routerctl start 4 and
    restart 1 (stopping nothing), each saying no such file, as config check does."""
    missing = tmp_path / "nowhere" / "x.toml"
    for command, command_env in [([*ROUTERD, "--config", str(missing)], env),
                                 (ROUTERD, dict(env, ROUTERD_CONFIG=str(missing)))]:
        result = subprocess.run(command, env=command_env, capture_output=True, text=True, timeout=60)
        _one_clear_line(result, 2, f"{missing}: no such file")
    started = routerctl(env, "start", "--config", str(missing))
    assert started.returncode == 4 and f"{missing}: no such file" in started.stderr, started.stderr
    _one_clear_line(routerctl(env, "restart", "--config", str(missing)), 1, f"{missing}: no such file",
                    "nothing was stopped")
    _one_clear_line(routerctl(env, "config", "check", str(missing)), 1, f"{missing}: no such file")


def test_config_check_prints_warnings_and_passes(env, tmp_path):
    """A name the environment may still supply (an unset api_key_env) is a warning with file:line;
    the check passes, and the daemon starts and logs it."""
    path = tmp_path / "config.toml"
    path.write_text('[http]\nlisten = "127.0.0.1:0"\n[providers.p]\nkind = "openai"\n'
                    'base_url = "http://127.0.0.1:9/v1"\napi_key_env = "ROUTERD_TEST_UNSET_KEY"\n')
    result = routerctl(env, "config", "check", str(path))
    assert result.returncode == 0 and result.stdout.strip() == f"{path}: ok (1 warning)"
    warning = f"{path}:6: providers.p.api_key_env: ROUTERD_TEST_UNSET_KEY is not set"
    _one_clear_line(result, 0, f"warning: {warning}")
    daemon = Foreground(env, tmp_path)
    try:
        assert f"WARNING routerd: config: {warning}" in daemon.log.read_text()
    finally:
        daemon.close()


def test_routerctl_start_on_a_port_in_use_says_so_in_one_line(env, tmp_path):
    """routerctl start (and restart) when another program holds http.listen: one line naming the
    setting and the address, with the daemon's exit code and log, exit 4."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        (tmp_path / "config.toml").write_text(f'[http]\nlisten = "{listen}"\n')
        for command in ("start", "restart"):
            line = _one_clear_line(routerctl(env, command), 4, f"routerctl: cannot start: http.listen {listen} "
                                   "is already in use (routerd exited with code 1 during start; log: ")
            assert line.endswith("routerd.log)")


def test_config_check_without_a_file_agrees_with_the_daemon(env, tmp_path):
    """No file at the default path is valid (routerd runs on built-in defaults: exit 0, as restart
    agrees); a file ROUTERD_CONFIG names must exist, and the message does not promise defaults."""
    defaults = dict(env, XDG_CONFIG_HOME=str(tmp_path / "empty"))
    defaults.pop("ROUTERD_CONFIG")
    result = routerctl(defaults, "config", "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{tmp_path / 'empty' / 'routerd' / 'config.toml'}: no such file; routerd runs on built-in defaults"
    missing = tmp_path / "gone.toml"
    line = _one_clear_line(routerctl(dict(env, ROUTERD_CONFIG=str(missing)), "config", "check"), 1,
                           f"{missing}: no such file", "ROUTERD_CONFIG")
    assert "built-in defaults" not in line


@pytest.mark.parametrize("text", ["[]", '{"role": "user"}', "[1, 2]"])
def test_messages_that_are_not_a_conversation_are_bad_usage(env, tmp_path, text):
    """classify --messages with an empty list, an object or a list of non-messages is refused
    before anything is sent: one line, exit 2 (the empty list used to reach the daemon: exit 1)."""
    path = tmp_path / "m.json"
    path.write_text(text)
    _one_clear_line(routerctl(env, "classify", "--messages", str(path)), 2, "--messages", "expected a JSON list")


def test_a_socket_path_nobody_can_listen_on_is_one_line(env, tmp_path):
    """--socket longer than a Unix socket path may be, or under a regular file: one line saying
    why, exit 3 (it was a traceback for the long path); the status line still just says so."""
    long = tmp_path / ("x" * 120 + ".sock")
    line = _one_clear_line(routerctl(env, "--socket", str(long), "ping"), 3, str(long), "path too long")
    assert "not running" not in line
    under_file = tmp_path / "config.toml" / "routerd.sock"
    _one_clear_line(routerctl(env, "--socket", str(under_file), "ping"), 3, "not running", "Not a directory")
    status = routerctl(env, "--socket", str(long), "statusline")
    assert status.returncode == 0 and status.stdout.strip() == "routerd: not running", status.stderr
