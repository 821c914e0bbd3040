"""One row in ``calls`` per upstream attempt: outcome, status, tokens, latency, time to first byte,
cost, and the baseline cost (what the model the client asked for would have cost) for savings.

``finish`` writes the row once: dispatch calls it when a whole answer or a failure is in, and for
a stream when the relay ends. Writing only enqueues (``Store.record``), so it is safe in ``finally``
blocks of cancelled tasks.
"""

import time

from routerd.gateway.costs import price_call
from routerd.gateway.plan import Candidate, Plan


class CallRecord:
    __slots__ = ("gateway", "plan", "candidate", "attempt", "request", "started", "ttft", "meter",
                 "outcome", "error", "written")

    def __init__(self, gateway, plan: Plan, candidate: Candidate, attempt: int, request) -> None:
        self.gateway = gateway
        self.plan = plan
        self.candidate = candidate
        self.attempt = attempt
        self.request = request
        self.started = time.perf_counter()
        self.ttft: float | None = None
        self.meter = None
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
        cost, baseline = price_call(self.gateway.app, self.candidate, self.plan.baseline,
                                    tokens_in, tokens_out, cached)
        app = self.gateway.app
        if error:
            for secret in app.runtime.secrets:
                error = error.replace(secret, "***")
        app.store.record("calls", {
            "id": self.gateway.new_id(), "decision_id": self.plan.decision_id, "ts": time.time(),
            "provider": self.candidate.provider, "model": self.candidate.model,
            "attempt": self.attempt, "outcome": outcome, "status": status,
            "input_tokens": tokens_in, "output_tokens": tokens_out, "cached_tokens": cached,
            "latency_ms": round((now - self.started) * 1000, 3),
            "ttft_ms": round((self.ttft - self.started) * 1000, 3) if self.ttft else None,
            "cost_usd": cost, "baseline_cost_usd": baseline, "error": error,
        })
