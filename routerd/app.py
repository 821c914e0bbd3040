"""The daemon's application object, the composition root: the runtime snapshot and every part.

``App`` holds typed references to the parts: the store, the resilience state (breakers, cool-downs,
buckets, key pools, aliases, in-flight bounds; kept across reloads), the ledger's counters, the
gateway (connection pools), the classifier's files (``Brain``), the routing core, the asker, the hooks
and the MCP server. The resources themselves (the store, the pools, the listeners) are opened and closed by ``routerd.daemon.run_daemon`` through one
exit stack; the parts without resources are made here. ``reload`` builds a complete new runtime off
the loop, has the gateway open its pools, and only then swaps one reference, or keeps the old
runtime and records why. ``status`` gathers each part's ``statistics()`` explicitly.
"""

import functools
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import anyio.to_thread
import apsw
import msgspec

from routerd.config import keep_start_only, read_config
from routerd.errors import ConfigError
from routerd.gateway.gateway import Gateway
from routerd.ids import Ids
from routerd.integrations.ask import Asker
from routerd.integrations.hooks import Hooks
from routerd.integrations.mcp import McpServer
from routerd.integrations.mcp_tools import Tools
from routerd.ledger.metrics import State
from routerd.ledger.spending import Spending
from routerd.ledger.state import Ledger
from routerd.logs import SecretScrubber
from routerd.redact import scrub
from routerd.protocol.replies import LastReload, ReloadResult, StatusReply
from routerd.resilience.board import Resilience
from routerd.resilience.keys import PoolKey
from routerd.routing.brain import Brain
from routerd.routing.core import RoutingCore
from routerd.runtime import Runtime, build_runtime
from routerd.store import ledger as ledger_rows
from routerd.store.limits import load_windows, save_windows
from routerd.store.store import Store
from routerd.version import VERSION

log = logging.getLogger("routerd.app")


