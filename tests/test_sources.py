"""``sources.extract``: every provider shape gives its records in order, the reported text and a shape name.

Real recordings come from ``../shared/data`` (skipped with a reason when absent); SDK and LangChain
objects are the real classes built from those payloads (``model_validate``), never mocks.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

import tokbytes
from tests.shared_data import require_shared
from tokbytes.errors import InputError
from tokbytes.sources import Extracted, extract, is_token_record

# -- loading the recordings --------------------------------------------------------------------


def _json(relpath: str) -> Any:
    return json.loads(require_shared(relpath).read_text(encoding="utf-8"))


def _sse(relpath: str) -> list[dict[str, Any]]:
    """The JSON payloads of an SSE body, one per ``data:`` line (``[DONE]`` left out)."""
    return _sse_text(require_shared(relpath).read_text(encoding="utf-8"))


def _sse_text(text: str) -> list[dict[str, Any]]:
    events = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("data: ") and line != "data: [DONE]":
            events.append(json.loads(line[len("data: ") :]))
    return events


def _joined_bytes(records: list[Any]) -> bytes:
    def field(r: Any) -> Any:
        return r["bytes"] if isinstance(r, dict) else r.bytes

    return b"".join(bytes(field(r)) for r in records)


def _tokens(records: list[Any]) -> list[str]:
    return [r["token"] if isinstance(r, dict) else r.token for r in records]


KOREAN = "recordings/state-of-the-art/gpt4_korean_poem_top20.json"
HEART = "recordings/openai-cookbook/gpt4o_blue_heart_emoji_logprobs.json"
FOO_SSE = "recordings/openai-python/gpt4o_stream_content_logprobs_Foo.sse"
REFUSAL_SSE = "recordings/openai-python/gpt4o_stream_refusal_logprobs.sse"
RESPONSES = "recordings/pydantic-ai/test_openai_instructions_with_responses_logprobs.yaml"
RESPONSES_SSE = (
    "recordings/pydantic-ai/test_openai_instructions_with_responses_logprobs_streaming.yaml"
)
DEEPEVAL = "recordings/deepeval/cl100k_model_geval_top20_logprobs.json"
QUIRKS = "recordings/provider_quirks/provider_quirks.json"


def _quirk(name: str) -> Any:
    return next(q for q in _json(QUIRKS)["quirks"] if q["id"] == name)["response_excerpt"]


def _completion(choices: list[Any]) -> dict[str, Any]:
    """A whole chat.completion around recorded choices (the recordings kept only the choice)."""
    return {
        "id": "chatcmpl-recorded",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4",
        "choices": choices,
    }


def _responses_sse_events() -> list[dict[str, Any]]:
    # The cassette's body is a YAML block scalar holding the raw SSE text: its data lines are
    # plain JSON, so no YAML parser is needed.
    return _sse_text(require_shared(RESPONSES_SSE).read_text(encoding="utf-8"))


def _responses_body() -> Any:
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read the Responses cassette")
    cassette = yaml.safe_load(require_shared(RESPONSES).read_text(encoding="utf-8"))
    return cassette["interactions"][0]["response"]["parsed_body"]


# -- plain record lists ------------------------------------------------------------------------


def test_record_list_is_passed_on_without_converting_records() -> None:
    content = _json(KOREAN)["logprobs"]["content"]
    found = extract(content)
    assert found == Extracted(content, None, "records")
    assert found.records is not content and all(a is b for a, b in zip(found.records, content))
    assert extract(()).records == [] and extract([]).shape == "records"


def test_record_list_of_sdk_objects_keeps_the_objects() -> None:
    logprob_type = pytest.importorskip("openai.types.chat").ChatCompletionTokenLogprob
    objects = [logprob_type.model_validate(r) for r in _json(KOREAN)["logprobs"]["content"]]
    found = extract(tuple(objects))
    assert found.shape == "records" and found.records == objects
    assert all(a is b for a, b in zip(found.records, objects))


def test_large_record_list_costs_one_list_copy() -> None:
    record = {"token": "a", "logprob": -0.1, "bytes": [97]}
    many = [record] * 200_000
    found = extract(many)
    assert len(found.records) == 200_000 and found.records[-1] is record


def test_is_token_record_recognises_dicts_and_objects_only() -> None:
    logprob_type = pytest.importorskip("openai.types.chat").ChatCompletionTokenLogprob
    sdk = logprob_type(token="a", logprob=-0.5, bytes=[97], top_logprobs=[])
    assert is_token_record({"token": "a", "logprob": -0.5}) and is_token_record(sdk)
    assert not is_token_record({"token": "a"})
    assert not is_token_record({"tokens": ["a"], "token_logprobs": [-0.5]})
    assert not is_token_record("token") and not is_token_record(None)
    assert not is_token_record({"text": "a", "logprob": -0.5})  # TGI: converted, not passed on


# -- OpenAI chat completions -------------------------------------------------------------------


def test_korean_choice_records_text_and_bytes() -> None:
    choice = _json(KOREAN)
    found = extract(choice)
    assert found.shape == "openai.choice"
    assert len(found.records) == 30 and found.records[0] is choice["logprobs"]["content"][0]
    assert found.text == "그것은 바다와 같이 심오하고, 우주와 같이 끝없는 미"
    assert _tokens(found.records)[:4] == ["그", "\\xea\\xb2", "\\x83", "은"]  # 것 = EA B2 83
    assert _joined_bytes(found.records) == found.text.encode("utf-8")


def test_korean_chat_completion_as_dict_and_sdk_object() -> None:
    completion_type = pytest.importorskip("openai.types.chat").ChatCompletion
    payload = _completion([_json(KOREAN)])
    from_dict = extract(payload)
    sdk = completion_type.model_validate(payload)
    from_sdk = extract(sdk)
    assert from_dict.shape == from_sdk.shape == "openai.chat_completion"
    assert from_dict.text == from_sdk.text == _json(KOREAN)["message"]["content"]
    assert _tokens(from_sdk.records) == _tokens(from_dict.records)
    assert from_sdk.records[0] is sdk.choices[0].logprobs.content[0]  # SDK objects, unconverted
    assert _joined_bytes(from_sdk.records) == from_sdk.text.encode("utf-8")
    partial = [t for t in _tokens(from_sdk.records) if "\\x" in t]
    assert len(partial) == 14  # the recording's partial-UTF-8 tokens, still escaped


def test_logprobs_object_as_dict_and_sdk_object() -> None:
    choice_logprobs = pytest.importorskip("openai.types.chat.chat_completion").ChoiceLogprobs
    logprobs = _json(KOREAN)["logprobs"]
    for container in (logprobs, choice_logprobs.model_validate(logprobs)):
        found = extract(container)
        assert found.shape == "openai.logprobs" and found.text is None
        assert len(found.records) == 30
    with pytest.raises(
        InputError,
        match=r"refusal has no tokens but content has 30: pass "
        r"channel='content'",
    ):
        extract(logprobs, channel="refusal")


def test_blue_heart_completion_joins_emoji_bytes() -> None:
    payload = _json(HEART)
    found = extract(payload)
    assert found.shape == "openai.chat_completion"
    assert found.text == "Here is the blue heart emoji and its name:\n\n💙 Blue Heart"
    assert "\\xf0\\x9f\\x92" in _tokens(found.records) and "\\x99" in _tokens(found.records)
    assert _joined_bytes(found.records) == found.text.encode("utf-8")


def test_choice_out_of_range_names_the_choice_count() -> None:
    payload = _completion([_json(KOREAN)])
    with pytest.raises(InputError, match=r"choice=1 is out of range: this response has 1 choice"):
        extract(payload, choice=1)
    with pytest.raises(InputError, match="has none"):
        extract(_completion([]))


def test_second_choice_of_n2_response() -> None:
    first, second = _json(KOREAN), _json(HEART)["choices"][0]
    found = extract(_completion([first, {**second, "index": 1}]), choice=1)
    assert found.text == second["message"]["content"]
    assert found.records[0] is second["logprobs"]["content"][0]


def test_null_logprobs_raise_with_the_fix_unless_allowed() -> None:
    choice = {**_json(KOREAN), "logprobs": None}
    with pytest.raises(InputError, match=r"no logprobs in this response.*request logprobs=True"):
        extract(_completion([choice]))
    assert extract(_completion([choice]), allow_empty=True) == Extracted(
        [], choice["message"]["content"], "openai.chat_completion", "content", "length"
    )
    # A message with no text (e.g. only tool calls) has no tokens to miss.
    tool_call = {**choice, "message": {"role": "assistant", "content": None}}
    assert extract(_completion([tool_call])).records == []


def test_refusal_channel_of_a_whole_completion() -> None:
    chunks = _sse(REFUSAL_SSE)
    records = [
        r
        for c in chunks
        if c["choices"]
        for r in (c["choices"][0]["logprobs"] or {}).get("refusal") or []
    ]
    refusal = "".join(c["choices"][0]["delta"].get("refusal") or "" for c in chunks if c["choices"])
    choice = {
        "index": 0,
        "finish_reason": "stop",
        "message": {"role": "assistant", "content": None, "refusal": refusal},
        "logprobs": {"content": None, "refusal": records},
    }
    payload = _completion([choice])
    found = extract(payload, channel="refusal")
    assert found.text == refusal and found.records == records
    assert _joined_bytes(found.records) == refusal.encode("utf-8")
    expected = Extracted(records, refusal, "openai.chat_completion", "refusal", "stop")
    assert extract(payload, channel="auto") == expected
    assert extract(payload) == expected  # "auto" is the default
    with pytest.raises(
        InputError,
        match=r"content has no tokens but .*refusal has \d+: pass "
        r"channel='refusal'",
    ):
        extract(payload, channel="content")


# -- streaming chunks --------------------------------------------------------------------------


def test_content_stream_chunks_as_dicts_and_sdk_objects() -> None:
    chunk_type = pytest.importorskip("openai.types.chat").ChatCompletionChunk
    chunks = _sse(FOO_SSE)
    assert len(chunks) == 5
    for container in (chunks, [chunk_type.model_validate(c) for c in chunks]):
        found = [extract(c) for c in container]
        assert {f.shape for f in found} == {"openai.chunk"}
        assert [len(f.records) for f in found] == [0, 1, 1, 0, 0]  # role, Foo, !, finish, usage
        assert [f.text for f in found] == ["", "Foo", "!", None, None]
        records = [r for f in found for r in f.records]
        assert _tokens(records) == ["Foo", "!"]
        assert _joined_bytes(records) == b"Foo!"


def test_refusal_stream_chunks() -> None:
    chunks = _sse(REFUSAL_SSE)
    refusal = [extract(c, channel="refusal") for c in chunks]
    records = [r for f in refusal for r in f.records]
    text = "".join(f.text or "" for f in refusal)
    assert text.startswith("I'm very sorry") and _joined_bytes(records) == text.encode()
    assert [r for c in chunks for r in extract(c, channel="auto").records] == records
    assert [r for c in chunks for r in extract(c).records] == records  # "auto" is the default
    with pytest.raises(InputError, match="pass channel='refusal'"):
        [extract(c, channel="content") for c in chunks]


def test_chunk_with_text_but_no_logprobs_raises_unless_streaming() -> None:
    chunk = _sse(FOO_SSE)[1]
    bare = {**chunk, "choices": [{**chunk["choices"][0], "logprobs": None}]}
    with pytest.raises(InputError, match="request logprobs=True"):
        extract(bare)
    assert extract(bare, allow_empty=True) == Extracted([], "Foo", "openai.chunk")


def test_chunk_choice_is_matched_by_index() -> None:
    chunk = _sse(FOO_SSE)[1]
    second = {**chunk, "choices": [{**chunk["choices"][0], "index": 1}]}
    assert extract(second, choice=1).text == "Foo"
    assert extract(second, choice=0) == Extracted([], None, "openai.chunk")


# -- legacy completions ------------------------------------------------------------------------

# PROVIDERS.md §3: a real gpt-3.5-turbo-instruct answer to the prompt "天气非常好" (logprobs=1).
LEGACY_LOGPROBS = {
    "tokens": ["，", "bytes:\\xe9\\x80", "bytes:\\x82", "合"],
    "token_logprobs": [-0.8015664, -2.9169734, -0.0111257555, -0.053733885],
    "top_logprobs": [
        {"，": -0.8015664},
        {"我": -2.431496},
        {"bytes:\\x82": -0.0111257555},
        {"合": -0.053733885},
    ],
    "text_offset": [5, 6, 6, 7],
}


def test_legacy_completion_converts_to_record_dicts() -> None:
    completion_type = pytest.importorskip("openai.types").Completion
    payload = {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 0,
        "model": "gpt-3.5-turbo-instruct",
        "choices": [
            {"index": 0, "text": "，适合", "finish_reason": "length", "logprobs": LEGACY_LOGPROBS}
        ],
    }
    for container in (payload, completion_type.model_validate(payload)):
        found = extract(container)
        assert found.shape == "legacy.completion" and found.text == "，适合"
        assert found.records[1] == {
            "token": "bytes:\\xe9\\x80",
            "logprob": -2.9169734,
            "bytes": None,
            "top_logprobs": [{"token": "我", "logprob": -2.431496, "bytes": None}],
        }
        assert found.records[3]["top_logprobs"] == [
            {"token": "合", "logprob": -0.053733885, "bytes": None}
        ]


def test_legacy_logprobs_object_and_partial_emoji_tokens() -> None:
    found = extract(LEGACY_LOGPROBS)
    assert found.shape == "legacy.logprobs" and _tokens(found.records) == LEGACY_LOGPROBS["tokens"]
    tokens = _quirk("openai-legacy-completions-bytes-prefix")["tokens"]
    emoji = extract({"tokens": tokens, "token_logprobs": [-0.1] * len(tokens)})
    assert _tokens(emoji.records) == tokens and all(r["bytes"] is None for r in emoji.records)


def test_legacy_echo_null_first_logprob_raises() -> None:
    echoed = {**LEGACY_LOGPROBS, "token_logprobs": [None, *LEGACY_LOGPROBS["token_logprobs"][1:]]}
    with pytest.raises(InputError, match=r"token_logprobs\[0\] is null: with echo=True"):
        extract({"choices": [{"text": "x", "logprobs": echoed}]})


def test_chat_answered_with_legacy_shaped_logprobs() -> None:
    # Together / Fireworks chat: a chat message with legacy {tokens, token_logprobs}.
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": "，适合"},
        "logprobs": LEGACY_LOGPROBS,
    }
    found = extract(_completion([choice]))
    assert found.shape == "openai.chat_completion" and len(found.records) == 4


# -- OpenAI Responses API ----------------------------------------------------------------------


def test_responses_full_response_as_dict_and_sdk_object() -> None:
    response_type = pytest.importorskip("openai.types.responses").Response
    body = _responses_body()
    text = "The capital of Minas Gerais is Belo Horizonte."
    # openai 3.54 requires usage.input_tokens_details.cache_write_tokens, which this real
    # response (gpt-4o-mini, 2025) does not have: fill it in to build the SDK object.
    details = {**body["usage"]["input_tokens_details"], "cache_write_tokens": 0}
    sdk_body = {**body, "usage": {**body["usage"], "input_tokens_details": details}}
    for container in (body, response_type.model_validate(sdk_body)):
        found = extract(container)
        assert found.shape == "responses.response" and found.text == text
        assert len(found.records) == 9 and _tokens(found.records)[-1] == "."
        assert _joined_bytes(found.records) == text.encode()


def test_responses_output_text_part_and_message_item() -> None:
    message = _responses_body()["output"][0]
    part = message["content"][0]
    assert extract(part).shape == "responses.output_text"
    assert extract(part).records == part["logprobs"]
    assert extract(message) == Extracted(part["logprobs"], part["text"], "responses.message")


def test_responses_without_include_raise_with_the_fix() -> None:
    body = _responses_body()
    part = {**body["output"][0]["content"][0], "logprobs": []}
    bare = {**body, "output": [{**body["output"][0], "content": [part]}]}
    with pytest.raises(InputError, match=r"message\.output_text\.logprobs"):
        extract(bare)
    assert extract(bare, allow_empty=True).records == []


def test_responses_stream_deltas_as_dicts_and_sdk_objects() -> None:
    delta_type = pytest.importorskip("openai.types.responses").ResponseTextDeltaEvent
    events = _responses_sse_events()
    deltas = [e for e in events if e["type"] == "response.output_text.delta"]
    assert len(deltas) == 9
    for container in (deltas, [delta_type.model_validate(e) for e in deltas]):
        found = [extract(e) for e in container]
        assert {f.shape for f in found} == {"responses.delta"}
        records = [r for f in found for r in f.records]
        text = "".join(f.text or "" for f in found)
        assert text == "The capital of Minas Gerais is Belo Horizonte."
        # The real stream carries bytes in the deltas (the SDK model keeps them as an extra field).
        assert _joined_bytes(records) == text.encode()


def test_responses_stream_other_events() -> None:
    events = {e["type"]: e for e in _responses_sse_events()}
    done = extract(events["response.output_text.done"])
    assert done.shape == "responses.done" and len(done.records) == 9
    completed = extract(events["response.completed"])
    assert completed.shape == "responses.response" and len(completed.records) == 9
    assert extract(events["response.created"], allow_empty=True).records == []
    for kind in ("response.output_item.added", "response.content_part.done"):
        assert extract(events[kind]) == Extracted([], None, "responses.event")
    # The recorded content_part.done repeats the text with *empty* logprobs.
    assert events["response.content_part.done"]["part"]["logprobs"] == []


def test_responses_final_logprobs_are_rounded_but_deltas_are_not() -> None:
    events = _responses_sse_events()
    streamed = [
        r["logprob"]
        for e in events
        if e["type"] == "response.output_text.delta"
        for r in e["logprobs"]
    ]
    final = extract(next(e for e in events if e["type"] == "response.completed"))
    rounded = [r["logprob"] for r in final.records]
    assert streamed[0] == pytest.approx(-1.9361264946837764e-7) and rounded[0] == 0.0
    assert rounded == pytest.approx(streamed, abs=1e-6)


def test_vllm_responses_excerpt_passes_through() -> None:
    excerpt = _quirk("vllm-responses-api-chinese")
    found = extract({"type": "output_text", "annotations": [], **excerpt})
    assert found.records == excerpt["logprobs"] and found.text == excerpt["text"]
    assert _joined_bytes(found.records[:1]) == "根据".encode()


# -- vLLM, llama.cpp, Ollama, Gemini, TGI ------------------------------------------------------


def test_vllm_lossy_bytes_are_passed_through() -> None:
    records = _quirk("vllm-byte-level-bpe-leak-dots-ocr")
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": '": "# 费用账'},
        "logprobs": {"content": records},
    }
    found = extract(_completion([choice]))
    assert found.records == records and found.records[1]["bytes"] == [196, 160, 34, 35]


def test_llamacpp_completion_probabilities_are_records() -> None:
    rows = [
        {
            "id": 19526,
            "token": "",
            "bytes": [228],
            "logprob": -0.31,
            "top_logprobs": [{"id": 19526, "token": "", "bytes": [228], "logprob": -0.31}],
        },
        {"id": 254, "token": "", "bytes": [189, 160], "logprob": -0.02, "top_logprobs": []},
    ]
    found = extract({"content": "你", "stop": True, "completion_probabilities": rows})
    assert found == Extracted(rows, "你", "llamacpp.completion")
    assert _joined_bytes(found.records) == "你".encode()


def test_llamacpp_post_sampling_probs_become_logprobs() -> None:
    rows = [
        {
            "id": 9906,
            "token": "Hello",
            "bytes": [72, 101, 108, 108, 111],
            "prob": 0.5,
            "top_probs": [
                {"id": 9906, "token": "Hello", "bytes": [72, 101, 108, 108, 111], "prob": 0.5},
                {"id": 13347, "token": "Hi", "bytes": [72, 105], "prob": 0.0},
            ],
        }
    ]
    found = extract({"content": "Hello", "completion_probabilities": rows})
    record = found.records[0]
    assert record["logprob"] == pytest.approx(math.log(0.5)) and record["bytes"] == rows[0]["bytes"]
    assert record["top_logprobs"][1] == {"token": "Hi", "logprob": -math.inf, "bytes": [72, 105]}
    assert extract(rows).records == found.records  # the bare list works too


def test_llamacpp_2023_shape_and_its_partial_bytes() -> None:
    rows = [
        {
            "content": "byte: \\xe4",
            "probs": [{"tok_str": "byte: \\xe4", "prob": 0.8}, {"tok_str": "A", "prob": 0.1}],
        },
        {"content": "好", "probs": [{"tok_str": "好", "prob": 0.9}]},
    ]
    found = extract({"content": "x", "completion_probabilities": rows})
    assert found.shape == "llamacpp.legacy"
    assert found.records[0]["bytes"] == [0xE4] and found.records[1]["bytes"] is None
    assert found.records[0]["logprob"] == pytest.approx(math.log(0.8))
    missing = [{"content": "B", "probs": [{"tok_str": "A", "prob": 0.9}]}]
    with pytest.raises(InputError, match=r"completion_probabilities\[0\].*not among its probs"):
        extract({"content": "B", "completion_probabilities": missing})


def test_ollama_generate_and_chat() -> None:
    excerpt = _quirk("ollama-fffd-partial-utf8")
    found = extract({"model": "ministral-3:8b", "done": True, **excerpt})
    assert found == Extracted(excerpt["logprobs"], "😊", "ollama")
    chat = {
        "model": "m",
        "message": {"role": "assistant", "content": "😊"},
        "done": True,
        "logprobs": excerpt["logprobs"],
    }
    assert extract(chat).text == "😊" and len(extract(chat).records) == 4
    with pytest.raises(InputError, match='request "logprobs": true'):
        extract({"model": "m", "response": "hi", "done": True})


GEMINI = {
    "candidates": [
        {
            "content": {"role": "model", "parts": [{"text": "Hello there"}]},
            "avgLogprobs": -0.12,
            "logprobsResult": {
                "topCandidates": [
                    {
                        "candidates": [
                            {"token": "Hello", "tokenId": 9259, "logProbability": -0.01},
                            {"token": "Hi", "tokenId": 2151, "logProbability": -4.8},
                        ]
                    },
                    {"candidates": [{"token": " there", "tokenId": 1104}]},
                ],
                "chosenCandidates": [
                    {"token": "Hello", "tokenId": 9259, "logProbability": -0.01},
                    {"token": " there", "tokenId": 1104},  # proto3 JSON omits a 0.0
                ],
            },
        }
    ]
}


def test_gemini_rest_and_sdk_field_names() -> None:
    found = extract(GEMINI)
    assert found.shape == "gemini" and found.text == "Hello there"
    assert found.records[0] == {
        "token": "Hello",
        "logprob": -0.01,
        "bytes": None,
        "top_logprobs": [
            {"token": "Hello", "logprob": -0.01, "bytes": None},
            {"token": "Hi", "logprob": -4.8, "bytes": None},
        ],
    }
    assert found.records[1]["logprob"] == 0.0
    snake = {
        "candidates": [
            {
                "content": GEMINI["candidates"][0]["content"],
                "logprobs_result": {
                    "chosen_candidates": [
                        {"token": "Hello", "token_id": 9259, "log_probability": -0.01}
                    ],
                    "top_candidates": None,
                },
            }
        ]
    }
    assert extract(snake).records[0]["logprob"] == -0.01
    with pytest.raises(InputError, match="responseLogprobs"):
        extract({"candidates": [{"content": GEMINI["candidates"][0]["content"]}]})
    with pytest.raises(InputError, match="has 1 choice"):
        extract(GEMINI, choice=1)


def test_tgi_details_and_stream_event() -> None:
    payload = {
        "generated_text": "Hi!",
        "details": {
            "finish_reason": "eos_token",
            "generated_tokens": 3,
            "tokens": [
                {"id": 17250, "text": "Hi", "logprob": -0.2, "special": False},
                {"id": 0, "text": "!", "logprob": -0.1, "special": False},
                {"id": 2, "text": "</s>", "logprob": -0.01, "special": True},
            ],
            "top_tokens": [
                [{"id": 17250, "text": "Hi", "logprob": -0.2, "special": False}],
                [],
                [],
            ],
        },
    }
    found = extract(payload)
    assert found.shape == "tgi" and found.text == "Hi!"
    assert [r["bytes"] for r in found.records] == [None, None, []]  # EOS carries no text
    assert found.records[0]["top_logprobs"] == [{"token": "Hi", "logprob": -0.2, "bytes": None}]
    event = {
        "index": 1,
        "token": payload["details"]["tokens"][0],
        "generated_text": None,
        "details": None,
    }
    assert extract(event) == Extracted(
        [{"token": "Hi", "logprob": -0.2, "bytes": None, "top_logprobs": []}], "Hi", "tgi.stream"
    )


# -- LangChain (real langchain_core classes) ---------------------------------------------------


def test_langchain_message_dict_and_aimessage() -> None:
    messages = pytest.importorskip("langchain_core.messages")
    recorded = _json(DEEPEVAL)
    content = recorded["response_metadata"]["logprobs"]["content"]
    as_dict = extract(recorded)
    message = messages.AIMessage(
        content=recorded["content"], response_metadata=recorded["response_metadata"]
    )
    as_message = extract(message)
    for found in (as_dict, as_message):
        assert found.shape == "langchain.message" and found.text == recorded["content"]
        assert found.records == content and len(found.records) == 11
    # The recording's logprobs were truncated by its author: the tokens cover only a prefix.
    assert recorded["content"].encode().startswith(_joined_bytes(content))
    assert len(_joined_bytes(content)) < len(recorded["content"].encode())


def test_langchain_stream_chunks_summed() -> None:
    messages = pytest.importorskip("langchain_core.messages")
    chunks = []
    for raw in _sse(FOO_SSE):
        choice = raw["choices"][0] if raw["choices"] else {}
        metadata = {"logprobs": choice["logprobs"]} if choice.get("logprobs") else {}
        delta = (choice.get("delta") or {}).get("content") or ""
        chunks.append(messages.AIMessageChunk(content=delta, response_metadata=metadata))
    per_chunk = [extract(c, allow_empty=True) for c in chunks]
    assert [len(f.records) for f in per_chunk] == [0, 1, 1, 0, 0]
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    found = extract(full)
    assert found.text == "Foo!" and _tokens(found.records) == ["Foo", "!"]
    with pytest.raises(InputError, match="logprobs=True"):
        extract(messages.AIMessageChunk(content="Foo"))


def test_langchain_generation_llm_result_and_structured_output() -> None:
    messages = pytest.importorskip("langchain_core.messages")
    outputs = pytest.importorskip("langchain_core.outputs")
    korean, heart = _json(KOREAN), _json(HEART)["choices"][0]
    generations = [
        outputs.ChatGeneration(
            message=messages.AIMessage(
                content=c["message"]["content"], response_metadata={"logprobs": c["logprobs"]}
            ),
            generation_info={"finish_reason": "stop", "logprobs": c["logprobs"]},
        )
        for c in (korean, heart)
    ]
    found = extract(generations[1])
    assert found.shape == "langchain.generation" and found.text == heart["message"]["content"]
    assert found.records == heart["logprobs"]["content"]
    result = outputs.LLMResult(generations=[generations])  # n=2: one prompt, two generations
    assert extract(result, choice=1).records == heart["logprobs"]["content"]
    assert (
        extract(result).shape == "langchain.llm_result"
        and extract(result).text == korean["message"]["content"]
    )
    with pytest.raises(InputError, match="has 2 choices"):
        extract(result, choice=2)
    with pytest.raises(InputError, match="2 prompts"):
        extract(outputs.LLMResult(generations=[generations[:1], generations[1:]]))
    assert extract(result.generations[0], choice=1).text == heart["message"]["content"]
    raw = {"raw": generations[0].message, "parsed": None, "parsing_error": None}
    assert extract(raw).records == korean["logprobs"]["content"]


def test_langchain_message_without_logprobs() -> None:
    messages = pytest.importorskip("langchain_core.messages")
    bare = messages.AIMessage(content="Hi", response_metadata={"logprobs": None})
    with pytest.raises(InputError, match="ChatOpenAI constructor"):
        extract(bare)
    assert extract(bare, allow_empty=True) == Extracted([], "Hi", "langchain.message")


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "found"),
    [
        ("some text", "str 'some text'"),
        (42, "int 42"),
        ({"id": "x", "result": [1]}, "dict with keys ['id', 'result']"),
        ({"token": "a", "logprob": -0.1}, "single token record"),
        ([1, 2], "first item is int 1"),
    ],
)
def test_unknown_shapes_name_what_was_found_and_expected(obj: Any, found: str) -> None:
    with pytest.raises(InputError, match=re.escape(found)) as error:
        extract(obj)
    if "single" not in found:
        assert "expected" in str(error.value) and "chat completion" in str(error.value)


def test_unknown_object_names_its_type() -> None:
    class Mystery:
        def __init__(self) -> None:
            self.payload = 1

    with pytest.raises(InputError, match=r"a Mystery object with attributes \[payload\]"):
        extract(Mystery())


def test_bad_options_are_rejected_at_once() -> None:
    with pytest.raises(InputError, match="channel must be one of"):
        extract([], channel="thoughts")
    with pytest.raises(InputError, match="choice must be an int >= 0"):
        extract([], choice=-1)
    with pytest.raises(InputError, match="single output"):
        extract(_json(HEART)["choices"][0]["logprobs"]["content"], choice=1)


def test_missing_fields_name_their_path() -> None:
    with pytest.raises(InputError, match=r"choices\[0\]\.logprobs\.content must be a list"):
        extract(
            _completion([{"index": 0, "message": {"content": "x"}, "logprobs": {"content": 5}}])
        )
    with pytest.raises(InputError, match=r"details\.tokens\[1\]\.text is missing"):
        extract(
            {
                "generated_text": "a",
                "details": {"tokens": [{"text": "a", "logprob": -1}, {"logprob": -1}]},
            }
        )
    with pytest.raises(InputError, match=r"completion_probabilities\[0\]\.prob"):
        extract({"content": "a", "completion_probabilities": [{"token": "a", "prob": 2.0}]})


def test_recordings_dir_exists_or_skips() -> None:
    assert Path(require_shared("recordings")).is_dir()


# -- a whole stream saved as a list -----------------------------------------------------------


def test_a_list_of_stream_chunks_is_one_stream() -> None:
    from hypothesis import given, settings

    from tokbytes.strategies import payloads

    @settings(max_examples=40, deadline=None)
    @given(payloads(shape="chunks"))
    def check(payload) -> None:  # type: ignore[no-untyped-def]
        found = extract(payload.data)
        assert found.shape == "stream:openai.chunk" or not payload.tokens
        assert [r["bytes"] for r in found.records] == [t["bytes"] for t in payload.tokens]
        assert tokbytes.decode(payload.data).text == payload.text

    check()


def test_real_sse_stream_as_sdk_chunks_decodes() -> None:
    chunk_type = pytest.importorskip("openai.types.chat").ChatCompletionChunk
    path = require_shared("recordings/openai-python/gpt4o_stream_content_logprobs_Foo.sse")
    lines = [line[6:] for line in path.read_text().splitlines() if line.startswith("data: {")]
    chunks = [chunk_type.model_validate(json.loads(line)) for line in lines]
    doc = tokbytes.decode(chunks)
    assert doc.text == doc.reported_text == "Foo!"


def test_a_list_of_whole_completions_is_not_a_stream() -> None:
    completion = {
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"content": "a"},
                "logprobs": {"content": [{"token": "a", "bytes": [97], "logprob": -0.1}]},
            }
        ],
    }
    with pytest.raises(tokbytes.InputError, match="is not a list of token records"):
        extract([completion, completion])


# -- issue 14: containers that were misread ------------------------------------------------------


def test_a_text_and_logprobs_dict_is_an_output_text_part_not_ollama() -> None:
    excerpt = _quirk("vllm-responses-api-chinese")
    found = extract({"text": excerpt["text"], "logprobs": excerpt["logprobs"]})
    assert found.shape == "responses.output_text"
    assert found.text == excerpt["text"] and found.records == excerpt["logprobs"]
    # The excerpt was cut after three entries: the text says more than the tokens, honestly.
    doc = tokbytes.decode(excerpt, errors="replace")
    assert doc.reported_text == excerpt["text"] and doc.text == "根据.annotation.cell"
    assert [p.kind for p in doc.problems] == ["text_mismatch"]


@pytest.mark.parametrize(
    ("body", "quoted"),
    [
        (
            {
                "error": {
                    "message": "The model `gpt-5` does not exist",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "model_not_found",
                }
            },
            "The model `gpt-5` does not exist",
        ),
        (
            {
                "error": {
                    "code": 400,
                    "message": '"logprobs" is not supported',
                    "type": "invalid_request_error",
                }
            },
            '"logprobs" is not supported',
        ),
        (
            {"type": "error", "code": "server_error", "message": "overloaded", "param": None},
            "overloaded",
        ),
        ({"error": "Internal Server Error"}, "Internal Server Error"),
    ],
)
def test_api_error_bodies_raise_quoting_the_provider(body: dict[str, Any], quoted: str) -> None:
    for container in (body, [body]):
        with pytest.raises(InputError, match="the provider returned an error") as info:
            tokbytes.decode(container)
        assert repr(quoted) in str(info.value)
        assert info.value.field == "error"
    stream = tokbytes.StreamDecoder()
    with pytest.raises(InputError, match=re.escape(repr(quoted))):
        stream.feed(body)


def test_a_responses_object_with_a_null_error_is_read() -> None:
    body = _responses_body()
    assert tokbytes.decode({**body, "error": None}).text == tokbytes.decode(body).text
