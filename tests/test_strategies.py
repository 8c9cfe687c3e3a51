"""Invariants of the public Hypothesis strategies in ``tokbytes.strategies``.

Each generated example is checked against slow oracles written here (byte loops, not the
strategies' own helpers), so a bug in a strategy cannot hide behind the same bug in its check.
"""

from __future__ import annotations

import importlib
import math
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any

import hypothesis_profile
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from shared_data import cl100k_encoding

from tokbytes import strategies as tbs
from tokbytes.strategies import (
    MALFORMED_KINDS,
    SHAPES,
    TEXT_WEIGHTS,
    Malformed,
    Payload,
    malformed_payloads,
    payloads,
    stream_chunkings,
    texts,
    token_splits,
    tokenizer_payloads,
)

scaled = hypothesis_profile.scaled
#: For find() that checks a case is reachable: enough tries for rare cases, and no shrinking.
SEARCH = settings(max_examples=5000, database=None, phases=[Phase.generate])
#: For find() that checks what examples shrink to.
SHRINK = settings(max_examples=5000, database=None, derandomize=True)  # no flaky local minima


# -- slow oracles -------------------------------------------------------------------------------


def is_continuation(byte: int) -> bool:
    return 0x80 <= byte <= 0xBF


def token_bytes(tokens: list[dict[str, Any]]) -> list[bytes]:
    return [bytes(t["bytes"]) for t in tokens]


def char_starts(data: bytes) -> set[int]:
    """Byte offsets where a character starts, plus the end."""
    return {k for k, byte in enumerate(data) if not is_continuation(byte)} | {len(data)}


def token_starts(pieces: list[bytes]) -> list[int]:
    starts, offset = [], 0
    for piece in pieces:
        starts.append(offset)
        offset += len(piece)
    return starts


def splits_a_character(pieces: list[bytes]) -> bool:
    starts = char_starts(b"".join(pieces))
    return any(start not in starts for start in token_starts(pieces))


def legacy_token_bytes(token: str) -> bytes:
    if token.startswith("bytes:"):
        body = token[len("bytes:") :]
        assert re.fullmatch(r"(\\x[0-9a-f]{2})+", body), token
        return bytes(int(body[k + 2 : k + 4], 16) for k in range(0, len(body), 4))
    return token.encode()


def check_record(record: dict[str, Any], top: tuple[int, int]) -> None:
    """One valid OpenAI-style token record, with alternatives ordered as OpenAI orders them."""
    assert set(record) == {"token", "logprob", "bytes", "top_logprobs"}
    data = bytes(record["bytes"])
    assert data, "tokens are never empty"
    assert all(type(b) is int and 0 <= b <= 255 for b in record["bytes"])
    assert record["token"] == data.decode("utf-8", "backslashreplace")
    logprob = record["logprob"]
    assert isinstance(logprob, float) and not math.isnan(logprob) and logprob <= 0.0
    alts = record["top_logprobs"]
    assert len(alts) <= top[1]
    if top[0]:
        assert alts, "the chosen token is always listed when alternatives are requested"
    if alts:
        assert alts[0] == {"token": record["token"], "logprob": logprob, "bytes": record["bytes"]}
    seen = set()
    previous = logprob
    for alt in alts:
        assert set(alt) == {"token", "logprob", "bytes"}
        if alt["bytes"] is None:
            assert alt["token"].startswith("<")  # a special token
            key: Any = alt["token"]
        else:
            key = bytes(alt["bytes"])
            assert key and alt["token"] == key.decode("utf-8", "backslashreplace")
        assert key not in seen
        seen.add(key)
        assert alt["logprob"] <= previous <= 0.0
        previous = alt["logprob"]


def check_payload_tokens(payload: Payload, top: tuple[int, int] = (0, 3)) -> None:
    assert b"".join(token_bytes(payload.tokens)) == payload.text.encode("utf-8")
    for record in payload.tokens:
        check_record(record, top)


# -- the module ------------------------------------------------------------------------------------


