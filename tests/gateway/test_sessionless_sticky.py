"""A conversation sent with no session header (a plain SDK user, Gemini CLI) keeps its model from
turn to turn, known by its opening (dialect, system prompt, first user turn), as a session does:
a later turn that reads as a cheaper tier stays where the provider's prompt cache is warm, and its
own signals still escalate it. The official ``openai`` and ``google-genai`` clients send it, to the
Anthropic fake only (haiku, sonnet, opus: a cache on sonnet is worth more than haiku saves)."""

import json

import anyio
import openai
import pytest
from google import genai
from google.genai import types as gtypes

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.gateway_config("", providers=("anthropic",)),
    # openai's AsyncStream breaks out of its SSE generator at [DONE] without closing it; trio warns
    # when such a generator is collected (the SDK's, not the gateway's).
    pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning"),
]

# Over 1,024 tokens of system prompt: a context long enough for providers to cache.
SYSTEM = "You are a senior engineer. Answer precisely.\n" + "\n".join(
    f"- Guideline {i}: keep functions small, name things for what they do, and test the edge cases you find."
    for i in range(60))
MODERATE_ASK = "Explain how Python's GIL affects a thread pool doing HTTP requests."  # sonnet
EASY_ASK = "What is 2 + 2?"  # haiku
HARD_ASK = ("Find the data race in the lock-free ring buffer's compare-and-swap loop under the weak memory "
            "model, prove the fix linearizable and keep the wait-free progress guarantee")  # opus
THANKS = "thanks!"  # simple alone


def client(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0)


def opening(ask: str, system: str = SYSTEM) -> list[dict]:
    return [{"role": "system", "content": system}, {"role": "user", "content": ask}]


def then(messages: list[dict], words: str) -> list[dict]:
    """``messages`` answered, and the user's next words."""
    return [*messages, {"role": "assistant", "content": "Here is what I found."}, {"role": "user", "content": words}]


async def ask(oai: openai.AsyncOpenAI, messages: list[dict]) -> tuple[str, str]:
    """Send the conversation so far on ``auto``: (the model routerd picked, its decision id)."""
    raw = await oai.chat.completions.with_raw_response.create(model="auto", messages=messages)
    return raw.headers["x-routerd-model"], raw.headers["x-routerd-decision-id"]


async def reasons(app, decision_id: str) -> list[str]:
    """The decision's stored reasons (its stored session: none, as the client named none)."""
    await app.store.flush()
    row = await app.store.read(lambda conn: conn.execute("SELECT detail, session_id FROM decisions WHERE id = ?",
                                                         (decision_id,)).fetchone())
    assert row[1] is None
    return json.loads(row[0])["reasons"]


async def test_an_sdk_conversation_keeps_its_model(daemon, fakes, base_url):
    """The user's thanks after a moderate ask stays on the ask's model (its cache is worth more than
    the cheaper tier saves) and the decision says it kept the conversation's model by its opening;
    the same words in a conversation of another opening go to the cheaper model. Status counts both
    conversations apart from sessions."""
    async with client(base_url) as oai:
        model, _ = await ask(oai, opening(MODERATE_ASK))
        kept, kept_id = await ask(oai, then(opening(MODERATE_ASK), THANKS))
        alone, _ = await ask(oai, then(opening(MODERATE_ASK, SYSTEM + "\nBe brief."), THANKS))
    assert (model, kept, alone) == ("claude-sonnet-4-6", "claude-sonnet-4-6", "claude-haiku-4-5")
    said = await reasons(daemon, kept_id)
    assert any(r.startswith("no session id: conversation") and "kept its model anthropic/claude-sonnet-4-6" in r
               for r in said), said
    assert any(r.startswith("sticky model anthropic/claude-sonnet-4-6 kept") for r in said), said
    stats = daemon.routing.statistics()
    assert (stats.sticky_conversations, stats.sticky_sessions) == (2, 0)  # as routerctl status shows them


async def test_escalation_wins_over_the_conversations_model(daemon, fakes, base_url):
    """An easy opening's model is left when a later turn's own signals need a higher tier."""
    async with client(base_url) as oai:
        easy, _ = await ask(oai, opening(EASY_ASK))
        hard, hard_id = await ask(oai, then(opening(EASY_ASK), HARD_ASK))
    assert (easy, hard) == ("claude-haiku-4-5", "claude-opus-4-8")
    said = await reasons(daemon, hard_id)
    assert any("the conversation escalated past simple" in r for r in said), said
    assert any(r.startswith("no session id") and "not kept" in r for r in said), said


async def test_a_one_turn_request_is_decided_afresh(daemon, fakes, base_url):
    """The same opening sent again as a new conversation (no assistant turn) reads no kept model:
    a repeated one-shot question is classified on its own each time."""
    async with client(base_url) as oai:
        await ask(oai, opening(MODERATE_ASK))
        _, again = await ask(oai, opening(MODERATE_ASK))
    assert not [r for r in await reasons(daemon, again) if "sticky" in r or "no session id" in r]


async def test_a_gemini_sdk_chat_keeps_its_model(daemon, fakes, base_url):
    """google-genai's chat (the whole history on each call, no session id) keeps the ask's model
    for the user's thanks, as OpenAI's does. (The sync client, in a worker thread: ``client.aio``
    is bound to asyncio.)"""
    def converse() -> list[str]:
        options = gtypes.HttpOptions(base_url=base_url, api_version="v1beta",
                                     retry_options=gtypes.HttpRetryOptions(attempts=1))
        with genai.Client(api_key="unused", http_options=options) as gem:
            chat = gem.chats.create(model="auto", config=gtypes.GenerateContentConfig(system_instruction=SYSTEM))
            answers = [chat.send_message(MODERATE_ASK), chat.send_message(THANKS)]
        return [a.sdk_http_response.headers["x-routerd-model"] for a in answers if a.sdk_http_response]

    assert await anyio.to_thread.run_sync(converse) == ["claude-sonnet-4-6", "claude-sonnet-4-6"]
