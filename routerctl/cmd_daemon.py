"""Daemon lifecycle and health commands: start, stop, restart, status, ping, reload, config check."""

import os
import time
from pathlib import Path

import click

from routerctl import output
from routerctl.cmd_state import duration, state_rows

START_TIMEOUT_S = 15.0
# How long `stop` waits for the daemon to exit beyond its drain (daemon.drain_timeout_s, which the
# stop reply gives): after the drain it commits the store's queue and closes the pools, well under
# a second on a healthy disk; 20 s leaves room for a slow one.
STOP_GRACE_S = 20.0


def _client(ctx: click.Context, timeout_s: float = 60.0):
    from routerctl.client import Client

    return Client(ctx.obj, timeout_s=timeout_s)


def _call(ctx: click.Context, request: dict, timeout_s: float = 60.0) -> dict:
    with _client(ctx, timeout_s) as client:
        return client.call(request)


@click.command()
@click.pass_context
def ping(ctx: click.Context) -> None:
    """Check that the daemon answers, and how fast."""
    started = time.perf_counter()
    reply = _call(ctx, {"type": "ping"}, timeout_s=5)
    elapsed_ms = (time.perf_counter() - started) * 1000
    click.echo(f"pong from routerd {reply['version']} (pid {reply['pid']}) in {elapsed_ms:.2f} ms")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="print the raw status as JSON")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show version, pid, uptime, backend, addresses, config and state."""
    reply = _call(ctx, {"type": "status"}, timeout_s=10)
    if as_json:
        output.emit_json(reply)
        return
    reload = reply["last_reload"]
    reload_text = ("ok" if reload.get("ok") else "FAILED") + f": {reload.get('message', '')}"
    rows = [
        ("routerd", f"{reply['version']} (pid {reply['pid']}, up {duration(reply['uptime_s'])})"
                    + (", STOPPING: draining in-flight requests, refusing new ones" if reply.get("draining") else "")),
        ("backend", reply["backend"]),
        ("socket", reply["socket"]),
        ("http", reply.get("http") or "off"),
        ("config", _config_row(reply.get("config_path"), bool(reload.get("ok")))),
        ("last reload", reload_text),
    ]
    rows.extend(state_rows(reply))
    for name, stats in reply.get("parts", {}).items():
        if name != "store":
            rows.extend(_part_rows(name, stats))
    output.emit_fields(rows)


def _config_row(path: str | None, reloaded: bool) -> str:
    """The config file, and what runs when there is none at its path (routerctl shares the daemon's
    file system): built-in defaults, unless a file was read and has gone since, which fails the
    reload and keeps what was read from it (README "Configuration")."""
    if not path:
        return "(built-in defaults)"
    if Path(path).exists():
        return path
    return f"{path} (no such file: " + ("built-in defaults)" if reloaded else "the config last read from it runs)")


def _part_rows(name: str, stats) -> list[tuple[str, str]]:
    """One row for a part's scalar figures, then one indented row for each entry of a table in it
    (a gateway's providers, say), with nested figures written as ``breaker.state closed``."""
    if not isinstance(stats, dict):
        return [(name, str(stats))]
    scalars = {k: v for k, v in stats.items() if not _is_table(v)}
    rows = [(name, _flat(scalars))]
    for key, table in stats.items():
        if _is_table(table):
            rows.extend((f"  {key} {entry}", _flat(values)) for entry, values in table.items())
    return rows


def _is_table(value) -> bool:
    return isinstance(value, dict) and bool(value) and all(isinstance(v, dict) for v in value.values())


def _flat(values: dict, prefix: str = "") -> str:
    parts = []
    for key, value in values.items():
        if isinstance(value, dict):
            parts.append(_flat(value, f"{prefix}{key}.") or f"{prefix}{key} -")
        elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
            parts.append(f"{prefix}{key} " + "; ".join(_item(item) for item in value))
        else:
            parts.append(f"{prefix}{key} {'-' if value is None or value in ('', []) else value}")
    return ", ".join(p for p in parts if p)


def _item(item) -> str:
    """One entry of a list in a part's figures (a budget's limits, say) as its name, share and level:
    ``daily usd (all) 59% steering``, not the entry's whole record."""
    if not isinstance(item, dict):
        return str(item)
    name = " ".join(str(item[k]) for k in ("provider", "name") if item.get(k) is not None)
    if not name:
        return _flat(item)
    share = item.get("share", item.get("used_share"))
    return " ".join([name, *([f"{share:.0%}"] if isinstance(share, (int, float)) else []),
                     *([str(item["level"])] if item.get("level") else []),
                     *([f"({item['note']})"] if item.get("note") else [])])


@click.command()
@click.pass_context
def reload(ctx: click.Context) -> None:
    """Re-read the config file now (the daemon also reloads on file change and SIGHUP)."""
    reply = _call(ctx, {"type": "reload"})
    if not reply["ok"]:
        output.fail(f"reload failed, the old config keeps running: {reply['message']}", 1)
    click.echo(reply["message"])


@click.group()
def config() -> None:
    """Inspect configuration."""


@config.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.pass_context
def config_check(ctx: click.Context, file: str | None) -> None:
    """Validate FILE (default: the daemon's config file) as the daemon would start with it, in this
    environment (gateway key, provider keys). Works without a daemon."""
    from routerd.paths import config_path

    path = Path(file) if file else config_path()
    if not path.exists():
        if file or os.environ.get("ROUTERD_CONFIG"):  # a named file must exist: routerd would not start
            output.fail(f"{path}: no such file" + ("" if file else " (named by ROUTERD_CONFIG)"), 1)
        click.echo(f"{path}: no such file; routerd runs on built-in defaults")  # as valid as a file
        return
    warnings = _validate(path)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{path}: ok" + (f" ({len(warnings)} warning{'s' * (len(warnings) > 1)})" if warnings else ""))


def _validate(path: Path | None, after: str = "", required: bool = False) -> tuple[str, ...]:
    """Fail (exit 1) with the reason when the daemon would refuse to start with ``path`` (which
    must exist when ``required``); else the config's warnings."""
    from routerd.errors import ConfigError
    from routerd.runtime import check_config_file

    try:
        return check_config_file(path, required=required).warnings
    except ConfigError as exc:
        output.fail(exc.message + after, 1)


@click.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="config file for the daemon")
@click.option("--backend", type=click.Choice(["asyncio", "trio"]), default="asyncio", show_default=True)
@click.pass_context
def start(ctx: click.Context, config_file: str | None, backend: str) -> None:
    """Start the daemon in the background and wait until it is ready. When one is stopping (it
    drains), wait for it to exit first, as `systemctl start` does."""
    from routerctl.client import DaemonError, DaemonNotRunning
    from routerctl.spawn import spawn_daemon

    try:
        reply = _call(ctx, {"type": "ping"}, timeout_s=5)
        click.echo(f"routerd is already running (pid {reply['pid']}) on {ctx.obj}")
        return
    except DaemonNotRunning:
        pass
    except DaemonError as exc:
        if exc.code != "shutting_down":
            raise
        ctx.invoke(stop)  # says it is already stopping, and waits for the exit
    pid, log_path = spawn_daemon(ctx.obj, config_file, backend, START_TIMEOUT_S)
    reply = _call(ctx, {"type": "status"}, timeout_s=10)
    http = reply.get("http") or "off"
    click.echo(f"routerd started (pid {pid}); socket {ctx.obj}; http {http}; log {log_path}")