def test_import_without_hypothesis_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("hypothesis", "hypothesis.strategies", "hypothesis.errors"):
        monkeypatch.setitem(sys.modules, name, None)  # None makes ``import name`` fail
    monkeypatch.delitem(sys.modules, "tokbytes.strategies")
    with pytest.raises(ImportError, match=re.escape('pip install "tokbytes[testing]"')):
        importlib.import_module("tokbytes.strategies")


def test_all_names_exist_and_are_public() -> None:
    assert all(hasattr(tbs, name) and not name.startswith("_") for name in tbs.__all__)
    defined_here = {
        name
        for name, value in vars(tbs).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == tbs.__name__
    }
    assert defined_here <= set(tbs.__all__)
    assert {"MALFORMED_KINDS", "SHAPES", "TEXT_WEIGHTS"} <= set(tbs.__all__)


# -- texts -----------------------------------------------------------------------------------------


@given(st.data())
def test_texts_respect_sizes_and_are_valid_unicode(data: st.DataObject) -> None:
    min_size = data.draw(st.integers(0, 10), label="min_size")
    max_size = data.draw(st.integers(min_size, 50), label="max_size")
    text = data.draw(texts(min_size=min_size, max_size=max_size), label="text")
    assert isinstance(text, str) and min_size <= len(text) <= max_size
    text.encode("utf-8")  # no lone surrogates


@given(texts(weights={"hangul": 1}, min_size=1))
def test_texts_weights_restrict_the_kinds(text: str) -> None:
    for char in text:
        assert 0xAC00 <= ord(char) <= 0xD7A3 or 0x1100 <= ord(char) <= 0x11FF, hex(ord(char))


HARD_CASES = {
    "multi-byte": lambda s: len(s.encode()) > len(s),
    "4-byte Ext-B": lambda s: any(0x20000 <= ord(c) <= 0x2A6DF for c in s),
    "conjoining jamo": lambda s: any(0x1100 <= ord(c) <= 0x11FF for c in s),
    "kana": lambda s: any(0x3041 <= ord(c) <= 0x30FA for c in s),
    "Thai": lambda s: any(0x0E01 <= ord(c) <= 0x0E4E for c in s),
    "virama": lambda s: "\u094d" in s,
    "Arabic": lambda s: any(0x0621 <= ord(c) <= 0x064A for c in s),
    "Cyrillic": lambda s: any(0x0410 <= ord(c) <= 0x044F for c in s),
    "ZWJ sequence": lambda s: re.search("[\U0001f300-\U0001faff]\ufe0f?\u200d", s),
    "flag": lambda s: re.search("[\U0001f1e6-\U0001f1ff]{2}", s),
    "skin tone": lambda s: re.search("[\U0001f3fb-\U0001f3ff]", s),
    "keycap": lambda s: "\u20e3" in s,
    "combining mark": lambda s: any(unicodedata.combining(c) for c in s),
    "CRLF": lambda s: "\r\n" in s,
    "tab": lambda s: "\t" in s,
    "zero-width": lambda s: re.search("[\u200b\u200c\u200d]", s),
    "no-break space": lambda s: "\u00a0" in s,
    "apostrophe word": lambda s: "don't" in s,
}


@pytest.mark.parametrize("name", HARD_CASES)
def test_texts_reach_every_hard_case(name: str) -> None:
    found = find(texts(), HARD_CASES[name], settings=SEARCH)
    assert HARD_CASES[name](found)


def test_texts_shrink_to_ascii_or_one_character() -> None:
    assert find(texts(), lambda s: len(s) > 0, settings=SHRINK) == "a"
    # usually "가"; the shrinker may stop at another single character (a local minimum)
    minimal = find(texts(), lambda s: len(s.encode()) > len(s), settings=SHRINK)
    assert len(minimal) == 1 and 2 <= len(minimal.encode()) <= 4


# -- token_splits ----------------------------------------------------------------------------------


