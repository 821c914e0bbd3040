"""What the classifier reads of a conversation is bounded, whatever the request holds.

A request body may be 32 MB; the classifier runs on the daemon's event loop, so its Python work
must stop growing with the request (a megabyte of one-character lines held every other client
for 0.7 s). These tests count the per-item steps (lines judged, messages and parts flattened,
fences cut) instead of timing them, and check that a long message read within the bounds gives
the features that reading all of it gives.
"""

import pytest

from routerd.classify import context, paste
from routerd.classify.classifier import classify
from routerd.classify.cues import default_cues
from routerd.classify.paste import (
    HEAD_PARAGRAPHS, MAX_FENCES, MAX_LINES, READ_HEAD_CHARS, READ_TAIL_CHARS, TAIL_PARAGRAPHS, split_ask,
)
from routerd.classify.text import MAX_HARNESS_BLOCKS, MAX_MESSAGES, MAX_PARTS, to_turn, without_harness

MEGABYTE = 1 << 20


@pytest.fixture
def counted(monkeypatch):
    """How many times each of the classifier's per-item steps ran."""
    calls = {"line": 0, "turn": 0}

    def count(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(paste, "_is_prose_line", count("line", paste._is_prose_line))
    monkeypatch.setattr(context, "to_turn", count("turn", context.to_turn))
    return calls


@pytest.mark.parametrize("filler", ["x\n", "x\n\n", "  \t\n", "1 2 3\n", "```\n", "~~~\n", "Please fix it.\n\n"])
def test_a_megabyte_of_short_lines_or_paragraphs_is_judged_within_bounds(counted, filler):
    """However many lines, paragraphs or fences a message has, at most the bounded ones are judged."""
    message = "why does the build fail?\n\n" + filler * (MEGABYTE // len(filler))
    split = split_ask(message)
    # Paragraphs judged: the head's and tail's, the first one's lines again, and a sample of what
    # was not read (up to 2 x 8 pieces, each cut to at most 2 x 8 paragraphs).
    sampled = 2 * paste._SAMPLE_PARAGRAPHS * 2 * paste._SAMPLE_PARAGRAPHS
    assert counted["line"] <= (HEAD_PARAGRAPHS + TAIL_PARAGRAPHS + 1 + sampled) * MAX_LINES
    assert split.fenced_blocks <= MAX_FENCES
    assert split.ask.startswith("why does the build fail?")
    assert classify([{"role": "user", "content": message}]).tier in ("simple", "moderate", "complex")


LOG_LINE = "2026-12-07 10:00:00 INFO worker 17 handled request id=abc123 in 12ms\n"
PROSE = ("The retry loop in the payment worker backs off exponentially, but the lock it holds is only "
         "released when the whole batch completes, so a slow upstream keeps every other worker waiting.")
CODE = "def settle(batch):\n    for charge in batch:\n        charge.capture(timeout=30)\n"
SHAPES = {
    "a document, then what to do with it": "\n\n".join([PROSE] * 400) + "\n\nSummarize the above in three bullets.",
    "what to do, then the document": "Summarize the following report:\n\n" + "\n\n".join([PROSE] * 400)
                                     + "\n\nWhich risk is the largest?",
    "an ask, a long log, a question": "our workers stall under load\n\n" + LOG_LINE * 3000
                                      + "\ncan you tell me why the p99 doubles?",
    "an ask over many code paragraphs": "why is settle so slow?\n\n" + "\n\n".join([CODE] * 500),
    "an ask over many short prose lines": "why does the build fail?\n\n" + "x\n" * 60_000,
    "many fences": "what do these have in common?\n\n" + "```py\nx = 1\n```\n\n" * 300,
}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_long_message_reads_as_it_would_whole(monkeypatch, shape):
    """Read within the bounds, a long message gives the classifier the features that reading all
    of it gives: what is not read goes where the paragraphs around it go (the ask's unread middle,
    or pasted material counted in full)."""
    messages = [{"role": "user", "content": SHAPES[shape]}]
    bounded = context.read(messages, None, default_cues()).features
    for name in ("READ_HEAD_CHARS", "HEAD_PARAGRAPHS", "TAIL_PARAGRAPHS", "MAX_LINES", "MAX_FENCES"):
        monkeypatch.setattr(paste, name, 10**9)
    assert len(SHAPES[shape]) > READ_HEAD_CHARS + READ_TAIL_CHARS or SHAPES[shape].count("\n\n") > 64
    whole = context.read(messages, None, default_cues()).features
    assert bounded == whole


def test_a_long_message_is_read_at_its_head_and_tail_and_the_middle_is_pasted():
    """The ask at the start and a closing question at the end are both found around a long paste."""
    log = "2026-12-07 10:00:00 INFO worker 17 handled request id=abc123 in 12ms\n" * 20_000
    message = f"our workers stall under load\n\n{log}\ncan you tell me why the p99 doubles?"
    split = split_ask(message)
    assert len(message) > READ_HEAD_CHARS + READ_TAIL_CHARS
    assert split.ask == "our workers stall under load\n\ncan you tell me why the p99 doubles?"
    assert split.paste_chars > len(log) - 8  # the middle that was not read, and the lines that were
    assert split.paste_head.startswith("2026-12-07 10:00:00 INFO")


def test_a_message_within_the_bounds_reads_as_before():
    """Under the bounds nothing changes: the same message split whole."""
    paragraphs = ["Please look at the retry logic in the payment worker."] + ["error: timeout\nat pay.go:12"] * 40
    message = "\n\n".join(paragraphs)
    split = split_ask(message)
    assert split.ask == paragraphs[0]
    assert split.paste_chars == sum(len(p) for p in paragraphs[1:])


def test_only_the_last_messages_are_read(counted):
    """A conversation longer than MAX_MESSAGES is read from its last messages, and an ask among
    them still decides the turn."""
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": "ok"} for i in range(5 * MAX_MESSAGES)]
    messages.append({"role": "user", "content": "now prove the scheduler never starves a task"})
    reading = context.read(messages, None, context.CueSet(words={}, phrases={}, stems={}, spaceless=(), openers={},
                                                          families=(), languages=()))
    assert counted["turn"] == MAX_MESSAGES
    assert reading.kind in ("ask", "follow_up")


def test_parts_and_harness_blocks_are_read_within_bounds():
    """A content list is read to MAX_PARTS parts, and a text is cut of at most MAX_HARNESS_BLOCKS
    blocks of each harness tag (the rest stays as text, read within the text's own bounds)."""
    turn = to_turn({"role": "user", "content": [{"type": "image", "source": {}}] * (3 * MAX_PARTS)})
    assert turn.images == MAX_PARTS
    block = "<system-reminder>today is Monday</system-reminder>"
    assert without_harness(block * MAX_HARNESS_BLOCKS + "fix it") == "fix it"
    kept = without_harness(block * (MAX_HARNESS_BLOCKS + 5) + "fix it")
    assert kept == block * 5 + "fix it"
