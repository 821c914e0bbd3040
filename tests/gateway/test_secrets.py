"""No provider key reaches a client, the log or the ledger, whatever its encoding: in whole answers,
error bodies (cut or not, passed through or translated) and streamed events (relayed as bytes or
translated, a key cut across two upstream chunks included)."""

import json
from types import SimpleNamespace

import httpx
import pytest

from routerd.gateway.attempt import MAX_ERROR_BODY
from routerd.gateway.relay import StreamRelay
from routerd.gateway.usage import UsageMeter
from routerd.redact import Redactor, scrub, scrub_bytes
from tests.gateway.conftest import calls

pytestmark = pytest.mark.anyio

KEY = "sk-openai-secret-1234"
ANT_KEY = "sk-ant-secret-9012"
NO_RETRY = "[gateway]\nretries = 0\nretry_backoff_s = 0\n"
CHAT = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "openai/gpt-4o", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
# The key with some of its characters as JSON escapes, which a client's JSON reader decodes back.
ESCAPED = "\\u0073k-openai-\\u0053ecret-1234".replace("\\u0053", "s").replace("secret", "\\u0073ecre\\u0074")


def _decoded(text: str) -> str:
    """``text`` with every JSON document in it (a body, or each event's data) read as a client would."""
    docs = [line[6:] for line in text.splitlines() if line.startswith("data: {")] or [text]
    return "".join(json.dumps(json.loads(doc), ensure_ascii=False) for doc in docs)


async def _stream(base_url: str, path: str, body: dict) -> str:
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", base_url + path, json={**body, "stream": True}) as response:
            return (await response.aread()).decode()


async def _nothing_kept(app, caplog) -> None:
    rows = await calls(app)
    assert rows and not any(KEY in str(value) or ANT_KEY in str(value) for row in rows for value in row.values())
    assert not any(KEY in r.getMessage() for r in caplog.records)


def test_the_escaped_key_spells_the_key():
    """The test's escaped spelling is the key, as a JSON reader sees it."""
    assert json.loads(f'"{ESCAPED}"') == KEY and KEY not in ESCAPED


def test_a_secret_is_blanked_in_any_json_spelling():
    """Plain, \\u-escaped (either case of hex), \\/-escaped, past the BMP: all blanked, longest first."""
    redactor = Redactor(frozenset({KEY, KEY + "-long", "pa/ss\U0001f600"}))
    assert redactor.blank(f"a {KEY}-long b {KEY} c".encode()) == b"a *** b *** c"
    assert redactor.blank(f'"{ESCAPED}"'.encode()) == b'"***"'
    assert redactor.blank(b'"\\u0073K-openai"') == b'"\\u0073K-openai"'  # not the key: kept
    assert redactor.blank(json.dumps(KEY).replace("s", "\\u0073").replace("k", "\\u006B").encode()) == b'"***"'
    assert redactor.blank(json.dumps("x pa/ss\U0001f600").replace("/", "\\/").encode()) == b'"x ***"'
    assert redactor.blank(json.dumps("pa/ss\U0001f600", ensure_ascii=True).encode()) == b'"***"'
    assert redactor.blank_text(f"said {ESCAPED}") == "said ***" == scrub(f"said {KEY}", redactor.secrets)
    assert scrub_bytes(f"{ESCAPED}".encode(), frozenset({KEY})) == b"***"
    assert redactor.longest == len(KEY + "-long") * 6


@pytest.mark.gateway_config(NO_RETRY)
@pytest.mark.parametrize("path, body", [("/v1/chat/completions", CHAT), ("/v1/messages", MESSAGES)])
@pytest.mark.parametrize("spelling", [KEY, ESCAPED])
async def test_a_streamed_error_event_never_carries_the_key(daemon, fakes, base_url, caplog, path, body, spelling):
    """An upstream error event quoting the key, plainly or escaped, reaches an OpenAI client (as it
    came) and an Anthropic one (translated) with the key blanked."""
    fakes["openai"].events(b'data: {"error":{"message":"bad key %s"}}\n\n' % spelling.encode())
    text = await _stream(base_url, path, body)
    assert "bad key ***" in _decoded(text) and KEY not in _decoded(text)
    await _nothing_kept(daemon, caplog)


