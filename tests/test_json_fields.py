"""json_fields: paths, values and spans against a serializer that records them; cover scores
against a brute-force sum; the cl100k seed example; errors that say where the JSON stopped."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokbytes
from tests import oracle
from tests.hypothesis_profile import scaled
from tests.shared_data import cl100k_encoding
from tests.texts import ATOMS, logprobs, splits
from tokbytes.alignment import left_sum
from tokbytes.json_fields import JsonError, JsonField, field_alternatives, find_json

SEED = {"capital": "서울", "country": "대한민국", "emoji": "🇰🇷"}


def records(parts: list[bytes], lps: list[float]) -> list[dict[str, Any]]:
    return [
        {"token": p.decode("utf-8", "backslashreplace"), "bytes": list(p), "logprob": lp}
        for p, lp in zip(parts, lps)
    ]


def decode_pieces(*pieces: str | bytes, logprob: float = -0.5) -> tokbytes.Decoded:
    parts = [p.encode() if isinstance(p, str) else p for p in pieces]
    return tokbytes.decode(records(parts, [logprob] * len(parts)))


def by_path(fields: tuple[JsonField, ...]) -> dict[str, JsonField]:
    return {f.path: f for f in fields}


# -- the reference: a serializer that records where it put every value ----------------------------

# One expected value: path, kind, literal (start, end), content (start, end), key (start, end).
Expected = tuple[str, str, int, int, int, int, int | None, int | None]

SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                 "\t": "\\t"}  # fmt: skip
WHITESPACE = st.sampled_from(["", "", " ", "\n", "\n  ", "\t", "\r\n", "  "])


def u_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}" if code % 2 else f"\\u{code:04X}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def write_string(draw: st.DrawFn, value: str, ensure_ascii: bool) -> str:
    """The body of a JSON string literal, each character escaped or not at random (validly)."""
    out = []
    for char in value:
        must = char in '"\\' or char < " " or "\ud800" <= char <= "\udfff"
        if must or (ensure_ascii and char > "\x7f"):
            short = SHORT_ESCAPES.get(char)
            out.append(short if short and draw(st.booleans()) else u_escape(char))
        elif char == "/" and draw(st.booleans()):
            out.append("\\/")
        elif draw(st.integers(0, 9)) == 0:
            out.append(u_escape(char))
        else:
            out.append(char)
    return "".join(out)


def write_number(draw: st.DrawFn, value: int | float) -> str:
    if isinstance(value, int):
        return draw(st.sampled_from([str(value), f"{value}.0", f"{value}e0", f"{value}E+00"]))
    return draw(st.sampled_from([repr(value), f"{value:e}", f"{value:.3E}"]))


def serialize(
    draw: st.DrawFn, value: Any, out: list[str], pos: int, path: str, ensure_ascii: bool,
    found: list[Expected], key: tuple[int, int] | None = None,
) -> int:  # fmt: skip
    """Append ``value`` as JSON to ``out`` starting at character ``pos``; return the new end."""
    key_start, key_end = key if key else (None, None)
    if isinstance(value, dict | list):
        slot = len(found)
        found.append(("", "", 0, 0, 0, 0, None, None))
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        start = pos
        out.append(opening)
        pos += 1
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for n, (name, item) in enumerate(items):
            if n:
                out.append(",")
                pos += 1
            space = draw(WHITESPACE)
            out.append(space)
            pos += len(space)
            child_key = None
            if isinstance(value, dict):
                body = write_string(draw, name, ensure_ascii)
                between = draw(WHITESPACE) + ":" + draw(WHITESPACE)
                out.append(f'"{body}"{between}')
                child_key = (pos + 1, pos + 1 + len(body))
                pos += len(body) + 2 + len(between)
            pointer = f"{path}/{str(name).replace('~', '~0').replace('/', '~1')}"
            pos = serialize(draw, item, out, pos, pointer, ensure_ascii, found, child_key)
        space = draw(WHITESPACE)
        out.append(space + closing)
        pos += len(space) + 1
        kind = "object" if isinstance(value, dict) else "array"
        found[slot] = (path, kind, start, pos, start, pos, key_start, key_end)
        return pos
    if isinstance(value, str):
        body = write_string(draw, value, ensure_ascii)
        out.append(f'"{body}"')
        found.append(
            (path, "string", pos, pos + len(body) + 2, pos + 1, pos + 1 + len(body), key_start,
             key_end)
        )  # fmt: skip
        return pos + len(body) + 2
    if value is None or isinstance(value, bool):
        literal = json.dumps(value)
        kind = literal
    else:
        literal, kind = write_number(draw, value), "number"
    out.append(literal)
    found.append((path, kind, pos, pos + len(literal), pos, pos + len(literal), key_start, key_end))
    return pos + len(literal)


def reference_walk(value: Any, path: str = "") -> list[tuple[str, str, Any]]:
    """(path, kind, value) of every value of ``json.loads``' result, in document order."""
    if isinstance(value, dict):
        out = [(path, "object", value)]
        for name, item in value.items():
            out += reference_walk(item, f"{path}/{name.replace('~', '~0').replace('/', '~1')}")
        return out
    if isinstance(value, list):
        out = [(path, "array", value)]
        for index, item in enumerate(value):
            out += reference_walk(item, f"{path}/{index}")
        return out
    kind = {True: "true", False: "false", None: "null"}.get(value, "") if (
        value is None or isinstance(value, bool)
    ) else ("string" if isinstance(value, str) else "number")  # fmt: skip
    return [(path, kind, value)]


