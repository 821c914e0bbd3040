"""Where a key path is in a config file's text: its line, for errors that name it. msgspec's
validation messages are rewritten to ``source:LINE: a.KEY.b: reason``, and a problem found after
decoding (``ConfigText``) names its line the same way. Best effort over the TOML text; pure."""

import json
import re
import tomllib
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from routerd.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ConfigText:
    """A config file's text and the name its errors give it, kept beside the decoded Config so that
    a problem found later (a name that refers to nothing) can name its line too."""

    source: str
    text: str

    def where(self, key: Sequence[str]) -> str:
        """``source:LINE`` of the key path ``key`` (``source`` alone when no line shows it)."""
        line = _find_line(self.text, list(key)) if key else None
        return f"{self.source}:{line}" if line else self.source

    def locate(self, exc: ConfigError) -> ConfigError:
        """``exc`` with the file and line of its key in front; unchanged when it names no key."""
        return ConfigError(f"{self.where(exc.key)}: {exc.message}") if exc.key else exc


_AT_RE = re.compile(r" - at `\$([^`]*)`$")
_STEP_RE = re.compile(r"\.([^.\[]+)|\[([^\]]*)\]")
_UNKNOWN_RE = re.compile(r"Object contains unknown field `([^`]+)`")
_KEYED_RE = re.compile(r"([a-z_]+): (.+)", re.DOTALL)  # a __post_init__ refusal naming its key


def describe(message: str, text: str, source: str, root: type) -> str:
    """Rewrite msgspec's ``reason - at `$.a[...].b` `` as ``source:LINE: a.KEY.b: reason`` (``root``:
    the Struct the text was decoded into, whose types say which keys are a dict's)."""
    match = _AT_RE.search(message)
    reason = message[: match.start()] if match else message
    steps = [a or b for a, b in _STEP_RE.findall(match.group(1))] if match else []
    unknown = _UNKNOWN_RE.match(reason)
    keyed = _KEYED_RE.fullmatch(reason)
    if unknown:
        steps.append(unknown.group(1))
        reason = "unknown key"
    elif keyed:
        steps.append(keyed.group(1))
        reason = keyed.group(2)
    parts = _name_dict_keys(tomllib.loads(text), steps, root)
    if unknown and (close := _close_match(parts[-1], _keys(_type_at(root, parts[:-1])))):
        reason += f" (did you mean {close!r}?)"
    elif reason.startswith("Invalid enum value") and (choices := _choices(_type_at(root, parts))):
        reason += f"; expected one of {', '.join(map(str, choices))}"
    line = _find_line(text, parts)
    where = f"{source}:{line}" if line else source
    return f"{where}: {'.'.join(parts)}: {reason}"


def _close_match(key: str, keys: list[str]) -> str | None:
    """The known key ``key`` is most likely a typo of, if any. difflib is imported here, at the first
    unknown key: a daemon whose config is valid never needs it (0.2 MB of idle RSS)."""
    import difflib

    close = difflib.get_close_matches(key, keys, 1, 0.6)
    return close[0] if close else None


def _name_dict_keys(raw: object, steps: list[str], typ: object) -> list[str]:
    """Replace msgspec's anonymous ``...`` dict keys with the key of the entry that fails."""
    if not steps:
        return []
    head, rest = steps[0], steps[1:]
    if head == "..." and isinstance(raw, dict):
        value_type = typing.get_args(typ)[1]
        for key, value in raw.items():
            if _has_path(value, rest) and not _converts(value, value_type):
                return [key, *_name_dict_keys(value, rest, value_type)]
        return ["?", *rest]
    child = raw.get(head) if isinstance(raw, dict) else None
    hints = typing.get_type_hints(typ) if isinstance(typ, type) else {}
    return [head, *_name_dict_keys(child, rest, hints.get(head))]


def _members(typ: object) -> list[object]:
    """The types a value of ``typ`` may have: Optional, unions and Annotated opened up."""
    origin = typing.get_origin(typ)
    if origin is typing.Annotated:
        return _members(typing.get_args(typ)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(typ) if arg is not type(None) for m in _members(arg)]
    return [typ]


