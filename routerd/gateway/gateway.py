"""The gateway's long-lived state: providers, their pools and breakers, and the counters for status.

``open_gateway`` builds it from the app's runtime and closes every pool on exit. When a reload
changes the providers, ``current`` rebuilds the registry on the next request; a provider whose
config did not change keeps its pool and breaker, and pools of removed providers stay open until
exit (in-flight calls may still be using them).
"""

import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import anyio

from routerd.errors import ConfigError
from routerd.gateway.breaker import Breaker, BreakerStats
from routerd.gateway.h1client import PoolStats
from routerd.gateway.providers import Provider, build_providers
from routerd.gateway.upstream import Upstream, open_upstreams

log = logging.getLogger("routerd.gateway")


@dataclass(frozen=True, slots=True)
class ProviderStats:
    kind: str
    base_url: str
    proxy: str | None
    pool: PoolStats
    requests: int
    errors: int
    breaker: BreakerStats


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
    __slots__ = ("requests", "errors")

    def __init__(self) -> None:
        self.requests = self.errors = 0


class Gateway:
    def __init__(self, app, stack: AsyncExitStack) -> None:
        self.app = app
        self._stack = stack
        self._runtime = None
        self._rebuilding = anyio.Lock()
        self.providers: dict[str, Provider] = {}
        self.upstreams: dict[str, Upstream] = {}
        self.breakers: dict[str, Breaker] = {}
        self.counters: dict[str, Counter] = {}
        self.requests = self.errors = self.in_flight = self.streams = self.client_disconnects = 0

    async def current(self) -> "Gateway":
        """This gateway, with its registry rebuilt first if the runtime changed since."""
        runtime = self.app.runtime
        if runtime is self._runtime:
            return self
        async with self._rebuilding:  # concurrent requests after a reload rebuild once
            if runtime is self._runtime:
                return self
            if self._runtime is None:
                await self._rebuild(runtime)  # at start an invalid provider is fatal
                return self
            try:
                await self._rebuild(runtime)
            except ConfigError as exc:
                self._runtime = runtime
                log.error("providers not reloaded, keeping the running ones: %s", exc.message)
        return self

    async def _rebuild(self, runtime) -> None:
        providers = build_providers(runtime.config, os.environ, self.app.http_address)
        gw = runtime.config.gateway
        fresh = {n: p for n, p in providers.items() if self.providers.get(n) != p}
        if fresh:
            self.upstreams.update(await self._stack.enter_async_context(open_upstreams(fresh)))
        for name in fresh:
            self.breakers[name] = Breaker(gw.breaker_failures, gw.breaker_reset_s)
            self.counters.setdefault(name, Counter())
        self.providers, self._runtime = providers, runtime
        from routerd.handlers.routing import routing_state

        await routing_state(self.app)  # the brain's catalogue (prices) for this runtime
        shown = [f"{p.name} ({p.kind} {p.base_url}" + (f" via {p.proxy_shown})" if p.proxy else ")")
                 for p in providers.values()]
        log.info("gateway providers: %s", ", ".join(shown) or "none")

    def new_id(self) -> str:
        return self.app.new_id()

    @property
    def forward_credentials(self) -> bool:
        """Clients do not authenticate to routerd (no gateway key), so their own provider
        credentials may go to a provider configured without a key."""
        key_env = self.app.runtime.config.http.gateway_key_env
        return not (key_env and os.environ.get(key_env))

    def statistics(self) -> GatewayStats:
        providers = {
            name: ProviderStats(kind=p.kind, base_url=p.base_url, proxy=p.proxy_shown,
                                pool=self.upstreams[name].pool.statistics(),
                                requests=self.counters[name].requests,
                                errors=self.counters[name].errors,
                                breaker=self.breakers[name].statistics())
            for name, p in self.providers.items()
        }
        return GatewayStats(address=self.app.http_address, requests=self.requests, errors=self.errors,
                            in_flight=self.in_flight, streams=self.streams,
                            client_disconnects=self.client_disconnects, providers=providers)


@asynccontextmanager
async def open_gateway(app) -> AsyncIterator[Gateway]:
    """The gateway for ``app`` (registered as ``app.parts["gateway"]``); raises ConfigError when a
    provider is invalid (e.g. points back at routerd)."""
    async with AsyncExitStack() as stack:
        gateway = Gateway(app, stack)
        await gateway.current()
        app.parts["gateway"] = gateway
        try:
            yield gateway
        finally:
            app.parts.pop("gateway", None)
