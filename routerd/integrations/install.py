"""What ``routerctl install --host H`` writes into each host's settings, as pure functions of text.

For every host there is a list of ``Edit``s: a settings file and two functions, ``add(text) -> text``
and ``remove(text) -> text``. ``add`` first removes routerd's old entries and then adds the current
ones, so installing twice changes nothing; other hooks and servers are never touched. JSON files are
merged as objects; Codex's ``config.toml`` is edited as text (a marked block) and the result is
checked with ``tomllib``. Codex 0.169 runs hooks by default (its ``hooks`` feature is stable), so no
feature flag is written; a ``codex_hooks`` line an older routerd wrote is removed.

MCP servers are started by their hosts with a bare environment (Codex passes only HOME, LANG, PATH,
SHELL and TERM), so each server entry carries the daemon's socket path in its ``env``, and each
command hook passes it to the shim as ``--socket``. Claude Code's
HTTP hooks send the gateway key from ``$<http.gateway_key_env>`` (Claude Code interpolates only
variables named in ``allowedEnvVars``), so they keep working when a key is set.

routerd's entries are recognised by the shim paths and the hook URL prefix they contain, so an
uninstall finds them even after the user reformatted the file. With ``--models``, Claude Code's
``env`` also gets ``ANTHROPIC_BASE_URL`` and its model-slot variables (``claude_model_env``), listed
in ``ROUTERD_MANAGED_ENV`` so that uninstall removes exactly those, and Codex's ``routerd`` profile
names routerd's OpenAI-shaped auto name as its model.
"""

import json
import re
import shlex
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOSTS = ("claude-code", "codex", "gemini-cli", "cursor", "vscode", "claude-desktop")
CLAUDE_EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "Stop", "SessionEnd")
CODEX_EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "Stop")
GEMINI_EVENTS = ("SessionStart", "BeforeAgent", "BeforeTool", "BeforeModel", "AfterAgent", "SessionEnd")
SERVER_NAME = "routerd"
URL_MARK = "/hooks/claude-code/"
BLOCK_BEGIN = "# >>> routerd (managed by routerctl install --host codex) >>>"
BLOCK_END = "# <<< routerd <<<"
LINE_MARK = "  # routerd"
# Claude Code 2.1.197's model-slot variables (ANTHROPIC_DEFAULT_HAIKU_MODEL is the small/fast one).
CLAUDE_MAIN_SLOTS = ("ANTHROPIC_DEFAULT_OPUS_MODEL", "ANTHROPIC_DEFAULT_SONNET_MODEL",
                     "ANTHROPIC_DEFAULT_FABLE_MODEL", "CLAUDE_CODE_SUBAGENT_MODEL")
ENV_MARK = "ROUTERD_MANAGED_ENV"  # the variables routerd wrote into Claude Code's "env", comma-separated
CODEX_PROFILE = ("# The `routerd` profile (codex -p routerd): every turn through routerd.\n"
                 "# Managed by routerctl install --host codex.\n"
                 'model_provider = "routerd"\n')


@dataclass(frozen=True)
class Setup:
    """Where things are on this machine (absolute paths) and how hooks should be installed."""

    home: Path
    python: str
    hook_shim: str
    mcp_relay: str
    http_base: str = "http://127.0.0.1:4141"
    kind: str = "http"          # Claude Code: "http" hooks served by the daemon, or "command"
    fail_closed: bool = False   # command hooks block when the daemon is down (hard mode)
    budget_ms: int = 50
    platform: str = "linux"
    socket_path: str = ""       # the daemon's socket, written into MCP servers' env and hook commands
    gateway_key_env: str = ""   # the variable Claude Code's HTTP hooks and Codex take the gateway key from
    # Model names through routerd's automatic routing (opt-in, --models): Claude Code's (main slots,
    # small/fast slot) and the model of Codex's `routerd` profile
    claude_models: tuple[str, str] | None = None
    codex_model: str | None = None
    statusline: str | None = None  # Claude Code: the `routerctl statusline` command to show, when asked


# The permission bits of a settings file an install creates: owner-only, since these files come to
# hold credentials (``~/.claude.json`` the account's, MCP servers' ``env`` and Claude Code's their
# keys). A file that exists keeps its own bits.
NEW_FILE_MODE = 0o600