STRING_ATOMS = [*ATOMS, '"', "\\", "/", "\n", "\t", "\x00", "\x1f", "\x7f", "\u0301", "~",
                "a/b", "😀", "\ud83d", "\udc00", ""]  # fmt: skip
json_strings = st.lists(
    st.one_of(st.sampled_from(STRING_ATOMS), st.characters(codec="utf-8")), max_size=6
).map("".join)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    json_strings,
)
json_values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(json_strings, inner, max_size=4)
    ),
    max_leaves=12,
)
PROSE_ATOMS = [a for a in ATOMS if not set(a) & set("{[`")]
prose = st.lists(
    st.one_of(
        st.sampled_from(PROSE_ATOMS),
        st.characters(codec="utf-8", exclude_characters="{[`"),
    ),
    max_size=8,
).map("".join)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, list[Expected]]:
    """A JSON document in a text as a model writes it, and where each value sits in that text."""
    value = draw(json_values)
    container = isinstance(value, dict | list)
    setting = draw(st.sampled_from(["bare", "prose", "fence"] if container else ["bare"]))
    before = {
        "bare": draw(WHITESPACE),
        "prose": draw(prose) + draw(WHITESPACE),
        "fence": draw(prose) + "\n```json\n",
    }[setting]
    out: list[str] = [before]
    found: list[Expected] = []
    serialize(draw, value, out, len(before), "", draw(st.booleans()), found)
    after = {"bare": draw(WHITESPACE), "prose": draw(WHITESPACE) + draw(prose), "fence": "\n```\n"}
    return "".join(out) + after[setting], found


def char_to_byte(text: str, start: int, end: int) -> tuple[int, int]:
    return len(text[:start].encode()), len(text[:end].encode())


# -- properties -----------------------------------------------------------------------------------


