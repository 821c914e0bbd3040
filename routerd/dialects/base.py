"""What every wire format is: one ``Dialect`` object per format owns everything format-specific.

A dialect knows its paths (those clients call routerd on, and the one it is sent to upstream), how
a provider of its kind authenticates and which headers it requires, how its requests and answers
translate to and from the canonical form (``routerd.dialects.canonical``), how its streams decode
and encode, and the shape of its errors, whole and mid-stream. The gateway, the HTTP front and the
provider registry ask the dialect instead of comparing dialect names. Objects are made once, in
``routerd.dialects.registry``; adding a format is a new subpackage here and one line there.

Requests of the wrong shape raise ``BadRequest`` naming the field; upstream answers of the wrong
shape raise ``UpstreamBadResponse``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from routerd.catalogue.models import ModelInfo
from routerd.dialects.canonical import ChatRequest, ChatResponse, StreamEvent
from routerd.dialects.fit import Fields, fit, fit_bytes
from routerd.dialects.structured_answer import Reading
from routerd.dialects.texts import Channel, Texts, TextSpot
from routerd.dialects.usage import UsageReader

Header = tuple[bytes, bytes]
_encode = msgspec.json.encode


class StreamDecoder(Protocol):
    """Upstream server-sent events -> canonical events; ``close`` at the end of the bytes (a
    ``StreamError`` when the stream was cut before its end)."""

    def feed(self, event: str | None, data: str) -> list[Any]: ...

    def close(self) -> list[Any]: ...


class StreamEncoder(Protocol):
    """Canonical events -> (event name, data) pairs in the dialect's exact order; nothing after
    ``MessageStop`` or ``StreamError``."""

    def feed(self, event: StreamEvent) -> list[tuple[str | None, str]]: ...


@dataclass(frozen=True, slots=True)
class Codec:
    """A dialect's translation functions, from its own modules."""

    parse_request: Callable[..., ChatRequest]
    render_request: Callable[..., dict[str, Any]]
    parse_response: Callable[[Any], ChatResponse]
    render_response: Callable[..., dict[str, Any]]
    stream_decoder: Callable[[], StreamDecoder]
    stream_encoder: Callable[..., StreamEncoder]
    error_body: Callable[[int, str, str], dict[str, Any]]
    stream_texts: Callable[[str | None, Any], Texts]
    text_event: Callable[[Channel, str, Any], tuple[str | None, Any]]
    # Where a stream's events write out again, whole, a text their deltas streamed (None: nowhere).
    final_texts: Callable[[str | None, Any], list[TextSpot]] | None = None


