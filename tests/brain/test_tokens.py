"""The text layer's fast paths read every text as the plain, character-by-character reading does."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routerd.classify import tokens
from routerd.classify.cues import build, default_cues
from routerd.classify.features import _script

# Letters of several scripts, every punctuation mark the tokeniser cuts, digits, quotes, spaces,
# and a lone surrogate (JSON may carry one).
_ALPHABET = ("abcxyzé ßçøłжяمर" "テスト中文한국" "0123456789" + tokens._PUNCT + "’'.-_#+ \n\t" + "\ud800")
# Where a Latin letter or digit meets CJK text: a word boundary.
_SCRIPT_BOUNDARY = re.compile(rf"(?<=[a-z0-9])(?=[{tokens._CJK_CLASS}])|(?<=[{tokens._CJK_CLASS}])(?=[a-z0-9])")
_TO_SPACE = str.maketrans({**{ch: " " for ch in tokens._PUNCT}, "’": "'"})


def _plain_words(lower: str) -> list[str]:
    if lower.isascii():
        return lower.translate(_TO_SPACE).split()
    out: list[str] = []
    for word in _SCRIPT_BOUNDARY.sub(" ", lower).translate(_TO_SPACE).split():
        if tokens._CJK_RUN.search(word) is None:
            out.append(word.strip("'.-") or word)
            continue
        out.extend(piece.strip("'.-") for piece in tokens._CJK_RUN.split(word) if piece.strip("'.-"))
        for run in tokens._CJK_RUN.findall(word):
            out.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
    return out


def _plain_window(words: list[str], head: int, tail: int) -> list[str]:
    return words if len(words) <= head + tail else words[:head] + words[len(words) - tail :]


def _plain_script(lower: str) -> str:
    if lower.isascii():
        return "ascii"
    for ch in lower:
        code = ord(ch)
        for first, last, name in ((0x3040, 0x30FF, "kana"), (0xAC00, 0xD7AF, "hangul"), (0x4E00, 0x9FFF, "han"),
                                  (0x0400, 0x04FF, "cyrillic"), (0x0600, 0x06FF, "arabic"),
                                  (0x0900, 0x097F, "devanagari")):
            if first <= code <= last:
                return name
    return "latin"


def _plain_stems_and_spaceless(lower: str, words: set[str]) -> dict[str, int]:
    cues, found = default_cues(), {}
    for size, stems in cues.stems.items():
        for stem in {w[:size] for w in words if len(w) > size} & stems.keys():
            for family in stems[stem]:
                found[family] = found.get(family, 0) + 1
    if tokens.is_cjk(lower):
        for entry, families in cues.spaceless:
            if entry in lower:
                for family in families:
                    found[family] = found.get(family, 0) + 1
    return found


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=300))
def test_fast_paths_read_what_the_plain_reading_reads(text):
    lower = tokens.lower_text(text)
    assert lower == tokens.lower_text(text.translate(tokens.FOLD_DIGITS))
    assert not set("123456789") & set(lower)
    assert tokens.words_of(lower) == _plain_words(lower)
    assert tokens.window(lower, 120, 30) == (_plain_window(_plain_words(lower), 120, 30), len(_plain_words(lower)))
    assert _script(lower) == _plain_script(lower)
    words = set(tokens.words_of(lower))
    found: dict[str, int] = {}
    if not lower.isascii():
        default_cues()._non_ascii(lower, words, found)
    assert found == (_plain_stems_and_spaceless(lower, words) if not lower.isascii() else {})


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=120), st.integers(0, 12), st.integers(0, 12), st.integers(0, 40))
def test_a_window_reads_the_words_at_both_ends(text, head, tail, counted):
    """Cut anywhere, even inside a run of CJK character pairs: the words there, and the count of
    all, or past `counted` a count past it that is no more than all."""
    lower = tokens.lower_text(text)
    words = _plain_words(lower)
    assert tokens.window(lower, head, tail) == (_plain_window(words, head, tail), len(words))
    found, n = tokens.window(lower, head, tail, counted)
    assert found == _plain_window(words, head, tail)
    assert n == len(words) if len(words) <= max(counted, head + tail) else counted < n <= len(words)
    assert list(tokens.first_words(lower, head)) == words[:head]


@pytest.mark.parametrize("text", [
    "PostgresとRedisで決済サービスを運用しています。負荷がかかるとp99レイテンシが上がり、原因を教えて" * 3,
    "我们在Postgres和Redis上运行支付服务，为什么 é日本 _設定 x-日-本a本日é x日 日x 中文'" * 2,
    "PostgreSQL과 Redis에서 결제 서비스를 운영합니다 " * 9,
])
def test_windows_of_real_cjk_text(text):
    lower = tokens.lower_text(text)
    words = _plain_words(lower)
    assert len(words) > 40
    for head in (0, 1, 7, 40, 120, len(words)):
        for tail in (0, 1, 5, 30):
            assert tokens.window(lower, head, tail) == (_plain_window(words, head, tail), len(words))
            found, n = tokens.window(lower, head, tail, 20)
            assert found == _plain_window(words, head, tail)
            assert n == len(words) if len(words) <= max(20, head + tail) else 20 < n <= len(words)
        assert list(tokens.first_words(lower, head)) == words[:head]


def test_stems_and_spaceless_entries_are_found_in_real_words():
    """The plain reading finds something in these, so the comparison above is not empty-handed."""
    cues = default_cues()
    stem_size, stems = next(iter(cues.stems.items()))
    stem = next(iter(stems))
    entry = cues.spaceless[0][0]
    lower = f"{stem}xyzé {entry}について"
    words = set(tokens.words_of(lower))
    found: dict[str, int] = {}
    cues._non_ascii(lower, words, found)
    assert found and found == _plain_stems_and_spaceless(lower, words)
    assert stem_size == cues.stem_head


_ENTRIES = [entry for entry, _ in default_cues().spaceless]
_ENTRY_CHARS = "".join(sorted(set("".join(_ENTRIES))))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_ENTRIES), st.text(alphabet=_ENTRY_CHARS + "とのをa0 、", max_size=6)),
                max_size=40))
def test_cjk_entries_are_found_as_a_scan_of_every_entry_finds_them(pieces):
    """Entries side by side, overlapping, repeated, inside longer ones, or only their characters
    scattered: the characters' index finds what `entry in text` for every entry finds."""
    lower = "テスト" + "".join(pieces)
    found: dict[str, int] = {}
    default_cues()._non_ascii(lower, set(), found)
    assert found == _plain_stems_and_spaceless(lower, set())


