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
import re

import msgspec

from routerd.classify import lexicon as lx
from routerd.classify.text import Split, paste_is_code, word_count

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
CONSTRAINT_WEIGHT = 0.1
CONSTRAINT_CAP = 14
DELIVERABLE_WEIGHT = 0.35
QUESTION_WEIGHT = 0.4
# Domains where cheap models fail most often weigh most: distributed state, proofs, security and
# law (regulations across jurisdictions; weighted highest because three independent held-out asks
# about it landed just under the top tier at 1.4) fail silently; concurrency and systems work fail
# loudly; performance, scale and evidence words also appear in ordinary requests, so they weigh least.
DOMAIN_WEIGHT = {
    "distributed": 1.5, "proof": 1.5, "security": 1.4, "legal": 1.6,
    "concurrency": 1.1, "systems": 1.1,
    "perf": 0.8, "scale": 0.8, "evidence": 0.8, "math": 0.8,
}
STRONG_DOMAIN = 1.4
DOMAIN_EACH = 0.6
DOMAIN_CAP = 3
DESIGN_WITH_DOMAIN = 0.5
CLOSED_QUESTION = -1.3
SMALL_ARTIFACT = -1.2
TESTS_BONUS = 0.6
ANALYSIS_BONUS = 0.5
LOOKUP_IN_PASTE = -0.4
DEBUG_CODE_PASTE = 0.6
EXPERT_BONUS = 0.8
EXPERT_BUILD_BONUS = 0.6
# "Prove that ..." asks for a proof, the hard end of mathematics in any wording.
PROOF_REQUEST = 1.6
# A change applied across many units (services, files, a codebase) is a cross-cutting refactor.
CROSS_CUTTING_BONUS = 0.7
BREADTH_MANY = 10
BREADTH_BONUS = 0.7
MULTI_LANGUAGE_BONUS = 0.5
# Correspondence (emails, posts, letters) is written from facts the user gives: a middle-tier
# model does it fully, however long the brief.
CORRESPONDENCE_CEILING = COMPLEX_FROM - 0.3
# A code deliverable that comes with tests is never a one-liner.
TESTED_CODE_FLOOR = SIMPLE_BELOW + 0.3
# Comparing, evaluating, researching or building something is never a lookup, however short the ask.
ANALYSIS_FLOOR = SIMPLE_BELOW + 0.2
# A piece of writing asked for at this length or more is long-form: structure and consistency matter.
LONG_FORM_WORDS = 500
LONG_FORM_BONUS = 0.8
# "Design a <system>": the whole of a system's design, not one part of it.
SYSTEM_DESIGN_BONUS = 1.0
# A code request listing this many requirements ("multi-stage, non-root, healthcheck, ...") is a
# specification, not a one-liner: the simplest code asks in the labelled sets list at most three.
SPEC_CONSTRAINTS = 4
# Judging pasted code (a review, an audit, "why does this ...") where bugs hide — races,
# distributed state, attacks — is the analysis cheap models get wrong without noticing.
REVIEW_IN_HARD_DOMAIN = 0.8
# An ask this short that judges pasted code ("is this correct?") takes its domain from the code.
JUDGE_PASTE_MAX_WORDS = 12
# Weighing evidence (papers, studies) about a hard domain, not just collecting it.
EVIDENCE_IN_HARD_DOMAIN = 0.5
# "Why ... and how do we fix it": a diagnosis and a remedy are two pieces of work.
DIAGNOSE_AND_FIX = 0.4


# Pasted error output (a log or trace with errors in it): the ask is to read it, i.e. analysis.
# Substring tests, not a regex: a word-bounded alternation costs ~15 us on the paste's head.
_ERROR_MARKS = ("ERROR", "Error", "Exception", "Traceback", "FAILED", "FATAL", "panic", "[error]")


def _error_output(head: str) -> bool:
    return any(mark in head for mark in _ERROR_MARKS)

