"""Feedback on decisions: a reroute or a rating checked, stored, and learned by the feedback table.

A feedback row is stored against the decision it names; what the table learns from it (the tier
that decision's prompt signature should have gone to) is worked out here, both for a new row and
for the rows read back at start (``learned``). Only the event loop touches the table.
"""

import json
import time

from routerd.catalogue.models import Catalogue
from routerd.classify.types import TIERS, Tier
from routerd.errors import BadRequest, NotFound
from routerd.feedback import FeedbackRow, FeedbackTable, wanted_tier_of_rating
from routerd.ids import Ids
from routerd.protocol.replies import FeedbackResult
from routerd.store import routing as rows
from routerd.store.store import Store

RATINGS = ("good", "bad")


def reroute_target(catalogue: Catalogue, to: str) -> str:
    """``to`` as a reroute's target (a tier or a known model), or ``BadRequest`` saying what it must be."""
    target = to.strip()
    if tier_of_target(catalogue, target) is None:
        # "to" is the argument's name in the request, the MCP tool and the dashboard alike
        # (the CLI's --to reads as it): no front's spelling of it.
        raise BadRequest(f"to: {target!r} is neither a tier ({', '.join(TIERS)}) nor a known model")
    return target


def rating_value(rating: str) -> str:
    """``rating`` as a rating's value, or ``BadRequest`` naming the ratings."""
    value = rating.strip().lower()
    if value not in RATINGS:
        raise BadRequest(f"rating must be one of {', '.join(RATINGS)}, not {rating!r}")
    return value


async def record(store: Store, ids: Ids, table: FeedbackTable, catalogue: Catalogue, decision_id: str, kind: str,
                 value: str, reason: str) -> FeedbackResult:
    """Store one feedback row on ``decision_id`` and teach ``table`` what it says. Raises ``NotFound``
    for a decision that was never stored."""
    # A decision may still be queued for the writer (feedback right after a route): flush first.
    await store.flush()
    found = await store.read(lambda conn: rows.decision_tier(conn, decision_id))
    if found is None:
        raise NotFound(f"no decision {decision_id!r}")
    decided, detail = found
    rows.record_feedback(store, rows.FeedbackRecord(
        id=ids.new(), decision_id=decision_id, ts=time.time(), kind=kind, value=value, reason=reason))
    learned_row = learned(catalogue, kind, value, decided, detail, decision_id)
    if learned_row is not None:
        table.apply(learned_row)
    await store.flush()
    return FeedbackResult(
        decision_id=decision_id, kind=kind, value=value, decided_tier=decided,
        wanted_tier=learned_row.wanted_tier if learned_row else None, message=_what_it_does(learned_row))


def _what_it_does(row: FeedbackRow | None) -> str:
    """The reply's message: what routing will do with the feedback, no more than it will."""
    if row is None:
        return "recorded (the decision has no prompt signature to learn from)"
    if row.kind == "rate" and row.wanted_tier != row.decided_tier:
        # A rating weighs half a reroute (KIND_WEIGHT): it moves even the same prompt's
        # probabilities only 45% of the way, so a prompt that was clearly simple stays simple.
        return (f"similar prompts lean towards {row.wanted_tier} (a rating moves them half as far as "
                f"a reroute; `routerctl reroute {row.decision_id} --to {row.wanted_tier}` routes them there)")
    return f"similar prompts will route to {row.wanted_tier}"


def learned(catalogue: Catalogue, kind: str, value: str, decided: str | None, detail: str | None,
            decision_id: str) -> FeedbackRow | None:
    """What the feedback table learns from one feedback row, or None (nothing to learn)."""
    try:
        sig = json.loads(detail or "{}").get("signature") or ""
    except ValueError:
        return None
    if not sig or decided not in TIERS:
        return None
    tier: Tier = decided
    if kind == "reroute":
        wanted = tier_of_target(catalogue, value)
    elif kind == "rate" and value in RATINGS:
        wanted = wanted_tier_of_rating(tier, value)
    else:
        return None
    if wanted is None:
        return None
    return FeedbackRow(decision_id=decision_id, signature=sig, decided_tier=tier, wanted_tier=wanted, kind=kind)


def tier_of_target(catalogue: Catalogue, target: str) -> Tier | None:
    if target in TIERS:
        return target
    model = catalogue.get(target)
    return model.tier if model is not None else None
