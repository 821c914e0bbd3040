"""Answering a prompt through a routed external model: the MCP ``ask`` tool and zero_claude mode.

The gateway owns dispatch (candidates, fallback, retries, usage and cost records); this module only
builds a canonical chat request and reads the answer's text. Without a gateway dispatch or without
any provider, it raises ``NoRoute`` with a message that says what to configure.
"""

import msgspec

from routerd.errors import NoRoute


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    model: str
    provider: str = ""
    decision_id: str | None = None


async def ask_external(app, prompt: str, *, decision_id: str | None = None,
                       model: str | None = None, task_type: str | None = None,
                       complexity: str | None = None, max_tokens: int = 2048) -> Answer:
    """Send ``prompt`` to the model the router picks (or ``model``) and return its text."""
    try:
        from routerd.gateway.dispatch import ask_text  # the gateway's entry for a one-shot prompt
    except ImportError:
        raise NoRoute("no external model is reachable: this routerd has no gateway dispatch") from None
    result = await ask_text(app, prompt, model=model, task_type=task_type, complexity=complexity,
                            decision_id=decision_id, max_tokens=max_tokens)
    return Answer(text=result.text, model=result.model, provider=result.provider,
                  decision_id=result.decision_id)
