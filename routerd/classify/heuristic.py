"""The heuristic classifier: a conversation in, a `Classification` out.

Pure: no I/O, no clock, no module state. It reads the last user turn in the context of the turns
before it. Acknowledgements and small talk are `chat`; a bare "yes, do it" takes its difficulty
from what the assistant offered and the user originally asked; a short follow-up ("and
`--squash`?", "now make it accept the 8-digit form") is scored together with the previous ask;
anything else is scored alone. Requests carrying tool definitions whose ask is agentic, and turns
that answer a tool call, get task type `tools`. Images add the vision signal and nudge the score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from routerd.classify import lexicon as lx
from routerd.classify.scoring import COMPLEX_FROM, SIMPLE_BELOW, AskScore, imperative_at, score_ask
from routerd.classify.text import FENCE_MARK, Split, Turn, paste_is_code, split_ask, to_turn, word_count
from routerd.classify.types import LEVELS5, TIERS, Classification, Level5, Tier

# Width (in score units) over which confidence rises from 0.5 at a cut point towards its ceiling.
CONFIDENCE_SCALE = 0.9
CONFIDENCE_FLOOR = 0.5
CONFIDENCE_CEILING = 0.95
# Context-derived answers are less certain than direct ones.
CONTEXT_CONFIDENCE_FACTOR = 0.85
FOLLOW_UP_MAX_WORDS = 25
# A fragment this short that is not small talk ("descending please", "in Go") only means something
# as a change to the previous ask.
FRAGMENT_MAX_WORDS = 3
# "go ahead, start with step 2 for all the modules" still accepts the offer; a bare imperative on
# "it" ("make it shorter") is a go-ahead only when it is this short.
AFFIRM_MAX_WORDS = 14
DIRECTIVE_MAX_WORDS = 8
CHAT_MAX_WORDS = 40
IMAGE_BONUS = 0.4
AGENTIC_VERBS = lx.CODE_VERB
OFFER_TAIL_CHARS = 240
_BUILDING = ("implement", "refactor", "migrat", "coding", "convert", "porting", "rewrit")


def _tier_of(score: float) -> Tier:
    if score < SIMPLE_BELOW:
        return "simple"
    if score < COMPLEX_FROM:
        return "moderate"
    return "complex"


def _level5_of(score: float) -> Level5:
    # Five bands: the outer two sit a full unit beyond the three-tier cut points.
    if score < SIMPLE_BELOW - 1.0:
        return LEVELS5[0]
    if score < SIMPLE_BELOW:
        return LEVELS5[1]
    if score < COMPLEX_FROM:
        return LEVELS5[2]
    if score < COMPLEX_FROM + 1.2:
        return LEVELS5[3]
    return LEVELS5[4]


def _confidence(score: float) -> float:
    margin = min(abs(score - SIMPLE_BELOW), abs(score - COMPLEX_FROM))
    span = CONFIDENCE_CEILING - CONFIDENCE_FLOOR
    return round(CONFIDENCE_FLOOR + span * math.tanh(margin / CONFIDENCE_SCALE), 3)


def _last_user_index(turns: Sequence[Turn]) -> int:
    for index in range(len(turns) - 1, -1, -1):
        if turns[index].role == "user" or turns[index].tool_results:
            return index
    return len(turns) - 1


def _previous(turns: Sequence[Turn], before: int, role: str) -> Turn | None:
    for index in range(before - 1, -1, -1):
        if turns[index].role == role and turns[index].text.strip():
            return turns[index]
    return None


def _offered(turn: Turn) -> bool:
    """The assistant's turn ends by offering or asking something ("Shall I implement it?")."""
    return "?" in turn.text[-OFFER_TAIL_CHARS:]


def _has_words(ask: str) -> bool:
    if "\x00" in ask:  # FENCE_MARK starts with NUL; replacing on a long ask costs a scan and a copy
        ask = ask.replace(FENCE_MARK, "")
    return any(ch.isalpha() for ch in ask)


def _is_chat(ask: str, view: lx.View, words: int) -> bool:
    if not ask.strip():
        return True
    if lx.ACK.match(ask) and words <= 12 and "?" not in ask and not lx.CODE_VERB.find(view):
        return True
    if lx.CHAT_CLOSING.find(view):
        if words <= CHAT_MAX_WORDS:
            # "write a thank-you note to ..." asks for something; "thanks, that fixed it" does not.
            opens_request = imperative_at(view, lx.ACTION_VERBS) == 0
            return not (opens_request or (lx.CODE_VERB.find(view) and "?" in ask))
        # A long message that closes a thread (a thank-you story) asks nothing at its end.
        return "?" not in ask[-200:]
    # No request, no question, no object to make: venting or small talk.
    return (
        words <= CHAT_MAX_WORDS
        and "?" not in ask
        and not lx.REQUEST.find(view)
        and not lx.CODE_NOUN.find(view)
        and not lx.GENERATE.find(view)
        and not lx.SMALL_ARTIFACT.find(view)
        and not lx.DEFINITION.match(ask)
        and not lx.ANALYZE.find(view)
        and not lx.RESEARCH.find(view)
        and imperative_at(view, lx.ACTION_VERBS) < 0
        and not (lx.DELIVERABLE_WORDS & view.words)
        and not any(cue.find(view) for cue in lx.DOMAINS)
    )


