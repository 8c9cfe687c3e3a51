"""Byte recovery: corrupt a clean payload the way each provider does, recover it with the text.

The properties draw clean payloads from ``tokbytes.strategies.payloads()``, corrupt them as
vLLM, Ollama, lmdeploy, SentencePiece servers and legacy completions do, and hand tokbytes the
corrupted tokens plus the final text. The recovered text must equal the clean one; every unit
must either equal the clean unit (same tokens, same cover score) or say that its score is unknown
(NaN); and ``problems`` must name every token whose bytes were changed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profile import scaled
from shared_data import require_shared

import tokbytes
from tokbytes.recovery import bytes_to_bpe_symbols
from tokbytes.strategies import payloads

Records = list[dict[str, Any]]
FFFD = "\ufffd"


# -- corruptions (what each provider sends instead of the bytes) ---------------------------------


def _valid(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _record(token: str, data: bytes | None, logprob: float) -> dict[str, Any]:
    record: dict[str, Any] = {"token": token, "logprob": logprob}
    if data is not None:
        record["bytes"] = list(data)
    return record


def fffd_python(tokens: Records) -> Records:
    """vLLM before #28874: each token decoded with ``errors="replace"``, ``bytes`` its UTF-8."""
    out = []
    for t in tokens:
        text = bytes(t["bytes"]).decode("utf-8", "replace")
        out.append(_record(text, text.encode(), t["logprob"]))
    return out


def fffd_go(tokens: Records) -> Records:
    """Ollama: each run of invalid bytes becomes one U+FFFD (Go's ``strings.ToValidUTF8``)."""
    out = []
    for t in tokens:
        text = bytes(t["bytes"]).decode("utf-8", "replace")
        while FFFD * 2 in text:
            text = text.replace(FFFD * 2, FFFD)
        out.append(_record(text, text.encode(), t["logprob"]))
    return out


def empty_fragments(tokens: Records) -> Records:
    """vLLM after #28874: a token that is not valid UTF-8 on its own is ``""`` with no bytes."""
    out = []
    for t in tokens:
        data = bytes(t["bytes"])
        out.append(_record("", b"", t["logprob"]) if not _valid(data) else dict(t))
    return out


def bpe_symbols(tokens: Records) -> Records:
    """vLLM with Qwen, lmdeploy: the token's BPE symbols, ``bytes`` = their UTF-8."""
    out = []
    for t in tokens:
        symbols = bytes_to_bpe_symbols(bytes(t["bytes"]))
        out.append(_record(symbols, symbols.encode(), t["logprob"]))
    return out


def bytes_dropped(tokens: Records) -> Records:
    """Responses API deltas, TGI: no ``bytes``; partial bytes written ``\\xNN`` in the token."""
    return [_record(t["token"], None, t["logprob"]) for t in tokens]


def legacy_escaped(tokens: Records) -> Records:
    """Legacy completions: partial tokens written ``bytes:\\xNN…``, no ``bytes`` field."""
    out = []
    for t in tokens:
        data = bytes(t["bytes"])
        token = t["token"] if _valid(data) else "bytes:" + "".join(f"\\x{b:02x}" for b in data)
        out.append(_record(token, None, t["logprob"]))
    return out


def escaped_bytes(tokens: Records) -> Records:
    """A server whose ``bytes`` are the UTF-8 of the printed token (``\\xeb`` as 4 characters)."""
    return [_record(t["token"], t["token"].encode(), t["logprob"]) for t in tokens]


def byte_pieces(tokens: Records) -> Records:
    """SentencePiece byte fallback: one-byte tokens that are not UTF-8 become ``<0xNN>``."""
    out = []
    for t in tokens:
        data = bytes(t["bytes"])
        if len(data) == 1 and not _valid(data):
            token = f"<0x{data[0]:02X}>"
            out.append(_record(token, token.encode(), t["logprob"]))
        else:
            out.append(dict(t))
    return out


def one_byte_partials(tokens: Records) -> Records:
    """The clean payload with every partial token cut into one-byte tokens (byte fallback)."""
    out: Records = []
    for t in tokens:
        data = bytes(t["bytes"])
        if _valid(data):
            out.append(dict(t))
            continue
        for k, b in enumerate(data):
            piece = bytes([b])
            out.append(_record(piece.decode("utf-8", "backslashreplace"), piece, t["logprob"] * k))
    return out


