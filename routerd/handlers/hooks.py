"""Hook requests from the shims and Claude Code's HTTP hooks: route the prompt, apply the mode, and
answer in the host's format. Also ``hook_mode`` (``routerctl mode``), persisted in ``settings``.

``run_hook`` is what both the socket handler and the HTTP route call. The per-session state (a
route the session was told to take, the last decision) lives in ``HookState``, one per app, shown
by ``routerctl status`` as ``hooks``. Decisions are made and stored by the routing brain.
"""

import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator

import anyio.to_thread
import msgspec

from routerd.errors import BadRequest, RouterdError
from routerd.integrations import modes, transcript
from routerd.integrations.decide import recommend
from routerd.integrations.events import HookEvent, parse_event
from routerd.integrations.modes import Pending, Recommendation, Verdict
from routerd.integrations.render import HookOutcome, render
from routerd.ledger import turns
from routerd.protocol import Data, Hook, HookMode, HookReply

log = logging.getLogger("routerd.hooks")
MODE_KEY = "hooks.mode"
MAX_SESSIONS = 10_000
_HOST_PROVIDER = {"claude-code": "anthropic", "codex": "openai", "gemini-cli": "gemini"}


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


class HookState:
    """Mode override and per-session routing state. One per app; only the event loop touches it."""

    def __init__(self) -> None:
        self.mode_override: str | None = None
        self.loaded = False
        self.pending: OrderedDict[str, Pending] = OrderedDict()
        self.last_decision: OrderedDict[str, str] = OrderedDict()
        self.recent: OrderedDict[str, tuple[str, Recommendation]] = OrderedDict()
        self.counted: OrderedDict[str, set[str]] = OrderedDict()  # message ids already in calls
        self.counts: dict[str, int] = {"calls": 0, "context": 0, "blocked": 0, "denied": 0,
                                       "violations": 0, "honored": 0, "turns_recorded": 0}
        self.by_event: dict[str, int] = {}
        self._mode = "advise"

    def statistics(self) -> HookStats:
        c = self.counts
        return HookStats(mode=self._mode, calls=c["calls"], by_event=dict(self.by_event),
                         context=c["context"], blocked=c["blocked"], denied=c["denied"],
                         violations=c["violations"], honored=c["honored"],
                         pending=len(self.pending), turns_recorded=c["turns_recorded"])

    def remember(self, table: OrderedDict, key: str, value) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > MAX_SESSIONS:
            table.popitem(last=False)


async def hook_state(app) -> HookState:
    """The app's HookState, created and loaded from ``settings`` on first use."""
    state = app.parts.get("hooks")
    if state is None:
        state = app.parts["hooks"] = HookState()
    if not state.loaded:
        row = await app.store.read(lambda conn: conn.execute(
            "SELECT value FROM settings WHERE key = ?", (MODE_KEY,)).fetchone())
        state.mode_override = row[0] if row and row[0] in modes.MODES else state.mode_override
        state.loaded = True
    state._mode = state.mode_override or app.runtime.config.hooks.mode
    return state


async def current_mode(app) -> str:
    state = await hook_state(app)
    return state.mode_override or app.runtime.config.hooks.mode


async def set_mode(app, mode: str) -> str:
    """Persist ``mode`` (overrides config ``hooks.mode`` until set again)."""
    if mode not in modes.MODES:
        raise BadRequest(f"unknown hooks mode {mode!r}; expected one of {', '.join(modes.MODES)}")
    state = await hook_state(app)
    state.mode_override = state._mode = mode
    app.store.record("settings", {"key": MODE_KEY, "value": mode, "ts": time.time()})
    await app.store.flush()
    return mode


async def handle_hook_mode(app, request: HookMode) -> Data:
    mode = await set_mode(app, request.mode) if request.mode else await current_mode(app)
    return Data(kind="hook_mode", data={"mode": mode, "config_mode": app.runtime.config.hooks.mode,
                                        "modes": list(modes.MODES)})


async def handle_hook(app, request: Hook) -> HookReply | AsyncIterator[HookReply]:
    """Answer a shim. A zero_claude answer takes seconds, so the shim first gets a non-final reply
    telling it to wait past its fail-open budget."""
    event = parse_event(request.host, request.event, bytes(request.payload))
    mode = await current_mode(app)
    if mode == "zero_claude" and event.kind == "prompt" and not modes.wants_claude(event.prompt):
        return _held(app, event)
    outcome = await run_event(app, event)
    return HookReply(stdout=outcome.stdout, stderr=outcome.stderr, exit_code=outcome.exit_code)


async def _held(app, event: HookEvent) -> AsyncIterator[HookReply]:
    yield HookReply(final=False)
    outcome = await run_event(app, event)
    yield HookReply(stdout=outcome.stdout, stderr=outcome.stderr, exit_code=outcome.exit_code)