@settings(max_examples=scaled(80))
@given(documents(), st.data())
def test_paths_values_spans_and_cover_scores_match_the_reference(
    document: tuple[str, list[Expected]], data: st.DataObject
) -> None:
    text, expected = document
    parts = data.draw(splits(text.encode(), allow_empty=data.draw(st.booleans())))
    lps = data.draw(st.lists(logprobs, min_size=len(parts), max_size=len(parts)))
    doc = tokbytes.decode(records(parts, lps))
    assert doc.text == text
    fields = doc.json_fields()

    reference = reference_walk(json.loads(text[expected[0][2] : expected[0][3]]))
    assert [(f.path, f.kind) for f in fields] == [(p, k) for p, k, _ in reference]
    for field, (_, _, value) in zip(fields, reference):
        assert field.value == value and type(field.value) is type(value)
    spans = oracle.token_spans(parts)
    for field, (path, _kind, lit_start, lit_end, start, end, key_start, key_end) in zip(
        fields, expected
    ):
        assert field.path == path
        assert (field.literal_start, field.literal_end, field.start, field.end) == (
            lit_start, lit_end, start, end,
        )  # fmt: skip
        assert (field.key_start, field.key_end) == (key_start, key_end)
        assert field.text == text[start:end]
        assert json.loads(text[lit_start:lit_end]) == field.value
        # Cover: every token carrying a byte of the span (an empty string: of its quotes).
        a, b = char_to_byte(text, *((start, end) if end > start else (lit_start, lit_end)))
        touching = oracle.touching(spans, a, b)
        assert field.tokens == tuple(touching)
        assert math.isclose(field.logprob, oracle.cover(lps, touching), rel_tol=1e-9, abs_tol=1e-9)
        # Syntax: the tokens carrying the key's quotes, the colon and the string's quotes.
        chars = []
        if key_start is not None and key_end is not None:
            colon = text.index(":", key_end + 1)
            chars += [key_start - 1, key_end, colon]
        if field.kind == "string":
            chars += [lit_start, lit_end - 1]
        syntax = sorted(
            {j for c in chars for j in oracle.touching(spans, *char_to_byte(text, c, c + 1))}
        )
        assert field.syntax_tokens == tuple(syntax)
        assert math.isclose(field.syntax_logprob, oracle.cover(lps, syntax), abs_tol=1e-9)


@settings(max_examples=scaled(30))
@given(documents(), st.data())
def test_split_attribution_shares_each_token_by_bytes(
    document: tuple[str, list[Expected]], data: st.DataObject
) -> None:
    text, _ = document
    parts = data.draw(splits(text.encode()))
    lps = data.draw(st.lists(logprobs, min_size=len(parts), max_size=len(parts)))
    doc = tokbytes.decode(records(parts, lps), attribution="split")
    spans = oracle.token_spans(parts)
    for field in doc.json_fields():
        start, end = (
            (field.start, field.end)
            if field.end > field.start
            else (field.literal_start, field.literal_end)
        )
        expected = oracle.split(lps, spans, *char_to_byte(text, start, end))
        assert math.isclose(field.logprob, expected, rel_tol=1e-9, abs_tol=1e-6)


@settings(max_examples=scaled(40))
@given(json_values, st.booleans())
def test_one_byte_per_token_matches_json_loads(value: Any, ensure_ascii: bool) -> None:
    text = json.dumps(value, ensure_ascii=ensure_ascii, indent=1)
    data = text.encode("utf-8", "surrogatepass")
    if not ensure_ascii and any("\ud800" <= c <= "\udfff" for c in text):
        return  # a raw lone surrogate is not UTF-8: no model can send it
    doc = tokbytes.decode(records([bytes([b]) for b in data], [-0.01] * len(data)))
    fields = doc.json_fields()
    assert [(f.path, f.kind, f.value) for f in fields] == reference_walk(json.loads(text))
    for field in fields:
        assert len(field.tokens) == len(text[field.start : field.end].encode()) or (
            field.start == field.end and len(field.tokens) == 2
        )


# -- the seed example: cl100k cuts Korean and emoji inside characters ------------------------------


def seed_doc() -> tuple[tokbytes.Decoded, list[bytes], list[float]]:
    enc = cl100k_encoding()
    text = json.dumps(SEED, ensure_ascii=False)
    parts = [enc.decode_single_token_bytes(t) for t in enc.encode(text)]
    lps = [-(j + 1) / 64 for j in range(len(parts))]  # distinct: a wrong token shows
    return tokbytes.decode(records(parts, lps)), parts, lps


