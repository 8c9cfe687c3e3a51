"""stream: streamed units equal batch units for every chunking, emitted as early as promised.

The batch result (:func:`tokbytes.decode`) is the oracle: whatever the chunking, level,
attribution and errors mode, the units a :class:`StreamDecoder` emits over a whole stream, its
problems and its text equal batch's. Timing is checked against the feed that brings the bytes.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import math
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

import tokbytes
import tokbytes.stream as stream_module
from tests import oracle
from tests.hypothesis_profile import scaled
from tests.shared_data import require_shared
from tests.test_units import unicode_cases
from tests.texts import ATOMS, records, splits
from tests.texts import logprobs as logprob_values
from tests.texts import payloads as byte_payloads
from tokbytes import _speedups
from tokbytes.direct_window import DirectWindow
from tokbytes.records import Unit
from tokbytes.recovery import BYTE_SYMBOLS
from tokbytes.strategies import payloads, stream_chunkings
from tokbytes.stream import StreamDecoder, astream_units, stream_units
from tokbytes.unit_window import UnitWindow

LEVELS = ("char", "grapheme", "word")
ATTRIBUTIONS = ("cover", "split")
# UAX #29 WB4: the characters the timing promise does not count.
SKIPPED = regex.compile(r"[\p{WB=Extend}\p{WB=Format}\p{WB=ZWJ}]")


def exact(units: Sequence[Unit]) -> list[tuple[Unit, str]]:
    """Units with their logprobs' exact bits (``==`` would take -0.0 for 0.0)."""
    return [(u, u.logprob.hex()) for u in units]


def batch(
    tokens: Any, level: str, **options: Any
) -> tuple[list[tuple[Unit, str]], tuple[Any, ...], str]:
    doc = tokbytes.decode(tokens, **options)
    return exact(doc.units(level)), doc.problems, doc.text  # type: ignore[arg-type]


def streamed(
    chunks: Sequence[Any], level: str, **options: Any
) -> tuple[list[tuple[Unit, str]], tuple[Any, ...], str]:
    decoder = StreamDecoder(level, **options)  # type: ignore[arg-type]
    units: list[Unit] = []
    for chunk in chunks:
        units += decoder.feed(chunk)
    units += decoder.close()
    return exact(units), decoder.problems, decoder.text


def outcome(run: Any, *args: Any, **options: Any) -> Any:
    """The result, or the DecodeError message (strict mode must fail the same way)."""
    try:
        return run(*args, **options)
    except tokbytes.DecodeError as exc:
        return ("DecodeError", str(exc))


def cut(items: list[Any], sizes: list[int]) -> list[list[Any]]:
    """``items`` in consecutive chunks of the given sizes (the last chunk takes the rest)."""
    chunks, start = [], 0
    for size in sizes:
        chunks.append(items[start : start + size])
        start += size
    chunks.append(items[start:])
    return chunks


def one_byte_tokens(data: bytes, logprob: float = -0.01) -> list[dict[str, object]]:
    return records([bytes([b]) for b in data], [logprob] * len(data))


@contextmanager
def rule_alone() -> Iterator[None]:
    """Streams through the unit window's rule alone: no shortcuts (``DirectWindow``), no
    compiled feeder."""
    saved = stream_module.WINDOW
    stream_module.WINDOW = UnitWindow
    try:
        with _speedups.forced_pure():
            assert type(StreamDecoder()._window) is UnitWindow
            yield
    finally:
        stream_module.WINDOW = saved


# How streams run: as users get them (shortcuts and, when built, the compiled feeders), and the
# rule alone (unit_window.UnitWindow): both must equal batch.
WINDOWS = {"as_shipped": nullcontext, "rule_alone": rule_alone}


# -- equality with batch -----------------------------------------------------------------------


def test_streams_use_the_window_with_shortcuts() -> None:
    assert type(StreamDecoder()._window) is DirectWindow


@pytest.mark.parametrize("window", WINDOWS)
@settings(max_examples=scaled(60), deadline=None)
@given(st.data())
def test_streamed_units_equal_batch_for_every_chunking(window: str, data: st.DataObject) -> None:
    payload = data.draw(payloads(top_logprobs=0, max_token_bytes=6))
    chunks = data.draw(stream_chunkings(payload))
    for level in LEVELS:
        for attribution in ATTRIBUTIONS:
            expected = batch(payload.tokens, level, attribution=attribution)
            with WINDOWS[window]():
                assert streamed(chunks, level, attribution=attribution) == expected
                assert streamed(payload.tokens, level, attribution=attribution) == expected