# corruption, expected bytes_source of a changed token, whether all information survives
EXACT: dict[str, tuple[Callable[[Records], Records], str]] = {
    "bpe_symbols": (bpe_symbols, "bpe_symbols"),
    "bytes_dropped": (bytes_dropped, "escaped"),
    "legacy_escaped": (legacy_escaped, "escaped"),
    "escaped_bytes": (escaped_bytes, "escaped"),
}
LOSSY: dict[str, Callable[[Records], Records]] = {
    "fffd_python": fffd_python,
    "fffd_go": fffd_go,
    "empty_fragments": empty_fragments,
}


def clean_tokens(payload: Any) -> Records:
    return [{k: t[k] for k in ("token", "bytes", "logprob")} for t in payload.tokens]


def assert_units_honest(doc: tokbytes.Decoded, clean: tokbytes.Decoded, *, exact: bool) -> None:
    """Every unit equals the clean one, or (unless ``exact``) says its score is unknown."""
    assert doc.text == clean.text
    for level in ("char", "grapheme", "word"):
        ours, theirs = list(doc.units(level)), list(clean.units(level))  # type: ignore[arg-type]
        assert [(u.text, u.start, u.end, u.byte_start, u.byte_end) for u in ours] == [
            (u.text, u.start, u.end, u.byte_start, u.byte_end) for u in theirs
        ]
        for u, c in zip(ours, theirs):
            if math.isnan(u.logprob) and not exact:
                continue
            assert (u.tokens, u.logprob) == (c.tokens, c.logprob), (level, u, c)


def assert_repairs_named(doc: tokbytes.Decoded, corrupted: Records) -> None:
    """``problems`` names every token whose bytes differ from what the provider sent."""
    named = {p.token for p in doc.problems if p.kind in ("bytes_recovered", "bytes_inferred")}
    for j, token in enumerate(doc.tokens):
        sent = corrupted[j].get("bytes")
        if sent is None or bytes(sent) != token.bytes:
            assert j in named, (j, token)
            assert token.bytes_source != "bytes"
        if token.bytes_source == "aligned":
            assert j in named


# -- properties ------------------------------------------------------------------------------------


@settings(max_examples=scaled(40))
@given(payloads(top_logprobs=0), st.sampled_from(sorted(EXACT)))
def test_exact_corruptions_recover_the_clean_payload(payload: Any, name: str) -> None:
    corrupt, source = EXACT[name]
    clean_records = clean_tokens(payload)
    corrupted = corrupt(clean_records)
    clean = tokbytes.decode(clean_records)
    doc = tokbytes.decode(corrupted, text=payload.text)
    assert_units_honest(doc, clean, exact=True)
    assert [t.bytes for t in doc.tokens] == [t.bytes for t in clean.tokens]
    assert_repairs_named(doc, corrupted)
    for token, sent in zip(doc.tokens, corrupted):
        if sent.get("bytes") is not None and bytes(sent["bytes"]) != token.bytes:
            assert token.bytes_source == source
    assert not any(p.kind == "text_mismatch" for p in doc.problems)


@settings(max_examples=scaled(40))
@given(payloads(top_logprobs=0))
def test_byte_fallback_pieces_recover_the_clean_payload(payload: Any) -> None:
    clean_records = one_byte_partials(clean_tokens(payload))
    corrupted = byte_pieces(clean_records)
    clean = tokbytes.decode(clean_records)
    sent = b"".join(bytes(r["bytes"]) for r in corrupted)
    as_given = tokbytes.decode(corrupted)  # no text: valid UTF-8 is kept, the suspicion named
    assert as_given.bytes == sent
    assert {p.kind for p in as_given.problems} <= {"format_suspected", "empty_token"}
    if any(r["token"].startswith("<0x") for r in corrupted) and payload.text.isprintable():
        assert "token_format='byte_fallback'" in as_given.problems[-1].message
    for text, token_format in ((payload.text, "auto"), (None, "byte_fallback")):
        doc = tokbytes.decode(corrupted, text=text, token_format=token_format)  # type: ignore[arg-type]
        assert_units_honest(doc, clean, exact=True)
        assert_repairs_named(doc, corrupted)
        assert all(
            t.bytes_source == "byte_fallback"
            for t, r in zip(doc.tokens, corrupted)
            if r["token"].startswith("<0x")
        )


