"""alignment: strict and replace decoding, bad records, and the UTF-8 torture tests."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tokbytes
from tests.shared_data import require_shared
from tests.texts import records, splits

GOOD = {"token": "a", "bytes": [97], "logprob": -0.5}


def recs_of(data: bytes, cuts: list[int]) -> list[dict[str, object]]:
    bounds = [0, *cuts, len(data)]
    return records([data[a:b] for a, b in zip(bounds, bounds[1:])], [-0.1] * (len(bounds) - 1))


# -- strict mode names the token, the byte offset and the bytes -------------------------------


def test_truncated_output_says_it_ends_inside_a_character() -> None:
    recs = recs_of("대한 서울".encode()[:-1], [3, 6, 10])  # 울 cut after 2 of its 3 bytes
    with pytest.raises(tokbytes.DecodeError) as info:
        tokbytes.decode(recs)
    err = info.value
    assert "ends inside a character (2 of 3 bytes b'\\xec\\x9a')" in str(err)
    assert (
        err.truncated and err.token == 3 and err.byte_offset == 10 and err.bad_bytes == b"\xec\x9a"
    )
    assert isinstance(err, ValueError)


def test_invalid_byte_names_token_and_offset() -> None:
    recs = records([b"ab", b"c\xff", b"d"], [-0.1, -0.2, -0.3])
    with pytest.raises(
        tokbytes.DecodeError, match=r"token 1: invalid UTF-8 b'\\xff' at byte 3"
    ) as info:
        tokbytes.decode(recs)
    assert not info.value.truncated


@given(st.binary(max_size=24), st.data())
def test_strict_mode_names_the_token_holding_the_first_bad_byte(
    data: bytes, draw: st.DataObject
) -> None:
    parts = draw.draw(splits(data))
    recs = records(parts, [-1.0] * len(parts))
    try:
        expected_text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        with pytest.raises(tokbytes.DecodeError) as info:
            tokbytes.decode(recs)
        ends = [sum(map(len, parts[: j + 1])) for j in range(len(parts))]
        assert info.value.byte_offset == exc.start
        assert info.value.token == next(j for j, e in enumerate(ends) if e > exc.start)
    else:
        assert tokbytes.decode(recs).text == expected_text


# -- replace mode equals Python's decoder, and keeps the raw bytes ----------------------------


@given(st.binary(max_size=32), st.data())
def test_replace_mode_equals_python_decoder(data: bytes, draw: st.DataObject) -> None:
    parts = draw.draw(splits(data))
    doc = tokbytes.decode(records(parts, [-0.25] * len(parts)), errors="replace")
    assert doc.text == data.decode("utf-8", "replace")
    chars = list(doc.chars)
    assert b"".join(u.bytes for u in chars) == data  # nothing lost
    assert [u.byte_end for u in chars[:-1]] == [u.byte_start for u in chars[1:]]
    bad = [u for u in chars if u.text == "\ufffd" and u.bytes != "\ufffd".encode()]
    assert [(p.byte_start, p.byte_end) for p in doc.problems] == [
        (u.byte_start, u.byte_end) for u in bad
    ]
    for problem in doc.problems:
        assert data[problem.byte_start : problem.byte_end] == problem.bytes
        assert problem.kind in ("invalid_utf8", "truncated")
        assert f"token {problem.token}" in problem.message


def test_replace_mode_reports_truncation() -> None:
    doc = tokbytes.decode(recs_of("서울".encode()[:-1], [3]), errors="replace")
    assert doc.text == "서\ufffd"
    (problem,) = doc.problems
    assert problem.kind == "truncated" and problem.token == 1 and problem.bytes == b"\xec\x9a"
    assert doc.chars[1].bytes == b"\xec\x9a" and doc.chars[1].tokens == (1,)


def test_utf8_torture_cases_match_reference_replace_output() -> None:
    folder = require_shared("utf8/flenniken-utf8tests")
    lines = (folder / "utf8tests.bin").read_bytes().split(b"\n")
    expected = (folder / "utf8.replace.ref.txt").read_bytes().split(b"\n")
    assert len(lines) == len(expected) > 200
    for line, want in zip(lines, expected):
        one_byte_tokens = records([bytes([b]) for b in line], [-0.5] * len(line))
        doc = tokbytes.decode(one_byte_tokens, errors="replace")
        assert doc.text.encode() == want, line
        assert b"".join(u.bytes for u in doc.chars) == line


def test_markus_kuhn_stress_test_decodes_like_python() -> None:
    data = require_shared("utf8/UTF-8-test.txt").read_bytes()
    for width in (1, 2, 3, 7):
        parts = [data[i : i + width] for i in range(0, len(data), width)]
        doc = tokbytes.decode(records(parts, [-0.1] * len(parts)), errors="replace")
        assert doc.text == data.decode("utf-8", "replace")
        assert sum(p.kind in ("invalid_utf8", "truncated") for p in doc.problems) == doc.text.count(
            "\ufffd"
        ) - data.count("\ufffd".encode())


# -- malformed records raise InputError naming token and field ---------------------------------


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        (
            {"token": "a", "bytes": [256], "logprob": -0.1},
            "bytes",
            r"'bytes'\[0\] must be an int 0-255, got 256",
        ),
        ({"token": "a", "bytes": [-1], "logprob": -0.1}, "bytes", "must be an int 0-255, got -1"),
        ({"token": "a", "bytes": [97.0], "logprob": -0.1}, "bytes", "got 97.0"),
        (
            {"token": "a", "bytes": "a", "logprob": -0.1},
            "bytes",
            "must be a list of ints 0-255, got str",
        ),
        ({"token": "a", "bytes": 5, "logprob": -0.1}, "bytes", "got int 5"),
        # bytes() would take True/False as SOH/NUL: a silent wrong byte
        ({"token": "a", "bytes": [True], "logprob": -0.1}, "bytes", "got True"),
        ({"token": "a", "bytes": [97, False], "logprob": -0.1}, "bytes", r"\[1\] .* got False"),
        ({"token": "a", "bytes": {"x": 1}, "logprob": -0.1}, "bytes", "got dict"),
        ({"token": "a", "bytes": [97]}, "logprob", "'logprob' is missing"),
        ({"token": "a", "bytes": [97], "logprob": None}, "logprob", "'logprob' is missing"),
        ({"token": "a", "bytes": [97], "logprob": "-0.1"}, "logprob", "must be a number, got str"),
        ({"token": "a", "bytes": [97], "logprob": math.nan}, "logprob", "is NaN"),
        ({"token": "a", "bytes": [97], "logprob": 0.5}, "logprob", "must be <= 0"),
        ({"bytes": None, "logprob": -0.1}, "bytes", "no 'bytes' and no 'token'"),
    ],
)
def test_malformed_record_raises_input_error(
    bad: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(tokbytes.InputError, match=message) as info:
        tokbytes.decode([GOOD, GOOD, bad, GOOD])
    assert info.value.token == 2 and info.value.field == field
    assert str(info.value).startswith("token 2:")
    assert isinstance(info.value, ValueError)
    decoder = tokbytes.StreamDecoder()  # one record per feed: the streaming fast path
    with pytest.raises(tokbytes.InputError, match=message) as info:
        for record in [GOOD, GOOD, bad, GOOD]:
            decoder.feed(record)
    assert info.value.token == 2 and info.value.field == field


def test_record_of_wrong_type_raises_input_error() -> None:
    with pytest.raises(tokbytes.InputError, match="token 1: expected a token record"):
        tokbytes.decode([GOOD, 42])


def test_rounding_above_zero_is_tolerated() -> None:
    doc = tokbytes.decode([{"token": "a", "bytes": [97], "logprob": 1e-7}])
    assert doc.chars[0].logprob == 1e-7


def test_missing_bytes_fall_back_to_token_string_and_are_recorded() -> None:
    recs = [
        {"token": "\\xeb\\xaf", "bytes": None, "logprob": -0.1},
        {"token": "bytes:\\xbc", "logprob": -0.2},
        {"token": " 수\\x41", "logprob": -0.3},  # \x41 is never an escape: ASCII is not escaped
    ]
    doc = tokbytes.decode(recs)
    assert doc.text == "민 수\\x41"
    assert [t.bytes_source for t in doc.tokens] == ["escaped", "escaped", "text"]
    assert [p.kind for p in doc.problems] == ["bytes_inferred"] * 3
    assert [p.token for p in doc.problems] == [0, 1, 2]


def test_empty_tokens_belong_to_no_unit_and_are_recorded() -> None:
    recs = records([b"a", b"", b"b"], [-0.1, -0.2, -0.3])
    doc = tokbytes.decode(recs)
    assert [u.tokens for u in doc.chars] == [(0,), (2,)]
    assert doc.span(0, 2).tokens == (0, 2) and doc.span(0, 2).logprob == pytest.approx(-0.4)
    assert [p.kind for p in doc.problems] == ["empty_token"] and doc.problems[0].token == 1
    assert doc.token_to_chars(1) == (1, 1) and doc.tokens[1].text == ""
