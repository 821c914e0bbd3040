"""The classifier's explanation: what moved the score, in words, one describer per feature family."""

import json

import pytest

from routerd.classify import explain
from routerd.classify.bag import Bag
from routerd.classify.classifier import classify
from routerd.classify.context import read
from routerd.classify.cues import build, default_cues, read_documents
from routerd.classify.model import TOP_FEATURES, Table, default_model, table_effects, top_features


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


def said(messages):
    """The explanation of the last turn of `messages`, as {words: weight}."""
    return {item.says: item.weight for item in classify(messages).explanation}


def test_a_plain_classification_says_nothing():
    """Describing features is explaining's cost: a classification that does not explain has no explanation."""
    assert classify([user("implement Raft leader election in Go")], explain=False).explanation == ()
    assert classify([user("implement Raft leader election in Go")]).explanation


@pytest.mark.parametrize("prompt", ["implement Raft leader election in Go with a partitioned-network test",
                                    "prove that sqrt 2 is irrational", "thanks, that fixed it",
                                    "why does my goroutine count keep growing?", "用Go实现一个无锁队列，并解释内存模型"])
def test_each_item_weighs_every_feature_it_says_and_names_them(prompt):
    """An item's weight is the sum of what the model adds for each of its features (a cue family at
    every size and count at once), its features are the signals' names, and the largest come first."""
    c = classify([user(prompt)])
    model = default_model()
    top = {s.rsplit(":", 1)[0] for s in c.signals[3:] if not s.startswith("neighbours:")}
    for item in c.explanation:
        if item.features == ("neighbours",):
            continue
        weight = sum(explain._effect(model, f) for f in item.features)
        weight -= sum(explain._effect(model, explain.ONE_TURN_ASK[g]) for g in ("kind", "turns")
                      if any(f.startswith(g + ":") for f in item.features))
        assert item.weight == pytest.approx(weight, abs=1e-3)
    named = {f for item in c.explanation for f in item.features}
    assert top - {"kind:ask", "turns:0"} <= named
    assert [abs(i.weight) for i in c.explanation] == sorted((abs(i.weight) for i in c.explanation), reverse=True)


def test_cue_families_say_their_documented_meaning_and_the_asks_words():
    """A cue family reads as what en.json's meanings say of it, with the ask's words that belong to it."""
    meanings = read_documents()[0]["meanings"]
    assert set(meanings["families"]) == set(default_cues().families)
    got = said([user("implement Raft leader election in Go with a partitioned-network test")])
    assert any(s.startswith('distributed-systems terms ("leader", "leader election", "raft")') for s in got)
    assert got['expert terms ("leader election", "raft")'] > 0


def test_stems_are_matched_only_in_text_outside_ascii():
    """Cue stems match only where the classifier matches them (texts outside ASCII), so an English
    ask's words are never quoted under a family no stem of its text belongs to."""
    cues = build([{"language": "x", "families": {"f": ["partition*", "raft"]}}])
    reading = explain._Reading(Bag(words={"partitioned", "raft"}), cues, explain.Glossary())
    assert reading._members("f") == ["raft"]
    reading = explain._Reading(Bag(words={"partitioned", "консенсус"}), cues, explain.Glossary())
    assert reading._members("f") == ["partitioned"]


def test_a_lone_cjk_entry_is_quoted_only_when_the_text_holds_it():
    """A one-character CJK cue ("锁") is never quoted for an ask that does not contain it."""
    assert not any("锁" in s for s in said([user("what is a mutex")]))
    assert any('"锁"' in s for s in said([user("用Go实现一个无锁队列，并解释内存模型")]))


def test_the_conversations_shape_is_said_over_a_new_one_turn_ask():
    """Every new one-turn ask has the same kind and length features: they are not said of it; a
    continuation says its kind and its length apart, each with its own sign (a thanks is easier as
    an acknowledgement, even where a longer conversation weighs more)."""
    assert not any("one-turn" in s or "a new ask" in s for s in said([user("what is a mutex")]))
    got = said([user("translate 'good morning' to French"), assistant("Bonjour"), user("thanks!")])
    assert got["a conversation of 2-3 turns"] > 0
    assert not any("acknowledgement" in s and "conversation" in s for s in got)
    got = said([user("hi")])
    assert got["an acknowledgement"] < 0


def named_signals(c):
    """The top features a classification's signals name, as {name: weight}."""
    return {name: float(weight) for name, _, weight in (s.rpartition(":") for s in c.signals[3:])
            if not name.startswith("neighbours") and weight[:1] in "+-"}


@pytest.mark.parametrize("prompt", ["what is a mutex", "implement Raft leader election in Go",
                                    "prove that sqrt 2 is irrational", "hi", "用Go实现一个无锁队列"])
def test_a_one_turn_ask_spends_no_top_feature_on_being_one(prompt):
    """Every one-turn ask is a new ask in a one-turn conversation: that is the baseline, not a
    reason, so all six top features are the prompt's own."""
    c = classify([user(prompt)])
    named = named_signals(c)
    assert not {"kind:ask", "turns:0"} & set(named) and len(named) == TOP_FEATURES, c.signals


def test_a_continuations_shape_is_named_by_what_it_adds_over_a_new_ask():
    """A thanks after one exchange: its turn count and its kind are ranked and named by what they
    add over a one-turn ask's, the sign the explanation says them with."""
    model = default_model()
    c = classify([user("translate 'good morning' to French"), assistant("Bonjour"), user("thanks!")])
    named = named_signals(c)
    for feature, baseline in (("turns:1", "turns:0"), ("kind:ack", "kind:ask")):
        assert named[feature] == pytest.approx(explain._effect(model, feature) - explain._effect(model, baseline),
                                               abs=0.01)
    words = {item.features: item.weight for item in c.explanation}
    assert named["turns:1"] > 0 and words[("turns:1",)] == pytest.approx(named["turns:1"], abs=0.01)
    assert named["kind:ack"] < 0 and words[("kind:ack",)] == pytest.approx(named["kind:ack"], abs=0.01)


