"""A recording fake upstream for the end-to-end tests: a real HTTP/1.1 server (h11 on anyio) on
127.0.0.1 that speaks one provider dialect and keeps every request it received.

Like the real Messages API, the Anthropic fake refuses (400) what a known model does not take
(``replies.anthropic_rejection``). Its answers come from a script of ``Turn`` values (text, or one tool call), taken in order and the
last one repeated, so that a test can drive a coding agent through a tool round trip. A request
offering the provider's hosted web search is answered with a search (``tests.fakes.search``). Streams are
sent one SSE event per chunk (chunked transfer encoding), the way providers send them. Usage figures
are fixed (``INPUT_TOKENS``, ``OUTPUT_TOKENS``) so that tests can check what routerd recorded.

This is the "tiny recording server" the CLIs' traffic was first observed with; see the docstrings
of ``test_claude_code`` and ``test_codex`` for what it showed.
"""

import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import anyio
import anyio.abc
import h11

from tests.e2e import replies
from tests.fakes import search

Dialect = Literal["anthropic", "openai", "responses", "gemini"]
INPUT_TOKENS = replies.INPUT_TOKENS
OUTPUT_TOKENS = replies.OUTPUT_TOKENS
Turn = replies.Turn


@dataclass(frozen=True)
class Received:
    """One request as the upstream saw it (header names lower-cased, repeated ones joined)."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Upstream:
    """A running fake provider. ``url`` is its origin (``http://127.0.0.1:PORT``)."""

    dialect: Dialect
    script: list[Turn]
    url: str = ""
    received: list[Received] = field(default_factory=list)
    answered: int = 0
    # Answers rendered so far (scripted or chosen): the next one's ids carry this number plus one.
    rendered: int = 0
    # When set, the next stream stops after the chunk containing these bytes until the event is set:
    # a client that shows the text before then proves nothing in between buffered the stream.
    hold: tuple[bytes, anyio.Event] | None = None
    # When set, answers a request by what it is (a subagent's, a hook's) before the script is used:
    # a coding agent's concurrent calls arrive in no fixed order.
    choose: Callable[[Received], Turn | None] | None = None

    def calls(self, path: str) -> list[Received]:
        """The requests received on ``path`` (query string ignored), in order."""
        return [r for r in self.received if r.path == path]

    def next_turn(self) -> Turn:
        turn = self.script[min(self.answered, len(self.script) - 1)]
        self.answered += 1
        return turn


@asynccontextmanager
async def open_upstream(dialect: Dialect, *turns: Turn | str, numbered_after: int = 0) -> AsyncIterator[Upstream]:
    """Serve a fake ``dialect`` provider on an ephemeral loopback port for the duration. Its answers'
    ids count from ``numbered_after`` + 1: a test with several fakes gives each its own range, as
    providers' ids never repeat (Claude Code merges assistant turns that share a message id)."""
    script = [Turn(text=t) if isinstance(t, str) else t for t in turns] or [Turn(text="ok")]
    upstream = Upstream(dialect=dialect, script=script, rendered=numbered_after)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    async with listener, anyio.create_task_group() as tg:
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        upstream.url = f"http://127.0.0.1:{port}"
        tg.start_soon(listener.serve, lambda stream: _serve_connection(upstream, stream))
        yield upstream
        tg.cancel_scope.cancel()


async def _serve_connection(upstream: Upstream, stream: anyio.abc.ByteStream) -> None:
    conn = h11.Connection(h11.SERVER)
    async with stream:
        while True:
            request = await _read_request(conn, stream)
            if request is None:
                return
            upstream.received.append(request)
            status, content_type, chunks = _answer(upstream, request)
            hold, upstream.hold = (upstream.hold, None) if content_type == "text/event-stream" else (None, upstream.hold)
            await _send_response(conn, stream, status, content_type, chunks, request.method, hold)
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return  # "Connection: close", or the client left while we answered
            conn.start_next_cycle()


async def _read_request(conn: h11.Connection, stream: anyio.abc.ByteStream) -> Received | None:
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                conn.receive_data(await stream.receive())
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                conn.receive_data(b"")
            continue
        if isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            headers: dict[str, str] = {}
            for name, value in head.headers:
                key = name.decode().lower()
                headers[key] = f"{headers[key]},{value.decode()}" if key in headers else value.decode()
            return Received(head.method.decode(), head.target.decode(), headers, bytes(body))
        elif isinstance(event, h11.ConnectionClosed):
            return None


async def _send_response(conn: h11.Connection, stream: anyio.abc.ByteStream, status: int,
                         content_type: str, chunks: list[bytes], method: str,
                         hold: tuple[bytes, anyio.Event] | None = None) -> None:
    headers = [("content-type", content_type)]
    streaming = content_type == "text/event-stream"
    if not streaming:
        headers.append(("content-length", str(sum(map(len, chunks)))))
    try:
        await stream.send(conn.send(h11.Response(status_code=status, headers=headers)))
        for chunk in chunks if method != "HEAD" else []:
            await stream.send(conn.send(h11.Data(data=chunk)))
            if hold is not None and hold[0] in chunk:
                await hold[1].wait()
                hold = None
        await stream.send(conn.send(h11.EndOfMessage()))
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        conn.send_failed()


def _answer(upstream: Upstream, request: Received) -> tuple[int, str, list[bytes]]:
    """Status, content type and body chunks for ``request`` in the upstream's dialect."""
    route = (upstream.dialect, request.method, request.path)
    if request.method == "GET" and request.path == "/v1/models":
        return 200, "application/json", [json.dumps(replies.models()).encode()]
    if route == ("anthropic", "POST", "/v1/messages/count_tokens"):
        return 200, "application/json", [json.dumps({"input_tokens": INPUT_TOKENS}).encode()]
    render = {
        ("anthropic", "POST", "/v1/messages"): replies.anthropic,
        ("openai", "POST", "/v1/chat/completions"): replies.openai_chat,
        ("responses", "POST", "/v1/responses"): replies.responses,
    }.get(route)
    if upstream.dialect == "gemini" and request.method == "POST" and "Content" in request.path.rpartition(":")[2]:
        render = replies.gemini  # /v1beta/models/{model}:generateContent or :streamGenerateContent
    if render is None:
        error = {"error": {"type": "not_found", "message": f"no route {request.method} {request.path}"}}
        return 404, "application/json", [json.dumps(error).encode()]
    try:
        body = request.json()
    except ValueError:
        return 400, "application/json", [b'{"error": {"type": "invalid_request", "message": "bad JSON"}}']
    if upstream.dialect == "anthropic" and (
            problem := replies.anthropic_rejection(body, request.headers.get("anthropic-beta", ""))):
        error = {"type": "error", "error": {"type": "invalid_request_error", "message": problem}}
        return 400, "application/json", [json.dumps(error).encode()]
    streaming = body.get("stream") or request.path.endswith(":streamGenerateContent")
    if search.offers_search(upstream.dialect, body):  # the provider runs its hosted search itself
        model = body.get("model", "")
        if streaming:
            return 200, "text/event-stream", search.stream(upstream.dialect, model, body)
        return 200, "application/json", [json.dumps(search.body(upstream.dialect, model, body)).encode()]
    turn = (upstream.choose(request) if upstream.choose is not None else None) or upstream.next_turn()
    if turn.status != 200:
        return turn.status, "application/json", [json.dumps(replies.error(upstream.dialect, turn.status)).encode()]
    upstream.rendered += 1
    if streaming:
        return 200, "text/event-stream", list(_encode(render(body, turn, stream=True, number=upstream.rendered)))
    return 200, "application/json", [json.dumps(render(body, turn, stream=False, number=upstream.rendered)).encode()]


def _encode(events: Any) -> Iterator[bytes]:
    for name, data in events:
        if data is None:
            yield b"data: [DONE]\n\n"
        elif name:
            yield f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
        else:
            yield f"data: {json.dumps(data)}\n\n".encode()
