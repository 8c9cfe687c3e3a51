"""units: graphemes and words against Unicode's own segmentation tests, split per token."""

from __future__ import annotations

from pathlib import Path

import regex

import tokbytes
from tests.shared_data import require_shared
from tests.texts import records
from tokbytes.units import grapheme_bounds, word_ranges


def unicode_cases(path: Path) -> list[tuple[str, list[int]]]:
    """(text, expected break offsets) for each line of a UCD *BreakTest.txt file."""
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        text, breaks, fields = "", [], body.split()
        for field in fields:
            if field == "÷":
                breaks.append(len(text))
            elif field != "×":
                text += chr(int(field, 16))
        cases.append((text, breaks))
    return cases


def one_byte_per_token(text: str) -> tokbytes.Decoded:
    data = text.encode("utf-8", "surrogatepass")
    return tokbytes.decode(
        records([bytes([b]) for b in data], [-0.01] * len(data)), errors="replace"
    )


def test_graphemes_follow_unicode_grapheme_break_test() -> None:
    cases = unicode_cases(require_shared("unicode/ucd-17.0.0/GraphemeBreakTest.txt"))
    agree = 0
    for text, breaks in cases:
        if "\ud800" <= max(text) <= "\udfff" or any("\ud800" <= c <= "\udfff" for c in text):
            continue
        doc = one_byte_per_token(text)
        starts = [g.start for g in doc.graphemes] + [len(text)]
        assert starts == list(grapheme_bounds(text))  # tokenization never changes segmentation
        agree += starts == breaks
    # regex's \X (our definition) agrees with Unicode 17 on all but a handful of cases.
    assert agree >= 760, agree


def test_words_follow_regex_uax29_boundaries_on_unicode_word_break_test() -> None:
    cases = unicode_cases(require_shared("unicode/ucd-17.0.0/WordBreakTest.txt"))
    checked = 0
    for text, _breaks in cases:
        if any("\ud800" <= c <= "\udfff" for c in text):
            continue
        doc = one_byte_per_token(text)
        bounds = sorted({0, len(text), *(m.start() for m in regex.finditer(r"(?w)\b", text))})
        segments = [(a, b) for a, b in zip(bounds, bounds[1:]) if not text[a:b].isspace()]
        assert [(w.start, w.end) for w in doc.words] == segments
        checked += 1
    assert checked > 1800


def test_words_keep_contractions_and_decimals_and_split_punctuation() -> None:
    text = "don't stop: 3.14, 서울입니다. 👩‍👩‍👧!"
    starts, ends = word_ranges(text)
    assert [text[a:b] for a, b in zip(starts, ends)] == [
        "don't",
        "stop",
        ":",
        "3.14",
        ",",
        "서울입니다",
        ".",
        "👩‍👩‍👧",
        "!",
    ]


def test_grapheme_units_hold_every_token_of_a_zwj_sequence() -> None:
    family = "👩‍👩‍👧"
    data = family.encode()
    parts = [data[i : i + 3] for i in range(0, len(data), 3)]
    doc = tokbytes.decode(records(parts, [-0.1] * len(parts)))
    (grapheme,) = doc.graphemes
    assert grapheme.text == family and grapheme.tokens == tuple(range(len(parts)))
    assert len(doc.chars) == 5 and doc.chars[0].tokens == (0, 1)
