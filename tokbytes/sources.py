"""Provider payloads → token records: find the logprobs in whatever an API or LangChain returned.

:func:`extract` takes a whole response, a streaming chunk or event, a logprobs object, a LangChain
message or result, or a plain list of records, and returns an :class:`Extracted`: the token records
in order, the text the container reports, and the name of the shape it recognised. Shapes are
recognised by their keys or attributes (dicts and SDK/pydantic objects alike); this module imports
neither ``openai`` nor ``langchain``.

OpenAI-shaped records (chat ``logprobs.content``, Responses ``logprobs``, vLLM, llama.cpp, Ollama)
are passed on as they are, uncopied, so a million tokens cost one ``list()``; other shapes (legacy
completions, Gemini, TGI, llama.cpp probabilities) become plain dicts of the record form
``{"token", "logprob", "bytes", "top_logprobs"}``. Records are not validated here: the core does
that, naming the token. Which provider sends which field is tabled in ``docs/providers.md``.

Shape names:

=========================  =================================================================
``records``                a list of token records (OpenAI ``ChatCompletionTokenLogprob``, dicts)
``openai.logprobs``        a chat ``logprobs`` object ``{"content": [...], "refusal": [...]}``
``openai.chat_completion`` a whole ``chat.completion`` (OpenAI, vLLM, DeepSeek, llama.cpp, …)
``openai.choice``          one element of its ``choices``
``openai.chunk``           a streaming ``chat.completion.chunk``
``legacy.completion``      a ``/v1/completions`` response (or one of its choices)
``legacy.logprobs``        its ``{"tokens", "token_logprobs", "top_logprobs", "text_offset"}``
``responses.response``     a Responses API response (also ``response.completed`` events)
``responses.message``      one ``message`` output item of it
``responses.output_text``  one ``output_text`` content part
``responses.delta``        a ``response.output_text.delta`` stream event
``responses.done``         a ``response.output_text.done`` stream event (the whole part again)
``responses.event``        any other Responses stream event (no new tokens)
``llamacpp.completion``    llama.cpp ``/completion`` (``completion_probabilities``)
``llamacpp.legacy``        its 2023 form (``{"content", "probs": [{"tok_str", "prob"}]}``)
``ollama``                 Ollama ``/api/generate`` or ``/api/chat``
``gemini``                 Gemini / Vertex ``candidates[].logprobsResult``
``tgi``, ``tgi.stream``    HF text-generation-inference ``details.tokens``, or one stream event
``langchain.message``      an ``AIMessage``/``AIMessageChunk`` (``response_metadata["logprobs"]``)
``langchain.generation``   a ``ChatGeneration``/``ChatGenerationChunk``/``Generation``
``langchain.llm_result``   an ``LLMResult`` (``generations[0][choice]``)
=========================  =================================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .errors import InputError
from .records import Problem

__all__ = ["Extracted", "extract", "is_token_record"]

_MISSING: Final[Any] = object()
_CHANNELS: Final = ("content", "refusal", "reasoning", "auto")
_ACCEPTED: Final = (
    "a list of token records; an OpenAI chat completion, chunk, choice or logprobs object; a "
    "legacy completion or its logprobs; a Responses API response, message, output_text part or "
    "stream event; a llama.cpp /completion, Ollama, Gemini or TGI response; a LangChain "
    "AIMessage(Chunk), ChatGeneration(Chunk), LLMResult or with_structured_output(include_raw=True) "
    "dict (see docs/providers.md)"
)
# Responses stream events that carry a whole response (the others carry no new tokens).
_RESPONSE_EVENTS: Final = frozenset(
    {
        "response.completed",
        "response.incomplete",
        "response.failed",
        "response.created",
        "response.in_progress",
        "response.queued",
    }
)
# Old llama.cpp servers print a lone partial byte as "byte: \xNN" (tokens_to_output_formatted_string).
_LLAMACPP_BYTE_PREFIX: Final = "byte: \\x"


@dataclass(frozen=True, slots=True)
class Extracted:
    """What :func:`extract` found in a container.

    >>> extract([{"token": "Hi", "logprob": -0.1, "bytes": [72, 105]}])  # doctest: +ELLIPSIS
    Extracted(records=[{'token': 'Hi', 'logprob': -0.1, 'bytes': [72, 105]}], text=None, shape='records', channel='content', ...)
    """

    records: list[Any]
    """The token records in order: the provider's own objects or dicts when they already have the
    record form (``token``, ``logprob``, ``bytes`` maybe absent or None, ``top_logprobs`` maybe
    absent), plain dicts of that form otherwise. Empty for a chunk or event without tokens."""
    text: str | None
    """The final text the container reports (``message.content``, the refusal text, legacy
    ``text``, Responses ``output_text.text``, llama.cpp ``content``, Ollama ``response``, a chunk's
    delta, ``AIMessage.content`` when a string), or None when it reports none."""
    shape: str
    """Short name of the recognised shape, e.g. ``"openai.chat_completion"`` (see the module
    docstring for the full list)."""
    channel: str = "content"
    """Which output the records and text belong to: ``"content"``, ``"refusal"`` (chat
    ``logprobs.refusal``) or ``"reasoning"``."""
    finish_reason: str | None = None
    """Why generation stopped, when the container says: ``"stop"``, ``"length"`` (cut by
    ``max_tokens``), ``"content_filter"``, … (llama.cpp's ``stop_type`` and Ollama's
    ``done_reason`` are mapped to these names)."""
    problems: tuple[Problem, ...] = ()
    """What the container itself shows is lost (llama.cpp ``merged_tokens``: entries that hold
    several generated tokens but the logprob of their last one only)."""
    reasoning: str | None = None
    """The reasoning text the container reports apart from the content (Ollama ``thinking``,
    ``reasoning_content`` of vLLM, sglang and DeepSeek), when it does. Some servers put its
    tokens in the logprobs too: :func:`tokbytes.decode` then reads the content from its own
    tokens (and ``channel="reasoning"`` the reasoning)."""


def is_token_record(x: Any) -> bool:
    """True when ``x`` looks like one token record: a mapping or object with ``token`` and ``logprob``.

    >>> is_token_record({"token": "a", "logprob": -0.5}), is_token_record({"tokens": ["a"]})
    (True, False)
    """
    if isinstance(x, Mapping):
        return "token" in x and "logprob" in x
    if x is None or isinstance(x, (str, bytes, int, float, list, tuple)):
        return False
    return hasattr(x, "token") and hasattr(x, "logprob")


def extract(
    obj: Any, *, choice: int = 0, channel: str = "auto", allow_empty: bool = False
) -> Extracted:
    """Find the token records (and the reported text) in a provider payload or LangChain object.

    ``choice`` picks a choice of a response made with ``n > 1`` (for a stream chunk: the choice
    whose ``index`` it is; chunks of other choices give no records). ``channel`` is ``"auto"``
    (the default: the content's tokens when it has some, else the refusal's; the result's
    ``channel`` says which), ``"content"``, ``"refusal"`` (the tokens of ``message.refusal``)
    or ``"reasoning"`` (stream chunks: those that carry reasoning; a whole reply: its mixed
    tokens with the reasoning text, which :func:`tokbytes.decode` separates);
    an explicit channel without tokens while the other has some raises
    :class:`~tokbytes.InputError` naming the other. An API error body (``{"error": {"message":
    ...}}``) raises :class:`~tokbytes.InputError` quoting the provider's message.
    A whole response without logprobs raises :class:`~tokbytes.InputError` saying how to request
    them, unless ``allow_empty`` is true (streaming) or it has no text either; then ``records`` is
    empty. Stream chunks that never carry tokens (role, finish, usage) always give ``[]``.

    >>> found = extract({"object": "chat.completion", "choices": [{"index": 0,
    ...     "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop",
    ...     "logprobs": {"content": [{"token": "Hi", "logprob": -0.1, "bytes": [72, 105],
    ...                               "top_logprobs": []}], "refusal": None}}]})
    >>> found.shape, found.text, [r["token"] for r in found.records]
    ('openai.chat_completion', 'Hi', ['Hi'])
    >>> extract({"tokens": ["bytes:\\\\xe9\\\\x80"], "token_logprobs": [-2.9],
    ...          "top_logprobs": [{"bytes:\\\\xe9\\\\x80": -2.9}]}).records[0]["top_logprobs"]
    [{'token': 'bytes:\\\\xe9\\\\x80', 'logprob': -2.9, 'bytes': None}]
    """
    if type(choice) is not int or choice < 0:
        raise InputError(f"choice must be an int >= 0, got {choice!r:.40}", field="choice")
    if channel not in _CHANNELS:
        raise InputError(
            f"channel must be one of {', '.join(map(repr, _CHANNELS))}, got {channel!r:.40}",
            field="channel",
        )
    return _extract(obj, _Options(choice, channel, allow_empty))


# -- dispatch ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Options:
    choice: int
    channel: str
    allow_empty: bool


def _extract(obj: Any, opts: _Options) -> Extracted:
    if isinstance(obj, (list, tuple)):
        return _from_list(obj, opts, "")
    if obj is None or isinstance(obj, (str, bytes, bytearray, int, float)):
        raise _unknown(obj)
    _raise_api_error(obj)
    if isinstance(obj, Mapping) and "raw" in obj and ("parsed" in obj or "parsing_error" in obj):
        return _extract(obj["raw"], opts)  # with_structured_output(include_raw=True)
    if _has(obj, "generations"):
        return _from_langchain_result(obj, opts)
    if _has(obj, "generation_info"):
        return _from_langchain_generation(obj, opts)
    if _has(obj, "response_metadata"):
        return _from_langchain_message(obj, opts, "langchain.message")
    if _has(obj, "choices"):
        return _from_choices(obj, opts)
    if _has(obj, "candidates"):
        return _from_gemini(obj, opts)
    if _has(obj, "completion_probabilities") or _is_llamacpp_event(obj):
        return _from_llamacpp_response(obj, opts)
    if _has(obj, "details") or (_has(obj, "generated_text") and _has(obj, "token")):
        return _from_tgi(obj, opts)
    kind = _get(obj, "type")
    if isinstance(kind, str) and (
        kind.startswith("response.") or kind in ("output_text", "message")
    ):
        return _from_responses_item(obj, kind, opts)
    if isinstance(_get(obj, "output"), list):
        _single(opts, "a Responses API response")
        found = _from_response(obj, opts, "output", "responses.response")
        return _replace(found, finish_reason=_responses_finish(obj))
    if _has(obj, "tokens") and _has(obj, "token_logprobs"):
        return Extracted(_from_legacy(obj, ""), None, "legacy.logprobs")
    if (
        _has(obj, "text")
        and isinstance(_get(obj, "logprobs"), list)
        and not (_has(obj, "done") or _has(obj, "response") or _has(obj, "message"))
    ):  # {"text", "logprobs"}: an output_text part without its "type" (vLLM Responses excerpt)
        return _from_output_text(obj, opts, "", "responses.output_text")
    if isinstance(_get(obj, "logprobs"), list) or (
        _has(obj, "done") and (_has(obj, "response") or _has(obj, "message"))
    ):
        return _from_ollama(obj, opts)
    if _has(obj, "message") or _has(obj, "delta") or (_has(obj, "text") and _has(obj, "logprobs")):
        return _from_choice(obj, opts, "", _choice_shape(obj, None), chunk=_has(obj, "delta"))
    content = _get(obj, "content", _MISSING)
    if (content is None or isinstance(content, list)) and (
        _has(obj, "refusal") or isinstance(content, list)
    ):
        _single(opts, "a logprobs object")
        records = _pick_channel(obj, opts.channel, "")[0]
        return Extracted(records if records is not None else [], None, "openai.logprobs")
    if is_token_record(obj):
        raise InputError(
            f"got a single token record ({_describe(obj)}); pass a list of records: [record]"
        )
    raise _unknown(obj)


def _from_list(seq: Sequence[Any], opts: _Options, path: str) -> Extracted:
    if not seq:
        return Extracted([], None, "records")
    first = seq[0]
    if is_token_record(first):
        _single(opts, "a list of token records")
        return Extracted(list(seq), None, "records")
    if not (first is None or isinstance(first, (str, bytes, int, float, list, tuple))):
        _raise_api_error(first)  # e.g. a stream that ended in an error event
    if _has(first, "generation_info") or (_has(first, "message") and _has(first, "text")):
        # LangChain ``result.generations[i]``: one generation per choice.
        _check_choice(opts.choice, len(seq), "this list of generations")
        return _from_langchain_generation(seq[opts.choice], _first(opts))
    if _is_stream_event(first):
        return _from_stream(seq, opts)
    if _has(first, "prob") or _has(first, "probs"):
        _single(opts, "llama.cpp completion_probabilities")
        return _from_llamacpp(seq, path or "completion_probabilities", None)
    if _has(first, "text") and _has(first, "logprob"):
        _single(opts, "TGI details.tokens")
        return Extracted(_from_tgi_tokens(seq, None, path or "tokens"), None, "tgi")
    if _has(first, "logProbability") or _has(first, "log_probability"):
        _single(opts, "Gemini chosenCandidates")
        return Extracted(_from_gemini_tokens(seq, None, path or "chosenCandidates"), None, "gemini")
    raise InputError(
        f"{path or 'input'}: a list whose first item is {_describe(first)} is not a list of token "
        f"records (mappings or objects with 'token' and 'logprob'); expected {_ACCEPTED}"
    )


# Shapes of one piece of a stream; a list of them is the whole stream, concatenated in order.
_STREAM_SHAPES = frozenset(
    {
        "openai.chunk",
        "responses.delta",
        "langchain.message",
        "llamacpp.completion",
        "legacy.completion",
        "ollama",
        "tgi.stream",
    }
)
# Responses events that repeat the whole text (and its tokens) the deltas already carried.
_STREAM_REPEATS = frozenset(
    {
        "responses.done",
        "responses.event",
        "responses.response",
        "responses.output_text",
        "responses.message",
    }
)


def _is_stream_event(x: Any) -> bool:
    """A chunk or event of a stream (not a token record): chat chunk, Responses event, …"""
    if is_token_record(x) or x is None or isinstance(x, (str, bytes, int, float, list, tuple)):
        return False
    choices = _get(x, "choices")
    return (
        _get(x, "object") in ("chat.completion.chunk", "text_completion")
        or (isinstance(choices, Sequence) and bool(choices) and _has(choices[0], "delta"))
        or (isinstance(_get(x, "type"), str) and str(_get(x, "type")).startswith("response."))
        or (_has(x, "response_metadata") and type(x).__name__.endswith("Chunk"))
        or _has(x, "completion_probabilities")
        or _is_llamacpp_event(x)
        or (_has(x, "done") and (_has(x, "response") or _has(x, "message")))
    )


def _is_llamacpp_event(x: Any) -> bool:
    """A llama.cpp native ``/completion`` reply or stream event (with or without probabilities)."""
    return _has(x, "tokens_predicted") and _has(x, "content")


class StreamAssembler:
    """The pieces of one stream, read in order: the rules a stream list (``decode(chunks)``) and
    :class:`~tokbytes.StreamDecoder` share, so both see the same tokens, text and problems.

    * Responses streams: ``response.output_text.delta`` events carry the tokens; ``*.done`` and
      ``response.completed`` repeat the whole text, so they count only when nothing before them
      carried tokens (then the first of them stands for the stream).
    * ``channel="auto"`` locks onto the channel of the first piece with tokens.
    * llama.cpp: a jump of ``tokens_predicted`` larger than a native event's entries, or a final
      count (``timings.predicted_n``, ``usage.completion_tokens``) larger than the entries, is a
      ``merged_tokens`` problem (see :func:`merged_problems`).

    >>> stream = StreamAssembler(choice=0, channel="auto")
    >>> delta = {"type": "response.output_text.delta", "delta": "Hi",
    ...          "logprobs": [{"token": "Hi", "logprob": -0.5}]}
    >>> done = {"type": "response.output_text.done", "text": "Hi",
    ...         "logprobs": [{"token": "Hi", "logprob": -0.5, "bytes": [72, 105]}]}
    >>> [len(stream.add(event)) for event in (delta, done)], stream.text
    ([1, 0], 'Hi')
    """

    __slots__ = (
        "_generated",
        "_texts",
        "channel",
        "choice",
        "count",
        "finish_reason",
        "problems",
        "shapes",
    )

    def __init__(self, *, choice: int = 0, channel: str = "auto") -> None:
        self.choice = choice
        #: The channel asked for; after the first piece with tokens, the one they came from.
        self.channel = channel
        #: Token records taken so far.
        self.count = 0
        self.finish_reason: str | None = None
        #: ``merged_tokens`` / ``truncated`` problems the stream's own counts show.
        self.problems: list[Problem] = []
        self.shapes: set[str] = set()
        self._texts: dict[str, list[str]] = {}
        self._generated = 0  # llama.cpp native: the last tokens_predicted seen

    @property
    def text(self) -> str | None:
        """The text the pieces reported (their deltas), on the stream's channel; None if none."""
        pieces = self._texts.get("content" if self.channel == "auto" else self.channel)
        if pieces is None:
            return None
        text = "".join(pieces)
        # Chunks that carry tokens but only empty texts (LangChain's content="" chunks) report
        # no text at all.
        return None if not text and self.count else text

    def add(self, item: Any, position: int | None = None, *, whole: bool = False) -> list[Any]:
        """The token records ``item`` adds to the stream (``[]`` for a piece without new ones).

        ``whole`` also takes a whole response (a :class:`~tokbytes.StreamDecoder` may be fed
        one); a stream saved as a list holds chunks and events only.
        """
        found = _extract(item, _Options(self.choice, self.channel, True))
        if not whole and found.shape not in _STREAM_SHAPES | _STREAM_REPEATS:
            where = f"input[{position}]: " if position is not None else ""
            raise InputError(
                f"{where}a stream holds chunks or events, got {found.shape} ({_describe(item)})"
            )
        if found.finish_reason is not None:
            self.finish_reason = found.finish_reason
        records = found.records
        if found.shape in _STREAM_REPEATS:
            if self.count or not records:
                return []  # the whole text again: the deltas already carried it
            self._texts[found.channel] = []  # this one piece stands for the stream
        if records and self.channel == "auto":
            self.channel = found.channel
        if found.text is not None:
            self._texts.setdefault(found.channel, []).append(found.text)
        if found.shape == "llamacpp.completion":
            self._native_counts(item, records)  # each event counts: its jump names the entry
        elif _has(item, "timings"):
            self._final_count(item, records)
        self.count += len(records)
        self.shapes.add(found.shape)
        return records

    def _native_counts(self, item: Any, records: list[Any]) -> None:
        predicted = _get(item, "tokens_predicted")
        if type(predicted) is not int:
            return
        jump, self._generated = predicted - self._generated, predicted
        if records and jump > len(records):
            self.problems.extend(
                merged_problems(records, jump, first_index=self.count, exact_last=True)
            )
        elif not records and jump > 0 and _get(item, "stop") is True:
            self.problems.append(_held_tail(self.count, jump))

    def _final_count(self, item: Any, records: list[Any]) -> None:
        """llama.cpp chat and completions streams: the count in the last chunk."""
        generated = _get(_get(item, "timings"), "predicted_n")
        if type(generated) is not int:
            return
        entries = self.count + len(records)
        if _get(item, "object") == "chat.completion.chunk" and self.finish_reason == "stop":
            generated -= 1  # chat streams drop the end-of-generation entry
        if entries == 0 and generated > 0 and self.finish_reason == "length":
            self.problems.append(_held_tail(0, generated))
        elif generated > entries:
            self.problems.extend(merged_problems(self._all_bytes_unknown(entries), generated))

    @staticmethod
    def _all_bytes_unknown(entries: int) -> list[Any]:
        return [None] * entries

    def extracted(self, records: list[Any]) -> Extracted:
        """The whole stream as one :class:`Extracted`."""
        channel = "content" if self.channel == "auto" else self.channel
        shapes = sorted(self.shapes) or ["openai.chunk"]
        return Extracted(
            records,
            self.text,
            "stream:" + "+".join(shapes),
            channel,
            self.finish_reason,
            tuple(self.problems),
        )