# "should ingredients be JSONB or a table?", "which is cheaper, A or B?": a choice to weigh.
_CHOICE = re.compile(r"\b(?:should|which)\b[^?.]{0,160}\bor\b")
_RESHAPING_VERBS = frozenset(("turn", "transform"))
_FINDING_VERBS = frozenset(("find", "search", "collect", "gather"))
_SYNTHESIS_WORDS = frozenset(("summarize", "summarise", "which", "compare", "rank"))
# "explain what X is", "explain how Y works": a concept asked for by name.
_EXPLAIN_CONCEPT = re.compile(r"\s*(?:\w+ ){0,2}explain (?:to me )?(?:what|how|the difference|the meaning)\b", re.I)
# A lead-in before a colon ("quick one: ...") is at most this long.
LEAD_IN_CHARS = 24
_FILLERS = lx.FILLERS
_ASCII_VERB_PHRASES = tuple(p for p in lx.CODE_VERB.phrases if p.isascii())


class AskScore(msgspec.Struct, frozen=True):
    """Score, signals and task type of one ask taken alone."""

    score: float
    signals: tuple[str, ...]
    task_type: str
    words: int
    domains: tuple[str, ...]


def is_question_shape(ask: str, view: lx.View) -> bool:
    """A closed question ("what is X", "does Y mutate", "how do I Z") in any supported language,
    also after a short lead-in ("quick one: how do I ...")."""
    if lx.DEFINITION.match(ask) or lx.DEFINITION_CJK.find(view):
        return True
    colon = ask.find(":", 0, LEAD_IN_CHARS)
    return colon > 0 and bool(lx.DEFINITION.match(ask, colon + 1))


def imperative_at(view: lx.View, verbs: frozenset[str] = lx.CODE_VERB.words) -> int:
    """Offset of the first clause that opens with one of `verbs` (making or changing something), else -1."""
    # The phrase verbs are CJK ("写", "実装"): a clause of an ASCII view cannot open with one.
    phrases = lx.CODE_VERB.phrases if not view.ascii else _ASCII_VERB_PHRASES
    for offset, token in view.heads:
        if token in verbs or (phrases and token.startswith(phrases)):
            return offset
    return -1


def _opens_with(view: lx.View, verbs: frozenset[str]) -> bool:
    """The ask's first word (after fillers) is one of `verbs`."""
    for token in view.tokens[:4]:
        if token in _FILLERS:
            continue
        return token in verbs
    return False


def _design_imperative(view: lx.View) -> bool:
    """A clause opens with a verb of designing or judging ("design a ...", "plan the rotation")."""
    return imperative_at(view, lx.DESIGN_VERBS) >= 0 or lx.ANALYSIS_VERB.position(view) == 0


def task_type_of(ask: str, view: lx.View, split: Split, words: int) -> str:
    """Task type from the ask's verbs and objects."""
    pasted = split.paste_chars > 0
    question = "?" in ask or is_question_shape(ask, view)
    imperative = imperative_at(view)
    gen_at = lx.GENERATE.position(view)
    noun_at = lx.CODE_NOUN.position(view)
    research_at = lx.RESEARCH.position(view)
    if research_at >= 0 and not (0 <= gen_at <= research_at and imperative >= 0):
        return "research"
    if lx.TIME_SENSITIVE.find(view) and question and imperative < 0 and not pasted:
        return "research"
    shaped = _type_by_shape(ask, view, split, words, question, imperative, noun_at)
    if shaped:
        return shaped
    if gen_at >= 0 and (noun_at < 0 or gen_at <= noun_at) and (imperative >= 0 or not question or words <= 12) \
            and not _opens_with(view, lx.ANALYZE.words):
        return "generate"
    design_at = imperative_at(view, lx.DESIGN_VERBS)
    if _design_imperative(view) and (noun_at < 0 or (design_at >= 0 and (imperative < 0 or design_at <= imperative))):
        # "design the data model and API": the design is the deliverable, code nouns are its subject.
        return "analyze"
    analyze_at = lx.ANALYZE.position(view)
    fix_at = lx.FIX_REQUEST.position(view)
    if analyze_at >= 0 and not (0 <= imperative < analyze_at and noun_at >= 0) and not (0 <= fix_at < analyze_at):
        return "analyze"
    if fix_at >= 0 or (imperative >= 0 and (noun_at >= 0 or pasted)):
        return "code"
    if pasted:
        if lx.SYMPTOM.find(view) or _error_output(split.paste_head) or (question and lx.VERDICT.find(view)):
            return "analyze"
        return "query" if question else "code"
    if question:
        return _type_of_question(ask, view, words)
    if noun_at >= 0 or lx.CODE_VERB.find(view):
        return "code"
    return "query"


