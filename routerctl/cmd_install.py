"""``routerctl install`` / ``uninstall``: put routerd's hooks and MCP server into a coding agent's
settings, merging with what is there (``routerd.integrations.install`` holds the pure merge).

Install keeps the first version of every file it changes as ``<file>.routerd.bak`` and is idempotent;
every file it writes, backups included, keeps the permission bits of the file it comes from.
``--dry-run`` prints the unified diff and writes nothing. Uninstall removes routerd's entries and,
when nothing else changed since, puts the backup back byte for byte. Files are replaced atomically.
"""

import difflib
import os
import shlex
import sys
from pathlib import Path

import click

from routerctl import output

BACKUP_SUFFIX = ".routerd.bak"


def hooks_dir() -> Path:
    """The shims: this checkout's ``hooks/`` (an editable install), else where a wheel put them."""
    checkout = Path(__file__).resolve().parent.parent / "hooks"
    return checkout if checkout.is_dir() else Path(sys.prefix) / "share" / "routerd" / "hooks"


def statusline_command(socket_path: str) -> str:
    """This install's `routerctl statusline`, by absolute path (the venv's script when there is one),
    with the daemon's socket: like the hooks, Claude Code may run it without the XDG_RUNTIME_DIR or
    ROUTERD_SOCKET that path came from, and it would then say routerd is not running."""
    script = Path(sys.executable).parent / "routerctl"
    program = shlex.quote(os.path.abspath(script)) if script.exists() else \
        f"{shlex.quote(os.path.abspath(sys.executable))} -m routerctl.main"
    return f"{program} --socket {shlex.quote(socket_path)} statusline"


def _setup(kind: str | None, fail_closed: bool | None, http_url: str | None = None,
           statusline: bool = False, models: bool = False):
    from routerd.config import load_config
    from routerd.errors import ConfigError
    from routerd.integrations.install import Setup
    from routerd.paths import config_path

    try:
        config = load_config(config_path())
    except ConfigError as exc:
        output.fail(exc.message, 1)
    root = hooks_dir()
    listen = config.http.listen
    closed = config.hooks.mode == "hard" if fail_closed is None else fail_closed
    socket = click.get_current_context().find_root().obj  # routerctl --socket, or the default
    # sys.executable is the venv's interpreter; resolving it would escape the venv.
    return Setup(home=Path.home(), python=os.path.abspath(sys.executable),
                 hook_shim=str(root / "hook.py"), mcp_relay=str(root / "mcp_relay.py"),
                 http_base=(http_url or f"http://{listen}").rstrip("/"),
                 # Claude Code runs HTTP hooks fail-open: only command shims can block while routerd is down
                 kind=kind or ("command" if closed else "http"), fail_closed=closed,
                 budget_ms=config.hooks.budget_ms, platform=sys.platform,
                 socket_path=str(Path(socket).absolute()), gateway_key_env=config.http.gateway_key_env or "",
                 statusline=statusline_command(str(Path(socket).absolute())) if statusline else None,
                 claude_models=_claude_models(config) if models else None,
                 codex_model=(config.routing.scenarios.openai_names or ("auto",))[0] if models else None)


def _claude_models(config) -> tuple[str, str]:
    """(main, small-slot) names for Claude Code: the configured Anthropic-shaped auto names, the
    one that names a Haiku for the small slot."""
    from routerd.scenarios.markers import is_haiku

    names = config.routing.scenarios.anthropic_names
    small = next((n for n in names if is_haiku(n)), None)
    main = next((n for n in names if not is_haiku(n)), None)
    if main is None or small is None:
        output.fail("--models needs two [routing.scenarios] anthropic_names: one for Claude Code's main "
                    "slots and one with 'haiku' in it for its small/fast slot", 2)
    return main, small


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _mode(path: Path) -> int | None:
    return path.stat().st_mode & 0o7777 if path.exists() else None


def _create(path: Path, data: bytes, mode: int | None) -> None:
    """Write ``data`` to a new file with permission bits ``mode`` (the umask's default when None).
    The file is created owner-only and widened afterwards, so settings that hold API keys
    (``~/.claude.json`` is 600) are never readable by others, not even for a moment."""
    path.unlink(missing_ok=True)  # a .routerd.tmp left by an interrupted run
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if mode is not None else 0o666)
    with os.fdopen(fd, "wb") as f:
        if mode is not None:
            os.fchmod(fd, mode)
        f.write(data)


def _write(path: Path, text: str, new_mode: int | None = None) -> None:
    """Replace ``path`` atomically with ``text``, keeping its permission bits (``new_mode`` for a
    file it creates: the umask's default when None); empty deletes it."""
    if not text:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".routerd.tmp")
    mode = _mode(path)
    _create(tmp, text.encode("utf-8"), new_mode if mode is None else mode)
    os.replace(tmp, path)


def _show_diff(path: Path, old: str, new: str) -> None:
    diff = difflib.unified_diff(old.splitlines(True), new.splitlines(True), str(path), str(path))
    text = "".join(diff)
    click.echo(text if text else f"{path}: no change")