def _from_stream(seq: Sequence[Any], opts: _Options) -> Extracted:
    """A whole stream saved as a list (``list(client.chat.completions.create(stream=True))``)."""
    stream = StreamAssembler(choice=opts.choice, channel=opts.channel)
    records: list[Any] = []
    for position, item in enumerate(seq):
        records.extend(stream.add(item, position))
    found = stream.extracted(records)
    if not records and not opts.allow_empty and found.text is None and not found.problems:
        raise InputError("this stream carries no logprobs: request logprobs=True")
    return found


# -- llama.cpp's lost logprobs ------------------------------------------------------------------

_LLAMACPP_STOP: Final = {"limit": "length", "eos": "stop", "word": "stop"}


def merged_problems(
    records: Sequence[Any],
    generated: int,
    *,
    first_index: int = 0,
    exact_last: bool = False,
    ids: Sequence[Any] | None = None,
) -> list[Problem]:
    """``merged_tokens`` problems: ``records`` (llama.cpp entries) stand for ``generated`` tokens.

    llama.cpp gives no entry to a token that leaves the text inside a character; the entry of
    the token completing the character holds all the bytes but only its own logprob. With
    ``exact_last`` (one native stream event) the last record is the merged entry; with ``ids``
    (the reply's ``tokens``: every generated token id) each entry's share is found by matching
    its ``id`` in order; otherwise only the count is known, and the candidates (entries holding
    a multi-byte character) are named.

    >>> [p.message for p in merged_problems([{"id": 5, "logprob": -0.1}], 3, exact_last=True)]
    ['token 0: this llama.cpp entry stands for 3 generated tokens; its logprob -0.1 is that of the last one only (the 2 before it left the text inside a character and got no entry): the character is less certain than this score says']
    """

    def one(index: int, size: int, logprob: Any) -> Problem:
        return Problem(
            "merged_tokens",
            f"token {index}: this llama.cpp entry stands for {size} generated tokens; its "
            f"logprob {logprob!r} is that of the last one only (the {size - 1} before it left "
            "the text inside a character and got no entry): the character is less certain "
            "than this score says",
            token=index,
        )

    if exact_last and records:
        last = len(records) - 1
        size = generated - last
        return [one(first_index + last, size, _get(records[last], "logprob"))]
    if ids:
        found: list[Problem] = []
        position = 0
        ids = list(ids)
        for k, record in enumerate(records):
            entry_id = _get(record, "id")
            try:
                at = ids.index(entry_id, position)
            except ValueError:
                break
            if at > position:
                found.append(one(first_index + k, at - position + 1, _get(record, "logprob")))
            position = at + 1
        else:  # every entry found: ids after the last one are a held-back tail, not merged
            return found
    missing = generated - len(records)
    candidates = [
        first_index + k
        for k, record in enumerate(records)
        if record is not None and any(b >= 0xC0 for b in _get(record, "bytes") or ())
    ]
    named = ", ".join(map(str, candidates[:12])) + (", …" if len(candidates) > 12 else "")
    return [
        Problem(
            "merged_tokens",
            f"the reply counts {generated} generated tokens but has {len(records)} entries: "
            f"{missing} tokens have no logprob. llama.cpp merges a token that leaves the text "
            "inside a character into the entry that completes it (whose logprob is its last "
            "token's only), and a reply cut inside a character holds its last tokens back"
            + (
                f"; the merged entries are among those holding multi-byte characters: tokens "
                f"{named}"
                if candidates
                else ""
            ),
            token=candidates[0] if candidates else None,
        )
    ]


