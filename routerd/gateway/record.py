"""One row in ``calls`` per upstream attempt: outcome, status, tokens, latency, time to first byte,
cost, and the baseline cost (what the model the client asked for would have cost) for savings.

``finish`` writes the row once: dispatch calls it when a whole answer or a failure is in, and for
a stream when the relay ends. Writing only enqueues (``Store.record``), so it is safe in ``finally``
blocks of cancelled tasks.
"""

import time

from routerd.gateway.costs import price_call
from routerd.gateway.usage import UsageMeter
from routerd.routing.types import Candidate, RouteDecision
from routerd.runtime import Runtime


class CallRecord:
    __slots__ = ("gateway", "runtime", "plan", "candidate", "attempt", "request", "started", "ttft", "meter",
                 "outcome", "error", "written")

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
        if meter is not None and outcome in ("ok", "client_disconnected", "stream_cut"):
            meter.estimate(self.request.body, self.request.dialect)
        tokens_in = meter.input_tokens if meter else 0
        tokens_out = meter.output_tokens if meter else 0
        cached = meter.cached_tokens if meter else 0
        now = time.perf_counter()
        cost, baseline = price_call(self.runtime, self.candidate, self.plan.baseline,
                                    tokens_in, tokens_out, cached)
        if error:
            for secret in self.runtime.secrets:
                error = error.replace(secret, "***")
        self.gateway.store.record("calls", {
            "id": self.gateway.ids.new(), "decision_id": self.plan.decision_id, "ts": time.time(),
            "provider": self.candidate.provider, "model": self.candidate.model,
            "attempt": self.attempt, "outcome": outcome, "status": status,
            "input_tokens": tokens_in, "output_tokens": tokens_out, "cached_tokens": cached,
            "latency_ms": round((now - self.started) * 1000, 3),
            "ttft_ms": round((self.ttft - self.started) * 1000, 3) if self.ttft else None,
            "cost_usd": cost, "baseline_cost_usd": baseline, "error": error,
        })
