"""Coding agents' hook payloads, read into one host-neutral event. Pure: bytes in, a Struct out.

Claude Code and Codex CLI share one schema (``hook_event_name``, ``session_id``, ``prompt``,
``tool_name``/``tool_input``, ``transcript_path``); Gemini CLI names its events differently
(``BeforeAgent`` is the prompt, ``BeforeTool`` the tool call, ``BeforeModel`` carries the outgoing
``llm_request``). Unknown events and fields are kept as ``kind="other"`` so that a newer host never
breaks a hook: the caller answers those with nothing.
"""

from typing import Any, Literal

import msgspec

from routerd.errors import BadRequest

HOSTS = ("claude-code", "codex", "gemini-cli")
EventKind = Literal["session_start", "prompt", "pre_tool", "stop", "session_end", "before_model",
                    "other"]

# Host event name -> kind. Claude Code and Codex share names; Gemini CLI has its own.
_KINDS: dict[str, EventKind] = {
    "SessionStart": "session_start",
    "UserPromptSubmit": "prompt",
    "PreToolUse": "pre_tool",
    "Stop": "stop",
    "SessionEnd": "session_end",
    "BeforeAgent": "prompt",
    "BeforeTool": "pre_tool",
    "AfterAgent": "stop",
    "BeforeModel": "before_model",
}


class HookEvent(msgspec.Struct, frozen=True, kw_only=True):
    """What routerd needs from one hook call, whatever the host."""

    host: str
    name: str
    kind: EventKind
    session_id: str | None = None
    prompt: str | None = None
    tool_name: str | None = None
    tool_input: dict[str, Any] | None = None
    transcript_path: str | None = None
    cwd: str | None = None
    model: str | None = None
    messages: list[dict[str, Any]] | None = None


class _Payload(msgspec.Struct, kw_only=True):
    hook_event_name: str | None = None
    session_id: str | None = None
    prompt: str | None = None
    tool_name: str | None = None
    tool_input: Any = None
    transcript_path: str | None = None
    cwd: str | None = None
    llm_request: Any = None


_DECODER = msgspec.json.Decoder(_Payload)


def parse_event(host: str, event: str | None, payload: bytes) -> HookEvent:
    """Read a host's raw hook JSON. ``event`` (from the hook's command line or URL) wins over the
    payload's ``hook_event_name``. Raises BadRequest for an unknown host or a payload that is not
    a JSON object."""
    if host not in HOSTS:
        raise BadRequest(f"unknown hook host {host!r}; expected one of {', '.join(HOSTS)}")
    try:
        raw = _DECODER.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadRequest(f"hook payload is not a {host} hook object: {exc}") from None
    name = event or raw.hook_event_name or ""
    model, messages = None, None
    if isinstance(raw.llm_request, dict):
        model = raw.llm_request.get("model") if isinstance(raw.llm_request.get("model"), str) else None
        msgs = raw.llm_request.get("messages")
        messages = [m for m in msgs if isinstance(m, dict)] if isinstance(msgs, list) else None
    prompt = raw.prompt
    if prompt is None and messages:
        prompt = last_user_text(messages)
    return HookEvent(
        host=host, name=name, kind=_KINDS.get(name, "other"), session_id=raw.session_id,
        prompt=prompt, tool_name=raw.tool_name,
        tool_input=raw.tool_input if isinstance(raw.tool_input, dict) else None,
        transcript_path=raw.transcript_path, cwd=raw.cwd, model=model, messages=messages,
    )


def last_user_text(messages: list[dict[str, Any]]) -> str | None:
    """The last user message's text in Gemini CLI's stable request format (``content`` a string)."""
    for message in reversed(messages):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return message["content"]
    return None