def _held_tail(entries: int, count: int) -> Problem:
    where = f"after token {entries - 1}" if entries else "before any entry"
    return Problem(
        "truncated",
        f"{where}: the reply ends with {count} generated token(s) that have no entry: "
        "llama.cpp held back the bytes of a character the answer was cut inside (by max_tokens) "
        "and never sent them",
        token=entries - 1 if entries else None,
    )


# -- OpenAI chat and legacy completions --------------------------------------------------------


def _from_choices(obj: Any, opts: _Options) -> Extracted:
    choices = _get(obj, "choices")
    kind = _get(obj, "object")
    if (
        choices is None
        or isinstance(choices, (str, bytes, Mapping))
        or not isinstance(choices, Sequence)
    ):
        raise InputError(f"choices must be a list, got {_describe(choices)}", field="choices")
    chunk = kind in ("chat.completion.chunk", "text_completion.chunk") or (
        bool(choices) and _has(choices[0], "delta")
    )
    if chunk:
        # Streamed choices are interleaved: each chunk names its choice by ``index``.
        for position, item in enumerate(choices):
            if _get(item, "index", position) == opts.choice:
                return _from_choice(item, opts, f"choices[{position}].", "openai.chunk", chunk=True)
        return Extracted([], None, "openai.chunk")
    if not choices and opts.allow_empty:  # e.g. the usage chunk of a completions stream
        return Extracted(
            [], None, "legacy.completion" if kind == "text_completion" else "openai.chunk"
        )
    _check_choice(opts.choice, len(choices), "this response")
    item = choices[opts.choice]
    shape = _choice_shape(item, kind)
    if shape == "openai.choice":
        shape = "openai.chat_completion"
    found = _from_choice(item, opts, f"choices[{opts.choice}].", shape, chunk=False)
    generated = _get(_get(obj, "timings"), "predicted_n")
    held = found.finish_reason == "length" and (found.text or "").endswith("\ufffd")
    if type(generated) is int and generated > len(found.records) and not held:
        # llama.cpp: entries that hold several tokens (a whole reply; streams are counted by
        # StreamAssembler). A reply cut inside a character also holds tokens back, so the
        # count says nothing there: the text's trailing U+FFFD is reported instead.
        found = _replace(found, problems=tuple(merged_problems(found.records, generated)))
    return found


