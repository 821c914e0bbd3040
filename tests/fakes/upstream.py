"""A fake LLM provider: a real HTTP server on 127.0.0.1 (h11 on anyio) that speaks OpenAI chat,
Responses, Anthropic Messages and Gemini, streaming and not, and fails on request like real ones.

Tests queue behaviours with ``fail(...)``, ``hang()``, ``reset()``, ``cut(after=n)``, ``garbage()``,
``hold()``, ``stall()``, ``drop()``, ``early_hints()``, ``garbage_stream()`` or ``events(...)``; each
request takes the next queued behaviour, and answers normally when the queue is empty; a request
the real provider would refuse for the model it names (``limits``: an output limit too high,
parameters the model does not take, a structured-output shape the API refuses) gets that
provider's 400; one for structured output is answered with JSON that fits its schema. Every request is kept in
``received`` (method, path, headers, body) so that tests can check what routerd forwarded. ``hold()`` streams the first event and then waits on ``release``; when the
caller goes away meanwhile, ``cancelled`` is set — that is how a test sees an upstream call end.
"""

import json
import socket
import ssl
import struct
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import h11
from anyio.abc import SocketAttribute
from anyio.streams.tls import TLSStream

from tests.fakes import answers, limits, search


# How long a provider takes between its early hints and its answer (as a real one would).
EARLY_HINTS_LEAD_S = 0.05


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Behaviour:
    kind: str = "ok"  # ok | status | hang | reset | cut | garbage | hold | stall | drop | early_hints
    #                  | garbage_stream | events
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    after: int = 1                 # cut: events sent before the cut; events: chunks sent before waiting
    chunks: tuple[bytes, ...] = ()  # events: the stream's body, one send each


