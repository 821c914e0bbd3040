"""The scenario step of a decision: which kind of call a request is, where its scenario sends it,
and the context-window rule every candidate must pass before dispatch may try it.

``Scenarios.detect`` reads the request (``routerd.scenarios.detect``) with its token count, counted
before anything else is decided: small remainders on the loop, a big uncounted request in a worker
thread. ``resolve_step`` turns a configured route's model or alias into candidates (tiers are the
brain's: the routing core asks it with the tier forced). ``fit`` keeps only candidates whose
window holds the request with headroom; for automatic routing it escalates to a catalogue model
that fits when none does, and keeps a long conversation on the model it moved to (one move, not
back and forth: ``scenarios.routes.SessionWindows``). Nothing fits: ``ContextTooLong``, which the
HTTP front answers in the client's dialect.

The state (the token counter and the long sessions' table) belongs to the routing core; only the
event loop touches it, and counts in a worker thread are serialised by one lock.
"""

import functools
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import anyio
import anyio.to_thread
import msgspec

from routerd.catalogue.models import Catalogue, ModelInfo
from routerd.errors import ContextTooLong
from routerd.routing import candidates as cands
from routerd.routing.types import Candidate, RouteRequest
from routerd.runtime import Runtime
from routerd.scenarios.detect import Detection, detect
from routerd.scenarios.routes import RouteChoice, SessionWindows, fits, model_info, route_for, window_budget
from routerd.scenarios.tokens import FAMILIES, CounterStats, TokenCount, TokenCounter, family_of

# The family whose worst case is the largest: an estimate below a bound for it is below for all.
WIDEST_FAMILY = max(FAMILIES, key=lambda name: (FAMILIES[name].upper, FAMILIES[name].image_upper))
# More characters not counted yet than this go to a worker thread: cl100k encodes ~10-20 MB/s here,
# so this much costs ~1-2 ms, the most a request should hold the loop for (bench/bench_scenarios.py).
THREAD_COUNT_CHARS = 20_000
# A request body holds at most this many tokens per byte in any family: a token is at least one
# byte of JSON text (1.4 for dense ASCII), times the largest family factor (1.6), rounded up. Images
# break the bound (a short URL can cost 1,600 tokens), so a body that may carry one is counted.
MAX_TOKENS_PER_BYTE = 2
_IMAGE_HINTS = (b'"image', b"inline_data", b"inlineData", b"file_data", b"fileData")


class Found(msgspec.Struct, frozen=True):
    """A request's scenario, its token count, the conversation it belongs to (its session and the
    agent within it) and the route its scenario takes (None: the brain's)."""

    detection: Detection
    count: TokenCount
    key: str | None
    route: RouteChoice | None

    @property
    def long(self) -> bool:
        return "long_context" in self.detection.matched

    def reasons(self) -> tuple[str, ...]:
        """The scenario's evidence, and its route's origin when it has one."""
        return (self.detection.explain(), *((self.route.reason,) if self.route is not None else ()))


class ScenarioStats(msgspec.Struct, frozen=True):
    detected: dict[str, int]
    routed: int          # requests that took a configured or built-in scenario route
    escalated: int       # automatic requests sent past every candidate to a bigger window
    refused: int         # requests no model they may go to could hold
    session_moves: int
    long_sessions: int
    counter: CounterStats


