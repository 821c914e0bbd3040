"""The gateway's endpoints: which dialect each path speaks, the gateway key, and the answers.

``POST /v1/chat/completions`` (OpenAI chat), ``POST /v1/responses`` (OpenAI Responses),
``POST /v1/messages`` and ``/v1/messages/count_tokens`` (Anthropic),
``POST /v1beta/models/{model}:generateContent|streamGenerateContent|countTokens`` (Gemini), each found
through the dialect registry; ``POST /hooks/<host>/<event>``; ``GET /v1/models`` and
``GET /v1/models/{model}`` (also under ``/v1beta``, ``/v1alpha`` and ``/``), ``GET /health`` and ``GET /metrics``;
``/dashboard`` (``routerd.fronts.dashboard``).

A proxied request reads top-down: the body, its ``model`` and ``stream`` (the dialect says where they
are) -> ``RoutingCore.decide`` -> ``open_call`` (dispatch: candidates, retries, fallback) -> the
answer sent as it arrives. Nothing here catches: a failure propagates to ``routerd.fronts.http``,
the one place where an exception becomes an HTTP error answer.
"""

import time
from urllib.parse import unquote

import anyio
import msgspec

from routerd.app import App
from routerd.catalogue.models import Catalogue
from routerd.dialects.base import Dialect
from routerd.dialects.registry import for_path
from routerd.dialects.registry import get as get_dialect
from routerd.errors import BadRequest, NotFound, ShuttingDown
from routerd.fronts.dashboard import answer_dashboard, is_dashboard
from routerd.fronts.http_body import check_conversation, peek
from routerd.fronts.http_guard import check_host, check_json, check_key, check_origin
from routerd.fronts.http_conn import HttpConnection
from routerd.fronts.http_wire import RequestHead
from routerd.gateway.dispatch import ProxyRequest, Reply, open_call
from routerd.integrations.http_hooks import PREFIX as HOOKS_PREFIX
from routerd.integrations.http_hooks import answer_http_hook
from routerd.ledger.metrics import CONTENT_TYPE, library_loaded, load_library
from routerd.routing.candidates import speaks_for
from routerd.routing.types import Conversation, RouteDecision, RouteRequest
from routerd.providers import Provider
from routerd.runtime import Runtime
from routerd.scenarios.markers import marker_headers, offered_hosted
from routerd.scenarios.names import AutoNames, check_requested

_JSON = (b"content-type", b"application/json")
_MODELS_PATHS = (b"/v1/models", b"/models", b"/v1beta/models", b"/v1alpha/models")
# Google's SDKs name themselves in x-goog-api-client and send their key in x-goog-api-key; the
# google-genai SDK (3.x) calls /v1/models like OpenAI's, and reads only Gemini's shape.
_GEMINI_HEADERS = (b"x-goog-api-client", b"x-goog-api-key")

# What a client is told to wait before retrying a request routerd refused while draining. The drain
# ends in at most daemon.drain_timeout_s; after a restart the new daemon serves within about a
# second of the old one's exit, so a retry after 1 s meets it early, and the SDKs' own back-off
# covers the rest (they retry a refused connection too).
DRAIN_RETRY_AFTER_S = 1.0
DRAINING = "routerd is stopping and takes no new requests (it drains those in flight); retry shortly"
CUT = "routerd stopped before this answer was complete (its drain ended first); retry shortly"


def dialect_of(head: RequestHead | None) -> Dialect:
    """The dialect whose error shape a failed request is answered in (its path's, else a guess from
    its headers, else OpenAI chat's)."""
    if head is None:
        return get_dialect("openai_chat")
    found = for_path(head.path)
    if found is not None:
        return found[0]
    if head.path.startswith((b"/v1beta/", b"/v1alpha/")) or any(h in head.headers for h in _GEMINI_HEADERS):
        return get_dialect("gemini")
    if b"anthropic-version" in head.headers or head.path.startswith(b"/v1/messages"):
        return get_dialect("anthropic")
    return get_dialect("responses" if head.path.endswith(b"/responses") else "openai_chat")


async def handle_request(conn: HttpConnection, head: RequestHead) -> None:
    """Answer one request on ``conn`` with the runtime it arrived under."""
    app = conn.app
    runtime = app.runtime
    received = time.perf_counter()
    config = runtime.config
    check_host(config, head.headers, conn.local_host)
    check_origin(config, head.headers)
    found = for_path(head.path)
    if found is not None and head.method == b"POST":
        await _proxy(conn, head, runtime, found, received)
    elif head.path.startswith(HOOKS_PREFIX) and head.method == b"POST":  # coding agents' HTTP hooks
        check_key(config, head.headers)
        check_json(head.headers)
        body = await conn.read_body(head)
        await _send_raw_json(conn, head, 200, await answer_http_hook(app.hooks, runtime, head.path, body))
    elif is_dashboard(head.path):
        await answer_dashboard(conn, head)
    else:
        await _answer_other(conn, head, runtime, found)


