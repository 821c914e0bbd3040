"""Handlers for the control requests: ping, status, stop, reload, config_check."""

import time
from pathlib import Path

import anyio.to_thread

from routerd.config import parse_config
from routerd.errors import ConfigError
from routerd.protocol import (ConfigCheck, ConfigCheckResult, Ok, Ping, Pong, Reload, ReloadResult,
                              Status, StatusReply, Stop)
from routerd.runtime import build_runtime, check_config_file
from routerd.version import VERSION


async def handle_ping(app, request: Ping) -> Pong:
    return Pong(version=VERSION, pid=app.pid)


async def handle_status(app, request: Status) -> StatusReply:
    runtime = app.runtime
    parts = {"store": app.store.statistics(),
             "requests": {"in_flight": app.inflight.count, "served": app.inflight.total}}
    parts.update({name: part.statistics() for name, part in app.parts.items()})
    return StatusReply(
        version=VERSION, pid=app.pid, uptime_s=round(time.time() - app.started_at, 3),
        backend=app.backend, socket=str(app.socket_path), http=app.http_address,
        config_path=str(runtime.config_path) if runtime.config_path else None,
        config_loaded_at=runtime.loaded_at, last_reload=app.last_reload,
        state_path=str(app.state_path), rows=await app.store.row_counts(), parts=parts,
    )


async def handle_stop(app, request: Stop) -> Ok:
    app.request_stop()
    return Ok(message="stopping")


async def handle_reload(app, request: Reload) -> ReloadResult:
    return await app.reload("request")


async def handle_config_check(app, request: ConfigCheck) -> ConfigCheckResult:
    """Validate a file or text as the daemon would start with it, without applying it (the file
    is looked at and read in a worker thread)."""
    if request.text is not None:
        source = request.path or "<text>"
        load = lambda: build_runtime(parse_config(request.text, source), None)  # noqa: E731
    else:
        path = Path(request.path) if request.path else app.runtime.config_path
        source = str(path)
        load = lambda: _check_file(path)  # noqa: E731
    try:
        await anyio.to_thread.run_sync(load)
    except ConfigError as exc:
        return ConfigCheckResult(ok=False, path=source, errors=[exc.message])
    return ConfigCheckResult(ok=True, path=source)


def _check_file(path: Path | None) -> None:
    if path is None or not path.exists():
        raise ConfigError(f"{path}: no such file")
    check_config_file(path)
