"""The gateway's endpoints: which dialect each path speaks, the gateway key, and the answers.

``POST /v1/chat/completions`` (OpenAI chat), ``POST /v1/responses`` (OpenAI Responses),
``POST /v1/messages`` and ``/v1/messages/count_tokens`` (Anthropic),
``POST /v1beta/models/{model}:generateContent|streamGenerateContent|countTokens`` (Gemini),
``GET /v1/models`` and ``GET /health``. Proxied requests go: read the body -> peek at ``model`` and
``stream`` (Gemini: the URL) -> routing decision -> dispatch -> relay. Errors raised before dispatch
become the dialect's error body here.
"""

import logging
import time

import anyio
import msgspec

from routerd.errors import BadRequest, NotFound, RouterdError
from routerd.fronts.http_guard import check_host, check_json, check_key, check_model, check_origin
from routerd.fronts.http_wire import HttpError, RequestHead
from routerd.gateway.dispatch import ProxyRequest, Reply, error_reply, open_call
from routerd.gateway.plan import decide
from routerd.gateway.replies import error_body

log = logging.getLogger("routerd.http")

# path -> (dialect, endpoint suffix sent upstream)
PROXIED = {
    b"/v1/chat/completions": ("openai_chat", b""),
    b"/chat/completions": ("openai_chat", b""),
    b"/v1/responses": ("responses", b""),
    b"/responses": ("responses", b""),
    b"/v1/messages": ("anthropic", b""),
    b"/v1/messages/count_tokens": ("anthropic", b"/count_tokens"),
}
_JSON = (b"content-type", b"application/json")


class _Peek(msgspec.Struct):
    """The two fields the gateway reads before deciding; everything else is passed through."""

    model: str = ""
    stream: bool = False


_PEEK = msgspec.json.Decoder(_Peek)


# Gemini's generateContent family: the model and the method are in the path.
_GEMINI_METHODS = (b"generateContent", b"streamGenerateContent", b"countTokens")


def gemini_route(path: bytes) -> tuple[str, bytes] | None:
    """(model, method) of a Gemini ``/v1beta/models/{model}:{method}`` path, else None."""
    for prefix in (b"/v1beta/models/", b"/v1/models/"):
        if path.startswith(prefix):
            model, sep, method = path[len(prefix):].rpartition(b":")
            if sep and model and method in _GEMINI_METHODS:
                return model.decode("utf-8", "replace"), method
    return None


def dialect_of(path: bytes, headers: dict[bytes, bytes] | None = None) -> str:
    if path.startswith(b"/v1/messages") or (headers and b"anthropic-version" in headers):
        return "anthropic"
    if gemini_route(path) is not None:
        return "gemini"
    return "responses" if path.endswith(b"/responses") else "openai_chat"


async def handle_request(conn, head: RequestHead) -> None:
    """Answer one request on ``conn``; HttpError propagates (the connection then closes)."""
    app = conn.app
    received = time.perf_counter()
    route = PROXIED.get(head.path)
    if route is None and (gemini := gemini_route(head.path)) is not None:
        route = ("gemini", b":" + gemini[1])
    dialect = route[0] if route else dialect_of(head.path, head.headers)
    config = app.runtime.config
    try:
        check_host(config, head.headers, conn.local_host)
        check_origin(config, head.headers)
        if route is not None and head.method == b"POST":
            check_key(config, head.headers, head.query)
            check_json(head.headers)
            await _proxy(conn, head, route, await conn.read_body(head), received)
        elif head.path.startswith(b"/hooks/") and head.method == b"POST":  # coding-agent HTTP hooks
            from routerd.integrations.http_hooks import answer_http_hook

            check_key(config, head.headers)
            check_json(head.headers)
            body = await conn.read_body(head)
            await _send_raw_json(conn, head, 200, await answer_http_hook(app, head.path, body))
        else:
            await _answer_other(conn, head, route, dialect)
    except RecursionError:  # msgspec's answer to JSON nested past the interpreter's stack
        await _send_reply(conn, head, error_reply(dialect, BadRequest("request body is nested too deeply")))
    except RouterdError as exc:
        await _send_reply(conn, head, error_reply(dialect, exc))
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, HttpError):
        raise
    except Exception as exc:  # a bug: answer 500, log it, keep serving everyone else
        log.exception("gateway request failed")
        conn.closed = True
        if not conn.wire.responded:
            await _send_reply(conn, head, error_reply(dialect, RouterdError(
                f"internal error: {type(exc).__name__}")))


async def _answer_other(conn, head: RequestHead, route, dialect: str) -> None:
    """The GET endpoints, and the 404/405 answers."""
    app = conn.app
    await conn.read_body(head)
    if head.path == b"/health" and head.method in (b"GET", b"HEAD"):
        await _send_json(conn, head, 200, await _health(app))
    elif head.path in (b"/v1/models", b"/models") and head.method == b"GET":
        check_key(app.runtime.config, head.headers)
        await _send_json(conn, head, 200, await _models(app, dialect))
    elif route is not None:
        raise _MethodNotAllowed(f"{_text(head.method)} is not allowed on {_text(head.path)}")
    else:
        raise NotFound(f"no such endpoint: {_text(head.method)} {_text(head.path)}")


def _text(value: bytes) -> str:
    """Client bytes for a message: they need not be UTF-8."""
    return value.decode("utf-8", "replace")


