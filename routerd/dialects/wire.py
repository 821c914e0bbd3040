"""Helpers shared by the dialect modules: typed conversion of a decoded body with errors that name
the field, data URLs, JSON text of tool arguments, and ids."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any, TypeVar

import msgspec

from routerd.errors import BadRequest, RouterdError

T = TypeVar("T")

_json_encode = msgspec.json.encode
_json_decode = msgspec.json.decode
_AT = re.compile(r"^(.*) - at `\$\.?(.*)`$")
_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?(;[^,]*)?;base64,", re.ASCII)


def _field_message(exc: msgspec.ValidationError) -> str:
    text = str(exc)
    match = _AT.match(text)
    if match is None:
        return f"body: {text[:1].lower()}{text[1:]}"
    what, where = match.group(1), match.group(2) or "body"
    if what.startswith("Invalid value") and where.endswith(".type"):
        what = what.replace("Invalid value", "unknown part type", 1)
    elif what.startswith("Invalid value") and where.endswith("role"):
        what = what.replace("Invalid value", "unknown role", 1)
    else:
        what = what[:1].lower() + what[1:]
    return f"{where}: {what}"


def load_body(body: Any, error: type[RouterdError] = BadRequest) -> Any:
    """``body`` as a decoded JSON value; bytes are decoded here (invalid JSON raises ``error``)."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            return _json_decode(body)
        except msgspec.DecodeError as exc:
            raise error(f"body: invalid JSON: {exc}") from None
    return body


def convert(body: Any, kind: type[T], error: type[RouterdError] = BadRequest) -> T:
    """``body`` (a decoded JSON object) as ``kind``; a wrong shape raises ``error`` naming the field.

    Requests use BadRequest (the client's fault); response parsers pass UpstreamBadResponse."""
    if not isinstance(body, dict):
        raise error("body: expected a JSON object")
    try:
        return msgspec.convert(body, kind)
    except msgspec.ValidationError as exc:
        raise error(_field_message(exc)) from None


def extras(body: Any, known: frozenset[str]) -> dict[str, Any]:
    """Top-level fields of ``body`` outside ``known`` (kept for same-dialect re-rendering)."""
    if not isinstance(body, dict):
        return {}
    return {k: v for k, v in body.items() if k not in known}


def carry_own_fields(body: dict[str, Any], req: Any, dialect: str) -> bool:
    """When ``req`` was parsed from ``dialect`` (so the body goes back to the dialect it came from),
    put back its metadata and the fields with no canonical home; return whether it did."""
    if req.origin != dialect:
        return False
    if req.metadata is not None:
        body["metadata"] = req.metadata
    for key, value in req.extra.items():
        body.setdefault(key, value)
    return True


# Which company's API each dialect is, by the catalogue's maker names.
_MAKERS = {"openai_chat": "openai", "responses": "openai", "anthropic": "anthropic", "gemini": "gemini"}


def maker_of(dialect: str | None) -> str | None:
    """The maker whose API ``dialect`` is (``openai_chat`` and ``responses``: OpenAI's), or None."""
    return _MAKERS.get(dialect or "")


def user_for(req: Any, dialect: str) -> str | None:
    """The end-user id to send to ``dialect``'s API: the client's own to its vendor's APIs; to
    another company's, a stable hash of it (the same user is one user there, for abuse
    attribution), since the id itself can carry what the client told only its vendor (Claude Code's
    ``metadata.user_id`` holds its device id, account and session)."""
    user: str | None = req.user
    if not user or maker_of(req.origin) == maker_of(dialect):
        return user
    return "routerd-" + hashlib.sha256(user.encode()).hexdigest()[:32]


def split_data_url(url: str) -> tuple[str, str] | None:
    """``(media_type, base64 data)`` of a ``data:`` URL, or None for any other URL."""
    if not url.startswith("data:"):
        return None
    match = _DATA_URL.match(url)
    if match is None:
        return None
    return match.group(1) or "application/octet-stream", url[match.end():]


def data_url(media_type: str | None, data: str) -> str:
    return f"data:{media_type or 'image/png'};base64,{data}"


def dump_json(value: Any) -> str:
    """Compact JSON text of ``value``."""
    return _json_encode(value).decode()


def load_arguments(text: str) -> Any:
    """Tool-call arguments as a value; empty text is ``{}``, unparsable text is kept as
    ``{"_raw": text}`` so that a model's broken JSON still reaches the client."""
    if not text:
        return {}
    try:
        return _json_decode(text)
    except msgspec.DecodeError:
        return {"_raw": text}


def stable_id(prefix: str, *parts: str) -> str:
    """A deterministic id from ``parts`` (for dialects that have none, e.g. Gemini tool calls)."""
    digest = hashlib.blake2s("\x1f".join(parts).encode(), digest_size=12).digest()
    return prefix + base64.b32encode(digest).decode().rstrip("=").lower()


def maybe(value: Any, key: str, out: dict[str, Any], name: str | None = None) -> None:
    """Set ``out[name or key] = value`` when value is not None (keeps rendered bodies minimal)."""
    if value is not None:
        out[name or key] = value


def convert_at(value: Any, kind: type[T], where: str) -> T:
    """Like ``convert`` for a nested value; error messages start with ``where``."""
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        message = _field_message(exc)
        rest = message[4:] if message.startswith("body") else message
        joiner = "" if rest.startswith(("[", ":")) else "."
        raise BadRequest(f"{where}{joiner}{rest}") from None


def ignored_parts(*tags: str) -> tuple[type, ...]:
    """Struct types that accept (and ignore) parts tagged ``tags``: part types a dialect legitimately
    sends that have no canonical form (server-side tool blocks, audio). Parsing must not fail on them,
    since every request is parsed for classification even when it is passed through."""
    return tuple(msgspec.defstruct(f"Ignored_{tag}", [], tag=tag, tag_field="type") for tag in tags)


_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]", re.ASCII)


def wire_id(call_id: str, limit: int = 40) -> str:
    """``call_id`` as every dialect accepts it: ``[A-Za-z0-9_-]`` (Anthropic's pattern) and at most
    ``limit`` characters (OpenAI refuses tool-call ids over 40). Ids that already fit are kept; others
    map deterministically, so a call and its result still match."""
    if len(call_id) <= limit and _SAFE_ID.fullmatch(call_id):
        return call_id
    if len(call_id) <= limit:
        return _UNSAFE_ID_CHARS.sub("_", call_id)
    return stable_id("call_", call_id)
