"""The runtime snapshot: everything derived from one config, built whole and then swapped in.

Handlers read ``app.runtime`` once at the start of a request and use that snapshot throughout, so
a reload never changes the ground under in-flight work.
"""

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from routerd.config import Config


@dataclass(frozen=True, slots=True)
class Runtime:
    config: Config
    config_path: Path | None
    loaded_at: float = field(default_factory=time.time)
    secrets: frozenset[str] = frozenset()


def collect_secrets(config: Config, env: Mapping[str, str]) -> frozenset[str]:
    """Every secret value this config can reach, so that logs and errors can scrub them."""
    values = set()
    for provider in config.providers.values():
        if provider.api_key:
            values.add(provider.api_key)
        if provider.api_key_env and env.get(provider.api_key_env):
            values.add(env[provider.api_key_env])
    if config.http.gateway_key_env and env.get(config.http.gateway_key_env):
        values.add(env[config.http.gateway_key_env])
    if not config.providers:  # the gateway then enables providers from the environment's keys
        from routerd.gateway.providers import ENV_PROVIDERS

        values.update(env[var] for _, var, *_ in ENV_PROVIDERS if var and env.get(var))
    return frozenset(v for v in values if len(v) >= 4)


def build_runtime(config: Config, config_path: Path | None,
                  env: Mapping[str, str] = os.environ) -> Runtime:
    """Build a complete runtime for ``config``. Pure apart from reading ``env``; raises ConfigError."""
    from routerd.gateway.providers import build_providers

    # Validated here so that a reload with a broken provider is refused, with the reason; the
    # gateway builds its registry again against the address it actually listens on.
    listen = config.http.listen
    build_providers(config, env, None if listen.endswith(":0") else listen)
    return Runtime(config=config, config_path=config_path, secrets=collect_secrets(config, env))
