"""``routerctl install|uninstall --host H``: merges without clobbering, is idempotent, backs up,
shows a diff on --dry-run, and uninstall gives back the original file."""

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from routerctl.main import cli

EXISTING_CLAUDE = {
    "model": "opus",
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "my-linter"}]}],
        "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
    },
}
EXISTING_CODEX = '''model = "gpt-5"

[features]
web_search = true

[mcp_servers.docs]
command = "docs-server"
'''


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_claude_code_install_merges_and_uninstall_restores(user_home: Path):
    """Other hooks survive, routerd's hooks (HTTP where Claude Code allows it) and MCP server are
    added, twice is once, and uninstall puts back the exact original bytes."""
    settings = user_home / ".claude" / "settings.json"
    settings.parent.mkdir()
    original = json.dumps(EXISTING_CLAUDE, indent=4)
    settings.write_text(original)
    run("install", "--host", "claude-code")
    first = settings.read_text()
    run("install", "--host", "claude-code")
    assert settings.read_text() == first
    data = json.loads(first)
    assert data["model"] == "opus"
    assert data["hooks"]["PreToolUse"][0]["hooks"][0]["command"] == "my-linter"
    urls = [g["hooks"][0].get("url") for e in data["hooks"].values() for g in e]
    assert "http://127.0.0.1:4141/hooks/claude-code/UserPromptSubmit" in urls
    assert sorted(data["hooks"]) == ["PreToolUse", "SessionEnd", "SessionStart", "Stop", "UserPromptSubmit"]
    server = json.loads((user_home / ".claude.json").read_text())["mcpServers"]["routerd"]
    assert server["args"][:2] == ["-I", "-S"] and Path(server["command"]).is_absolute()
    assert (settings.parent / "settings.json.routerd.bak").read_text() == original
    run("uninstall", "--host", "claude-code")
    assert settings.read_text() == original
    assert not (user_home / ".claude.json").exists()
    assert not (settings.parent / "settings.json.routerd.bak").exists()