def test_seed_country_is_scored_by_exactly_the_tokens_whose_bytes_make_it() -> None:
    doc, parts, lps = seed_doc()
    country = by_path(doc.json_fields())["/country"]
    assert (country.value, country.text) == ("대한민국", "대한민국")
    assert doc.text[country.start : country.end] == "대한민국"
    # The tokens whose bytes, joined, are exactly 대한민국 (cl100k: 대, 한, \xeb\xaf, \xbc, …).
    first, stop = country.tokens[0], country.tokens[-1] + 1
    assert country.tokens == tuple(range(first, stop))
    assert b"".join(parts[first:stop]) == "대한민국".encode()
    assert parts[first : stop] == [b"\xeb\x8c\x80", b"\xed\x95\x9c", b"\xeb\xaf", b"\xbc",
                                   b"\xea\xb5", b"\xad"]  # fmt: skip
    assert country.logprob == left_sum(lps[first:stop])  # the summation rule
    # The quotes around it are tokens of their own here: syntax, reported apart.
    assert parts[country.syntax_tokens[-1]] == b'",'
    emoji = by_path(doc.json_fields())["/emoji"]
    assert b"".join(parts[j] for j in emoji.tokens) == "🇰🇷".encode()


def test_naive_token_string_lengths_blame_the_wrong_tokens_for_the_seed() -> None:
    doc, parts, lps = seed_doc()
    country = by_path(doc.json_fields())["/country"]
    # What libraries that count characters by len(token string) compute.
    token_strings = [p.decode("utf-8", "backslashreplace") for p in parts]
    naive_starts = [sum(map(len, token_strings[:j])) for j in range(len(parts))]
    naive = [
        j
        for j, (s, t) in enumerate(zip(naive_starts, token_strings))
        if s < country.end and s + len(t) > country.start
    ]
    assert naive and set(naive).isdisjoint(country.tokens)  # not one right token
    # It scores the *key* token: the 11 extra characters of "\\xec\\x9a" + "\\xb8" (for 울)
    # push every later token 11 characters to the right.
    assert [token_strings[j] for j in naive] == ["country"]
    assert not math.isclose(sum(lps[j] for j in naive), country.logprob)


def test_every_split_point_of_the_seed_gives_the_same_fields() -> None:
    data = json.dumps(SEED, ensure_ascii=False).encode()
    whole = [(f.path, f.value, f.start, f.end) for f in decode_pieces(data).json_fields()]
    for cut in range(1, len(data)):
        doc = tokbytes.decode(records([data[:cut], data[cut:]], [-0.25, -0.5]))
        fields = doc.json_fields()
        assert [(f.path, f.value, f.start, f.end) for f in fields] == whole
        for field in fields:
            a, b = char_to_byte(doc.text, field.start, field.end)
            assert field.tokens == tuple(j for j, (s, e) in enumerate([(0, cut), (cut, len(data))])
                                         if s < b and e > a)  # fmt: skip


# -- finding the document --------------------------------------------------------------------------


def test_json_after_prose_and_in_a_fence_is_found() -> None:
    doc = decode_pieces("Sure! Here it is:\n```json\n", '{"a": [1, "서울"]}', "\n```\nDone.")
    root = doc.json_fields()[0]
    assert doc.text[root.start : root.end] == '{"a": [1, "서울"]}'
    assert [f.path for f in doc.json_fields()] == ["", "/a", "/a/0", "/a/1"]
    inline = decode_pieces('The answer is {"ok": true}, as requested.')
    assert [(f.path, f.value) for f in inline.json_fields()] == [("", {"ok": True}), ("/ok", True)]


def test_a_json_fence_is_preferred_over_brackets_in_the_prose_before_it() -> None:
    doc = decode_pieces('As shown in [1]:\n```JSON\n{"a": 1}\n```')
    assert doc.json_fields()[0].value == {"a": 1}
    # Without a fence, `[1]` is the first complete array: `which` and `start` pick another.
    bare = decode_pieces('As shown in [1]: {"a": 1}')
    assert bare.json_fields()[0].value == [1]
    assert bare.json_fields(which=1)[0].value == {"a": 1}
    assert bare.json_fields(which=-1)[0].value == {"a": 1}
    assert bare.json_fields(start=bare.text.index("{"))[0].value == {"a": 1}


def test_brackets_that_fail_early_are_prose_and_skipped() -> None:
    doc = decode_pieces('See [the docs](https://x.y) and [1 of 3]. {"k": [null]}')
    assert doc.json_fields()[0].value == {"k": [None]}