def _build(score: float, task_type: str, signals: list[str], factor: float = 1.0) -> Classification:
    return Classification(
        tier=_tier_of(score),
        task_type=task_type,  # type: ignore[arg-type]  # the lexicon's task names, all in TASK_TYPES
        confidence=round(_confidence(score) * factor, 3),
        signals=tuple(signals),
        level5=_level5_of(score),
        score=round(score, 3),
    )


def classify(messages: Sequence[Any], tools: Sequence[Any] | None = None) -> Classification:
    """Classify the last user turn of `messages` (dicts or Structs) in the context of the others."""
    return classify_with_view(messages, tools)[0]


def classify_with_view(
    messages: Sequence[Any], tools: Sequence[Any] | None = None
) -> tuple[Classification, lx.View]:
    """`classify`, also returning the `View` of the ask it read (feedback signatures reuse it)."""
    turns = [to_turn(m) for m in messages]
    turns = [t for t in turns if t.role != "system"] or turns
    if not turns:
        return _build(-1.0, "chat", ["empty"]), lx.view_of("")
    index = _last_user_index(turns)
    last = turns[index]
    split = split_ask(last.text)
    ask = split.ask
    view = lx.view_of(ask)
    words = word_count(ask)
    images = sum(t.images for t in turns[index:])
    has_tools = bool(tools)

    if last.tool_results and not ask.strip():
        return _tool_result_turn(_previous(turns, index, "user")), view

    prior_user = _previous(turns, index, "user")
    prior_assistant = _previous(turns, index, "assistant")
    if prior_user is not None and prior_assistant is not None and not split.paste_chars:
        if _is_go_ahead(ask, view, words, prior_assistant):
            return _affirmed(view, prior_user, prior_assistant, has_tools), view

    prior_user = _previous(turns, index, "user")
    if split.paste_chars and not _has_words(ask) and prior_user is not None:
        # Only a paste ("can you review my Dockerfile" / <the Dockerfile>): the ask came before it.
        prior_split = split_ask(prior_user.text)
        ask = prior_split.ask
        view, words = lx.view_of(ask), word_count(ask)
        result = score_ask(ask, split, view, words)
        return _build(result.score, result.task_type, ["continuation:paste", *result.signals],
                      CONTEXT_CONFIDENCE_FACTOR), view

    continues = prior_user is not None and (
        lx.FOLLOW_UP_START.match(ask) is not None or _modifies_code_answer(ask, view, words, prior_assistant)
    )
    if not split.paste_chars and not images and not continues and _is_chat(ask, view, words):
        # "now only for users created this year" continues the thread; it is never small talk.
        return _build(-1.0, "chat", ["chat", f"ask_words={words}"]), view

    if prior_user is not None and not split.paste_chars:
        if words <= FOLLOW_UP_MAX_WORDS and (
            lx.FOLLOW_UP_START.match(ask) or lx.FOLLOW_UP.find(view) or words <= FRAGMENT_MAX_WORDS
        ):
            return _follow_up(ask, view, split, prior_user, prior_assistant, has_tools, images), view

    return _standalone(ask, view, split, words, images, has_tools), view


def _modifies_code_answer(ask: str, view: lx.View, words: int, prior_assistant: Turn | None) -> bool:
    """'newest first' after an answer with code in it: a change to that code, not small talk."""
    return (
        words <= FRAGMENT_MAX_WORDS and prior_assistant is not None and "`" in prior_assistant.text
        and not lx.ACK.match(ask) and not lx.CHAT_CLOSING.find(view)
    )


def _tool_result_turn(prior_user: Turn | None) -> Classification:
    """An agent loop turn: the model reads tool output and acts again, as hard as the task."""
    base = _score_turn(prior_user) if prior_user else None
    score = max(base.score if base else SIMPLE_BELOW, SIMPLE_BELOW)
    signals = ["tool_result_turn", *(base.signals if base else ())]
    return _build(score, "tools", signals, CONTEXT_CONFIDENCE_FACTOR)