@given(st.data())
def test_token_splits_join_to_the_text(data: st.DataObject) -> None:
    text = data.draw(texts(), label="text")
    limit = data.draw(st.integers(1, 10), label="max_token_bytes")
    pieces = data.draw(token_splits(text, max_token_bytes=limit), label="pieces")
    assert b"".join(pieces) == text.encode()
    assert all(isinstance(p, bytes) and 1 <= len(p) <= limit for p in pieces)


def test_token_splits_cut_inside_characters_and_shrink_to_fewer_cuts() -> None:
    assert find(token_splits("가나"), lambda s: True, settings=SHRINK) == ["가나".encode()]
    inside = find(token_splits("가나"), splits_a_character, settings=SHRINK)
    assert len(inside) == 2 and b"".join(inside) == "가나".encode()
    assert find(token_splits("abc", max_token_bytes=1), lambda s: True) == [b"a", b"b", b"c"]
    assert find(token_splits(""), lambda s: True) == []


# -- payloads --------------------------------------------------------------------------------------


@given(payloads())
def test_payload_tokens_spell_the_text(payload: Payload) -> None:
    assert payload.shape == "records"
    check_payload_tokens(payload)
    assert payload.data == payload.tokens


@given(payloads(top_logprobs=2, max_token_bytes=3))
def test_payload_options_are_obeyed(payload: Payload) -> None:
    check_payload_tokens(payload, (2, 2))
    assert all(len(t["bytes"]) <= 3 for t in payload.tokens)


@given(payloads(top_logprobs=5, special_tokens=False, sentinels=False))
def test_payload_without_specials_and_sentinels(payload: Payload) -> None:
    check_payload_tokens(payload, (5, 5))
    for token in payload.tokens:
        for alt in token["top_logprobs"]:
            assert alt["bytes"] is not None and alt["logprob"] != -9999.0


@given(payloads(logprobs=st.just(-0.5), top_logprobs=0))
def test_payload_logprobs_strategy_is_used(payload: Payload) -> None:
    assert all(t["logprob"] == -0.5 for t in payload.tokens)


EDGE_VALUES = {
    "logprob exactly 0.0": lambda t: t["logprob"] == 0.0,
    "tiny logprob": lambda t: -1e-5 < t["logprob"] < 0.0,
    "large negative logprob": lambda t: t["logprob"] <= -25.0,
    "-9999.0 sentinel": lambda t: any(a["logprob"] == -9999.0 for a in t["top_logprobs"]),
    "special token": lambda t: any(a["bytes"] is None for a in t["top_logprobs"]),
    "partial alternative": lambda t: any(
        a["bytes"] and "\\x" in a["token"] for a in t["top_logprobs"][1:]
    ),
    "continuation-byte token": lambda t: is_continuation(t["bytes"][0]),
}


@pytest.mark.parametrize("name", EDGE_VALUES)
def test_payloads_reach_edge_values(name: str) -> None:
    found = find(payloads(), lambda p: any(map(EDGE_VALUES[name], p.tokens)), settings=SEARCH)
    assert any(map(EDGE_VALUES[name], found.tokens))


@given(payloads(shape="chat_completion"))
def test_chat_completion_shape(payload: Payload) -> None:
    check_payload_tokens(payload)
    data = payload.data
    assert data["object"] == "chat.completion"
    (choice,) = data["choices"]
    assert choice["message"] == {"role": "assistant", "content": payload.text, "refusal": None}
    assert choice["logprobs"] == {"content": payload.tokens, "refusal": None}
    assert choice["logprobs"]["content"] is not payload.tokens  # a copy: safe to mutate


@given(payloads(shape="chunks"))
def test_chunks_shape_streams_the_text_without_half_characters(payload: Payload) -> None:
    check_payload_tokens(payload)
    chunks = payload.data
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    if chunks[-1]["choices"] == []:  # the optional usage chunk
        assert chunks.pop()["usage"]["completion_tokens"] == len(payload.tokens)
    first, *middle, last = (c["choices"][0] for c in chunks)
    assert first["delta"]["role"] == "assistant" and first["logprobs"]["content"] == []
    assert last == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    tokens: list[dict[str, Any]] = []
    shown = ""
    for choice in middle:
        tokens += choice["logprobs"]["content"]
        shown += choice["delta"]["content"]
        # the text shown so far is every character whose last byte has arrived
        sent = b"".join(token_bytes(tokens))
        assert shown == sent.decode("utf-8", "ignore")
        assert sent.startswith(shown.encode()) and len(sent) - len(shown.encode()) < 4
    assert tokens == payload.tokens and shown == payload.text


