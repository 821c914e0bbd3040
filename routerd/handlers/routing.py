"""Routing requests: ``classify``, ``route``, ``reroute``, ``rate`` and ``set_profile``, each handed
to the routing core with the runtime the request started with."""

from routerd.app import App
from routerd.errors import BadRequest
from routerd.protocol.replies import ClassificationReply, DecisionReply, FeedbackReply, ProfileReply
from routerd.protocol.requests import Classify, Message, Rate, Reroute, Route, SetProfile
from routerd.routing.replies import classification_reply, decision_reply
from routerd.routing.types import Conversation, RouteRequest
from routerd.scenarios.names import check_requested


def _conversation(prompt: str | None, messages: list[Message] | None, tools: list[object] | None) -> Conversation:
    if messages:
        return Conversation(messages, tools)
    if prompt is not None and prompt.strip():
        return Conversation([Message(role="user", content=prompt)], tools)
    raise BadRequest("give a prompt or messages to classify")


async def handle_classify(app: App, request: Classify) -> ClassificationReply:
    conversation = _conversation(request.prompt, request.messages, request.tools)
    return classification_reply(await app.routing.classify(app.runtime, conversation))


async def handle_route(app: App, request: Route) -> DecisionReply:
    if request.model:  # held to what the gateway takes: no whitespace, no line breaks
        check_requested(request.model)
    conversation = _conversation(request.prompt, request.messages, request.tools)
    decision = await app.routing.decide(app.runtime, RouteRequest(
        conversation, model=request.model, session_id=request.session_id, source=request.source,
        explain=request.explain))
    return decision_reply(decision, request.explain)


async def handle_reroute(app: App, request: Reroute) -> FeedbackReply:
    result = await app.routing.reroute(app.runtime, request.decision_id, request.to, request.reason)
    return FeedbackReply(kind="feedback", data=result)


async def handle_rate(app: App, request: Rate) -> FeedbackReply:
    result = await app.routing.rate(app.runtime, request.decision_id, request.rating, request.reason)
    return FeedbackReply(kind="feedback", data=result)


async def handle_set_profile(app: App, request: SetProfile) -> ProfileReply:
    """Switch the active profile at once and persist it; an empty profile only reports it."""
    return ProfileReply(kind="profile", data=await app.routing.set_profile(app.runtime, request.profile))
