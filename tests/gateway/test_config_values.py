"""Config values routerd cannot run with are refused, with the key and the reason: at start, on
reload (the running config stays and keeps serving), and by ``config check``. A reload may not
drop the gateway key while routerd listens beyond loopback (``test_reload_key``)."""

import json
import os

import httpx
import pytest

from routerd.config import parse_config
from routerd.errors import ConfigError
from routerd.providers import build_providers
from tests.support import connect

INVALID = [
    ('[http]\nlisten = "0.0.0.0:80800"\n', "http.listen: expected host:port with a port from 0 to 65535"),
    ('[http]\nlisten = "notaport"\n', "http.listen: expected host:port"),
    ('[http]\nlisten = "[::1:8080"\n', "http.listen:"),
    ('[http]\nlisten = "[zz::1]:4141"\n', "is not an IPv6 address"),
    ('[http]\nlisten = "::1:4141"\n', "an IPv6 address goes in brackets"),
    ("a = " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
    ("[providers.p]\ntimeout_s = nan\n", "providers.p.timeout_s: Expected `float` > 0.0"),
    ("[providers.p]\ntimeout_s = -1\n", "providers.p.timeout_s: Expected `float` > 0.0"),
    ("[providers.p]\nconnect_timeout_s = inf\n", "providers.p.connect_timeout_s: Expected `float` <="),
    ("[daemon]\nidle_timeout_s = nan\n", "daemon.idle_timeout_s"),
    ("[providers.p]\nmax_connections = 0\n", "providers.p.max_connections: Expected `int` >= 1"),
    ('[providers.p]\nbase_url = "http://h:80800/v1"\n', "providers.p.base_url:"),
    ('[providers.p]\nbase_url = "http://[::1/v1"\n', "providers.p.base_url:"),
    ('[providers.p]\nproxy = "socks5://127.0.0.1:1080"\n', "providers.p.proxy: expected a http URL"),
    ('[providers.p]\nheaders = { "x-a" = "1\\r\\nx-b: 2" }\n', "providers.p.headers:"),
    ('[providers.p]\nclient_key = "/k.pem"\n', "providers.p.client_key: needs client_cert"),
    ("[budgets]\ndaily_tokens = 0.5\n", "config.toml:2: budgets.daily_tokens: Expected `int | null`, got `float`"),
    ("[budgets.providers.q]\nmonthly_tokens = 0\n", "config.toml:2: budgets.providers.q.monthly_tokens: Expected `int` >= 1"),
    ("[budgets]\ndaily_usd = inf\n", "config.toml:2: budgets.daily_usd: Expected `float` <= 1000000000.0"),
    ("[budgets]\nmonthly_usd = 1e308\n", "config.toml:2: budgets.monthly_usd: Expected `float` <= 1000000000.0"),
    ("[budgets]\ndaily_usd = nan\n", "config.toml:2: budgets.daily_usd: Expected `float` > 0.0"),
    ("[budgets]\ndaily_usd = 0\n", "config.toml:2: budgets.daily_usd: Expected `float` > 0.0"),
]


@pytest.mark.parametrize("text, reason", INVALID)
def test_invalid_values_are_config_errors(text, reason):
    """Each value routerd could not run with is a ConfigError naming the key and the reason."""
    with pytest.raises(ConfigError) as info:
        parse_config(text, "config.toml")
    assert reason in info.value.message


def test_valid_edge_values_are_accepted():
    """IPv6 listeners, a zero keep-alive, a direct or configured proxy, TLS files are all fine."""
    config = parse_config('[http]\nlisten = "[::1]:4141"\n[providers.p]\nbase_url = "https://[::1]:8443/v1"\n'
                          'keepalive_s = 0\nmax_keepalive = 0\nproxy = "direct"\n'
                          '[providers.q]\nproxy = "http://user:pass@proxy.corp:3128"\n')
    assert config.http.listen == "[::1]:4141" and config.providers["q"].proxy.endswith(":3128")


def test_environment_proxies_as_the_sdks_read_them():
    """``HTTPS_PROXY`` / ``HTTP_PROXY`` apply by the provider's scheme unless ``NO_PROXY`` names the
    host; loopback providers never go through them; a provider's own ``proxy`` wins."""
    config = parse_config('''
[providers.cloud]
base_url = "https://api.openai.com/v1"
[providers.exempt]
base_url = "https://api.internal.corp/v1"
[providers.plain]
base_url = "http://models.lab/v1"
[providers.local]
base_url = "http://127.0.0.1:8080/v1"
[providers.own]
base_url = "https://api.anthropic.com"
proxy = "http://other:3128"
[providers.direct]
base_url = "https://api.mistral.ai/v1"
proxy = "direct"
''')
    env = {"HTTPS_PROXY": "http://proxy.corp:3128", "http_proxy": "proxy.corp:8080", "NO_PROXY": ".internal.corp"}
    providers = build_providers(config, env, None)
    assert {name: p.proxy for name, p in providers.items()} == {
        "cloud": "http://proxy.corp:3128", "exempt": None, "plain": "http://proxy.corp:8080",
        "local": None, "own": "http://other:3128", "direct": None}
    with pytest.raises(ConfigError, match="HTTPS_PROXY"):
        build_providers(config, {"HTTPS_PROXY": "socks5://proxy.corp:1080"}, None)


def test_base_url_credentials_are_kept_out_of_sight():
    """Credentials written into a base URL become an Authorization header and leave the URL that
    status, logs and errors show."""
    config = parse_config('[providers.p]\nbase_url = "https://bob:s3cret-pass@llm.corp/v1"\n')
    provider = build_providers(config, {}, None)["p"]
    assert provider.base_url == "https://llm.corp/v1"
    assert provider.auth_headers[0][0] == b"authorization" and provider.auth_headers[0][1].startswith(b"Basic ")
    assert "s3cret" not in repr(provider)


@pytest.mark.anyio
@pytest.mark.parametrize("text, reason", [case for case in INVALID if "providers.p" in case[0] or "daemon" in case[0]])
async def test_a_reload_with_an_invalid_value_keeps_the_running_config(daemon, base_url, config_file, text, reason):
    """An invalid value refuses the reload, says why in ``status``, and routerd keeps serving."""
    config_file.write_text(config_file.read_text() + text)
    result = await daemon.reload("test")
    assert not result.ok and reason in result.message
    async with httpx.AsyncClient() as client:
        assert (await client.get(base_url + "/health")).status_code == 200
    async with connect(daemon.socket_path) as control:
        status = await control.call({"type": "status"})
    assert status["last_reload"]["ok"] is False and reason in status["last_reload"]["message"]


@pytest.mark.anyio
async def test_config_check_reads_only_regular_files(daemon, tmp_path):
    """``config check`` of a device, a pipe or a huge file answers at once with the reason (it used
    to read /dev/zero until memory ran out, and then ignored SIGTERM)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * 200_000)
    async with connect(daemon.socket_path) as control:
        for path, reason in [("/dev/zero", "not a regular file"), (fifo, "not a regular file"),
                             (big, "not a config file")]:
            reply = await control.call({"type": "config_check", "path": str(path)})
            assert reply["ok"] is False and reason in reply["errors"][0], reply


@pytest.mark.anyio
async def test_a_reload_error_naming_a_key_is_scrubbed_in_status(daemon, config_file):
    """A refused reload whose reason quotes a key shows it blanked in ``status``, as in the log."""
    text = config_file.read_text().replace('api_key = "gem-secret-3456"',
                                           'api_key = "gem-secret-3456"\nproxy = "ftp://h/?key=gem-secret-3456"')
    config_file.write_text(text)
    result = await daemon.reload("test")
    assert not result.ok and "gem-secret-3456" not in result.message and "***" in result.message
    async with connect(daemon.socket_path) as control:
        status = await control.call({"type": "status"})
    assert "gem-secret-3456" not in json.dumps(status)


@pytest.mark.anyio
@pytest.mark.gateway_config('[providers.corp]\nbase_url = "http://bob:s3cret-url-pass@127.0.0.1:9/v1"\n'
                            'proxy = "http://alice:s3cret-proxy-pass@127.0.0.1:9"\nmodels = ["corp-*"]\n')
async def test_url_credentials_reach_no_mcp_tool_and_no_status(daemon):
    """Credentials written into a base URL or a proxy URL appear in no MCP tool result (providers,
    health) and nowhere in ``status``."""
    import os

    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    from tests.integrations.support import MCP_RELAY, PYTHON

    server = StdioServerParameters(command=PYTHON, args=["-I", "-S", str(MCP_RELAY)],
                                   env={"ROUTERD_SOCKET": str(daemon.socket_path), "PATH": os.environ["PATH"]})
    async with Client(server, mode="legacy") as client:
        shown = [json.dumps((await client.call_tool(name, {})).structured_content)
                 for name in ("providers", "health")]
    async with connect(daemon.socket_path) as control:
        shown.append(json.dumps(await control.call({"type": "status"})))
    assert "http://***@127.0.0.1:9/v1" in shown[0]
    for text in shown:
        assert "s3cret-url-pass" not in text and "s3cret-proxy-pass" not in text