@pytest.mark.parametrize("window", WINDOWS)
@settings(max_examples=scaled(80), deadline=None)
@given(byte_payloads(allow_empty=True), st.data())
def test_streamed_units_equal_batch_with_invalid_bytes_and_empty_tokens(
    window: str, payload: tuple[str, list[bytes], list[float]], data: st.DataObject
) -> None:
    _, parts, lps = payload
    # Corrupt some bytes and maybe cut the end off: invalid sequences, truncated tails.
    for _ in range(data.draw(st.integers(0, 2))):
        if any(parts):
            j = data.draw(st.sampled_from([j for j, p in enumerate(parts) if p]))
            i = data.draw(st.integers(0, len(parts[j]) - 1))
            bad = data.draw(st.sampled_from([0x80, 0xBF, 0xC0, 0xE0, 0xED, 0xA0, 0xF0, 0x9F, 0xFF]))
            parts[j] = parts[j][:i] + bytes([bad]) + parts[j][i + 1 :]
    if data.draw(st.booleans()) and parts and parts[-1]:
        parts[-1] = parts[-1][:-1]
    tokens = records(parts, lps)
    sizes = data.draw(st.lists(st.integers(0, 4), max_size=len(tokens)))
    chunks = cut(tokens, sizes)
    for errors in ("replace", "strict"):
        for level in LEVELS:
            for attribution in ATTRIBUTIONS:
                options = {"errors": errors, "attribution": attribution}
                expected = outcome(batch, tokens, level, **options)
                with WINDOWS[window]():
                    assert outcome(streamed, chunks, level, **options) == expected
                    assert outcome(streamed, tokens, level, **options) == expected


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("attribution", ATTRIBUTIONS)
def test_feeding_one_byte_at_a_time_equals_batch(level: str, attribution: str) -> None:
    text = "대한민국 don't 3.14, 👩\u200d👩\u200d👧 🇰🇷🇯🇵🇺 e\u0301\u0308 a\r\nb ไทย हिन्दी 1\ufe0f\u20e3 x"
    tokens = one_byte_tokens(text.encode())
    assert streamed(tokens, level, attribution=attribution) == batch(
        tokens, level, attribution=attribution
    )


def test_one_byte_tokens_over_the_unicode_break_tests_equal_batch() -> None:
    """Every line of the UCD segmentation tests, joined in threes so rules meet across lines."""
    cases = [
        text
        for name in ("WordBreakTest.txt", "GraphemeBreakTest.txt")
        for text, _ in unicode_cases(require_shared(f"unicode/ucd-17.0.0/{name}"))
        if not any("\ud800" <= c <= "\udfff" for c in text)
    ]
    texts = ["".join(cases[i : i + 3]) for i in range(0, len(cases), 3)]
    for text in texts:
        tokens = one_byte_tokens(text.encode())
        for level in ("grapheme", "word"):
            assert streamed(tokens, level) == batch(tokens, level), (level, text)


@pytest.mark.parametrize(
    "text",
    [
        # WB15/16: the parity of a regional-indicator run goes on through Extend/Format/ZWJ
        "🇦\u0308\u200d🇦🇦🇦\u0308🇦",
        "x🇦\u200d🇦\u0308🇦🇦\u00ad🇦 🇦",
        # WB4 + WB6/7: the letter before MidLetter lies behind an Extend character
        "a\u0308'b a\u0308\u0308.b 1\u0308,2",
        "a\u200d\u0308:\u0308b\u0308 c",
    ],
)
def test_word_lookback_context_survives_extend_runs_and_indicator_parity(text: str) -> None:
    tokens = one_byte_tokens(text.encode())
    for chunk_size in (1, 2, 3, 5):
        chunks = cut(tokens, [chunk_size] * len(tokens))
        assert streamed(chunks, "word") == batch(tokens, "word"), (chunk_size, text)


@settings(max_examples=scaled(30), deadline=None)
@given(st.data())
def test_stream_chunks_give_the_batch_units_and_chunks_without_logprobs_give_nothing(
    data: st.DataObject,
) -> None:
    payload = data.draw(payloads(shape="chunks", top_logprobs=0))
    first, last = payload.data[0], payload.data[-1]
    for level in LEVELS:
        decoder = StreamDecoder(level)  # type: ignore[arg-type]
        assert decoder.feed(first) == []  # role chunk: logprobs.content == []
        units = [u for chunk in payload.data[1:] for u in decoder.feed(chunk)] + decoder.close()
        assert exact(units) == batch(payload.tokens, level)[0]
    assert StreamDecoder().feed(last) == []  # finish or usage chunk