def test_a_cjk_entry_with_a_character_no_byte_codec_maps_is_still_found():
    """A character outside the BMP has no byte in the entries' codecs: the entry is filed under its
    other characters, and found where it occurs (and only there)."""
    cues = build([{"language": "zh", "families": {"rare": ["𠀀日本"], "plain": ["語"]}}])
    for lower, expected in (("テスト𠀀日本です", {"rare": 1}), ("テスト日本語", {"plain": 1}), ("テスト𠀀日", {})):
        found: dict[str, int] = {}
        cues._non_ascii(lower, set(), found)
        assert found == expected


# Only ASCII and CJK characters: the texts whose words `tokens._parts` reads without a regex.
_PLAIN_ALPHABET = "abcz09 '.-_#+\n" + "テスト中文한국어ー・" + "".join(ch for ch in tokens._PUNCT if ch.isascii())


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_PLAIN_ALPHABET, max_size=200), st.integers(0, 12), st.integers(0, 12))
def test_a_text_of_ascii_and_cjk_alone_is_read_as_the_plain_reading_reads_it(text, head, tail):
    """Korean-like words (one run, ASCII then a run, marks glued on) read as every other text's."""
    lower = tokens.lower_text(text)
    words = _plain_words(lower)
    assert tokens.words_of(lower) == words
    assert tokens.window(lower, head, tail) == (_plain_window(words, head, tail), len(words))
    assert list(tokens.first_words(lower, head)) == words[:head]