def _choice_shape(item: Any, kind: Any) -> str:
    if kind == "text_completion" or (not _has(item, "message") and _has(item, "text")):
        return "legacy.completion"
    if _has(item, "delta"):
        return "openai.chunk"
    return "openai.choice"


def _from_choice(item: Any, opts: _Options, path: str, shape: str, *, chunk: bool) -> Extracted:
    carrier = _get(item, "delta" if chunk else "message")
    logprobs = _get(item, "logprobs")
    finish = _str_or_none(_get(item, "finish_reason"))
    if carrier is None:  # legacy completion: text and logprobs side by side
        text = _str_or_none(_get(item, "text"))
        if logprobs is None:
            if _held_back_only(text, finish):
                return Extracted([], text, shape, "content", finish)
            found = _nothing(text, opts, shape, "logprobs=N (0-5)", f"{path}logprobs is null")
            return _replace(found, finish_reason=finish)
        if not _has(logprobs, "tokens") and isinstance(_get(logprobs, "content"), list):
            # llama.cpp's /v1/completions: chat-shaped entries inside a text_completion
            entries = _records_list(_get(logprobs, "content"), f"{path}logprobs.content")
            return Extracted(entries or [], text, shape, "content", finish)
        return Extracted(_from_legacy(logprobs, f"{path}logprobs."), text, shape, "content", finish)
    wanted = "content" if opts.channel == "reasoning" else opts.channel
    records, used_path, used = _pick_channel(logprobs, wanted, f"{path}logprobs.")
    if used == "auto":  # no logprobs at all: report the text of the non-empty channel
        content = _get(carrier, "content")
        used = "refusal" if not content and _get(carrier, "refusal") else "content"
    text = _str_or_none(_get(carrier, used))
    reasoning = _reasoning_text(carrier)
    if used == "content" and (reasoning is not None or opts.channel == "reasoning"):
        return _with_reasoning(
            Extracted(records or [], text, shape, used, finish), reasoning, opts, chunk=chunk
        )
    if records is None:
        if (chunk and not text) or _held_back_only(text, finish):
            # role, finish and usage chunks carry no tokens; a llama.cpp reply cut inside its
            # first character has no entry at all
            return Extracted([], text, shape, used, finish)
        found = _nothing(text, opts, shape, "logprobs=True", f"{used_path} is null")
        return _replace(found, channel=used, finish_reason=finish)
    return Extracted(records, text, shape, used, finish)


