"""Answering a prompt through a routed external model: the MCP ``ask`` tool, zero_claude mode and
the routing core's second opinion.

The routing core decides (plan, candidates, the stored decision) and the gateway dispatches
(fallback, retries, the ``calls`` rows with usage and cost); ``Asker`` builds one OpenAI-chat
request, runs it through both like any proxied request, and reads the answer's text. Without a
provider it raises ``NoRoute`` saying what to configure; a failed dispatch raises the upstream
error with its message.
"""

import time

import msgspec

from routerd.dialects.openai_chat.dialect import OPENAI_CHAT
from routerd.errors import NoRoute, UpstreamBadResponse, UpstreamError
from routerd.gateway.dispatch import ProxyRequest, open_call
from routerd.gateway.gateway import Gateway
from routerd.routing.core import RoutingCore
from routerd.routing.types import Conversation, RouteRequest
from routerd.runtime import Runtime

MAX_PROMPT_CHARS = 200_000
# A second opinion is two words; a short answer keeps it fast and cheap.
OPINION_MAX_TOKENS = 16


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    model: str
    provider: str = ""
    decision_id: str | None = None


class _Choice(msgspec.Struct):
    message: dict[str, object]


class _Completion(msgspec.Struct):
    choices: list[_Choice]
    model: str = ""


class Asker:
    def __init__(self, routing: RoutingCore, gateway: Gateway) -> None:
        self.routing = routing
        self.gateway = gateway

    async def ask(self, runtime: Runtime, prompt: str, *, model: str | None = None,
                  max_tokens: int = 2048) -> Answer:
        """Send ``prompt`` to the model the router picks (or ``model``) and return its text."""
        if not runtime.providers:
            raise NoRoute("no external model is configured: add a [providers.NAME] section or set "
                          "OPENAI_API_KEY / GEMINI_API_KEY / OLLAMA_BASE_URL")
        wanted = model or "auto"
        body = msgspec.json.encode({"model": wanted, "max_tokens": max_tokens, "stream": False,
                                    "messages": [{"role": "user", "content": prompt[:MAX_PROMPT_CHARS]}]})
        plan = await self.routing.decide(runtime, RouteRequest(
            Conversation.from_body(OPENAI_CHAT, body), model=wanted, dialect=OPENAI_CHAT.name, source="http"))
        request = ProxyRequest(OPENAI_CHAT.name, b"", b"", {b"content-type": b"application/json"}, body,
                               wanted, False, time.perf_counter())
        async with open_call(self.gateway, runtime, request, plan) as reply:
            status, data, candidate = reply.status, reply.body, reply.candidate
        if status >= 400:
            raise UpstreamError(f"the routed model failed (HTTP {status}): {data[:300].decode(errors='replace')}")
        try:
            completion = msgspec.json.decode(data, type=_Completion)
            text = completion.choices[0].message.get("content") or ""
        except (msgspec.DecodeError, msgspec.ValidationError, IndexError) as exc:
            raise UpstreamBadResponse(f"the routed model's answer is not a chat completion: {exc}") from None
        return Answer(text=str(text), model=candidate.model if candidate else completion.model,
                      provider=candidate.provider if candidate else "", decision_id=plan.decision_id)

    async def ask_text(self, runtime: Runtime, model: str, prompt: str) -> str:
        """The second opinion's question to ``model`` (``provider/model``): its reply text."""
        return (await self.ask(runtime, prompt, model=model, max_tokens=OPINION_MAX_TOKENS)).text
