"""The incremental SSE parser and encoder."""

from routerd.dialects.sse import SSEDecoder, encode_event, encode_events
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