class Scenarios:
    def __init__(self, counter: TokenCounter | None = None) -> None:
        self.counter = counter or TokenCounter()
        self.windows = SessionWindows()
        self.detected: Counter[str] = Counter()
        self.routed = self.escalated = self.refused = 0
        self._lock = anyio.Lock()
        self._floor_of: Runtime | None = None
        self._floor_tokens = 0

    async def detect(self, runtime: Runtime, request: RouteRequest, model: str, auto: bool) -> Found | None:
        """The request's scenario and route (``model``: the name asked for, decorations stripped);
        None when detection is off or the request does not parse (it is refused later)."""
        config = runtime.config.routing.scenarios
        if not config.enabled:
            return None
        floor = self._floor(runtime)
        body = request.conversation.body
        if not auto and len(body) * MAX_TOKENS_PER_BYTE < floor and not any(h in body for h in _IMAGE_HINTS):
            return None  # a named model, and far too small for any window: nothing to decide
        req = request.conversation.request()
        if req is None:
            return None
        key = conversation_key(request)
        big = request.conversation.big
        count = await self._count(req, key, floor, big)
        read = functools.partial(detect, req, request.markers, model=model, tokens=count,
                                 family=family_of("", model) if not auto else "openai",
                                 hosted_tools=request.hosted_tools,
                                 long_context_threshold=config.long_context_threshold,
                                 min_think_level=config.think_level)
        detection = await anyio.to_thread.run_sync(read) if big else read()
        self.detected[detection.scenario] += 1
        route = route_for(detection.scenario, config) if auto else None
        self.routed += route is not None
        return Found(detection, count, key, route)

    def _floor(self, runtime: Runtime) -> int:
        """Tokens below which no decision depends on the count: the long-context threshold, and the
        smallest catalogue window with its headroom (computed once per runtime)."""
        if self._floor_of is not runtime:
            config = runtime.config.routing.scenarios
            windows = [window_budget(m, config.window_headroom) for m in runtime.catalogue.models]
            self._floor_of, self._floor_tokens = runtime, min([config.long_context_threshold, *windows])
        return self._floor_tokens

    async def _count(self, req: Any, key: str | None, floor: int, big: bool = False) -> TokenCount:
        """The request's count: estimated from characters when even its worst case is below
        ``floor`` (then the tokenizer is not even loaded), else counted. For a ``big`` body even
        the estimate reads many messages: all of it runs in a worker thread."""
        counter = self.counter
        if big:
            async with self._lock:
                return await anyio.to_thread.run_sync(self._count_now, req, key, floor)
        if (estimate := self._below(req, floor)) is not None:
            return estimate
        async with self._lock:
            if not counter.loaded or counter.uncounted_chars(req, key) > THREAD_COUNT_CHARS:
                return await anyio.to_thread.run_sync(counter.count, req, key)
            return counter.count(req, key)

    def _count_now(self, req: Any, key: str | None, floor: int) -> TokenCount:
        """`_count` at once, in the caller's thread (with the lock held)."""
        estimate = self._below(req, floor)
        return estimate if estimate is not None else self.counter.count(req, key)

    def _below(self, req: Any, floor: int) -> TokenCount | None:
        """The estimate from characters when even its worst case is below ``floor``, else None."""
        estimate = self.counter.estimate(req)
        return estimate if estimate.upper(WIDEST_FAMILY) < floor else None

    def resolve_step(self, step: str, runtime: Runtime, dialect: str,
                     expand: cands.Expand | None = None) -> list[Candidate]:
        """Candidates for a route's model step: ``provider/model`` or a ``[gateway.aliases]`` name as
        the gateway resolves them (an alias group in its balancer's order: ``expand``), a catalogue
        model or alias (``haiku``) on the providers that speak for its maker."""
        providers, gateway = runtime.providers, runtime.config.gateway
        head, sep, _ = step.partition("/")
        if step in gateway.aliases or (sep and head in providers):
            return cands.resolve(step, providers, gateway, dialect, expand)
        info = model_info(step, runtime.catalogue, {})
        if info is not None:
            found, _ = cands.on_providers((info.key,), providers, runtime.catalogue)
            if found:
                return found
        return cands.resolve(step, providers, gateway, dialect, expand)

    def fit(self, runtime: Runtime, found: Found, chain: Sequence[Candidate], auto: bool,
            escalation: Callable[[], list[Candidate]]) -> tuple[list[Candidate], list[str]]:
        """``chain`` without the candidates whose window the request exceeds, and what was done.
        Automatic routing escalates (``escalation``: every catalogue model on the providers) when
        nothing fits and keeps a long conversation where it lives; raises ContextTooLong."""
        catalogue, headroom = runtime.catalogue, runtime.config.routing.scenarios.window_headroom
        count, notes = found.count, []
        kept = [c for c in chain if _fits(catalogue, c, count, headroom)]
        if len(kept) < len(chain):
            notes.append("passed over (window too small): " + ", ".join(
                _too_small(catalogue, c, count, headroom) for c in chain if c not in kept))
        if auto and (found.long or not kept or (found.key and self.windows.get(found.key))):
            pool = kept + [c for c in escalation() if c not in kept and _fits(catalogue, c, count, headroom)]
            if not kept and pool:
                self.escalated += 1
                notes.append(f"escalated to {pool[0].model}: no candidate's window holds the request")
            kept = self._stay(catalogue, found, pool, headroom, notes)
        if not kept:
            self._refuse(catalogue, chain, count)
        return kept, notes

    def refuse_if_nothing_holds(self, runtime: Runtime, found: Found, pool: Sequence[Candidate]) -> None:
        """Raise ContextTooLong when there are models in ``pool`` and none has a window that holds
        the request (an automatic request the brain found no candidate for: the reason to give is
        the size). An empty pool is no reason of size: nothing is served to route to."""
        catalogue, headroom = runtime.catalogue, runtime.config.routing.scenarios.window_headroom
        if pool and not any(_fits(catalogue, c, found.count, headroom) for c in pool):
            self._refuse(catalogue, pool, found.count)

    def _refuse(self, catalogue: Catalogue, chain: Sequence[Candidate], count: TokenCount) -> NoReturn:
        self.refused += 1
        raise ContextTooLong(_too_long(catalogue, chain, count))

    def _stay(self, catalogue: Catalogue, found: Found, pool: list[Candidate], headroom: float,
              notes: list[str]) -> list[Candidate]:
        """``pool`` with the model a long conversation lives on (or moves to, once) first."""
        models = [(m, catalogue.get(m)) for m in dict.fromkeys(c.model for c in pool)]
        model, why = self.windows.choose(found.key, models, found.count, headroom, found.long)
        if model is None:
            return pool
        notes.append(why)
        return [c for c in pool if c.model == model] + [c for c in pool if c.model != model]

    def statistics(self) -> ScenarioStats:
        windows = self.windows.statistics()
        return ScenarioStats(detected=dict(self.detected), routed=self.routed, escalated=self.escalated,
                             refused=self.refused, session_moves=windows["moves"], long_sessions=windows["sessions"],
                             counter=self.counter.statistics())


