"""Hook events from the shims and Claude Code's HTTP hooks: route the prompt, apply the mode, and
answer in the host's format. Also the hooks mode (``routerctl mode``), persisted in ``settings``.

``Hooks`` is one part of the app: the mode override and the per-session state (a route the session
was told to take, the last decision, the transcript messages already counted), shown by
``routerctl status`` as ``hooks``. Decisions are made and stored by the routing core; zero_claude
answers come through the ``Asker``. Only the event loop touches it.

Right after a start the classifier is still loading (``routerd.routing.brain``), for longer than a
shim's fail-open budget: a prompt that needs it is held (the shim is told to wait) for at most
``HOOK_BRAIN_WAIT_S``, and if the classifier is still not in, answered with a fallback decision
(``decide.fallback``: the user's rules, else stay in the session), stored, labelled as such in the
advice and the decision row, counted in ``fallbacks``, and never enforced.
"""

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
import msgspec

from routerd.errors import BadRequest, RouterdError
from routerd.ids import Ids
from routerd.integrations import modes, transcript
from routerd.integrations.ask import Asker
from routerd.integrations.decide import fallback, fallback_row, host_models, recommend
from routerd.integrations.events import HookEvent
from routerd.integrations.modes import Pending, Recommendation, Verdict
from routerd.integrations.render import HookOutcome, render
from routerd.ledger import turns
from routerd.ledger.state import Ledger
from routerd.protocol.replies import HookModeState
from routerd.routing.core import RoutingCore
from routerd.runtime import Runtime
from routerd.store import routing as rows
from routerd.store.ledger import sessionless_gateway_tokens
from routerd.store.store import Store

log = logging.getLogger("routerd.hooks")
MODE_KEY = "hooks.mode"
MAX_SESSIONS = 10_000
_HOST_PROVIDER = {"claude-code": "anthropic", "codex": "openai", "gemini-cli": "gemini"}
V = TypeVar("V")
# A line for the prompt's context while budgets steer routing (``Spending.note``), or None.
BudgetNote = Callable[[Runtime, str | None], str | None]
# How long a prompt is held for a classifier still loading: its load takes 0.5-0.8 s on a loaded
# machine, so this covers it more than twice, and bounds the wait of the first prompt after a start
# when the load is slower still (the shim was told to wait: it would otherwise fail open in 50 ms).
HOOK_BRAIN_WAIT_S = 2.0
STILL_LOADING = "the classifier was still loading"
# How far apart a Gemini CLI call's time in its session file and the gateway's row of it may be:
# the ledger's triggers take the same window to match a hook's row to the gateway's.
GATEWAY_MATCH_S = 600.0
# Each host's transcript reader (Claude Code's JSONL is the default).
_READERS = {"codex": transcript.recent_codex_calls, "gemini-cli": transcript.recent_gemini_calls}


class HookStats(msgspec.Struct, frozen=True):
    mode: str
    calls: int
    by_event: dict[str, int]
    context: int
    blocked: int
    denied: int
    violations: int
    honored: int
    pending: int
    turns_recorded: int
    fallbacks: int = 0  # prompts answered by the fallback rule while the classifier loaded


def _remember(table: "OrderedDict[str, V]", key: str, value: V) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > MAX_SESSIONS:
        table.popitem(last=False)


