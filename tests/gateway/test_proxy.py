"""Providers behind a company's HTTP proxy, with the company's CA and client certificates.

The providers here have names no resolver knows (``api.provider.test``): only the fake proxy on
127.0.0.1 can reach them, as in a company where only the proxy resolves and reaches the outside.
The official SDKs reach them through that proxy, and so must routerd; the tunnelled providers
speak TLS with certificates from a test CA that routerd is told to trust with ``ca_file``, and one
of them requires a client certificate.
"""

import json
import ssl
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import anthropic
import anyio
import httpx
import openai
import pytest

from tests.fakes.proxy import FakeProxy
from tests.fakes.tls import make_ca
from tests.fakes.upstream import FakeUpstream
from tests.gateway.conftest import calls
from tests.support import connect

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning")]

PROXY_USER, PROXY_PASSWORD = "alice", "pr0xy-s3cret-77"
CORP_KEY = "sk-corp-secret-4242"


@pytest.fixture
async def behind_proxy(tmp_path: Path, anyio_backend: str):
    """An OpenAI-kind and an Anthropic-kind provider over TLS and a plain-HTTP one, all reachable
    only through an authenticating proxy."""
    ca = make_ca(tmp_path / "ca")
    async with anyio.create_task_group() as tg:
        corp = await tg.start(partial(FakeUpstream("Hello through the tunnel.").serve,
                                      tls=ca.server_context("api.provider.test")))
        claude = await tg.start(partial(FakeUpstream("Hello from the mutual-TLS provider.").serve,
                                        tls=ca.server_context("api.anthropic.test", require_client_cert=True)))
        plain = await tg.start(FakeUpstream("Hello in the clear.").serve)
        proxy = await tg.start(FakeProxy({"api.provider.test": corp.port, "api.anthropic.test": claude.port,
                                          "api.plain.test": plain.port}, auth=(PROXY_USER, PROXY_PASSWORD)).serve)
        yield SimpleNamespace(ca=ca, corp=corp, claude=claude, plain=plain, proxy=proxy)
        tg.cancel_scope.cancel()


@pytest.fixture
def config_file(daemon_env: Path, behind_proxy, monkeypatch: pytest.MonkeyPatch) -> Path:
    proxy_url = f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{behind_proxy.proxy.port}"
    monkeypatch.setenv("HTTPS_PROXY", proxy_url)  # the https providers take it from the environment
    client_cert, client_key = behind_proxy.ca.issue("routerd", client=True)
    ca = behind_proxy.ca.pem
    path = daemon_env / "config.toml"
    path.write_text(f'''
[http]
listen = "127.0.0.1:0"
[gateway]
retries = 0
[providers.corp]
base_url = "https://api.provider.test/v1"
api_key = "{CORP_KEY}"
models = ["gpt-*"]
ca_file = "{ca}"
[providers.claude]
kind = "anthropic"
base_url = "https://api.anthropic.test"
api_key = "sk-ant-claude-1111"
models = ["claude-*"]
ca_file = "{ca}"
client_cert = "{client_cert}"
client_key = "{client_key}"
[providers.plain]
base_url = "http://api.plain.test/v1"
models = ["plain-*"]
proxy = "{proxy_url}"
''')
    return path


async def test_sdks_reach_the_provider_through_the_proxy_and_so_does_routerd(daemon, behind_proxy):
    """The openai SDK reaches the provider through the CONNECT proxy on its own; through routerd it
    gets the same answer, routerd having tunnelled to it (TLS inside, the proxy sees only CONNECT)."""
    base = f"http://{daemon.http_address}"
    proxy = behind_proxy.proxy
    direct_http = httpx.AsyncClient(proxy=f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{proxy.port}",
                                    verify=ssl.create_default_context(cafile=behind_proxy.ca.pem))
    async with openai.AsyncOpenAI(base_url="https://api.provider.test/v1", api_key=CORP_KEY,
                                  http_client=direct_http, max_retries=0) as direct:
        answer = await direct.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "Hello through the tunnel."
    direct_seen = len(proxy.seen)

    async with openai.AsyncOpenAI(base_url=base + "/v1", api_key="unused", max_retries=0) as client:
        answer = await client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        chunks = [c async for c in await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True)]
    assert answer.choices[0].message.content == "Hello through the tunnel."
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello through the tunnel."
    routed = proxy.seen[direct_seen:]
    assert {(method, target) for method, target, _ in routed} == {("CONNECT", "api.provider.test:443")}
    sent = behind_proxy.corp.received[-1]
    assert sent.headers["host"] == "api.provider.test" and sent.headers["authorization"] == f"Bearer {CORP_KEY}"
    assert [r["outcome"] for r in await calls(daemon)] == ["ok", "ok"]


async def test_anthropic_sdk_through_routerd_to_a_mutual_tls_provider(daemon, behind_proxy):
    """A provider that requires a client certificate gets routerd's (``client_cert``) through the
    tunnel; the anthropic SDK sees an ordinary answer."""
    async with anthropic.AsyncAnthropic(base_url=f"http://{daemon.http_address}", api_key="unused",
                                        max_retries=0) as client:
        message = await client.messages.create(model="claude-haiku-4-5", max_tokens=20,
                                               messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text == "Hello from the mutual-TLS provider."
    assert behind_proxy.claude.tls_failures == 0 and len(behind_proxy.claude.received) == 1


async def test_plain_http_provider_goes_through_the_proxy_in_absolute_form(daemon, behind_proxy):
    """A plain-HTTP provider with its own ``proxy`` is asked through it by absolute URL, with the
    proxy's credentials; status shows the proxy without them."""
    async with httpx.AsyncClient() as client:
        response = await client.post(f"http://{daemon.http_address}/v1/chat/completions",
                                     json={"model": "plain-1", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Hello in the clear."
    method, target, headers = behind_proxy.proxy.seen[-1]
    assert (method, target) == ("POST", "http://api.plain.test/v1/chat/completions")
    assert headers["proxy-authorization"].startswith("Basic ")
    assert "proxy-authorization" not in behind_proxy.plain.received[-1].headers
    async with connect(daemon.socket_path) as control:
        status = await control.call({"type": "status"})
    shown = status["parts"]["gateway"]["providers"]["plain"]["proxy"]
    assert shown == f"http://***@127.0.0.1:{behind_proxy.proxy.port}"
    assert PROXY_PASSWORD not in json.dumps(status)