# -- timing --------------------------------------------------------------------------------------


def emission_feeds(
    chunks: list[list[Any]], level: str, token_format: str = "auto"
) -> list[tuple[Unit, int]]:
    """Each unit with the index of the feed that returned it (``len(chunks)`` for close)."""
    decoder = StreamDecoder(level, token_format=token_format)  # type: ignore[arg-type]
    out = [(u, i) for i, chunk in enumerate(chunks) for u in decoder.feed(chunk)]
    return out + [(u, len(chunks)) for u in decoder.close()]


def format_wait(chunks: list[list[Any]]) -> list[tuple[int, int]]:
    """The ``(first, last)`` feeds between which ``token_format="auto"`` holds tokens back
    (``last == len(chunks)``: until close()), as a slow reference of the rule.

    A token another reading could change, should a reported text disagree (U+FFFD or no bytes,
    a whole ``<0xNN>`` piece, ``▁``), holds everything from it until close(). While every token
    so far is made of byte-level BPE symbols, one with a non-ASCII symbol holds everything from
    it until a token that is not BPE symbols (a space, CJK, bytes that are not UTF-8).
    """
    symbols = set(BYTE_SYMBOLS)
    possible, since = True, None
    waits = []
    for i, chunk in enumerate(chunks):
        for record in chunk:
            data = bytes(record["bytes"])
            lossy = not data or "\ufffd".encode() in data or "\u2581".encode() in data
            if lossy or re.fullmatch(rb"<0x[0-9A-F]{2}>", data):
                return [*waits, (i if since is None else since, len(chunks))]
            if possible:
                try:
                    text: str | None = data.decode("utf-8")
                except UnicodeDecodeError:
                    text = None
                if text is None or any(c not in symbols for c in text):
                    possible = False
                    if since is not None:
                        waits.append((since, i))
                        since = None
                elif not text.isascii() and since is None:
                    since = i
    return [*waits, (since, len(chunks))] if since is not None else waits


def released(feed: int, waits: list[tuple[int, int]]) -> int:
    """The feed a unit finished by ``feed`` is returned by, given the holds."""
    for first, last in waits:
        if first <= feed < last:
            return last
    return feed


def feed_of_byte(chunks: list[list[Any]]) -> list[int]:
    """For each byte of the stream, the index of the feed that brings it."""
    owner: list[int] = []
    for i, chunk in enumerate(chunks):
        for record in chunk:
            owner += [i] * len(record["bytes"])
    return owner


@settings(max_examples=scaled(60), deadline=None)
@given(st.data())
def test_a_character_is_emitted_by_the_feed_that_completes_its_bytes(data: st.DataObject) -> None:
    payload = data.draw(payloads(top_logprobs=0, max_token_bytes=5))
    chunks = data.draw(stream_chunkings(payload))
    owner = feed_of_byte(chunks)
    for unit, feed in emission_feeds(chunks, "char", "bytes"):
        assert feed == owner[unit.byte_end - 1], unit
    # "auto" (the default): the same, but while it waits for evidence of the format
    wait = format_wait(chunks)
    for unit, feed in emission_feeds(chunks, "char"):
        assert feed == released(owner[unit.byte_end - 1], wait), (unit, wait)


@settings(max_examples=scaled(60), deadline=None)
@given(st.data())
def test_graphemes_and_words_are_emitted_by_the_feed_bringing_the_second_next_character(
    data: st.DataObject,
) -> None:
    payload = data.draw(payloads(top_logprobs=0, max_token_bytes=5))
    chunks = data.draw(stream_chunkings(payload))
    owner = feed_of_byte(chunks)
    doc = tokbytes.decode(payload.tokens)
    chars = list(doc.chars)
    wait = format_wait(chunks)
    bounds = oracle.word_boundaries(doc.text)
    for level in ("grapheme", "word"):
        for token_format in ("bytes", "auto"):
            for unit, feed in emission_feeds(chunks, level, token_format):
                # a word's segment may go on past it in whitespace (U+202F after a letter)
                end = unit.end if level == "grapheme" else min(b for b in bounds if b >= unit.end)
                later = [c for c in chars[end:] if not SKIPPED.match(c.text)]
                if len(later) >= 2:  # else only close() is promised
                    promised = owner[later[1].byte_end - 1]
                    if token_format == "auto":
                        promised = released(promised, wait)
                    assert feed <= promised, (level, token_format, unit)


