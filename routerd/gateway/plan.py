"""From the ``model`` a client asked for to the ordered candidates dispatch will try.

``model`` may be ``auto`` (the routing brain picks), an alias from ``[gateway.aliases]``,
``provider/model``, or a model id that some provider serves. ``decide`` is the one entry point:
for ``auto`` (and, with ``gateway.downshift``, for a named model) it asks the brain
(``routerd.handlers.routing.decide_route``, which classifies the conversation, ranks the catalogue
and stores the decision); otherwise it resolves the name against the provider registry and stores
a decision row itself. Configured ``[gateway.fallbacks]`` follow the first choice.

The brain's catalogue names models by their maker (``openai/gpt-...``, ``anthropic/claude-...``).
A configured provider speaks for a maker by its kind, whatever its section is called: one named
after the maker, or one of the maker's kind that claims the model by its ``models`` patterns (with
no patterns: one at the kind's official URL). A model nothing serves is a 404 naming what is served;
``auto`` with nothing to try says, per provider, why it was passed over.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from routerd.config import GatewayConfig
from routerd.errors import NoRoute, UnknownModel
from routerd.gateway.providers import Provider, official_url
from routerd.scenarios.names import AutoNames, parse_model_name

# The brain's model makers, and the kinds of provider that can speak for each.
MAKER_KINDS: dict[str, tuple[str, ...]] = {"openai": ("openai", "responses"), "anthropic": ("anthropic",),
                                           "gemini": ("gemini",)}


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
    only when the brain needs the conversation. A client-only decoration (Claude Code's ``[1m]``)
    never reaches a provider, and routerd's auto names (``claude-routerd-auto``, ...) mean ``auto``."""
    requested_as, model = model, parse_model_name(model).name
    scenarios = app.runtime.config.routing.scenarios
    auto = AutoNames(scenarios.anthropic_names, scenarios.openai_names).is_auto(model)
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
                return Plan(decision_id, requested_as, tuple(chain), baseline, "brain")
    candidates = _named_models(providers, dialect) if auto else resolve(model, providers, gateway, dialect)
    candidates = fallback_chain(candidates, providers, gateway, dialect)
    if not candidates and not auto:
        raise UnknownModel(f"model {model!r} is not served here; ask for one of: "
                           f"{', '.join(served_models(providers, gateway))}")
    if not candidates:
        raise _nothing_to_try(app, providers)
    decision_id = app.new_id()
    app.store.record("decisions", {
        "id": decision_id, "ts": time.time(), "source": "http", "model": candidates[0].model,
        "provider": candidates[0].provider, "session_id": summary.get("session_id"),
        "detail": msgspec.json.encode({
            "reasons": ["auto: no catalogue model on the configured providers; each provider's "
                        "first named model" if auto else "requested by the client"],
            "candidates": [f"{c.provider}/{c.model}" for c in candidates[:5]]}).decode(),
    })
    return Plan(decision_id, requested_as, tuple(candidates), candidates[0], "requested")


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
        maker, _, model_id = key.partition("/")
        speakers = [Candidate(p.name, model_id) for p in _ordered(providers, maker)
                    if speaks_for(p, maker, model_id)]
        chosen += [c for c in speakers if c not in chosen]
        info = catalogue.get(key)
        price = info.cost_per_mtok() if info is not None else None
        if speakers and price is not None and price > top:
            baseline, top = speakers[0], price
    return reply.decision_id, chosen, baseline


def speaks_for(provider: Provider, maker: str, model_id: str | None = None) -> bool:
    """Whether ``provider`` can serve the catalogue's ``maker/model_id`` (any of the maker's models
    when ``model_id`` is None): by name, or by kind and its ``models`` patterns (none: its official
    URL)."""
    if provider.name == maker:
        return True
    if provider.kind not in MAKER_KINDS.get(maker, ()):
        return False
    if not provider.models:
        return provider.base_url == official_url(provider.kind)
    return model_id is None or provider.serves(model_id)


def _ordered(providers: Mapping[str, Provider], maker: str) -> list[Provider]:
    """The provider named after ``maker`` first, then the others in config order."""
    return sorted(providers.values(), key=lambda p: p.name != maker)


def brain_providers(providers: Mapping[str, Provider], breakers: Mapping, makers: frozenset[str],
                    now: float) -> tuple[frozenset[str], frozenset[str]]:
    """For the brain: the makers (and provider names) that configured providers speak for, and
    those whose every such provider is unavailable now (circuit open or rate limited)."""
    enabled, broken = set(providers), set()
    for name, breaker in breakers.items():
        if name in providers and breaker.unavailable_for(now) is not None:
            broken.add(name)
    for maker in makers:
        speakers = [p.name for p in providers.values() if speaks_for(p, maker)]
        if speakers:
            enabled.add(maker)
            if all(name in broken for name in speakers):
                broken.add(maker)
    return frozenset(enabled), frozenset(broken)


def served_models(providers: Mapping[str, Provider], gateway: GatewayConfig, limit: int = 24) -> list[str]:
    """What a client may ask for here: ``auto``, the aliases, each provider's models and patterns."""
    served = ["auto", *gateway.aliases]
    for provider in providers.values():
        served += [f"{m} ({provider.name})" for m in provider.models]
        if not provider.models:
            served.append(f"{provider.name}/<model>")
    return served[:limit] + (["..."] if len(served) > limit else [])


def _nothing_to_try(app, providers: Mapping[str, Provider]) -> NoRoute:
    """``auto`` found nothing to try: which providers exist and why each was passed over."""
    gateway = app.parts.get("gateway")
    breakers = gateway.breakers if gateway is not None else {}
    now, why, wait = time.monotonic(), [], None
    for name, provider in providers.items():
        breaker = breakers.get(name)
        state = breaker.unavailable_for(now) if breaker is not None else None
        if state is not None:
            why.append(f"{name}: {state[0]} (retry in {state[1]:.0f} s)")
            wait = state[1] if wait is None else min(wait, state[1])
        else:
            why.append(f"{name}: no model the routing brain knows and no named model; "
                       "name one in its `models` or ask for it as provider/model")
    if not providers:
        why.append("no provider is configured: add a [providers.NAME] section or set a provider "
                   "key such as OPENAI_API_KEY or ANTHROPIC_API_KEY")
    error = NoRoute("no provider can take model 'auto': " + "; ".join(why))
    error.retry_after_s = wait
    return error


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
