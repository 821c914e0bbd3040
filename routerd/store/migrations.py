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

from routerd.store import rollups

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
    CREATE INDEX calls_session ON calls(session_id, ts) WHERE session_id IS NOT NULL;
    CREATE INDEX calls_session_response ON calls(session_id, response_id)
        WHERE session_id IS NOT NULL AND response_id IS NOT NULL;
    -- Hook rows only, so that a gateway row looks for the hook rows it supersedes among those
    -- alone: gateway rows may share an answer id by the thousand (a server that reuses one).
    CREATE INDEX calls_hook_response ON calls(session_id, response_id) WHERE source != 'gateway';
    CREATE INDEX calls_hook_session ON calls(session_id, ts) WHERE source != 'gateway';

    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL DEFAULT '',
        project TEXT,
        ts REAL NOT NULL
    );

    -- One call, one row: a transcript's answers live in a session, and so do the gateway's rows
    -- of the same calls (Claude Code sends its session id with every request).
    CREATE TRIGGER calls_seen_by_gateway BEFORE INSERT ON calls
    WHEN NEW.source != 'gateway' AND NEW.session_id IS NOT NULL AND (
        EXISTS (SELECT 1 FROM calls WHERE session_id = NEW.session_id AND response_id = NEW.response_id)
        OR EXISTS (SELECT 1 FROM calls WHERE session_id = NEW.session_id AND source = 'gateway'
                   AND ts BETWEEN NEW.ts - 600 AND NEW.ts + 600
                   AND input_tokens = NEW.input_tokens AND output_tokens = NEW.output_tokens))
    BEGIN
        SELECT RAISE(IGNORE);
    END;

    CREATE TRIGGER calls_gateway_supersedes AFTER INSERT ON calls
    WHEN NEW.source = 'gateway' AND NEW.session_id IS NOT NULL
    BEGIN
        DELETE FROM calls WHERE source != 'gateway' AND session_id = NEW.session_id
            AND response_id = NEW.response_id;
        DELETE FROM calls WHERE source != 'gateway' AND session_id = NEW.session_id
            AND ts BETWEEN NEW.ts - 600 AND NEW.ts + 600
            AND input_tokens = NEW.input_tokens AND output_tokens = NEW.output_tokens
            AND NEW.input_tokens + NEW.output_tokens > 0;
    END;
    """
    + rollups.v2_schema(),
    # 3: the use of each long rate-limit or budget window, so that a restart keeps it
    # (``routerd.store.limits``).
    """
    CREATE TABLE limit_windows (
        name TEXT PRIMARY KEY,
        start REAL NOT NULL,
        used REAL NOT NULL,
        ts REAL NOT NULL
    );
    """,
    # 4: the scenario each decision was made for (routerd/scenarios; NULL before, or with detection off).
    "ALTER TABLE decisions ADD COLUMN scenario TEXT;",
    # 5: retention (``routerd.store.retention``): calls past ``state.retain_days`` leave, their
    # sums stay in the rollups.
    rollups.v5_schema(),
    # 6: each call's hosted web searches (billed per search; ``routerd.catalogue.prices``), summed
    # in the call rollups.
    rollups.v6_schema(),
)

TABLES = ("decisions", "calls", "feedback", "classification_cache", "settings", "sessions", "limit_windows")
