"""The runtime snapshot: everything derived from one config, built whole and then swapped in.

Handlers read ``app.runtime`` once at the start of a request and use that snapshot throughout, so
a reload never changes the ground under in-flight work.
"""

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from routerd.config import Config, ProviderConfig
from routerd.redact import url_credentials

_PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY")


@dataclass(frozen=True, slots=True)
class Runtime:
    config: Config
    config_path: Path | None
    loaded_at: float = field(default_factory=time.time)
    secrets: frozenset[str] = frozenset()


def collect_secrets(config: Config, providers: Iterable[ProviderConfig],
                    env: Mapping[str, str]) -> frozenset[str]:
    """Every secret value the enabled ``providers`` (as configured, or as enabled from the
    environment) and the gateway key can reach, so that logs and errors can scrub them."""
    values = set()
    urls = [env.get(name) for name in _PROXY_VARIABLES]
    for provider in providers:
        if provider.api_key:
            values.add(provider.api_key)
        if provider.api_key_env and env.get(provider.api_key_env):
            values.add(env[provider.api_key_env])
        urls += [provider.base_url, provider.proxy]
    for url in urls:  # credentials written into a URL: https://user:pass@host
        if url and (credentials := url_credentials(url)) is not None:
            values.update(credentials[1:])
    if config.http.gateway_key_env and env.get(config.http.gateway_key_env):
        values.add(env[config.http.gateway_key_env])
    return frozenset(v for v in values if len(v) >= 4)


def build_runtime(config: Config, config_path: Path | None,
                  env: Mapping[str, str] = os.environ) -> Runtime:
    """Build a complete runtime for ``config``. Pure apart from reading ``env``; raises ConfigError.

    This is the daemon's one validation beyond the file's own types: the HTTP address (host:port,
    and a gateway key beyond loopback) and the providers (e.g. one pointing back at routerd). Start,
    reload, ``config check`` and ``routerctl restart`` all go through it."""
    from routerd.gateway.providers import build_providers
    from routerd.listeners import check_exposure, parse_listen

    listen = config.http.listen
    if config.http.enabled:
        check_exposure(parse_listen(listen)[0], config.http.gateway_key_env, env)
    # The gateway builds its registry again against the address it actually listens on.
    providers = build_providers(config, env, None if listen.endswith(":0") else listen)
    secrets = collect_secrets(config, (p.config for p in providers.values()), env)
    return Runtime(config=config, config_path=config_path, secrets=secrets)


def check_config_file(path: Path, env: Mapping[str, str] = os.environ) -> Runtime:
    """Load and validate ``path`` exactly as the daemon would start with it (blocking: reads the
    file). Raises ConfigError saying what is wrong."""
    from routerd.config import load_config

    return build_runtime(load_config(path), path, env)