def _type_by_shape(ask: str, view: lx.View, split: Split, words: int, question: bool, imperative: int,
                   noun_at: int) -> str | None:
    """Shapes whose type their verbs alone would get wrong, or None."""
    pasted = split.paste_chars > 0
    if pasted and question and imperative < 0 and lx.LOOKUP_ASK.find(view) and not lx.SYMPTOM.find(view) \
            and not _error_output(split.paste_head):
        # "how many rows have a null email in this?": reading a value off the paste.
        return "query"
    if _opens_with(view, _FINDING_VERBS) and not pasted and (
        lx.COMPARE.find(view) or _SYNTHESIS_WORDS & view.words
    ):
        # "find the maintained libraries for X and summarize which ...": collecting sources and weighing them.
        return "research"
    if not pasted and words <= 12 and _opens_with(view, lx.ANALYZE.words) and _EXPLAIN_CONCEPT.match(ask):
        # "explain what a foreign key is": a definition, whatever the verb in front of it.
        return "query"
    if _opens_with(view, _RESHAPING_VERBS) and " into " in view.lower and noun_at < 0:
        # "turn these notes into a short update": material reshaped into writing.
        return "generate"
    corr_at = lx.CORRESPONDENCE.position(view)
    if 0 <= imperative <= corr_at and (noun_at < 0 or corr_at < noun_at) and not question and not pasted:
        # "write a two-line Slack message": correspondence is writing, whatever the verb.
        return "generate"
    return None


def _type_of_question(ask: str, view: lx.View, words: int) -> str:
    """A question with nothing pasted and no imperative: a lookup unless it asks for reasoning."""
    if lx.SYMPTOM.find(view) and not is_question_shape(ask, view):
        return "analyze"
    if lx.WHY.find(view) or ("or" in view.words and _CHOICE.search(view.lower)):
        # "what happens if ...", "why does ...", "A or B?": reasoning, not a fact to look up.
        return "analyze"
    if not is_question_shape(ask, view) and _hard(view):
        # An open question about a problem in a hard domain ("... exactly-once into Postgres. how?").
        return "analyze"
    return "analyze" if words > 30 else "query"


