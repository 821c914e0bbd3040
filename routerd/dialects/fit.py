"""Making a request body valid for the model it goes to: one rule per refusal the providers answer
with a 400 that no fallback fixes, applied to a decoded body in any dialect. Pure: a dict in, the
same dict changed in place (and whether it was).

Each dialect says where its body carries what the rules touch (``Fields``); the rules read the
model's facts from the catalogue (``ModelInfo``), none by name:

- the output limit: every output field capped to the model's ``max_output_tokens`` (OpenAI's
  "max_tokens is too large: 64000. This model supports at most 32768 completion tokens", Gemini's
  "supported range is from 1 (inclusive) to 65537 (exclusive)", Anthropic's "max_tokens: 64000 >
  32000");
- a thinking budget below the (capped) output limit (Anthropic: "`max_tokens` must be greater
  than `thinking.budget_tokens`"; Gemini counts thinking in maxOutputTokens), its share of the
  output where the cap is the model's, or no thinking where no budget of the dialect's minimum fits;
- an OpenAI reasoning effort the model lacks (``ModelInfo.reasoning_efforts``) as the nearest it
  has below, else its lowest (o3: "Unsupported value: 'none' is not supported with the 'o3' model.
  Supported values are: 'low', 'medium', and 'high'."; gpt-5.1 refuses minimal);
- reasoning parameters left out for a model that does not reason (OpenAI: "Unsupported parameter:
  'reasoning_effort' is not supported with this model", and on Responses the ``include`` of
  ``reasoning.encrypted_content`` Codex always sends: "Encrypted content is not supported with this
  model."; Gemini's thinkingConfig);
- a thinking budget in the model's range (``ModelInfo.thinking_budget``: Gemini 2.5 Pro
  128..32,768, "The thinking budget (52428) is invalid."), or, where the catalogue does not know
  the range, at most what every model of the API takes (``Fields.max_budget``: Gemini's 24,576,
  2.5 Flash's most); 0 (thinking off) raised to the least
  where the model cannot turn thinking off (2.5 Pro: "Budget 0 is invalid. This model only works in
  thinking mode."); a Gemini 3 model (``thinking_levels``) gets the thinkingLevel a budget stands
  for, a 2.5 model the budget a level stands for ("Thinking level is not supported for this
  model."), and a level the model lacks becomes the nearest it has below ("Thinking level MEDIUM is
  not supported for this model.");
- OpenAI's reasoning models (``ModelInfo.takes_openai_reasoning``) take ``max_completion_tokens``,
  not ``max_tokens``; another reasoning model of the dialect (DeepSeek's reasoner) ``max_tokens``;
- logprobs left out for a model that refuses them (DeepSeek's reasoner: "deepseek-reasoner does not
  support the parameter `logprobs`");
- sampling, as the model takes it (``ModelInfo.sampling``; OpenAI's reasoning models take only the
  default, "Only the default (1) value is supported"): ``fixed`` drops temperature, top_p, top_k
  and the penalties (OpenAI: "Unsupported parameter: 'presence_penalty' is not supported with this
  model"); ``one`` keeps temperature where both it and top_p are set (Claude 4.5/4.6: "`temperature`
  and `top_p` cannot both be specified for this model"); and while Anthropic's thinking is on,
  temperature may only be 1, top_k must be unset and top_p at least 0.95 (platform.claude.com,
  extended thinking).

Rules one dialect alone needs, over its message list, are that dialect's: Anthropic's
``fit_messages`` (``anthropic.adapt``) also turns a thinking budget off where the API refuses it
with tools (a tool loop whose last assistant message lacks its thinking block; a forced
``tool_choice``).

The gateway applies them to every translated request and to a request passed through to a model
routerd chose; a request passed through to the model its client named keeps its exact bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from routerd.catalogue.models import REASONING_EFFORTS, THINKING_LEVELS, ModelInfo
from routerd.dialects.canonical import LEVELS as REASONING_LEVELS, budget_for_effort, effort_for_budget

Path = tuple[str, ...]
# Anthropic's thinking while on: the sampling it allows (platform.claude.com, extended thinking).
THINKING_TOP_P = 0.95
_THINKING_ON = ("enabled", "adaptive")
# -1 is Gemini's dynamic budget (the model's own choice, as a level model does by default).
DYNAMIC = -1


@dataclass(frozen=True, slots=True)
class Fields:
    """Where a dialect's body carries what the rules touch: each a path of keys, several where the
    API takes more than one spelling (Gemini's camelCase and snake_case)."""

    output: tuple[Path, ...] = ()        # the output limits
    temperature: tuple[Path, ...] = ()
    top_p: tuple[Path, ...] = ()
    top_k: tuple[Path, ...] = ()
    penalties: tuple[Path, ...] = ()     # presence and frequency penalties (sampling too)
    budget: tuple[Path, ...] = ()        # a thinking budget in tokens
    reasoning: tuple[Path, ...] = ()     # what asks for reasoning, dropped for a model without it
    #                                      (none for Anthropic: ``anthropic.adapt`` decides)
    reasoning_items: tuple[tuple[Path, str], ...] = ()  # (a list, an item of it) that asks for it too
    level: tuple[Path, ...] = ()         # a thinking level (Gemini 3's thinkingLevel), beside ``budget``
    effort: tuple[Path, ...] = ()        # OpenAI's reasoning effort
    logprobs: tuple[Path, ...] = ()      # token log probabilities asked for
    min_budget: int = 1                  # the smallest budget the API takes (Anthropic: 1,024)
    max_budget: int | None = None        # the largest every model of the API takes (Gemini: 24,576),
    #                                      for a model whose own range the catalogue does not know
    thinking: Path | None = None         # Anthropic's thinking object (its type says whether on)
    completion: tuple[str, str] | None = None  # (field, what OpenAI's reasoning models take instead)


def fit(body: dict[str, Any], fields: Fields, target: ModelInfo | None) -> bool:
    """Make ``body`` valid for ``target`` (None: a model the catalogue does not know, which gets
    only the rules every model of the API follows); whether anything changed."""
    changed = False
    least = fields.min_budget
    asked = _output(body, fields)
    if target is not None:
        if not target.reasoning:
            changed |= _drop(body, fields.reasoning) | _drop_items(body, fields.reasoning_items)
        if not target.logprobs:
            changed |= _drop(body, fields.logprobs)
        changed |= _cap(body, fields.output, target.max_output_tokens)
        if fields.completion is not None and target.takes_openai_reasoning:
            changed |= _rename(body, *fields.completion)
        elif fields.completion is not None and target.reasoning:  # the renderer's choice for reasoning
            changed |= _rename(body, *reversed(fields.completion))
        changed |= _fit_level(body, fields, target) | _fit_range(body, fields, target)
        changed |= _fit_effort(body, fields, target)
        if target.thinking_budget is not None:
            least = max(least, target.thinking_budget[0])
    if target is None or (target.thinking_budget is None and not target.thinking_levels):
        changed |= _cap(body, fields.budget, fields.max_budget)
    changed |= _fit_budget(body, fields, least, asked)
    return _fit_sampling(body, fields, _sampling(target)) or changed


def fit_bytes(body: bytes, fields: Fields, target: ModelInfo | None) -> bytes:
    """A JSON body made valid for ``target``: the same bytes when nothing had to change (or it is
    not a JSON object: the provider will say what is wrong with it)."""
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return body
    if not isinstance(value, dict) or not fit(value, fields, target):
        return body
    return msgspec.json.encode(value)


def _sampling(target: ModelInfo | None) -> str:
    if target is None:
        return "any"
    if target.sampling is not None:
        return target.sampling
    return "fixed" if target.takes_openai_reasoning else "any"


def _cap(body: dict[str, Any], paths: tuple[Path, ...], limit: int | None) -> bool:
    """Each positive count at ``paths`` at most ``limit`` (None: no limit)."""
    changed = False
    for path in paths if limit is not None else ():
        asked = _get(body, path)
        if _count(asked) and asked > limit:
            changed |= _set(body, path, limit)
    return changed


def _rename(body: dict[str, Any], old: str, new: str) -> bool:
    """``old`` as ``new`` (dropped where ``new`` is set too)."""
    if old not in body:
        return False
    value = body.pop(old)
    body.setdefault(new, value)
    return True


def _fit_level(body: dict[str, Any], fields: Fields, target: ModelInfo) -> bool:
    """A budget as the level it stands for on a model that takes levels (thinking off, a budget of
    0, as its lowest; dynamic, -1, as its default), a level as its budget on one that takes budgets,
    a level the model lacks as the nearest it has below (else its lowest)."""
    if not target.reasoning:
        return False
    levels = target.thinking_levels
    changed = False
    for path in fields.budget if levels else ():
        budget = _get(body, path)
        if isinstance(budget, int) and not isinstance(budget, bool):
            changed |= _drop(body, (path,))
            if budget != DYNAMIC and not _present(body, fields.level):
                asked = REASONING_LEVELS[effort_for_budget(budget)].gemini if budget > 0 else THINKING_LEVELS[0]
                changed |= _set(body, _beside(path, fields), _nearest(asked, levels, THINKING_LEVELS))
    for path in fields.level:
        level = _get(body, path)
        if not isinstance(level, str) or level.lower() not in THINKING_LEVELS:
            continue
        if not levels and target.thinking_budget is not None:  # a model known to take budgets
            changed |= _drop(body, (path,))
            if not _present(body, fields.budget):
                changed |= _set(body, fields.budget[fields.level.index(path)], budget_for_effort(level.lower()))
        elif levels and level.lower() not in levels:
            nearest = _nearest(level.lower(), levels, THINKING_LEVELS)
            changed |= _set(body, path, nearest.upper() if level.isupper() else nearest)
    return changed


def _beside(budget: Path, fields: Fields) -> Path:
    """The level path in the same object (and spelling) as the budget path ``budget``."""
    return fields.level[fields.budget.index(budget)]


def _nearest(asked: str, levels: tuple[str, ...], order: tuple[str, ...]) -> str:
    """The highest of ``levels`` at or below ``asked`` (both of ``order``, lowest first), else the
    lowest of them."""
    below = [level for level in levels if order.index(level) <= order.index(asked)]
    return below[-1] if below else levels[0]


def _fit_effort(body: dict[str, Any], fields: Fields, target: ModelInfo) -> bool:
    """An OpenAI reasoning effort the model lacks as the nearest it has below, else its lowest
    (thinking off, ``none``, is o3's ``low``: it cannot turn reasoning off)."""
    efforts = target.reasoning_efforts
    changed = False
    for path in fields.effort if efforts and target.reasoning else ():
        asked = _get(body, path)
        if isinstance(asked, str) and asked in REASONING_EFFORTS and asked not in efforts:
            changed |= _set(body, path, _nearest(asked, efforts, REASONING_EFFORTS))
    return changed


def _fit_range(body: dict[str, Any], fields: Fields, target: ModelInfo) -> bool:
    """A budget in the model's range: 0 (thinking off) raised to the least where the model cannot
    turn thinking off, a positive budget raised to the least or lowered to the most."""
    if target.thinking_budget is None or not target.reasoning:
        return False
    least, most = target.thinking_budget
    changed = False
    for path in fields.budget:
        budget = _get(body, path)
        if not isinstance(budget, int) or isinstance(budget, bool) or budget == DYNAMIC:
            continue
        if budget == 0 and target.thinking_off:
            continue
        fitted = min(max(budget, least), most)
        if fitted != budget:
            changed |= _set(body, path, fitted)
    return changed


def _output(body: dict[str, Any], fields: Fields) -> int | None:
    """The output limit ``body`` asks for (the least of its output fields), None when it sets none."""
    limits = [n for path in fields.output if _count(n := _get(body, path))]
    return min(limits) if limits else None


def _fit_budget(body: dict[str, Any], fields: Fields, least: int, asked: int | None = None) -> bool:
    """A thinking budget below the output limit, or no thinking where none of the least the API
    (or the model) takes fits. Where the limit is the model's, lower than the ``asked`` one, a
    budget that no longer fits keeps its share of the output, so that the answer keeps its share
    too (Opus 4.5's 64K for 128K asked, 100K of it thinking: 50K), not one token."""
    limit = _output(body, fields)
    if limit is None:
        return False
    changed = False
    for path in fields.budget:
        budget = _get(body, path)
        if not _count(budget) or budget < limit:
            continue
        room = limit - 1
        if asked is not None and asked > limit and budget < asked:
            room = max(budget * limit // asked, least) if room >= least else room
        if room >= least:
            changed |= _set(body, path, room)
        else:  # the thinking object, or the config the budget is in
            changed |= _drop(body, (fields.thinking or path[:-1],))
    return changed


def _fit_sampling(body: dict[str, Any], fields: Fields, sampling: str) -> bool:
    if sampling == "fixed":
        return _drop(body, fields.temperature + fields.top_p + fields.top_k + fields.penalties)
    changed = False
    thinking = _get(body, fields.thinking) if fields.thinking else None
    if isinstance(thinking, dict) and thinking.get("type") in _THINKING_ON:
        changed |= _drop_unless(body, fields.temperature, lambda v: v == 1)
        changed |= _drop(body, fields.top_k)
        changed |= _drop_unless(body, fields.top_p, lambda v: THINKING_TOP_P <= v <= 1)
    if sampling == "one" and _present(body, fields.temperature) and _present(body, fields.top_p):
        changed |= _drop(body, fields.top_p)
    return changed


# --- paths ------------------------------------------------------------------------------------


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _get(body: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def _set(body: dict[str, Any], path: Path, value: Any) -> bool:
    parent = _get(body, path[:-1])
    if not isinstance(parent, dict):
        return False
    parent[path[-1]] = value
    return True


def _present(body: dict[str, Any], paths: tuple[Path, ...]) -> bool:
    return any(_get(body, path) is not None for path in paths)


def _drop(body: dict[str, Any], paths: tuple[Path, ...]) -> bool:
    changed = False
    for path in paths:
        parent = _get(body, path[:-1])
        if isinstance(parent, dict) and path[-1] in parent:
            del parent[path[-1]]
            changed = True
    return changed


def _drop_items(body: dict[str, Any], items: tuple[tuple[Path, str], ...]) -> bool:
    """Each item out of its list (and the list, left empty, out of the body)."""
    changed = False
    for path, item in items:
        listed = _get(body, path)
        if isinstance(listed, list) and item in listed:
            kept = [x for x in listed if x != item]
            changed |= _set(body, path, kept) if kept else _drop(body, (path,))
    return changed


def _drop_unless(body: dict[str, Any], paths: tuple[Path, ...], allowed: Any) -> bool:
    """Drop each of ``paths`` whose value is not a number ``allowed`` takes."""
    dropping = tuple(path for path in paths if (value := _get(body, path)) is not None
                     and not (isinstance(value, (int, float)) and allowed(value)))
    return _drop(body, dropping)