@settings(max_examples=scaled(60))
@given(
    payloads(top_logprobs=0), st.sampled_from(sorted(LOSSY)), st.sampled_from(["cover", "split"])
)
def test_lossy_corruptions_recover_text_and_never_invent_scores(
    payload: Any, name: str, attribution: str
) -> None:
    clean_records = clean_tokens(payload)
    corrupted = LOSSY[name](clean_records)
    doc = tokbytes.decode(corrupted, text=payload.text, attribution=attribution)  # type: ignore[arg-type]
    assert doc.text == payload.text and doc.bytes == payload.text.encode()
    assert not any(p.kind == "text_mismatch" for p in doc.problems)
    assert_repairs_named(doc, corrupted)
    if attribution == "cover":
        assert_units_honest(doc, tokbytes.decode(clean_records), exact=False)


def _partials_stay_in_one_character(tokens: Records, text: str) -> bool:
    """Every token that is not UTF-8 on its own lies inside one character, and neighbouring
    such tokens lie inside the same one: then the tokens of every character are certain."""
    data = text.encode()
    starts = [i for i in range(len(data) + 1) if i == len(data) or data[i] & 0xC0 != 0x80]
    pos, previous = 0, None
    for t in tokens:
        part = bytes(t["bytes"])
        end = pos + len(part)
        if not _valid(part):
            char = max(s for s in starts if s <= pos)
            if any(pos < s < end for s in starts):
                return False
            if previous is not None and previous != char:
                return False
            previous = char
        else:
            previous = None
        pos = end
    return True


@settings(max_examples=scaled(40))
@given(payloads(top_logprobs=0), st.sampled_from(["fffd_python", "fffd_go"]))
def test_fffd_fragments_inside_one_character_score_exactly(payload: Any, name: str) -> None:
    clean_records = clean_tokens(payload)
    if not _partials_stay_in_one_character(clean_records, payload.text) or FFFD in payload.text:
        return
    doc = tokbytes.decode(LOSSY[name](clean_records), text=payload.text)
    assert_units_honest(doc, tokbytes.decode(clean_records), exact=True)


@settings(max_examples=scaled(30))
@given(payloads(top_logprobs=0), st.data())
def test_a_text_the_tokens_cannot_spell_is_an_error_or_a_problem(
    payload: Any, data: st.DataObject
) -> None:
    records = clean_tokens(payload)
    other = data.draw(st.text(min_size=1, max_size=5).filter(lambda s: s != payload.text))
    reported = payload.text + other if data.draw(st.booleans()) else other + payload.text
    # U+FFFD after the tokens' text is a cut-off answer's held character (llama.cpp), not a
    # mismatch: docs/recovery.md
    held = reported.startswith(payload.text) and set(reported[len(payload.text) :]) == {FFFD}
    with pytest.raises(tokbytes.DecodeError) as info:
        tokbytes.decode(records, text=reported)
    assert "reported text" in str(info.value)
    assert info.value.truncated == held
    doc = tokbytes.decode(records, text=reported, errors="replace")
    assert doc.text == payload.text
    mismatches = [p for p in doc.problems if p.kind == ("truncated" if held else "text_mismatch")]
    assert len(mismatches) == 1
    # the token concerned, or none where there are no tokens
    token = mismatches[0].token
    assert token is None if not records else 0 <= token < len(records)
    assert info.value.token == token


# -- examples --------------------------------------------------------------------------------------


@pytest.mark.parametrize("records", [[], [{"token": "ab", "bytes": [97, 98], "logprob": -0.1}]])
def test_only_u_fffd_after_the_tokens_text_is_a_cut_not_a_mismatch(records: list[Any]) -> None:
    spelled = "".join(r["token"] for r in records)
    for tail, kind in ((FFFD, "truncated"), (FFFD * 2, "truncated"), ("x" + FFFD, "text_mismatch")):
        with pytest.raises(tokbytes.DecodeError) as info:
            tokbytes.decode(records, text=spelled + tail)
        assert info.value.truncated == (kind == "truncated")
        doc = tokbytes.decode(records, text=spelled + tail, errors="replace")
        assert doc.text == spelled and [p.kind for p in doc.problems] == [kind]
        # the last token, or none (not a "token 0" that does not exist)
        last = len(records) - 1 if records else None
        assert info.value.token == doc.problems[0].token == last
        assert doc.problems[0].message.startswith("no token: " if last is None else "token 0: ")


