"""What hooks add to the ledger: a session's project (from the ``cwd`` every hook event carries),
and the calls of the last turns read from the transcript at Stop and SessionEnd.

A transcript message becomes one ``calls`` row (``source`` ``hook:<host>``) keyed by the API's
answer id; the schema's triggers drop it when the gateway recorded the same call (see
``routerd.store.migrations``), so a turn seen by both is one row. Rows are priced like the
gateway's (``routerd.ledger.costs``): at API list prices, which is what the tokens are worth even
when a subscription pays for them. Only a turn routing chose saves: a subagent's (routerd's hooks
delegate turns to one) and every Gemini CLI call (its BeforeModel hook switches the model per
turn) are compared with ``accounting.baseline_model`` or else the model of the session's main
conversation, so a turn delegated to a cheaper subagent shows its saving; a main-conversation turn
of Claude Code or Codex ran on the model the user chose, and is its own baseline (0 saved, where a
configured baseline made it save or lose by accident).
"""

import logging
import time
from collections.abc import Sequence

import anyio.to_thread

from routerd.ids import Ids
from routerd.integrations.transcript import MessageUsage
from routerd.ledger import costs
from routerd.ledger.project import project_of
from routerd.ledger.state import Ledger
from routerd.runtime import Runtime
from routerd.store.ledger import CallRow, record_call, record_session
from routerd.store.store import Store

log = logging.getLogger("routerd.ledger")
# Hosts whose main conversation's model routerd's hooks choose (Gemini CLI's BeforeModel).
ROUTED_MAIN = frozenset({"gemini-cli"})


async def note_session(ledger: Ledger, store: Store, host: str, session_id: str | None, cwd: str | None) -> None:
    """Record ``session_id``'s project the first time a hook of that session names its ``cwd``."""
    if not session_id or not cwd:
        return
    if session_id in ledger.sessions:
        return
    if cwd in ledger.projects:
        project = ledger.projects[cwd]
    else:
        project = await anyio.to_thread.run_sync(project_of, cwd)
        ledger.remember(ledger.projects, cwd, project)
    ledger.remember(ledger.sessions, session_id, project)
    record_session(store, session_id, host, project, time.time())


def main_model(messages: Sequence[MessageUsage]) -> str | None:
    """The model of the latest message of the main conversation (not a subagent's)."""
    return next((m.model for m in reversed(messages) if not m.sidechain), None)


def record_messages(ledger: Ledger, store: Store, ids: Ids, runtime: Runtime, *, host: str, provider: str,
                    session_id: str | None, decision_id: str | None, messages: Sequence[MessageUsage],
                    main: str | None) -> int:
    """Write one priced row per message; returns how many were queued."""
    catalogue = runtime.catalogue
    configured = costs.configured_baseline(catalogue, runtime.config.accounting.baseline_model)
    now = time.time()
    written = 0
    for message in messages:
        if not message.tokens.plausible():
            log.warning("%s transcript: message %s reports token counts no call can have; not recorded",
                        host, message.id)
            continue
        written += 1
        model = (provider, message.model)
        routed = message.sidechain or host in ROUTED_MAIN
        baseline = (configured or (provider, main or message.model)) if routed else model
        cost = costs.price(catalogue, model, message.tokens)
        t = message.tokens
        record_call(store, CallRow(
            id=ids.new(), ts=message.ts or now, provider=provider, model=message.model, outcome="ok",
            source=f"hook:{host}", decision_id=decision_id, input_tokens=t.input, output_tokens=t.output,
            cache_read_tokens=t.cache_read, cache_write_tokens=t.cache_write,
            cache_write_1h_tokens=t.cache_write_1h, reasoning_tokens=t.reasoning, cost_usd=cost,
            baseline_cost_usd=costs.price(catalogue, baseline, t), baseline_model="/".join(baseline),
            session_id=session_id, response_id=message.id, web_searches=t.web_searches))
        ledger.counted(estimated=False, priced=cost is not None)
    return written
