"""The learned classifier: conversation reading, pastes, probabilities, languages, tools, images."""

import json

import msgspec
import pytest

from routerd.classify.classifier import classify
from routerd.classify.context import read
from routerd.classify.cues import default_cues
from routerd.classify.paste import paste_is_code, split_ask
from routerd.classify.text import to_turn, without_harness
from routerd.classify.types import LEVELS5, PROFILE_BARS, TASK_TYPES, TIERS, Classification, certainty, enough, tier_for
from routerd.protocol.requests import Message

TOOLS = [{"name": "read_file", "description": "Read a file", "input_schema": {"type": "object"}}]


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


def kind(messages, tools=None):
    return read(messages, tools, default_cues()).kind


def test_definition_question_is_simple_query():
    """A textbook definition is a simple query."""
    c = classify([user("what does idempotent mean for an HTTP method")])
    assert (c.tier, c.task_type) == ("simple", "query")


def test_short_hard_ask_is_not_simple():
    """A one-line ask in a domain where cheap models fail silently is never simple."""
    assert classify([user("design a distributed consensus algorithm")]).tier != "simple"
    assert classify([user("prove that the halting problem is undecidable")]).tier != "simple"


def test_long_pasted_log_with_trivial_ask_is_simple():
    """A big build log with 'what's the error here' is a simple lookup: the paste is not the ask."""
    log = "\n".join(f"#{i} [build {i}/40] RUN pip install package-{i}==1.{i}" for i in range(120))
    c = classify([user("CI is red, whats the error here\n\n" + log + "\nERROR: No space left on device")])
    assert c.tier == "simple"


@pytest.mark.parametrize(("paste", "code"), [
    ("return x\nreturn y\nreturn z", False),  # one mark, however often
    ("let total = 0\nreturn total", True),  # two distinct marks
    ("const a = 1; let b = 2; if (a) { return b }", True),  # more: the search stops at the second
    ("all green, 12 tests passed", False),
])
def test_untagged_code_is_told_by_two_distinct_marks(paste, code):
    """An untagged fence holds code when its head shows two distinct marks of source code."""
    assert paste_is_code(split_ask("what does this do?\n\n```\n" + paste + "\n```")) is code


def test_code_fence_is_paste_not_ask():
    """Words inside a code fence do not count as the ask; code is told apart from a log."""
    split = split_ask("what's the big-O of this?\n\n```python\ndef f(xs):\n    for x in xs:\n"
                      "        if x:\n            return x\n```")
    assert split.ask == "what's the big-O of this?"
    assert split.fenced_blocks == 1 and split.paste_chars > 0 and paste_is_code(split)
    log = split_ask("whats the error here\n\n" + "\n".join(f"#{i} RUN pip install pkg{i}" for i in range(30)))
    assert log.ask == "whats the error here" and log.paste_chars > 0 and not paste_is_code(log)
    features = read([user("explain this\n\n```python\ndef frobnicate(): pass\n```")], None, default_cues()).features
    assert "w:explain" in features and not any("frobnicate" in name for name in features.names())


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
    assert kind(convo) == "go_ahead"
    assert c.tier != "simple" and c.p_simple < classify([user("yes, go ahead")]).p_simple


def test_thanks_after_an_answer_is_simple_chat():
    """Thanks in several languages closes the thread: simple chat."""
    for thanks in ("thanks, that worked!", "danke, das hat geholfen!", "merci, ça marche"):
        convo = [user("how do I amend the last commit message?"), assistant("git commit --amend"), user(thanks)]
        c = classify(convo)
        assert kind(convo) == "ack" and (c.tier, c.task_type) == ("simple", "chat"), thanks


