"""The heuristic classifier: conversation context, pastes, traps, languages, tools, images."""

import json
from pathlib import Path

import msgspec
import pytest

from routerd.classify import lexicon
from routerd.classify.heuristic import classify
from routerd.classify.text import paste_is_code, split_ask
from routerd.classify.types import LEVELS5, TIERS, Classification
from routerd.protocol import Message

DEV = Path(__file__).resolve().parents[3] / "shared" / "eval" / "dev.jsonl"


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


def test_definition_question_is_simple_query():
    """A textbook definition is a simple query."""
    c = classify([user("what does idempotent mean for an HTTP method")])
    assert (c.tier, c.task_type) == ("simple", "query")


def test_short_hard_question_is_not_simple():
    """A one-line ask in a domain where cheap models fail silently is never simple."""
    c = classify([user("design a distributed consensus algorithm")])
    assert c.tier != "simple"
    assert any(s.startswith("domain:distributed") for s in c.signals)


def test_hard_design_with_constraints_is_complex():
    """Design across several hard constraints reaches the top tier."""
    c = classify([user(
        "we're sharding by user_id across 8 Postgres nodes. checkout touches the cart, inventory rows by sku and "
        "a global promo counter. will checkout need cross-shard transactions, and how do we keep it correct "
        "without 2PC during flash sales?")])
    assert c.tier == "complex"


def test_long_pasted_log_with_trivial_ask_is_simple():
    """A big build log with 'what's the error here' is a simple lookup, not complex work."""
    log = "\n".join(f"#{i} [build {i}/40] RUN pip install package-{i}==1.{i}" for i in range(120))
    c = classify([user("CI is red, whats the error here\n\n" + log + "\nERROR: No space left on device")])
    assert c.tier == "simple"


def test_summarising_a_long_document_is_moderate():
    """Digesting a long pasted document grows with it: summarising 3 KB is middle-tier work."""
    doc = "\n\n".join(
        f"Section {i}. The platform team proposes consolidating logs from service {i} into one pipeline, "
        "with retention, sampling and cost controls agreed with each owning team before rollout." for i in range(14))
    c = classify([user("summarize this for our execs in 5 bullets\n\n" + doc)])
    assert (c.tier, c.task_type) == ("moderate", "generate")


def test_code_fence_is_paste_not_ask():
    """Words inside a code fence do not count as the ask; code is told apart from a log."""
    split = split_ask("what's the big-O of this?\n\n```python\ndef f(xs):\n    for x in xs:\n"
                      "        if x:\n            return x\n```")
    assert split.ask == "what's the big-O of this?"
    assert split.fenced_blocks == 1 and split.paste_chars > 0 and paste_is_code(split)
    log = split_ask("whats the error here\n\n" + "\n".join(f"#{i} RUN pip install pkg{i}" for i in range(30)))
    assert log.ask == "whats the error here" and log.paste_chars > 0 and not paste_is_code(log)


def test_yes_takes_its_meaning_from_the_offer():
    """A bare 'yes' accepts the assistant's offer: the work offered sets the tier and type."""
    convo = [
        user("our order service deadlocks under load every few days"),
        assistant(
            "From the thread dump, InventoryReserver holds stockLock and then takes cacheLock, while "
            "PricingCache.refresh holds cacheLock and takes stockLock. Fix plan:\n1. Make refresh build the new "
            "snapshot without holding cacheLock.\n2. Establish a global lock order stockLock -> cacheLock.\n"
            "3. Readers use a versioned snapshot instead of stockLock.\n4. Add a lock-order assertion in debug "
            "builds and a soak test replaying production traffic. Shall I implement it?"),
        user("yes, go ahead"),
    ]
    c = classify(convo)
    assert c.task_type == "code"
    assert c.tier == "complex"
    assert "continuation:affirm" in c.signals


def test_thanks_after_an_answer_is_simple_chat():
    """Thanks in any language closes the thread: simple chat."""
    for thanks in ("thanks, that worked!", "danke, hat geklappt!", "👍"):
        c = classify([user("how do I amend the last commit message?"), assistant("git commit --amend"), user(thanks)])
        assert (c.tier, c.task_type) == ("simple", "chat"), thanks


