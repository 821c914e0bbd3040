"""The second opinion's words: the short prompt sent to a classifier model, and reading its answer.

Pure. The daemon asks a configured model (typically a small local one) when the classifier's
confidence is low; this module builds what it is asked and turns the reply into a
`Classification`, or None when the reply says nothing usable (then the classifier's answer stands).
The cache key covers the normalised prompt and every setting that changes the answer.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import msgspec

from routerd.classify.paste import split_ask
from routerd.classify.text import MAX_MESSAGES, to_turn
from routerd.classify.types import TASK_TYPES, TIERS, Classification, enough, level5_for

PROMPT_VERSION = "1"
MAX_ASK_CHARS = 2000
MAX_CONTEXT_CHARS = 600
# A model that answers is trusted this much: more than a borderline classifier, less than a sure one.
# Its tier becomes probabilities the policy reads like the classifier's: its tier is enough with
# MODEL_CONFIDENCE, the tier below with 1 - MODEL_CONFIDENCE.
MODEL_CONFIDENCE = 0.8
MODEL_PROBABILITIES = {
    "simple": (MODEL_CONFIDENCE, 0.95),
    "moderate": (1 - MODEL_CONFIDENCE, MODEL_CONFIDENCE),
    "complex": (0.05, 1 - MODEL_CONFIDENCE),
}
_WORD = re.compile(r"[a-z]+")
_SPACES = re.compile(r"\s+")

INSTRUCTIONS = (
    "You route requests to language models. Read the user's last request (and the context before "
    "it, if any) and answer with exactly two words: the tier and the task type.\n"
    "tier: simple (a small model does it fully), moderate (needs a strong general model), or "
    "complex (needs the best reasoning model: design under many constraints, concurrency or "
    "security analysis, hard proofs, cross-cutting changes).\n"
    "type: query, code, analyze, generate, research or chat.\n"
    "Answer like: moderate code"
)


def build_prompt(messages: list[Any]) -> str:
    """The classifier model's prompt for a conversation: instructions, short context, the ask."""
    turns = [to_turn(m) for m in messages[-MAX_MESSAGES:]]
    turns = [t for t in turns if t.role != "system" and t.text.strip()]
    if not turns:
        return INSTRUCTIONS
    last = turns[-1].text
    split = split_ask(last)
    ask = split.ask[:MAX_ASK_CHARS]
    if split.paste_chars:
        ask += f"\n[{split.paste_chars} characters of pasted code/logs/documents omitted]"
    context = "\n".join(f"{t.role}: {t.text[:MAX_CONTEXT_CHARS]}" for t in turns[-3:-1])
    parts = [INSTRUCTIONS]
    if context:
        parts.append("Context:\n" + context)
    parts.append("Request:\n" + ask)
    return "\n\n".join(parts)


def parse_reply(text: str, learned: Classification) -> Classification | None:
    """The model's answer as a Classification (signals say it came from the model), or None."""
    words = _WORD.findall(text.lower())
    tier = next((w for w in words if w in TIERS), None)
    if tier is None:
        return None
    task_type = next((w for w in words if w in TASK_TYPES), learned.task_type)
    p_simple, p_moderate = MODEL_PROBABILITIES[tier]
    return msgspec.structs.replace(
        learned, tier=tier, task_type=task_type, confidence=enough(p_simple, p_moderate, tier),
        signals=signals(learned), source="model", p_simple=p_simple, p_moderate=p_moderate,
        level5=level5_for(p_simple, p_moderate),
    )


def signals(learned: Classification) -> tuple[str, ...]:
    """A second opinion's signals: that the model decided, what the classifier said, and the
    classifier's own signals (for a cached opinion too: they are the request's at hand)."""
    return ("second_opinion", f"learned={learned.tier}/{learned.confidence:.2f}", *learned.signals)


def cache_key(messages: list[Any], model: str, threshold: float) -> str:
    """sha256 of the normalised conversation tail and the settings that shape the answer."""
    turns = [to_turn(m) for m in messages[-3:]]
    text = "\n".join(f"{t.role}:{_SPACES.sub(' ', t.text.strip().lower())}" for t in turns)
    material = f"v{PROMPT_VERSION}|{model}|{threshold:.3f}|{text}"
    return hashlib.sha256(material.encode()).hexdigest()
