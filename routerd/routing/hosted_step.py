"""The routing core's hosted-tools step: a decision narrowed to the candidates that can run the
hosted (server-side) tools its request offers (``routerd.routing.hosted`` says which can).

Tools the request cannot do without leave only the candidates that run them (for automatic routing,
the cheapest catalogue model that can when none of the decision's own can); tools offered as a
capability put the brain's picks that run them first. Either way the decision's reasons say which
candidates were passed over or would go without them.
"""

import msgspec

from routerd.routing import hosted
from routerd.routing.scenario import Found, Scenarios, by_price
from routerd.routing.types import Candidate, RouteDecision, RouteRequest
from routerd.runtime import Runtime
from routerd.store import routing as rows
from routerd.store.store import Store


def with_hosted(runtime: Runtime, request: RouteRequest, decision: RouteDecision, found: Found | None,
                scenarios: Scenarios, store: Store) -> RouteDecision:
    """``decision`` with only candidates that can run the hosted tools the request needs, and the
    brain's picks that run the tools it offers first. Raises HostedToolUnsupported."""
    conversation, dialect = request.conversation, request.dialect or ""
    if not request.hosted_tools and hosted.SEARCH_OPTIONS.encode() not in conversation.body:
        return decision
    tools = hosted.read(conversation.request(), request.hosted_tools, conversation.body, dialect)
    if not tools.offered:
        return decision
    providers, chain = runtime.providers, list(decision.candidates)
    able = hosted.capable(chain, providers, tools.needed_by if tools.needed else tools.offered_by)
    unable = [c for c in chain if c not in able]
    notes = []
    if tools.needed:
        notes += [hosted.passed_over(unable, providers, tools.needed)] if unable else []
        if not able and decision.auto:
            able = _escalate(runtime, found, tools.needed_by, notes, scenarios)
        if not able:
            raise hosted.unsupported(tools.needed, dialect, chain, providers, tools.needed_by, tools.why_not)
        chain = able
    elif decision.reason == "brain" and unable:  # a capability: the picks that keep it go first
        chain = hosted.capable_first(chain, providers, tools.offered_by)
        notes.append(hosted.without(unable, providers, tools.offered))
    elif unable:
        notes.append(hosted.without(unable, providers, tools.offered))
    if not notes and not tools.needed:
        return decision
    if chain[0] != decision.candidates[0]:
        rows.set_decision_target(store, decision.decision_id, chain[0].model, chain[0].provider)
    return msgspec.structs.replace(decision, candidates=tuple(chain), hosted_tools=tools.needed,
                                   hosted_dialects=tuple(sorted(tools.needed_by)),
                                   scenario_reasons=(*decision.scenario_reasons, *notes))


def _escalate(runtime: Runtime, found: Found | None, dialects: frozenset[str], notes: list[str],
              scenarios: Scenarios) -> list[Candidate]:
    """The catalogue's models, cheapest first, on providers that speak one of the ``dialects``
    that run the request's hosted tools (and, when the request was counted, whose window holds it)."""
    pool = hosted.capable(by_price(runtime), runtime.providers, dialects)
    if pool and found is not None:
        pool, _ = scenarios.fit(runtime, found, pool, False, list)
    if pool:
        notes.append(f"escalated to {pool[0].provider}/{pool[0].model}: it runs the hosted tools")
    return pool