def test_a_whole_text_scalar_is_a_document() -> None:
    scalars = [decode_pieces(' "yes"\n').json_fields(), decode_pieces("-1.5e3").json_fields()]
    assert [[(f.kind, f.value) for f in fields] for fields in scalars] == [
        [("string", "yes")],
        [("number", -1500.0)],
    ]
    with pytest.raises(JsonError, match="no JSON object or array"):
        decode_pieces("3 reasons, none in JSON").json_fields()


def test_which_out_of_range_names_how_many_documents_there_are() -> None:
    doc = decode_pieces('{"a": 1} and {"b": 2}')
    assert doc.json_fields(which=1)[0].value == {"b": 2}
    with pytest.raises(tokbytes.InputError, match="holds 2 complete JSON document"):
        doc.json_fields(which=2)
    with pytest.raises(tokbytes.InputError, match="start=99 is outside the text"):
        doc.json_fields(start=99)


# -- escapes, pointers, edge values ----------------------------------------------------------------


def test_escapes_keep_spans_on_the_raw_text_and_decode_values() -> None:
    raw = r'{"s": "e\u0301 \"q\" \\ \ud83d\ude00 \/", "t": "\u00e9"}'
    doc = decode_pieces(*raw)  # one character per token
    fields = by_path(doc.json_fields())
    s = fields["/s"]
    assert s.value == 'e\u0301 "q" \\ \U0001f600 /' == json.loads(raw)["s"]
    assert s.text == r"e\u0301 \"q\" \\ \ud83d\ude00 \/" == doc.text[s.start : s.end]
    assert s.tokens == tuple(range(s.start, s.end))  # one token per character here
    assert fields["/t"].value == "é"


def test_json_pointer_escapes_tilde_and_slash() -> None:
    doc = decode_pieces('{"a/b": {"m~n": [0, {"": 1}]}}')
    assert [f.path for f in doc.json_fields()] == ["", "/a~1b", "/a~1b/m~0n", "/a~1b/m~0n/0",
                                                   "/a~1b/m~0n/1", "/a~1b/m~0n/1/"]  # fmt: skip
    keys = [f.key for f in doc.json_fields()]
    assert keys == [None, "a/b", "m~n", 0, 1, ""]


def test_empty_string_is_scored_by_its_quotes() -> None:
    doc = tokbytes.decode(records([b'{"a": ', b'""', b"}"], [-0.5, -2.0, -0.25]))
    a = by_path(doc.json_fields())["/a"]
    assert (a.value, a.start, a.end, a.text) == ("", 7, 7, "")
    assert (a.tokens, a.logprob) == ((1,), -2.0)
    assert doc.span(a.start, a.end).tokens == ()  # the plain span is empty


def test_duplicate_keys_are_all_listed_and_the_value_keeps_the_last() -> None:
    doc = decode_pieces('{"a": 1, "a": 2}')
    fields = doc.json_fields()
    assert fields[0].value == {"a": 2} == json.loads(doc.text)
    assert [(f.path, f.value) for f in fields[1:]] == [("/a", 1), ("/a", 2)]


def test_structural_tokens_are_reported_apart() -> None:
    parts = [b'{"', b"sentiment", b'":', b' "', b"pos", b"itive", b'"}']
    doc = tokbytes.decode(records(parts, [0.0, -0.01, 0.0, -0.02, -0.7, -0.1, -0.03]))
    field = by_path(doc.json_fields())["/sentiment"]
    assert (field.tokens, field.syntax_tokens) == ((4, 5), (0, 2, 3, 6))
    assert math.isclose(field.logprob, -0.8)
    assert math.isclose(field.syntax_logprob, -0.05)
    assert math.isclose(field.prob, math.exp(-0.8))


