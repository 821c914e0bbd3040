"""The incremental SSE parser and encoder."""

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from routerd.dialects.sse import EVENT_END, EventCutter, SSEDecoder, encode_event, encode_events
from tests.dialects.fixtures import ANTHROPIC_STREAM, GEMINI_STREAM

SAMPLE = (b": keep-alive comment\r\n"
          b"event: message_start\r\ndata: {\"a\":1}\r\n\r\n"
          b"data: line one\ndata: line two\n\n"
          b"data:no-space\rid: 7\rretry: 10\r\r"
          b"event: empty\n\n"
          b"data: \xc3\xa9t\xc3\xa9\n\n")
EXPECTED = [("message_start", '{"a":1}'), (None, "line one\nline two"), (None, "no-space"), (None, "\u00e9t\u00e9")]


def feed_in_pieces(payload: bytes, sizes: list[int]) -> list:
    decoder, out, pos = SSEDecoder(), [], 0
    for size in sizes:
        out.extend(decoder.feed(payload[pos:pos + size]))
        pos += size
    out.extend(decoder.feed(payload[pos:]))
    return out + decoder.close()


def test_parses_line_endings_comments_multiline_and_utf8():
    """CRLF, CR and LF endings, comments, multi-line data and UTF-8 all parse per the spec."""
    assert feed_in_pieces(SAMPLE, []) == EXPECTED


def test_every_two_way_split_gives_the_same_events():
    """Cutting the byte stream at any point (inside CRLF, inside UTF-8) changes nothing."""
    for cut in range(len(SAMPLE) + 1):
        assert feed_in_pieces(SAMPLE, [cut]) == EXPECTED, cut


def test_byte_at_a_time_recorded_streams():
    """Recorded Anthropic and Gemini (CRLF) streams parse identically fed one byte at a time."""
    for stream in (ANTHROPIC_STREAM, GEMINI_STREAM):
        whole = feed_in_pieces(stream, [])
        assert whole and feed_in_pieces(stream, [1] * len(stream)) == whole


def test_close_flushes_a_complete_last_event_and_drops_a_cut_one():
    """A final event missing only its blank line is delivered at close(); a half line is not."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: [DONE]\n") == []
    assert decoder.close() == [(None, "[DONE]")]
    cut = SSEDecoder()
    assert cut.feed(b'data: {"a":1}\n\ndata: {"b"') == [(None, '{"a":1}')]
    assert cut.close() == []


def test_encoder_round_trips_through_the_decoder():
    """Encoded events (named, unnamed, multi-line) decode back to themselves."""
    events = [("message_start", '{"x": 1}'), (None, "a\nb"), (None, "[DONE]")]
    assert encode_event("ping", "{}") == b"event: ping\ndata: {}\n\n"
    assert SSEDecoder().feed(encode_events(events)) == events


# Pieces an SSE stream is made of, line ends of every kind among them, for the fuzz tests.
_PIECES = st.sampled_from([b"\r", b"\n", b"\r\n", b"data: x", b"data:y", b"event: e", b": c", b"id: 1", b"z",
                           b"\xc3\xa9"])
_FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=None)


def _cuts(data: st.DataObject, whole: bytes) -> list[bytes]:
    """``whole`` cut at random places."""
    points = sorted(data.draw(st.lists(st.integers(0, len(whole)), max_size=12)))
    return [whole[a:b] for a, b in zip([0, *points], [*points, len(whole)])]


def _reference_events(whole: bytes) -> list[tuple[str | None, str]]:
    """The WHATWG reading of a whole stream, plainly: line ends made LF, blocks at blank lines, a
    last block with whole lines kept at the end."""
    text = whole.replace(b"\r\n", b"\n").replace(b"\r", b"\n").decode("utf-8", "replace")
    *blocks, rest = text.split("\n\n")
    if rest.endswith("\n") and rest.strip("\n"):
        blocks.append(rest)
    out = []
    for block in blocks:
        name, lines = None, []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                lines.append(value)
            elif field == "event":
                name = value or None
        if lines:
            out.append((name, "\n".join(lines)))
    return out


@_FUZZ
@given(pieces=st.lists(_PIECES, max_size=40), data=st.data())
def test_the_decoder_reads_any_cut_of_a_stream_as_the_reference_reads_it_whole(pieces, data):
    """Fed a stream cut at random places, the decoder gives the events a plain reading of the
    whole stream gives."""
    whole = b"".join(pieces)
    decoder, out = SSEDecoder(), []
    for chunk in _cuts(data, whole):
        out += decoder.feed(chunk)
    assert out + decoder.close() == _reference_events(whole)


@_FUZZ
@given(pieces=st.lists(_PIECES, max_size=40), data=st.data())
def test_the_cutter_cuts_any_cut_of_a_stream_where_its_events_end(pieces, data):
    """Fed a stream cut at random places, the cutter hands on every byte once, in order, whole
    events only: up to the last event end of the whole stream (one that ends in a CR could be a
    CRLF yet, so it waits), and the rest at the end."""
    whole = b"".join(pieces)
    ends = [m.end() for m in EVENT_END.finditer(whole)]
    if ends and ends[-1] == len(whole) and whole.endswith(b"\r"):
        ends.pop()
    last = ends[-1] if ends else 0
    cutter, given_out, at = EventCutter(), b"", []
    for chunk in _cuts(data, whole):
        given_out += cutter.feed(chunk)
        at.append(len(given_out))
    assert given_out == whole[:last] and cutter.rest() == whole[last:]
    assert set(at) <= {0, *ends}, "each feed ends at an event's end"


def test_an_empty_chunk_between_cr_and_lf_keeps_them_one_line_end():
    """``\\r``, then nothing, then ``\\n``: still one CRLF, so the two data lines are one event."""
    decoder = SSEDecoder()
    out = decoder.feed(b"data: x\r") + decoder.feed(b"") + decoder.feed(b"\ndata: y\n\n")
    assert out == [(None, "x\ny")]
