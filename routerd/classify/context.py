"""Reading a conversation: which text states the work, and what kind of turn the last one is.

Hand-written because these are general facts about conversations, not fitted weights:

- a turn that only carries tool results (an agent step) is as hard as the task the user set; so is
  one that only carries what a harness reported back (a finished background task, a subagent, a
  `!` command's output: `routerd.classify.text` counts each as a tool result);
- a go-ahead ("yes, do it", "go ahead, start with step 2") accepts what the assistant offered, so
  the work is the user's earlier ask together with the offer;
- a turn that is only a paste ("can you review my Dockerfile" / <the Dockerfile>) takes its ask
  from the turn before;
- a short follow-up ("and --squash?", "now for all 11 services") is read together with the ask it
  continues: one bag of both;
- an acknowledgement ("thanks, that fixed it") asks nothing.

`read` returns the features of the text that states the work (see `routerd.classify.features`),
with the turn's kind and the conversation's capability needs added.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

import msgspec

from routerd.classify.bag import Bag
from routerd.classify.cues import CueSet
from routerd.classify.features import ask_features, tool_features
from routerd.classify.paste import FENCE_MARK, Split, split_ask
from routerd.classify.text import MAX_MESSAGES, Turn, to_turn, word_count
from routerd.classify.tokens import lower_text

FOLLOW_UP_MAX_WORDS = 25
# A fragment this short ("descending please", "in Go") only means something as a change to the
# previous ask.
FRAGMENT_MAX_WORDS = 3
AFFIRM_MAX_WORDS = 14
ACK_MAX_WORDS = 12
# Where an assistant's offer is ("Shall I implement it?"): the end of its turn.
OFFER_TAIL_CHARS = 240
TURN_EDGES = (2, 4, 8, 16, 32)
_TURNS = tuple(f"turns:{index}" for index in range(len(TURN_EDGES) + 1))
WORD_COUNT_HEAD_CHARS = 400
# A text outside ASCII is counted at this head first: 64 CJK characters are 42 words, past every
# limit, where counting the 400 characters' CJK runs cost ~75,000 instructions (callgrind).
WORD_COUNT_PROBE_CHARS = 64
_LARGEST_LIMIT = max(FOLLOW_UP_MAX_WORDS, FRAGMENT_MAX_WORDS, AFFIRM_MAX_WORDS, ACK_MAX_WORDS)

Kind = str  # "ask" | "follow_up" | "go_ahead" | "paste_only" | "tool_result" | "ack" | "empty"


class Reading(msgspec.Struct, frozen=True, kw_only=True):
    """What the classifier reads of a conversation."""

    kind: Kind
    features: Bag
    images: int = 0
    tools: bool = False


# Roles that instruct the model rather than take part in the conversation (OpenAI's `developer`
# is the newer `system`; Codex sends its instructions and permissions as developer messages).
_INSTRUCTING = frozenset({"system", "developer"})


def _empty(turn: Turn) -> bool:
    """A turn with nothing of the conversation in it: only a harness's context (Codex's
    `<environment_context>` message, a Claude Code reminder alone), or nothing at all. It is no
    turn of the conversation, so it neither counts towards its length nor stands as the ask."""
    return not turn.text and not turn.images and not turn.tool_uses and not turn.tool_results


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


def _has_letters(ask: str) -> bool:
    # FENCE_MARK starts with a NUL, rare in text: a memchr first spares the replace's walk, and a map
    # stops at the first letter without a generator frame per character.
    if "\x00" in ask:
        ask = ask.replace(FENCE_MARK, "")
    return any(map(str.isalpha, ask))


def _features_of(split: Split, cues: CueSet, lower: str | None = None) -> Bag:
    out = Bag()
    ask_features(split, cues, out, lower)
    return out


def read(messages: Sequence[Any], tools: Sequence[Any] | None, cues: CueSet) -> Reading:
    """The features of the work the conversation's last user turn asks for, and the turn's kind
    (of the last `MAX_MESSAGES` messages: an ask further back than that is not looked for)."""
    return read_turns([to_turn(m) for m in messages[-MAX_MESSAGES:]], tools, cues)


def read_turns(turns: Sequence[Turn], tools: Sequence[Any] | None, cues: CueSet) -> Reading:
    """`read` of a conversation already flattened into turns (`to_turn`), all of them: a caller
    that has them (the daemon reads every message anyway) finds an agent's ask however many steps back."""
    turns = [t for t in turns if t.role not in _INSTRUCTING and not _empty(t)] or list(turns)
    if not turns:
        return Reading(kind="empty", features=Bag(other={"kind:empty"}))
    index = _last_user_index(turns)
    last = turns[index]
    split = split_ask(last.text)
    kind, features = _kind_and_features(turns, index, split, cues)
    features.add(f"kind:{kind}")
    images = sum(t.images for t in turns[index:])
    if images:
        features.add("images")
    if tools:
        features.add("tools")
    features.other.add(_TURNS[bisect_right(TURN_EDGES, len(turns))])  # how many edges it reaches
    return Reading(kind=kind, features=features, images=images, tools=bool(tools))