def test_field_alternatives_read_as_value_text() -> None:
    alternatives = [
        {"token": ' "pos', "bytes": list(b' "pos'), "logprob": -0.3},
        {"token": ' "neg', "bytes": list(b' "neg'), "logprob": -1.5},
        {"token": " null", "bytes": list(b" null"), "logprob": -4.0},
        {"token": " \\xeb", "bytes": [32, 235], "logprob": -6.0},
        {"token": "<|end|>", "bytes": None, "logprob": -9999.0},
    ]
    tokens = records([b'{"s":', b' "pos', b'itive"}'], [0.0, -0.3, 0.0])
    tokens[1]["top_logprobs"] = alternatives
    doc = tokbytes.decode(tokens)
    field = by_path(doc.json_fields())["/s"]
    got = [(a.text, a.chosen, a.aligned) for a in field_alternatives(doc, field)]
    assert got == [
        ("pos", True, True),
        ("neg", False, True),
        (" null", False, False),
        (" \ufffd", False, False),
        ("<|end|>", False, False),
    ]
    assert field_alternatives(doc, doc.json_fields()[0]) == ()  # token 0 has none


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"capital": "서울', "'\"' closing the string"),
        ('{"a": [1, 2', "',' or ']' after the element /a/1"),
        ('{"a": tr', "the rest of 'true'"),
        ('{"a": -', "the rest of the number"),
        ('{"a": 1.', "the rest of the number"),
        ('{"a": "\\u12', "the rest of the escape sequence"),
        ('{"a": {"b": 1}', "',' or '}' after the member /a"),
        ("[", "a value"),
    ],
)
def test_truncated_json_says_where_it_stopped(text: str, expected: str) -> None:
    offset = len(text)
    doc = decode_pieces(*text)
    with pytest.raises(JsonError) as info:
        doc.json_fields()
    error = info.value
    assert isinstance(error, tokbytes.InputError) and isinstance(error, ValueError)
    assert (error.offset, error.truncated, error.token) == (offset, True, len(doc.tokens) - 1)
    assert error.expected.startswith(expected)
    assert f"character {offset} (line 1, column {offset + 1})" in str(error)
    assert "max_tokens" in str(error)


@pytest.mark.parametrize(
    ("text", "offset", "expected"),
    [
        ('{"a" 1}', 5, "':' after the key \"a\""),
        ('{"a": 1,}', 8, "'\"' starting a key"),
        ('{"a": 1,, "b": {"c": 2}}', 8, "'\"' starting a key"),
        ('{"a": [1, 2 3]}', 12, "',' or ']' after the element /a/1"),
        ("{'a': 1}", 1, "'\"' starting a key or '}'"),
        ('{"a": NaN}', 6, "a value (object"),
        ('{"a": 01}', 7, "',' or '}' after the member /a"),
        ('{"a": "x\\qy"}', 8, "a valid escape"),
        ('{"a":\n  "line\nbreak"}', 13, "an escaped control character (U+000A"),
        ("[1, 2, and 3]", 7, "a value"),
    ],
)
def test_invalid_json_says_where_and_what_was_expected(
    text: str, offset: int, expected: str
) -> None:
    doc = decode_pieces(*text)
    with pytest.raises(JsonError) as info:
        doc.json_fields()
    error = info.value
    assert (error.offset, error.truncated, error.token) == (offset, False, offset)
    assert error.expected.startswith(expected), error.expected
    line = text.count("\n", 0, offset) + 1
    column = offset - text.rfind("\n", 0, offset)
    assert (error.line, error.column) == (line, column)
    assert f"character {offset} (line {line}, column {column})" in str(error)
    assert f"found {json.dumps(text[offset])}" in str(error)
    with pytest.raises(ValueError):  # the reference agrees (NaN is not RFC 8259 JSON either)
        json.loads(text, parse_constant=reject_constant)


def reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259)")


def test_no_json_at_all_is_an_input_error() -> None:
    with pytest.raises(tokbytes.InputError, match="no JSON object or array found"):
        decode_pieces("I cannot answer that.").json_fields()


def test_find_json_works_on_plain_text() -> None:
    assert find_json('x = {"a": [true]} y') == (4, 17)
    assert find_json('{"a": 1} {"b": 2}', which=-1) == (9, 17)
    with pytest.raises(JsonError) as info:
        find_json('{"a": ')
    assert info.value.token is None and info.value.truncated


def test_the_docs_example_prints_what_the_docs_show(capsys: pytest.CaptureFixture[str]) -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "json_fields.md").read_text("utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```\n\n```text\n(.*?)^```", docs, re.S | re.M)
    assert blocks
    for code, shown in blocks:
        exec(compile(code, "docs/json_fields.md", "exec"), {})
        assert capsys.readouterr().out == shown
