"""The text layer's fast paths read every text as the plain, character-by-character reading does."""

from hypothesis import given, settings
from hypothesis import strategies as st

from routerd.classify import tokens
from routerd.classify.cues import default_cues
from routerd.classify.features import _script

# Letters of several scripts, every punctuation mark the tokeniser cuts, digits, quotes, spaces,
# and a lone surrogate (JSON may carry one).
_ALPHABET = ("abcxyzé ßçøłжяمर" "テスト中文한국" "0123456789" + tokens._PUNCT + "’'.-_#+ \n\t" + "\ud800")
_TO_SPACE = str.maketrans({**{ch: " " for ch in tokens._PUNCT}, "’": "'"})


def _plain_words(lower: str) -> list[str]:
    if lower.isascii():
        return lower.translate(_TO_SPACE).split()
    out: list[str] = []
    for word in tokens._SCRIPT_BOUNDARY.sub(" ", lower).translate(_TO_SPACE).split():
        if tokens._CJK_RUN.search(word) is None:
            out.append(word.strip("'.-") or word)
            continue
        out.extend(piece.strip("'.-") for piece in tokens._CJK_RUN.split(word) if piece.strip("'.-"))
        for run in tokens._CJK_RUN.findall(word):
            out.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
    return out


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
    assert _script(lower) == _plain_script(lower)
    words = set(tokens.words_of(lower))
    found: dict[str, int] = {}
    if not lower.isascii():
        default_cues()._non_ascii(lower, words, found)
    assert found == (_plain_stems_and_spaceless(lower, words) if not lower.isascii() else {})


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