def _reasoning_text(carrier: Any) -> str | None:
    """The reasoning a message or delta reports beside its content (None if none)."""
    for name in ("reasoning_content", "reasoning", "thinking"):
        value = _get(carrier, name)
        if isinstance(value, str):
            return value
    return None


def _with_reasoning(
    found: Extracted, reasoning: str | None, opts: _Options, *, chunk: bool
) -> Extracted:
    """Content and reasoning of one reply or chunk. A stream chunk that reports reasoning (even
    ``""``: the chunk of the closing tag) and no content holds reasoning tokens: they belong to ``channel="reasoning"`` only. A whole
    reply keeps its tokens (maybe reasoning + content: ``decode`` separates them) and reports
    the text of the channel asked for."""
    is_reasoning = chunk and reasoning is not None and not found.text
    if opts.channel == "reasoning":
        if chunk and not is_reasoning:
            return _replace(found, records=[], text=None, channel="reasoning", reasoning=reasoning)
        return _replace(found, text=reasoning, channel="reasoning", reasoning=reasoning)
    if is_reasoning:
        return _replace(found, records=[], text=None, reasoning=reasoning)
    return _replace(found, reasoning=reasoning)


def _held_back_only(text: str | None, finish: str | None) -> bool:
    """llama.cpp cut a reply inside its first character: the text is U+FFFD, no entry came."""
    return finish == "length" and bool(text) and set(text or "") == {"\ufffd"}


def _replace(found: Extracted, **changes: Any) -> Extracted:
    fields: dict[str, Any] = {
        "records": found.records,
        "text": found.text,
        "shape": found.shape,
        "channel": found.channel,
        "finish_reason": found.finish_reason,
        "problems": found.problems,
        "reasoning": found.reasoning,
    }
    fields.update(changes)
    return Extracted(**fields)


def _pick_channel(logprobs: Any, channel: str, path: str) -> tuple[list[Any] | None, str, str]:
    """(records or None, path of the field read, channel used) of a chat ``logprobs`` object."""
    if logprobs is None:
        return None, path.rstrip("."), channel
    if isinstance(logprobs, (list, tuple)):  # some servers put the list itself here
        return list(logprobs), path.rstrip("."), "content" if channel == "auto" else channel
    if _has(logprobs, "tokens") and _has(logprobs, "token_logprobs"):
        # Together and Fireworks answer chat requests with legacy-shaped logprobs.
        return _from_legacy(logprobs, path), path.rstrip("."), "content"
    if channel in ("content", "refusal"):
        other = "refusal" if channel == "content" else "content"
        theirs = _get(logprobs, other)
        if not _get(logprobs, channel) and isinstance(theirs, (list, tuple)) and theirs:
            raise InputError(
                f"{path}{channel} has no tokens but {path}{other} has {len(theirs)}: pass "
                f"channel={other!r} (or channel='auto', the default, which takes the channel "
                "that has tokens)",
                field="channel",
            )
    if channel == "auto":
        content, refusal = _get(logprobs, "content"), _get(logprobs, "refusal")
        if content:
            channel = "content"
        elif refusal:
            channel = "refusal"
        elif content is not None:
            channel = "content"
        elif refusal is not None:
            channel = "refusal"
        else:
            return None, f"{path}content", "auto"
    value = _get(logprobs, channel)
    return _records_list(value, f"{path}{channel}"), f"{path}{channel}", channel


def _from_legacy(logprobs: Any, path: str) -> list[Any]:
    """Legacy ``{tokens, token_logprobs, top_logprobs}`` → record dicts (``bytes`` None: partial
    tokens are spelled ``bytes:\\xNN`` in the token string, which the core decodes)."""
    tokens = _get(logprobs, "tokens")
    values = _get(logprobs, "token_logprobs")
    tops = _get(logprobs, "top_logprobs")
    for name, field in (("tokens", tokens), ("token_logprobs", values)):
        if not isinstance(field, (list, tuple)):
            raise InputError(f"{path}{name} must be a list, got {_describe(field)}", field=name)
    if len(tokens) != len(values):
        raise InputError(
            f"{path}tokens has {len(tokens)} items but {path}token_logprobs has {len(values)}",
            field="token_logprobs",
        )
    if None in values:
        index = values.index(None)
        raise InputError(
            f"{path}token_logprobs[{index}] is null: with echo=True the first prompt token has no "
            "logprob; drop the prompt tokens (text_offset < len(prompt)) or request without echo",
            token=index,
            field="logprob",
        )
    if tops is None:
        return [
            {"token": token, "logprob": value, "bytes": None, "top_logprobs": []}
            for token, value in zip(tokens, values)
        ]
    if not isinstance(tops, (list, tuple)) or len(tops) != len(tokens):
        raise InputError(
            f"{path}top_logprobs must be a list of {len(tokens)} dicts, got {_describe(tops)}",
            field="top_logprobs",
        )
    return [
        {"token": token, "logprob": value, "bytes": None, "top_logprobs": _legacy_top(top)}
        for token, value, top in zip(tokens, values, tops)
    ]


