"""The routing core's rows and named queries: decisions, feedback, settings and the second
opinion's cache.

Writes only enqueue (``Store.execute``, in order with everything queued before); reads are plain
functions of a connection, run by ``Store.read`` in a worker thread. Every routing statement lives
here.
"""

import apsw
import msgspec

from routerd.store.store import Store


class DecisionRow(msgspec.Struct, frozen=True, kw_only=True):
    """One routing decision. ``detail`` is JSON (signature, candidates, reasons, ...); the prompt's
    text only when the config says to store prompts, else its hash and length."""

    id: str
    ts: float
    source: str
    session_id: str | None = None
    prompt_hash: str = ""
    prompt_len: int = 0
    prompt: str | None = None
    tier: str | None = None
    task_type: str | None = None
    confidence: float | None = None
    profile: str | None = None
    model: str | None = None
    provider: str | None = None
    detail: str | None = None
    scenario: str | None = None


class FeedbackRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A reroute, a rating, or what a hook saw done with a recommendation (delegated, violation)."""

    id: str
    decision_id: str
    ts: float
    kind: str
    value: str
    reason: str = ""


class StoredFeedback(msgspec.Struct, frozen=True):
    """A feedback row joined with the decision it is about (what the core learns from)."""

    kind: str
    value: str
    decided_tier: str | None
    detail: str | None
    decision_id: str


_INSERT_DECISION = (
    "INSERT OR REPLACE INTO decisions (id, ts, source, session_id, prompt_hash, prompt_len, prompt, "
    "tier, task_type, confidence, profile, model, provider, detail, scenario) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SET_DECISION_TARGET = "UPDATE decisions SET model = ?, provider = ? WHERE id = ?"
_INSERT_FEEDBACK = ("INSERT OR REPLACE INTO feedback (id, decision_id, ts, kind, value, reason) "
                    "VALUES (?, ?, ?, ?, ?, ?)")
_PUT_SETTING = "INSERT OR REPLACE INTO settings (key, value, ts) VALUES (?, ?, ?)"
_PUT_CACHED = "INSERT OR REPLACE INTO classification_cache (key, ts, result) VALUES (?, ?, ?)"
# The second opinion's cache keeps its ``CACHE_ROWS`` latest verdicts. A replaced or new row takes
# the largest rowid plus one, so rowids follow the order verdicts were written and the oldest go by
# one range delete on the rowid's b-tree (no index, no scan, no count). Rows need no age limit: the
# key holds the classifier model and threshold, so a verdict is only read back for the same
# question to the same model, and a changed model's rows are the oldest, the next to go.
CACHE_ROWS = 20_000  # ~400 bytes each (a Classification's JSON and its key): ~8 MB at most
_TRIM_CACHE = "DELETE FROM classification_cache WHERE rowid <= (SELECT max(rowid) FROM classification_cache) - ?"
_FEEDBACK = (
    "SELECT f.kind, f.value, d.tier, d.detail, f.decision_id FROM feedback f "
    "JOIN decisions d ON d.id = f.decision_id ORDER BY f.ts"
)


def record_decision(store: Store, row: DecisionRow) -> None:
    """Insert ``row`` soon (never blocks)."""
    store.execute(_INSERT_DECISION, (
        row.id, row.ts, row.source, row.session_id, row.prompt_hash, row.prompt_len, row.prompt,
        row.tier, row.task_type, row.confidence, row.profile, row.model, row.provider, row.detail, row.scenario))


def set_decision_target(store: Store, decision_id: str, model: str, provider: str) -> None:
    """The model a decision's request goes to first, when a later step (the context-window rule)
    changed it after the row was recorded (queued after the row itself: one writer, in order)."""
    store.execute(_SET_DECISION_TARGET, (model, provider, decision_id))


def record_feedback(store: Store, row: FeedbackRecord) -> None:
    store.execute(_INSERT_FEEDBACK, (row.id, row.decision_id, row.ts, row.kind, row.value, row.reason))


def put_setting(store: Store, key: str, value: str, ts: float) -> None:
    store.execute(_PUT_SETTING, (key, value, ts))


def put_cached_classification(store: Store, key: str, result: str, ts: float, *, keep: int = CACHE_ROWS) -> None:
    """Cache a second opinion's verdict, and drop the oldest past the latest ``keep``."""
    store.execute(_PUT_CACHED, (key, ts, result))
    store.execute(_TRIM_CACHE, (keep,))


# --- reads: functions of a connection, for Store.read ------------------------------------------


def setting(conn: apsw.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row is not None else None


def all_feedback(conn: apsw.Connection) -> list[StoredFeedback]:
    """Every feedback row with its decision's tier and detail, oldest first."""
    return [StoredFeedback(*row) for row in conn.execute(_FEEDBACK)]


def decision_tier(conn: apsw.Connection, decision_id: str) -> tuple[str | None, str | None] | None:
    """(tier, detail) of a stored decision, or None when there is no such decision."""
    row = conn.execute("SELECT tier, detail FROM decisions WHERE id = ?", (decision_id,)).fetchone()
    return (row[0], row[1]) if row is not None else None


def cached_classification(conn: apsw.Connection, key: str) -> str | None:
    row = conn.execute("SELECT result FROM classification_cache WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row is not None else None


def startup_state(conn: apsw.Connection, profile_key: str) -> tuple[str | None, list[StoredFeedback]]:
    """What the routing core loads at start: the profile setting and the feedback rows."""
    return setting(conn, profile_key), all_feedback(conn)

