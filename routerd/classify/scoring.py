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
SIZE_FLOOR = -1.2
SIZE_CAP = 1.6
CONSTRAINT_WEIGHT = 0.12
CONSTRAINT_CAP = 14
DELIVERABLE_WEIGHT = 0.35
QUESTION_WEIGHT = 0.4
DOMAIN_FIRST = 1.1
DOMAIN_EACH = 0.75
DOMAIN_CAP = 3
DESIGN_WITH_DOMAIN = 0.5
CLOSED_QUESTION = -1.3
SMALL_ARTIFACT = -1.2
TESTS_BONUS = 0.6
COMPARE_BONUS = 0.5
WHY_BONUS = 0.4
LOOKUP_IN_PASTE = -0.4
WORKS_ON_PASTE = 0.3


class AskScore(msgspec.Struct, frozen=True):
    """Score, signals and task type of one ask taken alone."""

    score: float
    signals: tuple[str, ...]
    task_type: str
    words: int
    domains: tuple[str, ...]


def is_question_shape(ask: str, view: lx.View) -> bool:
    """A closed question ("what is X", "does Y mutate", "how do I Z") in any supported language."""
    return bool(lx.DEFINITION.match(ask) or lx.DEFINITION_CJK.find(view))


def task_type_of(ask: str, view: lx.View, split: Split, words: int) -> str:
    """Task type from the ask's verbs and objects (order: research, generate, analyze, code, query)."""
    if lx.RESEARCH.find(view) and (lx.TIME_SENSITIVE.find(view) or words > 12):
        return "research"
    gen_at = lx.GENERATE.position(view)
    verb_at = lx.CODE_VERB.position(view)
    noun = lx.CODE_NOUN.find(view) is not None
    analyze_at = lx.ANALYZE.position(view)
    pasted = split.paste_chars > 0
    if gen_at >= 0 and not (noun and verb_at >= 0 and not pasted and verb_at < gen_at):
        if analyze_at < 0 or gen_at < analyze_at:
            return "generate"
    if analyze_at >= 0 and (pasted or "?" in ask or analyze_at < 40):
        if not (noun and 0 <= verb_at < analyze_at):
            return "analyze"
    if verb_at >= 0 and (noun or split.fenced_blocks or pasted):
        return "code"
    if noun and "?" not in ask and not is_question_shape(ask, view):
        return "code"
    if pasted:
        return "analyze" if "?" in ask else "code"
    return "query"


def score_ask(ask: str, split: Split, view: lx.View | None = None, words: int | None = None) -> AskScore:
    """Score one ask; pasted material only counts through `split`'s sizes."""
    if view is None:
        view = lx.view_of(ask)
    if words is None:
        words = word_count(ask)
    signals: list[str] = []
    score = max(SIZE_FLOOR, min(SIZE_CAP, SIZE_WEIGHT * math.log2(max(words, 1) / SIZE_PIVOT_WORDS)))
    signals.append(f"ask_words={words}")

    tokens = view.tokens
    constraints = sum(map(lx.CONSTRAINT_WORDS.__contains__, tokens))
    constraints += ask.count(",") + ask.count(";") + ask.count("(") + sum(1 for w in view.words if w[0].isdigit()) // 2
    constraints = min(constraints, CONSTRAINT_CAP)
    if constraints:
        score += CONSTRAINT_WEIGHT * constraints
        signals.append(f"constraints={constraints}")

    deliverables = len(lx.DELIVERABLE_WORDS & view.words)
    if deliverables > 1:
        score += DELIVERABLE_WEIGHT * min(deliverables - 1, 4)
        signals.append(f"deliverables={deliverables}")

    questions = ask.count("?") - ask.count("??")
    if questions > 1:
        score += QUESTION_WEIGHT * min(questions - 1, 3)
        signals.append(f"questions={questions}")

    domains = tuple(cue.name for cue in lx.DOMAINS if cue.find(view))
    if domains:
        score += DOMAIN_FIRST + DOMAIN_EACH * (min(len(domains), DOMAIN_CAP) - 1)
        signals.extend(f"domain:{d}" for d in domains)
        if lx.DESIGN.find(view):
            score += DESIGN_WITH_DOMAIN
            signals.append("design_with_domain")

    if is_question_shape(ask, view) and words <= 25 and len(domains) <= 1 and questions <= 1:
        score += CLOSED_QUESTION
        signals.append("closed_question")
    if words <= 30 and lx.SMALL_ARTIFACT.find(view):
        score += SMALL_ARTIFACT
        signals.append("small_artifact")

    if lx.TESTS.find(view):
        score += TESTS_BONUS
        signals.append("wants_tests")
    if lx.COMPARE.find(view):
        score += COMPARE_BONUS
        signals.append("comparison")
    why = lx.WHY.find(view) is not None
    if why:
        score += WHY_BONUS
        signals.append("why")

    if split.paste_chars:
        if lx.LOOKUP_ASK.find(view) and not why:
            score += LOOKUP_IN_PASTE
            signals.append("lookup_in_paste")
        elif split.paste_chars > 400:
            score += WORKS_ON_PASTE
            signals.append("works_on_paste")

    return AskScore(score, tuple(signals), task_type_of(ask, view, split, words), words, domains)