@given(payloads(shape="legacy"))
def test_legacy_shape_uses_bytes_prefix_and_character_offsets(payload: Payload) -> None:
    check_payload_tokens(payload)
    (choice,) = payload.data["choices"]
    assert choice["text"] == payload.text
    logprobs = choice["logprobs"]
    pieces = token_bytes(payload.tokens)
    assert [legacy_token_bytes(t) for t in logprobs["tokens"]] == pieces
    for token, piece in zip(logprobs["tokens"], pieces):
        assert token.startswith("bytes:") != (piece.decode("utf-8", "replace") == token)
    assert logprobs["token_logprobs"] == [t["logprob"] for t in payload.tokens]
    for top, token, record in zip(logprobs["top_logprobs"], logprobs["tokens"], payload.tokens):
        assert isinstance(top, dict) and len(top) <= len(record["top_logprobs"])
        if record["top_logprobs"]:  # the chosen token first, under its legacy spelling
            assert next(iter(top.items())) == (token, record["logprob"])
    # text_offset counts characters; a token starting inside a character shares its offset
    joined = b"".join(pieces)
    offsets = logprobs["text_offset"]
    base = offsets[0] if offsets else 0
    for start, offset in zip(token_starts(pieces), offsets):
        holding_char = sum(not is_continuation(b) for b in joined[: start + 1]) - 1
        assert offset - base == holding_char


@given(payloads(shape="langchain"))
def test_langchain_shape(payload: Payload) -> None:
    messages = pytest.importorskip("langchain_core.messages")
    check_payload_tokens(payload)
    assert isinstance(payload.data, messages.AIMessage)
    assert payload.data.content == payload.text
    assert payload.data.response_metadata["logprobs"] == {
        "content": payload.tokens,
        "refusal": None,
    }


def test_shapes_are_documented() -> None:
    assert SHAPES == ("records", "chat_completion", "chunks", "legacy", "langchain")
    for shape in SHAPES:
        assert f'``"{shape}"``' in (Payload.__doc__ or "")


def test_minimal_split_character_is_two_tokens_of_one_character() -> None:
    minimal = find(payloads(), lambda p: splits_a_character(token_bytes(p.tokens)), settings=SHRINK)
    assert len(minimal.tokens) == 2
    # Usually one character; the shrinker can stop at a local minimum such as "a🇰🇷" cut inside
    # the second indicator (seen in 2 of 40 random runs), still two tokens and readable.
    assert 1 <= len(minimal.text) <= 3 and len(minimal.text.encode()) > len(minimal.text)
    assert all(t["top_logprobs"] == [] and t["logprob"] == 0.0 for t in minimal.tokens)


# -- stream_chunkings ------------------------------------------------------------------------------


@given(st.data())
def test_stream_chunkings_concatenate_to_the_input(data: st.DataObject) -> None:
    items = data.draw(st.lists(st.integers(), max_size=12), label="items")
    chunks = data.draw(stream_chunkings(items), label="chunks")
    assert [x for chunk in chunks for x in chunk] == items
    assert all(isinstance(chunk, list) for chunk in chunks)


@given(payloads().flatmap(lambda p: st.tuples(st.just(p), stream_chunkings(p))))
def test_stream_chunkings_accept_a_payload(pair: tuple[Payload, list[list[Any]]]) -> None:
    payload, chunks = pair
    assert [t for chunk in chunks for t in chunk] == payload.tokens


def test_stream_chunkings_reach_empty_and_single_token_chunks() -> None:
    items = list(range(6))
    assert find(stream_chunkings(items), lambda c: [] in c, settings=SEARCH)
    assert find(stream_chunkings(items), lambda c: [3] in c, settings=SEARCH)
    assert find(stream_chunkings(items), lambda c: True) == [items]