@dataclass(frozen=True)
class Edit:
    path: Path
    add: Callable[[str], str]      # ValueError (saying what is wrong and where) when it cannot merge
    remove: Callable[[str], str]
    new_mode: int = NEW_FILE_MODE  # the file's permission bits when the edit creates it


def edits(host: str, s: Setup) -> list[Edit]:
    if host not in HOSTS:
        raise ValueError(f"unknown host {host!r}; expected one of {', '.join(HOSTS)}")
    h = s.home
    mcp = _json_edit(lambda d: _put_server(d, "mcpServers", _stdio(s)),
                     lambda d: _drop_server(d, "mcpServers", s))
    if host == "claude-code":
        hooks = _json_edit(lambda d: _put_model_env(_put_statusline(_put_hooks(d, _claude_hooks(s), s), s), s),
                           lambda d: _drop_model_env(_drop_statusline(_drop_hooks(d, s))))
        return [Edit(h / ".claude" / "settings.json", *hooks), Edit(h / ".claude.json", *mcp)]
    if host == "codex":
        hooks = _json_edit(lambda d: _put_hooks(d, _command_hooks(s, "codex", CODEX_EVENTS), s),
                           lambda d: _drop_hooks(d, s))
        return [Edit(h / ".codex" / "hooks.json", *hooks),
                Edit(h / ".codex" / "config.toml", lambda t: codex_toml_add(t, s), codex_toml_remove),
                # Codex 0.169+ keeps profiles in <name>.config.toml (`codex -p routerd`)
                Edit(h / ".codex" / "routerd.config.toml", lambda t: codex_profile(s), lambda t: "")]
    if host == "gemini-cli":
        gemini_hooks = _command_hooks(s, "gemini-cli", GEMINI_EVENTS)
        both = _json_edit(lambda d: _put_server(_put_hooks(d, gemini_hooks, s), "mcpServers", _stdio(s)),
                          lambda d: _drop_server(_drop_hooks(d, s), "mcpServers", s))
        return [Edit(h / ".gemini" / "settings.json", *both)]
    if host == "cursor":
        return [Edit(h / ".cursor" / "mcp.json", *mcp)]
    if host == "vscode":
        vs = _json_edit(lambda d: _put_server(d, "servers", {"type": "stdio", **_stdio(s)}),
                        lambda d: _drop_server(d, "servers", s))
        return [Edit(_app_dir(s, "Code") / "User" / "mcp.json", *vs)]
    return [Edit(_app_dir(s, "Claude") / "claude_desktop_config.json", *mcp)]


def _app_dir(s: Setup, name: str) -> Path:
    if s.platform == "darwin":
        return s.home / "Library" / "Application Support" / name
    return s.home / ".config" / name


def _stdio(s: Setup) -> dict[str, Any]:
    server: dict[str, Any] = {"command": s.python, "args": ["-I", "-S", s.mcp_relay]}
    if s.socket_path:
        server["env"] = {"ROUTERD_SOCKET": s.socket_path}
    return server


def _http_hook(s: Setup, event: str) -> dict:
    hook = {"type": "http", "url": f"{s.http_base}{URL_MARK}{event}", "timeout": 5}
    if s.gateway_key_env:
        hook["headers"] = {"x-api-key": f"${{{s.gateway_key_env}}}"}
        hook["allowedEnvVars"] = [s.gateway_key_env]
    return hook


def _command(s: Setup, host: str, event: str) -> str:
    # The socket goes on the command line: hosts run hooks in their own environment, which may
    # lack the XDG_RUNTIME_DIR the daemon's socket path came from.
    where = f" --socket {shlex.quote(s.socket_path)}" if s.socket_path else ""
    flags = " --fail-closed" if s.fail_closed else ""
    return (f"{shlex.quote(s.python)} -I -S {shlex.quote(s.hook_shim)} --host {host} --event {event}"
            f"{where} --budget-ms {s.budget_ms}{flags}")


