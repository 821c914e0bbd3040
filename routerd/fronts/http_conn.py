"""What an HTTP route sees of its connection: the app, the parser to write answers with, the body
reader, and the flags a proxied call shares with the connection's reader task. ``routerd.fronts.http``'s
``Connection`` is the one implementation; routes name this Protocol instead of importing it, since
``http`` imports the routes."""

from __future__ import annotations

from typing import Protocol

import anyio

from routerd.app import App
from routerd.fronts.http_wire import RequestHead, ServerWire


class HttpConnection(Protocol):
    app: App
    wire: ServerWire
    closed: bool                                 # answer with "connection: close", then stop
    eof: bool                                    # the client closed its side
    request_scope: anyio.CancelScope | None      # cancelled by the reader when the client goes away

    def local_host(self) -> str | None: ...

    async def read_body(self, head: RequestHead) -> bytes: ...

    async def send(self, data: bytes) -> None: ...
