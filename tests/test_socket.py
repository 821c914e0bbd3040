"""The socket front: control requests, and bad input that must never hurt other clients."""

import json

import anyio
import pytest

from routerd.framing import MAX_FRAME, encode_frame
from tests.support import connect

pytestmark = pytest.mark.anyio


async def test_ping(daemon):
    """ping answers with the version and the daemon's pid."""
    async with connect(daemon.socket_path) as client:
        reply = await client.call({"type": "ping"})
    assert reply["type"] == "pong" and reply["pid"] == daemon.pid


async def test_many_requests_on_one_connection(daemon):
    """A connection serves requests in order, one reply each."""
    async with connect(daemon.socket_path) as client:
        for _ in range(50):
            assert (await client.call({"type": "ping"}))["type"] == "pong"


async def test_pipelined_frames_in_one_write(daemon):
    """Several frames arriving in one packet each get their reply, in order."""
    async with connect(daemon.socket_path) as client:
        frames = b"".join(encode_frame(json.dumps({"type": t, "v": 1}).encode())
                          for t in ("ping", "bogus", "ping"))
        await client.send_raw(frames)
        types = [(await client.read_frame())["type"] for _ in range(3)]
    assert types == ["pong", "error", "pong"]


async def test_frame_split_byte_by_byte(daemon):
    """A frame delivered one byte at a time is reassembled."""
    async with connect(daemon.socket_path) as client:
        for byte in encode_frame(b'{"type": "ping", "v": 1}'):
            await client.send_raw(bytes([byte]))
        assert (await client.read_frame())["type"] == "pong"


@pytest.mark.parametrize(
    ("payload", "code", "fragment"),
    [
        (b"\xff\xfe garbage", "bad_request", "invalid JSON"),
        (b"[1, 2, 3]", "bad_request", "Expected `object`"),
        (b'{"v": 1}', "bad_request", "missing required field `type`"),
        (b'{"type": "frobnicate", "v": 1}', "unknown_type", "frobnicate"),
        (b'{"type": "ping", "v": 99}', "unsupported_version", "v99"),
        (b'{"type": "reroute", "v": 1, "decision_id": 5, "to": "x"}', "bad_request", "$.decision_id"),
        (b'{"type": "config_check", "v": 1, "path": ["a"]}', "bad_request", "$.path"),
        (b'{"type": "route", "v": 1, "prompt": "hi", "model": "gpt-4.1\\r\\n"}', "bad_request", "invalid model name"),
        (b'{"type": "route", "v": 1, "prompt": "hi", "model": " auto "}', "bad_request", "invalid model name"),
        (b'{"type": "ping", "v": 1, "x": "\\ud800"}', "bad_request", "lone UTF-16 surrogate escape"),
    ],
)
async def test_bad_frames_get_typed_errors_and_the_connection_survives(daemon, payload, code, fragment):
    """Bad JSON or schema gets an error reply naming the problem; the same connection still works."""
    async with connect(daemon.socket_path) as client:
        await client.send_raw(encode_frame(payload))
        reply = await client.read_frame()
        assert reply["type"] == "error" and reply["code"] == code, reply
        assert fragment in reply["message"]
        assert reply["retryable"] is False
        assert (await client.call({"type": "ping"}))["type"] == "pong"


async def test_unknown_fields_are_ignored(daemon):
    """A newer client's extra fields do not break an older daemon."""
    async with connect(daemon.socket_path) as client:
        reply = await client.call({"type": "ping", "from_the_future": {"x": [1]}})
    assert reply["type"] == "pong"


async def test_oversized_length_prefix_is_refused_and_closed(daemon):
    """A length prefix over 8 MiB gets bad_frame, then the connection closes."""
    async with connect(daemon.socket_path) as client:
        await client.send_raw((MAX_FRAME + 1).to_bytes(4, "big") + b"{}")
        reply = await client.read_frame()
        assert reply["code"] == "bad_frame" and "exceeds" in reply["message"]
        assert await client.read_frame() is None


async def test_truncated_frame_then_eof(daemon):
    """A frame cut short by the client closing its side gets bad_frame naming the truncation."""
    async with connect(daemon.socket_path) as client:
        await client.send_raw((100).to_bytes(4, "big") + b'{"type": "pi')
        await client.stream.send_eof()
        reply = await client.read_frame()
        assert reply["code"] == "bad_frame" and "truncated" in reply["message"]


async def test_silent_and_broken_clients_do_not_block_others(daemon):
    """Clients that send nothing, half a frame, or garbage leave others served meanwhile."""
    async with connect(daemon.socket_path) as silent, connect(daemon.socket_path) as half, \
            connect(daemon.socket_path) as noisy:
        await half.send_raw((50).to_bytes(4, "big") + b'{"ty')
        await noisy.send_raw(b"\x00\x00\x00\x05hello")
        async with connect(daemon.socket_path) as good:
            assert (await good.call({"type": "ping"}))["type"] == "pong"
        assert (await noisy.read_frame())["code"] == "bad_request"
        assert silent is not None


async def test_client_vanishing_mid_request_is_harmless(daemon):
    """A client that disconnects without reading its reply does not disturb the daemon."""
    for _ in range(5):
        async with connect(daemon.socket_path) as client:
            await client.send_raw(encode_frame(b'{"type": "status", "v": 1}'))
    async with connect(daemon.socket_path) as client:
        assert (await client.call({"type": "ping"}))["type"] == "pong"


async def test_idle_connections_close_on_drain(daemon):
    """Stopping the daemon closes connections that wait for their next request."""
    async with connect(daemon.socket_path) as client:
        assert (await client.call({"type": "ping"}))["type"] == "pong"
        daemon.request_stop()
        with anyio.fail_after(5):
            assert await client.read_frame() is None