def score_ask(ask: str, split: Split, view: lx.View | None = None, words: int | None = None) -> AskScore:
    """Score one ask; pasted material only counts through `split`'s sizes."""
    if view is None:
        view = lx.view_of(ask)
    if words is None:
        words = word_count(ask)
    signals: list[str] = [f"ask_words={words}"]
    # Whether the paste is code is asked by several rules; its substring scan is the costly part.
    code_paste = split.paste_chars > 0 and paste_is_code(split)
    size = max(SIZE_FLOOR, min(SIZE_CAP, SIZE_WEIGHT * math.log2(max(words, 1) / SIZE_PIVOT_WORDS)))
    questions = ask.count("?")
    if questions > 1:  # "??" needs two; a two-character count costs ~3 us on a 4 KB ask
        questions -= ask.count("??")
    score = size + _amount_asked(ask, view, questions, signals)
    domains = _domains_of(view, split, words, code_paste, signals)
    if domains and score < 0:
        # A short ask in a hard domain is not easy for being short ("design a consensus algorithm").
        score = 0.0
        signals.append("short_but_hard_domain")
    score += _difficulty(view, domains, signals) + _scope(view, domains, signals)
    verdict_on_paste = split.paste_chars > 0 and lx.VERDICT.find(view) is not None
    if is_question_shape(ask, view) and words <= 25 and len(domains) <= 1 and questions <= 1 and not verdict_on_paste:
        score += CLOSED_QUESTION
        signals.append("closed_question")
    if words <= 30 and lx.SMALL_ARTIFACT.find(view):
        score += SMALL_ARTIFACT
        signals.append("small_artifact")
    tests = lx.TESTS.find(view) is not None
    if tests:
        score += TESTS_BONUS
        signals.append("wants_tests")
    task_type = task_type_of(ask, view, split, words)
    # "is it something in my code?" under pasted code with a symptom is debugging, not a lookup.
    lookup = split.paste_chars > 0 and lx.LOOKUP_ASK.find(view) is not None and not (
        code_paste and lx.SYMPTOM.find(view)
    )
    score += _judgement(view, split, size, domains, task_type, lookup, code_paste, signals)
    spec = task_type == "code" and imperative_at(view) >= 0 and _constraints(ask, view) >= SPEC_CONSTRAINTS
    score = _floors_and_ceilings(score, view, task_type, lookup, tests, signals, code_paste, split.paste_chars > 0,
                                 spec)
    return AskScore(score, tuple(signals), task_type, words, domains)


def _domains_of(view: lx.View, split: Split, words: int, code_paste: bool, signals: list[str]) -> tuple[str, ...]:
    """The hard domains the ask names, or for a short verdict on pasted code, those the code's head names."""
    domains = tuple(cue.name for cue in lx.DOMAINS if cue.find(view))
    if not domains and code_paste and words <= JUDGE_PASTE_MAX_WORDS and (lx.VERDICT.find(view) or lx.WHY.find(view)):
        # "is this correct?" under pasted code: the ask names nothing, the code's domain is the ask's.
        # Only the paste's head is read, as for telling code from logs.
        domains = tuple(cue.name for cue in lx.HARD_DOMAINS if cue.find(lx.view_of(split.paste_head)))
        signals.extend(f"paste_domain:{d}" for d in domains)
    return domains


def _judgement(view: lx.View, split: Split, size: float, domains: tuple[str, ...], task_type: str, lookup: bool,
               code_paste: bool, signals: list[str]) -> float:
    """Asking why, weighing a choice, diagnosing and fixing, working on a paste, weighing evidence."""
    score = 0.0
    why = lx.WHY.find(view) is not None and not lookup
    choice = "or" in view.words and _CHOICE.search(view.lower) is not None
    if task_type != "generate" and (why or choice or lx.COMPARE.find(view)):
        # Words like "root cause" in a writing brief name a section; they ask for no analysis.
        score += ANALYSIS_BONUS
        signals.append("why" if why else "comparison")
    if task_type != "generate" and why and lx.REMEDY.find(view):
        # A symptom plus "fix it" is one piece of work; asking why *and* for a fix is two.
        score += DIAGNOSE_AND_FIX
        signals.append("diagnose_and_fix")
    hard = lx.HARD_NAMES.intersection(domains)
    if split.paste_chars:
        score += _paste_work(view, split, size, lookup, why, signals, task_type, code_paste)
        if task_type == "analyze" and not lookup and hard and code_paste:
            score += REVIEW_IN_HARD_DOMAIN
            signals.append("reviews_code_in_hard_domain")
    if task_type == "research" and "evidence" in domains and (hard or lx.ANALYSIS_VERB.find(view)):
        score += EVIDENCE_IN_HARD_DOMAIN
        signals.append("weighs_evidence")
    return score


def _hard(view: lx.View) -> bool:
    return any(cue.find(view) for cue in lx.HARD_DOMAINS)