def test_words_wait_for_the_lookahead_uax29_needs() -> None:
    decoder = StreamDecoder("word")
    tokens = records([b"3", b".", b"14", b" ", b"don", b"'", b"t", b" ", b"x"], [-0.5] * 9)
    emitted = [[w.text for w in decoder.feed(t)] for t in tokens]
    assert emitted == [[], [], [], [], ["3.14"], [], [], [], ["don't"]]
    assert [w.text for w in decoder.close()] == ["x"]


def test_graphemes_wait_for_the_next_character() -> None:
    decoder = StreamDecoder("grapheme")
    pieces = ["e", "\u0301", "👍", "🏽", "🇰", "🇷", "🇯", "\u1100", "\u1161", "!"]
    emitted = [[g.text for g in decoder.feed(records([p.encode()], [-0.1]))] for p in pieces]
    assert emitted == [[], [], ["e\u0301"], [], ["👍🏽"], [], ["🇰🇷"], ["🇯"], [], ["\u1100\u1161"]]
    assert [g.text for g in decoder.close()] == ["!"]


# -- errors --------------------------------------------------------------------------------------


def test_strict_truncated_tail_raises_at_close_naming_the_token() -> None:
    tokens = records([b"ok ", b"\xec", b"\x9a"], [-0.1, -0.2, -0.3])
    decoder = StreamDecoder()
    assert [u.text for u in decoder.feed(tokens)] == ["o", "k", " "]
    assert decoder.pending == b"\xec\x9a"
    with pytest.raises(tokbytes.DecodeError) as caught:
        decoder.close()
    with pytest.raises(tokbytes.DecodeError) as expected:
        tokbytes.decode(tokens)
    assert str(caught.value) == str(expected.value)
    assert caught.value.token == 1 and caught.value.truncated
    assert "token 1: output ends inside a character (2 of 3 bytes" in str(caught.value)


def test_replace_turns_a_truncated_tail_into_one_replacement_unit() -> None:
    tokens = records([b"ok ", b"\xec", b"\x9a"], [-0.1, -0.2, -0.3])
    decoder = StreamDecoder("word", errors="replace")
    assert decoder.feed(tokens) == []  # "ok" waits for a second character after it
    ok, last = decoder.close()
    assert ok.text == "ok"
    assert (last.text, last.bytes, last.tokens, last.logprob) == (
        "\ufffd",
        b"\xec\x9a",
        (1, 2),
        -0.5,
    )
    assert [p.kind for p in decoder.problems] == ["truncated"]
    assert decoder.problems == tokbytes.decode(tokens, errors="replace").problems


def test_strict_invalid_bytes_raise_during_feed_with_the_batch_message() -> None:
    tokens = records([b"a", b"\xff", b"b"], [-0.1] * 3)
    decoder = StreamDecoder()
    assert [u.text for u in decoder.feed(tokens[0])] == ["a"]
    with pytest.raises(tokbytes.DecodeError) as caught:
        decoder.feed(tokens[1])
    assert str(caught.value) == outcome(batch, tokens, "char")[1]
    with pytest.raises(tokbytes.InputError, match="closed"):
        decoder.feed(tokens[2])


def test_feed_after_close_raises_and_close_twice_returns_nothing() -> None:
    decoder = StreamDecoder()
    decoder.feed(records([b"hi"], [-0.1]))
    assert [u.text for u in decoder.close()] == []
    assert decoder.close() == []
    with pytest.raises(tokbytes.InputError, match=r"feed\(\) after close\(\)"):
        decoder.feed(records([b"!"], [-0.1]))
    decoder.reset()
    assert [u.text for u in decoder.feed(records([b"!"], [-0.1]))] == ["!"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"level": "sentence"}, "level must be one of"),
        ({"errors": "ignore"}, "errors must be"),
        ({"attribution": "mean"}, "attribution must be"),
        ({"choice": -1}, "choice must be"),
        ({"channel": "thoughts"}, "channel must be"),
    ],
)
def test_bad_options_raise_input_error(options: dict[str, Any], message: str) -> None:
    with pytest.raises(tokbytes.InputError, match=message):
        StreamDecoder(**options)


def test_malformed_records_name_the_global_token_index() -> None:
    decoder = StreamDecoder()
    decoder.feed(records([b"a", b"b"], [-0.1, -0.1]))
    with pytest.raises(tokbytes.InputError, match="token 2: 'logprob' must be <= 0"):
        decoder.feed({"token": "c", "bytes": [99], "logprob": 0.5})


