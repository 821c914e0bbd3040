"""The ledger's rollups: sums of ``calls`` and ``decisions`` per local day and group key, kept in the
same transactions as the rows, so that reports over a year read thousands of rows, not millions.

``rollup_marks`` holds, per source table, the highest rowid already folded in. The writer folds the
rows above it into the rollups with one grouped statement per rollup about once a second
(``ROLL``, see ``routerd.store.store``), so a second of rows costs one upsert per distinct key,
and a row written costs no trigger at all. A
folded row that is deleted (a hook row the gateway superseded, a replaced row) or updated is taken
out (and an updated one put back) by a trigger; the mark never exceeds the highest rowid left, so
the rowid SQLite gives the next row is always above it. Readers add the rows above the mark to what
the rollups say (``routerd.store.ledger``), so the sums are exact even between a write and its roll
(or for rows another connection wrote).

The DDL generated here is migration 2's (``v2_schema``), 5's (``v5_schema``: the delete trigger
again, leaving the sums of rows the retention prunes) and 6's (``v6_schema``: the hosted web
searches summed too); never change a shipped one (a new migration brings new SQL), which is why
migrations 2 and 5 are generated from the sums they shipped with (``V2_CALL_SUMS``). A test pins
migration 2's digest.
"""

# Sums per rollup row: (column, expression over a row ``{r}``), as migration 2 made them.
V2_CALL_SUMS = (
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
# Every sum now: a new one is appended (the rollups' columns are bound by position).
CALL_SUMS = (*V2_CALL_SUMS, ("web_searches", "{r}.web_searches"))
_REAL = {"cost_usd", "paired_cost_usd", "paired_baseline_usd", "latency_ms_sum"}
_DAY = "date({r}.ts, 'unixepoch', 'localtime')"


def _rollups(call_sums: tuple[tuple[str, str], ...]) -> dict[str, tuple[str, dict[str, str], tuple[tuple[str, str], ...]]]:
    """table -> (source table, {key column: expression}, sums), with ``call_sums`` for calls."""
    return {
        "call_rollup": ("calls", {"day": _DAY, "source": "{r}.source", "provider": "{r}.provider",
                                  "model": "{r}.model", "tier": "coalesce({r}.tier, '')", "outcome": "{r}.outcome"},
                        call_sums),
        "session_rollup": ("calls", {"day": _DAY, "session_id": "coalesce({r}.session_id, '')",
                                     "project": "coalesce({r}.project, '')"}, call_sums),
        "decision_rollup": ("decisions", {"day": _DAY, "source": "{r}.source", "tier": "coalesce({r}.tier, '')",
                                          "model": "coalesce({r}.model, '')"}, (("decisions", "1"),)),
    }


ROLLUPS = _rollups(CALL_SUMS)
_V2_ROLLUPS = _rollups(V2_CALL_SUMS)


def mark(source: str) -> str:
    """The highest rowid of ``source`` folded into its rollups (an SQL expression)."""
    return f"(SELECT rowid_done FROM rollup_marks WHERE source = '{source}')"


def _each(source: str, rollups: dict = ROLLUPS):
    return [(table, keys, sums) for table, (src, keys, sums) in rollups.items() if src == source]


def _fmt(expressions, r: str) -> str:
    return ", ".join(e.format(r=r) for e in expressions)


def _sums(sums) -> str:
    return ", ".join(f"sum({expr.format(r='x')})" for _, expr in sums)


def _plus(sums) -> str:
    return ", ".join(f"{name} = {name} + excluded.{name}" for name, _ in sums)


def _table(table: str, source: str, keys: dict, sums) -> str:
    columns = [f"{k} TEXT NOT NULL" for k in keys] + [
        f"{name} {'REAL' if name in _REAL else 'INTEGER'} NOT NULL" for name, _ in sums]
    grouped = _fmt(keys.values(), "x")
    return (f"CREATE TABLE {table} ({', '.join(columns)}, PRIMARY KEY ({', '.join(keys)})) WITHOUT ROWID;\n"
            f"INSERT INTO {table} SELECT {grouped}, {_sums(sums)} FROM {source} x GROUP BY {grouped};\n")


def _take_out(table: str, source: str, keys: dict, sums, unless: str = "") -> str:
    """Statements that subtract row OLD from ``table`` when it was folded in (and ``unless``, an
    SQL condition on OLD, does not hold)."""
    minus = ", ".join(f"{name} = {name} - ({expr.format(r='OLD')})" for name, expr in sums)
    match = " AND ".join(f"{k} = {e.format(r='OLD')}" for k, e in keys.items())
    keep = f" AND NOT ({unless})" if unless else ""
    return (f"UPDATE {table} SET {minus} WHERE {match} AND OLD.rowid <= {mark(source)}{keep};\n"
            f"DELETE FROM {table} WHERE {sums[0][0]} = 0 AND {match};\n")


def _put_back(table: str, keys: dict, sums) -> str:
    values = _fmt([*keys.values(), *(expr for _, expr in sums)], "NEW")
    return f"INSERT INTO {table} VALUES ({values}) ON CONFLICT DO UPDATE SET {_plus(sums)};\n"


def v2_schema() -> str:
    """Migration 2's rollup tables, their backfill from the rows there are, and the triggers."""
    out = ["CREATE TABLE rollup_marks (source TEXT PRIMARY KEY, rowid_done INTEGER NOT NULL);\n"]
    for source in ("calls", "decisions"):
        each = _each(source, _V2_ROLLUPS)
        out += [_table(table, source, keys, sums) for table, keys, sums in each]
        out.append(f"INSERT INTO rollup_marks VALUES ('{source}', "
                   f"coalesce((SELECT max(rowid) FROM {source}), 0));\n")
        take_out = "".join(_take_out(table, source, keys, sums) for table, keys, sums in each)
        put_back = "".join(_put_back(table, keys, sums) for table, keys, sums in each)
        out.append(
            f"CREATE TRIGGER {source}_rollup_remove AFTER DELETE ON {source} BEGIN\n{take_out}"
            f"UPDATE rollup_marks SET rowid_done = min(rowid_done, coalesce((SELECT max(rowid) FROM {source}), 0)) "
            f"WHERE source = '{source}';\nEND;\n"
            f"CREATE TRIGGER {source}_rollup_update AFTER UPDATE ON {source} "
            f"WHEN OLD.rowid <= {mark(source)} BEGIN\n{take_out}{put_back}END;\n")
    return "".join(out)


def _roll(table: str) -> str:
    source, keys, sums = ROLLUPS[table]
    grouped = _fmt(keys.values(), "x")
    return (f"INSERT INTO {table} SELECT {grouped}, {_sums(sums)} FROM {source} x "
            f"WHERE x.rowid > {mark(source)} GROUP BY {grouped} ON CONFLICT DO UPDATE SET {_plus(sums)}")


# Each mark up to its table's last row (once every row is folded).
MARKS_TO_LAST = tuple(f"UPDATE rollup_marks SET rowid_done = coalesce((SELECT max(rowid) FROM {source}), 0) "
                      f"WHERE source = '{source}'" for source in ("calls", "decisions"))
# What the writer runs now and then, in one transaction: the rows above each mark into the
# rollups, then the marks up to the last row.
ROLL = (*(_roll(table) for table in ROLLUPS), *MARKS_TO_LAST)


def retired_before(source: str) -> str:
    """Where ``source``'s retired rows end (an SQL expression, a Unix time; 0: none retired): rows
    stamped before it live in the rollups alone (``routerd.store.retention``)."""
    return f"(SELECT before FROM retention WHERE source = '{source}')"


def v5_schema() -> str:
    """Migration 5: ``retention``, and the delete triggers of calls and decisions again, now leaving
    the rollups as they are for a row stamped before its table's retention edge: pruning it keeps
    its sums. A hook row stamped there is not recorded: the row it repeats may be gone, and the
    trigger that keeps one row per call could no longer see it (the gateway's rows are never
    repeats)."""
    out = ["CREATE TABLE retention (source TEXT PRIMARY KEY, before REAL NOT NULL);\n"]
    for source in ("calls", "decisions"):
        out.append(f"INSERT INTO retention VALUES ('{source}', 0);\n" + _remove_trigger(source, _V2_ROLLUPS))
    out.append("CREATE TRIGGER calls_retired BEFORE INSERT ON calls "
               f"WHEN NEW.source != 'gateway' AND NEW.ts < {retired_before('calls')} BEGIN\n"
               "SELECT RAISE(IGNORE);\nEND;\n")
    return "".join(out)


def _remove_trigger(source: str, rollups: dict) -> str:
    """``source``'s delete trigger as migration 5 made it: a row stamped before the retention's edge
    leaves its sums in the rollups."""
    retired = f"OLD.ts < {retired_before(source)}"
    take_out = "".join(_take_out(table, source, keys, sums, retired) for table, keys, sums in _each(source, rollups))
    return (f"DROP TRIGGER {source}_rollup_remove;\n"
            f"CREATE TRIGGER {source}_rollup_remove AFTER DELETE ON {source} BEGIN\n{take_out}"
            f"UPDATE rollup_marks SET rowid_done = min(rowid_done, coalesce((SELECT max(rowid) FROM {source}), 0)) "
            f"WHERE source = '{source}';\nEND;\n")


def v6_schema() -> str:
    """Migration 6: each call's hosted web searches (``calls.web_searches``, 0 before), summed in the
    call rollups, whose delete and update triggers are made again with the new sum."""
    each = _each("calls")
    out = ["ALTER TABLE calls ADD COLUMN web_searches INTEGER NOT NULL DEFAULT 0;\n"]
    out += [f"ALTER TABLE {table} ADD COLUMN web_searches INTEGER NOT NULL DEFAULT 0;\n" for table, _, _ in each]
    out.append(_remove_trigger("calls", ROLLUPS))
    take_out = "".join(_take_out(table, "calls", keys, sums) for table, keys, sums in each)
    put_back = "".join(_put_back(table, keys, sums) for table, keys, sums in each)
    out.append("DROP TRIGGER calls_rollup_update;\n"
               f"CREATE TRIGGER calls_rollup_update AFTER UPDATE ON calls "
               f"WHEN OLD.rowid <= {mark('calls')} BEGIN\n{take_out}{put_back}END;\n")
    return "".join(out)