def test_follow_up_is_read_with_the_thread():
    """A short follow-up is read together with the ask it continues: "and the log compaction?" after
    a Raft implementation is as hard as the thread."""
    thread = [user("implement Raft leader election and log replication in Go with a partition test"),
              assistant("Here is the election part: ...")]
    follow = classify([*thread, user("and the log compaction?")])
    assert kind([*thread, user("and the log compaction?")]) == "follow_up"
    assert follow.p_moderate < classify([user("and the log compaction?")]).p_moderate
    assert TIERS.index(follow.tier) >= TIERS.index(classify(thread[:1]).tier) >= 1


def test_tool_result_turn_inherits_the_task():
    """A turn that only returns tool output continues the agent loop at the task's difficulty."""
    def step(task):
        return [user(task),
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "read_file", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x = 1\n" * 50}]}]
    hard = classify(step("migrate the whole codebase from requests to httpx with async clients across all 37 "
                         "services, keeping retries and timeouts identical"), TOOLS)
    easy = classify(step("what python version does pyproject.toml require?"), TOOLS)
    assert hard.task_type == "code" and easy.task_type in TASK_TYPES  # the task's type, not a seventh
    assert "kind:tool_result" in hard.signals
    assert hard.score > easy.score and easy.tier == "simple" and hard.tier != "simple"


def test_an_agent_step_reads_what_its_tool_output_shows():
    """An agent step's tool output is read apart from the task: its size, and its first words as
    `t:` features (at most 60, from the head of the first result and the tail of the last), never as
    words of the ask; a 100 KB output is read no further than its head and tail."""
    def step(output):
        return [user("the refund test is flaky, find out why"),
                {"role": "assistant", "content": None,
                 "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": output}]

    race = ("WARNING: DATA RACE\nWrite at 0x00c000 by goroutine 7:\n  refunds.(*Ledger).Apply()\n"
            + "filler line\n" * 4500 + "middlemost\n" + "filler line\n" * 4500 + "Found 1 data race(s)\nexit status 66")
    features = read(step(race), None, default_cues()).features
    tool_words = {name for name in features.other if name.startswith("t:")}
    assert {"t:warning", "t:race", "t:goroutine", "t:ledger", "t:found", "t:exit", "t:status"} <= tool_words
    assert "t:filler" in tool_words and "t:middlemost" not in tool_words
    assert "tool_chars:5" in features.other and "race" not in features.words and "refund" in features.words
    names = " ".join(a + b + c for a in "abcdef" for b in "ghijkl" for c in "mnopqr")
    listed = [n for n in read(step(names), None, default_cues()).features.other if n.startswith("t:")]
    assert sorted(listed) == sorted("t:" + w for w in names.split()[:60])
    assert not [n for n in read(step("ok"), None, default_cues()).features.other if n.startswith("t:")]


REMINDER = ("<system-reminder>\nAs you answer the user's questions, you can use the following context:\n"
            "# claudeMd\nContents of /repo/CLAUDE.md:\n\nThis service is a distributed payment ledger. Every "
            "change must keep exactly-once settlement across regions, preserve the audit trail, and pass the "
            "concurrency and security review.\n</system-reminder>\n")


def test_a_harness_context_block_is_neither_ask_nor_tool_output():
    """Claude Code writes `<system-reminder>` blocks into the user's turn (and appends them to tool
    results), Codex its AGENTS.md and environment blocks, Gemini CLI its session and hook context:
    the turn reads as the person's words alone."""
    cues = default_cues()
    plain = read([user("Find where pong is defined")], TOOLS, cues)
    claude = [{"role": "user", "content": [{"type": "text", "text": REMINDER},
                                           {"type": "text", "text": "Find where pong is defined"}]}]
    codex = [user("# AGENTS.md instructions for /repo\n\n<INSTRUCTIONS>\nDesign every change for concurrency, "
                  "security and a distributed ledger.\n</INSTRUCTIONS>\n\n<environment_context>\n  <cwd>/repo</cwd>"
                  "\n</environment_context>\nFind where pong is defined")]
    session = ("<session_context>\nThis is the Gemini CLI. We are setting up the context for our chat.\n"
               "Today's date is Monday, December 7, 2026.\nMy operating system is: linux\n- **Directory "
               "Structure:**\n\n/repo/\n├───ledger/\n│   ├───settlement.py\n│   └───concurrency.py\n</session_context>")
    hook = "<hook_context>Design every change for concurrency and security.</hook_context>\n"
    # As routing reads Gemini CLI's first turn: its session context part, then the ask.
    gemini = [{"role": "user", "content": [{"type": "text", "text": session},
                                           {"type": "text", "text": hook + "Find where pong is defined"}]}]
    for messages in (claude, codex, gemini):
        reading = read(messages, TOOLS, cues)
        assert (reading.kind, reading.features) == (plain.kind, plain.features)
    assert classify(claude, TOOLS).tier == "simple"

    def step(output):
        return [user("add a docstring to pong()"),
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "read_file", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": output}]}]
    source = "def pong():\n    return 'pong'\n"
    assert read(step(source + REMINDER), TOOLS, cues).features == read(step(source), TOOLS, cues).features
    # Unclosed or hostile tags are text like any other, read in one pass.
    hostile = "<system-reminder>" * 20_000 + "</system-reminde"
    assert without_harness(hostile) == hostile and without_harness("<div>x</div>") == "<div>x</div>"
    assert without_harness("a<system-reminder>b</system-reminder>c<system-reminder>d") == "ac<system-reminder>d"


# What the CLIs write around the person's words, as their requests hold it (tests/scenarios/captures).
CAVEAT = ("<local-command-caveat>Caveat: The messages below were generated by the user while running local commands. "
          "DO NOT respond to these messages or otherwise consider them in your response unless the user explicitly "
          "asks you to.</local-command-caveat>\n")
COST = ("<local-command-stdout>Total cost:            $0.0000\nTotal duration (API):  0s\nTotal code changes:    0 "
        "lines added, 0 lines removed\nUsage:                 0 input, 0 output, 0 cache read, 0 cache write"
        "</local-command-stdout>\n")
BASH = ("<bash-input>pytest -x tests/ledger</bash-input>", "<bash-stdout>FAILED tests/ledger/test_settle.py::"
        "test_exactly_once - AssertionError: race between regions\n1 failed in 0.41s</bash-stdout><bash-stderr>"
        "</bash-stderr>")
NOTIFICATION = ("<task-notification>\n<task-id>b1v8dae36</task-id>\n<tool-use-id>call_1</tool-use-id>\n<output-file>"
                "/tmp/claude-0/tasks/b1v8dae36.output</output-file>\n<status>completed</status>\n<summary>Background "
                "command \"wait then print\" completed (exit code 0)</summary>\n</task-notification>")


def test_what_a_harness_writes_around_the_words_is_not_read_as_them():
    """Claude Code's slash-command markup keeps only the command's arguments, and its caveat, a local
    command's or `!` command's output and an interrupt notice are not the ask; nor are Codex's
    interrupted-turn notice and skill blocks, Gemini CLI's @agent note, or the IDE's open-file note."""
    cues = default_cues()
    ask = "Find where pong is defined"
    plain = read([user(ask)], TOOLS, cues)

    def parts(*texts):
        return [{"role": "user", "content": [{"type": "text", "text": t} for t in texts]}]

    for messages in (
            parts(REMINDER, "<command-message>find</command-message>\n<command-name>/find</command-name>\n"
                  f"<command-args>{ask}</command-args>\n"),
            parts(CAVEAT, "<command-name>/usage</command-name>\n<command-message>usage</command-message>\n"
                  "<command-args></command-args>") + [assistant("No response requested."), *parts(COST, ask)],
            parts(*BASH, "[Request interrupted by user]", ask),
            [user("<turn_aborted>\nThe user interrupted the previous turn on purpose.\n</turn_aborted>"),
             user('<skill>\n<name>ledger</name>\n<path>/repo/.codex/skills/ledger/SKILL.md</path>\nAlways prove '
                  'exactly-once settlement across regions.\n</skill>'), user(ask)],
            parts(ask, "\n<system_note>\nThe user has explicitly selected the following agent(s): "
                  "codebase_investigator.\n</system_note>\n"),
            parts("<ide_opened_file>The user opened the file /repo/ledger/settlement.py in the IDE. This may or "
                  "may not be related to the current task.</ide_opened_file>", ask)):
        reading = read(messages, TOOLS, cues)
        assert (reading.kind, reading.features) == (plain.kind, plain.features), messages


def test_a_local_slash_commands_arguments_are_no_ask():
    """`/model opus` runs in Claude Code alone (its caveat says so; the model is not asked): "opus"
    is no turn of the person's, so a short turn after it follows the task set before the command
    (it followed "opus", and read simple)."""
    cues = default_cues()
    hard = [user("Find the data race in the lock-free ring buffer's compare-and-swap loop and prove the fix "
                 "linearizable"), assistant("Here is the analysis.")]
    local = [{"role": "user", "content": [
        {"type": "text", "text": CAVEAT},
        {"type": "text", "text": "<command-name>/model</command-name>\n<command-message>model</command-message>\n"
                                 "<command-args>opus</command-args>"}]}, assistant("No response requested.")]
    then = {"role": "user", "content": [{"type": "text", "text": "<local-command-stdout>Set model to opus"
                                                                 "</local-command-stdout>"},
                                        {"type": "text", "text": "and the tests?"}]}
    after, direct = read([*hard, *local, then], TOOLS, cues), read([*hard, user("and the tests?")], TOOLS, cues)
    assert (after.kind, after.features.words) == (direct.kind, direct.features.words)
    assert classify([*hard, *local, then], TOOLS).tier == classify([*hard, user("and the tests?")], TOOLS).tier


def test_a_finished_background_task_is_an_agent_step():
    """Claude Code's `<task-notification>` (and Codex's `<subagent_notification>`, a `!` command's
    output the model is asked to answer) is the agent's own task reporting back: read like a tool's result,
    on the task the person set, not as a new ask of its own (it read as a complex ask)."""
    cues = default_cues()
    ask = "add a docstring to pong()"
    started = [user(ask), {"role": "assistant", "content": [{"type": "tool_use", "id": "call_1", "name": "Bash",
                                                             "input": {"run_in_background": True}}]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1",
                                             "content": "Command running in background with ID: b1v8dae36."}]},
               assistant("Started it.")]
    step = read(started[:3], TOOLS, cues)
    stalled = (NOTIFICATION + "\nLast output:\nOverwrite settlement.db? [y/N]\nThe command is likely blocked on an "
               "interactive prompt. Stop this task and re-run with piped input (e.g., `echo y | command`).")
    for done in (NOTIFICATION, stalled, "<subagent_notification>\n{\"agent_id\": \"a1\", \"status\": {\"completed\": "
                 "\"pong is in pong.py\"}}\n</subagent_notification>", "".join(BASH),
                 "<user_shell_command>\n<command>\npytest -x\n</command>\n<result>\nExit code: 1\n</result>\n"
                 "</user_shell_command>"):
        reading = read([*started, {"role": "user", "content": [{"type": "text", "text": done}]}], TOOLS, cues)
        assert reading.kind == "tool_result" and "tool_output" in reading.features, done
        assert {w for w in reading.features.words} == {w for w in step.features.words}, done
    assert classify([*started, user(NOTIFICATION)], TOOLS).tier == "simple"
    turn = to_turn(user("<teammate-message teammate_id=\"reviewer\">LGTM</teammate-message>"))
    assert (turn.text, turn.tool_results, turn.tool_first) == ("", 1, 'teammate_id="reviewer">LGTM')


