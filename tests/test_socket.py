"""The socket front: control requests and bad input."""

import pytest

from tests.support import connect

pytestmark = pytest.mark.anyio


async def test_ping(daemon):
    """ping answers with the version and pid."""
    async with connect(daemon.socket_path) as client:
        reply = await client.call({"type": "ping"})
    assert reply["type"] == "pong" and reply["pid"] == daemon.pid