def test_bytes_that_spell_the_text_are_never_changed() -> None:
    # "Ġ" and "<0x41>" as real text: the bytes already decode to the reported text.
    records = [
        {"token": "Ġ", "bytes": list("Ġ".encode()), "logprob": -0.1},
        {"token": "<0x41>", "bytes": list(b"<0x41>"), "logprob": -0.2},
    ]
    doc = tokbytes.decode(records, text="Ġ<0x41>")
    assert doc.text == "Ġ<0x41>" and doc.problems == ()
    assert [t.bytes_source for t in doc.tokens] == ["bytes", "bytes"]


def test_without_text_plain_latin_is_not_taken_for_bpe_symbols() -> None:
    # All BPE symbols; no shifted ones, or ones that would invert to NUL or a lone CR: left alone.
    for word in ("café", "Ã©", "naïve", "č", "čaj", "Ā"):
        doc = tokbytes.decode([{"token": word, "bytes": list(word.encode()), "logprob": -0.1}])
        assert doc.text == word and doc.problems == ()


def test_without_text_a_real_space_rules_out_bpe_symbols() -> None:
    doc = tokbytes.decode([{"token": "Ġa b", "bytes": list("Ġa b".encode()), "logprob": 0.0}])
    assert doc.text == "Ġa b"


def test_three_fffd_fragments_of_one_character() -> None:
    # 費 = E8 B2 BB split over three tokens, the first two sent as U+FFFD.
    records = [
        {"token": "a", "bytes": [97], "logprob": -0.5},
        {"token": FFFD, "bytes": [239, 191, 189], "logprob": -0.25},
        {"token": FFFD, "bytes": [239, 191, 189], "logprob": -0.125},
        {"token": "費b", "bytes": list("費b".encode()), "logprob": -1.0},
    ]
    records[3] = {"token": FFFD + "b", "bytes": list((FFFD + "b").encode()), "logprob": -1.0}
    doc = tokbytes.decode(records, text="a費b")
    assert doc.text == "a費b"
    assert [t.bytes for t in doc.tokens] == [b"a", b"\xe8", b"\xb2", b"\xbbb"]
    assert [t.bytes_source for t in doc.tokens] == ["bytes", "aligned", "aligned", "aligned"]
    fei = doc.chars[1]
    assert fei.tokens == (1, 2, 3) and fei.logprob == -0.25 + -0.125 + -1.0
    assert [p.token for p in doc.problems] == [1, 2, 3]


def test_ambiguous_cut_leaves_units_without_a_score() -> None:
    # Two empty fragments before "x" and the text "費用x": which fragment held which bytes?
    records = [
        {"token": "", "bytes": [], "logprob": -0.5},
        {"token": "", "bytes": [], "logprob": -0.25},
        {"token": "x", "bytes": [120], "logprob": -1.0},
    ]
    doc = tokbytes.decode(records, text="費用x")
    assert doc.text == "費用x"
    assert math.isnan(doc.chars[0].logprob) and math.isnan(doc.chars[1].logprob)
    assert doc.chars[2].logprob == -1.0
    assert doc.span(0, 2).logprob == -0.75  # both fragments lie inside 費用, however cut
    assert doc.logprob == -1.75
    assert "several cuts" in doc.problems[0].message


def test_lenient_mismatch_keeps_the_tokens_and_scores_nothing_unrecovered() -> None:
    records = [
        {"token": FFFD, "bytes": [239, 191, 189], "logprob": -0.5},
        {"token": "ok", "bytes": [111, 107], "logprob": -0.25},
    ]
    with pytest.raises(tokbytes.DecodeError, match=r"token 0: .* at byte 0"):
        tokbytes.decode(records, text="nope")
    doc = tokbytes.decode(records, text="nope", errors="replace")
    assert doc.text == FFFD + "ok"
    assert [p.kind for p in doc.problems] == ["text_mismatch"]
    assert math.isnan(doc.chars[0].logprob) and doc.chars[1].logprob == -0.25


def test_mismatch_message_names_token_offset_and_both_texts() -> None:
    records = [{"token": t, "bytes": list(t.encode()), "logprob": -0.1} for t in ["Hel", "lo", "!"]]
    with pytest.raises(tokbytes.DecodeError) as info:
        tokbytes.decode(records, text="Help!")
    err = info.value
    assert (err.token, err.byte_offset) == (1, 3)
    assert "'Hello!'" in str(err) and "'Help!'" in str(err)


