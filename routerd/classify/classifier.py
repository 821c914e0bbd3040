"""The classifier: a conversation in, a `Classification` out.

Pure: no I/O, no clock, no module state beyond the shipped model and cue files, which are read
once. `routerd.classify.context` decides which text states the work and what kind of turn this is
(hand-written general facts); `routerd.classify.model` scores it (learned weights); this module
turns the probabilities into a tier at the balanced bar and fixes the task type where the turn's
kind decides it (an acknowledgement is `chat`; an agent step has the type of the task it serves). A follow-up or a go-ahead
is scored as one bag with the ask it continues (`routerd.classify.context`), which the model was
trained on; no rule then lifts it to the thread's own score ("thanks, now just rename it" is easier
than the refactor it follows, and on the validation sets the bag alone was right more often).
Asked to explain, it also says in words what moved the score (`routerd.classify.explain`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from routerd.classify.context import Reading, read, read_turns
from routerd.classify.cues import CueSet, default_cues
from routerd.classify.explain import Glossary, default_glossary, describe
from routerd.classify.model import Model, Prediction, default_model
from routerd.classify.text import Turn
from routerd.classify.types import DEFAULT_BAR, Classification, enough, level5_for, tier_for


def classify(messages: Sequence[Any], tools: Sequence[Any] | None = None, *, model: Model | None = None,
             cues: CueSet | None = None, explain: bool = True, glossary: Glossary | None = None) -> Classification:
    """Classify the last user turn of `messages` (dicts or Structs) in the context of the others;
    with `explain`, the signals name the features that moved the score and the explanation says
    them in words (`glossary`: what the cue families mean)."""
    cues = cues or default_cues()
    return _classified(read(messages, tools, cues), model or default_model(), cues, explain, glossary)


def classify_turns(turns: Sequence[Turn], tools: Sequence[Any] | None = None, *, model: Model | None = None,
                   cues: CueSet | None = None, explain: bool = True,
                   glossary: Glossary | None = None) -> Classification:
    """`classify` for a conversation already flattened into turns (`routerd.classify.text.to_turn`)."""
    cues = cues or default_cues()
    return _classified(read_turns(turns, tools, cues), model or default_model(), cues, explain, glossary)


def _classified(reading: Reading, model: Model, cues: CueSet, explain: bool,
                glossary: Glossary | None) -> Classification:
    prediction = model.predict(reading.features, explain)
    result = classification(reading, prediction)
    if not explain:
        return result
    explanation = describe(reading.features, prediction.contributions, prediction.neighbours, model, cues,
                           glossary or default_glossary())
    return msgspec.structs.replace(result, explanation=explanation)


def classification(reading: Reading, prediction: Prediction, bar: float = DEFAULT_BAR) -> Classification:
    """A `Classification` from a reading and the model's prediction for it."""
    p_simple, p_moderate = prediction.p_simple, prediction.p_moderate
    tier = tier_for(p_simple, p_moderate, bar)
    # An agent step keeps the task type of the work the user set (its features are that ask's);
    # only an acknowledgement's type is fixed by its kind.
    task_type = "chat" if reading.kind == "ack" else prediction.task_type
    signals = [f"kind:{reading.kind}", f"p_simple={p_simple:.2f}", f"p_moderate={p_moderate:.2f}"]
    if prediction.neighbours:
        signals.append(f"neighbours:{prediction.neighbours:+.2f}")
    signals.extend(f"{name}:{weight:+.2f}" for name, weight in prediction.contributions)
    if reading.images:
        signals.append(f"images={reading.images}")
    return Classification(
        tier=tier, task_type=task_type, confidence=round(enough(p_simple, p_moderate, tier), 3),  # type: ignore[arg-type]
        signals=tuple(signals), level5=level5_for(p_simple, p_moderate), score=round(prediction.score, 3),
        p_simple=round(p_simple, 4), p_moderate=round(p_moderate, 4),
        task_confidence=round(prediction.type_probability, 3), kind=reading.kind,
    )
