"""A reload may not drop the gateway key while routerd listens beyond loopback."""

from pathlib import Path

import httpx
import pytest

from tests.gateway.conftest import GATEWAY_KEY


@pytest.fixture
def config_file(daemon_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ROUTERD_TEST_GATEWAY_KEY", GATEWAY_KEY)
    path = daemon_env / "config.toml"
    path.write_text('[http]\nlisten = "0.0.0.0:0"\ngateway_key_env = "ROUTERD_TEST_GATEWAY_KEY"\n')
    return path


@pytest.mark.anyio
async def test_a_reload_cannot_drop_the_gateway_key_beyond_loopback(daemon, config_file):
    """Listening on 0.0.0.0 with a key, a reload that removes ``gateway_key_env`` is refused, as the
    start would be; the key keeps being required (``/v1/models`` used to go from 401 to 200)."""
    url = f"http://127.0.0.1:{daemon.http_address.rsplit(':', 1)[1]}/v1/models"
    async with httpx.AsyncClient() as client:
        assert (await client.get(url)).status_code == 401
        config_file.write_text('[http]\nlisten = "0.0.0.0:0"\n')
        result = await daemon.reload("test")
        assert not result.ok and "gateway key" in result.message
        assert (await client.get(url)).status_code == 401
        assert (await client.get(url, headers={"authorization": f"Bearer {GATEWAY_KEY}"})).status_code == 200
