"""The routing core: the one place a decision is made, and the routing state it is made from.

``decide`` classifies the conversation (``routerd.classify``, with a second opinion when unsure),
applies the user's rules and the feedback on similar prompts, ranks the catalogue
(``routerd.policy``), maps the ranking onto the configured providers, and stores the decision with
an id. Every front reaches routing through it: the socket's ``route``, the hooks, MCP, and the HTTP
gateway. Feedback (``reroute``, ``rate``) and the profile are recorded here too.

The state it owns: the profile the user switched to (persisted in ``settings``), the feedback
table (loaded from the store at start, then updated on each reroute or rating), the model each
session last used (and each sessionless conversation, known by its opening: ``opening``), and
counters for ``routerctl status``. Everything derived from the config (the catalogue, the rules,
the providers) arrives in the ``Runtime`` each call is made with, so a reload never changes a
decision in flight. Only the event loop touches it.

The classifier and the policy are reached through ``_classify`` and ``_rank``: the seam where a
rebuilt brain slots in. The steps beside the decision live in their own modules: the scenario step
(``scenario``), the hosted-tools step (``hosted_step``), the rows a decision is stored as
(``records``), and reroutes and ratings checked, stored and learned (``feedback``).
"""

import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import anyio.to_thread
import msgspec

from routerd.classify.classifier import classify_turns
from routerd.classify.types import TIERS, Classification, Tier, enough, tier_for
from routerd.errors import BadRequest, NoRoute, UnknownModel
from routerd.feedback import FeedbackTable, signature
from routerd.ids import Ids
from routerd.policy import PROFILES, Decision, Needs, PolicyInput, Profile, RuleHit, Sticky, bar_for, decide
from routerd.protocol.replies import FeedbackResult, ProfileState
from routerd.resilience.board import Resilience
from routerd.routing import candidates as cands
from routerd.routing import feedback, hosted_step, opinion, records
from routerd.routing.brain import Brain
from routerd.routing.opening import opening_of, said_kept
from routerd.routing.scenario import Found, Scenarios, by_price, conversation_key
from routerd.routing.types import BrainDecision, Candidate, Classified, Conversation, RouteDecision, RouteRequest
from routerd.runtime import Runtime
from routerd.scenarios.names import AutoNames, parse_model_name
from routerd.store import routing as rows
from routerd.store.store import Store

log = logging.getLogger("routerd.routing")
PROFILE_KEY = "routing.profile"
MAX_SESSIONS = 10_000
# Sessionless conversations are remembered apart, so that a flood of one-shot SDK calls (each one
# starts a conversation) never pushes a coding agent's session out of its table.
MAX_CONVERSATIONS = 10_000
# The budgets' pressure (0..1) for a request of a session: ``routerd.ledger.spending``, injected.
Pressure = Callable[[Runtime, str | None], float]


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
    sticky_conversations: int = 0