# -- state -------------------------------------------------------------------------------------


def test_text_pending_problems_and_tokens_seen_follow_the_stream() -> None:
    decoder = StreamDecoder("word", errors="replace")
    decoder.feed(records([b"Hello", b" w", b"or"], [-0.1] * 3))
    assert (decoder.text, decoder.pending, decoder.tokens_seen) == ("Hello ", b"wor", 3)
    decoder.feed([{"token": "ld", "logprob": -0.1}])  # no bytes: taken from the string
    decoder.feed(records([b"", b"\xff!"], [-0.1, -0.2]))
    decoder.close()
    assert decoder.text == "Hello world\ufffd!"
    assert [p.kind for p in decoder.problems] == ["bytes_inferred", "invalid_utf8", "empty_token"]
    assert repr(decoder) == "<StreamDecoder word: 6 tokens, closed>"


def test_memory_stays_bounded_by_what_is_pending() -> None:
    data = ("서울 don't 👩\u200d👩\u200d👧 3.14! " * 1600).encode()
    parts = [data[i : i + 3] for i in range(0, len(data), 3)]
    tokens = records(parts, [-0.1] * len(parts))
    assert len(tokens) >= 20_000
    for level, attribution in [
        ("char", "cover"),
        ("grapheme", "split"),
        ("word", "cover"),
        ("word", "split"),
    ]:
        decoder = StreamDecoder(level, attribution=attribution)  # type: ignore[arg-type]
        most = 0
        for token in tokens:
            decoder.feed(token)
            decoder._flush()  # (the compiled feeder keeps the window while armed)
            most = max(most, len(decoder._window.parts))  # the window: pending tokens only
        assert most <= 12, (level, attribution, most)
        decoder.close()
        assert decoder.text == data.decode()
    kept = StreamDecoder("word", keep_history=True)
    for token in tokens[:100]:
        kept.feed(token)
    assert kept.records == tokens[:100]
    with pytest.raises(tokbytes.InputError, match="keep_history=True"):
        StreamDecoder().records  # noqa: B018


# -- containers and async ----------------------------------------------------------------------


def test_sdk_chunks_and_langchain_message_chunks_are_fed_like_dicts() -> None:
    from langchain_core.messages import AIMessageChunk
    from openai.types.chat import ChatCompletionChunk

    tokens = records([b"\xec\x84", b"\x9c", b"\xec\x9a\xb8 ok"], [-0.5, -0.25, -0.1])

    def chunk(group: list[dict[str, object]]) -> dict[str, object]:
        return {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [
                {"index": 0, "delta": {}, "logprobs": {"content": group}, "finish_reason": None}
            ],
        }

    groups = [tokens[:1], tokens[1:]]
    sdk = [ChatCompletionChunk.model_validate(chunk(g)) for g in groups]
    lc = [
        AIMessageChunk(content="", response_metadata={"logprobs": {"content": g}}) for g in groups
    ]
    lc.insert(0, AIMessageChunk(content=""))  # the first chunk LangChain yields has no logprobs
    expected = batch(tokens, "word")
    assert streamed(sdk, "word") == expected
    assert streamed(lc, "word") == expected
    assert exact(list(stream_units(lc, level="word"))) == expected[0]


@pytest.mark.parametrize(
    ("name", "channel"),
    [
        ("gpt4o_stream_content_logprobs_Foo.sse", "content"),
        ("gpt4o_stream_refusal_logprobs.sse", "refusal"),
    ],
)
def test_recorded_openai_sse_streams_give_the_batch_units(name: str, channel: str) -> None:
    path = require_shared(f"recordings/openai-python/{name}")
    chunks = [
        json.loads(line[len("data: ") :])
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("data: {")
    ]
    tokens = [
        t for c in chunks for ch in c["choices"] for t in (ch["logprobs"] or {}).get(channel) or []
    ]
    assert tokens
    for level in LEVELS:
        units = list(stream_units(chunks, level=level, channel=channel))  # type: ignore[arg-type]
        assert exact(units) == batch(tokens, level)[0]


def test_choice_picks_one_output_of_an_interleaved_n2_stream() -> None:
    first = records([b"\xec\x84", b"\x9c"], [-0.5, -0.25])
    second = records([b"ok", b"!"], [-0.1, -0.2])
    stream = [
        {
            "object": "chat.completion.chunk",
            "choices": [
                {"index": i, "delta": {}, "logprobs": {"content": [token]}, "finish_reason": None}
            ],
        }
        for pair in zip(first, second)
        for i, token in enumerate(pair)
    ]
    assert [u.text for u in stream_units(stream)] == ["서"]
    assert [u.text for u in stream_units(stream, choice=1)] == ["o", "k", "!"]