class FakeUpstream:
    def __init__(self, text: str = "Hello from the fake provider.") -> None:
        self.text = text
        self.searches = 1  # how many searches an answer that runs the hosted web search runs
        self.received: list[Received] = []
        self.script: deque[Behaviour] = deque()
        self.release = anyio.Event()
        self.cancelled = anyio.Event()
        self.holding = anyio.Event()
        self.stalled = anyio.Event()      # a stall() or hang() behaviour has begun
        self.port = 0
        self.tls_failures = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- scripting -------------------------------------------------------------------------------

    def fail(self, status: int, body: Any = None, retry_after: float | None = None,
             headers: dict[str, str] | None = None) -> None:
        """Answer ``status`` with ``body`` (and a Retry-After, and any other ``headers``)."""
        raw = body if isinstance(body, bytes) else json.dumps(
            body or {"error": {"message": f"fake failure {status}", "type": "fake"}}).encode()
        headers = [("content-type", "application/json"), *(headers or {}).items()]
        if retry_after is not None:
            headers.append(("retry-after", f"{retry_after:g}"))
        self.script.append(Behaviour("status", status, raw, headers))

    def hang(self) -> None:
        self.script.append(Behaviour("hang"))

    def reset(self) -> None:
        self.script.append(Behaviour("reset"))

    def cut(self, after: int = 1) -> None:
        self.script.append(Behaviour("cut", after=after))

    def garbage(self) -> None:
        self.script.append(Behaviour("garbage"))

    def hold(self) -> None:
        self.script.append(Behaviour("hold"))

    def stall(self) -> None:
        """Answer 200 with an event-stream head, then send nothing more."""
        self.script.append(Behaviour("stall"))

    def drop(self) -> None:
        """Read the request, then close the connection without answering."""
        self.script.append(Behaviour("drop"))

    def early_hints(self) -> None:
        """Send ``103 Early Hints`` before the answer."""
        self.script.append(Behaviour("early_hints"))

    def garbage_stream(self) -> None:
        """Answer a stream request with an event-stream of bytes that are not events."""
        self.script.append(Behaviour("garbage_stream"))

    def events(self, *chunks: bytes, hold_after: int = 0) -> None:
        """Answer a stream request with an event-stream of exactly ``chunks`` (one send each), the
        first ``hold_after`` of them (when not 0) sent before waiting on ``release``."""
        self.script.append(Behaviour("events", chunks=chunks, after=hold_after))

    # --- serving ---------------------------------------------------------------------------------

    async def serve(self, *, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None,
                    task_status=anyio.TASK_STATUS_IGNORED) -> None:
        """Listen on ``host`` (an ephemeral port), speaking TLS with ``tls`` when given."""
        await serve_each(self, lambda stream: self._connection(stream, tls), host=host, task_status=task_status)

    async def _connection(self, stream, tls: ssl.SSLContext | None = None) -> None:
        conn = h11.Connection(h11.SERVER)
        if tls is not None:
            try:
                stream = await TLSStream.wrap(stream, server_side=True, ssl_context=tls,
                                              standard_compatible=False)
            except (ssl.SSLError, OSError, anyio.BrokenResourceError, anyio.EndOfStream):
                self.tls_failures += 1
                await stream.aclose()
                return
        async with stream:
            try:
                while True:
                    request, body = await read_request(conn, stream)
                    if request is None:
                        return
                    if not await self._answer(conn, stream, request, body):
                        return
                    conn.start_next_cycle()
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream,
                    h11.RemoteProtocolError):
                return

    async def _answer(self, conn, stream, request: h11.Request, body: bytes) -> bool:
        target = request.target.decode()
        path, _, query = target.partition("?")
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in request.headers}
        self.received.append(Received(request.method.decode(), path, query, headers, body))
        behaviour = self.script.popleft() if self.script else Behaviour()
        if behaviour.kind == "status":
            await self._send(conn, stream, behaviour.status, behaviour.headers, behaviour.body)
            return True
        if behaviour.kind == "hang":
            self.stalled.set()
            await anyio.sleep_forever()
        if behaviour.kind == "stall":
            await stream.send(conn.send(h11.Response(status_code=200, headers=[
                ("content-type", "text/event-stream")])))
            self.stalled.set()
            await anyio.sleep_forever()
        if behaviour.kind == "drop":
            return False
        if behaviour.kind == "early_hints":  # the answer follows once the model has "thought"
            await stream.send(conn.send(h11.InformationalResponse(status_code=103, headers=[
                ("link", "</style.css>; rel=preload")])))
            await anyio.sleep(EARLY_HINTS_LEAD_S)
        if behaviour.kind == "garbage_stream":
            await stream.send(conn.send(h11.Response(status_code=200, headers=[
                ("content-type", "text/event-stream")])))
            await stream.send(conn.send(h11.Data(data=b"<html>this is not an event stream")))
            await stream.send(conn.send(h11.EndOfMessage()))
            return True
        if behaviour.kind == "events":
            await stream.send(conn.send(h11.Response(status_code=200, headers=[
                ("content-type", "text/event-stream")])))
            for n, chunk in enumerate(behaviour.chunks):
                if n and n == behaviour.after:
                    await self._hold(stream)
                await stream.send(conn.send(h11.Data(data=chunk)))
            await stream.send(conn.send(h11.EndOfMessage()))
            return True
        if behaviour.kind == "reset":
            sock = stream.extra(SocketAttribute.raw_socket)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if behaviour.kind == "garbage":
            await self._send(conn, stream, 200, [("content-type", "application/json")], b"<html>oops")
            return True
        return await self._reply(conn, stream, path, body, behaviour)

    async def _reply(self, conn, stream, path: str, body: bytes, behaviour: Behaviour) -> bool:
        dialect = _dialect(path)
        if path.endswith("/models"):
            payload = {"object": "list", "data": [{"id": "fake-model", "object": "model"}]}
            await self._send(conn, stream, 200, [("content-type", "application/json")],
                             json.dumps(payload).encode())
            return True
        request = json.loads(body) if body else {}
        if path.endswith("/count_tokens"):
            await self._send(conn, stream, 200, [("content-type", "application/json")],
                             json.dumps({"input_tokens": answers.INPUT_TOKENS}).encode())
            return True
        if dialect == "anthropic" and (refused := search.anthropic_refusal(request)) is not None:
            await self._send(conn, stream, 400, [("content-type", "application/json")], json.dumps(
                {"type": "error", "error": {"type": "invalid_request_error", "message": refused}}).encode())
            return True
        model = request.get("model") or path.split("/models/")[-1].split(":")[0]
        if (refused := limits.refusal(dialect, model, request)) is not None:  # as the real API would
            await self._send(conn, stream, refused[0], [("content-type", "application/json")],
                             json.dumps(refused[1]).encode())
            return True
        if (refused := answers.json_refusal(dialect, model, request)) is not None:
            await self._send(conn, stream, refused[0], [("content-type", "application/json")],
                             json.dumps(refused[1]).encode())
            return True
        tool = answers.forced_tool(dialect, request) or _wanted_tool(dialect, request)
        text = self.text if tool else (answers.json_answer(dialect, request) or self.text)
        searches = search.offers_search(dialect, request)  # the provider runs its hosted search itself
        streaming = request.get("stream") or "streamGenerateContent" in path
        if not streaming:
            answer = (search.body(dialect, model, request, self.searches) if searches
                      else answers.body(dialect, model, text, tool))
            await self._send(conn, stream, 200, [("content-type", "application/json")], json.dumps(answer).encode())
            return True
        events = (search.stream(dialect, model, request, self.searches) if searches
                  else answers.stream(dialect, model, text, tool))
        await stream.send(conn.send(h11.Response(status_code=200, headers=[
            ("content-type", "text/event-stream"), ("x-request-id", "req_fake")])))
        for n, event in enumerate(events):
            if behaviour.kind == "cut" and n == behaviour.after:
                return False  # close mid-stream, without the last chunk
            await stream.send(conn.send(h11.Data(data=event)))
            if behaviour.kind == "hold" and n == 0:
                await self._hold(stream)
        await stream.send(conn.send(h11.EndOfMessage()))
        return True

    async def _hold(self, stream) -> None:
        """Wait for ``release`` or for the caller to close the connection (then set ``cancelled``)."""
        self.holding.set()
        async with anyio.create_task_group() as tg:
            async def watch() -> None:
                try:
                    await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    self.cancelled.set()
                    tg.cancel_scope.cancel()

            tg.start_soon(watch)
            await self.release.wait()
            tg.cancel_scope.cancel()
        if self.cancelled.is_set():
            raise anyio.EndOfStream

    async def _send(self, conn, stream, status: int, headers, body: bytes) -> None:
        headers = [*headers, ("content-length", str(len(body)))]
        await stream.send(conn.send(h11.Response(status_code=status, headers=headers)))
        await stream.send(conn.send(h11.Data(data=body)))
        await stream.send(conn.send(h11.EndOfMessage()))


