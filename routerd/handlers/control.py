"""Handlers for the control requests: ping, status, stop, reload, config_check, prune."""

from pathlib import Path

import anyio.to_thread

from routerd.app import App
from routerd.config import parse_config
from routerd.config_where import ConfigText
from routerd.errors import ConfigError, RouterdError
from routerd.protocol.replies import ConfigCheckResult, Ok, Pong, ReloadResult, StatusReply, Stopping
from routerd.protocol.requests import ConfigCheck, Ping, Prune, Reload, Status, Stop
from routerd.runtime import Runtime, build_runtime, check_config_file
from routerd.version import VERSION


async def handle_ping(app: App, request: Ping) -> Pong:
    return Pong(version=VERSION, pid=app.pid)


async def handle_status(app: App, request: Status) -> StatusReply:
    return await app.status()


async def handle_stop(app: App, request: Stop) -> Stopping:
    """Ask the daemon to drain and exit; asked again while it drains, say so (the caller waits)."""
    already = app.stop_requested.is_set()
    app.request_stop()
    return Stopping(pid=app.pid, drain_timeout_s=app.runtime.config.daemon.drain_timeout_s, already=already)


async def handle_reload(app: App, request: Reload) -> ReloadResult:
    return await app.reload("request")


async def handle_prune(app: App, request: Prune) -> Ok:
    """Prune the calls and decisions past the retention now, batch after batch on the store's
    writer; with ``vacuum``, then shrink the file."""
    days = app.runtime.config.state.retain_days
    if days <= 0:
        said = "retention is off (state.retain_days = 0): every call is kept"
    else:
        done = await app.store.prune()
        if done.error is not None:
            raise RouterdError(f"prune failed: {done.error}")
        said = (f"pruned {done.pruned} call(s) and {done.pruned_decisions} decision(s) older than {days} "
                "days; their sums stay in the reports")
    if request.vacuum:
        vacuumed = await app.store.vacuum()
        if vacuumed.error is not None:
            raise RouterdError(f"{said}; vacuum failed: {vacuumed.error}")
        said += (f"\nvacuumed: {_mib(vacuumed.before)} -> {_mib(vacuumed.after)} on disk (writes waited "
                 f"{vacuumed.held_s:.1f} s)")
    return Ok(message=said)


def _mib(n: int) -> str:
    return f"{n / 1024 ** 2:.1f} MiB"


async def handle_config_check(app: App, request: ConfigCheck) -> ConfigCheckResult:
    """Validate a file or text as the daemon would start with it, without applying it (the file
    is looked at and read in a worker thread)."""
    text = request.text
    if text is not None:
        source = request.path or "<text>"
        def load() -> Runtime:
            return build_runtime(parse_config(text, source), None, text=ConfigText(source, text))
    else:
        path = Path(request.path) if request.path else app.runtime.config_path
        source = str(path)
        def load() -> Runtime:
            return _check_file(path)
    try:
        runtime = await anyio.to_thread.run_sync(load)
    except ConfigError as exc:
        return ConfigCheckResult(ok=False, path=source, errors=[exc.message])
    return ConfigCheckResult(ok=True, path=source, warnings=list(runtime.warnings))


def _check_file(path: Path | None) -> Runtime:
    if path is None or not path.exists():
        raise ConfigError(f"{path}: no such file")
    return check_config_file(path)
