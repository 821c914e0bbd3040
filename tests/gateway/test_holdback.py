"""``Holdback`` alone: what it keeps back of a streamed text, when it lets it go, and how it treats
an upstream that ends a text and goes on, opens texts without end, or frames its events oddly."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routerd.dialects.registry import get
from routerd.errors import UpstreamBadResponse
from routerd.gateway.holdback import MAX_HELD_CHANNELS, SHOWN_AT_END, Holdback
from routerd.redact import Redactor
from tests.fakes import answers

KEY = "sk-ant-secret-9012"


def _holdback(dialect: str = "anthropic") -> Holdback:
    return Holdback(Redactor(frozenset({KEY, "gk-test-0123456789"})), get(dialect))


def _delta(text: str, index: int = 0) -> bytes:
    return answers._sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                "delta": {"type": "text_delta", "text": text}})


def _stop(index: int = 0) -> bytes:
    return answers._sse("content_block_stop", {"type": "content_block_stop", "index": index})


def _texts(stream: bytes) -> list[str]:
    """The text of each text delta in ``stream``."""
    return [json.loads(line[6:])["delta"]["text"] for line in stream.decode().splitlines()
            if line.startswith("data: ") and '"text_delta"' in line]


def test_a_possible_start_of_a_secret_waits_for_the_next_piece():
    """Text that may start a key waits for the next delta; when that shows it is no key, it goes
    out with it, and an event whose text is sent as it came is sent as its very bytes."""
    holdback = _holdback()
    assert holdback.feed(_delta("plain")) == _delta("plain")
    assert _texts(holdback.feed(_delta("it is sk-a"))) == ["it is "]
    assert _texts(holdback.feed(_delta("nt, fine"))) == ["sk-ant, fine"]


def test_the_rest_of_a_text_goes_out_before_its_block_ends():
    """What a block kept back goes out in a delta of its own just before ``content_block_stop``."""
    holdback = _holdback()
    holdback.feed(_delta("yes"))
    out = holdback.feed(_stop())
    assert _texts(out) == ["s"] and out.endswith(_stop())


@pytest.mark.parametrize("ending, shown", [(KEY[:SHOWN_AT_END], KEY[:SHOWN_AT_END]), (KEY[:-1], "***")])
def test_a_text_that_ends_in_most_of_a_key_shows_only_its_kind(ending, shown):
    """A block that ends in a key's first few characters shows them; one that ends in more of a
    key (all but its last character, say) has it blanked, in the last delta or at the stream's end."""
    holdback = _holdback()
    assert _texts(holdback.feed(_delta("a " + ending) + _stop())) == ["a ", shown]
    holdback = _holdback()
    assert _texts(holdback.feed(_delta("a " + ending)) + holdback.close()) == ["a ", shown]


def test_text_after_its_block_ended_in_a_keys_start_is_a_bad_stream():
    """A block that goes on after its stop, which showed a key's first characters, is refused, so
    its next piece cannot complete a key the client already holds the start of; one that ended
    in no key's start may go on (nothing it says can join what came before into a key)."""
    holdback = _holdback()
    holdback.feed(_delta(KEY[:SHOWN_AT_END]) + _stop())
    with pytest.raises(UpstreamBadResponse, match="after its end"):
        holdback.feed(_delta(KEY[SHOWN_AT_END:]))
    holdback = _holdback()
    assert _texts(holdback.feed(_delta("a " + KEY[:-2]) + _stop() + _delta(KEY[-2:]))) == ["a ", "***", "12"]


def test_an_upstream_opening_texts_without_end_is_refused():
    """Each open text may keep back a few characters; past MAX_HELD_CHANNELS of them the stream is bad."""
    holdback = _holdback()
    for index in range(MAX_HELD_CHANNELS):
        holdback.feed(_delta("s", index))
    with pytest.raises(UpstreamBadResponse, match="at once"):
        holdback.feed(_delta("s", MAX_HELD_CHANNELS))


def test_an_upstream_ending_texts_in_keys_starts_without_end_is_refused():
    """Each text that ended in a key's start is remembered (more of it is refused); past
    MAX_HELD_CHANNELS of them the stream is bad, so that memory stays bounded."""
    holdback = _holdback()
    for index in range(MAX_HELD_CHANNELS):
        holdback.feed(_delta("s", index) + _stop(index))
    with pytest.raises(UpstreamBadResponse, match="ended in a secret's start"):
        holdback.feed(_delta("s", MAX_HELD_CHANNELS) + _stop(MAX_HELD_CHANNELS))


