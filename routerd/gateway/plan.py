"""From the ``model`` a client asked for to the ordered candidates dispatch will try.

``model`` may be ``auto`` (the routing brain picks), an alias from ``[gateway.aliases]``,
``provider/model``, or a model id that some provider serves. The routing decision itself comes from
one function, ``decide``; everything else here is pure resolution against the provider registry.
"""

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from routerd.config import GatewayConfig
from routerd.errors import NoRoute
from routerd.gateway.providers import Provider


@dataclass(frozen=True, slots=True)
class Candidate:
    provider: str
    model: str


@dataclass(frozen=True, slots=True)
class Plan:
    """What dispatch will try, in order; ``baseline_model`` is what the client asked for (or, for
    ``auto``, the premium choice) so that savings can be computed against it."""

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


def auto_candidates(providers: Mapping[str, Provider], dialect: str) -> list[Candidate]:
    """Stand-in for the brain's choice for ``auto``: each provider's first named model, providers
    speaking the client's dialect first."""
    ordered = sorted(providers.values(), key=lambda p: dialect not in p.dialects)
    return [Candidate(p.name, m) for p in ordered if (m := p.default_model())]


def decide(app, providers: Mapping[str, Provider], gateway: GatewayConfig, dialect: str,
           model: str, summary: dict) -> Plan:
    """The routing decision for one proxied request (recorded in ``decisions``); raises NoRoute."""
    if model == "auto" or not model:
        candidates, reason = auto_candidates(providers, dialect), "auto"
    else:
        candidates, reason = resolve(model, providers, gateway, dialect), "requested"
    candidates = fallback_chain(candidates, providers, gateway, dialect)
    if not candidates:
        raise NoRoute(f"no configured provider serves model {model!r} "
                      f"(providers: {', '.join(providers) or 'none'})")
    decision_id = uuid.uuid4().hex
    app.store.record("decisions", {
        "id": decision_id, "ts": time.time(), "source": "http", "model": candidates[0].model,
        "provider": candidates[0].provider, "session_id": summary.get("session_id"),
        "detail": reason,
    })
    return Plan(decision_id, model, tuple(candidates), candidates[0], reason)
