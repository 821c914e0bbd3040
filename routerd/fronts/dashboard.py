"""``/dashboard`` on the HTTP address: the page, its script and style (shipped in the package, under
``routerd/fronts/static``; nothing comes from a CDN), its data and its two buttons.

- ``GET /dashboard`` and its assets, and ``GET /dashboard/data?period=month&decisions=20`` (the
  ``dashboard`` request's reply as JSON) need no gateway key: beyond loopback, a browser without the
  key gets a read-only view.
- ``POST /dashboard/feedback`` takes a ``rate`` or ``reroute`` request (the socket protocol's JSON,
  ``{"type": "rate", "decision_id": ..., "rating": "good"}``) and hands it to the same handler as
  ``routerctl rate | reroute``: the routing core's feedback path. It needs the gateway key when one
  is configured, and ``Content-Type: application/json``.

The Host and Origin checks of every gateway request (``routerd.fronts.http_guard``) apply first. The
page is served with a Content-Security-Policy allowing only its own script, style and data, and
may not be framed (its buttons must not be clicked through someone else's page).
"""

from importlib.resources import files
from urllib.parse import parse_qs

import msgspec

from routerd.app import App
from routerd.errors import BadRequest, NotFound
from routerd.fronts.http_guard import check_json, check_key
from routerd.fronts.http_conn import HttpConnection
from routerd.fronts.http_wire import RequestHead
from routerd.handlers.routing import handle_rate, handle_reroute
from routerd.handlers.usage import handle_dashboard
from routerd.protocol.requests import Dashboard, Rate, Reroute

PREFIX = b"/dashboard"
_STATIC = files("routerd.fronts") / "static"
# The assets are read once, when the front is imported at start, never on the event loop.
_ASSETS = {
    b"/dashboard": (b"text/html; charset=utf-8", (_STATIC / "dashboard.html").read_bytes()),
    b"/dashboard/dashboard.js": (b"text/javascript; charset=utf-8", (_STATIC / "dashboard.js").read_bytes()),
    b"/dashboard/dashboard.css": (b"text/css; charset=utf-8", (_STATIC / "dashboard.css").read_bytes()),
}
_SECURITY = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; "
                                 b"connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                                 b"base-uri 'none'; form-action 'none'"),
    (b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
]
_FEEDBACK = msgspec.json.Decoder(Rate | Reroute)
_JSON = b"application/json"


def is_dashboard(path: bytes) -> bool:
    return path == PREFIX or path.startswith(PREFIX + b"/")


async def answer_dashboard(conn: HttpConnection, head: RequestHead) -> None:
    """Answer one request under ``/dashboard`` (Host and Origin already checked)."""
    app = conn.app
    path = head.path.rstrip(b"/") or b"/"
    if path == b"/dashboard/feedback" and head.method == b"POST":
        check_key(app.runtime.config, head.headers)
        check_json(head.headers)
        await _send(conn, _JSON, await _feedback(app, await conn.read_body(head)))
        return
    await conn.read_body(head)
    if head.method not in (b"GET", b"HEAD"):
        raise BadRequest(f"{head.method.decode('latin-1')} is not allowed on {path.decode('latin-1')}")
    if path == b"/dashboard/data":
        reply = await handle_dashboard(app, _dashboard_request(head.query))
        await _send(conn, _JSON, msgspec.json.encode(reply.data))
    elif path in _ASSETS:
        await _send(conn, *_ASSETS[path])
    else:
        raise NotFound(f"no such page: {path.decode('latin-1')}")


def _dashboard_request(query: bytes) -> Dashboard:
    params = {k: v[-1] for k, v in parse_qs(query.decode("latin-1")).items()}
    try:
        return msgspec.convert(params, Dashboard, strict=False)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid dashboard query: {exc}") from None


async def _feedback(app: App, body: bytes) -> bytes:
    try:
        request = _FEEDBACK.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise BadRequest(f"feedback must be a rate or reroute request: {exc}") from None
    if isinstance(request, Rate):
        reply = await handle_rate(app, request)
    else:
        reply = await handle_reroute(app, request)
    return msgspec.json.encode(reply.data)


async def _send(conn: HttpConnection, content_type: bytes, body: bytes) -> None:
    headers = [(b"content-type", content_type), *_SECURITY]
    await conn.send(conn.wire.response(200, headers, body, close=conn.closed))