def test_follow_up_inherits_the_thread():
    """A short follow-up ('and --squash?') is as hard as the thread it continues."""
    c = classify([user("what does `git merge --no-ff` do?"), assistant("It forces a merge commit."),
                  user("and `--squash`?")])
    assert (c.tier, c.task_type) == ("simple", "query")
    assert "continuation:follow_up" in c.signals


def test_scope_escalation_in_follow_up_is_complex():
    """'Now apply that across all 11 services in three languages' escalates past the pilot."""
    c = classify([user("we need structured logging with trace ids across our services"),
                  assistant("Plan for the orders service (pilot): structlog JSON output, trace ids injected."),
                  user("ok now apply that plan across all the services, there are 11 more, three are Go and one "
                       "is the legacy Java billing thing")])
    assert (c.tier, c.task_type) == ("complex", "code")


@pytest.mark.parametrize("prompt", [
    "quelle est la différence entre TCP et UDP ?",
    "¿qué significa el error ECONNREFUSED en Node?",
    "Docker 镜像的“层”是什么意思？",
])
def test_non_english_definition_questions_are_simple(prompt):
    """Basic questions in French, Spanish and Chinese are simple queries, not chat."""
    c = classify([user(prompt)])
    assert (c.tier, c.task_type) == ("simple", "query")


def test_non_english_code_with_tests_is_moderate():
    """A German request for a class with tests is middle-tier code."""
    c = classify([user("Schreib mir eine Python-Klasse für einen Ringpuffer mit fester Kapazität und pytest-Tests.")])
    assert (c.tier, c.task_type) == ("moderate", "code")


def test_agentic_ask_with_tools_is_tools():
    """A request that carries tool definitions and asks for action is task type `tools`."""
    tools = [{"name": "read_file", "description": "Read a file", "input_schema": {"type": "object"}}]
    c = classify([user("fix the failing test in tests/test_api.py")], tools=tools)
    assert c.task_type == "tools"
    q = classify([user("what does ACID stand for")], tools=tools)
    assert q.task_type == "query"


def test_tool_result_turn_is_tools():
    """A turn that only returns tool output continues the agent loop."""
    c = classify([
        user("refactor the payment module to use the new client"),
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "read_file", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": ""}]},
    ])
    assert c.task_type == "tools"
    assert "tool_result_turn" in c.signals