def test_truncated_answer_whose_text_leaves_out_the_partial_character() -> None:
    records = [
        {"token": "a", "bytes": [97], "logprob": -0.1},
        {"token": "\\xec\\x9a", "bytes": [236, 154], "logprob": -0.2},
    ]
    with pytest.raises(tokbytes.DecodeError) as info:
        tokbytes.decode(records, text="a")
    assert info.value.truncated
    doc = tokbytes.decode(records, text="a", errors="replace")
    assert doc.text == "a\ufffd" and [p.kind for p in doc.problems] == ["truncated"]


def test_sentencepiece_dummy_prefix_and_spaces() -> None:
    pieces = ["▁Hello", "▁w", "<0xC3>", "<0xB6>", "rld", "<0x0A>"]
    records = [{"token": p, "bytes": list(p.encode()), "logprob": -0.1} for p in pieces]
    doc = tokbytes.decode(records, text="Hello wörld\n")
    assert doc.text == "Hello wörld\n"
    assert [t.bytes for t in doc.tokens][:4] == [b"Hello", b" w", b"\xc3", b"\xb6"]
    assert doc.chars[7].tokens == (2, 3)
    # Without the text the bytes stay as given ("▁" and "<0xC3>" may be real text) ...
    as_given = tokbytes.decode(records)
    assert as_given.text == "".join(pieces)
    assert [p.kind for p in as_given.problems] == ["format_suspected"]
    assert "token_format='byte_fallback'" in as_given.problems[0].message
    # ... unless the caller says how they are written.
    assert tokbytes.decode(records, token_format="byte_fallback").text == " Hello wörld\n"


# -- the real excerpts (../shared/data/recordings/provider_quirks) --------------------------------


def _quirks() -> dict[str, Any]:
    path = require_shared("recordings/provider_quirks/provider_quirks.json")
    return {q["id"]: q for q in json.loads(path.read_text(encoding="utf-8"))["quirks"]}


def test_ollama_emoji_of_four_fffd_tokens() -> None:
    quirk = _quirks()["ollama-fffd-partial-utf8"]
    response = quirk["response_excerpt"]
    doc = tokbytes.decode(response)  # the reported text comes with the response
    assert doc.text == "😊" and doc.shape == "ollama"
    assert [t.bytes for t in doc.tokens] == [b"\xf0", b"\x9f", b"\x98", b"\x8a"]
    assert {t.bytes_source for t in doc.tokens} == {"aligned"}
    assert [p.token for p in doc.problems if p.kind == "bytes_recovered"] == [0, 1, 2, 3]
    (smile,) = doc.chars
    expected = sum(r["logprob"] for r in response["logprobs"])
    assert smile.tokens == (0, 1, 2, 3) and math.isclose(smile.logprob, expected)


def test_vllm_qwen_bpe_symbols() -> None:
    quirk = _quirks()["vllm-byte-level-bpe-leak-dots-ocr"]
    records = quirk["response_excerpt"]
    expected = quirk["recovered_with_gpt2_byte_decoder"]
    as_given = tokbytes.decode(records)  # no text: the bytes are valid UTF-8, kept
    assert as_given.text == "".join(r["token"] for r in records)
    assert [p.kind for p in as_given.problems] == ["format_suspected"]
    for text, token_format in ((expected, "auto"), (None, "bpe_symbols")):
        doc = tokbytes.decode(records, text=text, token_format=token_format)  # type: ignore[arg-type]
        assert doc.text == expected == '": "# 费用账'
        assert [t.bytes_source for t in doc.tokens] == ["bytes"] + ["bpe_symbols"] * 6
        fee = doc.find("费")
        assert fee is not None and fee.tokens == (2, 3, 4)  # 'Ġè', '´', '¹'
        assert {p.token for p in doc.problems} == {1, 2, 3, 4, 5, 6}
    entry = _quirks()["vllm-byte-level-bpe-leak-qwen3"]["response_excerpt"]["first_content_entry"]
    assert tokbytes.decode([entry], token_format="bpe_symbols").text == "是"
    assert tokbytes.decode([entry]).text == "æĺ¯"


def test_vllm_v1_decoded_tokens() -> None:
    quirk = _quirks()["vllm-v1-decoded-token-leak"]
    records = [
        {
            "token": r["decoded_token"],
            "bytes": list(r["decoded_token"].encode()),
            "logprob": r["logprob"],
        }
        for r in quirk["response_excerpt"]
    ]
    assert tokbytes.decode(records, token_format="bpe_symbols").text == "".join(
        quirk["recovered_with_gpt2_byte_decoder"].values()
    )


