"""The gateway's long-lived state: a connection pool per provider, and the counters for status.

``open_gateway`` makes it and closes every pool on exit. ``adopt`` opens the pools of a runtime's
providers before that runtime is swapped in (at start and on each reload), so a reload whose pools
cannot be opened fails whole. A provider whose config did not change keeps its pool (breakers and
the rest of the resilience state live in ``Resilience``, which outlives every runtime);
pools of providers a reload dropped or changed stay open until exit, since calls that started
under the old runtime may still use them: ``upstream_for`` finds the pool of exactly the provider
a call was planned with.
"""

import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from routerd.gateway.h1client import PoolStats
from routerd.gateway.upstream import Upstream, open_upstreams
from routerd.ids import Ids
from routerd.ledger.metrics import Metrics
from routerd.ledger.spending import Spending
from routerd.ledger.state import Ledger
from routerd.providers import Provider
from routerd.resilience.board import Resilience
from routerd.resilience.breaker import BreakerStats
from routerd.runtime import Runtime
from routerd.store.store import Store

log = logging.getLogger("routerd.gateway")


@dataclass(frozen=True, slots=True)
class ProviderStats:
    kind: str
    base_url: str
    proxy: str | None
    pool: PoolStats
    requests: int
    errors: int
    breaker: BreakerStats | None      # None: no call has gone to it yet
    out: str | None = None            # why it takes no call now (breaker, cool-down, keys), as admission says


@dataclass(frozen=True, slots=True)
class GatewayStats:
    address: str | None
    requests: int
    errors: int
    in_flight: int
    streams: int
    client_disconnects: int
    providers: dict[str, ProviderStats]


class Counter:
    __slots__ = ("errors", "requests")

    def __init__(self) -> None:
        self.requests = self.errors = 0


class Gateway:
    def __init__(self, store: Store, resilience: Resilience, ids: Ids, ledger: Ledger, stack: AsyncExitStack,
                 address: str | None, spending: Spending) -> None:
        self.store = store
        self.resilience = resilience
        self.spending = spending
        self.metrics = Metrics()
        self.ids = ids
        self.ledger = ledger
        self.address = address
        self._stack = stack
        self._pools: dict[str, list[Upstream]] = {}   # by provider name, newest first
        self._providers: dict[str, Provider] = {}     # of the runtime adopted last, for status
        self.counters: dict[str, Counter] = {}
        self.requests = self.errors = self.in_flight = self.streams = self.client_disconnects = 0
        # Set by ``App.cut`` when the daemon's stop cancels the calls still in flight: a call
        # cancelled from then on was ended by routerd, not left by its client, and says so.
        self.stopping = False

    async def adopt(self, runtime: Runtime) -> None:
        """Open pools for ``runtime``'s providers that have none yet."""
        fresh = {name: p for name, p in runtime.providers.items() if self._find(p) is None}
        if fresh:
            opened = await self._stack.enter_async_context(open_upstreams(fresh))
            for name, upstream in opened.items():
                self._pools.setdefault(name, []).insert(0, upstream)
        for name in runtime.providers:
            self.counters.setdefault(name, Counter())
        self._providers = dict(runtime.providers)
        shown = [f"{p.name} ({p.kind} {p.base_url}" + (f" via {p.proxy_shown})" if p.proxy else ")")
                 for p in runtime.providers.values()]
        log.info("gateway providers: %s", ", ".join(shown) or "none")

    def upstream_for(self, provider: Provider) -> Upstream:
        """The pool made for exactly ``provider`` (the runtime a call started with adopted it)."""
        upstream = self._find(provider)
        if upstream is None:
            raise KeyError(provider.name)
        return upstream

    def _find(self, provider: Provider) -> Upstream | None:
        for upstream in self._pools.get(provider.name, ()):
            if upstream.provider is provider or upstream.provider == provider:
                return upstream
        return None

    @staticmethod
    def forward_credentials(runtime: Runtime) -> bool:
        """Clients do not authenticate to routerd (no gateway key), so their own provider
        credentials may go to a provider configured without a key."""
        key_env = runtime.config.http.gateway_key_env
        return not (key_env and os.environ.get(key_env))

    def statistics(self) -> GatewayStats:
        breakers, now = self.resilience.health.providers, time.time()
        providers = {
            name: ProviderStats(kind=p.kind, base_url=p.base_url, proxy=p.proxy_shown,
                                pool=self.upstream_for(p).pool.statistics(),
                                requests=self.counters[name].requests,
                                errors=self.counters[name].errors,
                                breaker=breakers[name].statistics(now) if name in breakers else None,
                                out=r.describe() if (r := self.resilience.refusal(name, None, now)) else None)
            for name, p in self._providers.items()
        }
        return GatewayStats(address=self.address, requests=self.requests, errors=self.errors,
                            in_flight=self.in_flight, streams=self.streams,
                            client_disconnects=self.client_disconnects, providers=providers)


@asynccontextmanager
async def open_gateway(store: Store, resilience: Resilience, ids: Ids, ledger: Ledger, runtime: Runtime,
                       address: str | None, spending: Spending) -> AsyncIterator[Gateway]:
    """The gateway with the pools of ``runtime``'s providers; every pool it opens closes on exit."""
    async with AsyncExitStack() as stack:
        gateway = Gateway(store, resilience, ids, ledger, stack, address, spending)
        await gateway.adopt(runtime)
        yield gateway
