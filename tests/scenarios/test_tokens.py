"""Token counts: the real cl100k tokenizer, loaded offline and verified, cached per text."""

import base64
import random

import msgspec
import pytest

from routerd.dialects.registry import get as dialect
from routerd.dialects.canonical import ChatRequest, Message, TextPart, Tool
from routerd.scenarios import tokens
from routerd.scenarios.tokens import TokenCount, TokenCounter, family_of, load_cl100k
from tests.scenarios.captures import load

anthropic = dialect("anthropic")


@pytest.fixture(scope="module")
def encoding():
    return load_cl100k()


@pytest.fixture
def counter(encoding) -> TokenCounter:
    return TokenCounter(load=lambda: encoding)


def _chat(*texts: str) -> ChatRequest:
    return ChatRequest(messages=[Message("user" if i % 2 == 0 else "assistant", [TextPart(t)])
                                 for i, t in enumerate(texts)])


def test_the_shipped_file_is_tiktokens_cl100k(monkeypatch: pytest.MonkeyPatch, encoding) -> None:
    """The pattern and file hash routerd uses are tiktoken's own cl100k_base definition."""
    import tiktoken
    import tiktoken_ext.openai_public as official

    seen = {}

    def no_download(url: str, expected_hash: str) -> dict:
        seen["hash"] = expected_hash
        return encoding._mergeable_ranks

    monkeypatch.setattr(official, "load_tiktoken_bpe", no_download)
    spec = official.cl100k_base()
    assert seen["hash"] == tokens.CL100K_SHA256 and spec["pat_str"] == tokens.CL100K_PATTERN
    reference = tiktoken.Encoding(**spec)
    text = load("claude-code-2.1.197-main").request.system
    assert encoding.encode_ordinary(text) == reference.encode_ordinary(text)


def test_a_tampered_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cl100k file whose hash is not OpenAI's is refused, never used."""
    monkeypatch.setattr(tokens, "CL100K_SHA256", "0" * 64)
    with pytest.raises(ValueError, match="SHA-256 mismatch"):
        load_cl100k()


def test_counts_are_the_tokenizers(counter: TokenCounter, encoding) -> None:
    """A message counts its text's tokens plus the per-message framing."""
    text = "Refactor the retry loop so that it backs off exponentially, with jitter."
    assert counter.count(_chat(text)) == TokenCount(base=tokens.MESSAGE_OVERHEAD + len(encoding.encode_ordinary(text)))


def test_tools_and_system_count(counter: TokenCounter, encoding) -> None:
    """System prompt, tool names, descriptions and JSON schemas are all part of the input."""
    schema = {"type": "object", "properties": {"path": {"type": "string"}}}
    req = ChatRequest(system="You are terse.", messages=[Message("user", [TextPart("hi")])],
                      tools=[Tool("Read", "Read a file.", schema)])
    expected = sum(len(encoding.encode_ordinary(t)) for t in
                   ("You are terse.", "hi", "Read", "Read a file.", msgspec.json.encode(schema).decode()))
    assert counter.count(req).base == expected + tokens.MESSAGE_OVERHEAD + tokens.TOOL_OVERHEAD


def test_a_real_claude_code_request(counter: TokenCounter) -> None:
    """Claude Code's first request (78 KB of JSON: 24 tools, a long system prompt) is ~17,000 cl100k tokens."""
    count = counter.count(load("claude-code-2.1.197-main").request)
    assert 15_000 < count.base < 19_000 and count.exact


def test_the_next_step_counts_only_what_is_new(counter: TokenCounter) -> None:
    """An agent's next request resends the conversation: only the new messages are tokenized."""
    first = load("claude-code-2.1.197-main").request
    counter.count(first)
    misses = counter.statistics().misses
    step = msgspec.structs.replace(first, messages=[*first.messages, Message("assistant", [TextPart("Done.")]),
                                                    Message("user", [TextPart("Now the tests.")])])
    assert counter.uncounted_chars(step) == len("Done.") + len("Now the tests.")
    counter.count(step)
    assert counter.statistics().misses == misses + 2 and counter.uncounted_chars(step) == 0


def test_without_the_tokenizer_the_bound_still_holds(encoding) -> None:
    """If the encoding cannot load, counts are estimated and the bound covers dense text."""
    def broken() -> None:
        raise OSError("no file")

    counter = TokenCounter(load=broken)
    with pytest.raises(OSError):
        counter.load()
    rng = random.Random(7)
    for text in (base64.b64encode(rng.randbytes(3000)).decode(), "这是一个测试句子。" * 200,
                 rng.randbytes(1500).hex(), "plain English prose about routers. " * 100):
        count = counter.count(_chat(text))
        assert not count.exact and count.upper() >= len(encoding.encode_ordinary(text)), text[:20]


