"""Budget admission for one attempt: its worst case reserved before it goes out (settled by its
``CallRecord``), or the budget's refusal.

The worst case is the whole request body read as prompt tokens (``BYTES_PER_TOKEN``: JSON and
text run 3-4 bytes a token, so this rarely underestimates), at most the model's context window,
plus every output token the request may ask for: its own ``max_tokens`` (the dialect's top-level
field for it, read from the front's one decode of the body, ``answers.OutputFields``) up to the
catalogue's output limit for the model (what routerd sends it, ``dialects.fit``); where it sets
none, the limit routerd sends when it translates the request (``dialects.translate.sent_output``:
Anthropic's ``max_tokens`` makes room for a thinking budget), else the model's limit, else
``DEFAULT_MAX_OUTPUT``; and when the request offers a
hosted web search, as many searches as its ``max_uses`` allows (Anthropic's), else
``DEFAULT_MAX_SEARCHES``, found with regular expressions over the bytes (a nested match only
reserves more).
"""

import re
from dataclasses import dataclass

import msgspec

from routerd.budgets.budgets import format_usd, worst_case
from routerd.catalogue.models import ModelInfo
from routerd.dialects.registry import get as dialect_of
from routerd.dialects.responses.search import offers_preview
from routerd.dialects.translate import sent_output
from routerd.errors import BadRequest
from routerd.gateway.answers import OutputFields, ProxyRequest
from routerd.ledger.spending import Spending, free_local
from routerd.providers import Provider
from routerd.resilience.limits import Reservation
from routerd.resilience.refusal import Refusal
from routerd.routing.types import Candidate
from routerd.runtime import Runtime

BYTES_PER_TOKEN = 3
DEFAULT_MAX_OUTPUT = 8192
# Each dialect's top-level fields for the output maximum, as its upstream reads them. OpenAI chat
# takes max_completion_tokens over the older max_tokens; both are read, and the larger reserved,
# since an OpenAI-compatible server may read either. Gemini's is maxOutputTokens inside
# generationConfig. A dialect not named here has every field read.
_OUTPUT_FIELDS = {"openai_chat": ("max_completion_tokens", "max_tokens"), "anthropic": ("max_tokens",),
                  "responses": ("max_output_tokens",), "gemini": ("generationConfig", "generation_config")}
_ALL_FIELDS = tuple(OutputFields.__struct_fields__)
# The name a refusal gives the client's field, as its own API documents it.
_FIELD_NAMES = {"anthropic": "max_tokens", "responses": "max_output_tokens",
                "gemini": "generationConfig.maxOutputTokens"}
_GENERATION_FIELDS = frozenset({"generationConfig", "generation_config"})
_FIELDS = msgspec.json.Decoder(OutputFields)


class _GenerationConfig(msgspec.Struct):
    maxOutputTokens: msgspec.Raw = msgspec.Raw(b"")
    max_output_tokens: msgspec.Raw = msgspec.Raw(b"")


_GENERATION = msgspec.json.Decoder(_GenerationConfig)
_COUNT = msgspec.json.Decoder(int | None)
# A hosted web search tool (Anthropic's web_search_2025..., the Responses API's web_search and
# web_search_preview with or without a date, Gemini's googleSearch, chat completions' search
# options), and not an earlier search's blocks (web_search_tool_result, web_search_call).
_SEARCH_TOOL = re.compile(rb'"type"\s*:\s*"web_search(?:_preview)?(?:_\d{8}|_\d{4}_\d{2}_\d{2})?"'
                          rb'|"(?:googleSearch|google_search|web_search_options)"\s*:')
_MAX_USES = re.compile(rb'"max_uses"\s*:\s*(\d+)')
# Searches reserved for a request that offers a hosted search without a max_uses (the Responses API
# and Gemini have none): Claude Code's WebSearch caps itself at 8, and OpenAI bills each search a
# web_search call runs (one call may run several).
DEFAULT_MAX_SEARCHES = 10


@dataclass(frozen=True, slots=True)
class Estimate:
    """What one call may spend at most (``amounts``, for ``worst_case``) and how it was found."""

    amounts: dict[str, float]
    prompt_tokens: int
    output_tokens: int
    asked: bool                 # the output is the request's own max_tokens
    searches: int = 0           # hosted web searches reserved for
    asked_tokens: int = 0       # what the request asks for, when above the model's limit (capped to it)
    sent: bool = False          # the output is what routerd sends for a request that sets none


def asked_output(request: ProxyRequest) -> int | None:
    """The most output tokens ``request`` asks for in its dialect's top-level field (the larger,
    where the dialect has two), or None when it sets none, or none that is a positive whole number
    (the upstream refuses those). Fields the front did not decode are read from the body here."""
    fields = _fields_of(request)
    if fields is None:
        return None
    raws: list[msgspec.Raw] = []
    for name in _OUTPUT_FIELDS.get(request.dialect, _ALL_FIELDS):
        raw = getattr(fields, name)
        if name not in _GENERATION_FIELDS:
            raws.append(raw)
        elif raw:
            try:
                config = _GENERATION.decode(raw)
            except msgspec.DecodeError:  # not an object: the upstream refuses the request
                continue
            raws += (config.maxOutputTokens, config.max_output_tokens)
    counts = [n for n in map(_count, raws) if n is not None]
    return max(counts) if counts else None