def test_messages_that_only_instruct_or_carry_harness_context_are_no_turns():
    """Codex sends its instructions as `developer` messages and its environment as a user message
    of `<environment_context>` alone, then the prompt: the conversation is one turn long, read as
    the prompt alone (each such message counted as a turn, and `turns:` pushed a simple ask to
    complex: p(simple) 0.73 alone, 0.05 with them)."""
    cues = default_cues()
    ask = "find why this distributed lock loses writes under partition"
    codex = [{"role": "developer", "content": [{"type": "input_text", "text": "You are Codex."}]},
             {"role": "developer", "content": "<permissions instructions>sandbox: read-only</permissions instructions>"},
             {"role": "user", "content": [{"type": "input_text", "text":
                 "<environment_context>\n  <cwd>/repo</cwd>\n</environment_context>"}]},
             {"role": "user", "content": [{"type": "input_text", "text": ask}]}]
    alone = read([user(ask)], TOOLS, cues)
    reading = read(codex, TOOLS, cues)
    assert (reading.kind, reading.features) == (alone.kind, alone.features)
    assert classify(codex, TOOLS).p_simple == classify([user(ask)], TOOLS).p_simple


def test_paste_only_turn_takes_the_ask_before_it():
    """A turn that is only a paste is read with the ask of the turn before it."""
    convo = [user("can you review my Dockerfile for security problems?"), assistant("Sure, paste it."),
             user("```dockerfile\nFROM python:3.12\nRUN pip install -r requirements.txt\nUSER root\n```")]
    assert kind(convo) == "paste_only"
    assert "w:review" in read(convo, None, default_cues()).features