def test_legacy_bytes_prefix_emoji() -> None:
    quirk = _quirks()["openai-legacy-completions-bytes-prefix"]
    records = [{"token": t, "logprob": -0.5} for t in quirk["response_excerpt"]["tokens"]]
    doc = tokbytes.decode(records, text=quirk["decoded"])
    assert doc.text == quirk["decoded"] == "😍😘😗😙😚😜😝😛😳😁"
    assert {t.bytes_source for t in doc.tokens} == {"escaped"}
    assert all(
        c.tokens == (2 * i, 2 * i + 1) and c.logprob == -1.0 for i, c in enumerate(doc.chars)
    )


# -- streaming -------------------------------------------------------------------------------------


def streamed(
    chunks: list[Records], level: str, *, text: str | None = None, **options: Any
) -> tuple[list[tuple[Any, ...]], tuple[tokbytes.Problem, ...], str]:
    decoder = tokbytes.StreamDecoder(level, **options)  # type: ignore[arg-type]
    units = [u for chunk in chunks for u in decoder.feed(chunk)] + decoder.close(text)
    return comparable(units), decoder.problems, decoder.text


def batched(
    records: Records, level: str, *, text: str | None = None, **options: Any
) -> tuple[list[tuple[Any, ...]], tuple[tokbytes.Problem, ...], str]:
    doc = tokbytes.decode(records, text=text, **options)
    return comparable(doc.units(level)), doc.problems, doc.text  # type: ignore[arg-type]


def comparable(units: Any) -> list[tuple[Any, ...]]:
    """Units with their logprobs' exact bits (NaN included: ``nan != nan``)."""
    return [(*u[:6], u.logprob.hex(), u.replaced_bytes) for u in units]


def chunked(records: Records, sizes: list[int]) -> list[Records]:
    chunks, start = [], 0
    for size in sizes:
        chunks.append(records[start : start + size])
        start += size
    return [*chunks, records[start:]]


@settings(max_examples=scaled(40))
@given(
    payloads(top_logprobs=0),
    st.sampled_from(sorted(LOSSY)),
    st.sampled_from(["cover", "split"]),
    st.data(),
)
def test_lossy_streams_realign_at_close_exactly_as_decode(
    payload: Any, name: str, attribution: str, data: st.DataObject
) -> None:
    corrupted = LOSSY[name](clean_tokens(payload))
    chunks = chunked(corrupted, data.draw(st.lists(st.integers(0, 4), max_size=len(corrupted))))
    for level in ("char", "grapheme", "word"):
        options = {"text": payload.text, "attribution": attribution}
        expected = batched(corrupted, level, **options)
        assert expected[2] == payload.text
        assert streamed(chunks, level, **options) == expected, level
        # a text the tokens may not spell: an error or a problem exactly when decode() says so
        # (empty fragments can stand for the extra "!")
        wrong = payload.text + "!"
        for errors in ("strict", "replace"):
            assert failure(streamed, chunks, level, text=wrong, errors=errors) == failure(
                batched, corrupted, level, text=wrong, errors=errors
            )


def failure(run: Callable[..., Any], *args: Any, **options: Any) -> tuple[str, ...]:
    """How a run went wrong: an error's class, or the kinds of its mismatch problems."""
    try:
        _, problems, _ = run(*args, **options)
    except tokbytes.DecodeError as exc:
        return (type(exc).__name__,)
    return tuple(p.kind for p in problems if p.kind == "text_mismatch")


CORRUPTIONS: dict[str, Callable[[Records], Records]] = {
    "none": lambda tokens: [dict(t) for t in tokens],
    **{name: corrupt for name, (corrupt, _) in EXACT.items()},
    **LOSSY,
    "byte_pieces": lambda tokens: byte_pieces(one_byte_partials(tokens)),
}


@settings(max_examples=scaled(60))
@given(
    payloads(top_logprobs=0),
    st.sampled_from(sorted(CORRUPTIONS)),
    st.sampled_from(["auto", "bytes", "bpe_symbols", "byte_fallback"]),
    st.sampled_from(["strict", "replace"]),
    st.booleans(),
    st.data(),
)
def test_every_corruption_streams_exactly_as_decode_reads_it(
    payload: Any,
    name: str,
    token_format: str,
    errors: str,
    with_text: bool,
    data: st.DataObject,
) -> None:
    """Whatever the provider sent, the token format, the chunking and whether the reported
    text comes at close(): the stream's units, problems and text (or its error) are decode()'s."""
    corrupted = CORRUPTIONS[name](clean_tokens(payload))
    chunks = chunked(corrupted, data.draw(st.lists(st.integers(0, 4), max_size=len(corrupted))))
    text = payload.text if with_text else None
    for level in ("char", "grapheme", "word"):
        options = {"text": text, "token_format": token_format, "errors": errors}
        expected = outcome(batched, corrupted, level, **options)
        assert outcome(streamed, chunks, level, **options) == expected, level