async def serve_each(fake: Any, connection: Callable[[Any], Awaitable[None]], *, host: str = "127.0.0.1",
                     task_status=anyio.TASK_STATUS_IGNORED) -> None:
    """A fake server's listening: an ephemeral port on ``host`` (set as ``fake.port``), ``fake``
    reported started, and each accepted stream served by ``connection`` until cancelled."""
    listener = (await anyio.create_tcp_listener(local_host=host, local_port=0)).listeners[0]
    fake.port = listener.extra(SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        task_status.started(fake)
        while True:
            tg.start_soon(connection, await listener.accept())


def _dialect(path: str) -> str:
    if path.endswith("/chat/completions"):
        return "openai_chat"
    if path.endswith("/responses"):
        return "responses"
    if "/messages" in path:
        return "anthropic"
    return "gemini"


def _wanted_tool(dialect: str, request: dict) -> dict | None:
    """Call the first tool offered, unless the conversation already holds a tool result."""
    tools = request.get("tools") or []
    if not tools:
        return None
    text = json.dumps(request.get("messages") or request.get("input") or request.get("contents"))
    if any(marker in text for marker in ('"tool_result"', '"role": "tool"', "function_call_output",
                                         "functionResponse")):
        return None
    tool = tools[0]
    name = (tool.get("name") or (tool.get("function") or {}).get("name")
            or (tool.get("functionDeclarations") or [{}])[0].get("name") or "tool")
    return {"name": name, "arguments": {"city": "Paris"}}


async def read_request(conn: h11.Connection, stream) -> tuple[h11.Request | None, bytes]:
    """The next whole request on ``stream`` (h11 server side), or (None, b"") when there is none."""
    request, body = None, bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                data = await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                data = b""
            conn.receive_data(data)
        elif isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return request, bytes(body)
        else:
            return None, b""