def _legacy_top(top: Any) -> list[dict[str, Any]]:
    # Keyed by token string: two alternatives with the same spelling arrive as one.
    if not top:
        return []
    return [{"token": token, "logprob": value, "bytes": None} for token, value in top.items()]


# -- OpenAI Responses API ----------------------------------------------------------------------


def _from_responses_item(obj: Any, kind: str, opts: _Options) -> Extracted:
    _single(opts, "a Responses API payload")
    if kind == "output_text":
        return _from_output_text(obj, opts, "", "responses.output_text")
    if kind == "message":
        return _from_response_items([obj], opts, "", "responses.message")
    if kind == "response.output_text.delta":
        records = _records_list(_get(obj, "logprobs"), "logprobs")
        text = _str_or_none(_get(obj, "delta"))
        if records is None or (not records and text):
            return _nothing(text, opts, "responses.delta", _RESPONSES_HOW, "logprobs is empty")
        return Extracted(records, text, "responses.delta")
    if kind == "response.output_text.done":
        return _from_output_text(obj, opts, "", "responses.done")
    if kind in _RESPONSE_EVENTS and _has(obj, "response"):
        found = _from_response(_get(obj, "response"), opts, "response.output", "responses.response")
        return _replace(found, finish_reason=_responses_finish(_get(obj, "response")))
    return Extracted([], None, "responses.event")


_RESPONSES_HOW: Final = 'include=["message.output_text.logprobs"]'


def _responses_finish(response: Any) -> str | None:
    """A Responses API status as a chat ``finish_reason`` (``max_output_tokens`` → ``length``)."""
    status = _get(response, "status")
    if status == "completed":
        return "stop"
    if status == "incomplete":
        reason = _get(_get(response, "incomplete_details"), "reason")
        return "length" if reason == "max_output_tokens" else _str_or_none(reason)
    return None


def _from_response(response: Any, opts: _Options, path: str, shape: str) -> Extracted:
    output = _get(response, "output")
    if not isinstance(output, (list, tuple)):
        raise InputError(f"{path} must be a list, got {_describe(output)}", field="output")
    return _from_response_items(output, opts, path, shape)


def _from_response_items(items: Sequence[Any], opts: _Options, path: str, shape: str) -> Extracted:
    # Like the SDK's ``Response.output_text``: every output_text part of every message, in order.
    records: list[Any] = []
    texts: list[str] = []
    for i, item in enumerate(items):
        if _get(item, "type") != "message":
            continue  # reasoning, tool calls: no text tokens
        item_path = f"{path}[{i}].content" if path else "content"
        for j, part in enumerate(_get(item, "content") or ()):
            if _get(part, "type") == "output_text":
                found = _records_list(_get(part, "logprobs"), f"{item_path}[{j}].logprobs")
                records.extend(found or ())
                texts.append(_get(part, "text") or "")
    text = "".join(texts) if texts else None
    if not records and text:
        return _nothing(text, opts, shape, _RESPONSES_HOW, "every output_text has empty logprobs")
    return Extracted(records, text, shape)


def _from_output_text(part: Any, opts: _Options, path: str, shape: str) -> Extracted:
    records = _records_list(_get(part, "logprobs"), f"{path}logprobs")
    text = _str_or_none(_get(part, "text"))
    if not records and text:
        return _nothing(text, opts, shape, _RESPONSES_HOW, "logprobs is empty")
    return Extracted(records or [], text, shape)


# -- llama.cpp, Ollama, Gemini, TGI ------------------------------------------------------------


def _from_llamacpp_response(obj: Any, opts: _Options) -> Extracted:
    """A native ``/completion`` reply, or one event of its stream."""
    _single(opts, "a llama.cpp response")
    text = _str_or_none(_get(obj, "content"))
    rows = _get(obj, "completion_probabilities")
    stopped = _get(obj, "stop") is True
    finish = _LLAMACPP_STOP.get(_get(obj, "stop_type")) if stopped else None
    if rows is None:
        if stopped and _is_llamacpp_event(obj) and not text:  # a stream's last event
            return Extracted([], text, "llamacpp.completion", "content", finish)
        found = _nothing(text, opts, "llamacpp.completion", "n_probs > 0")
        return _replace(found, finish_reason=finish)
    found = _from_llamacpp(rows, "completion_probabilities", text)
    found = _replace(found, finish_reason=finish)
    predicted = _get(obj, "tokens_predicted")
    if stopped and type(predicted) is int and predicted > len(rows):
        ids = _get(obj, "tokens")
        rows_with_ids = [
            {
                "id": _get(row, "id"),
                "logprob": record["logprob"]
                if isinstance(record, dict)
                else _get(record, "logprob"),
                "bytes": _get(row, "bytes"),
            }
            for row, record in zip(rows, found.records)
        ]
        problems = merged_problems(
            rows_with_ids, predicted, ids=ids if isinstance(ids, list) and ids else None
        )
        found = _replace(found, problems=tuple(problems))
    return found


def _from_llamacpp(rows: Any, path: str, text: str | None) -> Extracted:
    if not isinstance(rows, (list, tuple)):
        raise InputError(f"{path} must be a list, got {_describe(rows)}", field=path)
    if not rows:
        return Extracted([], text, "llamacpp.completion")
    first = rows[0]
    if is_token_record(first):  # {id, token, bytes, logprob, top_logprobs}: already records
        return Extracted(list(rows), text, "llamacpp.completion")
    if _has(first, "probs"):
        return Extracted(_llamacpp_legacy(rows, path), text, "llamacpp.legacy")
    # post_sampling_probs: {id, token, bytes, prob, top_probs: [{id, token, bytes, prob}]}
    records: list[Any] = []
    for i, row in enumerate(rows):
        at = f"{path}[{i}]"
        tops = _get(row, "top_probs") or ()
        records.append(
            {
                "token": _need(row, "token", at, i),
                "logprob": _log(_need(row, "prob", at, i), f"{at}.prob", i),
                "bytes": _get(row, "bytes"),
                "top_logprobs": [
                    {
                        "token": _need(alt, "token", f"{at}.top_probs[{k}]", i),
                        "logprob": _log(_need(alt, "prob", f"{at}.top_probs[{k}]", i), at, i),
                        "bytes": _get(alt, "bytes"),
                    }
                    for k, alt in enumerate(tops)
                ],
            }
        )
    return Extracted(records, text, "llamacpp.completion")