def outcome(run: Callable[..., Any], *args: Any, **options: Any) -> Any:
    try:
        return run(*args, **options)
    except tokbytes.DecodeError as exc:
        return ("DecodeError", str(exc))


@settings(max_examples=scaled(40))
@given(payloads(top_logprobs=0), st.sampled_from(sorted(CORRUPTIONS)))
def test_without_a_reported_text_valid_utf8_is_never_changed(payload: Any, name: str) -> None:
    corrupted = CORRUPTIONS[name](clean_tokens(payload))
    sent = [bytes(r["bytes"]) if "bytes" in r else None for r in corrupted]
    if None in sent:
        return  # bytes taken from token strings: nothing to keep
    joined = b"".join(b for b in sent if b is not None)
    try:
        joined.decode("utf-8")
    except UnicodeDecodeError:
        return
    doc = tokbytes.decode(corrupted)
    assert doc.bytes == joined and doc.text == joined.decode("utf-8")
    assert [t.bytes for t in doc.tokens] == sent
    assert not {p.kind for p in doc.problems} & {"bytes_recovered", "text_mismatch"}
    decoder = tokbytes.StreamDecoder()
    units = [u for r in corrupted for u in decoder.feed(r)] + decoder.close()
    assert "".join(u.text for u in units) == doc.text and decoder.problems == doc.problems


def test_stream_chunks_carry_the_text_a_lossy_stream_realigns_to() -> None:
    # Ollama's 😊 as four U+FFFD tokens, in vLLM-style chunks whose delta text holds the emoji
    # back until it is whole: close() realigns to the deltas.
    fffd = list("\ufffd".encode())
    tokens = [{"token": "Hi ", "bytes": list(b"Hi "), "logprob": -0.5}]
    tokens += [{"token": "\ufffd", "bytes": fffd, "logprob": -0.25 * k} for k in range(1, 5)]
    deltas = ["Hi ", "", "", "", "😊"]

    def chunk(token: dict[str, Any], delta: str) -> dict[str, Any]:
        return {
            "object": "chat.completion.chunk",
            "choices": [
                {"index": 0, "delta": {"content": delta}, "logprobs": {"content": [token]}}
            ],
        }

    decoder = tokbytes.StreamDecoder("char")
    emitted = [[u.text for u in decoder.feed(chunk(t, d))] for t, d in zip(tokens, deltas)]
    assert emitted == [["H", "i", " "], [], [], [], []]  # the emoji waits for the text
    (emoji,) = decoder.close()
    assert (emoji.text, emoji.tokens, emoji.byte_start, emoji.byte_end) == (
        "😊",
        (1, 2, 3, 4),
        3,
        7,
    )
    assert emoji.logprob == -0.25 - 0.5 - 0.75 - 1.0
    assert [p.token for p in decoder.problems if p.kind == "bytes_recovered"] == [1, 2, 3, 4]
    assert decoder.text == "Hi 😊"


def test_a_stream_that_differs_from_its_text_raises_or_records_it() -> None:
    records = [{"token": t, "bytes": list(t.encode()), "logprob": -0.1} for t in ("Hel", "lo!")]
    decoder = tokbytes.StreamDecoder("word")
    for record in records:
        decoder.feed(record)
    with pytest.raises(tokbytes.DecodeError, match=r"at byte 3: .* 'Help!'"):
        decoder.close("Help!")  # the error decode() gives
    lenient = tokbytes.StreamDecoder("word", errors="replace")
    words = [w.text for r in records for w in lenient.feed(r)] + [
        w.text for w in lenient.close("Help!")
    ]
    assert words == ["Hello", "!"]
    (problem,) = lenient.problems
    assert problem.kind == "text_mismatch" and problem.byte_start == 3
    assert lenient.problems == tokbytes.decode(records, text="Help!", errors="replace").problems


