"""The conversation key of a request that names no session: what every request of one
conversation repeats (dialect, system prompt, first user turn), hashed within a bound."""

import json

from routerd.dialects.registry import get as get_dialect
from routerd.routing.opening import HEAD_CHARS, TAIL_CHARS, Opening, opening_of
from routerd.routing.types import Conversation, RouteRequest

SYSTEM = "You are a terse assistant for a CI pipeline."
ASK = "Why does the nightly build fail on the arm64 runner?"


def chat(*messages: dict, dialect: str = "openai_chat", session: str | None = None) -> Opening | None:
    body = json.dumps({"model": "auto", "messages": list(messages)}).encode()
    return opening_of(RouteRequest(Conversation.from_body(get_dialect(dialect), body), model="auto",
                                   session_id=session, dialect=dialect))


def system(text: str = SYSTEM) -> dict:
    return {"role": "system", "content": text}


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


def test_the_requests_of_one_conversation_share_a_key():
    """A growing conversation keeps its key; only its first request starts it."""
    first = chat(system(), user(ASK))
    later = chat(system(), user(ASK), assistant("The cache key misses the arch."), user("ok, and now?"))
    assert first is not None and later is not None
    assert first.key == later.key and (first.continues, later.continues) == (False, True)


def test_another_system_prompt_or_first_ask_is_another_conversation():
    """The key differs when the system prompt, the first user turn or the dialect differs."""
    key = chat(system(), user(ASK)).key
    assert chat(system("You are a poet."), user(ASK)).key != key
    assert chat(system(), user(ASK + "?")).key != key
    assert chat(user(ASK)).key != key  # no system prompt at all
    body = json.dumps({"model": "auto", "system": SYSTEM, "max_tokens": 10, "messages": [user(ASK)]}).encode()
    anthropic = opening_of(RouteRequest(Conversation.from_body(get_dialect("anthropic"), body),
                                        dialect="anthropic"))
    assert anthropic is not None and anthropic.key != key


def test_a_session_header_leaves_it_to_the_session():
    """A request that names its session has no opening key: the session id keeps its model."""
    assert chat(system(), user(ASK), session="sess-1") is None


def test_nothing_to_key_without_a_user_turn():
    """A body with no user message (or one that does not parse) has no key."""
    assert chat(system()) is None
    assert opening_of(RouteRequest(Conversation.from_body(get_dialect("openai_chat"), b"{not json"),
                                   dialect="openai_chat")) is None


def test_gemini_cli_context_then_the_users_words():
    """Gemini CLI's first user turn opens with a long <session_context> and ends with the user's
    words: the words tell two runs in the same folder apart, the steps after it keep the key."""
    context = "<session_context>\n" + "".join(f"  - src/module_{i}.py\n" for i in range(400)) + "</session_context>"
    assert len(context) > HEAD_CHARS + TAIL_CHARS

    def gemini(words: str, *later: dict) -> Opening | None:
        contents = [{"role": "user", "parts": [{"text": context}, {"text": words}]}, *later]
        body = json.dumps({"systemInstruction": {"parts": [{"text": SYSTEM}]}, "contents": contents}).encode()
        return opening_of(RouteRequest(Conversation.from_body(get_dialect("gemini"), body), dialect="gemini"))

    step = [{"role": "model", "parts": [{"functionCall": {"name": "read_file", "args": {"file_path": "a"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "read_file", "response": {"output": "x"}}}]}]
    first, second = gemini("What is in notes.txt?"), gemini("What is in notes.txt?", *step)
    assert first is not None and second is not None
    assert first.key == second.key and second.continues and not first.continues
    assert gemini("Summarise notes.txt").key != first.key


def test_only_the_ends_of_a_long_text_are_hashed():
    """The work is bounded: of a text longer than the head and tail together, the middle is not
    read (its length still is)."""
    head, tail = "h" * HEAD_CHARS, "t" * TAIL_CHARS
    one = chat(system(head + "a" * 10_000 + tail), user(ASK)).key
    assert chat(system(head + "b" * 10_000 + tail), user(ASK)).key == one
    assert chat(system(head + "a" * 10_001 + tail), user(ASK)).key != one
    assert chat(system("x" + head[1:] + "a" * 10_000 + tail), user(ASK)).key != one


def test_messages_given_as_such_have_a_key_too():
    """Advice (``route --messages``, MCP) keys the conversation on its messages."""
    def advice(*messages: dict) -> Opening | None:
        return opening_of(RouteRequest(Conversation(list(messages))))

    first, later = advice(system(), user(ASK)), advice(system(), user(ASK), assistant("Arch."), user("And?"))
    assert first is not None and later is not None and first.key == later.key and later.continues
    assert first.key != chat(system(), user(ASK)).key  # advice is not the gateway's OpenAI chat