def conversation_key(request: RouteRequest) -> str | None:
    """The conversation a request continues: its session, and within it the agent (Claude Code's
    subagent id; Codex's thread, which differs from the session id in a subagent's requests)."""
    session, markers = request.session_id, request.markers
    agent = markers.get("x-claude-code-agent-id") or markers.get("thread-id")
    return f"{session}/{agent}" if session and agent and agent != session else session


def by_price(runtime: Runtime) -> list[Candidate]:
    """Every catalogue model on the configured providers, cheapest first: where an automatic
    request escalates when no candidate's window holds it."""
    def price(info: ModelInfo) -> float:
        value = info.cost_per_mtok()
        return value if value is not None else float("inf")
    keys = tuple(m.key for m in sorted(runtime.catalogue.models, key=price))
    return cands.on_providers(keys, runtime.providers, runtime.catalogue)[0]


def _fits(catalogue: Catalogue, candidate: Candidate, count: TokenCount, headroom: float) -> bool:
    info = catalogue.get(candidate.model)
    return info is None or fits(info, count, headroom)


def _too_small(catalogue: Catalogue, candidate: Candidate, count: TokenCount, headroom: float) -> str:
    info = catalogue.get(candidate.model)
    assert info is not None
    return f"{candidate.model} ({info.context_window:,}-token window; ~{_need(info, count):,} tokens)"


def _need(info: ModelInfo, count: TokenCount) -> int:
    return count.upper(family_of(info.provider, info.id))


def _too_long(catalogue: Catalogue, chain: Sequence[Candidate], count: TokenCount) -> str:
    """Anthropic's words for it ("prompt is too long: N tokens > M maximum"), then routerd's."""
    infos = [i for c in chain if (i := catalogue.get(c.model)) is not None]
    if not infos:
        return "prompt is too long: no model it may go to can hold it"
    biggest = max(infos, key=lambda i: i.context_window)
    return (f"prompt is too long: {_need(biggest, count)} tokens > {biggest.context_window} maximum "
            f"(routerd counted the request before sending it; no model it may go to has a window that "
            f"holds it with headroom: {', '.join(sorted({i.id for i in infos}))})")