def output_field(request: ProxyRequest) -> str:
    """The name of the field in which ``request``'s client asks for its most output tokens: its
    dialect's (for OpenAI chat, max_completion_tokens when the request sets it, else max_tokens)."""
    if request.dialect == "openai_chat":
        fields = _fields_of(request)
        return "max_completion_tokens" if fields and _count(fields.max_completion_tokens) is not None else "max_tokens"
    return _FIELD_NAMES.get(request.dialect, "max_tokens")


def _fields_of(request: ProxyRequest) -> OutputFields | None:
    """The output fields the front decoded, or, for a request built without it, decoded from the
    body here (None for a body that is not JSON)."""
    if request.output is not None:
        return request.output
    try:
        return _FIELDS.decode(request.body)
    except (msgspec.DecodeError, RecursionError):
        return None


def _count(raw: msgspec.Raw) -> int | None:
    """A field's value as a count of tokens: a positive whole number, else None."""
    if not raw:
        return None
    try:
        value = _COUNT.decode(raw)
    except msgspec.DecodeError:  # a string, a fraction, out of range
        return None
    return value if value is not None and value > 0 else None


def estimate(runtime: Runtime, candidate: Candidate, request: ProxyRequest) -> Estimate | None:
    """What one call of ``request`` to ``candidate`` may spend at most (None when it is free)."""
    provider = runtime.providers.get(candidate.provider)
    info = runtime.catalogue.get(f"{candidate.provider}/{candidate.model}") or runtime.catalogue.get(candidate.model)
    free = (provider is not None and provider.local) or (info is not None and info.free)
    if free:
        return None
    body = request.body
    prompt = len(body) // BYTES_PER_TOKEN
    if info is not None:
        prompt = min(prompt, info.context_window)
    asked = asked_output(request)
    limit = info.max_output_tokens if info is not None else None
    sent = _sent_output(provider, request, info) if asked is None else None
    output = asked if asked is not None else sent if sent is not None else (limit or DEFAULT_MAX_OUTPUT)
    over = output if limit is not None and output > limit else 0
    output = min(output, limit) if limit is not None else output  # routerd sends no more (dialects.fit)
    rates = runtime.catalogue.rates(candidate.provider, candidate.model)
    searches = max_searches(body)
    # web_search_preview's searches at that tool's price: over-held when a translation gives the
    # provider web_search instead, as a worst case may be.
    preview = searches if searches and offers_preview(body) else 0
    return Estimate(worst_case(rates, False, prompt, output, searches, preview), prompt, output,
                    asked is not None, searches, over, sent is not None)


def _sent_output(provider: Provider | None, request: ProxyRequest, info: ModelInfo | None) -> int | None:
    """The output limit routerd itself sends where it translates a request that sets none (the
    translator's own rule, ``dialects.translate.sent_output``), else None: a request passed through
    goes as it came."""
    if provider is None or request.dialect in provider.dialects:
        return None
    front_model = request.model if dialect_of(request.dialect).names_model_in_path else None
    try:
        return sent_output(request.dialect, provider.dialects, request.body, info, front_model=front_model)
    except BadRequest:  # a body translation cannot read is refused before any call
        return None


def max_searches(body: bytes) -> int:
    """The hosted web searches a request may run: none unless it offers the search tool; then the
    largest ``max_uses`` it states (Anthropic's server tools), else ``DEFAULT_MAX_SEARCHES``."""
    if _SEARCH_TOOL.search(body) is None:
        return 0
    caps = [int(m.group(1)) for m in _MAX_USES.finditer(body)]
    return max(caps) if caps else DEFAULT_MAX_SEARCHES


def hold(spending: Spending, runtime: Runtime, candidate: Candidate, request: ProxyRequest,
         session_id: str | None) -> Reservation | Refusal | None:
    """The attempt's reservation, the budget's refusal, or None (no budgets, or a free call)."""
    if not spending.active:
        return None
    found = estimate(runtime, candidate, request)
    if found is None:
        return None
    return spending.reserve(candidate.provider, candidate.model, session_id, found.amounts)


def refusal_message(runtime: Runtime, candidate: Candidate, request: ProxyRequest, refusal: Refusal,
                    stepped_down: bool) -> str:
    """The 402's message when budgets refused every paid candidate: the first one refused (the
    model routing wanted), what it would have reserved and why, the limit and its reason, whether
    cheaper models were tried (``stepped_down``), and what would let a call through."""
    found = estimate(runtime, candidate, request)
    parts = [f"routerd budget: {candidate.provider}/{candidate.model}"]
    field = output_field(request)
    if found is not None:
        output = (f"{field} {found.asked_tokens:,}, at most the model's {found.output_tokens:,}"
                  if found.asked and found.asked_tokens else f"{field} {found.output_tokens:,}" if found.asked else
                  f"the {found.output_tokens:,} output tokens routerd asks of the model for it (room for its "
                  f"reasoning), since the request sets no {field}" if found.sent else
                  f"the model's whole output limit of {found.output_tokens:,} tokens, since the request "
                  f"sets no {field}")
        searches = f" and {found.searches} web searches" if found.searches else ""
        parts[0] += (f" would reserve {format_usd(found.amounts['usd'])} ({found.prompt_tokens + found.output_tokens:,} "
                     f"tokens: {found.prompt_tokens:,} prompt tokens at most and {output}{searches})")
    parts.append(f"{refusal.target}: {refusal.reason}")
    if stepped_down:
        parts.append("no cheaper model fits either")
    if not refusal.never:
        parts.append("paid calls this large are refused until it resets or the limit is raised")
    if found is not None:
        parts.append(f"a smaller {field} reserves less" if found.asked else f"set {field} to reserve less")
    if free_local(runtime):
        parts.append("free local models still serve")
    return "; ".join(parts)