def _type_at(root: object, parts: list[str]) -> object:
    """The declared type of the key path ``parts`` below ``root`` (None where the types say nothing)."""
    typ: object = root
    for part in parts:
        for member in _members(typ):
            origin = typing.get_origin(member)
            if origin is dict:
                typ = typing.get_args(member)[1]
                break
            if origin in (list, tuple) and part.isdigit():
                typ = typing.get_args(member)[0]
                break
            if isinstance(member, type) and issubclass(member, msgspec.Struct):
                hints = typing.get_type_hints(member)
                if part in hints:
                    typ = hints[part]
                    break
        else:
            return None
    return typ


def _keys(typ: object) -> list[str]:
    """The keys a table of type ``typ`` may hold (a Struct's fields)."""
    return [f.encode_name for m in _members(typ) if isinstance(m, type) and issubclass(m, msgspec.Struct)
            for f in msgspec.structs.fields(m)]


def _choices(typ: object) -> list[object]:
    """The values a ``Literal`` type allows."""
    return [arg for m in _members(typ) if typing.get_origin(m) is typing.Literal for arg in typing.get_args(m)]


def _converts(value: object, typ: object) -> bool:
    try:
        msgspec.convert(value, typ)
    except msgspec.ValidationError:
        return False
    return True


def _has_path(raw: object, steps: list[str]) -> bool:
    for step in steps:
        if step == "...":
            return isinstance(raw, dict)
        if not isinstance(raw, dict) or step not in raw:
            return False
        raw = raw[step]
    return True


def _find_line(text: str, parts: list[str]) -> int | None:
    """Best-effort line of a key path in TOML text: the deepest ``[table]`` header that names a
    prefix of the path, then the first ``key =`` line for the next part below that header."""
    lines = text.splitlines()
    if (line := _table_line(lines, parts)) is not None:
        return line
    for depth in range(len(parts) - 1, -1, -1):
        header = re.compile(
            r"^\s*\[\s*" + r"\s*\.\s*".join(map(_key_re, parts[:depth])) + r"\s*\]\s*$"
        ) if depth else None
        start = 0
        if header is not None:
            found = [n for n, line in enumerate(lines) if header.match(line)]
            if not found:
                continue
            start = found[0] + 1
        key = re.compile(r"^\s*" + _key_re(parts[depth]) + r"\s*[=.]")
        for n in range(start, len(lines)):
            if header is not None and lines[n].lstrip().startswith("["):
                break
            if key.match(lines[n]):
                return n + 1
        return start or None
    return None


def _key_re(part: str) -> str:
    """A pattern for ``part`` as a TOML key is usually written: bare (when it can be), in single
    quotes, or in double quotes with JSON's escapes (which TOML's basic strings share)."""
    forms = {json.dumps(part), json.dumps(part, ensure_ascii=False), f"'{part}'"}
    if re.fullmatch(r"[A-Za-z0-9_-]+", part):
        forms.add(part)
    return "(?:" + "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)) + ")"


def _table_line(lines: list[str], parts: list[str]) -> int | None:
    """The line of the ``[table]`` that is the whole path or, for a path through an ``[[array]]``
    entry (``limits.0.window``), of the key under the n-th entry (or of the entry itself)."""
    for k in range(len(parts) - 1, 0, -1):
        if not parts[k].isdigit():
            continue
        header = re.compile(r"^\s*\[\[\s*" + r"\s*\.\s*".join(map(_key_re, parts[:k])) + r"\s*\]\]\s*$")
        found = [n for n, line in enumerate(lines) if header.match(line)]
        if int(parts[k]) >= len(found):
            return None
        start = found[int(parts[k])]
        if k + 1 < len(parts):
            key = re.compile(r"^\s*" + _key_re(parts[k + 1]) + r"\s*[=.]")
            for n in range(start + 1, len(lines)):
                if lines[n].lstrip().startswith("["):
                    break
                if key.match(lines[n]):
                    return n + 1
        return start + 1
    header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(map(_key_re, parts)) + r"\s*\]\s*$")
    return next((n + 1 for n, line in enumerate(lines) if header.match(line)), None)