@pytest.mark.gateway_config(NO_RETRY)
@pytest.mark.parametrize("path, body", [("/v1/chat/completions", {**CHAT, "model": "claude-haiku-4-5"}),
                                        ("/v1/messages", {**MESSAGES, "model": "claude-haiku-4-5"})])
async def test_an_error_body_with_the_key_in_escapes_never_carries_it(daemon, fakes, base_url, caplog, path, body):
    """An Anthropic error body spelling its key with JSON escapes reaches an Anthropic client (as
    it came) and an OpenAI one (translated, escapes decoded) with the key blanked."""
    escaped = ESCAPED.replace("openai", "ant").replace("1234", "9012")
    assert json.loads(f'"{escaped}"') == ANT_KEY
    fakes["anthropic"].fail(401, b'{"type":"error","error":{"type":"authentication_error",'
                                 b'"message":"invalid x-api-key %s"}}' % escaped.encode())
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(base_url + path, json=body)
    assert response.status_code == 401
    assert ANT_KEY not in _decoded(response.text) and "invalid x-api-key ***" in _decoded(response.text)
    await _nothing_kept(daemon, caplog)


@pytest.mark.gateway_config(NO_RETRY)
async def test_a_key_across_the_error_body_cut_is_not_left_in_part(daemon, fakes, base_url):
    """An error body is cut to MAX_ERROR_BODY after blanking: a key across the cut leaves no prefix."""
    head = b'{"error":{"message":"'
    body = head + b"x" * (MAX_ERROR_BODY - len(head) - 8) + KEY.encode() + b' and more"}}'
    fakes["openai"].fail(500, body)
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(base_url + "/v1/chat/completions", json=CHAT)
    assert response.status_code == 500 and len(response.content) == MAX_ERROR_BODY
    assert KEY[:8].encode() not in response.content and b"***" in response.content[-16:]


async def test_a_whole_answer_never_carries_the_key(daemon, fakes, base_url):
    """A whole answer quoting the key, passed through or translated, has it blanked."""
    fakes["openai"].text = f"your key is {KEY}"
    async with httpx.AsyncClient(timeout=10) as client:
        same = await client.post(base_url + "/v1/chat/completions", json=CHAT)
        translated = await client.post(base_url + "/v1/messages", json=MESSAGES)
    assert same.json()["choices"][0]["message"]["content"] == "your key is ***"
    assert translated.json()["content"][0]["text"] == "your key is ***"


class _Chunks:
    """An upstream response body given as chunks."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)

    async def next_chunk(self) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


async def test_a_key_cut_across_two_relayed_chunks_is_blanked():
    """Passed through as bytes, a key cut across two upstream chunks never reaches the client, not
    even in part; a chunk that ends its events goes out whole at once."""
    record = SimpleNamespace(runtime=SimpleNamespace(redactor=Redactor(frozenset({KEY}))), outcome="pending",
                             error=None, candidate=SimpleNamespace(model="gpt-4o"), first_byte=lambda: None)
    event = b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'
    response = _Chunks(b'data: {"error":{"message":"bad key ' + KEY[:10].encode(), KEY[10:].encode() + b'"}}\n\n')
    relay = StreamRelay(response, "openai_chat", UsageMeter("openai_chat"), record, "openai", 1.0,  # type: ignore[arg-type]
                        first=event)
    await relay.begin()
    assert await relay.receive() == event
    sent = [await relay.receive() for _ in range(4)]
    assert not any(KEY[:10].encode() in part for part in sent)
    assert b"bad key ***" in b"".join(sent)
