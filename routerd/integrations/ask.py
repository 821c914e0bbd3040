"""Answering a prompt through a routed external model: the MCP ``ask`` tool and zero_claude mode.

The gateway owns dispatch (plan, candidates, fallback, retries, the ``calls`` rows with usage and
cost); this module builds one OpenAI-chat request, runs it through the gateway's ``open_call`` like
any proxied request, and reads the answer's text. Without a provider it raises ``NoRoute`` saying
what to configure; a failed dispatch raises the upstream error with its message.
"""

import time

import msgspec

from routerd.errors import NoRoute, UpstreamBadResponse, UpstreamError

MAX_PROMPT_CHARS = 200_000


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    model: str
    provider: str = ""
    decision_id: str | None = None


class _Choice(msgspec.Struct):
    message: dict


class _Completion(msgspec.Struct):
    choices: list[_Choice]
    model: str = ""


async def ask_external(app, prompt: str, *, decision_id: str | None = None,
                       model: str | None = None, task_type: str | None = None,
                       complexity: str | None = None, max_tokens: int = 2048) -> Answer:
    """Send ``prompt`` to the model the router picks (or ``model``) and return its text.
    ``task_type``/``complexity`` are hints carried in the request's metadata for the decision."""
    from routerd.gateway.dispatch import ProxyRequest, open_call
    from routerd.gateway.plan import decide

    gateway = app.parts.get("gateway")
    if gateway is None:
        raise NoRoute("no external model is reachable: routerd's gateway is not running")
    gateway = await gateway.current()
    if not gateway.providers:
        raise NoRoute("no external model is configured: add a [providers.NAME] section or set "
                      "OPENAI_API_KEY / GEMINI_API_KEY / OLLAMA_BASE_URL")
    wanted = model or "auto"
    body = msgspec.json.encode({"model": wanted, "max_tokens": max_tokens, "stream": False,
                                "messages": [{"role": "user", "content": prompt[:MAX_PROMPT_CHARS]}]})
    summary = {"session_id": None, "task_type": task_type, "complexity": complexity,
               "hook_decision_id": decision_id}
    plan = await decide(app, gateway.providers, app.runtime.config.gateway, "openai_chat", wanted, summary,
                        body)
    request = ProxyRequest("openai_chat", b"", b"", {b"content-type": b"application/json"}, body,
                           wanted, False, time.perf_counter())
    async with open_call(gateway, request, plan) as reply:
        status, data, candidate = reply.status, reply.body, reply.candidate
    if status >= 400:
        raise UpstreamError(f"the routed model failed (HTTP {status}): {data[:300].decode(errors='replace')}")
    try:
        completion = msgspec.json.decode(data, type=_Completion)
        text = completion.choices[0].message.get("content") or ""
    except (msgspec.DecodeError, msgspec.ValidationError, IndexError) as exc:
        raise UpstreamBadResponse(f"the routed model's answer is not a chat completion: {exc}") from None
    return Answer(text=text, model=candidate.model if candidate else completion.model,
                  provider=candidate.provider if candidate else "", decision_id=plan.decision_id)
