"""The state schema, as an ordered list of migrations. ``PRAGMA user_version`` counts those applied.

Never edit a migration that has shipped: append a new one. Prompt text is only stored when the
config says so (``decisions.prompt``); otherwise a hash and a length are.

Migration 2 (the ledger): ``calls`` keeps every token kind (``cached_tokens`` are cache reads;
``input_tokens`` include reads and writes, ``output_tokens`` reasoning), whether the counts were
estimated, where the row came from (``source``: ``gateway`` or ``hook:<host>``), the session, project
and tier, the baseline model, and the provider's answer id. Triggers keep one row per call: a row a
hook read from a transcript is not written when the gateway recorded the same call (same answer id,
or same session and token counts within ten minutes), and a gateway row written later removes the
hook's. Rollups are kept by triggers in the same transactions: sums per local day (the daemon's
time zone) and per model, provider, tier, outcome and source (``call_rollup``), per session and
project (``session_rollup``), and decisions per tier and model (``decision_rollup``), so reports
over a year of calls read thousands of rows instead of millions. ``sessions`` maps a coding-agent
session to its project.
"""

# Part of migration 2; never change it (a new migration writes new SQL). A rollup is a table of
# sums per local day and key, filled from the calls there are and kept by two triggers: a call
# inserted adds itself, a call deleted (superseded, or replaced) subtracts itself.
_SUMS = (
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


def _v2_rollup(table: str, keys: dict[str, str]) -> str:
    day = "date({r}.ts, 'unixepoch', 'localtime')"
    columns = {"day": day, **keys}
    real = {"cost_usd", "paired_cost_usd", "paired_baseline_usd", "latency_ms_sum"}
    ddl = ",\n        ".join([f"{name} TEXT NOT NULL" for name in columns]
                             + [f"{name} {'REAL' if name in real else 'INTEGER'} NOT NULL" for name, _ in _SUMS])

    def values(r: str) -> str:
        return ", ".join(e.format(r=r) for e in [*columns.values(), *(expr for _, expr in _SUMS)])

    def match(r: str) -> str:
        return " AND ".join(f"{name} = {expr.format(r=r)}" for name, expr in columns.items())

    grouped = ", ".join(e.format(r="calls") for e in columns.values())
    sums = ", ".join(f"sum({expr.format(r='calls')})" for _, expr in _SUMS)
    add = ", ".join(f"{name} = {name} + excluded.{name}" for name, _ in _SUMS)
    remove = ", ".join(f"{name} = {name} - ({expr.format(r='OLD')})" for name, expr in _SUMS)
    return f"""
    CREATE TABLE {table} (
        {ddl},
        PRIMARY KEY ({", ".join(columns)})
    ) WITHOUT ROWID;
    INSERT INTO {table} SELECT {grouped}, {sums} FROM calls GROUP BY {grouped};
    CREATE TRIGGER {table}_add AFTER INSERT ON calls BEGIN
        INSERT INTO {table} VALUES ({values("NEW")}) ON CONFLICT DO UPDATE SET {add};
    END;
    CREATE TRIGGER {table}_remove AFTER DELETE ON calls BEGIN
        UPDATE {table} SET {remove} WHERE {match("OLD")};
        DELETE FROM {table} WHERE calls = 0 AND {match("OLD")};
    END;
    """


MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE decisions (
        id TEXT PRIMARY KEY,
        ts REAL NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        session_id TEXT,
        prompt_hash TEXT NOT NULL DEFAULT '',
        prompt_len INTEGER NOT NULL DEFAULT 0,
        prompt TEXT,
        tier TEXT,
        task_type TEXT,
        confidence REAL,
        profile TEXT,
        model TEXT,
        provider TEXT,
        detail TEXT
    );
    CREATE INDEX decisions_ts ON decisions(ts);
    CREATE INDEX decisions_session ON decisions(session_id);

    CREATE TABLE calls (
        id TEXT PRIMARY KEY,
        decision_id TEXT,
        ts REAL NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 1,
        outcome TEXT NOT NULL,
        status INTEGER,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cached_tokens INTEGER NOT NULL DEFAULT 0,
        latency_ms REAL,
        ttft_ms REAL,
        cost_usd REAL,
        baseline_cost_usd REAL,
        error TEXT
    );
    CREATE INDEX calls_ts ON calls(ts);
    CREATE INDEX calls_decision ON calls(decision_id);

    CREATE TABLE feedback (
        id TEXT PRIMARY KEY,
        decision_id TEXT NOT NULL,
        ts REAL NOT NULL,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX feedback_decision ON feedback(decision_id);

    CREATE TABLE classification_cache (
        key TEXT PRIMARY KEY,
        ts REAL NOT NULL,
        result TEXT NOT NULL
    );

    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        ts REAL NOT NULL
    );
    """,
    # 2: the ledger (see the module docstring)
    """
    ALTER TABLE calls ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE calls ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE calls ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE calls ADD COLUMN estimated INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE calls ADD COLUMN source TEXT NOT NULL DEFAULT 'gateway';
    ALTER TABLE calls ADD COLUMN session_id TEXT;
    ALTER TABLE calls ADD COLUMN project TEXT;
    ALTER TABLE calls ADD COLUMN tier TEXT;
    ALTER TABLE calls ADD COLUMN baseline_model TEXT;
    ALTER TABLE calls ADD COLUMN response_id TEXT;
    UPDATE calls SET source = 'hook' WHERE latency_ms IS NULL;
    UPDATE calls SET tier = (SELECT tier FROM decisions WHERE decisions.id = calls.decision_id);
    CREATE INDEX calls_response ON calls(response_id) WHERE response_id IS NOT NULL;
    CREATE INDEX calls_session ON calls(session_id, ts) WHERE session_id IS NOT NULL;

    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL DEFAULT '',
        project TEXT,
        ts REAL NOT NULL
    );

    CREATE TRIGGER calls_seen_by_gateway BEFORE INSERT ON calls
    WHEN NEW.source != 'gateway' AND (
        (NEW.response_id IS NOT NULL AND EXISTS (SELECT 1 FROM calls WHERE response_id = NEW.response_id))
        OR (NEW.session_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM calls WHERE session_id = NEW.session_id AND source = 'gateway'
            AND input_tokens = NEW.input_tokens AND output_tokens = NEW.output_tokens
            AND ts BETWEEN NEW.ts - 600 AND NEW.ts + 600)))
    BEGIN
        SELECT RAISE(IGNORE);
    END;

    -- Hook rows only, so that a gateway row looks among hook rows alone: gateway rows may share
    -- an answer id by the thousand (a server that reuses one), and scanning them on every insert
    -- made each insert cost as much as all before it.
    CREATE INDEX calls_hook_response ON calls(response_id) WHERE source != 'gateway';
    CREATE INDEX calls_hook_session ON calls(session_id, ts) WHERE source != 'gateway';

    CREATE TRIGGER calls_gateway_supersedes AFTER INSERT ON calls
    WHEN NEW.source = 'gateway' AND (NEW.response_id IS NOT NULL OR NEW.session_id IS NOT NULL)
    BEGIN
        DELETE FROM calls WHERE source != 'gateway' AND response_id = NEW.response_id;
        DELETE FROM calls WHERE source != 'gateway' AND session_id = NEW.session_id
            AND ts BETWEEN NEW.ts - 600 AND NEW.ts + 600
            AND input_tokens = NEW.input_tokens AND output_tokens = NEW.output_tokens
            AND NEW.input_tokens + NEW.output_tokens > 0;
    END;

    CREATE TABLE decision_rollup (
        day TEXT NOT NULL,
        source TEXT NOT NULL,
        tier TEXT NOT NULL,
        model TEXT NOT NULL,
        decisions INTEGER NOT NULL,
        PRIMARY KEY (day, source, tier, model)
    ) WITHOUT ROWID;

    INSERT INTO decision_rollup
    SELECT date(ts, 'unixepoch', 'localtime'), source, coalesce(tier, ''), coalesce(model, ''), count(*)
    FROM decisions GROUP BY 1, 2, 3, 4;

    CREATE TRIGGER decisions_rollup_add AFTER INSERT ON decisions BEGIN
        INSERT INTO decision_rollup VALUES (date(NEW.ts, 'unixepoch', 'localtime'), NEW.source,
                                            coalesce(NEW.tier, ''), coalesce(NEW.model, ''), 1)
        ON CONFLICT DO UPDATE SET decisions = decisions + 1;
    END;

    CREATE TRIGGER decisions_rollup_remove AFTER DELETE ON decisions BEGIN
        UPDATE decision_rollup SET decisions = decisions - 1
        WHERE day = date(OLD.ts, 'unixepoch', 'localtime') AND source = OLD.source
          AND tier = coalesce(OLD.tier, '') AND model = coalesce(OLD.model, '');
    END;
    """
    + _v2_rollup("call_rollup", {"source": "{r}.source", "provider": "{r}.provider", "model": "{r}.model",
                                 "tier": "coalesce({r}.tier, '')", "outcome": "{r}.outcome"})
    + _v2_rollup("session_rollup", {"session_id": "coalesce({r}.session_id, '')",
                                    "project": "coalesce({r}.project, '')"}),
)

TABLES = ("decisions", "calls", "feedback", "classification_cache", "settings", "sessions")
