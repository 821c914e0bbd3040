"""Routing requests: ``classify``, ``route``, ``reroute``, ``rate`` and ``set_profile``.

The brain itself is pure (``routerd.classify``, ``routerd.policy``, ``routerd.rules``,
``routerd.feedback``); this module feeds it the daemon's state and persists what it decides.
``RoutingState`` (one per app, ``app.parts["routing"]``) holds the catalogue and rules built from
the current runtime, the active profile (persisted in ``settings``), the feedback table (loaded
from the store on first use, then updated on each reroute or rating) and the model each session
last used. ``decide_route`` is the one entry point for every front: the socket's ``route``, the
hooks, and the HTTP gateway's ``auto``.

A second opinion is asked when ``routing.classifier_model`` is set and the classifier's certainty
(the probability that its tier is exactly right) is below ``routing.classifier_threshold``: the
model is called through the gateway, time-boxed by ``routing.classifier_timeout_s``, and its answer
cached in ``classification_cache`` so it survives restarts. Any failure keeps the classifier's answer.
"""

import contextvars
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import anyio.to_thread
import msgspec

from routerd.catalogue.builtin import load_catalogue
from routerd.catalogue.models import Catalogue
from routerd.classify import opinion
from routerd.classify.classifier import classify
from routerd.classify.cues import CueSet, default_cues
from routerd.classify.model import Model, default_model
from routerd.classify.text import Turn, to_turn
from routerd.classify.types import TIERS, Classification, certainty
from routerd.errors import BadRequest, NotFound, RouterdError
from routerd.feedback import FeedbackRow, FeedbackTable, signature, signature_key, wanted_tier_of_rating
from routerd.policy import PROFILES, Decision, Needs, PolicyInput, Sticky, decide
from routerd.protocol import (Classify, ClassificationReply, Data, DecisionReply, Message, ModelVerdict, Rate,
                              Reroute, Route, SetProfile)
from routerd.rules import RuleSet

log = logging.getLogger("routerd.routing")
PROFILE_KEY = "routing.profile"
MAX_SESSIONS = 10_000
# Characters per token when estimating a prompt's size for the context-window filter.
CHARS_PER_TOKEN = 4
RATINGS = ("good", "bad")

# Set while the classifier model is being asked: if that call is routed through the brain again
# (the gateway's downshift), its own classification must not ask for a second opinion in turn.
_ASKING_CLASSIFIER: contextvars.ContextVar[bool] = contextvars.ContextVar("asking_classifier", default=False)

# (app, model, prompt) -> the model's reply text. Replaceable so that a front can supply its own.
AskModel = Callable[[Any, str, str], Awaitable[str]]


class RoutingStats(msgspec.Struct, frozen=True):
    profile: str
    decisions: int
    classified: int
    second_opinions: int
    second_opinion_fallbacks: int
    cache_hits: int
    feedback_signatures: int
    feedback_rows: int
    sticky_sessions: int
    catalogue_models: int


class RoutingState:
    """The brain's daemon-side state. One per app; only the event loop touches it."""

    def __init__(self, ask_model: AskModel | None = None) -> None:
        self.profile_override: str | None = None
        self.feedback = FeedbackTable()
        self.sticky: OrderedDict[str, Sticky] = OrderedDict()
        self.ask_model: AskModel = ask_model or ask_through_gateway
        self.loaded = False
        self.load_lock = anyio.Lock()
        self.counts = {"decisions": 0, "classified": 0, "second_opinions": 0, "second_opinion_fallbacks": 0,
                       "cache_hits": 0}
        self._built_for: object = None
        self.brain: tuple[Model, CueSet] | None = None  # the shipped model and cue files, read off the loop
        self.catalogue: Catalogue = Catalogue.of(())
        self.rules = RuleSet()
        self._profile = "balanced"

    async def refresh(self, runtime) -> None:
        """Rebuild the catalogue and rules when the runtime (config) changed (file read off the loop)."""
        if self.brain is None:
            self.brain = await anyio.to_thread.run_sync(lambda: (default_model(), default_cues()))
        if runtime is self._built_for:
            return
        routing = runtime.config.routing
        catalogue = await anyio.to_thread.run_sync(load_catalogue, routing.models)
        self.catalogue, self.rules = catalogue, RuleSet.build(routing.rules)
        self._built_for = runtime
        self._profile = self.profile_override or routing.profile

    def profile(self, runtime) -> str:
        return self.profile_override or runtime.config.routing.profile

    def remember_session(self, session_id: str, sticky: Sticky) -> None:
        self.sticky[session_id] = sticky
        self.sticky.move_to_end(session_id)
        while len(self.sticky) > MAX_SESSIONS:
            self.sticky.popitem(last=False)

    def statistics(self) -> RoutingStats:
        fb = self.feedback.statistics()
        return RoutingStats(profile=self._profile, decisions=self.counts["decisions"],
                            classified=self.counts["classified"],
                            second_opinions=self.counts["second_opinions"],
                            second_opinion_fallbacks=self.counts["second_opinion_fallbacks"],
                            cache_hits=self.counts["cache_hits"], feedback_signatures=fb["signatures"],
                            feedback_rows=fb["rows"], sticky_sessions=len(self.sticky),
                            catalogue_models=len(self.catalogue.models))