def test_auto_holds_possible_bpe_symbols_until_the_evidence_and_explicit_formats_read_at_once() -> (
    None
):
    leak = [bytes_to_bpe_symbols(p.encode()) for p in ("café", " is", " 是")]
    records = [{"token": s, "bytes": list(s.encode()), "logprob": -0.1} for s in leak]
    auto = tokbytes.StreamDecoder("char")
    emitted = [[u.text for u in auto.feed(r)] for r in records]
    # Every token could be BPE symbols: "auto" holds them, since a reported text could still
    # say they are; without one, close() keeps the bytes (valid UTF-8) and names the suspicion.
    assert emitted == [[], [], []]
    assert "".join(u.text for u in auto.close()) == "".join(leak)
    assert auto.problems == tokbytes.decode(records).problems
    assert [p.kind for p in auto.problems] == ["format_suspected"]
    # A token that is no BPE symbol releases the hold: the bytes are what they say.
    mixed = tokbytes.StreamDecoder("char")
    real = {"token": "é!", "bytes": list("é !".encode()), "logprob": -0.2}
    assert [u.text for u in mixed.feed(records[0])] == []
    assert [u.text for u in mixed.feed(real)] == [*leak[0], "é", " ", "!"]
    # With the text at close(), the held tokens are read as decode() reads them with it.
    with_text = tokbytes.StreamDecoder("char")
    for record in records:
        with_text.feed(record)
    assert "".join(u.text for u in with_text.close("café is 是")) == "café is 是"
    assert with_text.problems == tokbytes.decode(records, text="café is 是").problems
    explicit = tokbytes.StreamDecoder("char", token_format="bpe_symbols")
    assert [u.text for u in explicit.feed(records[0])] == ["c", "a", "f", "é"]
    as_given = tokbytes.StreamDecoder("char", token_format="bytes")
    assert "".join(u.text for r in records for u in as_given.feed(r)) == "".join(leak)
    with pytest.raises(tokbytes.InputError, match="token_format"):
        tokbytes.StreamDecoder(token_format="utf16")  # type: ignore[arg-type]


def test_a_leak_of_latin1_symbols_alone_is_read_against_the_text_at_close() -> None:
    # "両" leaks as "ä¸¡": no shifted symbol, so "auto" waits; the text at close() decides.
    symbols = bytes_to_bpe_symbols("両".encode())
    record = {"token": symbols, "bytes": list(symbols.encode()), "logprob": -0.5}
    decoder = tokbytes.StreamDecoder("char")
    assert decoder.feed(record) == []
    (char,) = decoder.close("両")
    assert (char.text, char.tokens, char.logprob) == ("両", (0,), -0.5)
    assert [p.kind for p in decoder.problems] == ["bytes_recovered"]
    without = tokbytes.StreamDecoder("char")
    without.feed(record)
    assert "".join(u.text for u in without.close()) == symbols  # no evidence: as given


def test_sentencepiece_stream_reads_pieces_as_decode_and_explicit_format_reads_spaces() -> None:
    pieces = ["\u2581Hello", "<0xE2>", "<0x9C>", "<0x93>"]  # ▁Hello + ✓ as byte pieces
    records = [{"token": p, "bytes": list(p.encode()), "logprob": -0.1} for p in pieces]
    explicit = tokbytes.StreamDecoder("char", token_format="byte_fallback")
    emitted = [[u.text for u in explicit.feed(r)] for r in records] + [explicit.close()]
    assert emitted == [list(" Hello"), [], [], ["✓"], []]  # the piece completing ✓ emits it
    assert {p.token for p in explicit.problems} == {0, 1, 2, 3}
    assert explicit.problems == tokbytes.decode(records, token_format="byte_fallback").problems
    # "auto": a piece may be real text unless a reported text says otherwise: held to close()
    auto = tokbytes.StreamDecoder("char")
    emitted = [[u.text for u in auto.feed(r)] for r in records] + [auto.close()]
    assert [u for e in emitted[:-1] for u in e] == []  # "▁" is doubtful from the first token
    assert "".join(u.text for u in emitted[-1]) == tokbytes.decode(records).text == "".join(pieces)
    assert auto.problems == tokbytes.decode(records).problems
    # a stream that saw U+FFFD starts clean after reset()
    decoder = tokbytes.StreamDecoder("char")
    decoder.feed({"token": FFFD, "bytes": list(FFFD.encode()), "logprob": -1.0})
    decoder.reset()
    assert [u.text for u in decoder.feed({"token": "Hi", "bytes": [72, 105], "logprob": -0.1})] == [
        "H",
        "i",
    ]
