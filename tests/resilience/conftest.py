"""Fixtures for the fault-injection suite: the gateway's fake providers (real HTTP on 127.0.0.1) and a
daemon configured with a primary, its backup, Anthropic, and a local last resort.

``@pytest.mark.resilience_config("...toml...")`` adds config (before the providers' sections; a
``[resilience]`` or ``[gateway]`` table in it replaces the defaults below). ``POOL_KEYS`` are set in
the environment for providers that take ``api_keys_env``. The primary waits 2 s like the others
unless a test that makes it hang asks for less (``primary_timeout_s=0.5``): a short timeout on
every test sent a healthy primary's answers to the backup on a loaded machine.
"""

from pathlib import Path

import pytest

from tests.fakes.upstream import FakeUpstream
from tests.gateway.conftest import fakes  # noqa: F401  (a fixture used by this suite)

POOL_KEYS = {"PRIMARY_KEY_1": "sk-primary-one-1111", "PRIMARY_KEY_2": "sk-primary-two-2222"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "resilience_config(toml): extra config for the fault-injection daemon")


def providers_toml(fakes: dict[str, FakeUpstream], primary_keys: str, primary_timeout_s: float) -> str:  # noqa: F811
    return f'''
[providers.primary]
kind = "openai"
base_url = "{fakes["openai"].url}/v1"
{primary_keys}
models = ["gpt-*"]
timeout_s = {primary_timeout_s}

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
    options = marker.kwargs if marker else {}
    pool = options.get("pool", False)
    keys = 'api_keys_env = ["PRIMARY_KEY_1", "PRIMARY_KEY_2"]' if pool else 'api_key = "sk-primary-secret-1234"'
    gateway = "" if "[gateway]" in extra else "[gateway]\nretry_backoff_s = 0\n"
    resilience = "" if "[resilience]" in extra else "[resilience]\nlocal_last_resort = false\n"
    path = daemon_env / "config.toml"
    path.write_text(f'[http]\nlisten = "127.0.0.1:0"\n\n{extra}\n{gateway}\n{resilience}\n'
                    f'{providers_toml(fakes, keys, options.get("primary_timeout_s", 2))}')
    return path


@pytest.fixture
def base_url(daemon) -> str:
    return f"http://{daemon.http_address}"