def _same(path: Path, a: str, b: str) -> bool:
    """Equal as data (JSON or TOML), so that reformatting does not count as a change."""
    import json
    import tomllib

    try:
        if path.suffix == ".toml":
            return tomllib.loads(a) == tomllib.loads(b)
        return (json.loads(a) if a.strip() else {}) == (json.loads(b) if b.strip() else {})
    except ValueError:
        return a == b


HOST_CHOICE = click.Choice(["claude-code", "codex", "gemini-cli", "cursor", "vscode", "claude-desktop"])


@click.command()
@click.option("--host", required=True, type=HOST_CHOICE)
@click.option("--kind", type=click.Choice(["http", "command"]),
              help="Claude Code hooks: served by the daemon over HTTP (default) or a command shim")
@click.option("--fail-closed/--fail-open", default=None,
              help="hooks block prompts and tools while routerd is down (default: only when config "
              "hooks.mode is hard); Claude Code then gets command hooks for every event")
@click.option("--http-url", help="routerd's HTTP origin for hooks and providers "
              "(default: from config http.listen)")
@click.option("--statusline", is_flag=True,
              help="Claude Code: also show `routerctl statusline` (spend, savings, model) as its status line")
@click.option("--models", is_flag=True,
              help="also send the agent's models to routerd's automatic routing: Claude Code's slots "
              "(ANTHROPIC_BASE_URL, ANTHROPIC_DEFAULT_*_MODEL in its settings' env), the model of "
              "Codex's routerd profile")
@click.option("--dry-run", is_flag=True, help="show the diff, write nothing")
def install(host: str, kind: str | None, fail_closed: bool | None, http_url: str | None,
            statusline: bool, models: bool, dry_run: bool) -> None:
    """Add routerd's hooks and MCP server to a coding agent's settings."""
    from routerd.integrations.install import edits

    if statusline and host != "claude-code":
        output.fail("--statusline is for --host claude-code (the only host with a status line)", 2)
    if models and host not in ("claude-code", "codex"):
        output.fail("--models is for --host claude-code and --host codex", 2)
    setup = _setup(kind, fail_closed, http_url, statusline, models)
    if host == "claude-code" and setup.fail_closed and setup.kind == "http":
        if fail_closed:
            output.fail("--fail-closed needs command hooks: Claude Code runs HTTP hooks fail-open "
                        "(drop --kind http)", 2)
        click.echo("note: with --kind http, Claude Code's hooks fail open: prompts and tools go through "
                   "while routerd is down, hard mode or not")
    planned = []  # every file merged before any is written: a file routerd cannot merge changes none
    for edit in edits(host, setup):
        old = _read(edit.path)
        try:
            planned.append((edit, old, edit.add(old)))
        except ValueError as exc:
            output.fail(f"{edit.path}: cannot merge: {exc}; nothing was changed", 1)
    for edit, old, new in planned:
        if dry_run:
            _show_diff(edit.path, old, new)
            continue
        if new == old:
            click.echo(f"{edit.path}: already installed")
            continue
        backup = edit.path.with_name(edit.path.name + BACKUP_SUFFIX)
        if edit.path.exists() and not backup.exists():
            _create(backup, edit.path.read_bytes(), _mode(edit.path))
        _write(edit.path, new, edit.new_mode)
        click.echo(f"{edit.path}: installed" + (f" (backup {backup})" if backup.exists() else ""))
    if host == "claude-code" and setup.kind == "http" and setup.gateway_key_env and not dry_run:
        click.echo(f"Claude Code's HTTP hooks send the gateway key from ${setup.gateway_key_env}: "
                   "export it where you run claude (or install with --kind command, which needs no key).")
    if host == "codex" and setup.gateway_key_env and not dry_run:
        click.echo(f"Codex sends routerd's gateway key from ${setup.gateway_key_env}: export it where you run codex.")


@click.command()
@click.option("--host", required=True, type=HOST_CHOICE)
@click.option("--dry-run", is_flag=True, help="show the diff, write nothing")
def uninstall(host: str, dry_run: bool) -> None:
    """Remove routerd's hooks and MCP server; restore the backup when nothing else changed."""
    from routerd.integrations.install import edits

    for edit in edits(host, _setup(None, None)):
        old = _read(edit.path)
        new = edit.remove(old) if old else ""
        backup = edit.path.with_name(edit.path.name + BACKUP_SUFFIX)
        original = _read(backup) if backup.exists() else None
        if original is not None and _same(edit.path, edit.remove(original) if original else "", new):
            new = original
        elif original is None and _same(edit.path, new, ""):
            new = ""  # routerd created this file
        if dry_run:
            _show_diff(edit.path, old, new)
            continue
        if new != old or not new:
            _write(edit.path, new)
        if original is not None and new == original:
            backup.unlink()
        click.echo(f"{edit.path}: " + ("restored" if new == original else "routerd removed"))


COMMANDS = [install, uninstall]
