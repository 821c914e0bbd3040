"""The second opinion: when the classifier is unsure and ``routing.classifier_model`` is set, that
model is asked (through the gateway, time-boxed by ``routing.classifier_timeout_s``) and its answer
cached in the store, so it survives restarts. Any failure keeps the classifier's answer.

The model is reached through an injected ``AskModel`` (the app wires the gateway's), so the routing
core never imports dispatch. A call the gateway routes through the brain again (its downshift)
must not ask for a second opinion in turn: ``ASKING`` is set while the model is asked.
"""

import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import msgspec

from routerd.classify import opinion
from routerd.classify.types import Classification, certainty
from routerd.config import RoutingConfig
from routerd.runtime import Runtime
from routerd.errors import RouterdError
from routerd.store import routing as rows
from routerd.store.store import Store

log = logging.getLogger("routerd.routing")

# (runtime, model as provider/model, prompt) -> the model's reply text.
AskModel = Callable[[Runtime, str, str], Awaitable[str]]

ASKING: contextvars.ContextVar[bool] = contextvars.ContextVar("asking_classifier", default=False)


@dataclass
class OpinionCounts:
    asked: int = 0
    fallbacks: int = 0
    cache_hits: int = 0


def wanted(routing: RoutingConfig, learned: Classification) -> bool:
    """Whether a second opinion is to be asked about ``learned``: its certainty (the probability
    that its tier is exactly right) is below ``routing.classifier_threshold``."""
    return bool(routing.classifier_model) and certainty(learned) < routing.classifier_threshold \
        and not ASKING.get()


async def second_opinion(store: Store, ask: AskModel | None, runtime: Runtime, messages: list[Any],
                         learned: Classification, counts: OpinionCounts) -> Classification:
    """The classifier model's answer (cached), or ``learned`` when it gives none in time."""
    routing = runtime.config.routing
    model = routing.classifier_model or ""
    key = opinion.cache_key(messages, model, routing.classifier_threshold)
    cached = await store.read(lambda conn: rows.cached_classification(conn, key))
    if cached is not None:
        try:
            result = msgspec.json.decode(cached, type=Classification)
        except (msgspec.DecodeError, msgspec.ValidationError):
            result = None
        if result is not None:
            counts.cache_hits += 1
            # The model's verdict is cached; the signals and the explanation are this request's
            # (whether it asked to explain decides if they name the top features).
            return msgspec.structs.replace(result, source="cache", signals=opinion.signals(learned),
                                           explanation=learned.explanation)
    counts.asked += 1
    reply = await _ask(ask, runtime, model, opinion.build_prompt(messages), routing.classifier_timeout_s)
    result = opinion.parse_reply(reply, learned) if reply is not None else None
    if result is None:
        counts.fallbacks += 1
        return learned
    # A cached verdict takes each request's own signals and explanation (above): the cache keeps
    # neither (an explained request's name the prompt's words).
    kept = msgspec.structs.replace(result, signals=(), explanation=())
    rows.put_cached_classification(store, key, msgspec.json.encode(kept).decode(), time.time())
    return result


async def _ask(ask: AskModel | None, runtime: Runtime, model: str, prompt: str, timeout_s: float) -> str | None:
    if ask is None:
        return None
    token = ASKING.set(True)
    try:
        with anyio.move_on_after(timeout_s):
            try:
                return await ask(runtime, model, prompt)
            except RouterdError as exc:
                log.info("second opinion from %s failed, keeping the classifier's answer: %s", model, exc.message)
    finally:
        ASKING.reset(token)
    return None
