"""The daemon's application object: owns the runtime snapshot, the store and the drain state.

``App`` holds references only; the resources themselves are opened and closed by
``routerd.daemon.run_daemon`` through one exit stack. ``reload`` builds a complete new runtime off the
loop and swaps one reference, or keeps the old one and records why.
"""

import itertools
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from routerd.config import keep_start_only, load_config
from routerd.errors import ConfigError
from routerd.listeners import check_exposure, parse_listen
from routerd.logs import SecretScrubber
from routerd.redact import scrub
from routerd.protocol import ReloadResult
from routerd.runtime import Runtime, build_runtime
from routerd.store.store import Store

log = logging.getLogger("routerd.app")


class Inflight:
    """Counts requests being handled, so that a drain can wait for the count to reach zero."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0
        self._idle: anyio.Event | None = None

    def __enter__(self) -> None:
        self.count += 1
        self.total += 1

    def __exit__(self, *exc: object) -> None:
        self.count -= 1
        if self.count == 0 and self._idle is not None:
            self._idle.set()

    async def wait_idle(self) -> None:
        while self.count:
            self._idle = anyio.Event()
            await self._idle.wait()
        self._idle = None


class App:
    def __init__(self, *, runtime: Runtime, store: Store, socket_path: Path, backend: str,
                 scrubber: SecretScrubber | None = None) -> None:
        self.runtime = runtime
        self.store = store
        self.socket_path = socket_path
        self.backend = backend
        self.scrubber = scrubber or SecretScrubber()
        self.scrubber.secrets = runtime.secrets
        self.started_at = time.time()
        self.pid = os.getpid()
        self.http_address: str | None = None
        self.inflight = Inflight()
        self.idle_scopes: set[anyio.CancelScope] = set()
        self.draining = False
        self.stop_requested = anyio.Event()
        self.last_reload: dict[str, Any] = {"ok": True, "at": self.started_at, "message": "loaded at start"}
        self.parts: dict[str, Any] = {}  # name -> object with statistics(), shown by status
        self._id_prefix = os.urandom(5).hex()
        self._ids = itertools.count(1)

    def new_id(self) -> str:
        """A 16-character id for a decision, call or feedback row: unique across daemon runs (a
        random prefix per run) and within one (a counter). uuid4 costs a getrandom call per id,
        which measured ~15 us here, a tenth of a whole routing decision."""
        return f"{self._id_prefix}{next(self._ids):06x}"

    @property
    def state_path(self) -> Path:
        return self.store.path

    def request_stop(self) -> None:
        self.stop_requested.set()

    @contextmanager
    def idle(self, timeout_s: float) -> Iterator[anyio.CancelScope]:
        """A scope for a connection waiting for its next request: it ends after ``timeout_s``, or
        at once when the daemon drains."""
        with anyio.move_on_after(timeout_s) as scope:
            self.idle_scopes.add(scope)
            try:
                yield scope
            finally:
                self.idle_scopes.discard(scope)

    def begin_drain(self) -> None:
        """Stop taking new requests; wake idle connections so that they close."""
        self.draining = True
        for scope in list(self.idle_scopes):
            scope.cancel()

    async def reload(self, reason: str) -> ReloadResult:
        """Re-read the config file and swap in a new runtime, or keep the old one and say why."""
        old = self.runtime
        try:
            config = await anyio.to_thread.run_sync(load_config, old.config_path)
            config, pending = keep_start_only(old.config, config)
            new = build_runtime(config, old.config_path)
            if self.http_address is not None:  # where it listens (socket activation may differ)
                check_exposure(parse_listen(self.http_address)[0], config.http.gateway_key_env, os.environ)
        except ConfigError as exc:
            message = scrub(exc.message, self.scrubber.secrets)  # status shows what the log shows
            self.last_reload = {"ok": False, "at": time.time(), "message": message, "reason": reason}
            log.error("reload (%s) failed, keeping the running config: %s", reason, message)
            return ReloadResult(ok=False, message=message)
        self.runtime = new
        self.scrubber.secrets = new.secrets
        message = "reloaded" + (f"; restart required for {', '.join(pending)}" if pending else "")
        self.last_reload = {"ok": True, "at": time.time(), "message": message, "reason": reason,
                            "restart_required": pending}
        log.info("config %s (%s)", message, reason)
        return ReloadResult(ok=True, message=message, restart_required=pending)