class Hooks:
    def __init__(self, store: Store, routing: RoutingCore, asker: Asker, ids: Ids, ledger: Ledger,
                 budget_note: BudgetNote | None = None) -> None:
        self.store = store
        self.budget_note = budget_note
        self.routing = routing
        self.asker = asker
        self.ids = ids
        self.ledger = ledger
        self.mode_override: str | None = None
        self.pending: OrderedDict[str, Pending] = OrderedDict()
        self.last_decision: OrderedDict[str, str] = OrderedDict()
        self.recent: OrderedDict[str, tuple[str, Recommendation]] = OrderedDict()
        self.counted: OrderedDict[str, set[str]] = OrderedDict()  # message ids already in calls
        self.counts: dict[str, int] = {"calls": 0, "context": 0, "blocked": 0, "denied": 0,
                                       "violations": 0, "honored": 0, "turns_recorded": 0, "fallbacks": 0}
        self.by_event: dict[str, int] = {}
        self._config_mode = "advise"  # the config's, as last seen (for statistics)

    async def load(self) -> None:
        """Read the persisted mode (at start, before serving)."""
        stored = await self.store.read(lambda conn: rows.setting(conn, MODE_KEY))
        self.mode_override = stored if stored in modes.MODES else None

    def mode(self, runtime: Runtime) -> str:
        self._config_mode = runtime.config.hooks.mode
        return self.mode_override or self._config_mode

    async def set_mode(self, runtime: Runtime, mode: str | None) -> HookModeState:
        """Persist ``mode`` (overrides config ``hooks.mode`` until set again); None only reports."""
        if mode:
            if mode not in modes.MODES:
                raise BadRequest(f"unknown hooks mode {mode!r}; expected one of {', '.join(modes.MODES)}")
            self.mode_override = mode
            rows.put_setting(self.store, MODE_KEY, mode, time.time())
            await self.store.flush()
        return HookModeState(mode=self.mode(runtime), config_mode=runtime.config.hooks.mode,
                             modes=list(modes.MODES))

    def statistics(self) -> HookStats:
        c = self.counts
        return HookStats(mode=self.mode_override or self._config_mode, calls=c["calls"],
                         by_event=dict(self.by_event), context=c["context"], blocked=c["blocked"],
                         denied=c["denied"], violations=c["violations"], honored=c["honored"],
                         pending=len(self.pending), turns_recorded=c["turns_recorded"],
                         fallbacks=c["fallbacks"])

    # --- events -------------------------------------------------------------------------------

    def holds(self, runtime: Runtime, event: HookEvent) -> bool:
        """Whether answering ``event`` may take past a shim's fail-open budget, so that the shim must
        first be told to wait: zero_claude asks an external model (seconds), and a prompt that
        needs the classifier while it loads waits for it (``HOOK_BRAIN_WAIT_S``)."""
        mode = self.mode(runtime)
        if mode == "zero_claude" and event.kind == "prompt" and not modes.wants_claude(event.prompt):
            return True
        return self.routing.brain.state == "loading" and _asks_brain(mode, event)

    async def run(self, runtime: Runtime, event: HookEvent) -> HookOutcome:
        """The host's reply to one hook event."""
        mode = self.mode(runtime)
        self.counts["calls"] += 1
        self.by_event[event.name] = self.by_event.get(event.name, 0) + 1
        await turns.note_session(self.ledger, self.store, event.host, event.session_id, event.cwd)
        verdict = await self._decide(runtime, mode, event)
        if verdict.action == "context" and self.budget_note is not None:
            note = self.budget_note(runtime, event.session_id)
            if note:
                verdict = msgspec.structs.replace(verdict, text=f"{verdict.text}\n{note}")
        pending = self.pending.get(_session(event))
        if (verdict.violation or verdict.honored) and pending is not None:
            # feedback the router learns from: was the recommended delegation taken or bypassed?
            rows.record_feedback(self.store, rows.FeedbackRecord(
                id=self.ids.new(), decision_id=pending.decision_id, ts=time.time(),
                kind="violation" if verdict.violation else "delegated", value=event.tool_name or "",
                reason=f"{mode} mode, {event.host}"))
        self._apply(event, verdict)
        return render(event, verdict)

    async def _decide(self, runtime: Runtime, mode: str, event: HookEvent) -> Verdict:
        now = time.time()
        session = _session(event)
        if event.kind == "session_start":
            return Verdict(action="context", text=modes.session_summary(  # providers: from env too
                mode, self.routing.profile(runtime), len(runtime.providers), host_models(event.host)))
        if event.kind in ("stop", "session_end"):
            await self._record_turn(runtime, event, session)
            return Verdict(clear_pending=True)
        if event.kind == "pre_tool":
            return modes.on_pre_tool(mode, event, self.pending.get(session), now)
        if mode == "off" or event.kind not in ("prompt", "before_model"):
            return modes.NOTHING
        if event.kind == "prompt" and mode == "zero_claude":
            return await self._zero_claude(runtime, event, session)
        rec = await self._recommend_once(runtime, event, session)
        if rec is not None:
            _remember(self.last_decision, session, rec.decision_id)
        if event.kind == "before_model":  # a fallback switches nothing: it knows no better model
            return Verdict(action="switch", model=rec.host_model) if rec and not rec.fallback else modes.NOTHING
        return modes.on_prompt(mode, event, rec, now)

    async def _recommend_once(self, runtime: Runtime, event: HookEvent, session: str) -> Recommendation | None:
        """One decision per prompt: Gemini CLI's BeforeModel fires for every model call of a turn."""
        key = str(hash(event.prompt))
        seen = self.recent.get(session)
        if seen is not None and seen[0] == key:
            return seen[1]
        rec = await self._recommend(runtime, event)
        if rec is not None and not rec.fallback:  # the same prompt again gets the brain's answer
            _remember(self.recent, session, (key, rec))
        return rec

    async def _recommend(self, runtime: Runtime, event: HookEvent) -> Recommendation | None:
        """The routing core's recommendation, or the fallback when the classifier is still loading
        after ``HOOK_BRAIN_WAIT_S`` (a failed load is the core's to say: ``BrainUnavailable``)."""
        brain = self.routing.brain
        if not (event.prompt or "").strip() or await brain.loaded_within(HOOK_BRAIN_WAIT_S) \
                or brain.state != "loading":
            return await recommend(self.routing, runtime, event)
        hit = runtime.rules.evaluate(event.prompt or "") if runtime.rules.rules else None
        rec = fallback(event.host, self.ids.new(), STILL_LOADING, hit)
        rows.record_decision(self.store, fallback_row(rec, event, self.routing.profile(runtime),
                                                      runtime.config.state.store_prompts))
        self.counts["fallbacks"] += 1
        log.info("hook %s: %s, answered with the fallback decision %s", event.name, STILL_LOADING, rec.decision_id)
        return rec

    async def _zero_claude(self, runtime: Runtime, event: HookEvent, session: str) -> Verdict:
        if modes.wants_claude(event.prompt):
            return modes.NOTHING
        rec = await self._recommend_once(runtime, event, session)
        if rec is None:
            return modes.NOTHING
        try:
            answer = await self.asker.ask(runtime, event.prompt or "")
        except RouterdError as exc:
            return modes.zero_claude_blocked(exc.message)
        return Verdict(action="answer", text=f"{answer.text}\n\n(answered by {answer.model} through "
                       "routerd zero_claude; start a prompt with `claude:` to ask Claude)")

    def _apply(self, event: HookEvent, verdict: Verdict) -> None:
        session = _session(event)
        if verdict.clear_pending:
            self.pending.pop(session, None)
        if verdict.pending is not None:
            _remember(self.pending, session, verdict.pending)
        counts = self.counts
        counts["context"] += verdict.action == "context"
        counts["blocked"] += verdict.action in ("block", "answer")
        counts["denied"] += verdict.action == "deny"
        counts["violations"] += verdict.violation
        counts["honored"] += verdict.honored

    async def _record_turn(self, runtime: Runtime, event: HookEvent, session: str) -> None:
        """Stop / SessionEnd: each message of the recent turns becomes a ``calls`` row (once), linked
        to the session's last decision; the ledger drops those the gateway already recorded."""
        if not event.transcript_path:
            return
        try:
            tail = await anyio.to_thread.run_sync(transcript.read_tail, event.transcript_path)
        except OSError as exc:
            log.warning("cannot read the %s transcript: %s", event.host, exc.strerror)
            return
        seen = self.counted.get(session) or set()
        recent = _READERS.get(event.host, transcript.recent_messages)(tail)
        fresh = [m for m in recent if m.id not in seen]
        if fresh and event.host == "gemini-cli":
            fresh = await self._not_seen_by_gateway(fresh)
        if not fresh:
            return
        _remember(self.counted, session, seen | {m.id for m in fresh})
        self.counts["turns_recorded"] += turns.record_messages(
            self.ledger, self.store, self.ids, runtime, host=event.host,
            provider=_HOST_PROVIDER.get(event.host, event.host), session_id=event.session_id,
            decision_id=self.last_decision.get(session), messages=fresh, main=turns.main_model(recent))

    async def _not_seen_by_gateway(self, messages: list[transcript.MessageUsage]) -> list[transcript.MessageUsage]:
        """Gemini CLI's calls the gateway did not record. Gemini CLI sends no session id (the
        ledger's triggers match a hook's row to the gateway's by session) and its session file
        has no answer id, so a call is taken as the gateway's when a sessionless gateway row has
        its token counts within ``GATEWAY_MATCH_S`` of it, each row matching one call."""
        await self.store.flush()  # the gateway's rows of this turn, enqueued as its streams ended
        stamps = [m.ts for m in messages if m.ts is not None]
        if not stamps:
            return messages
        low, high = min(stamps) - GATEWAY_MATCH_S, max(stamps) + GATEWAY_MATCH_S
        seen = await self.store.read(lambda conn: sessionless_gateway_tokens(conn, low, high))
        return unmatched(messages, seen)


def unmatched(messages: list[transcript.MessageUsage],
              rows: list[tuple[float, int, int]]) -> list[transcript.MessageUsage]:
    """The messages no row ``(ts, input, output)`` accounts for: each row takes the nearest message
    in time with its token counts, within ``GATEWAY_MATCH_S``."""
    left = list(messages)
    for ts, inp, out in sorted(rows):
        near = [m for m in left if m.ts is not None and abs(m.ts - ts) <= GATEWAY_MATCH_S
                and (m.tokens.input, m.tokens.output) == (inp, out)]
        if near:
            left.remove(min(near, key=lambda m: abs((m.ts or 0.0) - ts)))
    return left


def _asks_brain(mode: str, event: HookEvent) -> bool:
    """Whether answering ``event`` in ``mode`` needs the classifier (``_decide``'s paths to it)."""
    if mode == "off" or event.kind not in ("prompt", "before_model") or not (event.prompt or "").strip():
        return False
    return not (mode == "zero_claude" and event.kind == "prompt" and modes.wants_claude(event.prompt))


def _session(event: HookEvent) -> str:
    return f"{event.host}:{event.session_id or ''}"
