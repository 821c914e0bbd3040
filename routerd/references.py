"""Names in the config that must refer to something, checked once the catalogue and the providers
are built: at start, on reload and by ``config check`` alike.

A name whose typo would pass silently and change what routerd does is an error: a budget cap on a
provider that does not exist (the real one runs uncapped), an alias or fallback that no provider
serves, a rule model or baseline model the catalogue does not know, two rules or two models under
one name (one silently hides the other). A name that depends on the environment, which may change
before routerd needs it, is a warning: an ``api_key_env`` that is not set, and, when the config
names no providers (they are enabled from the environment), a name no provider enabled here
serves. Pure: the config, the catalogue, the enabled providers and the environment in; errors and
warnings out, each as the key path it is about and what is wrong.
"""

from collections.abc import Mapping

from routerd.catalogue.models import Catalogue
from routerd.config import Config
from routerd.providers import ENV_PROVIDERS, Provider

# A problem: the key path it is about (as ``ConfigText.where`` finds its line) and its message,
# which starts with that path as people write it (``routing.rules[1].model``).
Problem = tuple[tuple[str, ...], str]


def check_references(config: Config, catalogue: Catalogue, providers: Mapping[str, Provider],
                     env: Mapping[str, str]) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) about the names ``config`` gives, in the order they appear."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    _check_budgets(config, providers, errors, warnings)
    served = errors if config.providers else warnings  # from the environment: it may differ later
    for name, target in config.gateway.aliases.items():
        for member in [target] if isinstance(target, str) else target.targets:
            if not _served(member, config, providers):
                served.append((("gateway", "aliases", name),
                               f"gateway.aliases.{name}: {member!r} {_nothing_serves(providers)}"))
    for model, fallbacks in config.gateway.fallbacks.items():
        for fallback in fallbacks:
            if not _served(fallback, config, providers):
                served.append((("gateway", "fallbacks", model),
                               f"gateway.fallbacks.{model}: {fallback!r} {_nothing_serves(providers)}"))
    _check_routing(config, catalogue, errors)
    _check_keys(config, env, warnings)
    return errors, warnings


def _check_budgets(config: Config, providers: Mapping[str, Provider], errors: list[Problem],
                   warnings: list[Problem]) -> None:
    """A cap must name a provider: one of the config's, or (naming none) one routerd enables from
    the environment, which only warns while its key is not set."""
    from_env = {name: var for name, var, *_ in ENV_PROVIDERS}
    for name in config.budgets.providers:
        key = ("budgets", "providers", name)
        if name in providers:
            continue
        if not config.providers and name in from_env:
            warnings.append((key, f"budgets.providers.{name}: {name} is not enabled in this environment "
                                  f"({from_env[name] or 'OLLAMA_BASE_URL'} is not set); the cap applies "
                                  "once it is"))
            continue
        known = ", ".join(config.providers or from_env)
        errors.append((key, f"budgets.providers.{name}: no provider {name!r} (providers: {known}); a cap "
                            "on a name that matches none caps nothing"))


def _served(name: str, config: Config, providers: Mapping[str, Provider]) -> bool:
    """Whether a request for ``name`` finds a provider (``routing.candidates.resolve``'s rules)."""
    if name in config.gateway.aliases:
        return True
    head, sep, _ = name.partition("/")
    if sep and head in providers:
        return True
    return any(p.serves(name) or not p.models for p in providers.values())


def _nothing_serves(providers: Mapping[str, Provider]) -> str:
    if not providers:
        return "is served by no provider: none is enabled in this environment"
    return (f"is served by no provider (not an alias, not provider/model with a provider of "
            f"{', '.join(providers)}, and no provider's models match it)")


def _check_routing(config: Config, catalogue: Catalogue, errors: list[Problem]) -> None:
    """Rules and models are told apart by name; a rule's model and the baseline are catalogue models."""
    seen: dict[str, int] = {}
    for n, rule in enumerate(config.routing.rules):
        if rule.name in seen:
            errors.append((("routing", "rules", str(n), "name"),
                           f"routing.rules[{n}].name: {rule.name!r} is also the name of "
                           f"routing.rules[{seen[rule.name]}]; decisions name the rule that matched"))
        seen.setdefault(rule.name, n)
        if rule.model is not None and catalogue.get(rule.model) is None:
            errors.append((("routing", "rules", str(n), "model"),
                           f"routing.rules[{n}].model: {rule.model!r} is not a model in the catalogue "
                           "(add it under [[routing.models]])"))
    models: dict[tuple[str, str], int] = {}
    for n, model in enumerate(config.routing.models):
        first = models.setdefault((model.provider, model.id), n)
        if first != n:
            errors.append((("routing", "models", str(n), "id"),
                           f"routing.models[{n}]: {model.provider}/{model.id} is also routing.models[{first}]; "
                           "one would silently replace the other"))
    baseline = config.accounting.baseline_model
    if baseline and catalogue.get(baseline) is None:
        head, sep, rest = baseline.partition("/")
        if not sep or catalogue.rates(head, rest) is None:
            errors.append((("accounting", "baseline_model"),
                           f"accounting.baseline_model: {baseline!r} is not a model the catalogue knows "
                           "or can price; savings against it would be unknown"))


def _check_keys(config: Config, env: Mapping[str, str], warnings: list[Problem]) -> None:
    """A key variable may be set before the provider is needed (a service's environment file)."""
    for name, provider in config.providers.items():
        var = provider.api_key_env
        if var and not provider.api_key and not env.get(var):
            warnings.append((("providers", name, "api_key_env"),
                             f"providers.{name}.api_key_env: {var} is not set; until it is (in routerd's "
                             f"environment, then restart routerd), {name} gets the client's own "
                             "credentials, if any"))
