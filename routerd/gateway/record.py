"""One row in ``calls`` per upstream attempt: outcome, status, every token kind, latency, time to
first byte, cost, and the baseline cost (what the model the client asked for would have cost) for
savings, priced by ``routerd.ledger.costs``. Only routing saves: a call the client named that
routerd passed through, retried or handed to a fallback is its own baseline (0 saved).

``finish`` writes the row once: dispatch calls it when a whole answer or a failure is in, and for
a stream when the relay ends. Writing only enqueues (``routerd.store.ledger.record_call``), so it is
safe in ``finally`` blocks of cancelled tasks.
"""

import logging
import time

import msgspec

from routerd.catalogue.prices import Tokens
from routerd.dialects.responses.search import offers_preview
from routerd.gateway.usage import NO_TOKENS, UsageMeter
from routerd.ledger import costs
from routerd.resilience.limits import Reservation
from routerd.routing.types import Candidate, RouteDecision
from routerd.runtime import Runtime
from routerd.store.ledger import CallRow, record_call

log = logging.getLogger("routerd.gateway")
# What a coding agent sends with every request to name its session: Claude Code's header, or
# Codex's (session-id, the uuid of its thread), read in this order as routing reads them.
_SESSION_HEADERS = (b"x-claude-code-session-id", b"session-id")
# The outcomes of a call the provider answered, whole or in part: what it did not report of its
# usage is estimated. ``stopped`` (routerd's stop cut the call) is metered like a client that left.
_ANSWERED = frozenset({"ok", "client_disconnected", "stopped", "stream_cut", "upstream_bad_response"})


def session_of(headers: dict[bytes, bytes]) -> str | None:
    """The session a request belongs to, as its decision has it (None: the client names none)."""
    for name in _SESSION_HEADERS:
        if value := headers.get(name):
            return value.decode("ascii", "replace")
    return None


class CallRecord:
    __slots__ = ("attempt", "budget", "candidate", "error", "gateway", "meter", "outcome", "plan", "request", "runtime",
                 "started", "ttft", "written")

    def __init__(self, gateway, runtime: Runtime, plan: RouteDecision, candidate: Candidate, attempt: int,
                 request) -> None:
        self.gateway = gateway
        self.runtime = runtime
        self.plan = plan
        self.candidate = candidate
        self.attempt = attempt
        self.request = request
        self.started = time.perf_counter()
        self.ttft: float | None = None
        self.meter: UsageMeter | None = None
        self.outcome = "pending"
        self.error: str | None = None
        self.written = False
        self.budget: Reservation | None = None   # the budgets' hold, settled by ``finish``

    def first_byte(self) -> None:
        if self.ttft is None:
            self.ttft = time.perf_counter()

    def finish(self, outcome: str, status: int | None, error: str | None = None) -> None:
        """Write the row (once), unless this is a stream whose relay has not ended yet."""
        self.outcome, self.error = outcome, error
        if self.written:
            return
        self.written = True
        meter = self.meter
        if meter is not None and outcome in _ANSWERED:
            meter.estimate(self.request.body, self.request.dialect)
        now = time.perf_counter()
        runtime, gateway = self.runtime, self.gateway
        if error:
            error = runtime.redactor.blank_text(error)
        if self.request.counting:  # a token count is no model call: nothing used, priced or recorded
            gateway.metrics.call(self.candidate.provider, outcome, now - self.started, None, None, NO_TOKENS, None)
            return
        tokens = meter.tokens() if meter is not None else NO_TOKENS
        if tokens.web_searches and self._preview(runtime):
            tokens = msgspec.structs.replace(tokens, preview_searches=tokens.web_searches)
        if meter is not None and meter.discarded:
            log.warning("%s/%s reported token counts no call can have; %s", self.candidate.provider,
                        self.candidate.model, "estimated instead" if meter.estimated else "recorded none")
        cost, baseline_cost, baseline = self._prices(runtime, tokens)
        estimated = meter is not None and meter.estimated
        record_call(gateway.store, CallRow(
            id=gateway.ids.new(), ts=time.time(), provider=self.candidate.provider,
            model=self.candidate.model, outcome=outcome, decision_id=self.plan.decision_id,
            attempt=self.attempt, status=status, input_tokens=tokens.input, output_tokens=tokens.output,
            cache_read_tokens=tokens.cache_read, cache_write_tokens=tokens.cache_write,
            cache_write_1h_tokens=tokens.cache_write_1h, reasoning_tokens=tokens.reasoning,
            estimated=estimated, latency_ms=round((now - self.started) * 1000, 3),
            ttft_ms=round((self.ttft - self.started) * 1000, 3) if self.ttft else None,
            cost_usd=cost, baseline_cost_usd=baseline_cost,
            baseline_model="/".join(baseline) if baseline else None,
            session_id=session_of(self.request.headers),
            response_id=meter.response_id if meter is not None else None, error=error,
            web_searches=tokens.web_searches))
        gateway.ledger.counted(estimated=estimated, priced=cost is not None)
        gateway.metrics.call(self.candidate.provider, outcome, now - self.started,
                             self.ttft - self.started if self.ttft else None,
                             self.started - self.request.received if self.attempt == 1 else None, tokens, cost)
        if self.budget is not None:
            self.budget.settle({"usd": cost or 0.0, "tokens": float(tokens.input + tokens.output)})
            self.budget = None

    def _preview(self, runtime: Runtime) -> bool:
        """Whether the call's searches ran as ``web_search_preview``: a Responses request offering
        that tool, passed through as it is (a translated one offers ``web_search``)."""
        provider = runtime.providers.get(self.candidate.provider)
        return (self.request.dialect == "responses" and provider is not None and "responses" in provider.dialects
                and offers_preview(self.request.body))

    def _prices(self, runtime: Runtime, tokens: Tokens) -> tuple[float | None, float | None, costs.Model | None]:
        """(cost, baseline cost, baseline model) of ``tokens``; the baseline is priced once more
        only when it is not the model that served the call: a call that is its own baseline saved
        nothing, on a local provider too (its baseline cost is its cost, 0)."""
        catalogue = runtime.catalogue
        served = (self.candidate.provider, self.candidate.model)
        provider = runtime.providers.get(served[0])
        local = provider is not None and provider.local
        cost = costs.price(catalogue, served, tokens, local=local)
        baseline = self._baseline(runtime)
        if baseline == served:
            return cost, cost, baseline
        return cost, costs.price(catalogue, baseline, tokens), baseline

    def _baseline(self, runtime: Runtime) -> costs.Model | None:
        """For ``auto``, the configured baseline model, else the brain's priciest acceptable
        candidate (``RouteDecision.baseline``). For a model the client named, that model, but only
        for a cheaper model the brain put before it (``gateway.downshift``): the named model on
        any provider, another member of its alias or a configured fallback answering after a
        failure is the client's own call, which routing did not make cheaper (nor dearer)."""
        plan = self.plan
        if plan.auto:
            configured = costs.configured_baseline(runtime.catalogue, runtime.config.accounting.baseline_model)
            if configured is not None:
                return configured
        baseline = plan.baseline
        if baseline is None:
            return None
        if not plan.auto and self.candidate not in plan.candidates[:_index(plan.candidates, baseline)]:
            return self.candidate.provider, self.candidate.model
        return baseline.provider, baseline.model


def _index(candidates: tuple[Candidate, ...], baseline: Candidate) -> int:
    """Where ``baseline`` stands in ``candidates`` (0 when it is not among them: none before it)."""
    return candidates.index(baseline) if baseline in candidates else 0
