"""The ledger's rollups: sums of ``calls`` and ``decisions`` per local day and group key, kept in the
same transactions as the rows, so that reports over a year read thousands of rows, not millions.

A row written is queued in a pending table by a trigger (an integer append, a microsecond or two);
the writer then folds all pending rows of its batch into the rollups with one grouped statement
per rollup before it commits (``ROLL``), so a burst of rows costs one upsert per distinct key, not
one per row. A row deleted (a hook row the gateway superseded, a replaced row) or updated is taken
out of the rollups by a trigger unless it was still pending; an updated row is queued again.
Readers never see pending rows from routerd's writer (it rolls before committing); reports still
add any that another writer left (``routerd.store.ledger``), so the sums are exact either way.

The DDL generated here is migration 2's; never change it (a new migration brings new SQL). A test
pins its digest.
"""

# Sums per rollup row: (column, expression over a row ``{r}``).
CALL_SUMS = (
    ("calls", "1"), ("ok", "{r}.outcome = 'ok'"), ("estimated", "{r}.estimated != 0"),
    ("input_tokens", "{r}.input_tokens"), ("cache_read_tokens", "{r}.cached_tokens"),
    ("cache_write_tokens", "{r}.cache_write_tokens"), ("cache_write_1h_tokens", "{r}.cache_write_1h_tokens"),
    ("output_tokens", "{r}.output_tokens"), ("reasoning_tokens", "{r}.reasoning_tokens"),
    ("cost_usd", "coalesce({r}.cost_usd, 0)"), ("costed", "{r}.cost_usd IS NOT NULL"),
    ("paired_cost_usd", "CASE WHEN {r}.baseline_cost_usd IS NOT NULL THEN coalesce({r}.cost_usd, 0) ELSE 0 END"),
    ("paired_baseline_usd", "CASE WHEN {r}.cost_usd IS NOT NULL THEN coalesce({r}.baseline_cost_usd, 0) ELSE 0 END"),
    ("paired", "{r}.cost_usd IS NOT NULL AND {r}.baseline_cost_usd IS NOT NULL"),
    ("latency_ms_sum", "coalesce({r}.latency_ms, 0)"), ("latency_n", "{r}.latency_ms IS NOT NULL"),
)
_REAL = {"cost_usd", "paired_cost_usd", "paired_baseline_usd", "latency_ms_sum"}
_DAY = "date({r}.ts, 'unixepoch', 'localtime')"

# table -> (source table, pending table, {key column: expression}, sums)
ROLLUPS = {
    "call_rollup": ("calls", "calls_pending",
                    {"day": _DAY, "source": "{r}.source", "provider": "{r}.provider", "model": "{r}.model",
                     "tier": "coalesce({r}.tier, '')", "outcome": "{r}.outcome"}, CALL_SUMS),
    "session_rollup": ("calls", "calls_pending",
                       {"day": _DAY, "session_id": "coalesce({r}.session_id, '')",
                        "project": "coalesce({r}.project, '')"}, CALL_SUMS),
    "decision_rollup": ("decisions", "decisions_pending",
                        {"day": _DAY, "source": "{r}.source", "tier": "coalesce({r}.tier, '')",
                         "model": "coalesce({r}.model, '')"}, (("decisions", "1"),)),
}


def _each(source: str):
    return [(table, keys, sums) for table, (src, _, keys, sums) in ROLLUPS.items() if src == source]


def _fmt(expressions, r: str) -> str:
    return ", ".join(e.format(r=r) for e in expressions)


def _sums(sums) -> str:
    return ", ".join(f"sum({expr.format(r='x')})" for _, expr in sums)


def _table(table: str, keys: dict, sums) -> str:
    columns = [f"{k} TEXT NOT NULL" for k in keys] + [
        f"{name} {'REAL' if name in _REAL else 'INTEGER'} NOT NULL" for name, _ in sums]
    grouped = _fmt(keys.values(), "x")
    return (f"CREATE TABLE {table} ({', '.join(columns)}, PRIMARY KEY ({', '.join(keys)})) WITHOUT ROWID;\n"
            f"INSERT INTO {table} SELECT {grouped}, {_sums(sums)} FROM {ROLLUPS[table][0]} x "
            f"GROUP BY {grouped};\n")


def _take_out(table: str, keys: dict, sums, pending: str) -> str:
    """Statements that subtract row OLD from ``table`` unless OLD was still pending."""
    minus = ", ".join(f"{name} = {name} - ({expr.format(r='OLD')})" for name, expr in sums)
    match = " AND ".join(f"{k} = {e.format(r='OLD')}" for k, e in keys.items())
    return (f"UPDATE {table} SET {minus} WHERE {match} "
            f"AND NOT EXISTS (SELECT 1 FROM {pending} WHERE rid = OLD.rowid);\n"
            f"DELETE FROM {table} WHERE {sums[0][0]} = 0 AND {match};\n")


def v2_schema() -> str:
    """Migration 2's rollup tables, their backfill from the rows there are, and the triggers."""
    out = []
    for source, pending in (("calls", "calls_pending"), ("decisions", "decisions_pending")):
        out.append(f"CREATE TABLE {pending} (rid INTEGER PRIMARY KEY);\n")
        out += [_table(table, keys, sums) for table, keys, sums in _each(source)]
        take_out = "".join(_take_out(table, keys, sums, pending) for table, keys, sums in _each(source))
        out.append(
            f"CREATE TRIGGER {source}_rollup_queue AFTER INSERT ON {source} BEGIN\n"
            f"INSERT OR IGNORE INTO {pending} VALUES (NEW.rowid);\nEND;\n"
            f"CREATE TRIGGER {source}_rollup_remove AFTER DELETE ON {source} BEGIN\n"
            f"{take_out}DELETE FROM {pending} WHERE rid = OLD.rowid;\nEND;\n"
            f"CREATE TRIGGER {source}_rollup_update AFTER UPDATE ON {source} BEGIN\n"
            f"{take_out}INSERT OR IGNORE INTO {pending} VALUES (NEW.rowid);\nEND;\n")
    return "".join(out)


def _roll(table: str) -> str:
    source, pending, keys, sums = ROLLUPS[table]
    plus = ", ".join(f"{name} = {name} + excluded.{name}" for name, _ in sums)
    grouped = _fmt(keys.values(), "x")
    return (f"INSERT INTO {table} SELECT {grouped}, {_sums(sums)} FROM {source} x "
            f"WHERE x.rowid IN (SELECT rid FROM {pending}) GROUP BY {grouped} ON CONFLICT DO UPDATE SET {plus}")


# What the writer runs at the end of every transaction: pending rows into the rollups, then none
# pending. Cheap when nothing is pending (two empty index scans).
ROLL = (*(_roll(table) for table in ROLLUPS), "DELETE FROM calls_pending", "DELETE FROM decisions_pending")