def _llamacpp_legacy(rows: Sequence[Any], path: str) -> list[Any]:
    # 2023 servers: {content: chosen token, probs: [{tok_str, prob}]} (top n_probs only).
    records: list[Any] = []
    for i, row in enumerate(rows):
        at = f"{path}[{i}]"
        token = _need(row, "content", at, i)
        alternatives = [
            {
                "token": _need(alt, "tok_str", f"{at}.probs[{k}]", i),
                "logprob": _log(_need(alt, "prob", f"{at}.probs[{k}]", i), at, i),
                "bytes": _llamacpp_byte(_get(alt, "tok_str")),
            }
            for k, alt in enumerate(_get(row, "probs") or ())
        ]
        chosen = next((a["logprob"] for a in alternatives if a["token"] == token), None)
        if chosen is None:
            raise InputError(
                f"{at}: the chosen token {token!r:.40} is not among its probs, so its logprob is "
                "unknown (this old llama.cpp shape lists only the top n_probs; raise n_probs)",
                token=i,
                field="logprob",
            )
        records.append(
            {
                "token": token,
                "logprob": chosen,
                "bytes": _llamacpp_byte(token),
                "top_logprobs": alternatives,
            }
        )
    return records


def _llamacpp_byte(token: Any) -> list[int] | None:
    """``[0xNN]`` for old llama.cpp's ``"byte: \\xNN"`` (one partial byte), else None."""
    if isinstance(token, str) and token.startswith(_LLAMACPP_BYTE_PREFIX):
        try:
            return [int(token[len(_LLAMACPP_BYTE_PREFIX) :], 16)]
        except ValueError:
            return None
    return None


def _from_ollama(obj: Any, opts: _Options) -> Extracted:
    _single(opts, "an Ollama response")  # reasoning in "thinking" (think=true)
    text = _get(obj, "response", _MISSING)
    if text is _MISSING:
        text = _get(_get(obj, "message"), "content")
    text = _str_or_none(text)
    records = _records_list(_get(obj, "logprobs"), "logprobs")
    finish = _str_or_none(_get(obj, "done_reason"))
    reasoning = _reasoning_text(obj)
    if reasoning is None:
        reasoning = _reasoning_text(_get(obj, "message"))
    if records is None:
        return _replace(
            _nothing(text, opts, "ollama", '"logprobs": true', "no logprobs"),
            finish_reason=finish,
            reasoning=reasoning,
        )
    found = Extracted(records, text, "ollama", "content", finish)
    if reasoning is None and opts.channel != "reasoning":
        return found
    # A streamed Ollama chunk says done=false; a whole reply done=true.
    return _with_reasoning(found, reasoning, opts, chunk=_get(obj, "done") is False)


def _from_gemini(obj: Any, opts: _Options) -> Extracted:
    candidates = _get(obj, "candidates")
    if not isinstance(candidates, (list, tuple)):
        raise InputError(f"candidates must be a list, got {_describe(candidates)}")
    _check_choice(opts.choice, len(candidates), "this response (candidates)")
    candidate = candidates[opts.choice]
    path = f"candidates[{opts.choice}]"
    parts = _get(_get(candidate, "content"), "parts") or ()
    texts = [_get(p, "text") for p in parts if not _get(p, "thought")]
    text = "".join(t for t in texts if isinstance(t, str)) if parts else None
    result = _get2(candidate, "logprobsResult", "logprobs_result")
    chosen = _get2(result, "chosenCandidates", "chosen_candidates")
    if chosen is None:
        how = "generationConfig.responseLogprobs=true (and logprobs=N)"
        return _nothing(text, opts, "gemini", how, f"{path}.logprobsResult is missing")
    tops = _get2(result, "topCandidates", "top_candidates")
    return Extracted(_from_gemini_tokens(chosen, tops, f"{path}.logprobsResult"), text, "gemini")


def _from_gemini_tokens(chosen: Sequence[Any], tops: Any, path: str) -> list[Any]:
    tops = tops or ()

    def alternatives(i: int) -> list[dict[str, Any]]:
        if i >= len(tops):
            return []
        return [_gemini_record(c) for c in _get(tops[i], "candidates") or ()]

    records = []
    for i, candidate in enumerate(chosen):
        record = _gemini_record(candidate)
        record["top_logprobs"] = alternatives(i)
        records.append(record)
    return records


def _gemini_record(candidate: Any) -> dict[str, Any]:
    # Proto3 JSON leaves out fields at their default, so a certain token (log probability 0.0)
    # arrives without ``logProbability`` and an empty token without ``token``.
    value = _get2(candidate, "logProbability", "log_probability")
    token = _get(candidate, "token")
    return {
        "token": "" if token is None else token,
        "logprob": 0.0 if value is None else value,
        "bytes": None,
    }


def _from_tgi(obj: Any, opts: _Options) -> Extracted:
    _single(opts, "a TGI response")
    text = _str_or_none(_get(obj, "generated_text"))
    details = _get(obj, "details")
    if _get(details, "tokens") is None:  # a stream event (its last one has details, no tokens)
        token = _get(obj, "token")
        if token is None:
            return _nothing(text, opts, "tgi", '"details": true', "details.tokens is missing")
        top = _get(obj, "top_tokens")
        records = _from_tgi_tokens([token], [top] if top else None, "token")
        delta = "" if _get(token, "special") else _str_or_none(_get(token, "text"))
        return Extracted(records, delta, "tgi.stream")
    tokens = _get(details, "tokens")
    if not isinstance(tokens, (list, tuple)):
        raise InputError(f"details.tokens must be a list, got {_describe(tokens)}")
    return Extracted(
        _from_tgi_tokens(tokens, _get(details, "top_tokens"), "details.tokens"), text, "tgi"
    )


def _from_tgi_tokens(tokens: Sequence[Any], tops: Any, path: str) -> list[Any]:
    # Special tokens (EOS) are left out of generated_text, so they carry no bytes.
    tops = tops or ()
    records = []
    for i, token in enumerate(tokens):
        at = f"{path}[{i}]"
        alternatives = tops[i] if i < len(tops) and tops[i] else ()
        records.append(
            {
                "token": _need(token, "text", at, i),
                "logprob": _get(token, "logprob"),
                "bytes": [] if _get(token, "special") else None,
                "top_logprobs": [
                    {
                        "token": _get(alt, "text"),
                        "logprob": _get(alt, "logprob"),
                        "bytes": [] if _get(alt, "special") else None,
                    }
                    for alt in alternatives
                ],
            }
        )
    return records


