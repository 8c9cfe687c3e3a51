"""measures: alternatives as text, entropy, margin, rank, unit measures, word-probability bounds
and the summary, each against a slow reference written here on hypothesis payloads."""

from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tokbytes
import tokbytes.strategies as tbst
from tests.shared_data import require_shared
from tokbytes.measures import alternative_text, begins_word

SENTINEL = -9999.0
POEM = "recordings/state-of-the-art/gpt4_korean_poem_top20.json"

# Text with many space-separated words, punctuation and partial characters.
WORDY = tbst.texts(weights={"ascii": 4, "space": 4, "hangul": 3, "emoji": 1, "cjk": 1})


@st.composite
def unlisted_chosen(draw: st.DrawFn, payload: tbst.Payload) -> tbst.Payload:
    """The payload with the generated token left out of some tokens' alternatives (sampled from
    below the top N, as at temperature > 0), and some alternatives listed out of order."""
    tokens = []
    for record in payload.tokens:
        alternatives = list(record["top_logprobs"])
        if alternatives and draw(st.booleans()):
            alternatives = alternatives[1:]
        if draw(st.booleans()):
            alternatives.reverse()
        tokens.append({**record, "top_logprobs": alternatives})
    return tbst.Payload(payload.text, tokens, tokens, "records")


PAYLOADS = (
    tbst.payloads(WORDY, top_logprobs=(0, 5))
    | tbst.payloads(top_logprobs=(0, 4))
    | tbst.payloads(WORDY, top_logprobs=(1, 5)).flatmap(unlisted_chosen)
)


def prob(logprob: float) -> float:
    return 0.0 if logprob <= SENTINEL else math.exp(logprob)


def same(a: float, b: float) -> bool:
    return (a != a and b != b) or a == pytest.approx(b, rel=1e-9, abs=1e-12)


def is_chosen(alt: tokbytes.Alternative, token: tokbytes.Token) -> bool:
    return alt.bytes == token.bytes if alt.bytes is not None else alt.token == token.token


# -- slow references -------------------------------------------------------------------------------


def ref_entropy(token: tokbytes.Token) -> float:
    ps = [prob(a.logprob) for a in token.top_logprobs]
    total = sum(ps)
    if not ps or total == 0:
        return math.nan
    return -sum(p / total * math.log(p / total) for p in ps if p > 0)


def ref_margin(token: tokbytes.Token) -> float:
    ps = sorted((prob(a.logprob) for a in token.top_logprobs), reverse=True)
    return ps[0] - ps[1] if len(ps) >= 2 else math.nan


def ref_rank(token: tokbytes.Token) -> int | None:
    ordered = sorted(token.top_logprobs, key=lambda a: a.logprob, reverse=True)
    for position, alt in enumerate(ordered):
        if is_chosen(alt, token):
            ties = [a for a in ordered[:position] if a.logprob == alt.logprob]
            return position + 1 - len(ties)
    return None


def ref_prefix(doc: tokbytes.Decoded, token: tokbytes.Token) -> bytes:
    """The bytes of the character token starts inside of, found through the characters."""
    for char in doc.chars:
        if char.byte_start < token.byte_start < char.byte_end:
            return doc.bytes[char.byte_start : token.byte_start]
    return b""


def ref_mass(token: tokbytes.Token) -> tuple[float, float]:
    def bow(data: bytes | None) -> bool:
        return data is None or data.decode("utf-8", "replace")[:1].isspace()

    listed = [(a.bytes, prob(a.logprob)) for a in token.top_logprobs]
    if not any(is_chosen(a, token) for a in token.top_logprobs):
        listed.append((token.bytes, prob(token.logprob)))
    begin = sum(p for data, p in listed if bow(data))
    other = sum(p for data, p in listed if not bow(data))
    if begin + other >= 1 - 1e-9:
        return begin / (begin + other), begin / (begin + other)
    return begin, 1 - other


def log(x: float) -> float:
    return math.log(x) if x > 0 else -math.inf


SPACELESS = re.compile(
    r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u0f00-\u0fff\u3040-\u30ff\u4e00-\u9fff\U00020000-\U0002ffff\u3400-\u4dbf]"
)