async def run_hook(app, host: str, event: str | None, payload: bytes) -> HookOutcome:
    """The HTTP hook entry: the host's reply JSON for one raw hook payload."""
    return await run_event(app, parse_event(host, event, payload))


async def run_event(app, event: HookEvent) -> HookOutcome:
    state = await hook_state(app)
    mode = state.mode_override or app.runtime.config.hooks.mode
    state.counts["calls"] += 1
    state.by_event[event.name] = state.by_event.get(event.name, 0) + 1
    await turns.note_session(app, event.host, event.session_id, event.cwd)
    verdict = await _decide(app, state, mode, event)
    pending = state.pending.get(f"{event.host}:{event.session_id or ''}")
    if (verdict.violation or verdict.honored) and pending is not None:
        # feedback the router learns from: was the recommended delegation taken or bypassed?
        app.store.record("feedback", {
            "id": app.new_id(), "decision_id": pending.decision_id, "ts": time.time(),
            "kind": "violation" if verdict.violation else "delegated",
            "value": event.tool_name or "", "reason": f"{mode} mode, {event.host}"})
    _apply(state, event, verdict)
    return render(event, verdict)


async def _decide(app, state: HookState, mode: str, event: HookEvent) -> Verdict:
    now = time.time()
    session = f"{event.host}:{event.session_id or ''}"
    if event.kind == "session_start":
        return Verdict(action="context", text=modes.session_summary(
            mode, app.runtime.config.routing.profile, len(app.runtime.config.providers)))
    if event.kind in ("stop", "session_end"):
        await _record_turn(app, state, event, session)
        return Verdict(clear_pending=True)
    if event.kind == "pre_tool":
        return modes.on_pre_tool(mode, event, state.pending.get(session), now)
    if mode == "off" or event.kind not in ("prompt", "before_model"):
        return modes.NOTHING
    if event.kind == "prompt" and mode == "zero_claude":
        return await _zero_claude(app, state, event, session)
    rec = await _recommend_once(app, state, event, session)
    if rec is not None:
        state.remember(state.last_decision, session, rec.decision_id)
    if event.kind == "before_model":
        return Verdict(action="switch", model=rec.host_model) if rec else modes.NOTHING
    return modes.on_prompt(mode, event, rec, now)


async def _recommend_once(app, state: HookState, event: HookEvent, session: str):
    """One decision per prompt: Gemini CLI's BeforeModel fires for every model call of a turn."""
    key = str(hash(event.prompt))
    seen = state.recent.get(session)
    if seen is not None and seen[0] == key:
        return seen[1]
    rec = await recommend(app, event)
    if rec is not None:
        state.remember(state.recent, session, (key, rec))
    return rec


async def _zero_claude(app, state: HookState, event: HookEvent, session: str) -> Verdict:
    if modes.wants_claude(event.prompt):
        return modes.NOTHING
    from routerd.integrations.ask import ask_external

    rec = await _recommend_once(app, state, event, session)
    if rec is None:
        return modes.NOTHING
    try:
        answer = await ask_external(app, event.prompt or "", decision_id=rec.decision_id)
    except RouterdError as exc:
        return modes.zero_claude_blocked(exc.message)
    return Verdict(action="answer", text=f"{answer.text}\n\n(answered by {answer.model} through "
                   "routerd zero_claude; start a prompt with `claude:` to ask Claude)")


def _apply(state: HookState, event: HookEvent, verdict: Verdict) -> None:
    session = f"{event.host}:{event.session_id or ''}"
    if verdict.clear_pending:
        state.pending.pop(session, None)
    if verdict.pending is not None:
        state.remember(state.pending, session, verdict.pending)
    counts = state.counts
    counts["context"] += verdict.action == "context"
    counts["blocked"] += verdict.action in ("block", "answer")
    counts["denied"] += verdict.action == "deny"
    counts["violations"] += verdict.violation
    counts["honored"] += verdict.honored


async def _record_turn(app, state: HookState, event: HookEvent, session: str) -> None:
    """Stop / SessionEnd: each message of the recent turns becomes a ``calls`` row (once), linked
    to the session's last decision; the ledger drops those the gateway already recorded."""
    if not event.transcript_path:
        return
    try:
        tail = await anyio.to_thread.run_sync(transcript.read_tail, event.transcript_path)
    except OSError as exc:
        log.warning("cannot read the %s transcript: %s", event.host, exc.strerror)
        return
    seen = state.counted.get(session) or set()
    recent = transcript.recent_messages(tail)
    fresh = [m for m in recent if m.id not in seen]
    if not fresh:
        return
    state.remember(state.counted, session, seen | {m.id for m in fresh})
    from routerd.handlers.routing import routing_state

    catalogue = (await routing_state(app)).catalogue
    state.counts["turns_recorded"] += turns.record_messages(
        app, catalogue, host=event.host, provider=_HOST_PROVIDER.get(event.host, event.host),
        session_id=event.session_id, decision_id=state.last_decision.get(session), messages=fresh,
        main=turns.main_model(recent))
