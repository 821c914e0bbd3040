"""A fake of OpenAI's Codex backend as Codex CLI reaches it when signed in with ChatGPT
(``https://chatgpt.com/backend-api/codex``): ``POST .../responses`` answers a Responses stream
with the plan's usage windows in ``x-codex-*`` headers (the names and meaning codex-rs reads:
``codex-api/src/rate_limits.rs``), and, when ``event`` is set, a ``codex.rate_limits`` event
before the answer; or, when ``limited``, a 429 ``usage_limit_reached`` with those headers. Each
request's headers are kept in ``received``."""

import json
from dataclasses import dataclass, field

import anyio
import h11

from tests.fakes import answers
from tests.fakes.upstream import read_request, serve_each


@dataclass
class CodexBackend:
    headers: dict[str, str] = field(default_factory=dict)  # the x-codex-* headers of every answer
    event: dict | None = None  # the ``rate_limits`` of a ``codex.rate_limits`` event sent first
    credits: dict | None = None  # that event's ``credits`` (``has_credits``, ``unlimited``, ``balance``)
    limited: bool = False
    received: list[dict[str, str]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/backend-api/codex"

    async def serve(self, *, task_status=anyio.TASK_STATUS_IGNORED) -> None:
        await serve_each(self, self._connection, task_status=task_status)

    async def _connection(self, stream) -> None:
        conn = h11.Connection(h11.SERVER)
        async with stream:
            try:
                while (found := await read_request(conn, stream))[0] is not None:
                    request, body = found
                    self.received.append({k.decode().lower(): v.decode("latin-1") for k, v in request.headers})
                    await self._answer(conn, stream, json.loads(body))
                    conn.start_next_cycle()
            except (anyio.BrokenResourceError, anyio.EndOfStream, h11.RemoteProtocolError):
                return

    async def _answer(self, conn: h11.Connection, stream, request: dict) -> None:
        if self.limited:
            status, kind = 429, "application/json"
            body = json.dumps({"error": {"type": "usage_limit_reached", "message": "You have hit your ChatGPT "
                                         "usage limit.", "plan_type": "plus", "resets_in_seconds": 3600}}).encode()
        else:
            status, kind = 200, "text/event-stream"
            events = answers.stream("responses", request["model"], "Hello from the Codex backend.", None)
            if self.event is not None:
                data = {"type": "codex.rate_limits", "plan_type": "plus", "rate_limits": self.event,
                        **({"credits": self.credits} if self.credits is not None else {})}
                events.insert(0, b"event: codex.rate_limits\ndata: " + json.dumps(data).encode() + b"\n\n")
            body = b"".join(events)
        headers = [("content-type", kind), ("content-length", str(len(body))), *self.headers.items()]
        await stream.send(conn.send(h11.Response(status_code=status, headers=headers)))
        await stream.send(conn.send(h11.Data(data=body)))
        await stream.send(conn.send(h11.EndOfMessage()))
