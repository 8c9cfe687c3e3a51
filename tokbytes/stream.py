"""Streaming: finished characters, graphemes and words while the tokens of a stream arrive.

:class:`StreamDecoder` is an incremental decoder in the shape of ``codecs.IncrementalDecoder``:
:meth:`~StreamDecoder.feed` takes the next token records (or a stream chunk holding them) and
returns the units that nothing later can change; :meth:`~StreamDecoder.close` flushes the rest.
Over a whole stream the units are exactly those of :func:`tokbytes.decode` at the same level
(same text, offsets, token indices, scores and problems), whatever the chunking.

It follows the data in two parts, each in its own module:

* a byte reader (:class:`~tokbytes.byte_reader.ByteReader`) reads each token's bytes as
  ``decode`` reads them in the whole response and passes on the bytes no reading can change
  (*verified*); a token another reading could change makes the rest wait, at worst until
  :meth:`~StreamDecoder.close`, which reads the whole stream as ``decode`` does
  (:func:`~tokbytes.recovery.read_response`) and emits the rest;
* a unit window (:class:`~tokbytes.unit_window.UnitWindow`, the rule) turns verified bytes into
  the units nothing later can change, aligning the pending tokens with the batch code.
  :class:`~tokbytes.direct_window.DirectWindow` takes shortcuts in the common windows.

Chunks go through :class:`~tokbytes.sources.StreamAssembler`, which ``decode(list_of_chunks)``
uses too: channel, Responses repeats, reasoning chunks and llama.cpp counts are read the same.
With the compiled core, a feeder (``_core.CharFeeder``, ``_core.SegmentFeeder``) does both parts'
work for plain records in C while it is armed (see :meth:`StreamDecoder._arm`), with the same
results, and hands the state back for anything else.

Memory is the window, the emitted text and the reader's compact copy of the tokens (their bytes,
offsets and logprobs; records themselves are dropped unless ``keep_history=True``).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any

from . import _speedups
from .alignment import Errors, read_records
from .byte_reader import ByteReader, token_string
from .direct_window import DirectWindow
from .errors import InputError
from .escapes import token_text_to_bytes
from .records import BytesSource, Problem, Unit
from .recovery import (
    TOKEN_FORMATS,
    TokenFormat,
    read_response,
    suspected_problem,
    suspicious,
)
from .segmentation import Words, segmenter, word_class
from .sources import StreamAssembler
from .unit_window import UnitWindow
from .units import (
    LEVELS,
    Attribution,
    Level,
    grapheme_bounds,
    grapheme_class,
    joining_flags,
    units,
)

__all__ = ["TOKEN_FORMATS", "StreamDecoder", "TokenFormat", "astream_units", "stream_units"]

_AS_GIVEN: tuple[BytesSource] = ("bytes",)


#: The unit window streams use: the rule with its shortcuts (tests also run the rule alone).
WINDOW: type[UnitWindow] = DirectWindow


class StreamDecoder:
    """Turn a stream of token records into finished units, exactly as :func:`tokbytes.decode`.

    ``level`` is ``"char"``, ``"grapheme"`` or ``"word"``; ``errors``, ``attribution``,
    ``channel`` and ``token_format`` mean what they mean for :func:`tokbytes.decode`; ``choice``
    and ``channel`` pick the records out of stream chunks (see :func:`tokbytes.extract`;
    ``channel="auto"`` follows the first channel that carries tokens). With
    ``keep_history=True`` every record fed is kept in :attr:`records`.

    Two parts, one after the other:

    * a **byte reader** takes each token's bytes as :func:`tokbytes.decode` would read them in
      the whole response. Bytes are *verified* when no reading but the bytes as given can
      change them, whatever text the provider reports: then they go on at once. A token that
      another reading could change (U+FFFD or empty fragments, ``<0xNN>`` pieces, ``▁``,
      escapes that disagree with the bytes, and, with ``token_format="auto"``, non-ASCII
      byte-level BPE symbols while every token so far could be BPE symbols) is held, with
      everything after it, until the evidence is in: a token that cannot be a BPE symbol
      releases a BPE hold; anything else waits for :meth:`close`, which reads the whole stream
      as ``decode`` reads it (:func:`tokbytes.recovery.read_response`) and emits the rest.
    * a **unit window** turns verified bytes into finished units. A unit is returned by the
      first :meth:`feed` after which nothing can change it: a character with its last byte; a
      grapheme with the next character; a word once two characters that are not
      Extend/Format/ZWJ follow it (``3`` ``.`` ``14`` and ``don`` ``'`` ``t`` need that
      lookahead). With ``attribution="split"`` a word also waits until every token it touches
      is fully segmented (its score divides by each token's in-word bytes).

    >>> dec = StreamDecoder("word")
    >>> [w.text for w in dec.feed({"token": "Hi", "bytes": [72, 105], "logprob": -0.5})]
    []
    >>> [w.text for w in dec.feed([{"token": " \\\\xec\\\\x84", "bytes": [32, 236, 132], "logprob": -1.0},
    ...                            {"token": "\\\\x9c", "bytes": [156], "logprob": -0.25}])]
    ['Hi']
    >>> [(w.text, w.tokens, w.logprob) for w in dec.close()]
    [('서', (1, 2), -1.25)]
    >>> dec.text
    'Hi 서'
    """

    __slots__ = (
        "_attribution",
        "_channel",
        "_choice",
        "_chunks",
        "_closed",
        "_errors",
        "_feeder",
        "_final",
        "_keep_history",
        "_level",
        "_reader",
        "_segmenter",
        "_token_format",
        "_window",
    )

    def __init__(
        self,
        level: Level = "char",
        *,
        errors: Errors = "strict",
        attribution: Attribution = "cover",
        keep_history: bool = False,
        choice: int = 0,
        channel: str = "auto",
        token_format: TokenFormat = "auto",
        words: Words = "uax29",
    ) -> None:
        self._segmenter = segmenter(words)  # how words are found (see tokbytes.segmentation)
        if level not in LEVELS:
            raise InputError(
                f"level must be one of {', '.join(map(repr, LEVELS))}, got {level!r:.40}"
            )
        if errors not in ("strict", "replace"):
            raise InputError(f"errors must be 'strict' or 'replace', got {errors!r:.40}")
        if attribution not in ("cover", "split"):
            raise InputError(f"attribution must be 'cover' or 'split', got {attribution!r:.40}")
        if type(choice) is not int or choice < 0:
            raise InputError(f"choice must be an int >= 0, got {choice!r:.40}", field="choice")
        if channel not in ("content", "refusal", "reasoning", "auto"):
            raise InputError(
                f"channel must be 'content', 'refusal', 'reasoning' or 'auto', got {channel!r:.40}",
                field="channel",
            )
        self._level: Level = level
        self._errors: Errors = errors
        self._attribution: Attribution = attribution
        self._choice = choice
        self._channel = channel
        if token_format not in TOKEN_FORMATS:
            raise InputError(
                f"token_format must be one of {', '.join(map(repr, TOKEN_FORMATS))}, "
                f"got {token_format!r:.40}",
                field="token_format",
            )
        self._token_format: TokenFormat = token_format
        self._keep_history = keep_history
        self.reset()

    def reset(self) -> None:
        """Forget everything fed: start a new stream (keeps the options)."""
        self._feeder: Any = None  # the compiled fast path, while armed (see _arm)
        self._reader = ByteReader(self._token_format, keep_history=self._keep_history)
        self._window = WINDOW(self._level, self._attribution, self._errors, self._segmenter)
        self._chunks = StreamAssembler(choice=self._choice, channel=self._channel)
        self._final: list[Problem] | None = None  # the whole-stream problems, once re-read
        self._closed = False

    # -- feeding -------------------------------------------------------------------------------

    def feed(self, x: Any) -> list[Unit]:
        """Add token records and return the units they finish, in text order.

        ``x`` is one token record, a list of them, a stream chunk (an OpenAI
        ``chat.completion.chunk`` dict or SDK ``ChatCompletionChunk``, a Responses stream event,
        a llama.cpp or Ollama stream event, a LangChain ``AIMessageChunk``, any container
        :func:`tokbytes.extract` knows) or a list of chunks. A chunk without logprobs (role,
        finish or usage chunk) adds nothing and returns ``[]``; Responses ``*.done`` and
        ``response.completed`` events repeat the deltas' tokens and add nothing either.

        Raises :class:`~tokbytes.DecodeError` (``errors="strict"``) as soon as the bytes cannot be
        UTF-8, with the message :func:`tokbytes.decode` gives; the decoder is then closed.
        """
        feeder = self._feeder
        if feeder is not None:  # the compiled fast path (see _arm)
            found = feeder.feed(x)
            if found is not None:
                return found  # type: ignore[no-any-return]
        return self._feed(x)

    def _feed(self, x: Any) -> list[Unit]:
        """:meth:`feed` past the compiled feeder (which, when armed, declined ``x``)."""
        if self._closed:
            raise InputError(
                "feed() after close(): this StreamDecoder is closed; call reset() to decode "
                "another stream"
            )
        self._disarm()
        reader, window = self._reader, self._window
        verified = reader.take_verified(x)
        if verified is not None:  # one plain record, bytes as given: the common case
            data, logprob = verified
            try:
                units = window.take(data, logprob)
            except Exception:
                self._closed = True
                raise
            self._arm()
            return units
        records = self._records_of(x)
        if not records:
            return []
        parts, logprobs, sources, problems = read_records(records, first_index=reader.seen)
        if reader.history is not None:
            reader.history.extend(records)
        reader.inferred.extend(problems)
        given: Sequence[BytesSource] = sources or _AS_GIVEN * len(parts)
        window.extend(
            reader.read(parts, logprobs, given, [token_string(r) for r in records]), logprobs
        )
        units = [] if reader.holding else self._advance(final=False)
        plain_records = records is x or (type(x) is dict and "logprob" in x)
        if reader.plain and plain_records and type(records[0]) is dict:
            self._arm()  # records: the next ones may take the fast path (chunks never do)
        return units

    def _advance(self, *, final: bool) -> list[Unit]:
        """The window's final units; an error (strict) closes the decoder."""
        try:
            return self._window.advance(final=final)
        except Exception:
            self._closed = True
            raise

    def close(self, text: str | None = None) -> list[Unit]:
        """Flush: the units still pending, with ``errors`` applied to a cut-off last character.

        With ``errors="strict"`` a stream that ends inside a character raises
        :class:`~tokbytes.DecodeError` (the message :func:`tokbytes.decode` gives); with
        ``"replace"`` the bytes become one U+FFFD unit and a ``"truncated"`` problem. Closing
        twice returns ``[]``.

        ``text`` is the final text the provider reported (by default the deltas of the stream
        chunks fed, when they carried any). A stream whose tokens were held (lossy fragments,
        pieces, BPE symbols) is read here as a whole, as :func:`tokbytes.decode` reads a
        response with that text; any stream is checked against it: a difference raises
        :class:`~tokbytes.DecodeError` (strict) or adds the ``"text_mismatch"`` problem
        ``decode`` adds.
        """
        self._disarm()
        if self._closed:
            return []
        self._closed = True
        if text is None:
            text = self._chunks.text
        elif not isinstance(text, str):
            raise InputError(
                f"text must be a str (the provider's final text), got {type(text).__name__}",
                field="text",
            )
        if self._reader.holding:
            out = self._read_whole(text)
        else:
            out = self._window.advance(final=True)
            streamed = self.text
            if text is None:
                # decode()'s check (b"<0x" in the bytes is "<0x" in the text: invalid
                # sequences never swallow ASCII)
                if self._token_format == "auto" and suspicious(
                    streamed, b"<0x" * ("<0x" in streamed)
                ):
                    parts, sources, _ = self._reader.whole()
                    found = suspected_problem(parts, sources)
                    if found is not None:
                        self._final = [*self.problems, found]
            elif streamed != text and not self._only_truncated(streamed, text):
                # As decode() does with a text the tokens do not spell: the problem (or the
                # error) it gives. Nothing emitted can change: no token was in doubt.
                self._read_whole(text)
        if self._chunks.problems:  # what the stream's own counts show (llama.cpp)
            from .decoded import with_container_problems

            self._final = list(
                with_container_problems(self.problems, self._chunks.problems, self._errors)
            )
        return out

    def _records_of(self, x: Any) -> Sequence[Any]:
        """The token records in ``x``: records as they are, chunks through the stream's
        :class:`~tokbytes.sources.StreamAssembler` (which also keeps their text)."""
        if isinstance(x, Mapping):
            # a record, maybe malformed (read_records names what is wrong, as in decode())
            if "logprob" in x or "bytes" in x or isinstance(x.get("token"), str):
                return (x,)
        elif isinstance(x, (list, tuple)):
            # A list of records, possibly malformed (as decode() tells them: read_records then
            # names the bad token and field), or a list of chunks.
            if not x:
                return ()
            first = x[0]
            if isinstance(first, Mapping):
                if "token" in first or "bytes" in first:
                    return x
            elif hasattr(first, "logprob") and (hasattr(first, "token") or hasattr(first, "bytes")):
                return x
            return [r for item in x for r in self._chunks.add(item)]
        elif hasattr(x, "logprob") and not hasattr(x, "choices"):
            return (x,)
        return self._chunks.add(x, whole=True)

    def _read_whole(self, text: str | None) -> list[Unit]:
        """close() of a stream that waited: read every token as :func:`tokbytes.decode` reads
        the response (``read_response``), and emit the units after the frontier."""
        reader, window = self._reader, self._window
        parts, sources, tokens = reader.whole()
        al = read_response(
            parts,
            reader.all_logprobs,
            sources,
            reader.inferred,
            tokens,
            text=text,
            errors=self._errors,
            token_format=self._token_format,
        )
        self._final = list(al.problems)
        frontier = window.char_base
        out = [u for u in units(al, self._level, self._attribution) if u.start >= frontier]
        if len(al.text) > frontier:
            window.keep_text(al.text[frontier:])
            window.char_base = len(al.text)
        window.clear()
        return out

    def _only_truncated(self, streamed: str, text: str) -> bool:
        """The reported text leaves out the partial character a cut-off answer ends with."""
        return (
            streamed.endswith("\ufffd")
            and streamed[:-1] == text
            and any(p.kind == "truncated" for p in self._window.invalid[-1:])
        )

    # -- the compiled core's feeders -----------------------------------------------------------

    def _arm(self) -> None:
        """Hand the window to the compiled core's ``CharFeeder`` (characters, and graphemes of
        characters that cannot join a neighbour) or ``SegmentFeeder`` (graphemes of several
        characters; ``uax29`` words without Hebrew letters), cover scores, while the reader's
        plain path applies (``ByteReader.plain``): it takes the records that path takes, with
        the same results and the same appends to the reader's copy and the history, in C, and
        declines the first one it does not take (:meth:`_disarm` then gives the window back).
        Readers of the window, the emitted text or the token count call :meth:`_flush` first."""
        core = _speedups.core
        reader, window = self._reader, self._window
        if core is None or not reader.plain or self._attribution != "cover":
            return
        fields = (  # the window's fields, the reader's copy and the history, shared
            window.parts,
            window.logprobs,
            window.token_base,
            window.byte_base,
            window.done,
            window.char_base,
            reader.seen,
            window.reported_tokens,
            reader.history,
            reader.all_bytes,
            reader.all_ends,
            reader.all_logprobs,
            token_text_to_bytes,
        )
        if self._level == "word":
            if self._segmenter.words == "uax29" and _core_rules_agree(core, "word"):
                self._feeder = core.segment_feeder(*fields, window.context)
            return
        graphemes = self._level == "grapheme"
        if graphemes and not core.has_joining():
            core.set_joining(joining_flags())
        self._feeder = core.char_feeder(*fields, graphemes)
        if self._feeder is None and graphemes and _core_rules_agree(core, "grapheme"):
            self._feeder = core.segment_feeder(*fields, "", True)

    def _flush(self) -> None:
        """Bring the window and the reader's count up to date from the armed feeder (which keeps
        the window; the reader's copy and the history it appends to directly)."""
        if self._feeder is not None:
            window = self._window
            (
                window.parts,
                window.logprobs,
                window.token_base,
                window.byte_base,
                window.done,
                window.char_base,
                self._reader.seen,
                window.reported_tokens,
                text,
                context,
            ) = self._feeder.state()
            if text:
                window.keep_text(text)
            if context is not None:  # words: the frontier moved (see SegmentFeeder.state)
                window.context = context

    def _disarm(self) -> None:
        self._flush()
        self._feeder = None

    # -- state ---------------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The finalized text so far: everything before the first pending character.

        For words this includes the whitespace between emitted words. The emitted text is kept
        (pieces joined on first access); token records are not.
        """
        self._flush()
        return self._window.text

    @property
    def pending(self) -> bytes:
        """The bytes received but not yet in an emitted unit (held back for lookahead)."""
        self._flush()
        return self._window.pending

    @property
    def problems(self) -> tuple[Problem, ...]:
        """What was dealt with instead of raising so far, in the order ``decode`` lists them."""
        if self._final is not None:  # read as a whole at close()
            return tuple(self._final)
        reader, window = self._reader, self._window
        return (*reader.inferred, *reader.recovered, *window.invalid, *window.empty)

    @property
    def tokens_seen(self) -> int:
        """How many token records have been fed."""
        self._flush()
        return self._reader.seen

    @property
    def records(self) -> list[Any]:
        """Every token record fed (``keep_history=True`` only): ``tokbytes.decode(dec.records)``."""
        if self._reader.history is None:
            raise InputError("records are only kept with StreamDecoder(..., keep_history=True)")
        return self._reader.history

    @property
    def level(self) -> Level:
        """``"char"``, ``"grapheme"`` or ``"word"``."""
        return self._level

    def __repr__(self) -> str:
        self._flush()
        state = "closed" if self._closed else f"{len(self.pending)} bytes pending"
        return f"<StreamDecoder {self._level}: {self._reader.seen} tokens, {state}>"


# Texts that meet every word and grapheme rule the core's windows apply, and the ways regex
# versions have read them differently (WB4 on both sides, Extend back to the start, regional
# indicators through Format, apostrophes before vowels, ZWJ before pictographs, GB9-GB13).
_PROBES = (
    "l'avion 3.14 a1_b ':'a カタ ー \u0308 1 1;\u0308 1 a\u0308'b a\u0308.\u0308b 1\u0308,2 \r\n x",
    "🇦\u00ad🇦🇦 🇦\u0308\u200d🇦🇦🇦 x🇦\u200d🇦\u0308🇦 👩\u200d👩\u200d👧 👍🏽 #\ufe0f\u20e3 a\u200d😊",
    "\u0308\u0308a e\u0301\u0302 \u1100\u1161\u11a8 가\u11a8 \u0600a a\u0903 \x01\u0308 \u3000\u3000",
)


@functools.cache
def _core_rules_agree(core: Any, level: str) -> bool:
    """The compiled word (grapheme) window applies the Python path's rules: installs the class
    table and checks the core's boundaries (and word contexts) against the Python path's on
    texts that meet every rule (a ``regex`` that reads one differently keeps the Python path).
    """
    segments = segmenter()
    if level == "grapheme":
        core.set_grapheme_classes(grapheme_class)
    else:
        core.set_word_classes(word_class)
    for text in _PROBES:
        inside = range(1, len(text))
        if level == "grapheme":
            if core.grapheme_breaks(text) != [b for b in grapheme_bounds(text) if b in inside]:
                return False
            continue
        contexts = [segments.context(text, k) for k in range(len(text))]
        if (
            core.word_breaks(text) != [b for b in segments.bounds(text) if b in inside]
            or [core.word_context(text, k) for k in range(len(text))] != contexts
        ):
            return False
    return True


def _compile_feed() -> None:
    """With the compiled core, ``StreamDecoder.feed`` is its twin ``_core.stream_feed``: the
    same two steps (the armed feeder, then :meth:`StreamDecoder._feed`) without a Python frame
    per token (under :func:`~tokbytes._speedups.forced_pure` no feeder is armed, so it is
    ``_feed`` itself)."""
    core = _speedups.core
    if core is None:
        return
    python_feed = StreamDecoder.feed
    feed = core.stream_feed
    feed.__doc__, feed.__module__ = python_feed.__doc__, python_feed.__module__
    feed.__name__, feed.__qualname__ = python_feed.__name__, python_feed.__qualname__
    feed.__wrapped__ = python_feed
    StreamDecoder.feed = feed  # type: ignore[method-assign]


_compile_feed()


# -- iterators ---------------------------------------------------------------------------------


def stream_units(
    chunks: Iterable[Any],
    *,
    level: Level = "char",
    errors: Errors = "strict",
    attribution: Attribution = "cover",
    choice: int = 0,
    channel: str = "auto",
    words: Words = "uax29",
) -> Iterator[Unit]:
    """Yield units as a stream of chunks or records finishes them, then the last ones.

    ``chunks`` is anything :meth:`StreamDecoder.feed` takes, one item at a time: e.g.
    ``llm.stream(...)`` of a LangChain ``ChatOpenAI(...).bind(logprobs=True)``, the OpenAI SDK's
    ``client.chat.completions.create(..., stream=True, logprobs=True)``, or token records.

    >>> records = [{"token": "\\\\xec\\\\x84", "bytes": [236, 132], "logprob": -1.0},
    ...            {"token": "\\\\x9c!", "bytes": [156, 33], "logprob": -0.5}]
    >>> [(u.text, u.tokens, u.logprob) for u in stream_units(records)]
    [('서', (0, 1), -1.5), ('!', (1,), -0.5)]
    """
    decoder = StreamDecoder(
        level, errors=errors, attribution=attribution, choice=choice, channel=channel, words=words
    )
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()


async def astream_units(
    chunks: AsyncIterable[Any],
    *,
    level: Level = "char",
    errors: Errors = "strict",
    attribution: Attribution = "cover",
    choice: int = 0,
    channel: str = "auto",
    words: Words = "uax29",
) -> AsyncIterator[Unit]:
    """:func:`stream_units` for an async stream, e.g. LangChain's ``llm.astream(...)``.

    >>> import asyncio
    >>> async def tokens():
    ...     yield {"token": "ok", "bytes": [111, 107], "logprob": -0.25}
    >>> async def main():
    ...     return [w.text async for w in astream_units(tokens(), level="word")]
    >>> asyncio.run(main())
    ['ok']
    """
    decoder = StreamDecoder(
        level, errors=errors, attribution=attribution, choice=choice, channel=channel, words=words
    )
    async for chunk in chunks:
        for unit in decoder.feed(chunk):
            yield unit
    for unit in decoder.close():
        yield unit