def test_top_features_rank_against_the_baseline():
    """top_features leaves out the baseline's own features and weighs another of their group less
    the baseline's weight, even one with no weight of its own."""
    weights = Table(words={"x": 0.5}, pairs={}, stems={}, other={"kind:ask": 2.0, "turns:0": -3.0, "turns:1": -0.5})
    upper = Table(words={}, pairs={}, stems={}, other={})

    def weigh(kind, keys):
        return table_effects(weights, upper, kind, keys)

    one_turn = Bag(words={"x"}, other={"kind:ask", "turns:0"})
    assert top_features(weigh, one_turn, 6) == (("w:x", 0.5),)
    longer = Bag(words={"x"}, other={"kind:go_ahead", "turns:1"})
    assert top_features(weigh, longer, 6) == (("turns:1", 2.5), ("kind:go_ahead", -2.0), ("w:x", 0.5))
    assert top_features(weigh, one_turn, 6, baseline={}) == (
        ("turns:0", -3.0), ("kind:ask", 2.0), ("w:x", 0.5))


def test_scripts_are_said_as_the_classifier_reads_them():
    """The script is the one of the first character outside Latin: a Japanese ask that opens with
    kanji reads as Han characters, never as Chinese."""
    got = said([user("東京の天気は？")])
    assert "written in Han characters (Chinese, or Japanese kanji)" in got
    assert not any("Chinese characters" in s for s in got)


def test_inline_code_and_digits_are_said_as_the_ask_had_them():
    """Inline code is one placeholder word for the classifier: it is said as inline code, never as its
    placeholder; digits, read as 0, show as #."""
    got = said([user("what does `git rebase -i HEAD~3` do?")])
    assert "one rare word (inline code)" in got
    assert not any("inlinecode" in s for s in got)
    assert explain._quoted(["p00", "inlinecode"]) == '"p##", inline code'
    assert explain._mention("0 0") == "two numbers in a row" and explain._mention("0.0") == "a number"
    reading = explain._Reading(Bag(words={"0000000"}), default_cues(), explain.Glossary())
    assert reading.say("p:00000", ("p:00000",)) == "a long number"
    got = said([user("what does arr.map(x => x*2).filter(Boolean) return for [0, 1, 2]?")])
    assert "two numbers in a row" in got and not any("#" in s for s in got)


def test_an_opening_is_quoted_only_when_the_words_show_which_it_was():
    """"what's wrong here?" opens with "what's"; "yes please" has two go-ahead openings and the bag no
    order, so neither is quoted."""
    got = said([user("what's wrong here? it crashes on start")])
    assert any(s.startswith('opens like a definition or how-to question ("what\'s")') for s in got)
    got = said([user("write a sorting function"), assistant("Shall I?"), user("yes please")])
    assert "opens with a go-ahead" in got


def test_every_feature_family_of_the_model_has_a_describer():
    """No feature the model weighs is said by its raw name (a family added without a describer
    would be)."""
    reading = explain._Reading(Bag(), default_cues(), explain.default_glossary())
    model = default_model()
    others = {key for key in model.packed.rows.other if isinstance(key, str) and model.score_weights("other", key)}
    raw = {name for name in others if reading.say(name, (name,)) == name}
    assert not raw
    assert reading.say("words:6@generate", ("words:6@generate",)).endswith("read for a generate ask")


def test_pastes_tool_output_and_counts_are_one_item_each():
    """The paste's features (presence, size, code, error output, fences) are one fact, and so are a
    count's buckets and cumulative indicators."""
    tb = "Traceback (most recent call last):\n" + "".join(
        f'  File "/srv/app/mod{i}.py", line {i}, in handler\n    result = process(item)\n' for i in range(40))
    c = classify([user("what's wrong here?\n\n" + tb + "ValueError: bad\n")])
    pastes = [item for item in c.explanation if item.says.startswith("pasted")]
    assert len(pastes) == 1 and {"paste", "paste_chars:3"} <= set(pastes[0].features)
    reading = read([user("A train leaves at 3pm going 60 mph, another at 4pm going 80 mph.")], None, default_cues())
    said_numbers = explain._Reading(reading.features, default_cues(), explain.Glossary()).say("numbers>=1", ())
    assert said_numbers == "4 numbers"


def test_the_glossary_is_package_data():
    """The meanings ship in the cue data file and read as a Glossary."""
    text = json.dumps({"meanings": {"families": {"f": "f things"}, "openers": {"ack": "an ack"}}})
    assert explain.read_glossary(json.loads(text)) == explain.Glossary({"f": "f things"}, {"ack": "an ack"})


def test_an_image_with_no_words_is_said_as_such():
    """An image-only message is "an image with no words" (its word count and its script read text
    that is not there), not "an ask of under 2 words, written in ASCII only"; text with no words
    ("?") says "no words" and keeps its question mark."""
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    got = classify([user([image])]).explanation
    says = {item.says: item for item in got}
    assert "an image with no words" in says, says
    assert set(says["an image with no words"].features) == {"words:0", "script:ascii"}
    assert not [s for s in says if "ASCII" in s or "under 2 words" in s], says
    assert "an image with no words" not in said([user([image, {"type": "text", "text": "what is this"}])])
    assert {"no words", "one question mark"} <= set(said([user("?")]))