def _claude_hooks(s: Setup) -> dict[str, dict]:
    commands = _command_hooks(s, "claude-code", CLAUDE_EVENTS)
    if s.kind == "command":
        return commands
    # Claude Code runs only command hooks at SessionStart and SessionEnd (observed with 2.1.197).
    return {e: commands[e] if e in ("SessionStart", "SessionEnd") else _http_hook(s, e)
            for e in CLAUDE_EVENTS}


def _command_hooks(s: Setup, host: str, events: tuple[str, ...]) -> dict[str, dict]:
    # zero_claude answers take seconds; every other reply is back within the shim's budget.
    timeout = 180 if host != "gemini-cli" else 180_000  # Gemini CLI counts milliseconds
    hooks = {e: {"type": "command", "command": _command(s, host, e), "timeout": timeout} for e in events}
    if host == "gemini-cli":
        for hook in hooks.values():
            hook["name"] = SERVER_NAME
    return hooks


def _is_ours(hook: object, s: Setup) -> bool:
    if not isinstance(hook, dict):
        return False
    text = f"{hook.get('command', '')} {hook.get('url', '')}"
    return s.hook_shim in text or URL_MARK in text or "hooks/hook.py --host" in text


def _put_hooks(data: dict, ours: dict[str, dict], s: Setup) -> dict:
    data = _drop_hooks(data, s)
    hooks = _object_at(data, "hooks", "an object of event names, each with a list of hook groups")
    for event, hook in ours.items():
        group: dict[str, Any] = {"hooks": [hook]}
        if event in ("PreToolUse", "BeforeTool"):
            group = {"matcher": "*" if event == "BeforeTool" else "", **group}
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise ValueError(_wrong(f"hooks.{event}", groups, "a list of hook groups"))
        groups.append(group)
    return data


def _object_at(data: dict, key: str, expected: str) -> dict:
    """``data[key]``, an object to merge into (added when missing); ValueError when it is not one."""
    value = data.setdefault(key, {})
    if not isinstance(value, dict):
        raise ValueError(_wrong(key, value, expected))
    return value