class Dialect:
    """One wire format. Subclasses set the class attributes (``codec`` among them) and the
    format-specific methods."""

    name: str = ""                  # the one name of this dialect, everywhere in routerd
    kind: str = ""                  # the provider ``kind`` in config that speaks it natively
    official_url: str = ""          # the vendor's API for that kind (no trailing slash)
    credential_headers: frozenset[bytes] = frozenset()  # where its clients put their key
    required_headers: tuple[Header, ...] = ()           # sent with every request we translate to it
    counts_tokens: bytes | None = None                  # the endpoint suffix that counts tokens
    usage_chunk_optional = False    # clients ask for the stream's usage chunk (OpenAI chat)
    names_model_in_path = False     # the model is in the URL, not the body (Gemini)
    query_credential: bytes | None = None               # a query parameter that carries a key
    codec: Codec
    usage: UsageReader              # how its answers report tokens
    fields = Fields()               # where its bodies say what ``routerd.dialects.fit`` fits

    # --- paths ------------------------------------------------------------------------------

    def client_endpoint(self, path: bytes) -> bytes | None:
        """For a path a client called routerd on: the endpoint suffix to send upstream (b"" for
        the main endpoint) when this dialect serves it, else None."""
        raise NotImplementedError

    def upstream_path(self, model: str, stream: bool, endpoint: bytes = b"") -> bytes:
        """The request path under a provider's base URL."""
        raise NotImplementedError

    def client_request(self, path: bytes, query: bytes, endpoint: bytes, model: str,
                       stream: bool) -> tuple[str, bool]:
        """The model and stream flag of a client's request, from what its body says (``model``,
        ``stream``) or, for dialects that carry them there, its URL. Raises BadRequest for a
        request the dialect cannot serve as asked."""
        return model, stream

    def served(self, responses: bool = False) -> tuple[str, ...]:
        """The dialects a provider of this kind takes as they are, first the one translation
        targets. ``responses``: the provider also serves OpenAI's ``/responses`` (config)."""
        return (self.name,)

    def translatable(self, endpoint: bytes) -> bool:
        """Whether a request to ``endpoint`` can be translated to another dialect (the main
        endpoint can; counting tokens, say, cannot)."""
        return endpoint == b""

    # --- credentials ------------------------------------------------------------------------

    def auth_headers(self, key: str) -> tuple[Header, ...]:
        """The headers that carry a provider key of this kind."""
        return ((b"authorization", b"Bearer " + key.encode()),)

    # --- bodies -----------------------------------------------------------------------------

    def adapt(self, body: bytes, headers: list[Header], target: ModelInfo) -> tuple[bytes, list[Header]]:
        """A request passed through to a model routerd chose in place of the client's, made valid
        for ``target`` (what it accepts, from the catalogue: ``routerd.dialects.fit``); its exact
        bytes when it needs nothing."""
        return fit_bytes(body, self.fields, target), headers

    def fit(self, body: dict[str, Any], target: ModelInfo | None) -> bool:
        """A request body this dialect renders made valid for ``target`` (None: a model the
        catalogue does not know), in place; whether anything changed."""
        return fit(body, self.fields, target)

    def own_history(self, body: bytes) -> bytes | None:
        """A request passed through to a provider of this dialect, made acceptable to it when its
        history holds what routerd gave the client from another provider and this dialect's API
        refuses back; None to send it as it is (nearly every request: a byte search tells)."""
        return None

    def without_native_output(self, body: bytes, model: str,
                              target: ModelInfo | None) -> tuple[bytes, Reading] | None:
        """A request passed through that asks for structured output in a field ``model`` does not
        take (the catalogue's ``target`` says so), made into one it takes, with how to read the
        answer back (``routerd.dialects.structured``); None to send it as it is."""
        return None

    def with_usage_chunk(self, body: bytes) -> bytes | None:
        """A streaming request body that also asks for the final usage, when the dialect makes that
        optional and the client did not ask; None to send it as it is."""
        return None

    def usage_only(self, events: bytes) -> bool:
        """Whether stream events hold the usage-only event routerd asked for on the client's
        behalf (``with_usage_chunk``), which the client must then not see."""
        return False

    def parse_request(self, body: Any, *, model: str | None = None, stream: bool | None = None) -> ChatRequest:
        """A client request body (bytes or decoded) as a ``ChatRequest``; ``model``/``stream``
        override the body's, for dialects whose URL carries them."""
        return self.codec.parse_request(body, model=model, stream=stream)

    def render_request(self, req: ChatRequest, model: str, *, reasoning: bool = True) -> dict[str, Any]:
        """``req`` as this dialect's request body for ``model``; ``reasoning`` False leaves out
        reasoning parameters for models that refuse them."""
        return self.codec.render_request(req, model, reasoning=reasoning)

    def sent_output(self, req: ChatRequest, *, reasoning: bool = True) -> int | None:
        """The output limit ``render_request`` gives ``req`` (before ``fit`` caps it to the
        model's), None for none (the upstream's own default then): the client's, where it set one."""
        return req.max_tokens

    def parse_response(self, body: Any) -> ChatResponse:
        return self.codec.parse_response(body)

    def render_response(self, resp: ChatResponse, model: str, **options: Any) -> dict[str, Any]:
        return self.codec.render_response(resp, model, **options)

    def stream_decoder(self) -> StreamDecoder:
        return self.codec.stream_decoder()

    def stream_encoder(self, model: str, *, id: str | None = None, include_usage: bool = True,
                       **options: Any) -> StreamEncoder:
        """An encoder naming ``model``; ``include_usage``: whether the client asked for a usage
        chunk (where that is optional)."""
        if self.usage_chunk_optional:
            options["include_usage"] = include_usage
        return self.codec.stream_encoder(model, id=id, **options)

    def stream_texts(self, event: str | None, data: Any) -> Texts:
        """Where one of this dialect's stream events (``data`` decoded, or its text when not JSON)
        carries streamed text, and the channels it ends (``routerd.dialects.texts``)."""
        return self.codec.stream_texts(event, data)

    def text_event(self, channel: Channel, text: str, template: Any) -> tuple[str | None, Any]:
        """An event (name, data to encode) carrying only ``text`` on ``channel``, like
        ``template``, the last event that carried text there."""
        return self.codec.text_event(channel, text, template)

    def local_count(self, body: bytes, model: str) -> bytes:
        """This dialect's count-tokens answer, estimated here (``routerd.dialects.summary``), for
        when no provider of it could count. Only dialects with ``counts_tokens`` have one."""
        raise NotImplementedError

    # --- errors -----------------------------------------------------------------------------

    def error_body(self, status: int, message: str, code: str = "") -> dict[str, Any]:
        """An error answer in this dialect's shape; ``code`` is routerd's error code."""
        return self.codec.error_body(status, message, code)

    def error_bytes(self, status: int, message: str, code: str = "") -> bytes:
        return _encode(self.error_body(status, message, code))

    def stream_error(self, status: int, message: str, code: str = "") -> bytes:
        """The server-sent event that tells a client its stream broke after it had started."""
        return b"data: " + self.error_bytes(status, message, code) + b"\n\n"

    # --- model listing ----------------------------------------------------------------------

    def models_body(self, models: list[tuple[str, str]]) -> dict[str, Any]:
        """``GET /v1/models`` in this dialect's shape: (model id, owner) pairs, first ``auto``."""
        return {"object": "list",
                "data": [{"id": i, "object": "model", "created": 0, "owned_by": o} for i, o in models]}

    def model_body(self, model: str, owner: str) -> dict[str, Any]:
        """``GET /v1/models/{id}``: the one entry ``models_body`` lists for ``model``."""
        entry: dict[str, Any] = self.models_body([(model, owner)])["data"][0]
        return entry

    def __repr__(self) -> str:
        return f"<dialect {self.name}>"
