"""One request's way along its candidates: what was tried, how it failed, what is still worth a try.

Dispatch asks a ``Walk`` which candidates come next (the decision's, then a local model as the
last resort), tells it every refusal and every failed attempt with the taxonomy's verdict, and
reads back what to do: a verdict that forbids falling back (the client's own bad request, a
content policy, the client's own credentials refused) ends the walk; a context too long for a
model passes over every candidate whose window is not larger; a failure no model of a provider
can escape (unreachable, no such endpoint) passes over that provider. When nothing answered,
``final`` is the error to give the client: the last upstream failure, or, when nothing was even
tried, a 429 (some limit, with the soonest Retry-After) or a 503 (every target down). Pure apart
from reading the runtime's catalogue.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

from routerd.dialects.registry import get as dialect_of
from routerd.errors import UpstreamError, UpstreamRateLimited, UpstreamUnavailable
from routerd.classify.types import TIERS
from routerd.resilience.refusal import Refusal
from routerd.resilience.taxonomy import Verdict
from routerd.routing.candidates import on_providers
from routerd.routing.hosted import runs_on
from routerd.routing.types import Candidate, Conversation, RouteDecision
from routerd.runtime import Runtime


@dataclass(slots=True)
class Failure:
    error: UpstreamError
    dialect: str | None = None      # the dialect of ``error.body`` when it came from upstream


@dataclass(slots=True)
class Walk:
    """The state of one request along its decision's candidates."""

    runtime: Runtime
    plan: RouteDecision
    dialect: str                    # the client's
    body: bytes
    attempt: int = 0
    failure: Failure | None = None
    refusals: list[Refusal] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)   # why candidates were passed over
    dead: set[str] = field(default_factory=set)         # providers that cannot serve it at all
    too_long: set[str] = field(default_factory=set)     # models it is too long for
    min_window: int = 0                                 # a candidate's window must be above this
    stopped: bool = False                               # no other candidate may help
    budget: tuple[Candidate, Refusal] | None = None     # the first candidate a budget refused
    budget_refusals: list[Refusal] = field(default_factory=list)  # every budget refusal
    paid: bool = False                                  # the last admitted attempt holds a budget
    stepped_down: bool = False                          # cheaper tiers were offered (``_cheaper``)

    def refused_by_budget(self, candidate: Candidate, refusal: Refusal) -> None:
        self.budget = self.budget or (candidate, refusal)
        self.budget_refusals.append(refusal)
        self.skipped.append(f"{candidate.provider}: {refusal.describe()}")

    def candidates(self, last_resort: bool) -> Iterator[Candidate]:
        """The decision's candidates; for ``auto``, once a budget refused some, the models of the
        tiers below theirs; then (``last_resort``) each local provider's model that the request
        fits, unless the walk was stopped."""
        yield from self.plan.candidates
        if self.plan.auto and self.budget is not None and not self.stopped:
            self.stepped_down = True
            yield from self._cheaper()
        if last_resort and not self.stopped:
            yield from self._local_models()

    def passes_over(self, candidate: Candidate) -> str | None:
        """Why ``candidate`` is not worth trying for this request, or None."""
        if self.stopped:
            return "stopped"
        if candidate.provider in self.dead:
            return f"{candidate.provider}: cannot serve this request"
        if self.plan.hosted_tools and not runs_on(self.runtime.providers.get(candidate.provider),
                                                  frozenset(self.plan.hosted_dialects)):
            # a budget's step down or a local last resort would drop them by translating
            return f"{candidate.provider}/{candidate.model}: cannot run the hosted tool {', '.join(self.plan.hosted_tools)}"
        if candidate.model in self.too_long:
            return f"{candidate.provider}/{candidate.model}: the request is too long for it"
        if self.min_window:
            info = self.runtime.catalogue.get(candidate.model)
            if info is not None and info.context_window <= self.min_window:
                return (f"{candidate.provider}/{candidate.model}: its context window "
                        f"({info.context_window}) is not larger than one that was too small")
        return None

    def refused(self, refusal: Refusal) -> None:
        self.refusals.append(refusal)
        self.skipped.append(refusal.describe())

    def failed(self, candidate: Candidate, failure: Failure, verdict: Verdict) -> None:
        """An attempt at ``candidate`` failed with ``verdict``: note what it rules out."""
        self.failure = failure
        if not verdict.action.fall_back:
            self.stopped = True
        elif verdict.action.larger_window:
            self.too_long.add(candidate.model)
            info = self.runtime.catalogue.get(candidate.model)
            if info is not None:
                self.min_window = max(self.min_window, info.context_window)
        elif _provider_wide(failure.error):
            self.dead.add(candidate.provider)

    def final(self) -> Failure:
        """The error for the client when no candidate answered."""
        if self.failure is not None or not self.refusals:
            return self.failure or Failure(UpstreamUnavailable("no candidate to try"))
        limited = [r for r in self.refusals if r.rate_limited]
        chosen = min(limited or self.refusals, key=lambda r: r.retry_in_s)
        error = UpstreamRateLimited if limited else UpstreamUnavailable
        retry = None if chosen.never else max(chosen.retry_in_s, 1.0)
        return Failure(error(chosen.describe(), retry_after_s=retry))

    def _cheaper(self) -> Iterator[Candidate]:
        """Budget pressure's step down: the catalogue's models below the lowest tier of the
        decision's candidates and not below ``routing.quality_floor``, the nearest tier first and
        the cheapest first within it, on the providers that serve them, that the request fits. A
        candidate whose worst case does not fit a limit is passed over for these, so one model's
        large output limit does not refuse a request that a cheaper model can take."""
        catalogue = self.runtime.catalogue
        ranks = [TIERS.index(info.tier) for c in self.plan.candidates
                 if (info := catalogue.get(f"{c.provider}/{c.model}") or catalogue.get(c.model)) is not None]
        if not ranks:
            return
        floor = _floor_rank(self.runtime)
        needs = Conversation.from_body(dialect_of(self.dialect), self.body).needs()
        below = [i for i, info in enumerate(catalogue.models)
                 if floor <= catalogue.tier_ranks[i] < min(ranks)
                 and (info.tools or not needs.tools) and (info.vision or not needs.vision)
                 and needs.estimated_tokens < info.context_window]
        below.sort(key=lambda i: (-catalogue.tier_ranks[i], catalogue.cost_ranks[i]))
        found, _ = on_providers(tuple(catalogue.keys[i] for i in below), self.runtime.providers, catalogue)
        yield from (c for c in found if c not in self.plan.candidates)

    def _local_models(self) -> Iterator[Candidate]:
        tried = {c.provider for c in self.plan.candidates}
        local = [(p.name, m) for p in self.runtime.providers.values()
                 if p.local and p.name not in tried and (m := p.default_model())]
        if not local:
            return
        needs = Conversation.from_body(dialect_of(self.dialect), self.body).needs()
        for name, model in local:
            info = self.runtime.catalogue.get(model)
            if info is not None and ((needs.tools and not info.tools) or (needs.vision and not info.vision)
                                     or needs.estimated_tokens >= info.context_window):
                self.skipped.append(f"{name}/{model}: the last resort cannot take this request")
                continue
            yield Candidate(name, model)


def _floor_rank(runtime: Runtime) -> int:
    """The lowest tier a step down may reach: ``routing.quality_floor`` (a tier, or a catalogue
    model's tier), else the lowest."""
    floor = runtime.config.routing.quality_floor
    if floor in TIERS:
        return TIERS.index(floor)
    info = runtime.catalogue.get(floor) if floor else None
    return TIERS.index(info.tier) if info is not None else 0


def _provider_wide(error: UpstreamError) -> bool:
    """Whether the failure says this provider cannot serve the request whatever the model: no route
    to it, or a 404 that does not speak of a model (an endpoint the provider does not have)."""
    if error.status == 404:
        return b"model" not in error.body.lower()
    return error.status is None and isinstance(error, UpstreamUnavailable)