async def routing_state(app) -> RoutingState:
    """The app's RoutingState: created on first use, loaded once from the store (profile, feedback)."""
    state = app.parts.get("routing")
    if state is None:
        state = app.parts["routing"] = RoutingState()
    await state.refresh(app.runtime)
    if not state.loaded:
        async with state.load_lock:
            if not state.loaded:
                await _load(app, state)
                state.loaded = True
    state._profile = state.profile(app.runtime)
    return state


_FEEDBACK_SQL = (
    "SELECT f.kind, f.value, d.tier, d.detail, f.decision_id FROM feedback f "
    "JOIN decisions d ON d.id = f.decision_id ORDER BY f.ts"
)


async def _load(app, state: RoutingState) -> None:
    def read(conn):
        profile = conn.execute("SELECT value FROM settings WHERE key = ?", (PROFILE_KEY,)).fetchone()
        return profile, conn.execute(_FEEDBACK_SQL).fetchall()

    profile, rows = await app.store.read(read)
    if profile and profile[0] in PROFILES:
        state.profile_override = profile[0]
    for kind, value, decided, detail, decision_id in rows:
        row = _feedback_row(state.catalogue, kind, value, decided, detail, decision_id)
        if row is not None:
            state.feedback.apply(row)
    log.info("routing: profile %s, %d feedback row(s) loaded", state.profile(app.runtime), len(rows))


def _feedback_row(catalogue: Catalogue, kind: str, value: str, decided: str | None, detail: str | None,
                  decision_id: str) -> FeedbackRow | None:
    try:
        sig = json.loads(detail or "{}").get("signature") or ""
    except ValueError:
        return None
    if not sig or decided not in TIERS:
        return None
    if kind == "reroute":
        wanted = _tier_of_target(catalogue, value)
    elif kind == "rate" and value in RATINGS:
        wanted = wanted_tier_of_rating(decided, value)  # type: ignore[arg-type]
    else:
        return None
    if wanted is None:
        return None
    return FeedbackRow(decision_id=decision_id, signature=sig, decided_tier=decided,  # type: ignore[arg-type]
                       wanted_tier=wanted, kind=kind)


def _tier_of_target(catalogue: Catalogue, target: str) -> str | None:
    if target in TIERS:
        return target
    model = catalogue.get(target)
    return model.tier if model is not None else None


# --- requests ------------------------------------------------------------------------------------


def _messages(prompt: str | None, messages: list[Message] | None) -> list[Message]:
    if messages:
        return messages
    if prompt is not None and prompt.strip():
        return [Message(role="user", content=prompt)]
    raise BadRequest("give a prompt or messages to classify")


async def handle_classify(app, request: Classify) -> ClassificationReply:
    state = await routing_state(app)
    result = await classify_messages(app, state, _messages(request.prompt, request.messages), request.tools)
    return ClassificationReply(tier=result.tier, task_type=result.task_type, confidence=result.confidence,
                               signals=list(result.signals), level5=result.level5, score=result.score,
                               source=result.source, p_simple=result.p_simple, p_moderate=result.p_moderate)


async def handle_route(app, request: Route) -> DecisionReply:
    return await decide_route(app, messages=_messages(request.prompt, request.messages), tools=request.tools,
                              model=request.model, session_id=request.session_id, source=request.source,
                              explain=request.explain)


async def handle_reroute(app, request: Reroute) -> Data:
    state = await routing_state(app)
    target = request.to.strip()
    wanted = _tier_of_target(state.catalogue, target)
    if wanted is None:
        raise BadRequest(f"--to {target!r} is neither a tier ({', '.join(TIERS)}) nor a known model")
    return await _record_feedback(app, state, request.decision_id, "reroute", target, request.reason)