def test_events_framed_with_crlf_and_cut_anywhere_are_read_whole():
    """Events whose lines end in CRLF, cut between CR and LF, are still read one by one."""
    holdback = _holdback()
    stream = (_delta("the key sk-ant-") + _delta("secret-9012 x")).replace(b"\n", b"\r\n")
    out = b"".join(holdback.feed(stream[i:i + 1]) for i in range(len(stream))) + holdback.close()
    assert "".join(_texts(out.replace(b"\r\n", b"\n"))) == "the key *** x"


def test_an_event_cut_short_at_the_end_is_read_as_one():
    """The end of a stream that stops inside an event (its lines complete, the blank line
    missing) is read as an event, so its text cannot finish a key held back before it."""
    holdback = _holdback()
    out = holdback.feed(_delta("key sk-ant-") + _delta("secret-9012")[:-1]) + holdback.close()
    assert KEY not in "".join(_texts(out)) and "".join(_texts(out)) == "key ***"


def test_openai_chat_keeps_each_choice_apart():
    """Two choices stream two texts: each keeps back its own, and the finish chunk carries its rest."""
    holdback = _holdback("openai_chat")

    def chunk(index: int, text: str | None, finish: str | None = None) -> bytes:
        delta = {} if text is None else {"content": text}
        return answers._sse(None, {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                                   "choices": [{"index": index, "delta": delta, "finish_reason": finish}]})

    out = holdback.feed(chunk(0, "a sk-ant-sec") + chunk(1, "b gk-te") + chunk(0, "ret-9012") +
                        chunk(1, "st-0123456789!") + chunk(0, None, "stop") + chunk(1, " ok", "stop"))
    said = {0: "", 1: ""}
    for line in out.decode().splitlines():
        if line.startswith("data: {"):
            choice = json.loads(line[6:])["choices"][0]
            said[choice["index"]] += choice["delta"].get("content") or ""
    assert said == {0: "a ***", 1: "b ***! ok"}


def test_a_choice_ending_beside_another_that_shows_a_keys_start_does_not_free_it():
    """n=2, one chunk finishing both choices, the first ending in a key's first characters: the
    second's finish (which shows none) leaves the first ended, so more text there is refused."""
    holdback = _holdback("openai_chat")
    chunk = {"choices": [{"index": 0, "delta": {"content": "a " + KEY[:SHOWN_AT_END]}, "finish_reason": "stop"},
                         {"index": 1, "delta": {"content": "hi"}, "finish_reason": "stop"}]}
    holdback.feed(answers._sse(None, chunk))
    more = {"choices": [{"index": 0, "delta": {"content": KEY[SHOWN_AT_END:]}, "finish_reason": None}]}
    with pytest.raises(UpstreamBadResponse, match="after its end"):
        holdback.feed(answers._sse(None, more))


@pytest.mark.parametrize("odd", [b'{"n": NaN, ', b'{"n": 1e400, ', b'{"s": "\\ud800", ', b'{"a":' + b"[" * 5000])
def test_an_event_a_client_reads_and_routerd_cannot_is_refused(odd):
    """A text delta in JSON that Python's reader takes and msgspec does not (NaN, 1e400, a lone
    surrogate, deep nesting) would pass unseen, so its piece of a key with it: it is refused."""
    holdback = _holdback()
    event = _delta("sk-ant-sec").replace(b"data: {", b"data: " + odd, 1)
    with pytest.raises(UpstreamBadResponse, match="not JSON"):
        holdback.feed(event)


def test_json_with_whitespace_first_is_read():
    """Data with spaces before its JSON, which clients read, is read too: its text is kept back."""
    holdback = _holdback()
    out = holdback.feed(_delta("a sk-ant-sec").replace(b"data: {", b"data:   {", 1) + _delta("ret-9012"))
    assert _texts(out) == ["a ", "***"]


