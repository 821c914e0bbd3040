"""The runtime: everything derived from one config, built whole or not at all, then swapped in.

A ``Runtime`` holds the config, the secrets it reaches (for scrubbing), the model catalogue, the
compiled routing rules and the provider registry. ``build_runtime`` makes all of them from one
config and one environment, or raises ``ConfigError`` saying what is wrong; nothing is built
lazily later. Each request reads ``app.runtime`` once when it starts and passes that snapshot
down, so a reload never changes the ground under work in flight.
"""

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from routerd.catalogue.builtin import load_catalogue
from routerd.catalogue.models import Catalogue
from routerd.classify.types import TIERS
from routerd.config import Config, ProviderConfig, read_config
from routerd.config_where import ConfigText
from routerd.errors import ConfigError
from routerd.listeners import check_exposure, parse_listen
from routerd.providers import Provider, build_providers
from routerd.redact import Redactor, url_credentials
from routerd.references import Problem, check_references
from routerd.resilience.settings import check_against
from routerd.rules import RuleSet
from routerd.scenarios.routes import check_routes

_PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY")


@dataclass(frozen=True, slots=True)
class Runtime:
    config: Config
    config_path: Path | None
    catalogue: Catalogue
    rules: RuleSet
    providers: Mapping[str, Provider]
    makers: frozenset[str] = frozenset()  # the catalogue's model makers (its providers)
    secrets: frozenset[str] = frozenset()
    loaded_at: float = field(default_factory=time.time)
    # Read from a file with something in it: that file going missing or empty fails a reload.
    from_file: bool = False
    warnings: tuple[str, ...] = ()  # what the config names that may not work yet (file:line: ...)
    # Blanks ``secrets`` from what the gateway hands clients (answers, error bodies, stream events).
    redactor: Redactor = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "redactor", Redactor(self.secrets))


def collect_secrets(config: Config, providers: Iterable[ProviderConfig],
                    env: Mapping[str, str]) -> frozenset[str]:
    """Every secret value the enabled ``providers`` (as configured, or as enabled from the
    environment) and the gateway key can reach, so that logs and errors can scrub them."""
    values = set()
    urls = [env.get(name) for name in _PROXY_VARIABLES]
    for provider in providers:
        if provider.api_key:
            values.add(provider.api_key)
        for var in (provider.api_key_env, *provider.api_keys_env):
            if var and env.get(var):
                values.add(env[var])
        urls += [provider.base_url, provider.proxy]
    for url in urls:  # credentials written into a URL: https://user:pass@host
        if url and (credentials := url_credentials(url)) is not None:
            values.update(credentials[1:])
    if config.http.gateway_key_env and env.get(config.http.gateway_key_env):
        values.add(env[config.http.gateway_key_env])
    return frozenset(v for v in values if len(v) >= 4)


def build_runtime(config: Config, config_path: Path | None, env: Mapping[str, str] = os.environ,
                  own_address: str | None = None, text: ConfigText | None = None) -> Runtime:
    """Build a complete runtime for ``config``, or raise ConfigError. Blocking (reads the price
    snapshot): call it in a worker thread.

    Beyond the file's own types it checks the HTTP address (host:port, and a gateway key beyond
    loopback), the providers (none may point back at routerd: at ``own_address`` when it is
    listening, else at the configured address), the routing settings that name catalogue models
    and every name that must refer to something (``routerd.references``). ``text``, the file the
    config was read from, lets those errors and warnings name their line. Start, reload,
    ``config check`` and ``routerctl restart`` all go through it."""
    try:
        listen = config.http.listen
        if config.http.enabled or own_address:  # where it listens (socket activation may differ)
            check_exposure(parse_listen(own_address or listen)[0], config.http.gateway_key_env, env)
        address = own_address or (None if listen.endswith(":0") else listen)
        providers = build_providers(config, env, address)
        catalogue = load_catalogue(config.routing.models)
        _check_routing(config, catalogue)
        check_against(config, {name: [key.label for key in p.pool()] for name, p in providers.items()})
        errors, warnings = check_references(config, catalogue, providers, env)
        if errors:
            raise ConfigError("; ".join(_located(problem, text) for problem in errors))
    except ConfigError as exc:
        raise text.locate(exc) if text is not None else exc from None
    secrets = collect_secrets(config, (p.config for p in providers.values()), env)
    return Runtime(config=config, config_path=config_path, catalogue=catalogue,
                   rules=RuleSet.build(config.routing.rules), providers=providers,
                   makers=catalogue.providers(), secrets=secrets,
                   from_file=text is not None and bool(text.text.strip()),
                   warnings=tuple(_located(problem, text) for problem in warnings))


def _located(problem: Problem, text: ConfigText | None) -> str:
    key, message = problem
    return f"{text.where(key)}: {message}" if text is not None else message


def _check_routing(config: Config, catalogue: Catalogue) -> None:
    """Routing settings that name a model must name one the catalogue knows (a typo would
    otherwise be ignored silently)."""
    floor = config.routing.quality_floor
    if floor and floor not in TIERS and catalogue.get(floor) is None:
        raise ConfigError(f"routing.quality_floor: {floor!r} is neither a tier ({', '.join(TIERS)}) nor "
                          "a model in the catalogue", ("routing", "quality_floor"))
    problems = check_routes(config.routing.scenarios, catalogue, config.gateway.aliases, config.providers)
    if problems:
        raise ConfigError("; ".join(problems), ("routing", "scenarios"))


def check_config_file(path: Path | None, env: Mapping[str, str] = os.environ, *,
                      required: bool = False) -> Runtime:
    """Load and validate ``path`` exactly as the daemon would start with it (blocking: reads the
    file; ``required``: it must exist). Raises ConfigError saying what is wrong; the runtime's
    ``warnings`` say what may not work yet."""
    config, text = read_config(path, required=required)
    return build_runtime(config, path, env, text=text)