def chat_chunk(group: list[dict[str, object]] | None, delta: dict[str, str]) -> dict[str, Any]:
    logprobs = None if group is None else {"content": group, "refusal": None}
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": None}],
    }


async def test_astream_units_yields_the_batch_units_from_an_async_stream() -> None:
    data = "서울 don't 👍🏽 3.14 🇰🇷!".encode()
    tokens = records([data[i : i + 2] for i in range(0, len(data), 2)], [-0.3] * 20)
    deltas = codecs.getincrementaldecoder("utf-8")()  # delta text holds back half characters
    stream = [chat_chunk([], {"role": "assistant", "content": ""})]
    stream += [
        chat_chunk(tokens[i : i + 3], {"content": deltas.decode(data[2 * i : 2 * i + 6])})
        for i in range(0, len(tokens), 3)
    ]
    stream += [chat_chunk(None, {}), {"id": "u", "object": "chat.completion.chunk", "choices": []}]

    async def chunks() -> AsyncIterator[Any]:
        for chunk in stream:
            await asyncio.sleep(0)
            yield chunk

    for level in LEVELS:
        for attribution in ATTRIBUTIONS:
            got = [u async for u in astream_units(chunks(), level=level, attribution=attribution)]  # type: ignore[arg-type]
            assert exact(got) == batch(tokens, level, attribution=attribution)[0]


def test_split_word_scores_add_up_to_the_in_word_logprobs() -> None:
    tokens = records([b"a b", b"c d", b"e f", b" "], [-0.4, -0.8, -1.6, -3.2])
    words = list(stream_units(tokens, level="word", attribution="split"))
    assert [w.text for w in words] == ["a", "bc", "de", "f"]
    assert math.isclose(sum(w.logprob for w in words), -2.8)
    assert exact(words) == batch(tokens, "word", attribution="split")[0]


@settings(max_examples=scaled(40), deadline=None)
@given(st.lists(st.sampled_from(ATOMS), max_size=12).map("".join), st.data())
def test_one_token_at_a_time_over_atoms_equals_batch(text: str, data: st.DataObject) -> None:
    parts = data.draw(splits(text.encode()))
    lps = data.draw(st.lists(logprob_values, min_size=len(parts), max_size=len(parts)))
    tokens = records(parts, lps)
    for level in LEVELS:
        for attribution in ATTRIBUTIONS:
            assert streamed(tokens, level, attribution=attribution) == batch(
                tokens, level, attribution=attribution
            )


@pytest.mark.parametrize("name", ["mixed", "emoji_zwj", "combining", "crlf", "thai"])
async def test_langchain_astream_from_the_loopback_server_through_astream_units(
    openai_server: Any, cl100k_samples: dict[str, Any], name: str
) -> None:
    from langchain_openai import ChatOpenAI

    options: dict[str, Any] = {"base_url": openai_server.base_url, "api_key": "test"}
    llm = ChatOpenAI(model="gpt-4o-mini", max_retries=0, **options).bind(logprobs=True)
    tokens = cl100k_samples[name]["tokens"]  # what the server streams, 1-4 tokens per chunk
    for level in LEVELS:
        for attribution in ATTRIBUTIONS:
            units = [
                u
                async for u in astream_units(
                    llm.astream(name),
                    level=level,  # type: ignore[arg-type]
                    attribution=attribution,  # type: ignore[arg-type]
                )
            ]
            assert exact(units) == batch(tokens, level, attribution=attribution)[0]


# -- issue 14: streams that gave another answer than batch ---------------------------------------


def responses_events(pieces: list[bytes]) -> list[dict[str, Any]]:
    """A Responses API stream: deltas without bytes, then the done and completed events that
    repeat the whole text with its logprobs (as the API sends them)."""
    deltas = [
        {
            "type": "response.output_text.delta",
            "delta": p.decode("utf-8", "replace"),
            "logprobs": [{"token": p.decode("utf-8", "backslashreplace"), "logprob": -0.5}],
        }
        for p in pieces
    ]
    whole = [
        {"token": p.decode("utf-8", "backslashreplace"), "logprob": -0.5, "bytes": list(p)}
        for p in pieces
    ]
    text = b"".join(pieces).decode("utf-8")
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": whole}
    return [
        *deltas,
        {"type": "response.output_text.done", "text": text, "logprobs": whole},
        {"type": "response.content_part.done", "part": part},
        {
            "type": "response.completed",
            "response": {"output": [{"type": "message", "content": [part]}], "status": "completed"},
        },
    ]


