"""From model names to the ordered candidates on configured providers. Pure: providers, the
gateway config and provider health in, candidates out.

A client's ``model`` may be an alias from ``[gateway.aliases]``, ``provider/model``, or a model id
that some provider serves; configured ``[gateway.fallbacks]`` follow the first choice. The brain's
catalogue names models by their maker (``openai/gpt-...``, ``anthropic/claude-...``); a configured
provider speaks for a maker by its kind, whatever its section is called: one named after the
maker, or one of the maker's kind that claims the model by its ``models`` patterns (with no
patterns: one at the kind's official URL). A model nothing serves is a 404 naming what is served;
``auto`` with nothing to try says, per provider, why it was passed over.
"""

from collections.abc import Callable, Mapping, Sequence
from itertools import takewhile

from routerd.catalogue.models import Catalogue
from routerd.classify.types import TIERS
from routerd.config import GatewayConfig
from routerd.dialects.registry import of_kind
from routerd.dialects.wire import maker_of
from routerd.errors import NoRoute
from routerd.providers import Provider
from routerd.resilience.refusal import Refusal
from routerd.routing.types import Candidate

# The brain's model makers, and the kinds of provider that can speak for each.
MAKER_KINDS: dict[str, tuple[str, ...]] = {"openai": ("openai", "responses"), "anthropic": ("anthropic",),
                                           "gemini": ("gemini",)}

# Why a provider cannot take a call now and for how many seconds, or None (``Resilience.unavailable``).
Health = Callable[[str, float], "tuple[str, float] | None"]
# Why admission would refuse every call to a provider's model (on each of the endpoints given) now,
# or None (``Resilience.refusal``).
Refuse = Callable[[str, "str | None", float, Sequence[str]], "Refusal | None"]
# An alias's concrete candidates, balanced, given how one of its members resolves and the endpoints
# a request may reach a candidate on; None: no alias (``Resilience.expand`` with the time filled in).
Expand = Callable[[str, Callable[[str], list[Candidate]], Callable[[Candidate], Sequence[str]]],
                  "list[Candidate] | None"]


def resolve(name: str, providers: Mapping[str, Provider], gateway: GatewayConfig,
            dialect: str, expand: Expand | None = None) -> list[Candidate]:
    """Every provider that can serve ``name``, best first: an alias's targets in its balancer's
    order; an explicit ``provider/model`` alone; else providers claiming the model by pattern, those
    speaking the client's dialect first."""
    if expand is not None:
        expanded = expand(name, lambda member: resolve(member, providers, gateway, dialect),
                          lambda c: providers[c.provider].endpoints(dialect) if c.provider in providers else ())
        if expanded is not None:
            return expanded
    alias = gateway.aliases.get(name)
    if isinstance(alias, str):  # a group (``AliasConfig``) is resilience's to balance
        name = alias
    head, sep, rest = name.partition("/")
    if sep and head in providers:
        return [Candidate(head, rest)]
    claiming = [p for p in providers.values() if p.serves(name)]
    if not claiming:
        claiming = [p for p in providers.values() if not p.models]
    claiming.sort(key=lambda p: dialect not in p.dialects)
    return [Candidate(p.name, name) for p in claiming]


def fallback_chain(first: list[Candidate], providers: Mapping[str, Provider], gateway: GatewayConfig,
                   dialect: str, expand: Expand | None = None, requested: str = "") -> list[Candidate]:
    """``first`` followed by the candidates of the models configured as its fallbacks (those of
    the name the client asked for, else of the first candidate's model); a fallback may be an
    alias."""
    chain = list(first)
    fallbacks = gateway.fallbacks.get(requested) or (gateway.fallbacks.get(first[0].model, []) if first else [])
    for model in fallbacks:
        for candidate in resolve(model, providers, gateway, dialect, expand):
            if candidate not in chain:
                chain.append(candidate)
    return chain


def named_models(providers: Mapping[str, Provider], dialect: str) -> list[Candidate]:
    """Each provider's first named model, providers speaking the client's dialect first: ``auto``'s
    answer when the brain's catalogue knows none of the configured providers."""
    ordered = sorted(providers.values(), key=lambda p: dialect not in p.dialects)
    return [Candidate(p.name, m) for p in ordered if (m := p.default_model())]


def on_providers(keys: tuple[str, ...], providers: Mapping[str, Provider], catalogue: Catalogue,
                 dialect: str = "") -> tuple[list[Candidate], Candidate | None]:
    """The brain's ranked catalogue models (``maker/id``) as candidates on configured providers, and
    the baseline: the priciest of them that some provider serves, of the maker whose API the
    client's ``dialect`` is when one of its models is among them (a client of Anthropic's API
    would have asked for an Anthropic model, not another company's priciest), else of any maker."""
    chosen: list[Candidate] = []
    own = maker_of(dialect)
    best: dict[bool, tuple[float, Candidate]] = {}  # the client's maker or not -> the priciest served
    for key in keys:
        maker, _, model_id = key.partition("/")
        speakers = [Candidate(p.name, model_id) for p in _ordered(providers, maker)
                    if speaks_for(p, maker, model_id)]
        chosen += [c for c in speakers if c not in chosen]
        info = catalogue.get(key)
        price = info.cost_per_mtok() if info is not None else None
        if speakers and price is not None and price > best.get(maker == own, (-1.0,))[0]:
            best[maker == own] = (price, speakers[0])
    found = best.get(True) or best.get(False)
    return chosen, found[1] if found else None