class _MethodNotAllowed(BadRequest):
    http_status = 405


async def _proxy(conn, head: RequestHead, route: tuple[str, bytes], body: bytes, received: float) -> None:
    app = conn.app
    dialect = route[0]
    peek, endpoint = _peek(head, route, body)
    gateway = await app.parts["gateway"].current()
    # Claude Code's session header, or Codex's (session-id, the same uuid as its thread-id).
    session = head.headers.get(b"x-claude-code-session-id") or head.headers.get(b"session-id") or b""
    summary = {"session_id": session.decode(errors="replace") or None}
    plan = await decide(app, gateway.providers, app.runtime.config.gateway, dialect, peek.model or "auto",
                        summary, body)
    request = ProxyRequest(dialect, endpoint, head.query, head.headers, body, peek.model,
                           peek.stream and endpoint in (b"", b":streamGenerateContent"), received)
    gateway.requests += 1
    gateway.in_flight += 1
    try:
        # The connection's reader cancels this scope if the client goes away meanwhile.
        with anyio.CancelScope() as scope:
            conn.request_scope = scope
            if conn.eof:
                scope.cancel()
            async with open_call(gateway, request, plan) as reply:
                if reply.status >= 400:
                    gateway.errors += 1
                reply.headers += _routing_headers(reply, plan)
                await _send_reply(conn, head, reply)
        if scope.cancelled_caught:
            conn.closed = True
            gateway.client_disconnects += 1
    finally:
        conn.request_scope = None
        gateway.in_flight -= 1


def _peek(head: RequestHead, route: tuple[str, bytes], body: bytes) -> tuple[_Peek, bytes]:
    """The model and stream flag a request asks for (Gemini: from its URL), checked, and the
    endpoint it goes to."""
    dialect, endpoint = route
    try:
        peek = _PEEK.decode(body)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid request body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("request body is nested too deeply") from None
    if dialect == "gemini":  # the model and streaming are in the URL
        peek.model, method = gemini_route(head.path)
        peek.stream = method == b"streamGenerateContent"
        if peek.stream and b"alt=sse" not in head.query:
            raise BadRequest("routerd streams Gemini answers as server-sent events: add ?alt=sse")
        endpoint = b":" + method
    elif not peek.model and dialect != "anthropic" and endpoint == b"":
        peek.model = "auto"
    if peek.model:
        check_model(peek.model)
    return peek, endpoint


def _routing_headers(reply: Reply, plan) -> list[tuple[bytes, bytes]]:
    out = [(b"x-routerd-decision-id", plan.decision_id.encode()),
           (b"x-routerd-overhead-ms", b"%.3f" % reply.overhead_ms)]
    if reply.candidate is not None:
        out.append((b"x-routerd-model", reply.candidate.model.encode()))
        out.append((b"x-routerd-provider", reply.candidate.provider.encode()))
    return out


async def _send_reply(conn, head: RequestHead, reply: Reply) -> None:
    wire, close = conn.wire, conn.closed or not conn.wire.message_complete
    if reply.relay is None:
        await conn.send(wire.response(reply.status, reply.headers, reply.body, close=close))
        return
    conn.app.parts["gateway"].streams += 1
    relay = reply.relay
    out = wire.response(reply.status, reply.headers, None, close=close)
    if relay.ready:  # the first events came with the upstream's head: one send for both
        data = await relay.receive()
        out += wire.data(data) if data else wire.end()
        if not data:
            await conn.send(out)
            return
    await conn.send(out)
    while data := await relay.receive():
        await conn.send(wire.data(data))
    await conn.send(wire.end())


async def _send_json(conn, head: RequestHead, status: int, value) -> None:
    await _send_raw_json(conn, head, status, msgspec.json.encode(value))


async def _send_raw_json(conn, head: RequestHead, status: int, body: bytes) -> None:
    await conn.send(conn.wire.response(status, [_JSON], body, close=conn.closed))


async def answer_error(conn, head: RequestHead | None, status: int, message: str) -> None:
    """Answer a request that could not be read (when no answer has begun), then the caller closes
    the connection."""
    if conn.wire.responded:
        return
    dialect = dialect_of(head.path, head.headers) if head is not None else "openai_chat"
    body = error_body(dialect, status, message, "bad_request")
    try:
        await conn.send(conn.wire.response(status, [_JSON], body, close=True))
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass


async def _health(app) -> dict:
    gateway = await app.parts["gateway"].current()
    return {"status": "ok", "providers": {name: b.state for name, b in gateway.breakers.items()
                                          if name in gateway.providers}}


async def _models(app, dialect: str) -> dict:
    """The models clients may ask for: ``auto``, aliases, and every provider's named models."""
    gateway = await app.parts["gateway"].current()
    ids = [("auto", "routerd")] + [(a, "routerd") for a in app.runtime.config.gateway.aliases]
    for provider in gateway.providers.values():
        ids += [(m, provider.name) for m in provider.models if not any(c in m for c in "*?[")]
    if dialect == "anthropic":
        data = [{"type": "model", "id": i, "display_name": i, "created_at": "1970-01-01T00:00:00Z"}
                for i, _ in ids]
        return {"data": data, "has_more": False, "first_id": ids[0][0], "last_id": ids[-1][0]}
    return {"object": "list",
            "data": [{"id": i, "object": "model", "created": 0, "owned_by": o} for i, o in ids]}
