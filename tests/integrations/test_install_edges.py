"""``routerctl install`` on settings it cannot merge says what is wrong and where, and changes
nothing; the settings files it creates are owner-only (``~/.claude.json`` holds credentials)."""

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from routerctl.main import cli


@pytest.mark.parametrize(("settings", "where", "what"), [
    ({"hooks": []}, '"hooks" is a list ([])', "an object of event names"),
    ({"hooks": {"Stop": {"a": 1}}}, '"hooks.Stop" is an object ({"a": 1})', "a list of hook groups"),
    ({"env": "x"}, '"env" is a string ("x")', "an object of environment variables"),
])
def test_settings_of_the_wrong_shape_are_named_and_left_alone(user_home: Path, settings, where, what):
    """Claude Code's settings with hooks (or env) of the wrong shape: exit 1 naming the file, the
    key and what belongs there, no traceback, and no file written or changed."""
    path = user_home / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(json.dumps(settings))
    result = CliRunner().invoke(cli, ["install", "--host", "claude-code", "--models"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # an error, not a crash
    assert f"{path}: cannot merge: {where}, where routerd expects {what}" in result.output
    assert "nothing was changed" in result.output and "Traceback" not in result.output
    assert json.loads(path.read_text()) == settings
    assert sorted(p.name for p in user_home.rglob("*") if p.is_file()) == ["settings.json"]


def test_a_later_file_that_cannot_be_merged_keeps_the_earlier_unwritten(user_home: Path):
    """~/.claude.json with mcpServers as a list: settings.json (merged first) is not written either."""
    (user_home / ".claude.json").write_text('{"mcpServers": ["x"]}')
    result = CliRunner().invoke(cli, ["install", "--host", "claude-code"])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1
    assert '"mcpServers" is a list (["x"])' in result.output
    assert not (user_home / ".claude").exists()
    assert (user_home / ".claude.json").read_text() == '{"mcpServers": ["x"]}'


@pytest.mark.parametrize("host", ["claude-code", "codex", "gemini-cli", "cursor", "claude-desktop"])
def test_settings_files_an_install_creates_are_owner_only(user_home: Path, host: str):
    """Every file install creates is mode 600 under a umask of 022 (it was 644)."""
    umask = os.umask(0o022)
    try:
        result = CliRunner().invoke(cli, ["install", "--host", host], catch_exceptions=False)
    finally:
        os.umask(umask)
    assert result.exit_code == 0, result.output
    created = [p for p in user_home.rglob("*") if p.is_file()]
    assert created and {p.name: p.stat().st_mode & 0o777 for p in created} == {p.name: 0o600 for p in created}
