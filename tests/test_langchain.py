"""End to end: the real openai client and LangChain's ChatOpenAI against a loopback server.

Nothing is mocked: ``tests/openai_server.py`` is a real HTTP server on 127.0.0.1 serving
cl100k-tokenized answers (``tests/data/cl100k_samples.json``) as JSON and as SSE streams whose
chunks split characters. In every path the decoded text must equal the served text.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import tokbytes

openai = pytest.importorskip("openai")
langchain_openai = pytest.importorskip("langchain_openai")
from tokbytes.langchain import TokbytesCallbackHandler  # noqa: E402

SAMPLES = [
    "korean",
    "japanese",
    "chinese",
    "emoji_zwj",
    "combining",
    "thai",
    "devanagari",
    "arabic",
    "mixed",
    "crlf",
]


def chat(server: Any, **kwargs: Any) -> Any:
    options = {
        "model": "gpt-4o-mini",
        "base_url": server.base_url,
        "api_key": "test",
        "max_retries": 0,
        **kwargs,
    }
    return langchain_openai.ChatOpenAI(**options)


def served(samples: dict[str, Any], name: str) -> str:
    return samples[name]["text"]  # type: ignore[no-any-return]


# -- the openai client -------------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLES)
def test_openai_client_completion_and_stream_decode_to_served_text(
    openai_server: Any, cl100k_samples: dict[str, Any], name: str
) -> None:
    client = openai.OpenAI(base_url=openai_server.base_url, api_key="test", max_retries=0)
    messages = [{"role": "user", "content": name}]
    completion = client.chat.completions.create(model="m", messages=messages, logprobs=True)
    doc = tokbytes.decode(completion)
    assert doc.text == doc.reported_text == served(cl100k_samples, name)
    assert doc.shape == "openai.chat_completion"
    chunks = list(
        client.chat.completions.create(
            model="m",
            messages=messages,
            logprobs=True,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    streamed = tokbytes.decode(chunks)
    assert streamed.text == served(cl100k_samples, name)
    assert [u.logprob for u in streamed.words] == [u.logprob for u in doc.words]


def test_openai_client_n_choices_and_top_logprobs(
    openai_server: Any, cl100k_samples: dict[str, Any]
) -> None:
    client = openai.OpenAI(base_url=openai_server.base_url, api_key="test", max_retries=0)
    completion = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "korean|emoji_zwj"}],
        n=2,
        logprobs=True,
        top_logprobs=3,
    )
    first, second = tokbytes.decode(completion), tokbytes.decode(completion, choice=1)
    assert first.text == served(cl100k_samples, "korean")
    assert second.text == served(cl100k_samples, "emoji_zwj")
    assert all(len(t.top_logprobs) == 3 for t in first.tokens)
    assert first.tokens[2].top_logprobs[0].bytes == b"\xeb\xaf"  # partial bytes kept as bytes
    with pytest.raises(tokbytes.InputError, match="choice"):
        tokbytes.decode(completion, choice=2)
    assert openai_server.requests[-1]["top_logprobs"] == 3


def test_response_without_logprobs_says_how_to_ask(openai_server: Any) -> None:
    client = openai.OpenAI(base_url=openai_server.base_url, api_key="test", max_retries=0)
    completion = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}]
    )
    with pytest.raises(tokbytes.InputError, match="logprobs=True"):
        tokbytes.decode(completion)


# -- LangChain ChatOpenAI ----------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLES)
def test_langchain_invoke_and_summed_stream(
    openai_server: Any, cl100k_samples: dict[str, Any], name: str
) -> None:
    llm = chat(openai_server).bind(logprobs=True)
    msg = llm.invoke(name)  # the seed flow, as written apart from base_url/api_key
    assert tokbytes.decode(msg).text == msg.content == served(cl100k_samples, name)
    full = None
    for chunk in llm.stream(name):  # the LangChain how-to loop
        full = chunk if full is None else full + chunk
    doc = tokbytes.decode(full)
    assert doc.text == served(cl100k_samples, name)
    assert list(doc.chars) == list(tokbytes.decode(msg).chars)


def test_langchain_batch_and_top_logprobs(
    openai_server: Any, cl100k_samples: dict[str, Any]
) -> None:
    llm = chat(openai_server).bind(logprobs=True, top_logprobs=2)
    messages = llm.batch(["korean", "chinese", "emoji_zwj"])
    assert [tokbytes.decode(m).text for m in messages] == [
        served(cl100k_samples, n) for n in ("korean", "chinese", "emoji_zwj")
    ]
    assert all(len(t.top_logprobs) == 2 for t in tokbytes.decode(messages[0]).tokens)


def test_langchain_generate_with_n_choices(
    openai_server: Any, cl100k_samples: dict[str, Any]
) -> None:
    from langchain_core.messages import HumanMessage

    # generate() is not a Runnable method: on a .bind() it reaches the bare model and the bound
    # logprobs=True is dropped, so the options go in the constructor.
    result = chat(openai_server, n=2, logprobs=True).generate([[HumanMessage("korean|thai")]])
    assert tokbytes.decode(result).text == served(cl100k_samples, "korean")
    assert tokbytes.decode(result, choice=1).text == served(cl100k_samples, "thai")


def test_langchain_ainvoke_and_astream_units(
    openai_server: Any, cl100k_samples: dict[str, Any]
) -> None:
    async def run() -> tuple[str, list[tokbytes.Unit], list[tokbytes.Unit]]:
        llm = chat(openai_server).bind(logprobs=True)  # a fresh model per event loop
        msg = await llm.ainvoke("mixed")
        streamed = [u async for u in tokbytes.astream_units(llm.astream("mixed"), level="grapheme")]
        return msg.content, streamed, list(tokbytes.decode(msg).graphemes)

    text, streamed, batch = asyncio.run(run())
    assert text == served(cl100k_samples, "mixed")
    assert streamed == batch
    assert "".join(u.text for u in streamed) == text


def test_stream_units_over_langchain_stream(
    openai_server: Any, cl100k_samples: dict[str, Any]
) -> None:
    llm = chat(openai_server).bind(logprobs=True)
    words = list(tokbytes.stream_units(llm.stream("korean"), level="word"))
    assert [w.text for w in words] == ["대한민국의", "수도는", "서울입니다", "."]
    assert words == list(tokbytes.decode(llm.invoke("korean")).words)


def test_structured_output_include_raw_is_decodable(
    openai_server: Any, cl100k_samples: dict[str, Any]
) -> None:
    schema = {
        "title": "Country",
        "type": "object",
        "properties": {
            "capital": {"type": "string"},
            "country": {"type": "string"},
            "emoji": {"type": "string"},
        },
    }
    llm = chat(openai_server, logprobs=True)  # in the constructor: a .bind() would be dropped
    result = llm.with_structured_output(schema, method="json_mode", include_raw=True).invoke("json")
    assert result["parsed"] == {"capital": "서울", "country": "대한민국", "emoji": "🇰🇷"}
    doc = tokbytes.decode(result)
    assert doc.text == served(cl100k_samples, "json")
    fields = {f.path: f for f in doc.json_fields()}
    country = fields["/country"]
    assert country.value == "대한민국"
    assert (
        b"".join(doc.tokens[j].bytes for j in country.tokens)
        .decode("utf-8", "ignore")
        .count("대한민국")
        == 1
    )
    assert openai_server.requests[-1]["logprobs"] is True


# -- the callback handler ----------------------------------------------------------------------


def test_callback_handler_streams_the_same_units_as_decode(
    openai_server: Any, cl100k_samples: dict[str, Any]
) -> None:
    seen: list[str] = []
    handler = TokbytesCallbackHandler("word", on_unit=lambda run, unit: seen.append(unit.text))
    llm = chat(openai_server, streaming=True).bind(logprobs=True)
    msg = llm.invoke("emoji_zwj", config={"callbacks": [handler]})
    (run_units,) = handler.units.values()
    assert run_units == list(tokbytes.decode(msg).words)
    assert seen == [u.text for u in run_units]


def test_callback_handler_keeps_batch_runs_apart(
    openai_server: Any, cl100k_samples: dict[str, Any]
) -> None:
    handler = TokbytesCallbackHandler("char")
    llm = chat(openai_server, streaming=True).bind(logprobs=True)
    llm.batch(["korean", "japanese"], config={"callbacks": [handler]})
    texts = sorted("".join(u.text for u in units) for units in handler.units.values())
    assert texts == sorted([served(cl100k_samples, "korean"), served(cl100k_samples, "japanese")])