def _constraints(ask: str, view: lx.View) -> int:
    """Requirements stated in the ask: joining words, list separators, numbers."""
    constraints = sum(map(lx.CONSTRAINT_WORDS.__contains__, view.tokens))
    # Separators are counted in the view, where inline code is one word: `a + ', ' + b` lists nothing.
    text = view.lower
    constraints += text.count(",") + text.count(";") + text.count("(")
    if "+" in text:  # a one-character test is a memchr; counting " + " is not
        constraints += text.count(" + ")
    if not view.ascii:
        constraints += text.count("，") + text.count("、") + text.count("；")
    constraints += view.numbers // 2
    return min(constraints, CONSTRAINT_CAP)


def _amount_asked(ask: str, view: lx.View, questions: int, signals: list[str]) -> float:
    """Constraints, deliverables and sub-questions: how much one ask asks for."""
    score = 0.0
    constraints = _constraints(ask, view)
    if constraints:
        score += CONSTRAINT_WEIGHT * constraints
        signals.append(f"constraints={constraints}")
    deliverables = len(lx.DELIVERABLE_WORDS & view.words)
    if deliverables > 1:
        score += DELIVERABLE_WEIGHT * min(deliverables - 1, 4)
        signals.append(f"deliverables={deliverables}")
    if questions > 1:
        score += QUESTION_WEIGHT * min(questions - 1, 3)
        signals.append(f"questions={questions}")
    return score


def _difficulty(view: lx.View, domains: tuple[str, ...], signals: list[str]) -> float:
    """Hard domains, design for correctness in them, specialist vocabulary, proofs."""
    score = 0.0
    if domains:
        weights = sorted((DOMAIN_WEIGHT[d] for d in domains), reverse=True)
        score += weights[0] + DOMAIN_EACH * (min(len(weights), DOMAIN_CAP) - 1)
        signals.extend(f"domain:{d}" for d in domains)
        if lx.DESIGN.find(view) or lx.VERDICT.find(view):
            # A verdict on correctness ("is this fine?") weighs like designing for it.
            # Designing for correctness in a domain that fails silently is the hardest kind of ask.
            score += DESIGN_WITH_DOMAIN + (0.3 if weights[0] >= STRONG_DOMAIN else 0.0)
            signals.append("design_with_domain")
    if lx.EXPERT.find(view):
        score += EXPERT_BONUS
        signals.append("expert_vocabulary")
        if imperative_at(view) >= 0:
            # Building it, not discussing it: specialist systems are where cheap models fail.
            score += EXPERT_BUILD_BONUS
            signals.append("builds_specialist_system")
    if _opens_with(view, lx.PROOF_VERBS):
        score += PROOF_REQUEST
        signals.append("proof_request")
    return score


def _scope(view: lx.View, domains: tuple[str, ...], signals: list[str]) -> float:
    """Long-form writing, many units of work, changes across them, several languages."""
    score = 0.0
    long_form = lx.requested_words(view)
    if long_form < LONG_FORM_WORDS and lx.LONG_FORM_DOC.find(view) and imperative_at(view) >= 0:
        # An RFC, a runbook, a proposal: long-form by nature, whether or not a length is named.
        long_form = LONG_FORM_WORDS
    if long_form >= LONG_FORM_WORDS:
        score += LONG_FORM_BONUS
        signals.append(f"long_form={long_form}")
    many = lx.breadth(view)
    if many >= BREADTH_MANY:
        score += BREADTH_BONUS
        signals.append(f"breadth={many}")
    # "do the same across the other 23 services" changes as many units as "migrate all 23"; a bare
    # "do" is an auxiliary ("how many do we need").
    broad = many >= BREADTH_MANY or "scale" in domains
    if broad and (lx.CHANGE_VERBS & view.words or "do the same" in view.lower):
        score += CROSS_CUTTING_BONUS
        signals.append("cross_cutting_change")
    languages = len(lx.LANGUAGES & view.words)
    if languages >= 2 and lx.CODE_VERB.find(view):
        score += MULTI_LANGUAGE_BONUS
        signals.append(f"languages={languages}")
    return score