def test_tool_arguments_are_a_text_of_their_own():
    """A key cut across a tool call's argument deltas is blanked too (a client runs what they say)."""
    holdback = _holdback("openai_chat")

    def chunk(arguments: str) -> bytes:
        return answers._sse(None, {"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": arguments}}]}, "finish_reason": None}]})

    out = holdback.feed(chunk('{"cmd": "curl -d sk-ant-sec') + chunk('ret-9012"}')) + holdback.close(b"data: [DONE]\n\n")
    said = "".join(json.loads(line[6:])["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                   for line in out.decode().splitlines() if line.startswith("data: {"))
    assert said == '{"cmd": "curl -d ***"}'


def test_a_key_across_two_blocks_is_not_read_whole_by_a_client_joining_them():
    """A block that ends in a key's first characters (shown: they only name its kind) and a next
    block that starts with the rest: a client joining the blocks' text reads "***", not the key."""
    holdback = _holdback()
    start = answers._sse("content_block_start", {"type": "content_block_start", "index": 1,
                                                 "content_block": {"type": "text", "text": ""}})
    out = holdback.feed(_delta("a " + KEY[:SHOWN_AT_END]) + _stop() + start + _delta(KEY[SHOWN_AT_END:] + " ok", 1))
    assert "".join(_texts(out)) == "a " + KEY[:SHOWN_AT_END] + "*** ok"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_an_event_written_anew_keeps_its_id_and_retry_lines(newline):
    """An event whose text the holdback changed is encoded again with the ``id:`` and ``retry:``
    lines it came with (a client resumes from the last id), whatever its line ends."""
    holdback = _holdback()
    event = _delta("it is sk-a").replace(b"event: ", b"id: 41\nretry: 3000\nevent: ").decode()
    ping = newline.join([": ping", "", ""]).encode()  # a CR at the end could be a CRLF's first half
    out = holdback.feed(newline.join(event.split("\n")).encode()) + holdback.feed(ping)
    assert _texts(out) == ["it is "]
    assert out.startswith(b"id: 41\nretry: 3000\nevent: content_block_delta\n")


def test_a_citation_follows_the_text_kept_back_before_it():
    """An Anthropic citations_delta refers to its block's text: what the block kept back goes out
    just before it (it used to follow), and a key that text starts is blanked when the rest comes."""
    citation = answers._sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {
        "type": "citations_delta", "citation": {"type": "web_search_result_location", "url": "https://x.org/"}}})
    holdback = _holdback()
    assert _texts(holdback.feed(_delta("see s"))) == ["see "]
    out = holdback.feed(citation)
    assert _texts(out) == ["s"] and out.endswith(citation)
    rest = holdback.feed(_delta(KEY[1:] + " end") + _stop())
    assert _texts(rest) == ["*** end"] and KEY not in "".join(_texts(out + rest))


def test_a_final_copy_of_a_text_says_what_its_deltas_said_unless_it_is_another_text():
    """Responses writes each text out again when done: the copy gets the deltas' blanking (a key's
    start blanked at the end), but a copy that is not the text the deltas streamed is left alone."""
    def event(kind: str, **fields) -> bytes:
        return answers._sse(kind, {"type": kind, "output_index": 0, "content_index": 0, **fields})

    for done, expected in [("a " + KEY[:-1], "a ***"), ("other", "other")]:
        holdback = _holdback("responses")
        out = holdback.feed(event("response.output_text.delta", delta="a " + KEY[:-1]) +
                            event("response.output_text.done", text=done))
        assert json.loads(out.decode().split("data: ")[-1])["text"] == expected


def test_a_chunk_naming_a_choice_twice_ends_it_with_its_last_piece():
    """A chat chunk that finishes a choice and names it again: the choice's text ends with the
    chunk's last piece of it (the first used to end it, showing a key's first characters, and the
    second went on from them: 'sk-ant-s')."""
    holdback = _holdback("openai_chat")
    chunk = {"choices": [{"index": 0, "delta": {"content": KEY[:SHOWN_AT_END]}, "finish_reason": "stop"},
                         {"index": 0, "delta": {"content": KEY[SHOWN_AT_END]}, "finish_reason": None}]}
    out = holdback.feed(answers._sse(None, chunk)) + holdback.close(b"data: [DONE]\n\n")
    said = "".join(c["delta"].get("content") or "" for line in out.decode().splitlines()
                   if line.startswith("data: {") for c in json.loads(line[6:])["choices"])
    assert said == "***"


_PIECES = ["a", " ", "s", "sk-", "sk-ant-", "secret", "-9012", KEY[:12], KEY[12:], "***"]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(_PIECES), st.sampled_from([None, None, "stop"])),
                         min_size=1, max_size=3), max_size=10))
def test_no_choice_of_a_chat_stream_reads_a_key_or_ends_in_more_than_its_kind(chunks):
    """Any chunks of up to three choices, each piece a bit of a key or not, finishing or not: no
    choice's joined text holds the key, nor, unless the stream was refused, ends in more of it
    than SHOWN_AT_END characters."""
    holdback, out, refused = _holdback("openai_chat"), b"", False
    try:
        for chunk in chunks:
            out += holdback.feed(answers._sse(None, {"choices": [
                {"index": i, "delta": {"content": text}, "finish_reason": finish} for i, text, finish in chunk]}))
    except UpstreamBadResponse:
        refused = True
    out += holdback.close(b"data: [DONE]\n\n")
    said: dict[int, str] = {}
    for line in out.decode().splitlines():
        for choice in json.loads(line[6:])["choices"] if line.startswith("data: {") else ():
            said[choice["index"]] = said.get(choice["index"], "") + (choice["delta"].get("content") or "")
    for text in said.values():
        assert KEY not in text
        assert refused or not any(text.endswith(KEY[:n]) for n in range(SHOWN_AT_END + 1, len(KEY)))


