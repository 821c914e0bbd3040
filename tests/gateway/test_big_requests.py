"""Big requests through the gateway: read in worker threads, routed by the brain like small ones,
and refused for their size (not for a missing provider) when no model's window holds them."""

import threading

import openai
import pytest

from routerd.classify.classifier import classify, classify_turns
from routerd.classify.text import MAX_MESSAGES, to_turn
from routerd.routing import core, scenario
from routerd.routing.types import THREAD_PARSE_BYTES, THREAD_PARSE_MESSAGES, Conversation
from tests.support import connect

pytestmark = pytest.mark.anyio


@pytest.fixture
def threads(monkeypatch):
    """Which thread each per-message step of a decision ran in: True for the event loop's."""
    seen: dict[str, list[bool]] = {"prepare": [], "detect": [], "classify": []}

    def on(name, real):
        def wrapper(*args, **kwargs):
            seen[name].append(threading.current_thread() is threading.main_thread())
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(Conversation, "prepare", on("prepare", Conversation.prepare))
    monkeypatch.setattr(scenario, "detect", on("detect", scenario.detect))
    monkeypatch.setattr(core, "classify_turns", on("classify", core.classify_turns))
    return seen


async def test_a_big_request_is_read_off_the_event_loop_and_routed_whole(daemon, fakes, base_url, threads):
    """Many messages past THREAD_PARSE_BYTES: parsed, detected and classified in worker threads,
    then routed; the upstream gets every message. A small request is read on the loop."""
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"step {i} done"}
                for i in range(THREAD_PARSE_BYTES // 30)]
    messages.append({"role": "user", "content": "now rename the helper and update its callers"})
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        big = await client.chat.completions.with_raw_response.create(model="auto", messages=messages)
        assert threads == {"prepare": [False], "detect": [False], "classify": [False]}
        small = await client.chat.completions.with_raw_response.create(model="auto", messages=messages[-1:])
    assert threads == {"prepare": [False], "detect": [False, True], "classify": [False, True]}
    assert big.headers["x-routerd-decision-id"] and small.headers["x-routerd-decision-id"]
    sent = [r.json for f in fakes.values() for r in f.received if r.method == "POST"]  # in any dialect
    assert sorted(len(body.get("messages") or body["contents"]) for body in sent) == [1, len(messages)]


async def test_many_messages_given_as_such_are_read_off_the_event_loop(daemon, threads):
    """``route`` over the socket with more than THREAD_PARSE_MESSAGES messages: read in worker
    threads too, and decided on the last ask."""
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": "ok"}
                for i in range(THREAD_PARSE_MESSAGES)]
    messages.append({"role": "user", "content": "translate 'good morning' to Spanish"})
    async with connect(daemon.socket_path) as client:
        reply = await client.call({"type": "route", "messages": messages})
        assert threads == {"prepare": [False], "detect": [False], "classify": [False]}
        await client.call({"type": "route", "messages": messages[-1:]})
    assert threads == {"prepare": [False], "detect": [False, True], "classify": [False, True]}
    assert reply["type"] == "decision" and reply["tier"] == "simple"


async def test_an_agent_s_ask_is_found_however_many_steps_back(daemon):
    """The daemon's brain reads every turn (the daemon flattens every message anyway): an ask more
    than MAX_MESSAGES messages back still decides an agent step, where `classify` on the messages
    alone reads the last MAX_MESSAGES and finds no ask."""
    messages = [{"role": "user", "content": "prove that the scheduler never starves a task under any interleaving"}]
    for step in range(MAX_MESSAGES):
        messages.append({"role": "assistant", "content": [{"type": "tool_use", "id": f"t{step}", "name": "bash",
                                                           "input": {}}]})
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{step}",
                                                      "content": f"step {step}: ok"}]})
    whole = classify_turns([to_turn(m) for m in messages], explain=False)
    assert whole.score != classify(messages, explain=False).score
    async with connect(daemon.socket_path) as client:
        reply = await client.call({"type": "route", "messages": messages})
    assert reply["score"] == whole.score and reply["tier"] == whole.tier


async def test_a_prompt_no_window_holds_is_refused_for_its_size(daemon, fakes, base_url):
    """Far past every catalogue window, an automatic request is refused as too long (400, the
    client's dialect), not as if no provider could serve it; nothing reaches a provider."""
    huge = "the payment worker retries the charge and then times out " * 400_000
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as refused:
            await client.chat.completions.create(model="auto", messages=[{"role": "user", "content": huge}])
    assert "prompt is too long" in refused.value.message and refused.value.code == "context_length_exceeded"
    assert not [r for f in fakes.values() for r in f.received if r.method == "POST"]