async def answer_draining(conn: HttpConnection, head: RequestHead) -> None:
    """A request that arrived while the daemon drains: ``/health`` says ``draining`` with a 503 (so
    that a load balancer or a supervisor sees it), anything else is refused with a retryable 503 in
    its dialect's shape (raised, for the front to answer). The body is read first: closing with
    bytes unread would reset the connection under the answer."""
    await conn.read_body(head)
    if head.path == b"/health" and head.method in (b"GET", b"HEAD"):
        health = {**_health(conn.app, conn.app.runtime), "status": "draining"}
        await conn.send(conn.wire.response(503, [_JSON, (b"retry-after", b"%d" % DRAIN_RETRY_AFTER_S)],
                                           msgspec.json.encode(health), close=True))
        return
    raise _shutting_down(DRAINING)


def _shutting_down(message: str) -> ShuttingDown:
    error = ShuttingDown(message)
    error.retry_after_s = DRAIN_RETRY_AFTER_S
    return error


async def _answer_other(conn: HttpConnection, head: RequestHead, runtime: Runtime,
                        found: tuple[Dialect, bytes] | None) -> None:
    """The GET endpoints, and the 404/405 answers."""
    app = conn.app
    await conn.read_body(head)
    if head.path == b"/health" and head.method in (b"GET", b"HEAD"):
        await _send_json(conn, head, 200, _health(app, runtime))
    elif head.path == b"/metrics" and head.method == b"GET":
        check_key(runtime.config, head.headers)
        if not library_loaded():
            await anyio.to_thread.run_sync(load_library)
        body = app.gateway.metrics.render()
        await conn.send(conn.wire.response(200, [(b"content-type", CONTENT_TYPE)], body, close=conn.closed))
    elif head.path in _MODELS_PATHS and head.method == b"GET":
        check_key(runtime.config, head.headers, head.query)
        await _send_json(conn, head, 200, _models(runtime, dialect_of(head)))
    elif (model := _model_in_path(head.path)) and head.method == b"GET":
        check_key(runtime.config, head.headers, head.query)
        await _send_json(conn, head, 200, _model(runtime, dialect_of(head), model))
    elif found is not None:
        raise _MethodNotAllowed(f"{_text(head.method)} is not allowed on {_text(head.path)}")
    else:
        raise NotFound(f"no such endpoint: {_text(head.method)} {_text(head.path)}")


def _text(value: bytes) -> str:
    """Client bytes for a message: they need not be UTF-8."""
    return value.decode("utf-8", "replace")


class _MethodNotAllowed(BadRequest):
    http_status = 405


async def _proxy(conn: HttpConnection, head: RequestHead, runtime: Runtime, found: tuple[Dialect, bytes],
                 received: float) -> None:
    """One gateway request, counted in ``/metrics`` whether it is refused before any provider is
    tried (no key, a bad body, an unknown model, nothing to route to) or answered by one."""
    app = conn.app
    gateway = app.gateway
    gateway.requests += 1
    try:
        request, plan = await _plan(conn, head, runtime, found, received)
    except Exception:
        gateway.errors += 1
        raise
    gateway.in_flight += 1
    try:
        # The connection's reader cancels this scope if the client goes away meanwhile, the daemon
        # if its drain ends first.
        with app.cuttable() as scope:
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
            if conn.eof or not app.cut_short:
                gateway.client_disconnects += 1
            else:
                await _answer_cut(conn, head, request.stream)
    finally:
        conn.request_scope = None
        gateway.in_flight -= 1


async def _answer_cut(conn: HttpConnection, head: RequestHead, stream: bool) -> None:
    """The last word to a client whose request the end of the drain cut: a 503 in its dialect when
    its answer had not begun (raised, for the front to answer), an error event ending its stream
    when one had (the relay sends whole events only, so the error starts an event of its own). A
    whole answer goes out in one send: there is nothing to add to it."""
    if not conn.wire.responded:
        raise _shutting_down(CUT)
    if stream:
        event = dialect_of(head).stream_error(ShuttingDown.http_status, CUT, ShuttingDown.code)
        await conn.send(conn.wire.data(event) + conn.wire.end())


async def _plan(conn: HttpConnection, head: RequestHead, runtime: Runtime, found: tuple[Dialect, bytes],
                received: float) -> tuple[ProxyRequest, RouteDecision]:
    """The request as dispatch takes it, and where it goes: its key and body checked, read and routed."""
    check_key(runtime.config, head.headers, head.query)
    check_json(head.headers)
    body = await conn.read_body(head)
    dialect, endpoint = found
    fields = peek(body)
    model, stream = dialect.client_request(head.path, head.query, endpoint, fields.model, fields.stream)
    if model:  # a client-only decoration ([1m]: safe characters, stripped before routing) may follow
        check_requested(model)
    main = dialect.translatable(endpoint)  # the main endpoint, not a token count
    check_conversation(dialect.name, main, fields)
    # Claude Code's session header, or Codex's (session-id, the same uuid as its thread-id).
    session = head.headers.get(b"x-claude-code-session-id") or head.headers.get(b"session-id") or b""
    plan = await conn.app.routing.decide(runtime, RouteRequest(
        Conversation.from_body(dialect, body), model=model or "auto",
        session_id=session.decode(errors="replace") or None, dialect=dialect.name, source="http",
        markers=marker_headers(head.headers), hosted_tools=offered_hosted(bytes(fields.tools), body)))
    stream = stream and main  # the main endpoint streams; counting does not
    return ProxyRequest(dialect.name, endpoint, head.query, head.headers, body, model, stream, received,
                        fields), plan