def test_uninstall_keeps_changes_made_after_install(user_home: Path):
    """A setting added after install stays; only routerd's entries go."""
    run("install", "--host", "claude-code", "--kind", "command")
    settings = user_home / ".claude" / "settings.json"
    data = json.loads(settings.read_text())
    command = data["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
    assert " -I -S " in command and "hook.py --host claude-code --event UserPromptSubmit" in command
    data["theme"] = "dark"
    settings.write_text(json.dumps(data))
    run("uninstall", "--host", "claude-code")
    assert json.loads(settings.read_text()) == {"theme": "dark"}


def test_http_hooks_carry_the_gateway_key_from_the_environment(user_home: Path):
    """With a gateway key configured, Claude Code's HTTP hooks send it from the key's variable
    (never the key itself), which Claude Code interpolates only when listed in allowedEnvVars."""
    config = user_home / ".config" / "routerd" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[http]\ngateway_key_env = "MY_ROUTERD_KEY"\n')
    assert "export it where you run claude" in run("install", "--host", "claude-code")
    data = json.loads((user_home / ".claude" / "settings.json").read_text())
    [group] = data["hooks"]["UserPromptSubmit"]
    assert group["hooks"][0]["headers"] == {"x-api-key": "${MY_ROUTERD_KEY}"}
    assert group["hooks"][0]["allowedEnvVars"] == ["MY_ROUTERD_KEY"]


def test_dry_run_shows_a_diff_and_writes_nothing(user_home: Path):
    """--dry-run prints a unified diff of every file and leaves the disk alone."""
    text = run("install", "--host", "cursor", "--dry-run")
    assert "+++ " in text and '"routerd"' in text
    assert not (user_home / ".cursor").exists()


def test_codex_config_toml_gets_provider_profile_and_hooks(user_home: Path, monkeypatch: pytest.MonkeyPatch):
    """config.toml keeps its tables, gains [model_providers.routerd] (responses wire) and the MCP
    server with the daemon's socket in its env (Codex gives servers a bare environment); no
    deprecated codex_hooks flag (hooks are on by default); a routerd profile file; uninstall restores."""
    monkeypatch.setenv("ROUTERD_SOCKET", str(user_home / "run" / "routerd.sock"))
    config = user_home / ".codex" / "config.toml"
    config.parent.mkdir()
    config.write_text(EXISTING_CODEX)
    run("install", "--host", "codex")
    run("install", "--host", "codex")
    data = tomllib.loads(config.read_text())
    assert data["model"] == "gpt-5" and data["mcp_servers"]["docs"]["command"] == "docs-server"
    assert data["features"] == {"web_search": True}
    assert data["mcp_servers"]["routerd"]["env"] == {"ROUTERD_SOCKET": str(user_home / "run" / "routerd.sock")}
    assert data["model_providers"]["routerd"] == {"name": "routerd", "wire_api": "responses",
                                                  "base_url": "http://127.0.0.1:4141/v1"}
    profile = tomllib.loads((user_home / ".codex" / "routerd.config.toml").read_text())
    assert profile == {"model_provider": "routerd"}
    hooks = json.loads((user_home / ".codex" / "hooks.json").read_text())["hooks"]
    assert set(hooks) == {"SessionStart", "UserPromptSubmit", "PreToolUse", "Stop"}
    run("uninstall", "--host", "codex")
    assert config.read_text() == EXISTING_CODEX
    assert not (user_home / ".codex" / "hooks.json").exists()
    assert not (user_home / ".codex" / "routerd.config.toml").exists()


def test_gemini_cli_gets_before_model_and_mcp(user_home: Path):
    """Gemini CLI: BeforeModel/BeforeAgent command hooks (ms timeouts) and the MCP server."""
    run("install", "--host", "gemini-cli")
    data = json.loads((user_home / ".gemini" / "settings.json").read_text())
    hook = data["hooks"]["BeforeModel"][0]["hooks"][0]
    assert "--host gemini-cli --event BeforeModel" in hook["command"] and hook["timeout"] >= 1000
    assert "routerd" in data["mcpServers"]


@pytest.mark.parametrize("host, relative, key", [
    ("vscode", ".config/Code/User/mcp.json", "servers"),
    ("claude-desktop", ".config/Claude/claude_desktop_config.json", "mcpServers"),
    ("cursor", ".cursor/mcp.json", "mcpServers"),
])
def test_mcp_only_hosts(user_home: Path, host: str, relative: str, key: str):
    """Editors get the stdio relay as an MCP server next to the servers they have."""
    path = user_home / relative
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({key: {"other": {"command": "x"}}}))
    run("install", "--host", host)
    servers = json.loads(path.read_text())[key]
    assert set(servers) == {"other", "routerd"} and servers["routerd"]["args"][-1].endswith("mcp_relay.py")
    run("uninstall", "--host", host)
    assert json.loads(path.read_text()) == {key: {"other": {"command": "x"}}}


