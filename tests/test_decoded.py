"""decode(): round trip, scores against the oracle, offsets, the seed example, and lookups."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tokbytes
from tests import oracle
from tests.texts import payloads, records

SEED_TOKENS = [
    "대",
    "한",
    b"\xeb\xaf",
    b"\xbc",
    b"\xea\xb5",
    b"\xad",
    "의",
    " 수",
    "도",
    "는",
    " 서",
    b"\xec\x9a",
    b"\xb8",
    "입니다",
    ".",
]


def seed_records() -> list[dict[str, object]]:
    parts = [t.encode() if isinstance(t, str) else t for t in SEED_TOKENS]
    return records(parts, [-0.01 * (i + 1) for i in range(len(parts))])


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


# -- the seed example --------------------------------------------------------------------------


def test_seed_example_text_tokens_and_words() -> None:
    recs = seed_records()
    assert [r["token"] for r in recs][2:6] == ["\\xeb\\xaf", "\\xbc", "\\xea\\xb5", "\\xad"]
    doc = tokbytes.decode(recs)
    assert doc.text == "대한민국의 수도는 서울입니다."
    assert [t.text for t in doc.tokens] == [
        "대",
        "한",
        "",
        "민",
        "",
        "국",
        "의",
        " 수",
        "도",
        "는",
        " 서",
        "",
        "울",
        "입니다",
        ".",
    ]
    assert [w.text for w in doc.words] == ["대한민국의", "수도는", "서울입니다", "."]
    seoul = doc.find("서울")
    assert seoul is not None and seoul.tokens == (10, 11, 12)
    assert close(seoul.logprob, -0.11 - 0.12 - 0.13)
    min_char = doc.chars[2]
    assert (min_char.text, min_char.tokens, min_char.byte_start, min_char.byte_end) == (
        "민",
        (2, 3),
        6,
        9,
    )
    assert close(min_char.logprob, -0.03 - 0.04)
    assert doc.char_to_token(2) == 2 and doc.token_to_chars(3) == (2, 3)


# -- properties --------------------------------------------------------------------------------


@given(payloads())
def test_text_round_trips(p: tuple[str, list[bytes], list[float]]) -> None:
    text, parts, lps = p
    doc = tokbytes.decode(records(parts, lps))
    assert doc.text == text
    assert doc.bytes == text.encode()
    assert "".join(t.text for t in doc.tokens) == text


@given(payloads(), st.sampled_from(["char", "grapheme", "word"]))
def test_cover_scores_equal_the_oracle(p: tuple[str, list[bytes], list[float]], level: str) -> None:
    text, parts, lps = p
    doc = tokbytes.decode(records(parts, lps))
    spans = oracle.token_spans(parts)
    chars = oracle.char_byte_ranges(text)
    ranges = {
        "char": [(i, i + 1) for i in range(len(text))],
        "grapheme": oracle.graphemes(text),
        "word": oracle.words(text),
    }[level]
    units = list(doc.units(level))  # type: ignore[arg-type]
    assert [(u.start, u.end) for u in units] == ranges
    for u in units:
        byte_start, byte_end = chars[u.start][0], chars[u.end - 1][1]
        expected = oracle.touching(spans, byte_start, byte_end)
        assert (u.byte_start, u.byte_end) == (byte_start, byte_end)
        assert list(u.tokens) == expected
        assert u.logprob == oracle.cover(lps, expected)  # same order of summation: exact
        assert u.text == text[u.start : u.end] and u.bytes == text[u.start : u.end].encode()
        assert close(u.prob, math.exp(u.logprob))


@given(payloads(allow_empty=True), st.sampled_from(["char", "grapheme", "word"]))
def test_split_scores_add_up_to_the_total(
    p: tuple[str, list[bytes], list[float]], level: str
) -> None:
    text, parts, lps = p
    doc = tokbytes.decode(records(parts, lps), errors="strict", attribution="split")
    units = list(doc.units(level))  # type: ignore[arg-type]
    touched = {j for u in units for j in u.tokens}
    total = math.fsum(lps[j] for j in touched)
    assert math.isclose(math.fsum(u.logprob for u in units), total, rel_tol=1e-9, abs_tol=1e-6)
    if level != "word":  # chars and graphemes tile the text: every token with bytes is touched
        assert touched == {j for j, part in enumerate(parts) if part}
    spans = oracle.token_spans(parts)
    chars = oracle.char_byte_ranges(text)
    inside = None
    if level == "word":
        inside = [0] * len(parts)
        for u in units:
            for j, (s, e) in enumerate(spans):
                inside[j] += max(0, min(u.byte_end, e) - max(u.byte_start, s))
    for u in units:
        expected = oracle.split(lps, spans, chars[u.start][0], chars[u.end - 1][1], inside)
        assert math.isclose(u.logprob, expected, rel_tol=1e-9, abs_tol=1e-9)


@given(payloads(allow_empty=True))
def test_offsets_are_consistent_and_units_tile(p: tuple[str, list[bytes], list[float]]) -> None:
    text, parts, lps = p
    doc = tokbytes.decode(records(parts, lps))
    for level in ("char", "grapheme"):
        units = list(doc.units(level))  # type: ignore[arg-type]
        assert "".join(u.text for u in units) == text
        assert [u.end for u in units[:-1]] == [u.start for u in units[1:]]
        assert [u.byte_end for u in units[:-1]] == [u.byte_start for u in units[1:]]
        assert all(text[u.start : u.end] == u.text for u in units)
    previous_end = 0
    for w in doc.words:
        assert text[w.start : w.end] == w.text and w.start >= previous_end and not w.text.isspace()
        assert text[previous_end : w.start].isspace() or previous_end == w.start
        previous_end = w.end
    assert text[previous_end:].isspace() or previous_end == len(text)
    for j, part in enumerate(parts):
        start, end = doc.token_to_chars(j)
        token = doc.tokens[j]
        assert token.bytes == part and token.byte_end - token.byte_start == len(part)
        if part:
            assert doc.chars[start].byte_start <= token.byte_start < doc.chars[start].byte_end
            assert doc.chars[end - 1].byte_start < token.byte_end <= doc.chars[end - 1].byte_end
    for i in range(len(text)):
        j = doc.char_to_token(i)
        assert doc.tokens[j].byte_start <= doc.chars[i].byte_start < doc.tokens[j].byte_end


@given(payloads(), st.data())
def test_span_equals_oracle_and_find_finds(
    p: tuple[str, list[bytes], list[float]], data: st.DataObject
) -> None:
    text, parts, lps = p
    doc = tokbytes.decode(records(parts, lps))
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    unit = doc.span(start, end)
    assert (unit.start, unit.end, unit.text) == (start, end, text[start:end])
    prefix = len(text[:start].encode())
    expected = oracle.touching(
        oracle.token_spans(parts), prefix, prefix + len(text[start:end].encode())
    )
    assert list(unit.tokens) == expected and unit.logprob == oracle.cover(lps, expected)
    if end > start:
        found = doc.find(text[start:end])
        assert found is not None and found.text == text[start:end] and found.start <= start


@given(payloads(allow_empty=True), st.sampled_from(["cover", "split"]), st.data())
def test_span_scores_with_empty_tokens_equal_the_oracle(
    p: tuple[str, list[bytes], list[float]], attribution: str, data: st.DataObject
) -> None:
    """A span is scored on its own (two bisects, no owner map): tokens with no bytes count as
    0.0 and are not among its tokens, as in every other unit."""
    text, parts, lps = p
    doc = tokbytes.decode(records(parts, lps), attribution=attribution)  # type: ignore[arg-type]
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    unit = doc.span(start, end)
    spans = oracle.token_spans(parts)
    byte_start = len(text[:start].encode())
    byte_end = byte_start + len(text[start:end].encode())
    expected = oracle.touching(spans, byte_start, byte_end)
    assert list(unit.tokens) == expected
    if attribution == "cover":
        assert unit.logprob == oracle.cover(lps, expected)
    else:
        assert close(unit.logprob, oracle.split(lps, spans, byte_start, byte_end))


def test_span_over_an_empty_token_leaves_it_out() -> None:
    doc = tokbytes.decode(records([b"ab", b"", b"c\xc3", b"\xa9"], [-0.5, -4.0, -0.25, -1.0]))
    assert doc.text == "abcé"
    assert doc.span(1, 3).tokens == (0, 2) and doc.span(1, 3).logprob == -0.75
    assert doc.span(0, 4).tokens == (0, 2, 3) and doc.span(0, 4).logprob == -1.75
    split = tokbytes.decode(records([b"ab", b"", b"cd"], [-0.5, -4.0, -0.25]), attribution="split")
    assert split.span(1, 3).logprob == -0.5 / 2 + -0.25 / 2


# -- lookups and errors of the API -------------------------------------------------------------


def test_span_outside_text_is_an_input_error() -> None:
    doc = tokbytes.decode(seed_records())
    with pytest.raises(tokbytes.InputError, match=r"span\(3, 99\) is outside the text"):
        doc.span(3, 99)
    assert doc.find("도쿄") is None
    with pytest.raises(IndexError):
        doc.char_to_token(len(doc.text))
    with pytest.raises(IndexError):
        doc.token_to_chars(15)


def test_empty_output() -> None:
    doc = tokbytes.decode([])
    assert doc.text == "" and list(doc.chars) == [] and list(doc.words) == [] and doc.logprob == 0.0
    assert doc.span(0, 0).tokens == ()


def test_sdk_objects_are_accepted() -> None:
    completion_types = pytest.importorskip("openai.types.chat.chat_completion_token_logprob")
    objects = [
        completion_types.ChatCompletionTokenLogprob.model_validate(r) for r in seed_records()
    ]
    doc = tokbytes.decode(objects)
    assert doc.text == "대한민국의 수도는 서울입니다."
    assert doc.tokens[2].token == "\\xeb\\xaf" and doc.tokens[2].bytes == b"\xeb\xaf"


def test_top_logprobs_become_alternatives_with_bytes() -> None:
    recs = seed_records()
    recs[2]["top_logprobs"] = [
        {"token": "\\xeb\\xaf", "bytes": [235, 175], "logprob": -0.03},
        {"token": "<|end|>", "bytes": None, "logprob": -9999.0},
        {"token": "\\xea", "bytes": [234], "logprob": -4.5},
    ]
    alternatives = tokbytes.decode(recs).tokens[2].top_logprobs
    assert [a.bytes for a in alternatives] == [b"\xeb\xaf", None, b"\xea"]
    assert alternatives[1].text == "<|end|>" and alternatives[0].text == "\ufffd"


def test_invalid_attribution_and_level() -> None:
    with pytest.raises(tokbytes.InputError, match="attribution"):
        tokbytes.decode(seed_records(), attribution="mean")  # type: ignore[arg-type]
    with pytest.raises(tokbytes.InputError, match="level"):
        tokbytes.decode(seed_records()).units("sentence")  # type: ignore[arg-type]


def test_units_sequence_indexing_matches_iteration() -> None:
    doc = tokbytes.decode(seed_records())
    chars = list(doc.chars)
    assert (
        doc.chars[-1] == chars[-1] and doc.chars[3:6] == chars[3:6] and doc.chars[::5] == chars[::5]
    )
    assert len(doc.chars) == len(chars) == 16
    with pytest.raises(IndexError):
        doc.chars[16]


# -- issue 14: answers that were silently wrong --------------------------------------------------


def _refusal_completion(content_tokens: list[str] | None) -> dict[str, object]:
    refusal = ["I", " can't", " help"]
    return {
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": None, "refusal": "I can't help"},
                "logprobs": {
                    "content": None
                    if content_tokens is None
                    else [
                        {"token": t, "bytes": list(t.encode()), "logprob": -0.1}
                        for t in content_tokens
                    ],
                    "refusal": [
                        {"token": t, "bytes": list(t.encode()), "logprob": -0.2} for t in refusal
                    ],
                },
            }
        ],
    }


def test_a_refusal_decodes_on_the_auto_channel_and_says_so() -> None:
    doc = tokbytes.decode(_refusal_completion(None))
    assert (doc.text, doc.channel, len(doc.tokens)) == ("I can't help", "refusal", 3)
    assert doc.finish_reason == "stop"
    assert tokbytes.decode(_refusal_completion(["Hi"]), channel="refusal").channel == "refusal"
    with pytest.raises(tokbytes.InputError, match=r"content has no tokens but .*refusal has 3"):
        tokbytes.decode(_refusal_completion(None), channel="content")
    with pytest.raises(tokbytes.InputError, match="pass channel='refusal'"):
        tokbytes.decode(_refusal_completion([]), channel="content")


def test_valid_utf8_is_never_rewritten_without_a_reported_text() -> None:
    bare = [{"token": "Ġgantija", "logprob": -0.1}, {"token": ".", "logprob": -0.2}]
    for tokens in (bare, records(["Ġgantija".encode(), b"."], [-0.1, -0.2])):
        doc = tokbytes.decode(tokens)
        assert doc.text == "Ġgantija."  # Ġ is a Maltese letter; its bytes are its UTF-8
        (suspected,) = [p for p in doc.problems if p.kind == "format_suspected"]
        assert "token_format='bpe_symbols'" in suspected.message and "text=" in suspected.message
        assert tokbytes.decode(tokens, token_format="bpe_symbols").text == " gantija."
        assert tokbytes.decode(tokens, text=" gantija.").text == " gantija."  # evidence
    assert tokbytes.decode(records(["Ċirkewwa".encode()], [-0.1])).text == "Ċirkewwa"
    assert (
        tokbytes.decode(records(["Ċirkewwa".encode()], [-0.1]), token_format="bytes").problems == ()
    )


@given(payloads(allow_empty=True))
def test_no_valid_utf8_input_is_changed_without_a_reported_text(payload: object) -> None:
    text, parts, logprobs = payload  # type: ignore[misc]
    joined = b"".join(parts)
    doc = tokbytes.decode(records(parts, logprobs), errors="replace")
    assert doc.bytes == joined
    if joined.decode("utf-8", "replace") == text:
        assert doc.text == text


def test_logprob_of_the_whole_output_is_minus_infinity_below_the_smallest_float() -> None:
    doc = tokbytes.decode(records([b"a", b"b"], [-1e308, -1e308]))
    assert doc.logprob == -math.inf  # used to raise OverflowError
    assert doc.span(0, 2).logprob == -math.inf


def test_decode_reads_any_iterable_of_records() -> None:
    tokens = records([b"\xec\x84", b"\x9c", b"!"], [-0.5, -0.25, -0.1])
    expected = tokbytes.decode(tokens)
    for iterable in (iter(tokens), (t for t in tokens), tuple(tokens), map(dict, tokens)):
        doc = tokbytes.decode(iterable)
        assert doc.text == expected.text and list(doc.chars) == list(expected.chars)


def test_positions_outside_the_text_raise_one_error_that_is_both_kinds() -> None:
    doc = tokbytes.decode(records([b"abc"], [-0.5]))
    for bad in (
        lambda: doc.char_to_token(99),
        lambda: doc.token_to_chars(5),
        lambda: doc.tokens[3],
        lambda: doc.span(5, 3),
        lambda: doc.span(0, 4),
        lambda: doc.span(-1, 2),
        lambda: doc.chars[3],
        lambda: doc.graphemes[-4],
        lambda: doc.words[1],
    ):
        with pytest.raises(tokbytes.RangeError) as info:
            bad()
        assert isinstance(info.value, IndexError) and isinstance(info.value, tokbytes.InputError)


# -- reasoning tokens mixed into the logprobs -----------------------------------------------------

THINKING = ["<think>", "\n", "서울", "은", " 수도", "</think>", "\n\n", "서울", "입니다", "."]


def _think_records(pieces: list[str]) -> list[dict[str, object]]:
    return [
        {"token": p, "bytes": list(p.encode()), "logprob": -0.1 * (k + 1)}
        for k, p in enumerate(pieces)
    ]


def test_ollama_thinking_tokens_in_the_logprobs_give_the_content_its_own_tokens() -> None:
    reply = {
        "model": "qwen3",
        "message": {"role": "assistant", "content": "서울입니다.", "thinking": "서울은 수도"},
        "done": True,
        "done_reason": "stop",
        "logprobs": _think_records(THINKING),
    }
    doc = tokbytes.decode(reply)  # used to raise a text mismatch
    assert (doc.text, doc.channel, doc.problems) == ("서울입니다.", "content", ())
    assert [t.token for t in doc.tokens] == ["서울", "입니다", "."]
    assert [t.logprob for t in doc.tokens] == [r["logprob"] for r in reply["logprobs"][7:]]
    thought = tokbytes.decode(reply, channel="reasoning")
    assert thought.channel == "reasoning" and thought.text == "\n서울은 수도"
    assert [p.kind for p in thought.problems] == ["text_trimmed"]  # the reply strips the "\n"
    assert doc.finish_reason == "stop"


def test_reasoning_content_of_a_chat_reply_and_think_tags_without_a_reported_reasoning() -> None:
    records = _think_records(THINKING[1:])  # the template opened <think> in the prompt
    message = {"role": "assistant", "content": "서울입니다.", "reasoning_content": "\n서울은 수도"}
    reply = {
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": message,
                "logprobs": {"content": records, "refusal": None},
            }
        ],
    }
    assert tokbytes.decode(reply).text == "서울입니다."
    thought = tokbytes.decode(reply, channel="reasoning")
    assert (thought.text, thought.problems) == ("\n서울은 수도", ())
    bare = tokbytes.decode(_think_records(THINKING), text="서울입니다.")  # tags alone suffice
    assert bare.text == "서울입니다." and len(bare.tokens) == 3
    assert tokbytes.decode(_think_records(THINKING), channel="reasoning").text == "\n서울은 수도"
    with pytest.raises(tokbytes.InputError, match="no reasoning tokens"):
        tokbytes.decode(_think_records(["서울"]), channel="reasoning")