def pools_of(runtime: Runtime) -> dict[str, tuple[PoolKey, ...]]:
    """Each provider's key pool, for the resilience state."""
    return {name: provider.pool() for name, provider in runtime.providers.items()}


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
    def __init__(self, *, runtime: Runtime, store: Store, resilience: Resilience, ids: Ids, ledger: Ledger,
                 gateway: Gateway, socket_path: Path, backend: str, scrubber: SecretScrubber | None = None) -> None:
        self.runtime = runtime
        self.store = store
        self.resilience = resilience
        self.ids = ids
        self.ledger = ledger
        self.gateway = gateway
        self.spending: Spending = gateway.spending
        self.brain = Brain()  # loaded while the daemon serves (``routerd.daemon``)
        self.routing = RoutingCore(store, resilience, ids, ask_model=self._ask_classifier,
                                   pressure=self.spending.pressure, brain=self.brain)
        self.asker = Asker(self.routing, gateway)
        self.hooks = Hooks(store, self.routing, self.asker, ids, ledger, budget_note=self.spending.note)
        gateway.metrics.watch(self._metric_state)
        self.mcp = McpServer(Tools(self.routing, self.asker, store, self.status, self.spending))
        self.socket_path = socket_path
        self.backend = backend
        self.scrubber = scrubber or SecretScrubber()
        self.scrubber.secrets = runtime.secrets
        self.started_at = time.time()
        self.pid = os.getpid()
        self.inflight = Inflight()
        self.idle_scopes: set[anyio.CancelScope] = set()
        self.work_scopes: set[anyio.CancelScope] = set()
        self.draining = False
        self.cut_short = False  # the drain ended with requests in flight: their work was cancelled
        self.stop_requested = anyio.Event()
        self._drain = anyio.CancelScope()  # the drain's wait, which end_drain cuts short
        self.last_reload = LastReload(ok=True, at=self.started_at, message="loaded at start")

    async def load(self) -> None:
        """Read the parts' persisted state (profile, feedback, hooks mode, the use of long limit
        windows) before serving."""
        await self.routing.load(self.runtime)
        await self.hooks.load()
        restored = self.resilience.limiter.restore(await self.store.read(load_windows), time.time())
        if restored:
            log.info("limits: %d window(s) carried over from before the restart", restored)

    def save_limits(self) -> None:
        """Enqueue the use of every long limit window (hour to month), so a restart keeps it."""
        now = time.time()
        save_windows(self.store, self.resilience.limiter.snapshot(now), now)

    @property
    def http_address(self) -> str | None:
        return self.gateway.address

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

    @contextmanager
    def cuttable(self) -> Iterator[anyio.CancelScope]:
        """A scope around one request's work, which ``cut`` cancels if the drain ends with it still
        in flight, so that the front can still give its client a last word."""
        with anyio.CancelScope() as scope:
            self.work_scopes.add(scope)
            try:
                yield scope
            finally:
                self.work_scopes.discard(scope)

    def cut(self) -> None:
        """The drain is over: cancel the work of every request still in flight (``cuttable``)."""
        self.cut_short = True
        self.gateway.stopping = True
        for scope in list(self.work_scopes):
            scope.cancel()

    def begin_drain(self) -> None:
        """Stop taking new requests; wake idle connections so that they close."""
        self.draining = True
        for scope in list(self.idle_scopes):
            scope.cancel()

    async def drain(self, timeout_s: float) -> None:
        """Wait until no request is in flight, for at most ``timeout_s`` or until ``end_drain``."""
        with anyio.move_on_after(timeout_s), self._drain:
            await self.inflight.wait_idle()

    def end_drain(self) -> None:
        """Stop waiting for the requests in flight (a second SIGTERM or Ctrl-C): the daemon cancels
        them and exits, recording their calls and closing the store as after a drain."""
        self._drain.cancel()

    async def reload(self, reason: str) -> ReloadResult:
        """Re-read the config file and swap in a new runtime, or keep the old one and say why. Once
        running from a file, a missing or empty one keeps the old runtime (a file deleted, or
        truncated before being written again, must not put built-in defaults in its place)."""
        old = self.runtime
        try:
            read = functools.partial(read_config, old.config_path, required=old.from_file,
                                     blank_ok=not old.from_file)
            config, text = await anyio.to_thread.run_sync(read)
            config, pending = keep_start_only(old.config, config)
            new = await anyio.to_thread.run_sync(build_runtime, config, old.config_path, os.environ,
                                                 self.http_address, text)
            await self.gateway.adopt(new)
            # Last before the swap, with no await after it: a limit the reload adds starts from the
            # ledger, not from nothing (which would let paid calls past it until the next resync).
            ledger = await self.spending.ledger_for(new)
        except (ConfigError, OSError) as exc:  # OSError: a provider's pool could not be set up
            why = exc.message if isinstance(exc, ConfigError) else f"cannot set up the providers: {exc}"
            why = scrub(why, self.scrubber.secrets)  # status shows what the log shows
            self.last_reload = LastReload(ok=False, at=time.time(), message=why, reason=reason)
            log.error("reload (%s) failed, keeping the running config: %s", reason, why)
            return ReloadResult(ok=False, message=why)
        self.runtime = new
        if new.config.state.retain_days != old.config.state.retain_days:
            self.store.retain(new.config.state.retain_days)
        self.resilience.reconfigure(new.config, pools_of(new))
        self.spending.reconfigure(new, ledger)
        self.scrubber.secrets = new.secrets
        message = "reloaded" + (f"; restart required for {', '.join(pending)}" if pending else "")
        self.last_reload = LastReload(ok=True, at=time.time(), message=message, reason=reason,
                                      restart_required=pending)
        log.info("config %s (%s)", message, reason)
        for warning in new.warnings:
            log.warning("config: %s", warning)
        return ReloadResult(ok=True, message=message, restart_required=pending)

    async def status(self) -> StatusReply:
        """Every part's statistics and the running runtime, for ``routerctl status`` and MCP."""
        runtime = self.runtime
        try:  # a damaged file must not take the rest of the status with it (the store notes it)
            hook_calls = await self.store.read(ledger_rows.hook_rows)
        except apsw.Error:
            hook_calls = -1
        parts = {"brain": self.brain.statistics(), "store": self.store.statistics(),
                 "requests": {"in_flight": self.inflight.count, "served": self.inflight.total},
                 "routing": self.routing.statistics(), "scenarios": self.routing.scenarios.statistics(),
                 "hooks": self.hooks.statistics(),
                 "gateway": self.gateway.statistics(), "ledger": self.ledger.statistics(hook_calls),
                 "resilience": self.resilience.summary(time.time()),
                 "budgets": self.spending.statistics(runtime)}
        return StatusReply(
            version=VERSION, pid=self.pid, uptime_s=round(time.time() - self.started_at, 3),
            backend=self.backend, socket=str(self.socket_path), http=self.http_address,
            config_path=str(runtime.config_path) if runtime.config_path else None,
            config_loaded_at=runtime.loaded_at, last_reload=self.last_reload,
            state_path=str(self.state_path), rows=await self.store.row_counts(),
            parts=msgspec.to_builtins(parts), draining=self.draining,
        )

    def _metric_state(self) -> State:
        """What ``/metrics`` reads from the parts at each scrape."""
        budgets = self.spending.statistics(self.runtime)
        return State(requests=self.gateway.requests, errors=self.gateway.errors, pressure=budgets.pressure,
                     limits={x.name: x.share for x in budgets.limits},
                     breakers={name: b.state for name, b in
                               self.resilience.health.statistics(time.time()).providers.items()})

    def reset_breakers(self, target: str | None) -> list[str]:
        """``routerctl breaker reset [TARGET]``: close breakers, end cool-downs, keys back in."""
        changed = self.resilience.reset(target)
        log.info("breaker reset %s: %s", target or "(all)", ", ".join(changed) or "nothing was open")
        return changed

    async def _ask_classifier(self, runtime: Runtime, model: str, prompt: str) -> str:
        """The routing core's second opinion, asked through the gateway."""
        return await self.asker.ask_text(runtime, model, prompt)
