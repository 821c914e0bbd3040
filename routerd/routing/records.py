"""The decision rows the routing core stores: one per decision, with the detail feedback and the
dashboard read back.

A brain decision keeps its prompt signature (what feedback on it teaches), the candidates, the
policy's reasons, the classifier's signals and probabilities and the bar; a decision the brain was
not asked about (a named model, a scenario's route of models) keeps its reasons and candidates.
The prompt itself is kept only when the config says so: otherwise a hash and a length, and no
signal that quotes its words.
"""

import hashlib
import time

import msgspec

from routerd.catalogue.models import ModelInfo
from routerd.classify.bag import PAIR, STEM, WORD
from routerd.classify.features import TOOL_WORD
from routerd.classify.types import Classification
from routerd.feedback import signature_key
from routerd.ids import Ids
from routerd.policy import Decision
from routerd.routing.scenario import Found
from routerd.routing.types import Candidate, RouteRequest
from routerd.store import routing as rows
from routerd.store.store import Store

# The signals that quote the prompt (an explained decision's top words, word pairs, stems and
# tool-output words): stored only where the prompt itself is.
QUOTING = (WORD, PAIR, STEM, TOOL_WORD)


def record_plain(store: Store, ids: Ids, request: RouteRequest, chain: list[Candidate], reasons: list[str],
                 found: Found | None) -> str:
    """Store a decision the brain was not asked about; its id."""
    decision_id = ids.new()
    rows.record_decision(store, rows.DecisionRow(
        id=decision_id, ts=time.time(), source=request.source, model=chain[0].model,
        provider=chain[0].provider, session_id=request.session_id,
        scenario=found.detection.scenario if found is not None else None,
        detail=msgspec.json.encode({"reasons": reasons,
                                    "candidates": [f"{c.provider}/{c.model}" for c in chain[:5]]}).decode()))
    return decision_id


def record_brain(store: Store, decision_id: str, decision: Decision, result: Classification, text: str,
                 words: frozenset[str], request: RouteRequest, first: ModelInfo | None, found: Found | None,
                 store_prompts: bool) -> None:
    """Store the brain's decision ``decision_id`` on the prompt ``text`` (signature ``words``)."""
    signals = result.signals if store_prompts else tuple(s for s in result.signals if not s.startswith(QUOTING))
    detail = {"signature": signature_key(words), "candidates": decision.candidates[:5],
              "advisory": decision.advisory, "reasons": decision.reasons, "signals": signals,
              "classification_source": result.source, "score": result.score,
              "p_simple": decision.p_simple, "p_moderate": decision.p_moderate, "bar": decision.bar}
    rows.record_decision(store, rows.DecisionRow(
        id=decision_id, ts=time.time(), source=request.source, session_id=request.session_id,
        prompt_hash=hashlib.sha256(text.encode()).hexdigest(), prompt_len=len(text),
        prompt=text if store_prompts else None, tier=decision.tier,
        task_type=decision.task_type, confidence=decision.confidence, profile=decision.profile,
        model=first.id if first is not None else decision.advisory,
        provider=first.provider if first is not None else None,
        scenario=found.detection.scenario if found is not None else None,
        detail=msgspec.json.encode(detail).decode()))