def test_images_are_read_and_signalled():
    """Image parts add a signal; the text part is still classified."""
    c = classify([{"role": "user", "content": [
        {"type": "text", "text": "what is in this screenshot?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
    ]}])
    assert "images=1" in c.signals


def test_protocol_structs_are_accepted():
    """Messages may be the wire protocol's Structs as well as dicts."""
    assert classify([Message(role="user", content="regex for US zip codes")]).task_type == "code"


def test_classification_is_frozen_and_well_formed():
    """Output is a frozen Struct with a known tier, a level5 band and a confidence in [0.5, 0.95]."""
    c = classify([user("implement Dijkstra in Rust with path reconstruction")])
    assert isinstance(c, Classification)
    assert c.tier in TIERS and c.level5 in LEVELS5
    assert 0.5 <= c.confidence <= 0.95
    with pytest.raises(AttributeError):
        c.tier = "complex"  # type: ignore[misc]
    assert msgspec.json.decode(msgspec.json.encode(c), type=Classification) == c


def test_classify_is_pure():
    """Same input, same output; the input is not modified."""
    convo = [user("write a haiku about merge conflicts")]
    before = json.dumps(convo)
    assert classify(convo) == classify(convo)
    assert json.dumps(convo) == before


def test_confidence_is_lower_near_a_cut_point():
    """Confidence grows with the distance of the score from the nearest tier boundary."""
    clear = classify([user("what is a deadlock")])
    borderline = classify([user("implement debounce and throttle in TypeScript with generics and a cancel method")])
    assert clear.confidence > borderline.confidence


def test_empty_conversation_is_chat():
    """No messages at all is treated as chat, not an error."""
    assert classify([]).task_type == "chat"


def test_every_cue_is_normalised():
    """Every module-level cue has its phrases indexed (an unindexed cue would never match a phrase)."""
    cues = [v for v in vars(lexicon).values() if isinstance(v, lexicon.Cue)] + list(lexicon.DOMAINS)
    for cue in cues:
        indexed = len(cue.ungated) + len(cue.ungated_non_ascii) + sum(len(v) for v in cue.gated.values())
        assert indexed == len(cue.phrases), cue.name


@pytest.mark.skipif(not DEV.exists(), reason="shared/eval/dev.jsonl not beside the repo")
def test_dev_set_targets():
    """On the labelled dev set: tier accuracy >= 85%, complex->simple <= 3%, task type >= 80%."""
    rows = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
    got = [classify(r["messages"]) for r in rows]
    tier_ok = sum(g.tier == r["tier"] for g, r in zip(got, rows)) / len(rows)
    complex_rows = [(g, r) for g, r in zip(got, rows) if r["tier"] == "complex"]
    under = sum(g.tier == "simple" for g, _ in complex_rows) / len(complex_rows)
    typed = [(g, r) for g, r in zip(got, rows) if r.get("task_type")]
    type_ok = sum(g.task_type == r["task_type"] for g, r in typed) / len(typed)
    assert tier_ok >= 0.85 and under <= 0.03 and type_ok >= 0.80, (tier_ok, under, type_ok)


def test_second_opinion_prompt_and_reply_parsing():
    """The classifier model sees the ask (not the paste); its two-word answer becomes the classification."""
    from routerd.classify import opinion

    messages = [user("why is this slow?\n\n```python\n" + "x = 1\n" * 500 + "```")]
    prompt = opinion.build_prompt(messages)
    assert "why is this slow?" in prompt and "characters of pasted code" in prompt and "x = 1" not in prompt
    heuristic = classify(messages)
    got = opinion.parse_reply("Complex analyze.", heuristic)
    assert (got.tier, got.task_type, got.source) == ("complex", "analyze", "model")
    assert "second_opinion" in got.signals
    assert opinion.parse_reply("I cannot tell", heuristic) is None


def test_second_opinion_cache_key_normalises_and_covers_settings():
    """Whitespace and case do not change the cache key; the model or threshold do."""
    from routerd.classify import opinion

    a = opinion.cache_key([user("Fix  the Tests")], "ollama/q", 0.6)
    assert a == opinion.cache_key([user("fix the tests ")], "ollama/q", 0.6)
    assert a != opinion.cache_key([user("fix the tests")], "ollama/other", 0.6)
    assert a != opinion.cache_key([user("fix the tests")], "ollama/q", 0.7)


def test_five_levels_follow_the_score():
    """The optional five-level output orders the same way as the score."""
    prompts = ["thanks!", "what is a mutex", "write a Python function that parses ISO 8601 durations with tests",
               "implement Raft leader election and log replication in Go with partition tests"]
    levels = [LEVELS5.index(classify([user(p)]).level5) for p in prompts]
    assert levels == sorted(levels) and levels[0] <= 1 and levels[-1] >= 3


def test_bare_ok_accepts_only_an_offer():
    """'ok' after a finished answer is chat; 'ok' after 'Shall I implement it?' accepts the plan."""
    done = [user("rename getUser to fetchUser in the api module"), assistant("Done: renamed in 3 files.")]
    assert classify([*done, user("ok")]).task_type == "chat"
    offer = [user("our payment webhooks are processed twice during Redis failover; make the pipeline idempotent"),
             assistant("Plan:\n1. Idempotency keys with a unique index.\n2. An outbox table.\n3. Consumer dedup.\n"
                       "4. A chaos test that kills the Redis primary mid-delivery.\nShall I implement it?")]
    accepted = classify([*offer, user("ok")])
    assert (accepted.tier, accepted.task_type) == ("complex", "code")
