"""Fixtures for the fault-injection suite: the gateway's fake providers (real HTTP on 127.0.0.1) and a
daemon configured with a short-timeout primary, its backup, Anthropic, and a local last resort.

``@pytest.mark.resilience_config("...toml...")`` adds config (before the providers' sections; a
``[resilience]`` or ``[gateway]`` table in it replaces the defaults below). ``POOL_KEYS`` are set in
the environment for providers that take ``api_keys_env``.
"""

from pathlib import Path

import pytest

from tests.fakes.upstream import FakeUpstream
from tests.gateway.conftest import fakes  # noqa: F401  (a fixture used by this suite)

POOL_KEYS = {"PRIMARY_KEY_1": "sk-primary-one-1111", "PRIMARY_KEY_2": "sk-primary-two-2222"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "resilience_config(toml): extra config for the fault-injection daemon")


def providers_toml(fakes: dict[str, FakeUpstream], primary_keys: str) -> str:  # noqa: F811
    return f'''
[providers.primary]
kind = "openai"
base_url = "{fakes["openai"].url}/v1"
{primary_keys}
models = ["gpt-*"]
timeout_s = 0.5

[providers.backup]
kind = "openai"
base_url = "{fakes["backup"].url}/v1"
api_key = "sk-backup-secret-5678"
models = ["gpt-*"]
timeout_s = 2

[providers.anthropic]
kind = "anthropic"
base_url = "{fakes["anthropic"].url}"
api_key = "sk-ant-secret-9012"
models = ["claude-*"]
timeout_s = 2

[providers.local]
kind = "openai"
base_url = "{fakes["gemini"].url}/v1"
models = ["qwen-local"]
local = true
timeout_s = 2
'''


@pytest.fixture
def config_file(daemon_env: Path, fakes: dict[str, FakeUpstream], request: pytest.FixtureRequest,  # noqa: F811
                monkeypatch: pytest.MonkeyPatch) -> Path:
    marker = request.node.get_closest_marker("resilience_config")
    extra = marker.args[0] if marker and marker.args else ""
    for name, value in POOL_KEYS.items():
        monkeypatch.setenv(name, value)
    pool = marker.kwargs.get("pool", False) if marker else False
    keys = 'api_keys_env = ["PRIMARY_KEY_1", "PRIMARY_KEY_2"]' if pool else 'api_key = "sk-primary-secret-1234"'
    gateway = "" if "[gateway]" in extra else "[gateway]\nretry_backoff_s = 0\n"
    resilience = "" if "[resilience]" in extra else "[resilience]\nlocal_last_resort = false\n"
    path = daemon_env / "config.toml"
    path.write_text(f'[http]\nlisten = "127.0.0.1:0"\n\n{extra}\n{gateway}\n{resilience}\n'
                    f'{providers_toml(fakes, keys)}')
    return path


@pytest.fixture
def base_url(daemon) -> str:
    return f"http://{daemon.http_address}"
