"""Difficulty score and task type of one ask, without conversation context.

The score is a sum of small, named contributions (each appended to `signals`), cut into tiers by
`SIMPLE_BELOW` and `COMPLEX_FROM`. The weights were set by reasoning about what makes work hard —
how much is asked (deliverables, sub-questions, constraints), whether the domain is one where
cheap models fail (concurrency, distributed state, security, proofs, evidence synthesis), and
whether the request has the shape of a closed lookup or a small artifact — and then checked on a
labelled set split in halves, not fitted case by case.
"""

from __future__ import annotations

import math

import msgspec

from routerd.classify import lexicon as lx
from routerd.classify.text import Split, word_count

# Tier cut points on the score. Chosen so that a plain one-deliverable coding or writing request
# with a couple of constraints lands in the middle tier, and it takes a hard domain *plus* breadth
# (several deliverables, questions or constraints) to reach the top.
SIMPLE_BELOW = 1.0
COMPLEX_FROM = 3.1

# Words in the ask at which the size contribution is zero; doubling adds SIZE_WEIGHT.
SIZE_PIVOT_WORDS = 14
SIZE_WEIGHT = 0.55
SIZE_CAP = 1.6
CONSTRAINT_WEIGHT = 0.12
CONSTRAINT_CAP = 14
DOMAIN_FIRST = 1.1
DOMAIN_EACH = 0.75
DOMAIN_CAP = 3
DESIGN_WITH_DOMAIN = 0.5


class AskScore(msgspec.Struct, frozen=True):
    """Score, signals and task type of one ask taken alone."""

    score: float
    signals: tuple[str, ...]
    task_type: str
    words: int
    domains: tuple[str, ...]


def _domains(ask: str) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for match in lx.DOMAIN.finditer(ask):
        if match.lastgroup:
            found[match.lastgroup] = None
    return tuple(found)


def _is_question_shape(ask: str) -> bool:
    return bool(lx.DEFINITION.search(ask) or lx.DEFINITION_CJK.search(ask))


def task_type_of(ask: str, split: Split, words: int) -> str:
    """Task type from the ask's verbs and objects (order: research, generate, analyze, code, query)."""
    lowered = ask.lower()
    research = lx.RESEARCH.search(ask)
    if research and (lx.TIME_SENSITIVE.search(ask) or words > 12):
        return "research"
    generate = lx.GENERATE.search(ask)
    code_verb = lx.CODE_VERB.search(ask)
    code_noun = lx.CODE_NOUN.search(ask)
    analyze = lx.ANALYZE.search(ask)
    if generate and not (code_noun and not split.paste_chars and code_verb and code_verb.start() < generate.start()):
        if not analyze or generate.start() < analyze.start():
            return "generate"
    if analyze and (split.paste_chars or "?" in ask or analyze.start() < 40):
        if not (code_verb and code_verb.start() < analyze.start() and code_noun):
            return "analyze"
    if code_verb and (code_noun or split.fenced_blocks or split.paste_chars):
        return "code"
    if code_noun and not _is_question_shape(ask) and "?" not in ask:
        return "code"
    if split.paste_chars and ("fix" in lowered or "change" in lowered):
        return "code"
    if split.paste_chars and "?" in ask:
        return "analyze"
    return "query"


def score_ask(ask: str, split: Split) -> AskScore:
    """Score one ask; pasted material only counts through `split`'s sizes."""
    signals: list[str] = []
    score = 0.0
    words = word_count(ask)

    size = SIZE_WEIGHT * math.log2(max(words, 1) / SIZE_PIVOT_WORDS)
    size = max(-1.2, min(SIZE_CAP, size))
    score += size
    signals.append(f"ask_words={words}")

    constraints = min(len(lx.CONSTRAINT.findall(ask)) + len(lx.NUMBER.findall(ask)) // 2, CONSTRAINT_CAP)
    if constraints:
        score += CONSTRAINT_WEIGHT * constraints
        signals.append(f"constraints={constraints}")

    deliverables = {m.group(0).lower() for m in lx.DELIVERABLE.finditer(ask)}
    if len(deliverables) > 1:
        score += 0.35 * min(len(deliverables) - 1, 4)
        signals.append(f"deliverables={len(deliverables)}")

    questions = len(lx.QUESTION.findall(ask))
    if questions > 1:
        score += 0.4 * min(questions - 1, 3)
        signals.append(f"questions={questions}")

    domains = _domains(ask)
    if domains:
        score += DOMAIN_FIRST + DOMAIN_EACH * (min(len(domains), DOMAIN_CAP) - 1)
        signals.extend(f"domain:{d}" for d in domains)
        if lx.DESIGN.search(ask):
            score += DESIGN_WITH_DOMAIN
            signals.append("design_with_domain")

    question_shape = _is_question_shape(ask)
    if question_shape and words <= 25 and len(domains) <= 1 and questions <= 1:
        score -= 1.3
        signals.append("closed_question")
    if lx.SMALL_ARTIFACT.search(ask) and words <= 30:
        score -= 1.2
        signals.append("small_artifact")

    if lx.TESTS.search(ask):
        score += 0.6
        signals.append("wants_tests")
    if lx.COMPARE.search(ask):
        score += 0.5
        signals.append("comparison")
    if lx.WHY.search(ask):
        score += 0.4
        signals.append("why")

    if split.paste_chars:
        if lx.LOOKUP_ASK.search(ask) and not lx.WHY.search(ask):
            score -= 0.4
            signals.append("lookup_in_paste")
        elif split.paste_chars > 400:
            score += 0.3
            signals.append("works_on_paste")

    task_type = task_type_of(ask, split, words)
    return AskScore(score, tuple(signals), task_type, words, domains)