@pytest.mark.parametrize("pieces", [[b"Hi"], [b"Hello", b" world"], ["서울".encode()]])
def test_responses_done_and_completed_events_are_not_counted_again(pieces: list[bytes]) -> None:
    events = responses_events(pieces)
    text = b"".join(pieces).decode()
    for level in LEVELS:
        expected = batch(events, level)
        assert expected[2] == text
        assert streamed(events, level) == expected
        assert "".join(u.text for u in stream_units(events, level=level)) == text.replace(
            " " if level == "word" else "\0", ""
        )


def test_the_recorded_responses_stream_comes_out_once() -> None:
    path = require_shared(
        "recordings/pydantic-ai/test_openai_instructions_with_responses_logprobs_streaming.yaml"
    )
    events = [
        json.loads(line.strip()[len("data: ") :])
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("data: {")
    ]
    final = next(e for e in events if e["type"] == "response.output_text.done")["text"]
    doc = tokbytes.decode(events)
    assert doc.text == final
    for level in LEVELS:
        assert streamed(events, level) == batch(events, level)
    assert "".join(u.text for u in stream_units(events)) == final


def test_a_refusal_stream_decodes_on_the_auto_channel() -> None:
    path = require_shared("recordings/openai-python/gpt4o_stream_refusal_logprobs.sse")
    chunks = [
        json.loads(line[len("data: ") :])
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("data: {")
    ]
    doc = tokbytes.decode(chunks)  # used to say "request logprobs=True"
    assert doc.channel == "refusal" and doc.text.startswith("I'm very sorry")
    for level in LEVELS:
        assert streamed(chunks, level) == batch(chunks, level)
    assert "".join(u.text for u in stream_units(chunks)) == doc.text  # used to be empty
    with pytest.raises(tokbytes.InputError, match="pass channel='refusal'"):
        list(stream_units(chunks, channel="content"))


def bpe_chunk(token: str) -> dict[str, Any]:
    record = {"token": token, "bytes": list(token.encode()), "logprob": -0.5, "top_logprobs": []}
    return chat_chunk([record], {"content": token})


@pytest.mark.parametrize(
    "items",
    [
        [
            {"token": "ÃĽ", "bytes": list("ÃĽ".encode()), "logprob": -0.5},
            {"token": "\\xc3", "bytes": [0xC3], "logprob": -0.5},
            {"token": "\\x87", "bytes": [0x87], "logprob": -0.5},
        ],
        [{"token": "Ċæ", "bytes": list("Ċæ".encode()), "logprob": -0.5}],
        [bpe_chunk("Ġgantija"), bpe_chunk(" temples")],
        [bpe_chunk("Ġgantija"), bpe_chunk(".")],
    ],
)
def test_auto_format_streams_decide_as_batch_does(items: list[Any]) -> None:
    for level in LEVELS:
        for errors in ("strict", "replace"):
            expected = outcome(batch, items, level, errors=errors)
            assert outcome(streamed, items, level, errors=errors) == expected
            assert outcome(streamed, [[i] for i in items], level, errors=errors) == expected


def test_identical_texts_give_the_same_problems_streamed_and_batch() -> None:
    chunks = [
        chat_chunk(records([b"\xfd"], [-0.5]), {"content": "\ufffd"}),
        chat_chunk(records([b""], [-0.5]), {"content": ""}),
        chat_chunk(records([b"\x84\xbf"], [-0.5]), {"content": "\ufffd\ufffd"}),
    ]
    for level in LEVELS:
        expected = batch(chunks, level, errors="replace")
        assert "text_mismatch" not in [p.kind for p in expected[1]]
        assert streamed(chunks, level, errors="replace") == expected