def _routing_headers(reply: Reply, plan: RouteDecision) -> list[tuple[bytes, bytes]]:
    out = [(b"x-routerd-decision-id", plan.decision_id.encode()),
           (b"x-routerd-overhead-ms", b"%.3f" % reply.overhead_ms)]
    if reply.candidate is not None:
        out.append((b"x-routerd-model", reply.candidate.model.encode()))
        out.append((b"x-routerd-provider", reply.candidate.provider.encode()))
    if plan.scenario is not None:
        out.append((b"x-routerd-scenario", plan.scenario.encode()))
    return out


async def _send_reply(conn: HttpConnection, head: RequestHead, reply: Reply) -> None:
    wire, close = conn.wire, conn.closed or not conn.wire.message_complete
    if reply.relay is None:
        await conn.send(wire.response(reply.status, reply.headers, reply.body, close=close))
        return
    conn.app.gateway.streams += 1
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


async def _send_json(conn: HttpConnection, head: RequestHead, status: int, value: object) -> None:
    await _send_raw_json(conn, head, status, msgspec.json.encode(value))


async def _send_raw_json(conn: HttpConnection, head: RequestHead, status: int, body: bytes) -> None:
    await conn.send(conn.wire.response(status, [_JSON], body, close=conn.closed))


def _health(app: App, runtime: Runtime) -> dict[str, object]:
    # The breakers as routerctl health, status and /metrics show them: one whose cool-down has
    # passed is half-open (it only moves when a call comes), not "open" for as long as none does.
    now = time.time()
    breakers = app.resilience.health.statistics(now).providers
    states = {name: breakers[name].state if name in breakers else "closed" for name in runtime.providers}
    stats = app.store.statistics()
    store = "damaged" if stats.state == "writing" and stats.damaged else stats.state
    return {"status": "ok" if app.store.healthy and app.brain.error is None else "degraded", "store": store,
            "brain": app.brain.state, "providers": {  # closed but kept out: cooling down, or every key out
                name: "cooling" if state == "closed" and app.resilience.unavailable(name, now) else state
                for name, state in states.items()}}


def _models(runtime: Runtime, dialect: Dialect) -> dict[str, object]:
    """The models clients may ask for: ``auto`` and routerd's auto names (those shaped for the
    client's dialect first), aliases, then each enabled provider's models (those speaking the
    client's dialect first): the names in its ``models`` and the catalogue's models it serves. Each
    name once, with the first provider that serves it."""
    return dialect.models_body(_models_ids(runtime, dialect))


def _models_ids(runtime: Runtime, dialect: Dialect) -> list[tuple[str, str]]:
    """(model, owner) pairs, in ``_models``' order."""
    scenarios = runtime.config.routing.scenarios
    auto = AutoNames(scenarios.anthropic_names, scenarios.openai_names).listed(dialect.name)
    ids = [(name, "routerd") for name in ("auto", *auto)] + [(a, "routerd") for a in runtime.config.gateway.aliases]
    seen = {name for name, _ in ids}
    for provider in sorted(runtime.providers.values(), key=lambda p: dialect.name not in p.dialects):
        for model in _served(provider, runtime.catalogue):
            if model not in seen:
                seen.add(model)
                ids.append((model, provider.name))
    return ids


def _model_in_path(path: bytes) -> str:
    """The ``{model}`` of ``GET /v1/models/{model}`` (or under ``/v1beta``, ``/v1alpha``, ``/``), else ``""``."""
    for prefix in _MODELS_PATHS:
        if path.startswith(prefix + b"/") and b":" not in path:
            return unquote(path[len(prefix) + 1:].decode("utf-8", "replace"))
    return ""


def _model(runtime: Runtime, dialect: Dialect, model: str) -> dict[str, object]:
    """One model as ``GET /v1/models/{model}`` answers it: a name the listing holds, one a
    provider's patterns claim, or ``provider/model``; else a 404 (in the client's dialect, like any
    error)."""
    owner = next((o for name, o in _models_ids(runtime, dialect) if name == model), None)
    owner = owner or next((p.name for p in runtime.providers.values() if p.serves(model)), None)
    named, sep, _ = model.partition("/")
    owner = owner or (named if sep and named in runtime.providers else None)
    if owner is None:
        raise NotFound(f"model {model!r} is not served here; GET /v1/models lists those that are")
    return dialect.model_body(model, owner)


def _served(provider: Provider, catalogue: Catalogue) -> list[str]:
    """The model names a client can send to ``provider``: those its ``models`` name outright, and
    the catalogue's models it speaks for that its patterns claim (with no patterns, those a
    provider of its maker's kind at the official URL serves)."""
    named = [m for m in provider.models if not any(c in m for c in "*?[")]
    return named + [m.id for m in catalogue.models if speaks_for(provider, m.provider, m.id)
                    and (not provider.models or provider.serves(m.id))]
