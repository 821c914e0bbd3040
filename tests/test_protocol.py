"""The wire contract: framing, the msgspec schema, and stdlib-JSON clients agreeing with it."""

import json

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routerd.errors import BadRequest
from routerd.framing import MAX_FRAME, FrameReader, FrameTooLarge, encode_frame
from routerd.protocol import codec, replies, reports, requests
from routerd.protocol.codec import decode_request

# One example request per type, written the way a stdlib client (routerctl, a shim) writes it.
STDLIB_REQUESTS = {
    "ping": {},
    "status": {},
    "stop": {},
    "reload": {},
    "config_check": {"path": "/etc/routerd.toml"},
    "health": {},
    "breaker_reset": {"target": "openai/gpt-4o"},
    "prune": {},
    "classify": {"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]},
    "route": {"prompt": "x", "session_id": "s1", "explain": True, "model": None},
    "reroute": {"decision_id": "d1", "to": "complex", "reason": "too weak"},
    "rate": {"decision_id": "d1", "rating": "good"},
    "set_profile": {"profile": "budget"},
    "hook": {"host": "claude-code", "event": "UserPromptSubmit", "payload": {"prompt": "x"}},
    "mcp": {"message": {"jsonrpc": "2.0", "id": 1, "method": "ping"}},
    "usage": {"since": "7d"},
    "savings": {},
    "report": {"period": "week", "group_by": "project"},
    "export": {"table": "decisions", "period": "month"},
    "statusline": {"session_id": "5f0c2c84-0a8b-4d55-9f8e-0d1c1a2b3c4d"},
    "budget": {"period": "today"},
    "dashboard": {"period": "week", "decisions": 10},
    "hook_mode": {"mode": "smart"},
}


def test_every_request_type_has_a_stdlib_example():
    """The contract examples cover the whole request union."""
    missing = requests.REQUEST_TAGS - set(STDLIB_REQUESTS)
    assert not missing, f"add a stdlib-JSON example of {sorted(missing)} to STDLIB_REQUESTS"
    assert set(STDLIB_REQUESTS) <= requests.REQUEST_TAGS


@pytest.mark.parametrize("tag", sorted(STDLIB_REQUESTS))
def test_stdlib_json_requests_decode_into_the_schema(tag):
    """Bytes built with the stdlib json module decode to the Struct of the same tag, and back."""
    wire = json.dumps({"type": tag, "v": 1, **STDLIB_REQUESTS[tag]}).encode()
    request = decode_request(wire)
    assert request.__struct_config__.tag == tag
    again = json.loads(msgspec.json.encode(request))
    assert again["type"] == tag
    for key, value in STDLIB_REQUESTS[tag].items():
        assert again[key] == value


def test_hook_payload_is_passed_through_as_raw_bytes():
    """A shim's stdin bytes embedded as the payload value reach the daemon unparsed and intact."""
    stdin = b'{"prompt": "caf\\u00e9 \xe2\x98\x95", "session_id": "abc", "n": [1, 2.5, null]}'
    wire = b'{"type":"hook","v":1,"host":"claude-code","payload":' + stdin + b"}"
    request = decode_request(wire)
    assert bytes(request.payload) == stdin


def test_replies_read_by_stdlib_json():
    """Every reply encodes to JSON a stdlib client reads; errors always carry retryable."""
    error = json.loads(codec.ENCODER.encode(replies.Error(code="x", message="m", retryable=False)))
    assert error == {"type": "error", "code": "x", "message": "m", "retryable": False}
    pong = json.loads(codec.ENCODER.encode(replies.Pong(version="1", pid=2)))
    assert pong == {"type": "pong", "version": "1", "pid": 2}
    rows = reports.ExportRowsReply(kind="export_rows", data=reports.ExportRows(rows=[(1, "a")]), final=False)
    partial = json.loads(codec.ENCODER.encode(rows))
    assert partial == {"type": "data", "kind": "export_rows", "data": {"rows": [[1, "a"]]}, "final": False}


@pytest.mark.parametrize(("frame", "said"), [
    (rb'{"type": "ping", "v": 1, "x": "\ud800"}', r"lone UTF-16 surrogate escape \ud800 at byte 31"),
    (rb'{"type": "ping", "v": 1, "x": "a\uDBFF"}', r"lone UTF-16 surrogate escape \uDBFF"),
    (rb'{"type": "ping", "v": 1, "x": "', "Input data was truncated"),
])
def test_a_lone_surrogate_is_named_not_called_truncated(frame, said):
    """msgspec calls a lone surrogate escape before a closing quote "truncated"; the reply says what it is."""
    with pytest.raises(BadRequest) as raised:
        decode_request(frame)
    assert said in raised.value.message and raised.value.message.startswith("invalid JSON: ")


def test_frame_round_trip_and_limit():
    """Frames carry their payload exactly; a frame over 8 MiB is refused on both sides."""
    reader = FrameReader()
    reader.feed(encode_frame(b"abc") + encode_frame(b"") + encode_frame(b"x" * 70000)[:10])
    assert reader.next_frame() == b"abc"
    assert reader.next_frame() == b""
    assert reader.next_frame() is None
    assert reader.pending == 6
    with pytest.raises(FrameTooLarge):
        encode_frame(b"x" * (MAX_FRAME + 1))
    reader = FrameReader()
    reader.feed((MAX_FRAME + 1).to_bytes(4, "big"))
    with pytest.raises(FrameTooLarge):
        reader.next_frame()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
request_like = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(requests.REQUEST_TAGS)) | st.text(max_size=10)},
    optional={"v": st.integers(-2, 3) | st.text(max_size=3), "prompt": json_values,
              "messages": json_values, "decision_id": json_values, "payload": json_values,
              "message": json_values, "path": json_values, "host": json_values},
)
frames = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    request_like.map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(frames)
def test_decoder_survives_arbitrary_frames(frame):
    """10,000 generated frames: the decoder returns a request or raises BadRequest, nothing else."""
    try:
        request = decode_request(frame)
    except BadRequest as exc:
        assert exc.code in {"bad_request", "unknown_type", "unsupported_version"}
        assert exc.message
    else:
        assert request.__struct_config__.tag in requests.REQUEST_TAGS


@settings(max_examples=500, deadline=None)
@given(st.lists(st.binary(max_size=100), max_size=8), st.data())
def test_frame_reader_reassembles_any_split(payloads, data):
    """However the byte stream is cut into reads, the reader yields the same frames in order."""
    stream = b"".join(encode_frame(p) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    reader, out, last = FrameReader(), [], 0
    for cut in [*cuts, len(stream)]:
        reader.feed(stream[last:cut])
        last = cut
        while (frame := reader.next_frame()) is not None:
            out.append(frame)
    assert out == payloads
