"""The usage meter counts a stream's generated text (for the estimate of a stream cut before its
usage, or one that reports none) exactly as it did when it searched every chunk as it came, now
that events wait to be counted together and the search pattern is unrolled; and a stream that ends
with its usage is never searched at all."""

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from routerd.dialects.registry import get
from routerd.dialects.sse import EventCutter
from routerd.gateway import usage
from routerd.gateway.usage import UsageMeter
from tests.fakes import answers

DIALECTS = ("anthropic", "openai_chat", "responses", "gemini")
FIELDS = {"anthropic": ("text", "thinking", "partial_json"), "openai_chat": ("content", "arguments"),
          "responses": ("delta",), "gemini": ("text",)}
REQUEST = {"anthropic": b'{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"hello there"}]}',
           "openai_chat": b'{"model":"m","messages":[{"role":"user","content":"hello there"}]}',
           "responses": b'{"model":"m","input":"hello there"}',
           "gemini": b'{"contents":[{"role":"user","parts":[{"text":"hello there"}]}]}'}
_FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])


def _old_pattern(*names: str) -> re.Pattern[bytes]:
    """``text_fields`` as it was: one alternation a character."""
    keys = "|".join(map(re.escape, names))
    return re.compile(rb'"(?:' + keys.encode() + rb')"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _old_count(dialect: str, chunks: list[bytes]) -> int:
    """The text the meter counted when it searched each chunk's whole events as they came, until
    the final usage (whether it has come is read off a meter fed alongside)."""
    pattern, cutter, meter, chars = _old_pattern(*FIELDS[dialect]), EventCutter(), UsageMeter(dialect), 0
    for chunk in chunks:
        events = cutter.feed(chunk)
        if events and meter.counts_text:
            chars += sum(map(len, pattern.findall(events)))
        meter.feed_stream(chunk)
    return chars


@contextmanager
def _waiting(size: int) -> Iterator[None]:
    """Events wait to be counted up to ``size`` bytes (hypothesis runs many examples in one test, so
    no function-scoped monkeypatch)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(usage, "COUNT_AFTER_BYTES", size)
        yield


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    at = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(at, at[1:])]


# Bytes a text field can hold or end in, valid JSON or not: quotes, escapes, line ends (which a
# value cut short could run across into the next event), keys of every dialect's text and usage.
_PIECES = st.sampled_from([b'"text"', b'"content"', b'"delta"', b'"partial_json"', b'"thinking"', b'"arguments"',
                           b":", b" ", b'"', b"\\", b"\\\\", b'\\"', b"a", b"\xc3\xa9", b"\xe5", b"\n", b"\r", b"\t",
                           b"{", b"}", b",", b'"usage":{"output_tokens":3,"completion_tokens":2}',
                           b'"usageMetadata":{"candidatesTokenCount":2}', b"data: ", b"event: x\n", b"\n\n"])


@_FUZZ
@given(st.lists(_PIECES, max_size=60).map(b"".join))
def test_the_unrolled_pattern_finds_what_the_old_one_did_in_any_bytes(data):
    """Every dialect's text pattern finds the same values as the one-alternation-a-character
    pattern it replaced, in any bytes: escapes, quotes and line ends in any order."""
    for dialect in DIALECTS:
        new = get(dialect).usage.text
        assert new.findall(data) == _old_pattern(*FIELDS[dialect]).findall(data)


@_FUZZ
@given(dialect=st.sampled_from(DIALECTS), data=st.lists(_PIECES, max_size=80).map(b"".join),
       cuts=st.lists(st.integers(min_value=0), max_size=12), waiting=st.sampled_from([0, 16, 1 << 20]))
@example(dialect="gemini", data=b'data: {"text":"left open\n\ndata: {"text":"next"}', cuts=[26], waiting=1 << 20)
def test_any_bytes_cut_anywhere_count_as_they_did(dialect, data, cuts, waiting):
    """Bytes that need not be JSON, cut anywhere: the meter counts the text the old search of each
    chunk did, whether its events wait to be counted in any number (a value left open in one event
    does not run into the next) or are counted at once."""
    chunks = _cut(data + b"\n\n", cuts)
    meter = UsageMeter(dialect)
    with _waiting(waiting):
        for chunk in chunks:
            meter.feed_stream(chunk)
    assert meter.text_chars == _old_count(dialect, chunks)


@_FUZZ
@given(dialect=st.sampled_from(DIALECTS), pieces=st.lists(st.text(max_size=12), min_size=1, max_size=30),
       keep=st.integers(min_value=0), cuts=st.lists(st.integers(min_value=0), max_size=12),
       usage_reported=st.booleans(), waiting=st.sampled_from([0, 64, 1 << 20]))
def test_streams_cut_anywhere_are_estimated_as_they_were(dialect, pieces, keep, cuts, usage_reported, waiting):
    """A stream in each dialect, with or without its usage, ended anywhere and read in chunks cut
    anywhere: the same text count as before, and the same estimate as a meter that counts every
    chunk at once (``text_chars`` read after each)."""
    events = answers.stream(dialect, "m", "".join(pieces), None, pieces=pieces)
    if not usage_reported:
        events = [e for e in events if b'"usage' not in e]
    data = b"".join(events)
    chunks = _cut(data[:keep % (len(data) + 1)], cuts)
    lazy, eager = UsageMeter(dialect), UsageMeter(dialect)
    with _waiting(waiting):
        for chunk in chunks:
            lazy.feed_stream(chunk)
            eager.feed_stream(chunk)
            assert eager.text_chars >= 0  # reading it counts what came so far
    assert lazy.text_chars == eager.text_chars == _old_count(dialect, chunks)
    lazy.estimate(REQUEST[dialect], dialect)
    eager.estimate(REQUEST[dialect], dialect)
    assert (lazy.tokens(), lazy.estimated) == (eager.tokens(), eager.estimated)


class _CountingPattern:
    """A text pattern that counts the searches made with it."""

    def __init__(self, pattern: re.Pattern[bytes]) -> None:
        self.pattern, self.searches = pattern, 0

    def findall(self, data: bytes) -> list[bytes]:
        self.searches += 1
        return self.pattern.findall(data)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_stream_that_ends_with_its_usage_is_never_searched_for_text(dialect):
    """An answer of a few thousand tokens read one event a chunk, ending with the provider's usage:
    its text is not counted (it used to be searched once a chunk), and its usage is as reported."""
    text = "word " * 4000
    events = answers.stream(dialect, "m", text, None, pieces=[text[i:i + 40] for i in range(0, len(text), 40)])
    meter = UsageMeter(dialect)
    meter._text = spy = _CountingPattern(meter._text)  # type: ignore[assignment]
    for event in events:
        meter.feed_stream(event)
    meter.estimate(REQUEST[dialect], dialect)
    assert spy.searches == 0 and meter.completed and not meter.estimated
    assert (meter.input_tokens, meter.output_tokens) == (answers.INPUT_TOKENS, answers.OUTPUT_TOKENS)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_long_stream_is_searched_in_few_pieces(dialect):
    """A stream past what may wait is counted as it goes, a search per ``COUNT_AFTER_BYTES`` at
    most, not one a chunk; cut before its usage, it is estimated from all of its text."""
    text = "word " * 200_000
    events = answers.stream(dialect, "m", text, None, pieces=[text[i:i + 2000] for i in range(0, len(text), 2000)])
    cut = events[:-3 if dialect == "openai_chat" else -2]  # before the usage (and Gemini's last text)
    meter = UsageMeter(dialect)
    meter._text = spy = _CountingPattern(meter._text)  # type: ignore[assignment]
    for event in cut:
        meter.feed_stream(event)
    searched = spy.searches
    meter.estimate(REQUEST[dialect], dialect)
    size = sum(map(len, cut))
    assert 1 <= searched <= size // usage.COUNT_AFTER_BYTES + 1 < len(cut) // 10
    assert meter.estimated and meter.output_tokens >= (len(text) - 2 * 2000) // 4  # (Gemini: less 2 pieces)
