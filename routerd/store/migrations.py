"""The state schema, as an ordered list of migrations. ``PRAGMA user_version`` counts those applied.

Never edit a migration that has shipped: append a new one. Prompt text is only stored when the
config says so (``decisions.prompt``); otherwise a hash and a length are.

Migration 2 (the ledger): ``calls`` keeps every token kind (``cached_tokens`` are cache reads;
``input_tokens`` include reads and writes, ``output_tokens`` reasoning), whether the counts were
estimated, where the row came from (``source``: ``gateway`` or ``hook:<host>``), the session, project
and tier, the baseline model, and the provider's answer id. Triggers keep one row per call: a row a
hook read from a transcript is not written when the gateway recorded the same call (same answer id,
or same session and token counts within ten minutes), and a gateway row written later removes the
hook's. ``call_rollup`` and ``decision_rollup`` are kept by triggers in the same transactions: sums
per quarter hour (any time zone's midnight is a quarter-hour boundary) and per group key, so reports
over a year of calls read a few thousand rows instead of millions. ``sessions`` maps a coding-agent
session to its project.
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

    CREATE TABLE call_rollup (
        bucket INTEGER NOT NULL,
        source TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        tier TEXT NOT NULL,
        project TEXT NOT NULL,
        session_id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        calls INTEGER NOT NULL,
        ok INTEGER NOT NULL,
        estimated INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        cache_read_tokens INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL,
        cache_write_1h_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        costed INTEGER NOT NULL,
        paired_cost_usd REAL NOT NULL,
        paired_baseline_usd REAL NOT NULL,
        paired INTEGER NOT NULL,
        latency_ms_sum REAL NOT NULL,
        latency_n INTEGER NOT NULL,
        PRIMARY KEY (bucket, source, provider, model, tier, project, session_id, outcome)
    ) WITHOUT ROWID;

    INSERT INTO call_rollup
    SELECT CAST(ts / 900 AS INTEGER), source, provider, model, coalesce(tier, ''), coalesce(project, ''),
           coalesce(session_id, ''), outcome, count(*), sum(outcome = 'ok'), sum(estimated != 0),
           sum(input_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(cache_write_1h_tokens),
           sum(output_tokens), sum(reasoning_tokens), coalesce(sum(cost_usd), 0), count(cost_usd),
           coalesce(sum(CASE WHEN baseline_cost_usd IS NOT NULL THEN cost_usd END), 0),
           coalesce(sum(CASE WHEN cost_usd IS NOT NULL THEN baseline_cost_usd END), 0),
           sum(cost_usd IS NOT NULL AND baseline_cost_usd IS NOT NULL),
           coalesce(sum(latency_ms), 0), count(latency_ms)
    FROM calls GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

    CREATE TABLE decision_rollup (
        bucket INTEGER NOT NULL,
        source TEXT NOT NULL,
        tier TEXT NOT NULL,
        model TEXT NOT NULL,
        decisions INTEGER NOT NULL,
        PRIMARY KEY (bucket, source, tier, model)
    ) WITHOUT ROWID;

    INSERT INTO decision_rollup
    SELECT CAST(ts / 900 AS INTEGER), source, coalesce(tier, ''), coalesce(model, ''), count(*)
    FROM decisions GROUP BY 1, 2, 3, 4;

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

    CREATE TRIGGER calls_gateway_supersedes AFTER INSERT ON calls
    WHEN NEW.source = 'gateway' AND (NEW.response_id IS NOT NULL OR NEW.session_id IS NOT NULL)
    BEGIN
        DELETE FROM calls WHERE source != 'gateway' AND (
            (NEW.response_id IS NOT NULL AND response_id = NEW.response_id)
            OR (NEW.session_id IS NOT NULL AND session_id = NEW.session_id
                AND input_tokens = NEW.input_tokens AND output_tokens = NEW.output_tokens
                AND NEW.input_tokens + NEW.output_tokens > 0 AND ts BETWEEN NEW.ts - 600 AND NEW.ts + 600));
    END;

    CREATE TRIGGER calls_rollup_add AFTER INSERT ON calls BEGIN
        INSERT INTO call_rollup VALUES (
            CAST(NEW.ts / 900 AS INTEGER), NEW.source, NEW.provider, NEW.model, coalesce(NEW.tier, ''),
            coalesce(NEW.project, ''), coalesce(NEW.session_id, ''), NEW.outcome,
            1, NEW.outcome = 'ok', NEW.estimated != 0, NEW.input_tokens, NEW.cached_tokens,
            NEW.cache_write_tokens, NEW.cache_write_1h_tokens, NEW.output_tokens, NEW.reasoning_tokens,
            coalesce(NEW.cost_usd, 0), NEW.cost_usd IS NOT NULL,
            CASE WHEN NEW.baseline_cost_usd IS NOT NULL THEN coalesce(NEW.cost_usd, 0) ELSE 0 END,
            CASE WHEN NEW.cost_usd IS NOT NULL THEN coalesce(NEW.baseline_cost_usd, 0) ELSE 0 END,
            NEW.cost_usd IS NOT NULL AND NEW.baseline_cost_usd IS NOT NULL,
            coalesce(NEW.latency_ms, 0), NEW.latency_ms IS NOT NULL)
        ON CONFLICT DO UPDATE SET
            calls = calls + 1, ok = ok + excluded.ok, estimated = estimated + excluded.estimated,
            input_tokens = input_tokens + excluded.input_tokens,
            cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
            cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
            cache_write_1h_tokens = cache_write_1h_tokens + excluded.cache_write_1h_tokens,
            output_tokens = output_tokens + excluded.output_tokens,
            reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
            cost_usd = cost_usd + excluded.cost_usd, costed = costed + excluded.costed,
            paired_cost_usd = paired_cost_usd + excluded.paired_cost_usd,
            paired_baseline_usd = paired_baseline_usd + excluded.paired_baseline_usd,
            paired = paired + excluded.paired, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum,
            latency_n = latency_n + excluded.latency_n;
    END;

    CREATE TRIGGER calls_rollup_remove AFTER DELETE ON calls BEGIN
        UPDATE call_rollup SET
            calls = calls - 1, ok = ok - (OLD.outcome = 'ok'), estimated = estimated - (OLD.estimated != 0),
            input_tokens = input_tokens - OLD.input_tokens,
            cache_read_tokens = cache_read_tokens - OLD.cached_tokens,
            cache_write_tokens = cache_write_tokens - OLD.cache_write_tokens,
            cache_write_1h_tokens = cache_write_1h_tokens - OLD.cache_write_1h_tokens,
            output_tokens = output_tokens - OLD.output_tokens,
            reasoning_tokens = reasoning_tokens - OLD.reasoning_tokens,
            cost_usd = cost_usd - coalesce(OLD.cost_usd, 0), costed = costed - (OLD.cost_usd IS NOT NULL),
            paired_cost_usd = paired_cost_usd
                - CASE WHEN OLD.baseline_cost_usd IS NOT NULL THEN coalesce(OLD.cost_usd, 0) ELSE 0 END,
            paired_baseline_usd = paired_baseline_usd
                - CASE WHEN OLD.cost_usd IS NOT NULL THEN coalesce(OLD.baseline_cost_usd, 0) ELSE 0 END,
            paired = paired - (OLD.cost_usd IS NOT NULL AND OLD.baseline_cost_usd IS NOT NULL),
            latency_ms_sum = latency_ms_sum - coalesce(OLD.latency_ms, 0),
            latency_n = latency_n - (OLD.latency_ms IS NOT NULL)
        WHERE bucket = CAST(OLD.ts / 900 AS INTEGER) AND source = OLD.source AND provider = OLD.provider
          AND model = OLD.model AND tier = coalesce(OLD.tier, '') AND project = coalesce(OLD.project, '')
          AND session_id = coalesce(OLD.session_id, '') AND outcome = OLD.outcome;
        DELETE FROM call_rollup
        WHERE calls = 0 AND bucket = CAST(OLD.ts / 900 AS INTEGER) AND source = OLD.source
          AND provider = OLD.provider AND model = OLD.model AND tier = coalesce(OLD.tier, '')
          AND project = coalesce(OLD.project, '') AND session_id = coalesce(OLD.session_id, '')
          AND outcome = OLD.outcome;
    END;

    CREATE TRIGGER decisions_rollup_add AFTER INSERT ON decisions BEGIN
        INSERT INTO decision_rollup VALUES (CAST(NEW.ts / 900 AS INTEGER), NEW.source,
                                            coalesce(NEW.tier, ''), coalesce(NEW.model, ''), 1)
        ON CONFLICT DO UPDATE SET decisions = decisions + 1;
    END;

    CREATE TRIGGER decisions_rollup_remove AFTER DELETE ON decisions BEGIN
        UPDATE decision_rollup SET decisions = decisions - 1
        WHERE bucket = CAST(OLD.ts / 900 AS INTEGER) AND source = OLD.source
          AND tier = coalesce(OLD.tier, '') AND model = coalesce(OLD.model, '');
    END;
    """,
)

TABLES = ("decisions", "calls", "feedback", "classification_cache", "settings", "sessions")