def _responses_event(kind: str, **fields) -> bytes:
    return answers._sse(kind, {"type": kind, "output_index": 0, "content_index": 0, **fields})


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.lists(st.sampled_from(_PIECES), max_size=3), st.booleans()), max_size=8))
def test_a_responses_text_done_says_what_its_deltas_said(parts):
    """Any text in any deltas, an annotation after any of them: the text's done event says what
    the deltas said, which holds no key."""
    holdback = _holdback("responses")
    pieces = ["".join(p) for p, _ in parts]
    stream = b"".join(_responses_event("response.output_text.delta", delta=piece) + (
        _responses_event("response.output_text.annotation.added", annotation={"type": "url_citation"})
        if noted else b"") for piece, (_, noted) in zip(pieces, parts))
    out = holdback.feed(stream + _responses_event("response.output_text.done", text="".join(pieces)))
    events = [json.loads(line[6:]) for line in out.decode().splitlines() if line.startswith("data: ")]
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert KEY not in deltas and [e["text"] for e in events if e["type"].endswith(".done")] == [deltas]


def test_a_block_that_ends_after_a_citation_let_its_keys_start_go_is_ended():
    """A key's first characters let go before a citation, then the block's stop: more text in that
    block is refused, as after a block ending in them (it used to go on: 'sk-ant-s')."""
    citation = answers._sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {
        "type": "citations_delta", "citation": {"type": "web_search_result_location", "url": "https://x.org/"}}})
    holdback = _holdback()
    holdback.feed(_delta(KEY[:SHOWN_AT_END]) + citation + _stop())
    with pytest.raises(UpstreamBadResponse, match="after its end"):
        holdback.feed(_delta(KEY[SHOWN_AT_END]))


_BLOCK_EVENTS = st.one_of(st.tuples(st.just("text"), st.integers(0, 2), st.sampled_from(_PIECES)),
                          st.tuples(st.sampled_from(["cite", "stop"]), st.integers(0, 2), st.just("")))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_BLOCK_EVENTS, max_size=12))
def test_no_anthropic_block_reads_a_key_or_ends_in_more_than_its_kind(events):
    """Any text deltas, citations and stops on up to three blocks: no block's text holds the key,
    nor, unless the stream was refused, ends in more of it than SHOWN_AT_END characters."""
    citation = {"type": "citations_delta", "citation": {"type": "web_search_result_location", "url": "u"}}
    holdback, out, refused = _holdback(), b"", False
    try:
        for kind, index, text in events:
            out += holdback.feed(_delta(text, index) if kind == "text" else _stop(index) if kind == "stop" else
                                 answers._sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                                      "delta": citation}))
    except UpstreamBadResponse:
        refused = True
    out += holdback.close()
    said: dict[int, str] = {}
    for line in out.decode().splitlines():
        if line.startswith("data: ") and '"text_delta"' in line:
            event = json.loads(line[6:])
            said[event["index"]] = said.get(event["index"], "") + event["delta"]["text"]
    for text in said.values():
        assert KEY not in text
        assert refused or not any(text.endswith(KEY[:n]) for n in range(SHOWN_AT_END + 1, len(KEY)))



def test_a_responses_stream_keeps_its_texts_for_their_copies_only_up_to_what_one_event_holds(monkeypatch):
    """The texts kept for a Responses stream's done copies stop at MAX_EVENT_BYTES characters (no
    copy of more can arrive): an endless stream holds no more memory for them."""
    monkeypatch.setattr("routerd.gateway.holdback.MAX_EVENT_BYTES", 100)
    holdback = _holdback("responses")
    delta = answers._sse("response.output_text.delta", {"type": "response.output_text.delta", "output_index": 0,
                                                        "content_index": 0, "delta": "x" * 9 + "s"})
    holdback.feed(delta * 10)
    assert holdback._said is not None and sum(map(len, holdback._read[(0, "response.output_text", 0)])) == 100
    holdback.feed(delta)
    assert (holdback._said, holdback._read, holdback._finals) == (None, {}, None)