def test_korean_words_are_read_without_a_regex_split_per_word(monkeypatch):
    """A word that is one Hangul run, or a Latin word with a particle, costs no regex split."""
    splits: list[str] = []
    split = tokens._CJK_SPLIT
    monkeypatch.setattr(tokens, "_CJK_SPLIT", lambda word: splits.append(word) or split(word))
    lower = tokens.lower_text("PostgreSQL과 Redis에서 결제 서비스를 운영합니다, p99 지연 시간이 올라가고 " * 9)
    assert tokens.window(lower, 120, 30, 180)[0] == _plain_window(_plain_words(lower), 120, 30)
    assert splits == []


def _plain_by_character(lower: str) -> bool:
    """Every character ASCII or CJK, read one at a time (what `tokens._PLAIN` decides in one run)."""
    return all(ch.isascii() or tokens._CJK_RUN.fullmatch(ch) for ch in lower)


_EDGE_TEXTS = ["", " ", "\n\t ", "한국어", "한국어 é", "ᄀᄁ 한", "한\u3164국", "テスト😀", "e\u0301한", "中\u200b文",
               "abc", "\ud800한", "한국\x00어", "ㄱㄴ 한국", "\uac00\ud7a3\ud7af\ud7b0", "\u3040\u30ff\u3400\u9fff\uf900\ufaff\u303f"]


@pytest.mark.parametrize("text", _EDGE_TEXTS)
def test_plain_texts_are_told_apart_as_character_by_character(text):
    """Empty, whitespace, Hangul jamo, emoji, combining marks, a lone surrogate, the class's edges."""
    assert (tokens._PLAIN.fullmatch(text) is not None) == _plain_by_character(text)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_ALPHABET + "가\u3164ㄱ😀\u0301\u200b\u3000\ufb00", max_size=200))
def test_plain_texts_are_told_apart_on_any_text(text):
    """The one-run test of `_split` reads every text as the character-by-character reading does."""
    assert (tokens._PLAIN.fullmatch(text) is not None) == _plain_by_character(text)


@pytest.mark.parametrize("text", [
    "我们在Postgres和Redis上运行支付服务。负载升高时p99延迟上升，一些工作进程在持有锁的时候超时。" * 6,
    "PostgresとRedisで決済サービスを運用しています。負荷がかかるとp99レイテンシが上がり、原因を教えて" * 6,
])
def test_chinese_and_japanese_words_with_latin_ones_are_read_without_a_regex_split(monkeypatch, text):
    """Runs and Latin words glued together, between "。" and "，": cut apart without a split per word."""
    splits: list[str] = []
    split = tokens._CJK_SPLIT
    monkeypatch.setattr(tokens, "_CJK_SPLIT", lambda word: splits.append(word) or split(word))
    lower = tokens.lower_text(text)
    assert tokens.window(lower, 120, 30, 180)[0] == _plain_window(_plain_words(lower), 120, 30)
    assert tokens.words_of(lower) == _plain_words(lower)
    assert splits == []


@pytest.mark.parametrize("word", ["c++で", "日本-語", "日本_x", "x.日本", "'postgres日本", "日本redis'", "a日b本c",
                                  "日\x00本", "'-'日本", "日本p00-x", "x-y日本"])
def test_a_plain_word_with_a_mark_beside_a_run_is_read_as_the_plain_reading_reads_it(word):
    """Marks next to a run, or only at the word's ends, in a text of ASCII and CJK alone."""
    lower = tokens.lower_text(f"テスト {word} 中文。{word}")
    assert tokens.words_of(lower) == _plain_words(lower)


def test_a_long_korean_ask_is_cut_into_parts_only_at_its_ends(monkeypatch):
    """Past the head, the words left each stand for one word or more: more of them than the count
    tells apart are counted, not cut (the words between the ends are not read)."""
    cut: list[str] = []
    parts = tokens._parts

    def recording(words, *args):
        n, read = parts(words, *args)
        cut.extend(list(words)[:read])
        return n, read

    monkeypatch.setattr(tokens, "_parts", recording)
    lower = tokens.lower_text("PostgreSQL과 Redis에서 결제 서비스를 운영합니다, p99 지연 시간이 올라가고 " * 20)
    words = _plain_words(lower)
    found, n = tokens.window(lower, 120, 30, 180)
    assert found == _plain_window(words, 120, 30) and 180 < n <= len(words)
    # 120 words are the first 57 of the text's (each sentence's 9 stand for 19), 30 its last 15.
    assert len(cut) == 57 + 15