def _wrong(where: str, value: object, expected: str) -> str:
    """What is wrong with the file, and where: for a user to fix (routerd changes nothing)."""
    kind = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number",
            dict: "an object"}.get(type(value), "null")
    shown = json.dumps(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f'"{where}" is {kind} ({shown}), where routerd expects {expected}: fix or remove it'


def _drop_hooks(data: dict, s: Setup) -> dict:
    hooks = data.get("hooks")
    if not isinstance(hooks, dict):
        return data
    for event in list(hooks):
        groups = hooks[event]
        if not isinstance(groups, list):
            continue
        kept = []
        for group in groups:
            inner = group.get("hooks") if isinstance(group, dict) else None
            if isinstance(inner, list) and any(_is_ours(h, s) for h in inner):
                inner = [h for h in inner if not _is_ours(h, s)]
                if not inner:
                    continue
                group = {**group, "hooks": inner}
            kept.append(group)
        if kept:
            hooks[event] = kept
        else:
            del hooks[event]
    if not hooks:
        del data["hooks"]
    return data


def claude_model_env(s: Setup) -> dict[str, str]:
    """Claude Code's environment that sends every model slot to routerd's automatic routing: its
    main slots (Opus, Sonnet, Fable, subagents) to one auto name, its small/fast slot (Haiku:
    titles, hook prompts, summaries) to the other, which routerd reads as ``background``."""
    if s.claude_models is None:
        return {}
    main, small = s.claude_models
    return {"ANTHROPIC_BASE_URL": s.http_base, **{name: main for name in CLAUDE_MAIN_SLOTS},
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": small}


def _put_model_env(data: dict, s: Setup) -> dict:
    """Write the model-slot variables (opt-in); an install without ``--models`` keeps those an
    earlier one wrote, as it keeps the status line."""
    ours = claude_model_env(s)
    if not ours:
        return data
    data = _drop_model_env(data)
    if ours:
        env = _object_at(data, "env", "an object of environment variables")
        env.update(ours)
        env[ENV_MARK] = ",".join(ours)
    return data


def _drop_model_env(data: dict) -> dict:
    """Remove the variables routerd wrote (listed in its marker), whatever their values now."""
    env = data.get("env")
    if not isinstance(env, dict) or ENV_MARK not in env:
        return data
    for name in str(env.pop(ENV_MARK)).split(","):
        env.pop(name, None)
    if not env:
        del data["env"]
    return data


STATUSLINE_MARK = "routerctl"


def _is_our_statusline(value: object) -> bool:
    command = value.get("command", "") if isinstance(value, dict) else ""
    return isinstance(command, str) and STATUSLINE_MARK in command and command.endswith(" statusline")


def _put_statusline(data: dict, s: Setup) -> dict:
    """Claude Code's ``statusLine`` runs ``routerctl statusline`` (opt-in). Someone else's status
    line is never replaced: that is an error the user resolves."""
    current = data.get("statusLine")
    if s.statusline is None:
        if _is_our_statusline(current):  # kept, after the hooks (as an install with it left it)
            data["statusLine"] = data.pop("statusLine")
        return data
    if current is not None and not _is_our_statusline(current):
        raise ValueError(f"it already has a statusLine ({json.dumps(current)}); remove it first to "
                         "show routerd's")
    data.pop("statusLine", None)
    data["statusLine"] = {"type": "command", "command": s.statusline, "padding": 0}
    return data


def _drop_statusline(data: dict) -> dict:
    if _is_our_statusline(data.get("statusLine")):
        del data["statusLine"]
    return data


def _put_server(data: dict, key: str, server: dict) -> dict:
    _object_at(data, key, "an object of server names")[SERVER_NAME] = server
    return data


def _drop_server(data: dict, key: str, s: Setup) -> dict:
    servers = data.get(key)
    if isinstance(servers, dict) and SERVER_NAME in servers:
        del servers[SERVER_NAME]
        if not servers:
            del data[key]
    return data


def _json_edit(add: Callable[[dict], dict], remove: Callable[[dict], dict]):
    def run(fn: Callable[[dict], dict]) -> Callable[[str], str]:
        def apply(text: str) -> str:
            data = json.loads(text) if text.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("the settings file does not hold a JSON object")
            out = fn(data)
            return "" if not out and not text.strip() else json.dumps(out, indent=2) + "\n"
        return apply
    return run(add), run(remove)


# --- Codex config.toml -------------------------------------------------------------------------

def codex_profile(s: Setup) -> str:
    """Codex's ``routerd`` profile: routerd as the provider, and with ``--models`` its auto name."""
    return CODEX_PROFILE + (f"model = {json.dumps(s.codex_model)}\n" if s.codex_model else "")


def codex_toml_add(text: str, s: Setup) -> str:
    """Add routerd's provider and MCP server (hooks are on by default in Codex 0.169). With a
    gateway key configured, the provider sends it from its variable (``env_key``: Codex sends that
    variable's value as a bearer token), or routerd would refuse every request with a 401."""
    text = codex_toml_remove(text)
    provider = ["[model_providers.routerd]", 'name = "routerd"', f'base_url = "{s.http_base}/v1"',
                'wire_api = "responses"']
    if s.gateway_key_env:
        provider.append(f"env_key = {json.dumps(s.gateway_key_env)}")
    block = [
        BLOCK_BEGIN, *provider, "", "[mcp_servers.routerd]", f"command = {json.dumps(s.python)}",
        f'args = ["-I", "-S", {json.dumps(s.mcp_relay)}]',
    ]
    if s.socket_path:
        block.append(f"env = {{ ROUTERD_SOCKET = {json.dumps(s.socket_path)} }}")
    block.append(BLOCK_END)
    out = text.rstrip("\n") + ("\n\n" if text.strip() else "") + "\n".join(block) + "\n"
    tomllib.loads(out)  # never write a file Codex cannot read
    return out


def codex_toml_remove(text: str) -> str:
    pattern = re.compile(rf"\n*{re.escape(BLOCK_BEGIN)}.*?{re.escape(BLOCK_END)}\n?", re.S)
    text = pattern.sub("\n", text)
    text = "\n".join(line for line in text.split("\n") if not line.endswith(LINE_MARK))
    return text.strip("\n") + "\n" if text.strip() else ""