def _paste_work(view: lx.View, split: Split, size: float, lookup: bool, why: bool, signals: list[str],
                task_type: str, code_paste: bool) -> float:
    """What the ask does with the pasted material: look something up, reshape it, or debug it."""
    if lookup:
        signals.append("lookup_in_paste")
        return LOOKUP_IN_PASTE
    if lx.WORK_ON_PASTE.find(view) or (task_type == "generate" and not lx.SMALL_ARTIFACT.find(view)):
        # Writing from pasted material (notes into an update, commits into release notes) digests it all.
        # Digesting or reshaping the whole paste grows with it: +0.7 at 400 chars, +1.2 at 4 KB.
        bonus = max(0.0, min(1.2, 0.7 + 0.5 * math.log10(max(split.paste_chars, 1) / 400)))
        signals.append(f"works_on_paste={split.paste_chars}")
        # The ask is short because the material is attached: shortness says nothing here.
        return bonus - min(size, 0.0)
    symptom = why or lx.SYMPTOM.find(view) is not None
    if symptom or lx.VERDICT.find(view):
        # Diagnosing or judging code, a config or a query plan: no error line names the answer, as
        # a log's often does. A verdict ("is this correct?") is only work when the paste is code.
        if code_paste or (symptom and not _error_output(split.paste_head)):
            signals.append("debugs_code")
            return DEBUG_CODE_PASTE - min(size, 0.0)
    return 0.0


def _floors_and_ceilings(score: float, view: lx.View, task_type: str, lookup: bool, tests: bool,
                         signals: list[str], code_paste: bool, pasted: bool, spec: bool) -> float:
    """Kinds of work with a known tier range: correspondence, analysis, research, builds, tested code."""
    if task_type == "generate" and lx.CORRESPONDENCE.find(view) and score > CORRESPONDENCE_CEILING:
        score = CORRESPONDENCE_CEILING
        signals.append("correspondence_ceiling")
    floor = _moderate_floor(view, task_type, lookup, code_paste, pasted)
    if floor and score < ANALYSIS_FLOOR:
        score = ANALYSIS_FLOOR
        signals.append(floor)
    if _opens_with(view, lx.BUILD_VERBS):
        if lx.SYSTEM_NOUNS & view.words and lx.DESIGN_VERBS & view.words:
            score += SYSTEM_DESIGN_BONUS
            signals.append("system_design")
        if score < ANALYSIS_FLOOR and not lx.SMALL_ARTIFACT.find(view):
            score = ANALYSIS_FLOOR
            signals.append("build_floor")
    if task_type == "code" and tests and score < TESTED_CODE_FLOOR and (
        lx.CODE_VERB.find(view) or lx.DELIVERABLE_WORDS & view.words
    ):
        score = TESTED_CODE_FLOOR
        signals.append("tested_code_floor")
    if spec and score < ANALYSIS_FLOOR and not lx.SMALL_ARTIFACT.find(view):
        score = ANALYSIS_FLOOR
        signals.append("spec_floor")
    return score


def _moderate_floor(view: lx.View, task_type: str, lookup: bool, code_paste: bool, pasted: bool) -> str | None:
    """Why this ask is never a simple-tier job, or None."""
    if task_type == "analyze" and not lookup and lx.ANALYSIS_VERB.find(view):
        return "analysis_floor"
    if task_type == "analyze" and not lookup and code_paste and lx.VERDICT.find(view):
        # "any bugs in this?" over pasted code is a code review.
        return "review_floor"
    if task_type == "generate" and pasted and not lx.SMALL_ARTIFACT.find(view):
        # A new document made from pasted material (a summary, an FAQ, release notes) digests all of it.
        return "from_paste_floor"
    if task_type == "research" and (lx.RESEARCH.find(view) or _SYNTHESIS_WORDS & view.words):
        # Researching means reading several sources and weighing them, not looking one fact up.
        return "research_floor"
    return None
