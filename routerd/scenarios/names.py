"""Model names as clients write them: routerd's automatic-routing names, and client-only decorations.

Claude Code and Claude Desktop offer only Anthropic-shaped names (``claude-...``; organisations
allowlist them), and Codex names its model in its config, so routerd serves its automatic routing
under names each client accepts: by default ``claude-routerd-auto`` (Claude Code's main slots),
``claude-routerd-auto-haiku`` (its small/fast slot: the name says Haiku, so the request is
``background``), and ``routerd-auto`` / ``gpt-routerd-auto`` for OpenAI-speaking clients, beside
the plain ``auto``. All are configurable (``[routing.scenarios] anthropic_names / openai_names``).

Decorations are what a client appends to a name for its own use: Claude Code's ``[1m]`` (asks for
the 1M-token window; the client also sends the ``context-1m`` beta) and other bracketed tags. No
provider's model id contains brackets, so a trailing ``[...]`` is always stripped before a
provider sees the name, and kept as a hint.
"""

from __future__ import annotations

import re

import msgspec

from routerd.errors import BadRequest

DEFAULT_ANTHROPIC_NAMES = ("claude-routerd-auto", "claude-routerd-auto-haiku")
DEFAULT_OPENAI_NAMES = ("routerd-auto", "gpt-routerd-auto")
PLAIN_AUTO = ("auto", "")
_DECORATION = re.compile(r"\s*\[([A-Za-z0-9_.:-]{1,32})\]\s*$")
MAX_MODEL_CHARS = 256
# What model ids use across providers: OpenRouter's "org/model:free", Vertex's "model@2024",
# Ollama's "qwen2.5:7b", Fireworks' "accounts/x/models/y". Nothing that changes a URL or a header.
_MODEL_RE = re.compile(r"[A-Za-z0-9@_][A-Za-z0-9._:/@+=~,-]*")


class ModelName(msgspec.Struct, frozen=True):
    """A requested name split into what a provider may see and the client's decorations."""

    name: str
    decorations: tuple[str, ...] = ()

    @property
    def wants_1m(self) -> bool:
        """Claude Code's ``[1m]``: the client wants a 1M-token context window."""
        return "1m" in (d.lower() for d in self.decorations)


def parse_model_name(raw: str) -> ModelName:
    """``"claude-opus-4-8[1m]"`` -> ``ModelName("claude-opus-4-8", ("1m",))`` (repeated tags too)."""
    name, tags = raw.strip(), list[str]()
    if not name.endswith("]"):  # undecorated, as nearly every name is: no pattern to run
        return ModelName(name)
    while (match := _DECORATION.search(name)) is not None:
        tags.insert(0, match.group(1))
        name = name[: match.start()]
    return ModelName(name, tuple(tags))


def check_model(model: str) -> None:
    """Refuse a model name (decorations stripped) that could change the upstream request line or
    a response header."""
    if len(model) > MAX_MODEL_CHARS or not _MODEL_RE.fullmatch(model) \
            or any(part in (".", "..") for part in model.split("/")):
        raise _invalid(model)


def check_requested(raw: str) -> ModelName:
    """A name as a client sent it (over HTTP or the socket): a model name, then any ``[tag]``s
    right after it, and nothing else. Whitespace anywhere (``"gpt-4.1\\r\\n"``, ``" auto "``, a
    no-break space) is refused, not trimmed: the documented characters are all a name may hold."""
    parsed = parse_model_name(raw)
    check_model(parsed.name)
    if len(raw) != len(parsed.name) + sum(len(tag) + 2 for tag in parsed.decorations):
        raise _invalid(raw)  # parse_model_name trims whitespace (config files may hold it)
    return parsed


def _invalid(model: str) -> BadRequest:
    return BadRequest(f"invalid model name {model[:80]!r}: model names use letters, digits and ._:/@+=~,- "
                      f"only (no spaces or line breaks; a client's [tag] may follow), at most "
                      f"{MAX_MODEL_CHARS} characters")


class AutoNames(msgspec.Struct, frozen=True):
    """The names that mean routerd's automatic routing, by the dialect they are shaped for."""

    anthropic: tuple[str, ...] = DEFAULT_ANTHROPIC_NAMES
    openai: tuple[str, ...] = DEFAULT_OPENAI_NAMES

    def is_auto(self, name: str) -> bool:
        """Whether ``name`` (decorations stripped) asks for automatic routing."""
        return name in PLAIN_AUTO or name in self.anthropic or name in self.openai

    def listed(self, dialect: str) -> tuple[str, ...]:
        """The names ``/v1/models`` lists for a client of ``dialect``: its own shape first, then the
        others (any client may use any of them)."""
        if dialect == "anthropic":
            return (*self.anthropic, *self.openai)
        return (*self.openai, *self.anthropic)
