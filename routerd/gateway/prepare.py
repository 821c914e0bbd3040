"""What goes upstream for one candidate: path, headers and body, passed through or translated.

Same dialect in and out is the hot path: the client's body is sent as it came, with only the value
of its top-level ``model`` patched in place (no decode/encode round trip, so unknown fields, key order
and number formatting survive), and the client's headers forwarded except hop-by-hop ones and its
credentials, which are replaced by the provider's.
"""

import re
from dataclasses import dataclass

import msgspec

from routerd.catalogue.models import ModelInfo
from routerd.dialects.registry import DIALECTS, get
from routerd.dialects import hosted
from routerd.dialects.structured_answer import Reading
from routerd.dialects.translate import render_read
from routerd.errors import BadRequest, NotImplementedYet
from routerd.providers import Provider

# Never forwarded: hop-by-hop (RFC 9110 §7.6.1), framing we redo, the client's credentials (the
# provider's own are added), and accept-encoding so that answers arrive uncompressed and usage can be
# read from them.
_DROP = frozenset({
    b"host", b"connection", b"keep-alive", b"proxy-connection", b"proxy-authorization", b"te",
    b"trailer", b"transfer-encoding", b"upgrade", b"content-length", b"expect", b"authorization",
    b"x-api-key", b"x-goog-api-key", b"api-key", b"accept-encoding", b"cookie",
})
_DROP_OR_OPTION = _DROP | {b"close", b""}  # Connection's options: not field names to drop


@dataclass(slots=True)
class Prepared:
    dialect: str                         # what the upstream speaks for this call
    path: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    translated: bool = False
    usage_added: bool = False            # we asked for OpenAI's usage chunk; the client did not
    reading: Reading | None = None       # how a translated answer's structured output goes back


def prepare(front: str, endpoint: bytes, query: bytes, headers: dict[bytes, bytes], body: bytes,
            requested: str, provider: Provider, model: str, stream: bool,
            forward_credentials: bool = False, target: ModelInfo | None = None, moved: bool = False) -> Prepared:
    """The upstream request for ``provider``/``model``: passed through when the provider speaks the
    client's dialect, translated otherwise. Raises NotImplementedYet for an endpoint that has no
    translation (count_tokens), BadRequest for a client body translation cannot read.

    ``forward_credentials``: clients do not authenticate to routerd (no gateway key), so a provider
    configured without a key of its own gets the client's (Claude Code's subscription token, say).
    ``target``: the catalogue's entry for ``model`` (None: one it does not know), which a translated
    request is made valid for (``routerd.dialects.fit``), and a request passed through too when
    routerd chose the model instead of the one the client asked for (``moved``)."""
    client = get(front)
    if front in provider.dialects:
        forward = forward_credentials and not provider.auth_headers
        path = client.upstream_path(model, stream, endpoint)
        if client.query_credential is not None and not forward:  # a ?key= is a credential
            query = _without(query, client.query_credential)
        if not client.names_model_in_path:
            body = patch_model(body, requested, model)
        if query:
            path += b"?" + query
        drop = hop_by_hop(headers)
        out = [(k, v) for k, v in headers.items() if k not in drop and not k.startswith(b"x-routerd-")]
        if forward:
            out += [(k, v) for k, v in headers.items() if k in _CREDENTIALS]
        out += provider.auth_headers
        out += provider.extra_headers
        if moved and target is not None and client.translatable(endpoint):  # a call, not a count
            body, out = client.adapt(body, out, target)
        elif (own := client.own_history(body)) is not None:  # the model asked for: its history alone
            body = own
        if (fallback := client.without_native_output(body, model, target)) is not None:
            # structured output the model cannot take: sent in a form it takes, the answer read back
            return Prepared(front, path, out, fallback[0], translated=True, reading=fallback[1])
        if stream and (with_usage := client.with_usage_chunk(body)) is not None:
            return Prepared(front, path, out, with_usage, usage_added=True)
        return Prepared(front, path, out, body)
    if not client.translatable(endpoint):
        raise NotImplementedYet(f"{provider.name} speaks {provider.dialect}: no {endpoint.decode()} there")
    front_model = requested if client.names_model_in_path else None
    name, req = hosted.translation(front, provider.dialects, client.parse_request(body, model=front_model, stream=stream))
    upstream = get(name)  # OpenAI's /responses, not chat completions, for a web search
    drop = hop_by_hop(headers)
    out = [(k, v) for k, v in headers.items() if k in _TRANSLATED_KEEP and k not in drop]
    out += [*upstream.required_headers, (b"content-type", b"application/json"), *provider.auth_headers,
            *provider.extra_headers]
    body, reading = render_read(upstream.name, req, model, info=target)
    return Prepared(upstream.name, upstream.upstream_path(model, stream), out, body, translated=True,
                    reading=reading)


def hop_by_hop(headers: dict[bytes, bytes]) -> frozenset[bytes]:
    """The headers not to forward: ``_DROP``, and every field the client's ``Connection`` header
    names, which RFC 9110 7.6.1 makes hop-by-hop (``Connection: x-drop-me`` keeps ``x-drop-me``
    from the provider). Most clients name only keep-alive or close: no new set then."""
    connection = headers.get(b"connection")
    if connection is None:
        return _DROP
    named = {token.strip().lower() for token in connection.split(b",")}
    return _DROP if named <= _DROP_OR_OPTION else _DROP | named


def query_key(query: bytes) -> bytes:
    """The value of a ``key=`` parameter (Gemini clients' credential) in a query string."""
    for part in query.split(b"&"):
        if part.startswith(b"key="):
            return part[4:]
    return b""


def _without(query: bytes, name: bytes) -> bytes:
    """``query`` without its ``name=`` parameters."""
    return b"&".join(p for p in query.split(b"&") if p and not p.startswith(name + b"="))


# Where clients put their own key, in any dialect (forwarded only to a provider without a key).
_CREDENTIALS = frozenset().union(*(d.credential_headers for d in DIALECTS.values()))
_TRANSLATED_KEEP = frozenset({b"user-agent", b"accept"})


def patch_model(body: bytes, old: str, new: str) -> bytes:
    """``body`` with its top-level ``"model": old`` replaced by ``new``. The value is patched in place
    when it occurs exactly once; otherwise (a nested ``model`` key with the same value, an unusual
    escape) the body is decoded and re-encoded."""
    if old == new:
        return body
    quoted_new = msgspec.json.encode(new)
    if old:
        found = [m.span() for m in re.finditer(rb'"model"\s*:\s*' + re.escape(msgspec.json.encode(old)), body)]
        if len(found) == 1:
            start, end = found[0]
            return b"".join((body[:start], b'"model":', quoted_new, body[end:]))
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise BadRequest(f"invalid JSON body: {exc}") from None
    value["model"] = new
    return msgspec.json.encode(value)
