"""From the ``model`` a client asked for to the ordered candidates dispatch will try.

``model`` may be ``auto`` (the routing brain picks), an alias from ``[gateway.aliases]``,
``provider/model``, or a model id that some provider serves. ``decide`` is the one entry point:
for ``auto`` (and, with ``gateway.downshift``, for a named model) it asks the brain
(``routerd.handlers.routing.decide_route``, which classifies the conversation, ranks the catalogue
and stores the decision); otherwise it resolves the name against the provider registry and stores
a decision row itself. Configured ``[gateway.fallbacks]`` follow the first choice.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from routerd.config import GatewayConfig
from routerd.errors import NoRoute
from routerd.gateway.providers import Provider


@dataclass(frozen=True, slots=True)
class Candidate:
    provider: str
    model: str


@dataclass(frozen=True, slots=True)
class Plan:
    """What dispatch will try, in order; ``baseline`` is what the client asked for (for ``auto``,
    the priciest model the brain would have accepted) so that savings can be computed against it."""

    decision_id: str
    requested: str
    candidates: tuple[Candidate, ...]
    baseline: Candidate | None
    reason: str


def resolve(name: str, providers: Mapping[str, Provider], gateway: GatewayConfig,
            dialect: str) -> list[Candidate]:
    """Every provider that can serve ``name``, best first: an explicit ``provider/model`` alone; else
    providers claiming the model by pattern, those speaking the client's dialect first."""
    name = gateway.aliases.get(name, name)
    head, sep, rest = name.partition("/")
    if sep and head in providers:
        return [Candidate(head, rest)]
    claiming = [p for p in providers.values() if p.serves(name)]
    if not claiming:
        claiming = [p for p in providers.values() if not p.models]
    claiming.sort(key=lambda p: dialect not in p.dialects)
    return [Candidate(p.name, name) for p in claiming]


def fallback_chain(first: list[Candidate], providers: Mapping[str, Provider], gateway: GatewayConfig,
                   dialect: str) -> list[Candidate]:
    """``first`` followed by the candidates of the models configured as its fallbacks."""
    chain = list(first)
    for model in gateway.fallbacks.get(first[0].model, []) if first else []:
        for candidate in resolve(model, providers, gateway, dialect):
            if candidate not in chain:
                chain.append(candidate)
    return chain


def _named_models(providers: Mapping[str, Provider], dialect: str) -> list[Candidate]:
    """Each provider's first named model, providers speaking the client's dialect first: ``auto``'s
    answer when the brain's catalogue knows none of the configured providers."""
    ordered = sorted(providers.values(), key=lambda p: dialect not in p.dialects)
    return [Candidate(p.name, m) for p in ordered if (m := p.default_model())]


async def decide(app, providers: Mapping[str, Provider], gateway: GatewayConfig, dialect: str,
                 model: str, summary: dict, body: bytes | None = None) -> Plan:
    """The routing decision for one proxied request (stored in ``decisions``); raises NoRoute.

    ``summary`` may carry ``session_id``; ``body`` (the client's request in ``dialect``) is read
    only when the brain needs the conversation."""
    auto = model in ("auto", "")
    if auto or gateway.downshift:
        brain = await _ask_brain(app, providers, dialect, summary, body)
        if brain is not None:
            decision_id, chosen, baseline = brain
            if not auto:  # downshift: the brain's pick first, the requested model behind it
                requested = resolve(model, providers, gateway, dialect)
                chosen += [c for c in requested if c not in chosen]
                baseline = requested[0] if requested else baseline
            if chosen:
                chain = fallback_chain(chosen, providers, gateway, dialect)
                return Plan(decision_id, model, tuple(chain), baseline, "brain")
    candidates = _named_models(providers, dialect) if auto else resolve(model, providers, gateway, dialect)
    candidates = fallback_chain(candidates, providers, gateway, dialect)
    if not candidates:
        raise NoRoute(f"no configured provider serves model {model!r} "
                      f"(providers: {', '.join(providers) or 'none'})")
    decision_id = app.new_id()
    app.store.record("decisions", {
        "id": decision_id, "ts": time.time(), "source": "http", "model": candidates[0].model,
        "provider": candidates[0].provider, "session_id": summary.get("session_id"),
        "detail": msgspec.json.encode({
            "reasons": ["auto: no catalogue model on the configured providers; each provider's "
                        "first named model" if auto else "requested by the client"],
            "candidates": [f"{c.provider}/{c.model}" for c in candidates[:5]]}).decode(),
    })
    return Plan(decision_id, model, tuple(candidates), candidates[0], "requested")


async def _ask_brain(app, providers: Mapping[str, Provider], dialect: str, summary: dict,
                     body: bytes | None) -> tuple[str, list[Candidate], Candidate | None] | None:
    """(decision id, candidates on configured providers, baseline) from the routing brain."""
    from routerd.handlers.routing import decide_route, routing_state

    messages, tools = _conversation(dialect, body)
    reply = await decide_route(app, messages=messages, tools=tools, model=None,
                               session_id=summary.get("session_id"), source="http")
    catalogue = (await routing_state(app)).catalogue
    chosen, baseline, top = [], None, -1.0
    for key in reply.candidates:
        provider, _, model_id = key.partition("/")
        if provider not in providers:
            continue
        chosen.append(Candidate(provider, model_id))
        info = catalogue.get(key)
        price = info.cost_per_mtok() if info is not None else None
        if price is not None and price > top:
            baseline, top = chosen[-1], price
    return reply.decision_id, chosen, baseline


def _conversation(dialect: str, body: bytes | None) -> tuple[list, list]:
    """The client's messages and tools in the classifier's form (empty when unreadable)."""
    if not body:
        return [], []
    from routerd.dialects.canonical import to_classifier_messages
    from routerd.dialects.registry import get
    from routerd.errors import BadRequest

    try:
        request = get(dialect).parse_request(body)
    except BadRequest:
        return [], []
    return to_classifier_messages(request), [{"name": t.name} for t in request.tools]
