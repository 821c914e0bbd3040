"""The gateway's endpoints: which dialect each path speaks, the gateway key, and the answers.

``POST /v1/chat/completions`` (OpenAI chat), ``POST /v1/responses`` (OpenAI Responses),
``POST /v1/messages`` and ``/v1/messages/count_tokens`` (Anthropic),
``POST /v1beta/models/{model}:generateContent|streamGenerateContent|countTokens`` (Gemini),
``GET /v1/models`` and ``GET /health``. Proxied requests go: read the body -> peek at ``model`` and
``stream`` (Gemini: the URL) -> routing decision -> dispatch -> relay. Errors raised before dispatch
become the dialect's error body here.
"""

import hmac
import logging
import os
import time

import anyio
import msgspec

from routerd.dialects.registry import get as get_dialect
from routerd.errors import BadRequest, NotFound, RouterdError, Unauthorized
from routerd.fronts.http_wire import LAST_CHUNK, HttpError, RequestHead, chunk, response_head
from routerd.app import App
from routerd.gateway.dispatch import ProxyRequest, Reply, error_reply, open_call
from routerd.integrations.http_hooks import answer_http_hook
from routerd.routing.types import Conversation, RouteRequest
from routerd.gateway.prepare import query_key

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
                return model.decode(), method
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
    try:
        if route is not None and head.method == b"POST":
            _check_key(app, head.headers, head.query)
            body = await conn.read_body(head, app.runtime.config.http.max_body_bytes)
            await _proxy(conn, head, route, body, received)
            return
        if head.path.startswith(b"/hooks/") and head.method == b"POST":  # coding-agent HTTP hooks
            _check_key(app, head.headers)
            body = await conn.read_body(head, app.runtime.config.http.max_body_bytes)
            await _send_raw_json(conn, head, 200, await answer_http_hook(app.hooks, app.runtime, head.path, body))
            return
        await conn.read_body(head, app.runtime.config.http.max_body_bytes)
        if head.path == b"/health" and head.method in (b"GET", b"HEAD"):
            await _send_json(conn, head, 200, await _health(app))
        elif head.path in (b"/v1/models", b"/models") and head.method == b"GET":
            _check_key(app, head.headers)
            await _send_json(conn, head, 200, await _models(app, dialect))
        elif route is not None:
            raise _MethodNotAllowed(f"{head.method.decode()} is not allowed on {head.path.decode()}")
        else:
            raise NotFound(f"no such endpoint: {head.method.decode()} {head.path.decode()}")
    except RouterdError as exc:
        if conn.body_pending:  # answered before its body was read: the stream cannot be reused
            conn.closed = True
        await _send_reply(conn, head, error_reply(dialect, exc))
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, HttpError):
        raise
    except Exception as exc:  # a bug: answer 500, log it, keep serving everyone else
        log.exception("gateway request failed")
        conn.closed = True
        await _send_reply(conn, head, error_reply(dialect, RouterdError(
            f"internal error: {type(exc).__name__}")))


class _MethodNotAllowed(BadRequest):
    http_status = 405


def _check_key(app, headers: dict[bytes, bytes], query: bytes = b"") -> None:
    """Require the gateway key when one is configured (Bearer, x-api-key, or Gemini's
    x-goog-api-key / ``?key=``)."""
    key_env = app.runtime.config.http.gateway_key_env
    key = os.environ.get(key_env) if key_env else None
    if not key:
        return
    given = (headers.get(b"x-api-key") or headers.get(b"x-goog-api-key")
             or headers.get(b"authorization", b"").removeprefix(b"Bearer ") or query_key(query))
    if not hmac.compare_digest(given, key.encode()):
        raise Unauthorized("missing or wrong gateway key (send it as 'Authorization: Bearer ...' or "
                           "'x-api-key')")


async def _proxy(conn, head: RequestHead, route: tuple[str, bytes], body: bytes, received: float) -> None:
    app = conn.app
    dialect, endpoint = route
    try:
        peek = _PEEK.decode(body)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid request body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    if dialect == "gemini":  # the model and streaming are in the URL
        peek.model, method = gemini_route(head.path)
        peek.stream = method == b"streamGenerateContent"
        if peek.stream and b"alt=sse" not in head.query:
            raise BadRequest("routerd streams Gemini answers as server-sent events: add ?alt=sse")
        endpoint = b":" + method
    elif not peek.model and dialect != "anthropic" and endpoint == b"":
        peek.model = "auto"
    runtime, gateway = app.runtime, app.gateway
    # Claude Code's session header, or Codex's (session-id, the same uuid as its thread-id).
    session = head.headers.get(b"x-claude-code-session-id") or head.headers.get(b"session-id") or b""
    plan = await app.routing.decide(runtime, RouteRequest(
        Conversation.from_body(get_dialect(dialect), body), model=peek.model or "auto",
        session_id=session.decode(errors="replace") or None, dialect=dialect, source="http"))
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
            async with open_call(gateway, runtime, request, plan) as reply:
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


def _routing_headers(reply: Reply, plan) -> list[tuple[bytes, bytes]]:
    out = [(b"x-routerd-decision-id", plan.decision_id.encode()),
           (b"x-routerd-overhead-ms", b"%.3f" % reply.overhead_ms)]
    if reply.candidate is not None:
        out.append((b"x-routerd-model", reply.candidate.model.encode()))
        out.append((b"x-routerd-provider", reply.candidate.provider.encode()))
    return out


async def _send_reply(conn, head: RequestHead, reply: Reply) -> None:
    keep_alive = head.keep_alive and not conn.closed
    if reply.relay is None:
        await conn.send(response_head(reply.status, reply.headers, length=len(reply.body),
                                      keep_alive=keep_alive) + reply.body)
        return
    conn.app.gateway.streams += 1
    relay = reply.relay
    head = response_head(reply.status, reply.headers, length=None, keep_alive=keep_alive)
    if relay.ready:  # the first events came with the upstream's head: one send for both
        data = await relay.receive()
        head += chunk(data) if data else LAST_CHUNK
        if not data:
            await conn.send(head)
            return
    await conn.send(head)
    while data := await relay.receive():
        await conn.send(chunk(data))
    await conn.send(LAST_CHUNK)


async def _send_json(conn, head: RequestHead, status: int, value) -> None:
    body = b"" if head.method == b"HEAD" else msgspec.json.encode(value)
    await conn.send(response_head(status, [_JSON], length=len(body), keep_alive=head.keep_alive) + body)


async def _send_raw_json(conn, head: RequestHead, status: int, body: bytes) -> None:
    await conn.send(response_head(status, [_JSON], length=len(body), keep_alive=head.keep_alive) + body)


async def answer_error(conn, head: RequestHead | None, status: int, message: str) -> None:
    """Answer a request that could not be read, then the caller closes the connection."""
    dialect = dialect_of(head.path, head.headers) if head is not None else "openai_chat"
    body = get_dialect(dialect).error_bytes(status, message, "bad_request")
    try:
        await conn.send(response_head(status, [_JSON], length=len(body), keep_alive=False) + body)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass


async def _health(app: App) -> dict:
    return {"status": "ok", "providers": {name: app.breakers[name].state for name in app.runtime.providers}}


async def _models(app: App, dialect: str) -> dict:
    """The models clients may ask for: ``auto``, aliases, and every provider's named models."""
    runtime = app.runtime
    ids = [("auto", "routerd")] + [(a, "routerd") for a in runtime.config.gateway.aliases]
    for provider in runtime.providers.values():
        ids += [(m, provider.name) for m in provider.models if not any(c in m for c in "*?[")]
    return get_dialect(dialect).models_body(ids)
