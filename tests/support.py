"""Test helpers shared by the suites: an async socket client and an in-process daemon."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from routerd.framing import FrameReader, encode_frame


class AsyncClient:
    """A minimal async client over the daemon's socket, speaking stdlib JSON."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self.stream = stream
        self.reader = FrameReader()

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send(data)

    async def read_frame(self) -> dict[str, Any] | None:
        """The next reply frame, or None when the daemon closed the connection."""
        while (frame := self.reader.next_frame()) is None:
            try:
                data = await self.stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                return None
            self.reader.feed(data)
        return json.loads(frame)

    async def stream_call(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        await self.stream.send(encode_frame(json.dumps({"v": 1, **request}).encode()))
        replies = []
        while True:
            reply = await self.read_frame()
            assert reply is not None, "daemon closed the connection"
            replies.append(reply)
            if reply.get("final", True):
                return replies

    async def stream_call_or_none(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """Send ``request``; its reply, or None when the daemon closes the connection instead."""
        await self.stream.send(encode_frame(json.dumps({"v": 1, **request}).encode()))
        return await self.read_frame()

    async def call(self, request: dict[str, Any]) -> dict[str, Any]:
        return (await self.stream_call(request))[-1]


@asynccontextmanager
async def connect(path: Path) -> AsyncIterator[AsyncClient]:
    async with await anyio.connect_unix(str(path)) as stream:
        yield AsyncClient(stream)