# -- malformed_payloads ----------------------------------------------------------------------------

RECORD_FIELD_KINDS = {
    "bytes_out_of_range": lambda r: any(b not in range(256) for b in r["bytes"]),
    "bytes_wrong_type": lambda r: (
        not isinstance(r["bytes"], list) or not all(type(b) is int for b in r["bytes"])
    ),
    "token_not_string": lambda r: "bytes" not in r and not isinstance(r["token"], str),
    "logprob_missing": lambda r: "logprob" not in r,
    "logprob_none": lambda r: r["logprob"] is None,
    "logprob_not_number": lambda r: type(r["logprob"]) not in (int, float),
    "logprob_nan": lambda r: isinstance(r["logprob"], float) and math.isnan(r["logprob"]),
    "logprob_positive": lambda r: isinstance(r["logprob"], float) and r["logprob"] > 1e-6,
}


def is_valid_record(record: Any) -> bool:
    try:
        check_record(record, (0, 20))
    except (AssertionError, KeyError, TypeError, ValueError):
        return False
    return True


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_malformed_payloads_are_really_malformed(kind: str) -> None:
    @settings(max_examples=scaled(12))
    @given(malformed_payloads(kinds=[kind]))
    def check(bad: Malformed) -> None:
        assert bad.kind == kind
        check_malformed(bad)

    check()


@given(malformed_payloads())
def test_malformed_payloads_mix_every_kind(bad: Malformed) -> None:
    check_malformed(bad)


def check_malformed(bad: Malformed) -> None:
    assert bad.kind in MALFORMED_KINDS and bad.description
    if bad.kind == "unknown_container":
        assert bad.token is None and not isinstance(bad.data, list)
        return
    records = bad.data
    assert isinstance(records, list) and isinstance(bad.token, int)
    assert f"token {bad.token}" in bad.description
    if bad.kind in RECORD_FIELD_KINDS or bad.kind == "record_wrong_type":
        # exactly one bad record, at the index the error must name; the bytes still decode
        bad_indices = [k for k, r in enumerate(records) if not is_valid_record(r)]
        assert bad_indices == [bad.token]
        if bad.kind == "record_wrong_type":
            assert bad.token > 0 and not isinstance(records[bad.token], dict)
        else:
            assert RECORD_FIELD_KINDS[bad.kind](records[bad.token])
        if bad.kind.startswith("logprob_"):  # only the logprob is wrong: the bytes still decode
            b"".join(token_bytes(records)).decode("utf-8")
        return
    # invalid_utf8 / truncated_utf8: every record is well formed, the joined bytes are not UTF-8
    assert all(is_valid_record(r) for r in records)
    pieces = token_bytes(records)
    joined = b"".join(pieces)
    with pytest.raises(UnicodeDecodeError) as info:
        joined.decode("utf-8")
    first_bad = info.value.start
    holder = max(k for k, start in enumerate(token_starts(pieces)) if start <= first_bad)
    assert bad.token == holder and pieces[holder]
    truncated = joined[first_bad:].decode("utf-8", "ignore") == "" and len(joined) - first_bad < 4
    if bad.kind == "truncated_utf8":
        assert truncated and info.value.reason == "unexpected end of data"
    else:
        assert info.value.reason != "unexpected end of data"


# -- tokenizer_payloads ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cl100k() -> Any:
    return cl100k_encoding()


def test_tokenizer_payloads_match_the_recorded_api_split(cl100k: Any) -> None:
    # gpt-3.5-turbo returned exactly these 15 tokens for this answer (shared/data/README.md)
    text = "대한민국의 수도는 서울입니다."
    strategy = tokenizer_payloads(cl100k, st.just(text), top_logprobs=0)
    payload = find(strategy, lambda p: True)
    assert [t["token"] for t in payload.tokens] == [
        "대", "한", "\\xeb\\xaf", "\\xbc", "\\xea\\xb5", "\\xad", "의", " 수", "도", "는",
        " 서", "\\xec\\x9a", "\\xb8", "입니다", ".",
    ]  # fmt: skip