@settings(max_examples=scaled(40), deadline=None)
@given(st.data())
def test_any_payload_token_format_and_chunking_streams_as_decode(data: st.DataObject) -> None:
    shape = data.draw(st.sampled_from(["records", "chunks", "chat_completion", "legacy"]))
    payload = data.draw(payloads(shape=shape, top_logprobs=0, max_token_bytes=5))
    token_format = data.draw(st.sampled_from(["auto", "bytes", "bpe_symbols", "byte_fallback"]))
    errors = data.draw(st.sampled_from(["strict", "replace"]))
    items = payload.data
    if shape == "records" and data.draw(st.booleans()):
        chunks = list(items)  # one record per feed: feed()'s fast path (and the compiled one)
    elif shape == "records":
        chunks = data.draw(stream_chunkings(list(items)))  # lists of records, one feed each
    elif shape == "chunks":
        chunks = [c for chunk in data.draw(stream_chunkings(list(items))) for c in chunk]
    else:
        chunks = [items]  # a whole response in one feed
    for level in LEVELS:
        options = {"token_format": token_format, "errors": errors}
        expected = outcome(batch, items, level, **options)
        assert outcome(streamed, chunks, level, **options) == expected


def test_explicit_token_formats_read_every_record_fed_alone() -> None:
    """Records fed one at a time take feed()'s fast path only when bytes are read as given:
    with an explicit format every token is read as that format says, as decode() reads it."""
    from tokbytes.recovery import bytes_to_bpe_symbols

    symbols = [bytes_to_bpe_symbols(t.encode()) for t in ("Hi", " th", "ére")]
    items = [{"token": s, "bytes": list(s.encode()), "logprob": -0.5} for s in symbols]
    for level in LEVELS:
        expected = batch(items, level, token_format="bpe_symbols")
        assert expected[2] == "Hi thére"
        assert streamed(items, level, token_format="bpe_symbols") == expected
    pieces = [{"token": p, "bytes": list(p.encode()), "logprob": -0.5} for p in ("a", "<0xC3>")]
    pieces.append({"token": "<0xA9>", "bytes": list(b"<0xA9>"), "logprob": -0.5})
    for level in LEVELS:
        expected = batch(pieces, level, token_format="byte_fallback")
        assert expected[2] == "aé"
        assert streamed(pieces, level, token_format="byte_fallback") == expected


@pytest.mark.parametrize("text", ["가\\xc3\\xa9!", "가é!"])
@pytest.mark.parametrize("as_list", [False, True])
def test_literal_escape_text_waits_for_the_reported_text_fed_alone_or_in_lists(
    text: str, as_list: bool
) -> None:
    """Bytes that spell an escape (``\\xc3\\xa9`` as text) under a token string that
    says so are a token another reading could change: the reported text decides, as in decode(),
    whether a record is fed alone (feed()'s fast path) or in a list."""
    items = [
        {"token": "가", "bytes": list("가".encode()), "logprob": -0.1},
        {"token": "\\xc3\\xa9", "bytes": list(b"\\xc3\\xa9"), "logprob": -0.5},
        {"token": "!", "bytes": [33], "logprob": -0.25},
    ]

    def stream(level: str) -> tuple[list[tuple[Unit, str]], tuple[Any, ...], str]:
        decoder = StreamDecoder(level)  # type: ignore[arg-type]
        units = [u for item in items for u in decoder.feed([item] if as_list else item)]
        units += decoder.close(text)
        return exact(units), decoder.problems, decoder.text

    for level in LEVELS:
        expected = batch(items, level, text=text)
        assert expected[2] == text
        assert stream(level) == expected


def reasoning_chunks(pieces: list[str], reasoning_until: int) -> list[dict[str, Any]]:
    """vLLM/sglang-style chunks: the reasoning parser reports each token's text as
    ``reasoning_content`` (the closing tag's as ``""``) or ``content``."""
    out = []
    for k, piece in enumerate(pieces):
        record = {"token": piece, "bytes": list(piece.encode()), "logprob": -0.1 * (k + 1)}
        if k < reasoning_until:
            delta = {"reasoning_content": "" if piece == "</think>" else piece}
        else:
            delta = {"content": piece}
        out.append(chat_chunk([record], delta))
    return out


def test_reasoning_chunks_stream_on_their_own_channel_as_decode_reads_them() -> None:
    pieces = ["\n", "Let", " me", " think", "</think>", "\n\n", "서울", "입니다"]
    chunks = reasoning_chunks(pieces, 5)
    for level in LEVELS:
        expected = batch(chunks, level)
        assert expected[2] == "\n\n서울입니다" and expected[1] == ()
        assert streamed(chunks, level) == expected
        thought = batch(chunks, level, channel="reasoning")
        assert thought[2] == "\nLet me think</think>"  # the tokens' own text ...
        assert [p.kind for p in thought[1]] == ["text_trimmed"]  # ... the reply's lacks the tag
        assert streamed(chunks, level, channel="reasoning") == thought