def test_family_factors() -> None:
    """Claude and Gemini counts derive from cl100k by their measured factors; images by family."""
    count = TokenCount(base=10_000, images=2)
    assert count.tokens("openai") == 10_000 + 2 * 765
    assert count.tokens("claude") == 11_000 + 2 * 1200
    assert count.tokens("claude-2026") == 14_200 + 2 * 1200
    assert count.upper("openai") == 10_100 + 2 * 1105
    assert count.upper("unknown-family") == count.upper("other")


@pytest.mark.parametrize("provider, model, family", [
    ("openai", "gpt-6.1-sol", "openai"), ("openai", "o4-mini", "openai"),
    ("anthropic", "claude-sonnet-4-6", "claude"), ("anthropic", "claude-haiku-4-5", "claude"),
    ("anthropic", "claude-opus-4-6", "claude"), ("anthropic", "claude-opus-4-7", "claude-2026"),
    ("anthropic", "claude-opus-4-8", "claude-2026"), ("anthropic", "claude-sonnet-5", "claude-2026"),
    ("anthropic", "claude-fable-5-20260101", "claude-2026"), ("openrouter", "claude-opus-4-8", "claude-2026"),
    ("gemini", "gemini-2.5-pro", "gemini"), ("ollama", "qwen2.5-coder:7b", "other"),
    ("deepseek", "deepseek-chat", "other"),
])
def test_family_of(provider: str, model: str, family: str) -> None:
    """Models map to the tokenizer family their counts are derived for."""
    assert family_of(provider, model) == family


def test_the_cache_is_bounded(encoding) -> None:
    """The per-text cache forgets its oldest entries past its size."""
    counter = TokenCounter(load=lambda: encoding, max_entries=10)
    for n in range(25):
        counter.count(_chat(f"message number {n}"))
    assert counter.statistics().cached_texts == 10


def test_anthropic_thinking_text_counts(counter: TokenCounter) -> None:
    """Visible reasoning sent back in the history is input too; a redacted block is opaque."""
    body = {"model": "m", "max_tokens": 5, "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "let me think " * 50, "signature": "s"},
                                          {"type": "redacted_thinking", "data": "abc"}, {"type": "text", "text": "a"}]},
        {"role": "user", "content": "and?"}]}
    with_thoughts = counter.count(anthropic.parse_request(body)).base
    body["messages"][1]["content"] = body["messages"][1]["content"][1:]
    assert with_thoughts - counter.count(anthropic.parse_request(body)).base > 100


def _grown(first: ChatRequest, *texts: str) -> ChatRequest:
    extra = [Message("assistant" if i % 2 == 0 else "user", [TextPart(t)]) for i, t in enumerate(texts)]
    return msgspec.structs.replace(first, messages=[*first.messages, *extra])


def test_a_sessions_next_step_is_counted_from_its_previous_one(encoding) -> None:
    """In a session, the next request reuses the previous counts and only tokenizes what is new,
    and the total is exactly what a fresh count gives."""
    first = load("claude-code-2.1.197-main").request
    counter = TokenCounter(load=lambda: encoding)
    counter.count(first, "session-1")
    step = _grown(first, "Reading the file.", "It is in pong.py, line 12.")
    assert counter.uncounted_chars(step, "session-1") == len("Reading the file.") + len("It is in pong.py, line 12.")
    misses = counter.statistics().misses
    assert counter.count(step, "session-1") == TokenCounter(load=lambda: encoding).count(step)
    assert counter.statistics().misses == misses + 2


def test_a_changed_tool_is_recounted_in_the_session(encoding) -> None:
    """A tool that gains a property between two steps is counted again, not taken from memory."""
    first = load("claude-code-2.1.197-main").request
    counter = TokenCounter(load=lambda: encoding)
    before = counter.count(first, "s")
    tool = first.tools[0]
    schema = dict(tool.parameters, properties=dict(tool.parameters["properties"], extra_flag={"type": "boolean"}))
    changed = msgspec.structs.replace(first, tools=[msgspec.structs.replace(tool, parameters=schema), *first.tools[1:]])
    after = counter.count(changed, "s")
    assert after.base > before.base and after == TokenCounter(load=lambda: encoding).count(changed)


def test_session_memory_is_bounded(encoding) -> None:
    """Past its character budget the counter forgets the oldest sessions first."""
    counter = TokenCounter(load=lambda: encoding, max_session_chars=1_000)
    for n in range(5):
        counter.count(_chat("x" * 400 + str(n)), f"s{n}")
    assert counter.statistics().sessions == 2