def test_tokenizer_payloads_split_like_the_encoding(cl100k: Any) -> None:
    @settings(max_examples=scaled(40))
    @given(tokenizer_payloads(cl100k, shape="chat_completion"))
    def check(payload: Payload) -> None:
        check_payload_tokens(payload)
        ranks = cl100k.encode(payload.text, disallowed_special=())
        assert token_bytes(payload.tokens) == [cl100k.decode_single_token_bytes(r) for r in ranks]

    check()


# -- argument validation ---------------------------------------------------------------------------

BAD_CALLS = {
    "texts(min_size=-1)": lambda: texts(min_size=-1),
    "texts(max_size=1.5)": lambda: texts(max_size=1.5),  # type: ignore[arg-type]
    "texts(min_size=True)": lambda: texts(min_size=True),
    "texts(min_size > max_size)": lambda: texts(min_size=5, max_size=2),
    "texts(weights=unknown kind)": lambda: texts(weights={"klingon": 1}),
    "texts(weights=negative)": lambda: texts(weights={"ascii": -1}),
    "texts(weights=all zero)": lambda: texts(weights={"ascii": 0}),
    "texts(weights=list)": lambda: texts(weights=["ascii"]),  # type: ignore[arg-type]
    "token_splits(bytes)": lambda: token_splits(b"x"),  # type: ignore[arg-type]
    "token_splits(surrogate)": lambda: token_splits("\ud800"),
    "token_splits(max_token_bytes=0)": lambda: token_splits("x", max_token_bytes=0),
    "payloads(shape=xml)": lambda: payloads(shape="xml"),
    "payloads(top_logprobs=21)": lambda: payloads(top_logprobs=21),
    "payloads(top_logprobs=-1)": lambda: payloads(top_logprobs=-1),
    "payloads(top_logprobs=(3, 1))": lambda: payloads(top_logprobs=(3, 1)),
    "payloads(top_logprobs='2')": lambda: payloads(top_logprobs="2"),  # type: ignore[arg-type]
    "payloads(texts=str)": lambda: payloads("abc"),  # type: ignore[arg-type]
    "payloads(logprobs=float)": lambda: payloads(logprobs=-0.5),  # type: ignore[arg-type]
    "payloads(special_tokens=str)": lambda: payloads(special_tokens="yes"),  # type: ignore[arg-type]
    "payloads(max_token_bytes=0)": lambda: payloads(max_token_bytes=0),
    "stream_chunkings(str)": lambda: stream_chunkings("abc"),
    "stream_chunkings(int)": lambda: stream_chunkings(5),  # type: ignore[arg-type]
    "malformed_payloads(kinds=unknown)": lambda: malformed_payloads(kinds=["nope"]),
    "malformed_payloads(kinds=str)": lambda: malformed_payloads(kinds="invalid_utf8"),
    "malformed_payloads(kinds=[])": lambda: malformed_payloads(kinds=[]),
    "tokenizer_payloads(object)": lambda: tokenizer_payloads(object()),
}


@pytest.mark.parametrize("call", BAD_CALLS)
def test_invalid_arguments_raise_at_call_time(call: str) -> None:
    with pytest.raises(InvalidArgument):
        BAD_CALLS[call]()


def test_text_weights_are_read_only_and_complete() -> None:
    with pytest.raises(TypeError):
        TEXT_WEIGHTS["ascii"] = 0  # type: ignore[index]
    assert list(TEXT_WEIGHTS)[:2] == ["ascii", "hangul"]
    texts(weights={**TEXT_WEIGHTS, "ascii": 0})  # a documented idiom


# -- docs ------------------------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs" / "strategies.md"


def test_docs_examples_run() -> None:
    blocks = re.findall(r"^```python\n(.*?)^```", DOCS.read_text(encoding="utf-8"), re.S | re.M)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, str(DOCS), "exec"), {"__name__": "docs_strategies"})
