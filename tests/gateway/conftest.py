"""Fixtures for the gateway: fake providers on 127.0.0.1 and a daemon configured to use them.

``fakes`` are four providers: ``openai`` (OpenAI chat, also Responses; serves ``gpt-*``),
``backup`` (OpenAI chat; also serves ``gpt-*``, tried after ``openai``), ``anthropic`` (serves
``claude-*``) and ``gemini``. A test adds config with ``@pytest.mark.gateway_config("...toml...", http="key = ...")``
(``http`` lines go into the ``[http]`` table; ``{openai}`` and the like in it become that fake's URL;
``providers=("openai",)`` configures only those of the four).
"""

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from tests.fakes.upstream import FakeUpstream

GATEWAY_KEY = "gk-test-0123456789"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gateway_config(toml): extra config for the gateway daemon")


@pytest.fixture
async def fakes(anyio_backend: str) -> AsyncIterator[dict[str, FakeUpstream]]:
    async with anyio.create_task_group() as tg:
        found = {}
        for name in ("openai", "backup", "anthropic", "gemini"):
            found[name] = await tg.start(FakeUpstream(f"Hello from {name}.").serve)
        yield found
        tg.cancel_scope.cancel()


def provider_toml(fakes: dict[str, FakeUpstream], only: tuple[str, ...] | None = None) -> str:
    """The four fakes as providers (``only``: just these of them)."""
    sections = _PROVIDERS.format(**{name: fake.url for name, fake in fakes.items()}).split("\n\n")
    return "\n\n".join(s for s in sections if only is None or s.split("]")[0].split(".")[-1] in only)


_PROVIDERS = '''
[providers.openai]
kind = "openai"
base_url = "{openai}/v1"
api_key = "sk-openai-secret-1234"
models = ["gpt-*"]
responses = true
timeout_s = 2

[providers.backup]
kind = "openai"
base_url = "{backup}/v1"
api_key = "sk-backup-secret-5678"
models = ["gpt-*"]
timeout_s = 2

[providers.anthropic]
kind = "anthropic"
base_url = "{anthropic}"
api_key = "sk-ant-secret-9012"
models = ["claude-*"]
timeout_s = 2

[providers.gemini]
kind = "gemini"
base_url = "{gemini}"
api_key = "gem-secret-3456"
models = ["gemini-*"]
timeout_s = 2
'''


@pytest.fixture
def config_file(daemon_env: Path, fakes: dict[str, FakeUpstream], request: pytest.FixtureRequest) -> Path:
    marker = request.node.get_closest_marker("gateway_config")
    extra = marker.args[0] if marker and marker.args else ""
    for name, fake in fakes.items():  # "{openai}" in a marker's TOML: that fake's URL
        extra = extra.replace("{" + name + "}", fake.url)
    http = marker.kwargs.get("http", "") if marker else ""
    only = marker.kwargs.get("providers") if marker else None
    gateway = "" if "[gateway]" in extra else "[gateway]\nretry_backoff_s = 0\n"
    path = daemon_env / "config.toml"
    path.write_text(f'[http]\nlisten = "127.0.0.1:0"\n{http}\n{extra}\n{gateway}{provider_toml(fakes, only)}')
    return path


@pytest.fixture
def base_url(daemon) -> str:
    return f"http://{daemon.http_address}"


async def calls(app) -> list[dict]:
    """The rows of ``calls``, oldest first, as dicts."""
    await app.store.flush()

    def read(conn):
        names = [column[1] for column in conn.execute("PRAGMA table_info(calls)")]
        return [dict(zip(names, row)) for row in conn.execute("SELECT * FROM calls ORDER BY ts, attempt")]

    return await app.store.read(read)


async def raw_http(address: str, data: bytes) -> bytes:
    """Send raw bytes to the front; read until it closes or one whole response has arrived."""
    host, port = address.rsplit(":", 1)
    async with await anyio.connect_tcp(host, int(port)) as stream:
        await stream.send(data)
        out = b""
        with anyio.fail_after(10):
            while True:
                try:
                    out += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return out
                head, sep, body = out.partition(b"\r\n\r\n")
                length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")]
                if sep and length and len(body) >= length[0]:
                    return out


async def chat_text(answer, stream: bool) -> str:
    """The text of an ``openai`` chat completion: its deltas joined when streamed."""
    if stream:
        return "".join([c.choices[0].delta.content or "" async for c in answer if c.choices])
    return answer.choices[0].message.content