# -- LangChain (duck-typed: this module never imports it) --------------------------------------


def _from_langchain_message(message: Any, opts: _Options, shape: str) -> Extracted:
    _single(opts, "a LangChain message")
    metadata = _get(message, "response_metadata") or {}
    return _langchain_found(_get(metadata, "logprobs"), message, None, opts, shape)


def _from_langchain_generation(generation: Any, opts: _Options) -> Extracted:
    _single(opts, "a LangChain generation")
    info = _get(generation, "generation_info") or {}
    message = _get(generation, "message")
    logprobs = _get(info, "logprobs")
    if logprobs is None and message is not None:
        logprobs = _get(_get(message, "response_metadata") or {}, "logprobs")
    return _langchain_found(
        logprobs, message, _get(generation, "text"), opts, "langchain.generation"
    )


def _langchain_found(
    logprobs: Any, message: Any, fallback: Any, opts: _Options, shape: str
) -> Extracted:
    records, _, used = _pick_channel(logprobs, opts.channel, 'response_metadata["logprobs"].')
    content = _get(message, "content") if message is not None else None
    if used == "refusal":
        text = _get(_get(message, "additional_kwargs") or {}, "refusal")
    else:
        text = content if isinstance(content, str) else fallback
    text = _str_or_none(text)
    if records is None:
        return _nothing(
            text,
            opts,
            shape,
            "logprobs=True (in the ChatOpenAI constructor)",
            'response_metadata["logprobs"] is missing or null',
        )
    return Extracted(records, text, shape)


def _from_langchain_result(result: Any, opts: _Options) -> Extracted:
    generations = _get(result, "generations")
    if not isinstance(generations, (list, tuple)) or not generations:
        raise InputError(f"generations must be a non-empty list, got {_describe(generations)}")
    if not isinstance(generations[0], (list, tuple)):  # ChatResult: one list of generations
        found = _from_list(generations, opts, "generations")
        return Extracted(found.records, found.text, "langchain.llm_result")
    if len(generations) != 1:
        raise InputError(
            f"this LLMResult holds the results of {len(generations)} prompts; pick one with "
            "extract(result.generations[i], choice=j)",
            field="generations",
        )
    inner = generations[0]
    _check_choice(opts.choice, len(inner), "this LLMResult (generations[0])")
    found = _from_langchain_generation(inner[opts.choice], _first(opts))
    return Extracted(found.records, found.text, "langchain.llm_result")


# -- helpers -----------------------------------------------------------------------------------


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _get2(obj: Any, camel: str, snake: str) -> Any:
    """A field under its REST (camelCase) or SDK (snake_case) name."""
    value = _get(obj, camel)
    return _get(obj, snake) if value is None else value


def _has(obj: Any, name: str) -> bool:
    if isinstance(obj, Mapping):
        return name in obj
    return hasattr(obj, name)


def _need(obj: Any, name: str, path: str, index: int) -> Any:
    value = _get(obj, name, _MISSING)
    if value is _MISSING or value is None:
        raise InputError(f"{path}.{name} is missing (in {_describe(obj)})", token=index, field=name)
    return value


def _log(prob: Any, path: str, index: int) -> float:
    if isinstance(prob, bool) or not isinstance(prob, (int, float)) or not 0.0 <= prob <= 1.0:
        raise InputError(
            f"{path}: probability must be a number in [0, 1], got {prob!r:.40}",
            token=index,
            field="prob",
        )
    return math.log(prob) if prob > 0.0 else -math.inf


def _records_list(value: Any, path: str) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return list(value)  # a new list (C-level copy), never converted record by record
    if isinstance(value, tuple):
        return list(value)
    raise InputError(f"{path} must be a list of token records, got {_describe(value)}")


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _nothing(text: str | None, opts: _Options, shape: str, how: str, where: str = "") -> Extracted:
    """No logprobs in the container: empty records, or an error telling how to request them."""
    if opts.allow_empty or not text:
        return Extracted([], text, shape)
    raise InputError(
        f"no logprobs in this response ({shape}{': ' + where if where else ''}): request {how}",
        field="logprobs",
    )


def _first(opts: _Options) -> _Options:
    """The options for the one output a choice was picked from."""
    return _Options(0, opts.channel, opts.allow_empty)


def _single(opts: _Options, what: str) -> None:
    if opts.choice:
        raise InputError(
            f"choice={opts.choice} but {what} holds a single output; choice picks among the "
            "choices of a response made with n > 1",
            field="choice",
        )


def _check_choice(choice: int, count: int, what: str) -> None:
    if choice >= count:
        has = f"{count} choice{'' if count == 1 else 's'} (0-{count - 1})" if count else "none"
        raise InputError(f"choice={choice} is out of range: {what} has {has}", field="choice")


def _describe(obj: Any) -> str:
    if isinstance(obj, Mapping):
        keys = list(obj)
        shown = ", ".join(map(repr, keys[:12])) + (", …" if len(keys) > 12 else "")
        return f"a {type(obj).__name__} with keys [{shown}]"
    if obj is None or isinstance(obj, (str, bytes, int, float, list, tuple)):
        return f"{type(obj).__name__} {obj!r:.60}"
    fields = getattr(type(obj), "model_fields", None) or getattr(obj, "__dict__", None) or {}
    names = [n for n in fields if not n.startswith("_")]
    shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
    return f"a {type(obj).__name__} object" + (f" with attributes [{shown}]" if names else "")


def _raise_api_error(obj: Any) -> None:
    """An API error body (OpenAI, llama.cpp, vLLM: ``{"error": {"message": ...}}``; a Responses
    ``error`` event) instead of a reply: raise quoting the provider's message."""
    error = _get(obj, "error")
    if _get(obj, "type") == "error" and _has(obj, "message"):
        error = obj
    elif error is None or _has(obj, "choices") or _has(obj, "output") or _has(obj, "candidates"):
        return
    if isinstance(error, str):
        message, details = error, ""
    else:
        message = _get(error, "message")
        if not isinstance(message, str):
            return
        extra = [f"{k}={_get(error, k)!r}" for k in ("code", "type") if _get(error, k) is not None]
        details = f" ({', '.join(extra)})" if extra else ""
    raise InputError(
        f"the provider returned an error instead of a reply{details}: {message!r}", field="error"
    )


def _unknown(obj: Any) -> InputError:
    return InputError(f"cannot find token logprobs in {_describe(obj)}; expected {_ACCEPTED}")