def ref_bounds(doc: tokbytes.Decoded) -> list[tuple[float, float]]:
    tokens = list(doc.tokens)
    out = []
    nan = (math.nan, math.nan)
    for word in doc.words:
        a, b = word.tokens[0], word.tokens[-1]
        first, last = tokens[a], tokens[b]
        lead = doc.bytes[first.byte_start : word.byte_start]
        glued_before = first.byte_start > 0 and not any(
            c.byte_end == first.byte_start and c.text.isspace() for c in doc.chars
        )
        if (
            last.byte_end != word.byte_end
            or b + 1 >= len(tokens)
            or SPACELESS.search(word.text)
            or not tokens[b + 1].top_logprobs
            or (lead and not lead.decode("utf-8", "replace").isspace())
            or (glued_before and (not lead or not first.top_logprobs))
        ):
            out.append(nan)
            continue
        before = ref_mass(first) if glued_before else (1.0, 1.0)
        after = ref_mass(tokens[b + 1])
        lp = sum(t.logprob for t in tokens[a : b + 1])
        low = lp + log(after[0]) - log(before[1])
        high = lp + log(after[1]) - log(before[0]) if after[1] > 0 else -math.inf
        low = -math.inf if low != low else low
        out.append((min(low, 0.0), min(high, 0.0) if high == high else 0.0))
    return out


# -- alternatives as text --------------------------------------------------------------------------


def test_alternatives_complete_the_character_the_token_continues() -> None:
    records = [
        {"token": "\\xeb\\xaf", "bytes": [0xEB, 0xAF], "logprob": -0.1},
        {"token": "\\xbc", "bytes": [0xBC], "logprob": -0.3, "top_logprobs": [
            {"token": "\\xb8", "bytes": [0xB8], "logprob": -1.2},
            {"token": "\\xbc", "bytes": [0xBC], "logprob": -0.3},
            {"token": "\\xbf", "bytes": [0xBF], "logprob": -2.0},
            {"token": "<|end|>", "bytes": None, "logprob": SENTINEL},
        ]},
    ]  # fmt: skip
    alts = tokbytes.decode(records).alternatives(1)
    assert [a.text for a in alts] == ["민", "미", "믿", "<|end|>"]
    assert [a.chosen for a in alts] == [True, False, False, False]
    assert " | ".join(a.text for a in alts[:3]) == "민 | 미 | 믿"
    assert alts[-1].logprob == SENTINEL


@given(PAYLOADS)
def test_alternatives_are_sorted_and_read_after_the_continued_character(
    payload: tbst.Payload,
) -> None:
    doc = tokbytes.decode(payload.tokens)
    for token in doc.tokens:
        alts = doc.alternatives(token.index)
        expected = sorted(token.top_logprobs, key=lambda a: -a.logprob)
        prefix = ref_prefix(doc, token)
        assert [a.logprob for a in alts] == [a.logprob for a in expected]
        for got, alt in zip(alts, expected):
            if alt.bytes is None:
                assert got.text == alt.token
            else:
                assert got.text == (prefix + alt.bytes).decode("utf-8", "backslashreplace")
            assert got.chosen == is_chosen(alt, token)
            assert got.text == alternative_text(prefix, alt)


def test_real_poem_alternatives_read_mi_min_mit() -> None:
    doc = tokbytes.decode(json.loads(require_shared(POEM).read_text("utf-8")))
    assert doc.text.endswith("끝없는 미")
    assert [a.text for a in doc.alternatives(29)[:3]] == ["미", "민", "믿"]
    assert doc.tokens.ranks()[15] is None  # the sampled -9999.0 token is not listed


# -- per-token measures ----------------------------------------------------------------------------


@given(PAYLOADS)
def test_token_measures_equal_the_slow_reference(payload: tbst.Payload) -> None:
    doc = tokbytes.decode(payload.tokens)
    tokens = list(doc.tokens)
    assert doc.tokens.logprobs() == [t.logprob for t in tokens]
    assert doc.tokens.alternative_counts() == [len(t.top_logprobs) for t in tokens]
    for got, token in zip(doc.tokens.entropies(), tokens):
        assert same(got, ref_entropy(token)), (got, token)
        assert got != got or got >= 0
    for got, token in zip(doc.tokens.margins(), tokens):
        assert same(got, ref_margin(token)), (got, token)
    assert doc.tokens.ranks() == [ref_rank(t) for t in tokens]