def test_hard_mode_installs_fail_closed_command_hooks(user_home: Path):
    """With hooks.mode = hard in the config, command hooks carry --fail-closed."""
    config = user_home / ".config" / "routerd" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[hooks]\nmode = "hard"\nbudget_ms = 80\n')
    run("install", "--host", "codex")
    command = json.loads((user_home / ".codex" / "hooks.json").read_text())["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    assert command.endswith("--budget-ms 80 --fail-closed")


def test_hard_mode_gives_claude_code_fail_closed_command_hooks_for_every_event(user_home: Path):
    """With hooks.mode = hard, Claude Code gets command shims (HTTP hooks fail open), all fail-closed;
    asked for HTTP hooks anyway, install says they fail open."""
    config = user_home / ".config" / "routerd" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[hooks]\nmode = "hard"\n')
    run("install", "--host", "claude-code")
    hooks = json.loads((user_home / ".claude" / "settings.json").read_text())["hooks"]
    commands = [g["hooks"][0].get("command", "") for groups in hooks.values() for g in groups]
    assert len(commands) == 5 and all(c.endswith(" --fail-closed") for c in commands), commands
    assert "Claude Code's hooks fail open" in run("install", "--host", "claude-code", "--kind", "http")


def test_claude_code_models_opt_in_sets_the_slot_variables(user_home: Path):
    """--models points Claude Code at routerd and every model slot at an auto name (Haiku's at the
    background one); uninstall removes exactly those variables and keeps the user's own."""
    settings = user_home / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"env": {"DISABLE_TELEMETRY": "1"}}))
    run("install", "--host", "claude-code")
    assert json.loads(settings.read_text())["env"] == {"DISABLE_TELEMETRY": "1"}
    run("install", "--host", "claude-code", "--models")
    env = json.loads(settings.read_text())["env"]
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:4141"
    assert env["ANTHROPIC_DEFAULT_OPUS_MODEL"] == env["ANTHROPIC_DEFAULT_SONNET_MODEL"] == "claude-routerd-auto"
    assert env["CLAUDE_CODE_SUBAGENT_MODEL"] == "claude-routerd-auto"
    assert env["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == "claude-routerd-auto-haiku"
    assert env["DISABLE_TELEMETRY"] == "1"
    run("install", "--host", "claude-code")  # a later install without --models keeps the opt-in
    assert json.loads(settings.read_text())["env"] == env
    run("uninstall", "--host", "claude-code")
    assert json.loads(settings.read_text()) == {"env": {"DISABLE_TELEMETRY": "1"}}


def test_models_use_the_configured_auto_names(user_home: Path):
    """The names written are the ones [routing.scenarios] configures, for Codex's profile too."""
    config = user_home / ".config" / "routerd" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[routing.scenarios]\nanthropic_names = ["claude-team-auto", "claude-team-haiku"]\n'
                      'openai_names = ["gpt-team-auto"]\n')
    run("install", "--host", "claude-code", "--models")
    env = json.loads((user_home / ".claude" / "settings.json").read_text())["env"]
    assert (env["ANTHROPIC_DEFAULT_OPUS_MODEL"], env["ANTHROPIC_DEFAULT_HAIKU_MODEL"]) == \
        ("claude-team-auto", "claude-team-haiku")
    run("install", "--host", "codex", "--models")
    profile = tomllib.loads((user_home / ".codex" / "routerd.config.toml").read_text())
    assert profile == {"model_provider": "routerd", "model": "gpt-team-auto"}


def test_models_is_refused_for_hosts_without_models(user_home: Path):
    """--models names nothing for an MCP-only host: a usage error, nothing written."""
    result = CliRunner().invoke(cli, ["install", "--host", "cursor", "--models"])
    assert result.exit_code == 2 and "--models is for" in result.output
    assert not (user_home / ".cursor").exists()


@pytest.mark.parametrize("host", ["claude-code", "codex"])
def test_install_keeps_each_files_mode_in_the_file_and_its_backup(user_home: Path, host: str):
    """Settings that may hold API keys (mode 600) stay 600 after install, and so do their backups."""
    secret = {"claude-code": [(user_home / ".claude.json", '{"primaryApiKey": "sk-ant-secret"}'),
                              (user_home / ".claude" / "settings.json", '{"env": {"ANTHROPIC_API_KEY": "x"}}')],
              "codex": [(user_home / ".codex" / "config.toml", 'experimental_bearer_token = "sk-secret"\n'),
                        (user_home / ".codex" / "hooks.json", "{}")]}[host]
    for path, text in secret:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        path.chmod(0o600)
    run("install", "--host", host)
    for path, _ in secret:
        backup = path.with_name(path.name + ".routerd.bak")
        assert (path.stat().st_mode & 0o777, backup.stat().st_mode & 0o777) == (0o600, 0o600), path
    run("uninstall", "--host", host)
    assert all(path.stat().st_mode & 0o777 == 0o600 for path, _ in secret)
