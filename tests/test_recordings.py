"""Every real recording under ``../shared/data/recordings`` decodes to the text its provider
reported, or to the problem ``docs/providers.md`` documents for it; every recorded stream gives,
streamed, exactly what ``decode()`` gives for the whole stream, at every level.

The recordings are never copied into the project: without ``../shared`` these tests skip.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import tokbytes
from tests.shared_data import SHARED, require_shared
from tokbytes import StreamDecoder

LEVELS = ("char", "grapheme", "word")
# Files beside the replies that are not replies: requests, headers, the server's log and state.
NOT_REPLIES = (".source.txt", ".req.json", ".headers.txt", ".log")
NOT_REPLY_NAMES = ("props.json", "v1_models.json", "provider_quirks.json")


def _sse(path: Path) -> list[Any]:
    return [
        json.loads(line.strip()[len("data: ") :])
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("data: {")
    ]


def load(relpath: str) -> Any:
    """The reply (a dict) or the stream (a list of its events) a recording holds."""
    path = require_shared(f"recordings/{relpath}")
    if path.suffix == ".sse" or path.name.endswith("_streaming.yaml"):
        return _sse(path)
    if path.suffix == ".yaml":
        yaml = pytest.importorskip("yaml", reason="PyYAML reads the Responses cassette")
        cassette = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cassette["interactions"][0]["response"]["parsed_body"]
    reply = json.loads(path.read_text(encoding="utf-8"))
    return reply.get("generatedOutput", reply)  # one recording wraps the choice with metadata


def recordings() -> list[str]:
    root = SHARED / "recordings"
    if not root.exists():
        return ["(absent)"]
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file()
        and not p.name.endswith(NOT_REPLIES)
        and p.name not in NOT_REPLY_NAMES
        and not p.name.startswith("tokenize_")
    )


# What docs/providers.md documents, per recording that does not simply decode to its text.
DOCUMENTED = {
    # a reply cut by max_tokens inside a character: the text ends with U+FFFD no token carries
    "llama.cpp/chat_grammar_cut_midchar.json": "truncated",
    "llama.cpp/cmpl_grammar_cut_midchar.json": "truncated",
    "llama.cpp/native_grammar_cut_midchar.json": "truncated",
    # ... and in streams, the count of generated tokens shows the held-back tail
    "llama.cpp/chat_grammar_cut_midchar_stream.sse": "truncated",
    "llama.cpp/native_grammar_cut_midchar_stream.sse": "truncated",
    # JSON-schema chat replies: the reported content lost its code fence and outer whitespace
    "llama.cpp/chat_json_schema.json": "text_trimmed",
    "llama.cpp/chat_json_schema_stream.sse": "text_trimmed",
    # the deepeval test truncated the logprobs (see its .source.txt)
    "deepeval/cl100k_model_geval_top20_logprobs.json": "text_mismatch",
}


@pytest.mark.parametrize("relpath", recordings())
def test_every_recording_decodes_to_its_text_or_the_documented_problem(relpath: str) -> None:
    reply = load(relpath)
    doc = tokbytes.decode(reply, errors="replace")
    kinds = [p.kind for p in doc.problems]
    documented = DOCUMENTED.get(relpath)
    if documented is None:
        assert doc.reported_text is not None
        assert doc.text == doc.reported_text
        assert not {"text_mismatch", "truncated", "text_trimmed"} & set(kinds)
        assert tokbytes.decode(reply).text == doc.text  # strict agrees
        return
    assert documented in kinds, kinds
    if documented == "truncated":
        with pytest.raises(tokbytes.DecodeError) as info:
            tokbytes.decode(reply)
        assert info.value.truncated
        assert doc.finish_reason == "length"
        assert doc.text == (doc.reported_text or "").rstrip("\ufffd")
    elif documented == "text_trimmed":
        assert tokbytes.decode(reply).text == doc.text  # no error: the bytes are the truth
        assert doc.reported_text is not None and doc.reported_text in doc.text
        values = {f.path: f.value for f in doc.json_fields()}
        assert values["/capital"] == "서울" and values["/emoji"] == "🇰🇷"
    else:
        with pytest.raises(tokbytes.DecodeError):
            tokbytes.decode(reply)


@pytest.mark.parametrize("relpath", [r for r in recordings() if r.endswith((".sse", ".yaml"))])
def test_every_recorded_stream_streams_as_it_decodes(relpath: str) -> None:
    events = load(relpath)
    if not isinstance(events, list):
        pytest.skip("a whole reply, not a stream")
    for errors in ("strict", "replace"):
        try:
            doc = tokbytes.decode(events, errors=errors)  # type: ignore[arg-type]
        except tokbytes.DecodeError as exc:
            decoder = StreamDecoder(errors=errors)  # type: ignore[arg-type]
            with pytest.raises(tokbytes.DecodeError) as info:
                for event in events:
                    decoder.feed(event)
                decoder.close()
            assert str(info.value) == str(exc)
            continue
        for level in LEVELS:
            for chunking in ("events", "one feed"):
                decoder = StreamDecoder(level, errors=errors)  # type: ignore[arg-type]
                feeds = events if chunking == "events" else [events]
                units = [u for feed in feeds for u in decoder.feed(feed)] + decoder.close()
                assert units == list(doc.units(level)), (level, chunking)
                assert [u.logprob.hex() for u in units] == [
                    u.logprob.hex() for u in doc.units(level)
                ]
                assert decoder.problems == doc.problems
                assert decoder.text == doc.text


# -- llama.cpp: what its replies show ---------------------------------------------------------------


def _entries(reply: Any) -> list[dict[str, Any]]:
    if "completion_probabilities" in reply:
        return list(reply["completion_probabilities"])
    return list(reply["choices"][0]["logprobs"]["content"])


@pytest.mark.parametrize("endpoint", ["chat", "cmpl", "native"])
def test_llamacpp_every_endpoint_reads_its_entries_and_finish_reason(endpoint: str) -> None:
    for case, finish in (("grammar_korean", "stop"), ("random", "length")):
        reply = load(f"llama.cpp/{endpoint}_{case}.json")
        doc = tokbytes.decode(reply)
        entries = _entries(reply)
        assert len(doc.tokens) == len(entries)
        assert doc.bytes == b"".join(bytes(e["bytes"]) for e in entries)
        assert doc.finish_reason == finish
        streamed = tokbytes.decode(load(f"llama.cpp/{endpoint}_{case}_stream.sse"))
        assert streamed.finish_reason == finish
        if case == "grammar_korean":
            assert doc.text.startswith("대한민국의 수도는 서울입니다.")
            assert streamed.text.startswith("대한민국의 수도는 서울입니다.")


def test_llamacpp_post_sampling_probabilities_are_natural_logs() -> None:
    reply = load("llama.cpp/native_grammar_korean_post_sampling.json")
    doc = tokbytes.decode(reply)
    for token, entry in zip(doc.tokens, reply["completion_probabilities"]):
        expected = math.log(entry["prob"]) if entry["prob"] > 0 else -math.inf
        assert token.logprob == expected
        for alternative, top in zip(token.top_logprobs, entry["top_probs"]):
            assert alternative.logprob == (math.log(top["prob"]) if top["prob"] else -math.inf)
    zero = {
        "content": "a",
        "completion_probabilities": [
            {"id": 64, "token": "a", "bytes": [97], "prob": 0.0, "top_probs": []}
        ],
    }
    assert tokbytes.decode(zero).tokens[0].logprob == -math.inf


def test_llamacpp_merged_entries_are_named_and_never_given_invented_logprobs() -> None:
    exact = tokbytes.decode(load("llama.cpp/native_grammar_korean_return_tokens.json"))
    merged = [p for p in exact.problems if p.kind == "merged_tokens"]
    # 대 and 한 are whole tokens; 민, 국, 의 ... were generated byte by byte (the grammar)
    assert merged and merged[0].token == 2 and "stands for 3 generated tokens" in merged[0].message
    assert all(p.token != 0 and p.token != 1 for p in merged)
    raw = load("llama.cpp/native_grammar_korean_return_tokens.json")["completion_probabilities"]
    assert [t.logprob for t in exact.tokens] == [e["logprob"] for e in raw]  # nothing invented
    stream = tokbytes.decode(load("llama.cpp/native_grammar_korean_stream.sse"))
    assert [p.token for p in stream.problems if p.kind == "merged_tokens"] == [
        p.token for p in merged
    ]
    counted = tokbytes.decode(load("llama.cpp/chat_grammar_korean.json"))
    (only,) = [p for p in counted.problems if p.kind == "merged_tokens"]
    assert "counts 34 generated tokens but has 14 entries" in only.message
    plain = tokbytes.decode(load("llama.cpp/chat_random.json"))
    assert "merged_tokens" not in [p.kind for p in plain.problems]