class RoutingCore:
    def __init__(self, store: Store, resilience: Resilience, ids: Ids,
                 ask_model: opinion.AskModel | None = None, pressure: Pressure | None = None,
                 brain: Brain | None = None) -> None:
        self.store = store
        self.resilience = resilience
        self.pressure = pressure
        self.ids = ids
        self.ask_model = ask_model
        self.profile_override: Profile | None = None
        self.feedback = FeedbackTable()
        self.sticky: OrderedDict[str, Sticky] = OrderedDict()
        self.conversations: OrderedDict[str, Sticky] = OrderedDict()  # sessionless, by their opening
        self.decisions = self.classified = 0
        self.opinions = opinion.OpinionCounts()
        self.brain = brain or Brain()  # the classifier's files, loaded by whoever owns the brain
        self._runtime: Runtime | None = None  # the latest one seen, for statistics
        self.scenarios = Scenarios()

    async def load(self, runtime: Runtime) -> None:
        """Read the persisted profile and the feedback rows (at start, before serving; the
        classifier's files load while the daemon serves: ``Brain.load``)."""
        profile, stored = await self.store.read(lambda conn: rows.startup_state(conn, PROFILE_KEY))
        if profile in PROFILES:
            self.profile_override = profile
        for row in stored:
            learned = feedback.learned(runtime.catalogue, row.kind, row.value, row.decided_tier, row.detail,
                                       row.decision_id)
            if learned is not None:
                self.feedback.apply(learned)
        self._runtime = runtime
        log.info("routing: profile %s, %d feedback row(s) loaded", self.profile(runtime), len(stored))

    def profile(self, runtime: Runtime) -> Profile:
        return self.profile_override or runtime.config.routing.profile

    # --- classification ------------------------------------------------------------------------

    async def classify(self, runtime: Runtime, conversation: Conversation) -> Classified:
        """``classify`` (socket, MCP): the classification with the features that moved the score,
        its tier the cheapest whose probability clears the active profile's bar under the budget
        pressure, as ``decide`` picks it before rules, feedback, the session and the quality floor
        (the classifier's own tier is at the balanced bar, whatever the profile)."""
        result = await self._classify(runtime, conversation, explain=True)
        profile = self.profile(runtime)
        pressure = self.pressure(runtime, None) if self.pressure is not None else 0.0
        bar = bar_for(profile, pressure)
        tier = tier_for(result.p_simple, result.p_moderate, bar)
        confidence = round(enough(result.p_simple, result.p_moderate, tier), 3)
        return Classified(msgspec.structs.replace(result, tier=tier, confidence=confidence), profile,
                          round(bar, 4), pressure)

    async def _classify(self, runtime: Runtime, conversation: Conversation, *, explain: bool) -> Classification:
        """The classifier's answer, or the classifier model's when the classifier is unsure (the
        seam where the brain plugs in: conversation in, calibrated classification out). Only with
        ``explain`` do the signals name the top features and the explanation say them in words:
        ranking them costs about a fifth of a classification, and a routed request that did not
        ask to explain never shows them."""
        model, cues, glossary = await self.brain.ready()
        self.classified += 1
        self._runtime = runtime
        read = functools.partial(classify_turns, conversation.turns, conversation.tools, model=model, cues=cues,
                                 explain=explain, glossary=glossary)
        result = await anyio.to_thread.run_sync(read) if conversation.big else read()
        if opinion.wanted(runtime.config.routing, result):
            result = await opinion.second_opinion(self.store, self.ask_model, runtime,
                                                  list(conversation.messages), result, self.opinions)
        return result

    # --- decisions -----------------------------------------------------------------------------

    async def decide(self, runtime: Runtime, request: RouteRequest) -> RouteDecision:
        """Decide ``request`` and store the decision. Raises ``UnknownModel`` for a model nothing
        serves and ``NoRoute`` when ``auto`` has nothing to try."""
        if request.conversation.big:
            await anyio.to_thread.run_sync(request.conversation.prepare)
        if request.dialect is None:
            return await self._advise(runtime, request)
        # A client-only decoration (Claude Code's ``[1m]``) never reaches a provider, and routerd's
        # auto names (``claude-routerd-auto``, ...) mean ``auto``; ``requested`` keeps the client's name.
        requested = request.model or "auto"
        model = parse_model_name(requested).name
        scenarios = runtime.config.routing.scenarios
        auto = AutoNames(scenarios.anthropic_names, scenarios.openai_names).is_auto(model)
        found = await self.scenarios.detect(runtime, request, model, auto)
        decision = None
        if found is not None and found.route is not None:
            decision = await self._scenario_route(runtime, request, requested, found)
        elif auto or runtime.config.gateway.downshift:
            decision = await self._brain_route(runtime, request, requested, model, auto, found)
        decision = decision or self._requested(runtime, request, requested, model, auto, found)
        return hosted_step.with_hosted(runtime, request, self._fitted(runtime, decision, found), found,
                                       self.scenarios, self.store)

    async def _brain_route(self, runtime: Runtime, request: RouteRequest, requested: str, model: str, auto: bool,
                           found: Found | None) -> RouteDecision | None:
        """The brain's pick on the configured providers (for a named model under downshift, the
        named model behind it), or None when it knows none of their models."""
        providers, gateway, dialect = runtime.providers, runtime.config.gateway, request.dialect or ""
        brain_id, brain = await self._brain(runtime, request, None, found)
        chosen, baseline = cands.on_providers(brain.policy.candidates, providers, runtime.catalogue, dialect)
        if not auto:  # downshift: the brain's picks below the requested model first, that model behind them
            named = cands.resolve(model, providers, gateway, dialect, self._expand)
            chosen = cands.downshifted(runtime.catalogue, chosen, named)
            baseline = named[0] if named else baseline
        if not chosen:
            return None
        chain = cands.fallback_chain(chosen, providers, gateway, dialect, self._expand, model)
        if not auto and brain.first is not None and (brain.first.id, brain.first.provider) != \
                (chain[0].model, chain[0].provider):  # the stored target is where the request goes
            rows.set_decision_target(self.store, brain_id, chain[0].model, chain[0].provider)
        return RouteDecision(brain_id, requested, tuple(chain), baseline, "brain", brain, auto=auto)

    async def _scenario_route(self, runtime: Runtime, request: RouteRequest, requested: str,
                              found: Found) -> RouteDecision:
        """The route the request's scenario takes, step by step: a model or alias on the providers
        that serve it, a tier as the brain ranks it with that tier forced."""
        assert found.route is not None
        chain: list[Candidate] = []
        brain_id, brain, baseline, dialect = None, None, None, request.dialect or ""
        for step in found.route.steps:
            if step in TIERS:
                step_id, step_brain = await self._brain(runtime, request, None, found, tier=step)
                got, priciest = cands.on_providers(step_brain.policy.candidates, runtime.providers,
                                                   runtime.catalogue, dialect)
                brain_id, brain, baseline = brain_id or step_id, brain or step_brain, baseline or priciest
            else:
                got = self.scenarios.resolve_step(step, runtime, dialect, self._expand)
            chain += [c for c in got if c not in chain]
        if not chain:
            raise NoRoute(f"scenario {found.detection.scenario}: no configured provider serves its route "
                          f"({', '.join(found.route.steps)}; {found.route.reason})")
        if brain_id is None:
            brain_id = records.record_plain(self.store, self.ids, request, chain, [found.route.reason], found)
        return RouteDecision(brain_id, requested, tuple(chain), baseline or chain[0], "scenario", brain, auto=True)

    def _fitted(self, runtime: Runtime, decision: RouteDecision, found: Found | None) -> RouteDecision:
        """``decision`` with its scenario, and without a candidate whose window the request exceeds."""
        if found is None:
            return decision
        chain, notes = self.scenarios.fit(runtime, found, decision.candidates, decision.auto,
                                          lambda: by_price(runtime))
        if decision.candidates and chain[0] != decision.candidates[0]:
            rows.set_decision_target(self.store, decision.decision_id, chain[0].model, chain[0].provider)
        return msgspec.structs.replace(decision, candidates=tuple(chain), scenario=found.detection.scenario,
                                       scenario_reasons=(*found.reasons(), *notes))

    async def _advise(self, runtime: Runtime, request: RouteRequest) -> RouteDecision:
        """Advice (``route``, hooks, MCP): the brain decides, with the scenario's tier forced or its
        model preferred when the scenario has a route."""
        found = await self.scenarios.detect(runtime, request, request.model or "auto", True)
        route = found.route if found is not None else None
        tier = route.steps[0] if route is not None and route.steps[0] in TIERS else None
        prefer = route.steps[0] if route is not None and tier is None else request.model
        brain_id, brain = await self._brain(runtime, request, prefer, found, tier=tier)
        return RouteDecision(brain_id, request.model or "auto", (), None, "brain", brain,
                             scenario=found.detection.scenario if found else None,
                             scenario_reasons=found.reasons() if found else ())

    def _requested(self, runtime: Runtime, request: RouteRequest, requested: str, model: str,
                   auto: bool, found: Found | None) -> RouteDecision:
        """The decision for a model the client named (or ``auto`` when the brain knows none of the
        configured providers' models)."""
        providers, gateway, dialect = runtime.providers, runtime.config.gateway, request.dialect or ""
        named = cands.named_models(providers, dialect) if auto else \
            cands.resolve(model, providers, gateway, dialect, self._expand)
        chain = cands.fallback_chain(named, providers, gateway, dialect, self._expand, model)
        if not chain and not auto:
            raise UnknownModel(f"model {model!r} is not served here; ask for one of: "
                               f"{', '.join(cands.served_models(providers, gateway))}")
        if not chain:
            if found is not None:  # the brain found nothing: because no window holds the request?
                self.scenarios.refuse_if_nothing_holds(runtime, found, by_price(runtime))
            raise cands.nothing_to_try(providers, self.resilience.unavailable_for, time.time())
        reason = ("auto: no catalogue model on the configured providers; each provider's first named model"
                  if auto else "requested by the client")
        decision_id = records.record_plain(self.store, self.ids, request, chain, [reason], found)
        return RouteDecision(decision_id, requested, tuple(chain), chain[0], "requested", auto=auto)

    async def _brain(self, runtime: Runtime, request: RouteRequest, model: str | None, found: Found | None = None,
                     tier: Tier | None = None) -> tuple[str, BrainDecision]:
        """Classify and rank (``model``: a preference the policy honours when usable; ``tier``: the
        scenario route's, forced like a rule's); store it."""
        conversation, routing = request.conversation, runtime.config.routing
        result = await self._classify(runtime, conversation, explain=request.explain)
        text = conversation.last_user_text()
        words = signature(text)
        session = request.session_id
        keep, reads = _sticky_key(request, found) if routing.sticky_sessions else (None, False)
        table = self.sticky if session is not None else self.conversations
        sticky = table.get(keep) if keep and reads else None
        now = time.time()
        enabled, broken = cands.brain_providers(runtime.providers, self.resilience.unavailable_for,
                                                runtime.makers, now)
        out = cands.why_out(runtime.providers, runtime.catalogue, self.resilience.refusal, broken,
                            self.resilience.models_out(now), request.dialect, now)
        decision = self._rank_around(runtime, broken, PolicyInput(
            classification=result, catalogue=runtime.catalogue, enabled_providers=enabled,
            profile=self.profile(runtime), open_breakers=broken | frozenset(out), out_reasons=out, sticky=sticky,
            budget_pressure=self.pressure(runtime, session) if self.pressure is not None else 0.0,
            explicit_model=None if model == "auto" else model,
            rule=(RuleHit(name=f"scenario {found.detection.scenario if found else ''}", tier=tier) if tier
                  else runtime.rules.evaluate(text) if runtime.rules.rules else None),
            needs=_needs(request, found), quality_floor=routing.quality_floor,
            feedback=self.feedback.hint_for(words), explain=request.explain,
        ))
        first = runtime.catalogue.get(decision.candidates[0]) if decision.candidates else None
        if first is not None and keep:
            _remember(table, keep, Sticky(model=first.key, tier=first.tier),
                      MAX_SESSIONS if table is self.sticky else MAX_CONVERSATIONS)
        if sticky is not None and session is None:
            decision = said_kept(decision, keep, sticky, first)
        decision_id = self.ids.new()
        self.decisions += 1
        records.record_brain(self.store, decision_id, decision, result, text, words, request, first, found,
                             runtime.config.state.store_prompts)
        return decision_id, BrainDecision(result, decision, first)

    def _expand(self, name: str, resolve: Callable[[str], list[Candidate]],
                endpoints: Callable[[Candidate], Sequence[str]]) -> list[Candidate] | None:
        """An alias's candidates in its balancer's order now, each read on the ``endpoints`` the
        request may reach it on (None: ``name`` is no alias)."""
        return self.resilience.expand(name, resolve, time.time(), endpoints)

    def _rank_around(self, runtime: Runtime, broken: frozenset[str], inp: PolicyInput) -> Decision:
        """The ranking with what admission would refuse passed over. When that leaves no model a
        provider serves while only single models are out (each rate limited, say), they are ranked
        as if they were not: dispatch then refuses them and tells the client when to come back,
        where an empty ranking would send ``auto`` to whatever model a provider names."""
        decision = self._rank(inp)
        if inp.open_breakers == broken or cands.on_providers(decision.candidates, runtime.providers,
                                                             runtime.catalogue)[0]:
            return decision
        kept = self._rank(msgspec.structs.replace(inp, open_breakers=broken))
        return msgspec.structs.replace(kept, reasons=(
            "every usable model is out now (unavailable); ranked as if not, for the gateway to say when", *kept.reasons))

    def _rank(self, inp: PolicyInput) -> Decision:
        """The policy: the catalogue ranked for this classification and the providers' health."""
        return decide(inp)

    # --- feedback and profile ------------------------------------------------------------------

    async def reroute(self, runtime: Runtime, decision_id: str, to: str, reason: str) -> FeedbackResult:
        target = feedback.reroute_target(runtime.catalogue, to)
        return await feedback.record(self.store, self.ids, self.feedback, runtime.catalogue, decision_id,
                                     "reroute", target, reason)

    async def rate(self, runtime: Runtime, decision_id: str, rating: str, reason: str) -> FeedbackResult:
        value = feedback.rating_value(rating)
        return await feedback.record(self.store, self.ids, self.feedback, runtime.catalogue, decision_id,
                                     "rate", value, reason)

    async def set_profile(self, runtime: Runtime, profile: str) -> ProfileState:
        """Switch the active profile at once and persist it; an empty profile only reports it."""
        profile = profile.strip()
        if profile:
            if profile not in PROFILES:
                raise BadRequest(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
            self.profile_override = profile
            rows.put_setting(self.store, PROFILE_KEY, profile, time.time())
            await self.store.flush()
        return ProfileState(profile=self.profile(runtime), config_profile=runtime.config.routing.profile,
                            profiles=list(PROFILES))

    def statistics(self) -> RoutingStats:
        fb = self.feedback.statistics()
        runtime = self._runtime
        return RoutingStats(
            profile=self.profile(runtime) if runtime is not None else self.profile_override or "balanced",
            decisions=self.decisions, classified=self.classified, second_opinions=self.opinions.asked,
            second_opinion_fallbacks=self.opinions.fallbacks, cache_hits=self.opinions.cache_hits,
            feedback_signatures=fb["signatures"], feedback_rows=fb["rows"], sticky_sessions=len(self.sticky),
            catalogue_models=len(runtime.catalogue.models) if runtime is not None else 0,
            sticky_conversations=len(self.conversations))


def _sticky_key(request: RouteRequest, found: Found | None) -> tuple[str | None, bool]:
    """Whose sticky model and tier a decision sets, and whether it reads them first: the main
    loop's under the session id, a subagent's under the session and its agent id
    (``conversation_key``), so that its agent steps hold its own tier and never touch the main
    loop's. A background call (a prompt or agent hook, a side query) shares the session id but not
    its ask: it is routed alone (None), as is a subagent that names no agent id (Claude Code before
    2.1). What ``routerd.scenarios`` detected decides, whatever scenario won.

    A request that names no session is kept by its conversation's opening (``opening``): its
    dialect, system prompt and first user turn. The conversation's first request (no assistant turn
    yet) sets it without reading it: it continues nothing, and the same opening sent again as a new
    conversation (a script asking the same question, a retry) is decided afresh, not by the last."""
    matched = found.detection.matched if found is not None else ()
    if "background" in matched:
        return None, False
    if request.session_id is None:
        opening = opening_of(request)
        return (opening.key, opening.continues) if opening is not None else (None, False)
    if "subagent" in matched:
        key = conversation_key(request)
        return (key, True) if key != request.session_id else (None, False)
    return request.session_id, True


def _remember(table: OrderedDict[str, Sticky], key: str, sticky: Sticky, most: int) -> None:
    table[key] = sticky
    table.move_to_end(key)
    while len(table) > most:
        table.popitem(last=False)


def _needs(request: RouteRequest, found: Found | None) -> Needs:
    """What a model must have: the request's own needs, with the scenario's token count and images."""
    needs = request.needs or request.conversation.needs()
    if found is None:
        return needs
    return msgspec.structs.replace(needs, vision=needs.vision or found.detection.needs_vision,
                                   estimated_tokens=found.count.tokens())