def downshifted(catalogue: Catalogue, chosen: list[Candidate], named: list[Candidate]) -> list[Candidate]:
    """Where a request naming ``named[0]`` goes under ``gateway.downshift``: the brain's picks
    (``chosen``, best first) as long as each is a downshift from it, then the named model. The
    brain's first pick that is none (the named model, or a dearer or higher one) ends the list: the
    picks after it are its fallbacks, not its choice, so a hard request whose tier has no model
    left keeps the named one instead of going to the next weaker model."""
    out = list(takewhile(lambda c: bool(named) and below(catalogue, c, named[0]), chosen))
    return out + [c for c in named if c not in out]


def below(catalogue: Catalogue, candidate: Candidate, named: Candidate) -> bool:
    """Whether ``candidate`` is a downshift from the ``named`` model: no higher a tier, and cheaper
    (blended input and output price). Where either is unknown to the catalogue, it is not: a
    downshift must never move a request up (o3 in place of a requested gpt-6.1-sol is cheaper per
    blended token, but a tier up and dearer on cached agent traffic)."""
    ours, theirs = catalogue.get(candidate.model), catalogue.get(named.model)
    if ours is None or theirs is None:
        return False
    price, limit = ours.cost_per_mtok(), theirs.cost_per_mtok()
    return (price is not None and limit is not None and price < limit
            and TIERS.index(ours.tier) <= TIERS.index(theirs.tier))


def speaks_for(provider: Provider, maker: str, model_id: str | None = None) -> bool:
    """Whether ``provider`` can serve the catalogue's ``maker/model_id`` (any of the maker's models
    when ``model_id`` is None): by name, or by kind and its ``models`` patterns (none: its official
    URL)."""
    if provider.name == maker:
        return True
    if provider.kind not in MAKER_KINDS.get(maker, ()):
        return False
    if not provider.models:
        return provider.base_url == of_kind(provider.kind).official_url
    return model_id is None or provider.serves(model_id)


def _ordered(providers: Mapping[str, Provider], maker: str) -> list[Provider]:
    """The provider named after ``maker`` first, then the others in config order."""
    return sorted(providers.values(), key=lambda p: p.name != maker)


def brain_providers(providers: Mapping[str, Provider], health: Health, makers: frozenset[str],
                    now: float) -> tuple[frozenset[str], frozenset[str]]:
    """For the brain: the makers (and provider names) that configured providers speak for, and
    those whose every such provider is unavailable now (circuit open or rate limited)."""
    if not providers:
        return frozenset(), frozenset()
    enabled = set(providers)
    broken = {name for name in providers if health(name, now) is not None}
    for maker in makers:
        speakers = [p.name for p in providers.values() if speaks_for(p, maker)]
        if speakers:
            enabled.add(maker)
            if all(name in broken for name in speakers):
                broken.add(maker)
    return frozenset(enabled), frozenset(broken)


def why_out(providers: Mapping[str, Provider], catalogue: Catalogue, refuse: Refuse, broken: frozenset[str],
            suspects: set[str], dialect: str | None, now: float) -> dict[str, str]:
    """Why the brain must pass over what admission would refuse now, in admission's words: each
    provider in ``broken`` (``brain_providers``), and each catalogue model (``maker/id``) of a
    maker not in it that every provider speaking for it refuses (the model's breaker, its
    cool-down, on each endpoint a request in ``dialect`` may reach it on, its keys, a spent
    bucket). Makers in ``broken`` have every speaker out: their providers' reasons say why.
    Only the providers in ``suspects`` (``Resilience.models_out``) can refuse one model alone;
    with none, no model is looked at."""
    why = {name: r.describe() for name in broken if name in providers
           and (r := refuse(name, None, now, ())) is not None}
    for maker in broken - providers.keys():
        said = [why[p.name] for p in providers.values() if p.name in why and speaks_for(p, maker)]
        if said:
            why[maker] = "; ".join(said)
    if not suspects:
        return why
    # the makers some provider that may refuse one model alone speaks for
    makers = {m for m in catalogue.providers() - broken
              if any(("*" in suspects or p.name in suspects) and speaks_for(p, m) for p in providers.values())}
    for key, info in zip(catalogue.keys, catalogue.models):
        maker = key.partition("/")[0]
        if maker not in makers:
            continue
        speakers = [p for p in providers.values() if speaks_for(p, maker, info.id)]
        if not speakers or ("*" not in suspects and any(p.name not in suspects and p.name not in broken
                                                          for p in speakers)):
            continue  # a speaker that takes calls and refuses no model alone takes this one
        refused = []
        for p in speakers:
            if (refusal := refuse(p.name, info.id, now, p.endpoints(dialect))) is None:
                break
            refused.append(refusal.describe())
        else:
            why[key] = "; ".join(dict.fromkeys(refused))
    return why


def served_models(providers: Mapping[str, Provider], gateway: GatewayConfig, limit: int = 24) -> list[str]:
    """What a client may ask for here: ``auto``, the aliases, each provider's models and patterns."""
    served = ["auto", *gateway.aliases]
    for provider in providers.values():
        served += [f"{m} ({provider.name})" for m in provider.models]
        if not provider.models:
            served.append(f"{provider.name}/<model>")
    return served[:limit] + (["..."] if len(served) > limit else [])


def nothing_to_try(providers: Mapping[str, Provider], health: Health, now: float) -> NoRoute:
    """``auto`` found nothing to try: which providers exist and why each was passed over."""
    why, wait = [], None
    for name in providers:
        state = health(name, now)
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