def test_sentinel_counts_as_probability_zero() -> None:
    record = {"token": "a", "bytes": [97], "logprob": math.log(0.5), "top_logprobs": [
        {"token": "a", "bytes": [97], "logprob": math.log(0.5)},
        {"token": "b", "bytes": [98], "logprob": math.log(0.5)},
        {"token": "c", "bytes": [99], "logprob": SENTINEL},
    ]}  # fmt: skip
    doc = tokbytes.decode([record])
    assert doc.tokens.entropies() == [pytest.approx(math.log(2))]
    assert doc.tokens.margins() == [0.0] and doc.tokens.ranks() == [1]
    bare = tokbytes.decode([{"token": "a", "bytes": [97], "logprob": -0.1}])
    assert math.isnan(bare.tokens.entropies()[0]) and math.isnan(bare.tokens.margins()[0])
    assert bare.tokens.ranks() == [None]


# -- per-unit measures -----------------------------------------------------------------------------


@given(PAYLOADS, st.sampled_from(["char", "grapheme", "word"]))
def test_unit_measures_reduce_their_tokens(payload: tbst.Payload, level: str) -> None:
    doc = tokbytes.decode(payload.tokens)
    units = doc.units(level)  # type: ignore[arg-type]
    tokens = list(doc.tokens)
    assert units.probs() == [u.prob for u in units]
    for unit, entropy, margin in zip(units, units.entropies(), units.margins()):
        entropies = [ref_entropy(tokens[j]) for j in unit.tokens]
        margins = [ref_margin(tokens[j]) for j in unit.tokens]
        want_e = math.nan if any(e != e for e in entropies) else max(entropies)
        want_m = math.nan if any(m != m for m in margins) else min(margins)
        assert same(entropy, want_e) and same(margin, want_m), unit


# -- word probability bounds -----------------------------------------------------------------------


@given(PAYLOADS)
def test_word_bounds_equal_the_slow_reference_and_are_ordered(payload: tbst.Payload) -> None:
    doc = tokbytes.decode(payload.tokens)
    got = doc.words.word_logprob_bounds()
    assert len(got) == len(doc.words)
    for (low, high), (want_low, want_high) in zip(got, ref_bounds(doc)):
        assert same(low, want_low) and same(high, want_high)
        assert (low != low and high != high) or low <= high <= 0.0


_POOL = [b" a", b" b", b"c", b",", b" \xeb", b"\xaf", b"\n", None, b"!", b" \xea\xb0\x80"]


@st.composite
def full_mass_records(draw: st.DrawFn) -> list[dict[str, object]]:
    """Space-separated words whose tokens list every alternative of non-zero probability."""
    words = draw(st.lists(st.sampled_from(["a", "bc", "가나", "x,", "é"]), min_size=2, max_size=6))
    text = " ".join(words)
    records = []
    for piece in draw(tbst.token_splits(text, max_token_bytes=4)):
        others = draw(st.lists(st.sampled_from(_POOL), max_size=5, unique=True))
        entries: list[bytes | None] = [piece, *(o for o in others if o != piece)]
        logits = [draw(st.floats(-8, 3)) for _ in entries]
        top = max(logits)
        norm = top + math.log(math.fsum(math.exp(x - top) for x in logits))
        alts = [
            {"token": "<|end|>" if data is None else data.decode("utf-8", "backslashreplace"),
             "bytes": None if data is None else list(data), "logprob": x - norm}
            for data, x in zip(entries, logits)
        ]  # fmt: skip
        records.append({"token": alts[0]["token"], "bytes": list(piece),
                        "logprob": alts[0]["logprob"], "top_logprobs": alts})  # fmt: skip
    return records


@given(full_mass_records())
def test_word_bounds_meet_and_equal_the_formula_when_all_the_mass_is_listed(
    records: list[dict[str, object]],
) -> None:
    doc = tokbytes.decode(records)
    tokens = list(doc.tokens)

    def p_bow(token: tokbytes.Token) -> float:  # all the mass is listed: exact
        return math.fsum(prob(a.logprob) for a in token.top_logprobs if begins_word(a.bytes))

    for word, (low, high) in zip(doc.words, doc.words.word_logprob_bounds()):
        if low != low:
            continue
        assert low == high
        a, b = word.tokens[0], word.tokens[-1]
        start = doc.token_to_chars(a)[0]  # the context ends where the word's first token starts
        before = 1.0 if start == 0 or doc.text[start - 1].isspace() else p_bow(tokens[a])
        lp = math.fsum(t.logprob for t in tokens[a : b + 1])
        formula = lp + log(p_bow(tokens[b + 1])) - log(before)
        assert low == pytest.approx(min(formula, 0.0), rel=1e-9, abs=1e-9)


