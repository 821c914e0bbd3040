"""The state schema, as an ordered list of migrations. ``PRAGMA user_version`` counts those applied.

Never edit a migration that has shipped: append a new one. Prompt text is only stored when the
config says so (``decisions.prompt``); otherwise a hash and a length are.
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
)

TABLES = ("decisions", "calls", "feedback", "classification_cache", "settings")
