"""units: graphemes and words against Unicode's own segmentation tests, split per token."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

import tokbytes
import tokbytes.strategies as tbst
import tokbytes.units as units_module
from tests import oracle
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
        assert [(w.start, w.end) for w in doc.words] == oracle.words(text)
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


# -- the batched column paths of iter_units ---------------------------------------------------


@given(
    tbst.payloads(max_token_bytes=24, top_logprobs=0),
    st.sampled_from([1, 2, 3, 7, units_module._BATCH]),
)
def test_chars_equal_the_oracle_for_every_batch_size_and_token_length(
    payload: tbst.Payload, batch: int
) -> None:
    """Long tokens (several characters each, some split) take the counting path of ``.chars``,
    short ones the owner map; batches cut anywhere, even inside a token or between a split
    character's tokens. Every path must give the oracle's tokens and exact cover sums."""
    parts = [bytes(t["bytes"]) for t in payload.tokens]
    lps = [t["logprob"] for t in payload.tokens]
    spans = oracle.token_spans(parts)
    ranges = oracle.char_byte_ranges(payload.text)
    with mock.patch.object(units_module, "_BATCH", batch):
        chars = list(tokbytes.decode(payload.tokens).chars)
    assert "".join(u.text for u in chars) == payload.text
    for index, (u, (byte_start, byte_end)) in enumerate(zip(chars, ranges, strict=True)):
        expected = oracle.touching(spans, byte_start, byte_end)
        assert (u.start, u.end, u.byte_start, u.byte_end) == (
            index,
            index + 1,
            byte_start,
            byte_end,
        )
        assert list(u.tokens) == expected
        assert u.logprob == oracle.cover(lps, expected)  # same order of summation: exact


def test_chars_split_over_three_tokens_inside_long_tokens() -> None:
    # "abc가" + "나" cut 1+1+1 + "def": the counting path sees a character over three tokens.
    parts = [b"abcdef\xea", b"\xb0", b"\x80xyz\xeb\x82", b"\x98ghij"]
    lps = [-0.5, -0.25, -0.0, -0.0]
    chars = list(tokbytes.decode(records(parts, lps)).chars)
    by_text = {u.text: u for u in chars}
    assert by_text["가"].tokens == (0, 1, 2) and by_text["가"].logprob == -0.75
    assert by_text["나"].tokens == (2, 3) and by_text["나"].logprob.hex() == "0x0.0p+0"
    assert by_text["x"].tokens == (2,) and by_text["g"].tokens == (3,)


# -- columns: one field of every unit, without the units -----------------------------------------


def _hexes(values: list[float]) -> list[str]:
    return [v.hex() for v in values]


@given(
    st.one_of(
        tbst.payloads(max_token_bytes=4, top_logprobs=0),
        tbst.payloads(max_token_bytes=24, top_logprobs=0),
    ),
    st.sampled_from(["char", "grapheme", "word"]),
    st.sampled_from(["cover", "split"]),
    st.sampled_from([2, units_module._BATCH]),
)
def test_columns_equal_the_fields_of_the_iterated_units(
    payload: tbst.Payload, level: str, attribution: str, batch: int
) -> None:
    with mock.patch.object(units_module, "_BATCH", batch):
        doc = tokbytes.decode(payload.tokens, attribution=attribution)  # type: ignore[arg-type]
        seq = doc.units(level)  # type: ignore[arg-type]
        units = list(seq)
        assert _hexes(seq.logprobs()) == _hexes([u.logprob for u in units])
        assert seq.starts() == [u.start for u in units]
        assert seq.ends() == [u.end for u in units]
        assert seq.texts() == [u.text for u in units]


@given(tbst.payloads(), st.sampled_from(["char", "grapheme", "word"]))
def test_columns_of_replaced_and_empty_tokens(payload: tbst.Payload, level: str) -> None:
    # Invalid bytes (U+FFFD) and a token with no bytes take the owner-map path.
    tokens = [
        {"token": "", "bytes": [], "logprob": -0.5},
        *payload.tokens,
        {"token": "\\xff", "bytes": [255], "logprob": -2.0},
    ]
    doc = tokbytes.decode(tokens, errors="replace")
    seq = doc.units(level)  # type: ignore[arg-type]
    units = list(seq)
    assert _hexes(seq.logprobs()) == _hexes([u.logprob for u in units])
    assert (seq.starts(), seq.ends()) == ([u.start for u in units], [u.end for u in units])


def test_columns_keep_nan_where_recovery_left_no_score() -> None:
    records = [
        {"token": "", "bytes": [], "logprob": -0.5},
        {"token": "", "bytes": [], "logprob": -0.25},
        {"token": "x", "bytes": [120], "logprob": -1.0},
    ]
    doc = tokbytes.decode(records, text="費用x")
    assert _hexes(doc.chars.logprobs()) == ["nan", "nan", (-1.0).hex()]
    assert doc.chars.texts() == ["費", "用", "x"]
    assert _hexes(doc.words.logprobs()) == _hexes([u.logprob for u in doc.words])