def test_non_english_definition_questions_are_simple():
    """Basic questions in other languages are simple queries."""
    for prompt in ("quelle est la différence entre TCP et UDP ?", "¿qué significa el error ECONNREFUSED en Node?",
                   "Docker 镜像的“层”是什么意思？", "Что такое DNS?"):
        c = classify([user(prompt)])
        assert c.tier == "simple", prompt


def test_an_ask_with_tools_keeps_the_type_of_its_work():
    """Tool definitions say how the work is done, not what it is: one of the six labelled types."""
    assert classify([user("fix the failing test in tests/test_api.py")], TOOLS).task_type == "code"
    assert classify([user("what does ACID stand for")], TOOLS).task_type == "query"


def test_images_are_read_and_signalled():
    """Image parts add a signal and a feature; the text part is still classified."""
    convo = [{"role": "user", "content": [
        {"type": "text", "text": "what is in this screenshot?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
    ]}]
    assert "images=1" in classify(convo).signals
    assert "images" in read(convo, None, default_cues()).features


def test_probabilities_are_consistent_with_tier_and_confidence():
    """p_simple <= p_moderate; the tier is the cheapest clearing the balanced bar; confidence is its p."""
    for prompt in ("thanks!", "what is a mutex", "write a Python function that parses ISO 8601 durations with tests",
                   "design a multi-region active-active payments ledger with exactly-once settlement"):
        c = classify([user(prompt)])
        assert 0.0 <= c.p_simple <= c.p_moderate <= 1.0
        assert c.tier == tier_for(c.p_simple, c.p_moderate, PROFILE_BARS["balanced"])
        assert c.confidence == pytest.approx(enough(c.p_simple, c.p_moderate, c.tier), abs=1e-3)
        assert 0.0 <= certainty(c) <= 1.0


def test_signals_name_the_turn_and_the_features_that_moved_the_score():
    """Signals carry the turn's kind, both probabilities and the top features with their weights."""
    c = classify([user("prove that there are infinitely many primes")])
    assert c.signals[0] == "kind:ask" and c.signals[1].startswith("p_simple=")
    contributions = [s for s in c.signals[3:] if s.rsplit(":", 1)[-1][:1] in "+-"]
    assert contributions and any("prove" in s or "proof" in s for s in contributions)
    # What the similar training prompts added to the score is shown next to the probabilities.
    vote = [s for s in c.signals if s.startswith("neighbours:")]
    assert len(vote) == 1 and float(vote[0].split(":")[1]) != 0.0


def test_protocol_structs_are_accepted():
    """Messages may be the wire protocol's Structs as well as dicts."""
    assert classify([Message(role="user", content="regex for US zip codes")]).task_type == "code"


def test_classification_is_frozen_and_well_formed():
    """Output is a frozen Struct with a known tier and level; it survives a JSON round trip."""
    c = classify([user("implement Dijkstra in Rust with path reconstruction")])
    assert isinstance(c, Classification) and c.tier in TIERS and c.level5 in LEVELS5
    with pytest.raises(AttributeError):
        c.tier = "complex"  # type: ignore[misc]
    assert msgspec.json.decode(msgspec.json.encode(c), type=Classification) == c


def test_classify_is_pure():
    """Same input, same output; the input is not modified."""
    convo = [user("write a haiku about merge conflicts")]
    before = json.dumps(convo)
    assert classify(convo) == classify(convo)
    assert json.dumps(convo) == before


def test_empty_conversation_is_chat():
    """No messages at all is treated as chat, not an error."""
    assert kind([]) == "empty" and classify([]).task_type in ("chat", "query")


def test_five_levels_follow_the_score():
    """The five-level output orders the same way as the difficulty."""
    prompts = ["thanks!", "what is a mutex", "write a Python function that parses ISO 8601 durations with tests",
               "design a lock-free MPMC queue in C++ and prove it linearizable under the C++ memory model"]
    levels = [LEVELS5.index(classify([user(p)]).level5) for p in prompts]
    assert levels == sorted(levels) and levels[0] <= 1 and levels[-1] >= 3


def test_bare_ok_accepts_only_an_offer():
    """'ok' after a finished answer is an acknowledgement; 'ok' after 'Shall I implement it?' accepts."""
    done = [user("rename getUser to fetchUser in the api module"), assistant("Done: renamed in 3 files.")]
    assert kind([*done, user("ok")]) == "ack" and classify([*done, user("ok")]).task_type == "chat"
    offer = [user("our payment webhooks are processed twice during Redis failover; make the pipeline idempotent"),
             assistant("Plan:\n1. Idempotency keys with a unique index.\n2. An outbox table.\n3. Consumer dedup.\n"
                       "4. A chaos test that kills the Redis primary mid-delivery.\nShall I implement it?")]
    assert kind([*offer, user("ok")]) == "go_ahead"
    accepted, asked = classify([*offer, user("ok")]), classify(offer[:1])
    # The go-ahead carries the ask and the plan it accepts: at least as hard as the ask alone.
    assert accepted.score >= asked.score and accepted.p_moderate <= asked.p_moderate
    assert accepted.tier != "simple"


def test_second_opinion_prompt_and_reply_parsing():
    """The classifier model sees the ask (not the paste); its answer becomes probabilities for its tier."""
    from routerd.classify import opinion

    messages = [user("why is this slow?\n\n```python\n" + "x = 1\n" * 500 + "```")]
    prompt = opinion.build_prompt(messages)
    assert "why is this slow?" in prompt and "characters of pasted code" in prompt and "x = 1" not in prompt
    learned = classify(messages)
    got = opinion.parse_reply("Complex analyze.", learned)
    assert (got.tier, got.task_type, got.source) == ("complex", "analyze", "model")
    assert tier_for(got.p_simple, got.p_moderate, PROFILE_BARS["balanced"]) == "complex"
    assert "second_opinion" in got.signals
    assert opinion.parse_reply("I cannot tell", learned) is None


def test_second_opinion_cache_key_normalises_and_covers_settings():
    """Whitespace and case do not change the cache key; the model or threshold do."""
    from routerd.classify import opinion

    a = opinion.cache_key([user("Fix  the Tests")], "ollama/q", 0.6)
    assert a == opinion.cache_key([user("fix the tests ")], "ollama/q", 0.6)
    assert a != opinion.cache_key([user("fix the tests")], "ollama/other", 0.6)
    assert a != opinion.cache_key([user("fix the tests")], "ollama/q", 0.7)
