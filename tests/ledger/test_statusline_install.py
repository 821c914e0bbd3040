"""``routerctl install --host claude-code --statusline`` puts ``routerctl statusline`` into Claude
Code's status line, never over someone else's, and uninstall takes it out again."""

import json
import os
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner

from routerctl.main import cli
from tests.integrations.conftest import user_home as _home_with_env

home = _home_with_env  # the fixture: a throw-away HOME, with the host's settings paths under it


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def test_statusline_is_opt_in_idempotent_and_removed_by_uninstall(home: Path):
    """Only --statusline adds it; its command is this install's routerctl; uninstall removes it."""
    settings = home / ".claude" / "settings.json"
    run("install", "--host", "claude-code")
    assert "statusLine" not in json.loads(settings.read_text())
    run("install", "--host", "claude-code", "--statusline")
    first = settings.read_text()
    line = json.loads(first)["statusLine"]
    program, *args = line["command"].split()
    assert line["type"] == "command" and program.endswith("routerctl") and args[-1] == "statusline"
    assert Path(program).is_absolute()
    run("install", "--host", "claude-code", "--statusline")
    assert settings.read_text() == first
    run("install", "--host", "claude-code")  # a later plain install keeps it as it is
    assert settings.read_text() == first
    run("uninstall", "--host", "claude-code")
    assert not settings.exists() or "statusLine" not in json.loads(settings.read_text())


def test_someone_elses_status_line_is_never_replaced(home: Path):
    """A status line of the user's own makes --statusline fail and leaves the file as it was."""
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir()
    mine = {"statusLine": {"type": "command", "command": "~/bin/my-status"}}
    settings.write_text(json.dumps(mine))
    out = run("install", "--host", "claude-code", "--statusline", code=1)
    assert "already has a statusLine" in out and json.loads(settings.read_text()) == mine
    run("install", "--host", "codex", "--statusline", code=2)


@pytest.mark.anyio
async def test_the_status_line_reaches_the_daemon_outside_its_environment(daemon, home: Path):
    """The installed command names the daemon's socket, as the hooks do: Claude Code may run it
    where XDG_RUNTIME_DIR and ROUTERD_SOCKET differ, and it must not then say routerd is down."""
    await anyio.to_thread.run_sync(run, "install", "--host", "claude-code", "--statusline")
    settings = json.loads((home / ".claude" / "settings.json").read_text())
    env = {name: value for name, value in os.environ.items() if name != "ROUTERD_SOCKET"}
    env["XDG_RUNTIME_DIR"] = str(home / "another-runtime-dir")
    done = await anyio.run_process(["sh", "-c", settings["statusLine"]["command"]], env=env, check=False)
    out = done.stdout.decode()
    assert done.returncode == 0 and out.startswith("routerd $") and "not running" not in out, out