def test_word_bounds_on_a_known_example() -> None:
    half, quarter = math.log(0.5), math.log(0.25)
    records = [
        {"token": "Hi", "bytes": list(b"Hi"), "logprob": -0.1, "top_logprobs": []},
        {"token": " there", "bytes": list(b" there"), "logprob": half, "top_logprobs": [
            {"token": " there", "bytes": list(b" there"), "logprob": half},
            {"token": ",", "bytes": [44], "logprob": quarter}]},
        {"token": "!", "bytes": [33], "logprob": quarter, "top_logprobs": [
            {"token": " you", "bytes": list(b" you"), "logprob": half},
            {"token": "!", "bytes": [33], "logprob": quarter}]},
    ]  # fmt: skip
    doc = tokbytes.decode(records)
    bounds = doc.words.word_logprob_bounds()
    assert doc.words.texts() == ["Hi", "there", "!"]
    # "Hi": the first word (P(bow|before) = 1), then P(bow|after) in [0.5, 0.75]
    assert bounds[0] == (pytest.approx(-0.1 + math.log(0.5)), pytest.approx(-0.1 + math.log(0.75)))
    # "there": p = 0.5 · P(bow | after) / P(bow | before), after in [0.5, 0.75], before in [0.5, 0.75]
    low, high = bounds[1]
    assert low == pytest.approx(math.log(0.5 * 0.5 / 0.75))
    assert high == pytest.approx(math.log(0.5 * 0.75 / 0.5))
    assert all(math.isnan(x) for x in bounds[2])  # nothing follows "!"
    with pytest.raises(tokbytes.InputError, match="words"):
        doc.chars.word_logprob_bounds()


# -- summary and find_all --------------------------------------------------------------------------


@given(PAYLOADS, st.integers(0, 4))
def test_summary_equals_the_slow_reference(payload: tbst.Payload, n: int) -> None:
    doc = tokbytes.decode(payload.tokens)
    s = doc.summary(n)
    total = doc.logprob
    assert (s.tokens, s.characters, s.bytes) == (len(doc.tokens), len(doc.text), len(doc.bytes))
    assert s.logprob == total
    if doc.tokens and -total / len(doc.tokens) < 700:
        assert s.perplexity == pytest.approx(math.exp(-total / len(doc.tokens)))
    if doc.text:
        assert s.bits_per_character == pytest.approx(-total / math.log(2) / len(doc.text))
        assert s.bits_per_byte == pytest.approx(-total / math.log(2) / len(doc.bytes))
        chars = [c for c in doc.chars if c.logprob == c.logprob]
        assert s.least_probable_char == min(chars, key=lambda c: c.logprob)
    words = sorted((w for w in doc.words if w.logprob == w.logprob), key=lambda w: w.logprob)
    assert list(s.least_certain_words) == words[:n]


@given(PAYLOADS, st.sampled_from(["a", " ", "서울", "👍", "."]))
def test_find_all_finds_every_occurrence(payload: tbst.Payload, needle: str) -> None:
    doc = tokbytes.decode(payload.tokens)
    found = doc.find_all(needle)
    assert [(u.start, u.end) for u in found] == [
        (m.start(), m.end()) for m in re.finditer(re.escape(needle), doc.text)
    ]
    assert found == [doc.span(u.start, u.end) for u in found]


def test_find_all_rejects_an_empty_needle() -> None:
    with pytest.raises(tokbytes.InputError):
        tokbytes.decode([{"token": "a", "bytes": [97], "logprob": 0.0}]).find_all("")


def test_malformed_alternatives_raise_and_ints_are_read() -> None:
    bad = tokbytes.decode([{"token": "a", "bytes": [97], "logprob": -0.1, "top_logprobs": [
        {"token": "a", "bytes": [97], "logprob": "high"}]}])  # fmt: skip
    for measure in (bad.tokens.entropies, bad.tokens.margins, bad.tokens.ranks):
        with pytest.raises(tokbytes.InputError, match=r"token 0: top_logprobs\[0\]"):
            measure()
    legacy = tokbytes.decode([{"token": "a", "bytes": [97], "logprob": 0, "top_logprobs": {
        "a": 0, "b": -9999}}])  # fmt: skip
    assert legacy.tokens.entropies() == [0.0] and legacy.tokens.margins() == [1.0]