def _kind_and_features(turns: list[Turn], index: int, split: Split,
                       cues: CueSet) -> tuple[Kind, Bag]:
    last = turns[index]
    ask = split.ask
    prior_user = _previous(turns, index, "user")
    prior_assistant = _previous(turns, index, "assistant")
    if last.tool_results and not ask.strip():
        # An agent step: the model reads tool output and acts again, on the task the user set.
        features = _features_of(split_ask(prior_user.text), cues) if prior_user else Bag()
        if last.tool_chars:
            features.add("tool_output")
            tool_features(last.tool_window(), last.tool_chars, features)
        return "tool_result", features
    lower = lower_text(ask)
    words = _word_count(ask)
    if split.paste_chars and not _has_letters(ask) and prior_user is not None:
        prior = split_ask(prior_user.text)
        return "paste_only", _features_of(Split(prior.ask, split.paste_chars, split.fenced_blocks,
                                                split.paste_head), cues)
    own = _features_of(split, cues, lower)
    if prior_user is None or split.paste_chars:
        if not split.paste_chars and words <= ACK_MAX_WORDS and "?" not in ask and cues.opens(lower, "ack"):
            return "ack", own
        return "ask", own
    if prior_assistant is not None and _is_go_ahead(lower, words, prior_assistant, cues):
        features = _features_of(split_ask(prior_user.text), cues)
        offer = split_ask(prior_assistant.text)
        return "go_ahead", features | _features_of(Split(offer.ask, 0, 0), cues) | own
    if words <= ACK_MAX_WORDS and "?" not in ask and cues.opens(lower, "ack"):
        return "ack", own
    if words <= FOLLOW_UP_MAX_WORDS and (
        cues.opens(lower, "follow_up") or words <= FRAGMENT_MAX_WORDS or "cue:follow_up" in own
    ):
        return "follow_up", _features_of(split_ask(prior_user.text), cues) | own
    return "ask", own


def _word_count(ask: str) -> int:
    """`word_count(ask)`, or a smaller count above every limit the kinds are told apart by."""
    # A head never has more words than the whole text, so a head with more than the largest limit
    # decides every comparison the same way, without counting the rest of a long ask.
    if not ask.isascii():
        head = word_count(ask[:WORD_COUNT_PROBE_CHARS])
        if head > _LARGEST_LIMIT:
            return head
    head = word_count(ask[:WORD_COUNT_HEAD_CHARS])
    return head if head > _LARGEST_LIMIT else word_count(ask)


def _is_go_ahead(lower: str, words: int, prior_assistant: Turn, cues: CueSet) -> bool:
    """'yes', 'go ahead, start with step 2': accepting what the assistant put forward."""
    if words > AFFIRM_MAX_WORDS or not cues.opens(lower, "affirm"):
        return False
    offered = "?" in prior_assistant.text[-OFFER_TAIL_CHARS:]
    # A bare "ok" accepts only an offer; "go ahead", "continue" act on whatever was said.
    return offered or not cues.opens(lower, "ack")