async def handle_rate(app, request: Rate) -> Data:
    rating = request.rating.strip().lower()
    if rating not in RATINGS:
        raise BadRequest(f"rating must be one of {', '.join(RATINGS)}, not {request.rating!r}")
    state = await routing_state(app)
    return await _record_feedback(app, state, request.decision_id, "rate", rating, request.reason)


async def handle_set_profile(app, request: SetProfile) -> Data:
    """Switch the active profile at once and persist it; an empty profile only reports it."""
    state = await routing_state(app)
    profile = request.profile.strip()
    if profile:
        if profile not in PROFILES:
            raise BadRequest(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
        state.profile_override = state._profile = profile
        app.store.record("settings", {"key": PROFILE_KEY, "value": profile, "ts": time.time()})
        await app.store.flush()
    return Data(kind="profile", data={"profile": state.profile(app.runtime),
                                      "config_profile": app.runtime.config.routing.profile,
                                      "profiles": list(PROFILES)})


async def _record_feedback(app, state: RoutingState, decision_id: str, kind: str, value: str,
                           reason: str) -> Data:
    # A decision may still be queued for the writer (feedback right after a route): flush first.
    await app.store.flush()
    row = await app.store.read(lambda conn: conn.execute(
        "SELECT tier, detail FROM decisions WHERE id = ?", (decision_id,)).fetchone())
    if row is None:
        raise NotFound(f"no decision {decision_id!r}")
    decided, detail = row
    app.store.record("feedback", {"id": app.new_id(), "decision_id": decision_id, "ts": time.time(),
                                  "kind": kind, "value": value, "reason": reason})
    learned = _feedback_row(state.catalogue, kind, value, decided, detail, decision_id)
    if learned is not None:
        state.feedback.apply(learned)
    await app.store.flush()
    return Data(kind="feedback", data={
        "decision_id": decision_id, "kind": kind, "value": value, "decided_tier": decided,
        "wanted_tier": learned.wanted_tier if learned else None,
        "message": (f"similar prompts will route to {learned.wanted_tier}" if learned
                    else "recorded (the decision has no prompt signature to learn from)"),
    })


# --- the brain, fed with the daemon's state ------------------------------------------------------


async def classify_messages(app, state: RoutingState, messages: Sequence[Any],
                            tools: Sequence[Any] | None) -> Classification:
    """The classifier's answer, or the classifier model's when the classifier is unsure."""
    state.counts["classified"] += 1
    model, cues = state.brain or (default_model(), default_cues())
    result = classify(messages, tools, model=model, cues=cues)
    routing = app.runtime.config.routing
    if (routing.classifier_model and certainty(result) < routing.classifier_threshold
            and not _ASKING_CLASSIFIER.get()):
        return await _second_opinion(app, state, list(messages), result)
    return result


async def _second_opinion(app, state: RoutingState, messages: list, learned: Classification) -> Classification:
    routing = app.runtime.config.routing
    model = routing.classifier_model or ""
    key = opinion.cache_key(messages, model, routing.classifier_threshold)
    cached = await app.store.read(lambda conn: conn.execute(
        "SELECT result FROM classification_cache WHERE key = ?", (key,)).fetchone())
    if cached is not None:
        try:
            result = msgspec.json.decode(cached[0], type=Classification)
        except (msgspec.DecodeError, msgspec.ValidationError):
            result = None
        if result is not None:
            state.counts["cache_hits"] += 1
            return msgspec.structs.replace(result, source="cache")
    state.counts["second_opinions"] += 1
    reply: str | None = None
    token = _ASKING_CLASSIFIER.set(True)
    try:
        with anyio.move_on_after(routing.classifier_timeout_s):
            try:
                reply = await state.ask_model(app, model, opinion.build_prompt(messages))
            except RouterdError as exc:
                log.info("second opinion from %s failed, keeping the classifier's answer: %s", model, exc.message)
    finally:
        _ASKING_CLASSIFIER.reset(token)
    result = opinion.parse_reply(reply, learned) if reply is not None else None
    if result is None:
        state.counts["second_opinion_fallbacks"] += 1
        return learned
    app.store.record("classification_cache", {"key": key, "ts": time.time(),
                                              "result": msgspec.json.encode(result).decode()})
    return result


async def ask_through_gateway(app, model: str, prompt: str) -> str:
    """Ask ``model`` (``provider/model``) through the gateway's providers, pools and breakers."""
    from routerd.integrations.ask import ask_external

    answer = await ask_external(app, prompt, model=model, max_tokens=16)
    return answer.text


def _providers(app, catalogue: Catalogue) -> tuple[frozenset[str], frozenset[str]]:
    """The catalogue's providers that configured providers speak for (by kind, not only by name),
    and those with none available now."""
    from routerd.gateway.plan import brain_providers

    gateway = app.parts.get("gateway")
    if gateway is None:
        return frozenset(), frozenset()
    makers = frozenset(m.provider for m in catalogue.models)
    return brain_providers(gateway.providers, gateway.breakers, makers, time.monotonic())


def _needs(turns: Sequence[Turn], tools: Sequence[Any] | None) -> Needs:
    chars = sum(len(t.text) for t in turns)
    return Needs(tools=bool(tools), vision=any(t.images for t in turns), estimated_tokens=chars // CHARS_PER_TOKEN)


def _last_user_text(turns: Sequence[Turn]) -> str:
    for turn in reversed(turns):
        if turn.role == "user" and turn.text.strip():
            return turn.text
    return ""


async def decide_route(app, *, messages: Sequence[Any], tools: Sequence[Any] | None = None,
                       model: str | None = None, session_id: str | None = None, source: str = "socket",
                       explain: bool = False) -> DecisionReply:
    """Classify, apply rules and feedback, rank the catalogue, store the decision; reply with it."""
    state = await routing_state(app)
    runtime = app.runtime
    routing = runtime.config.routing
    if model == "auto":
        model = None
    result = await classify_messages(app, state, messages, tools)
    turns = [to_turn(m) for m in messages]
    text = _last_user_text(turns)
    words = signature(text)
    enabled, broken = _providers(app, state.catalogue)
    sticky = state.sticky.get(session_id) if session_id and routing.sticky_sessions else None
    decision = decide(PolicyInput(
        classification=result, catalogue=state.catalogue, enabled_providers=enabled,
        profile=state.profile(runtime), open_breakers=broken, sticky=sticky, explicit_model=model,
        rule=state.rules.evaluate(text) if state.rules.rules else None, needs=_needs(turns, tools),
        quality_floor=routing.quality_floor, feedback=state.feedback.hint_for(words), explain=explain,
    ))
    first = state.catalogue.get(decision.candidates[0]) if decision.candidates else None
    if first is not None and session_id:
        state.remember_session(session_id, Sticky(model=first.key, tier=first.tier))
    decision_id = app.new_id()
    state.counts["decisions"] += 1
    _store_decision(app, decision_id, decision, result, text, words, source, session_id, first)
    return _reply(decision_id, decision, result, first, explain)


def _store_decision(app, decision_id: str, decision: Decision, result: Classification, text: str,
                    words: frozenset[str], source: str, session_id: str | None, first) -> None:
    detail = {"signature": signature_key(words), "candidates": decision.candidates[:5],
              "advisory": decision.advisory, "reasons": decision.reasons, "signals": result.signals,
              "classification_source": result.source, "score": result.score,
              "p_simple": decision.p_simple, "p_moderate": decision.p_moderate, "bar": decision.bar}
    app.store.record("decisions", {
        "id": decision_id, "ts": time.time(), "source": source, "session_id": session_id,
        "prompt_hash": hashlib.sha256(text.encode()).hexdigest(), "prompt_len": len(text),
        "prompt": text if app.runtime.config.state.store_prompts else None,
        "tier": decision.tier, "task_type": decision.task_type, "confidence": decision.confidence,
        "profile": decision.profile, "model": first.id if first else decision.advisory,
        "provider": first.provider if first else None, "detail": msgspec.json.encode(detail).decode(),
    })


def _reply(decision_id: str, decision: Decision, result: Classification, first, explain: bool) -> DecisionReply:
    verdicts = [ModelVerdict(model=v.model, tier=v.tier, kept=v.kept, rank=v.rank, reasons=list(v.reasons))
                for v in decision.verdicts] if explain else []
    summary = decision.reasons[-1] if decision.reasons else ""
    return DecisionReply(
        decision_id=decision_id, tier=decision.tier, task_type=decision.task_type,
        confidence=decision.confidence, model=first.id if first else decision.advisory,
        provider=first.provider if first else None, advisory=decision.advisory,
        candidates=list(decision.candidates), profile=decision.profile, reason=summary,
        reasons=list(decision.reasons), signals=list(result.signals),
        classification_source=result.source, verdicts=verdicts, score=result.score,
        p_simple=decision.p_simple, p_moderate=decision.p_moderate, bar=decision.bar,
    )