def _is_go_ahead(ask: str, view: lx.View, words: int, prior_assistant: Turn) -> bool:
    """'yes', 'go ahead, start with step 2', 'make it so': accepting what the assistant put forward."""
    affirms = words <= AFFIRM_MAX_WORDS and lx.AFFIRM.match(ask) is not None
    directs = words <= DIRECTIVE_MAX_WORDS and imperative_at(view, lx.ACTION_VERBS) >= 0
    accepts = affirms or (directs and lx.FOLLOW_UP.find(view) is not None)
    return accepts and (_offered(prior_assistant) or not lx.BARE_ACK.match(ask))


def _standalone(ask: str, view: lx.View, split: Split, words: int, images: int, has_tools: bool) -> Classification:
    """An ask read on its own, with images and tool definitions taken into account."""
    result = score_ask(ask, split, view, words)
    signals = list(result.signals)
    score = result.score
    if images:
        score += IMAGE_BONUS
        signals.append(f"images={images}")
    task_type = result.task_type
    if has_tools and AGENTIC_VERBS.find(view):
        task_type = "tools"
        signals.append("tools_agentic")
    return _build(score, task_type, signals)


def _score_turn(turn: Turn) -> AskScore:
    split = split_ask(turn.text)
    return score_ask(split.ask, split)


def _affirmed(view: lx.View, prior_user: Turn, prior_assistant: Turn | None, has_tools: bool) -> Classification:
    """A go-ahead: the work is what the assistant offered, or what the user first asked if larger."""
    base = _score_turn(prior_user)
    score = base.score
    task_type = base.task_type
    signals = ["continuation:affirm", f"thread_score={base.score:.2f}"]
    if prior_assistant is not None:
        # The offer is read whole: its numbered steps and caveats are the work being accepted.
        text = prior_assistant.text
        offer = score_ask(text, Split(text, 0, 0, 0))
        signals.append(f"offer_score={offer.score:.2f}")
        signals.extend(f"offer:{s}" for s in offer.signals if s.startswith("domain:"))
        score = max(score, offer.score)
        # What is on offer is said last ("Want me to write a pytest suite for these?").
        tail = text[-OFFER_TAIL_CHARS:]
        offered = score_ask(tail, Split(tail, 0, 0, 0)).task_type
        for kind in (offered, offer.task_type):
            if kind in ("code", "generate"):
                task_type = kind
                break
    if lx.CODE_VERB.find(view) and task_type not in ("code", "generate"):
        task_type = "code"
    if task_type not in ("code", "generate") and prior_assistant is not None and any(
        word.startswith(_BUILDING) for word in prior_assistant.text[-OFFER_TAIL_CHARS:].lower().split()
    ):
        # "Want me to start implementing it service by service?": the offer is to build.
        task_type = "code"
    if task_type == "generate" and paste_is_code(split_ask(prior_user.text)):
        # Changes offered on code the user pasted are code, whatever words the offer uses.
        task_type = "code"
    if has_tools:
        task_type = "tools"
    return _build(score, task_type, signals, CONTEXT_CONFIDENCE_FACTOR)


def _follow_up(
    ask: str, view: lx.View, split: Split, prior_user: Turn, prior_assistant: Turn | None, has_tools: bool,
    images: int
) -> Classification:
    """A short follow-up: as hard as the thread it continues, unless it asks for more itself."""
    base = _score_turn(prior_user)
    own = score_ask(ask, split, view)
    score = max(base.score, own.score)
    task_type = own.task_type if own.task_type != "query" or base.task_type == "query" else base.task_type
    verb = lx.CODE_VERB.find(view) is not None
    if own.task_type == "query" and base.task_type in ("code", "generate") and verb:
        task_type = base.task_type
    if own.task_type == "code" and base.task_type == "generate" and not lx.CODE_NOUN.find(view):
        # "add a couple of emojis": an edit to the piece of writing the thread is about.
        task_type = "generate"
    signals = ["continuation:follow_up", *own.signals, f"thread_score={base.score:.2f}"]
    if task_type == "analyze" and prior_assistant is not None:
        # Reasoning further about the answer just given ("what happens to that scheme if ...",
        # "does that change your answer?") is as hard as that answer.
        answer = _score_turn(prior_assistant)
        # An answer reads denser than the ask that needed it: it lifts the follow-up to the top
        # tier only when the follow-up itself names a hard domain (a partition, a race, an attack).
        lifted = answer.score if own.domains else min(answer.score, COMPLEX_FROM - 0.1)
        if lifted > score:
            score = lifted
            signals.append(f"answer_score={answer.score:.2f}")
    if images:
        score += IMAGE_BONUS
    if has_tools and verb:
        task_type = "tools"
    return _build(score, task_type, signals, CONTEXT_CONFIDENCE_FACTOR)


__all__ = ["classify", "TIERS"]