@click.command()
@click.pass_context
def stop(ctx: click.Context) -> None:
    """Stop the daemon, letting in-flight requests finish, and wait until it has exited. When it
    is stopping already, wait for that stop (as `systemctl stop` does)."""
    reply = _call(ctx, {"type": "stop"}, timeout_s=5)
    pid = reply["pid"]
    if reply.get("already"):
        click.echo(f"routerd (pid {pid}) is already stopping; waiting for it to exit")
    timeout_s = reply["drain_timeout_s"] + STOP_GRACE_S
    if not _wait_exit(pid, timeout_s):
        output.fail(f"routerd (pid {pid}) did not stop within {timeout_s:.0f} s", 4)
    click.echo(f"routerd stopped (pid {pid})")


def _wait_exit(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.01)
    return False


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs. One that has exited but not been reaped by its parent (a
    zombie) has stopped: a container's first process often reaps late or never, and
    ``kill(pid, 0)`` succeeds on a zombie until it is reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the pid now belongs to another user's process: ours is gone
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except FileNotFoundError:  # reaped meanwhile; or no /proc (macOS), where kill's answer stands
        return not Path("/proc/self").exists()
    return stat.rsplit(b")", 1)[-1].split()[:1] != [b"Z"]  # the state follows the command's ")"


@click.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="config file for the daemon")
@click.option("--backend", type=click.Choice(["asyncio", "trio"]), default="asyncio", show_default=True)
@click.pass_context
def restart(ctx: click.Context, config_file: str | None, backend: str) -> None:
    """Check the config, stop the daemon if it runs, then start it again. A config the new daemon
    would refuse stops nothing."""
    from routerctl.client import DaemonNotRunning
    from routerd.paths import config_path, default_config_path

    path = Path(config_file) if config_file else config_path()
    named = path.absolute() != default_config_path().absolute()  # only the default may be missing
    if path.exists() or named:
        _validate(path, " (nothing was stopped)", required=named)
    try:
        ctx.invoke(stop)
    except DaemonNotRunning:
        click.echo("routerd was not running")
    ctx.invoke(start, config_file=config_file, backend=backend)


COMMANDS = [start, stop, restart, status, ping, reload, config]
