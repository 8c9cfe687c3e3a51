"""Streaming: finished characters, graphemes and words while the tokens of a stream arrive.

:class:`StreamDecoder` is an incremental decoder in the shape of ``codecs.IncrementalDecoder``:
:meth:`~StreamDecoder.feed` takes the next token records (or a stream chunk holding them) and
returns the units that nothing later can change; :meth:`~StreamDecoder.close` flushes the rest.
Over a whole stream the units are exactly those of :func:`tokbytes.decode` at the same level
(same text, offsets, token indices, scores and problems), whatever the chunking.

How it stays equal to batch, in two steps:

* A *byte reader* reads each token's bytes as :func:`tokbytes.decode` reads them in the whole
  response (:mod:`tokbytes.recovery`). Bytes no other reading could change, whatever text the
  provider reports, are *verified* and go on at once. A token another reading could change
  (U+FFFD or empty, a ``<0xNN>`` piece, ``▁``, escapes that disagree with the bytes; with
  ``token_format="auto"`` also non-ASCII BPE symbols while every token so far could be BPE
  symbols) holds itself and everything after it: a token that cannot be a BPE symbol releases a
  BPE hold, anything else waits for ``close()``, which reads the whole stream with
  :func:`~tokbytes.recovery.read_response` (what ``decode`` runs) and emits the rest. Tokens
  before the first hold keep their bytes under every reading ``decode`` may choose, so what was
  emitted is what ``decode`` gives. The reader keeps every token compactly (bytes, end offset,
  logprob) for that whole-stream reading and for the exact problem a text mismatch gets.
  Chunks go through :class:`~tokbytes.sources.StreamAssembler`, which ``decode(list_of_chunks)``
  uses too: channel, Responses repeats, reasoning chunks and llama.cpp counts are read the same.
* A *unit window* turns verified bytes into units: the tokens from the one holding the first
  byte not yet in an emitted unit (the *frontier*) to the last one fed. Each feed aligns that window with the batch
  code (:func:`~tokbytes.alignment.align_parts` with ``token_base``/``byte_base``/``char_base``)
  and builds units with :func:`~tokbytes.units.build_units` (for a few units, the same
  expressions one unit at a time: ``build_units`` is made for large batches), so scores are
  computed as ``decode`` computes them. Bytes of the window's first token that lie before the
  frontier, and the bytes of a character still incomplete at the end, are stood in for by NUL
  placeholders: token lengths (which split attribution divides by) stay exact and the text
  decodes as the same bytes do inside the whole output. The common windows take direct paths
  with no alignment, each building units with the expressions ``build_units`` uses (the
  tokens carrying a unit's bytes; cover: their logprob or left-to-right ``sum``; split: each
  token's logprob times its share of bytes): characters and graphemes, and cover-scored words,
  whenever no window token is empty and the window's bytes are UTF-8 up to an incomplete last
  character (split characters included); cover-scored characters one token at a time take an
  even shorter one.
* Boundaries come from the batch segmenters over the pending text only: characters end with
  their last byte; a grapheme boundary is final once the character after it has arrived
  (``grapheme_bounds`` from a certain boundary gives the batch result, since every ``\\X`` rule
  that looks back stops at a boundary); a word boundary is final once two characters other than
  Extend/Format/ZWJ follow it (``regex`` ``(?w)\\b`` looks at most two characters ahead), and
  with ``words="icu"`` once the dictionary run it lies in has ended. Word scans start a little
  before the frontier (:meth:`~tokbytes.WordSegmenter.context`) because ``regex`` looks back
  past Extend characters, two characters behind and over regional-indicator runs. Words of a
  callable segmenter come at :meth:`~StreamDecoder.close` (see :mod:`tokbytes.segmentation`).

Memory is the window, the emitted text and the reader's compact copy of the tokens (their bytes,
offsets and logprobs; records themselves are dropped unless ``keep_history=True``).
"""

from __future__ import annotations

import functools
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from itertools import accumulate, chain, compress, repeat
from operator import add, ne, sub
from typing import Any

from . import _speedups
from .alignment import LOGPROB_TOLERANCE, Alignment, Errors, align_parts, left_sum, read_records
from .errors import InputError
from .escapes import token_text_to_bytes
from .records import BytesSource, Problem, Unit
from .recovery import FFFD as _FFFD
from .recovery import (
    TOKEN_FORMATS,
    TokenFormat,
    doubtful,
    evidence,
    read_as,
    read_response,
    suspected_problem,
    suspicious,
)
from .segmentation import Words, segmenter, word_class
from .sources import StreamAssembler
from .units import _JOINING as _JOINING  # characters a grapheme break may depend on
from .units import (
    LEVELS,
    Attribution,
    Level,
    build_units,
    grapheme_bounds,
    grapheme_class,
    joining_flags,
    units,
    word_denominators,
)
from .units import _split_scores as _split_scores  # split scores: the batch code itself

__all__ = ["TOKEN_FORMATS", "StreamDecoder", "TokenFormat", "astream_units", "stream_units"]

# Allowed second bytes of a UTF-8 sequence by lead byte (Unicode Table 3-7); others 80-BF.
_SECOND_BYTE = {0xE0: (0xA0, 0xBF), 0xED: (0x80, 0x9F), 0xF0: (0x90, 0xBF), 0xF4: (0x80, 0x8F)}
_SPACE_PIECE = "\u2581".encode()
_AS_GIVEN: tuple[BytesSource] = ("bytes",)
# Up to this many units per feed are built one by one (build_units has a fixed cost of ~12 us,
# worth paying for the large batches a chunk of many tokens brings).
_FEW = 16


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
        "_all_bytes",
        "_all_ends",
        "_all_logprobs",
        "_all_sources",
        "_all_tokens",
        "_attribution",
        "_bpe_hold",
        "_bpe_possible",
        "_byte_base",
        "_carried",
        "_channel",
        "_char_base",
        "_char_cover",
        "_choice",
        "_chunks",
        "_closed",
        "_context",
        "_done",
        "_doubt",
        "_empty",
        "_errors",
        "_feeder",
        "_final",
        "_history",
        "_inferred",
        "_invalid",
        "_level",
        "_logprobs",
        "_next_byte",
        "_parts",
        "_plain",
        "_recent",
        "_recovered",
        "_reported_bytes",
        "_reported_tokens",
        "_seen",
        "_segmenter",
        "_text",
        "_token_base",
        "_token_format",
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
        self._history: list[Any] | None = [] if keep_history else None
        self._char_cover = level == "char" and attribution == "cover"  # see _next_chars
        self.reset()

    def reset(self) -> None:
        """Forget everything fed: start a new stream (keeps the options)."""
        self._feeder: Any = None  # the compiled fast path, while armed (see _arm)
        # -- the byte reader: every token as sent, compactly (its bytes in one buffer, its end
        # offset, its logprob), for the whole-stream reading close() may need
        self._all_bytes = bytearray()
        self._all_ends: array[int] = array("q")
        self._all_logprobs: list[float] = []
        self._all_sources: dict[int, BytesSource] = {}  # where not "bytes"
        self._all_tokens: dict[int, str] = {}  # token strings of doubtful tokens
        self._inferred: list[Problem] = []  # problems in batch order: bytes inferred, ...
        self._recovered: list[Problem] = []  # ... bytes read as token_format says, ...
        self._doubt = False  # a token another reading could change came: hold until close()
        self._bpe_possible = self._token_format == "auto"  # every token so far: BPE symbols
        self._bpe_hold = False  # ... and one of them non-ASCII: hold while that lasts
        self._next_byte = 0  # global byte offset just past the last token read
        self._chunks = StreamAssembler(choice=self._choice, channel=self._channel)
        self._final: list[Problem] | None = None  # the whole-stream problems, once re-read
        # -- the unit window: bytes and logprobs of the tokens from the frontier token on
        self._parts: list[bytes] = []
        self._logprobs: list[float] = []
        self._token_base = 0  # global index of _parts[0]
        self._byte_base = 0  # global byte offset of _parts[0]
        self._done = 0  # bytes of _parts[0] before the frontier (already in emitted units)
        self._char_base = 0  # global character index of the frontier
        self._context = ""  # text before the frontier that word rules may look back at
        self._carried = 0  # split words: in-word bytes of _parts[0] before the frontier
        self._text: list[str] = []  # finalized text, in pieces (joined on demand) ...
        self._recent: list[str] = []  # ... and the latest small pieces
        self._invalid: list[Problem] = []  # ... invalid or truncated UTF-8, ...
        self._empty: list[Problem] = []  # ... tokens without bytes
        self._reported_bytes = 0  # invalid-UTF-8 problems are recorded up to this byte
        self._reported_tokens = 0  # empty-token problems are recorded up to this token
        self._plain = self._token_format == "bytes"  # feed()'s fast path applies
        self._seen = 0
        self._closed = False
        if self._history is not None:
            self._history = []

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
        if type(x) is dict and "logprob" in x:  # one OpenAI-style record: the common case
            raw, logprob = x.get("bytes"), x["logprob"]
            # Plain values only (bytes() rejects non-ints and values outside 0-255, and True and
            # False would read as SOH and NUL, which model output never holds); anything else
            # goes through read_records, which names the token and the field.
            if type(raw) is list and type(logprob) is float and logprob <= LOGPROB_TOLERANCE:
                try:
                    data = bytes(raw)
                except (TypeError, ValueError):
                    data = b"\0"
                token = x.get("token")
                if (
                    self._plain
                    and data
                    and b"\0" not in data
                    and b"\1" not in data
                    and data[0] != 60  # "<": maybe a <0xNN> piece
                    and _FFFD not in data
                    and _SPACE_PIECE not in data
                    and (type(token) is not str or _token_says(token, data))
                ):  # verified bytes: straight to the unit window
                    if self._history is not None:
                        self._history.append(x)
                    self._seen += 1
                    self._all_bytes += data
                    self._all_ends.append(len(self._all_bytes))
                    self._all_logprobs.append(logprob)
                    if self._char_cover:
                        units = self._next_chars(data, logprob)
                        if units is not None:
                            self._arm()
                            return units
                    self._parts.append(data)
                    self._logprobs.append(logprob)
                    units = self._advance(final=False)
                    self._arm()
                    return units
        records = self._records_of(x)
        if not records:
            return []
        parts, logprobs, sources, problems = read_records(records, first_index=self._seen)
        if self._history is not None:
            self._history.extend(records)
        tokens = [_token_string(r) for r in records]
        self._inferred.extend(problems)
        given: Sequence[BytesSource] = sources or _AS_GIVEN * len(parts)
        units = self._read(parts, logprobs, given, tokens)
        plain_records = records is x or (type(x) is dict and "logprob" in x)
        if self._plain and plain_records and type(records[0]) is dict:
            self._arm()  # records: the next ones may take the fast path (chunks never do)
        return units

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
        if self._holding:
            out = self._read_whole(text)
        else:
            out = self._advance(final=True)
            streamed = self.text
            if text is None:
                # decode()'s check (b"<0x" in the bytes is "<0x" in the text: invalid
                # sequences never swallow ASCII)
                if self._token_format == "auto" and suspicious(
                    streamed, b"<0x" * ("<0x" in streamed)
                ):
                    parts, sources, _ = self._history_read()
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

    # -- the byte reader -------------------------------------------------------------------------

    @property
    def _holding(self) -> bool:
        """Tokens wait for the evidence: a doubtful token, or a possible BPE-symbol leak."""
        return self._doubt or (self._bpe_hold and self._bpe_possible)

    def _read(
        self,
        parts: list[bytes],
        logprobs: list[float],
        sources: Sequence[BytesSource],
        tokens: Sequence[str | None],
    ) -> list[Unit]:
        """Read tokens as ``decode`` reads them in the whole response; pass the verified ones on.

        See the class docstring: a token another reading could change makes the rest wait.
        """
        auto = self._token_format == "auto"
        explicit = self._token_format in ("bpe_symbols", "byte_fallback")
        for data, logprob, source, token in zip(parts, logprobs, sources, tokens):
            index = self._seen
            self._seen += 1
            self._all_bytes += data
            self._all_ends.append(len(self._all_bytes))
            self._all_logprobs.append(logprob)
            if source != "bytes":
                self._all_sources[index] = source
            if explicit:
                read, read_sources, problems = read_as(
                    [data], self._token_format, first_index=index, first_byte=self._next_byte
                )
                data = read[0]
                self._recovered.extend(problems)
                if read_sources[0] != "bytes":
                    source = read_sources[0]
                self._next_byte += len(data)  # (explicit formats never take feed's fast path)
            if auto:
                if self._bpe_possible:
                    found = evidence(data)
                    if found == "bytes":  # no BPE symbol: the response cannot be a leak
                        self._bpe_possible = False
                    elif found in ("bpe_symbols", "undecided"):
                        self._bpe_hold = True
                doubt = doubtful(data, token, source)
            else:
                doubt = not data or _FFFD in data  # lossy: realigned to the text at close()
            if doubt and token is not None:
                self._all_tokens[index] = token
            self._doubt = self._doubt or doubt
            self._parts.append(data)
            self._logprobs.append(logprob)
        # feed()'s fast path takes bytes as given: never for explicit formats (read_as reads them)
        self._plain = not self._holding and (
            self._token_format == "bytes" or (auto and not self._bpe_possible)
        )
        if self._holding:
            return []
        return self._advance(final=False)

    def _read_whole(self, text: str | None) -> list[Unit]:
        """close() of a stream that waited: read every token as :func:`tokbytes.decode` reads
        the response (``read_response``), and emit the units after the frontier."""
        parts, sources, tokens = self._history_read()
        al = read_response(
            parts,
            self._all_logprobs,
            sources,
            self._inferred,
            tokens,
            text=text,
            errors=self._errors,
            token_format=self._token_format,
        )
        self._final = list(al.problems)
        frontier = self._char_base
        out = [u for u in units(al, self._level, self._attribution) if u.start >= frontier]
        if len(al.text) > frontier:
            self._keep_text(al.text[frontier:])
            self._char_base = len(al.text)
        self._parts.clear()
        self._logprobs.clear()
        return out

    def _history_read(self) -> tuple[list[bytes], list[BytesSource], list[str | None]]:
        """Every token's bytes as sent, where they came from, and the strings that matter."""
        data, ends = bytes(self._all_bytes), self._all_ends
        parts = [data[a:b] for a, b in zip([0, *ends[:-1]], ends)]
        count = len(parts)
        sources: list[BytesSource] = ["bytes"] * count
        for k, source in self._all_sources.items():
            sources[k] = source
        tokens: list[str | None] = [None] * count
        for k, token in self._all_tokens.items():
            tokens[k] = token
        return parts, sources, tokens

    def _only_truncated(self, streamed: str, text: str) -> bool:
        """The reported text leaves out the partial character a cut-off answer ends with."""
        return (
            streamed.endswith("\ufffd")
            and streamed[:-1] == text
            and any(p.kind == "truncated" for p in self._invalid[-1:])
        )

    # -- the unit window -------------------------------------------------------------------------

    def _next_chars(self, data: bytes, logprob: float) -> list[Unit] | None:
        """Cover-scored characters of one more token, without an alignment (the common stream).

        At the character level the window only ever holds the tokens of one incomplete last
        character (bytes from ``_done`` on). When those bytes and ``data`` are valid UTF-8 up to
        a possibly incomplete new last character, the units are: the character completing the
        pending bytes, over every window token and this one (``sum`` of their logprobs, the
        left-to-right sum ``build_units`` takes), then characters of this token alone. Returns
        None, changing nothing, in every other case (invalid bytes, empty tokens in the window):
        the general path then decides, as ``decode`` does.
        """
        parts = self._parts
        head = b"".join(parts)[self._done :] if parts else b""
        if parts and not (head and all(parts)):
            return None
        joined = head + data if head else data
        try:
            text = joined.decode("utf-8")
            tail = 0
        except UnicodeDecodeError as exc:
            # Only a valid beginning of a character is reported as "unexpected end of data".
            if exc.end != len(joined) or exc.reason != "unexpected end of data":
                return None
            if exc.start < len(head):  # the pending character is still incomplete
                parts.append(data)
                self._logprobs.append(logprob)
                return []
            text, tail = joined[: exc.start].decode("utf-8"), len(joined) - exc.start
        j = self._token_base + len(parts)  # this token's global index
        byte, char, n = self._byte_base + self._done, self._char_base, len(text)
        if n == 1:  # one character: no iterators to set up
            fields1 = (text, char, char + 1, byte, byte + len(joined) - tail)
            if head:
                whole = (
                    *fields1,
                    (*range(self._token_base, j + 1),),
                    left_sum([*self._logprobs, logprob]),
                )
            else:
                whole = (*fields1, (j,), logprob)
            units = [tuple.__new__(Unit, (*whole, None))]
        elif n == len(joined) - tail:  # ASCII: one byte per character
            byte_starts, byte_ends = range(byte, byte + n), range(byte + 1, byte + n + 1)
            units = self._char_units(text, char, byte_starts, byte_ends, head, j, logprob)
        else:
            ends = list(accumulate(map(len, map(str.encode, text)), initial=byte))
            units = self._char_units(text, char, ends[:-1], ends[1:], head, j, logprob)
        self._keep_text(text)
        self._char_base = char + n
        self._reported_tokens = j + 1
        data_start = self._byte_base + sum(map(len, parts)) if parts else self._byte_base
        if tail:  # this token holds the start of an incomplete character: it opens the window
            parts[:] = [data]
            self._logprobs[:] = [logprob]
            self._token_base = j
            self._byte_base = data_start
            self._done = len(data) - tail
        else:
            if parts:
                parts.clear()
                self._logprobs.clear()
            self._token_base = j + 1
            self._byte_base = data_start + len(data)
            self._done = 0
        return units

    def _arm(self) -> None:
        """Hand the window to the compiled core's ``CharFeeder`` (characters, and graphemes of
        characters that cannot join a neighbour) or ``SegmentFeeder`` (graphemes of several
        characters; ``uax29`` words without Hebrew letters), cover scores, while feed()'s fast
        path applies
        (``_plain``): it takes the records that path takes, with the same results and the same
        appends to the byte reader's copy and the history, in C, and declines the first one
        it does not take (:meth:`_disarm` then gives the window back). Readers of the window,
        the emitted text or the token count call :meth:`_flush` first."""
        core = _speedups.core
        if core is None or not self._plain or self._attribution != "cover":
            return
        window = (  # the window's fields, the byte reader's copy and the history, shared
            self._parts,
            self._logprobs,
            self._token_base,
            self._byte_base,
            self._done,
            self._char_base,
            self._seen,
            self._reported_tokens,
            self._history,
            self._all_bytes,
            self._all_ends,
            self._all_logprobs,
            token_text_to_bytes,
        )
        if self._level == "word":
            if self._segmenter.words == "uax29" and _core_rules_agree(core, "word"):
                self._feeder = core.segment_feeder(*window, self._context)
            return
        graphemes = self._level == "grapheme"
        if graphemes and not core.has_joining():
            core.set_joining(joining_flags())
        self._feeder = core.char_feeder(*window, graphemes)
        if self._feeder is None and graphemes and _core_rules_agree(core, "grapheme"):
            self._feeder = core.segment_feeder(*window, "", True)

    def _flush(self) -> None:
        """Bring the fields up to date from the armed ``CharFeeder`` (which keeps the window;
        the byte reader's copy and the history it appends to directly)."""
        if self._feeder is not None:
            (
                self._parts,
                self._logprobs,
                self._token_base,
                self._byte_base,
                self._done,
                self._char_base,
                self._seen,
                self._reported_tokens,
                text,
                context,
            ) = self._feeder.state()
            if text:
                self._keep_text(text)
            if context is not None:  # words: the frontier moved (see SegmentFeeder.state)
                self._context = context

    def _disarm(self) -> None:
        self._flush()
        self._feeder = None

    def _char_units(
        self,
        text: str,
        char: int,
        byte_starts: Iterable[int],
        byte_ends: Iterable[int],
        head: bytes,
        j: int,
        logprob: float,
    ) -> list[Unit]:
        """Units of :meth:`_next_chars` for several characters (token ``j`` ends them all)."""
        n = len(text)
        tokens: Iterable[tuple[int, ...]] = repeat((j,), n)
        scores: Iterable[float] = repeat(logprob, n)
        if head:  # the first character spans the window's tokens and this one
            tokens = chain(((*range(self._token_base, j + 1),),), repeat((j,), n - 1))
            scores = chain((left_sum([*self._logprobs, logprob]),), repeat(logprob, n - 1))
        return _consecutive_units(text, char, byte_starts, byte_ends, tokens, scores)

    def _advance(self, *, final: bool) -> list[Unit]:
        parts = self._parts
        if not parts:
            return []
        if self._level != "word":  # the direct paths, or None: align the window
            units = self._direct(final=final)
        elif self._attribution == "cover":
            units = self._direct_words(final=final)
        else:
            units = None
        if units is not None:
            return units
        done = self._done
        held = 0 if final else _held_back(parts, done)
        window = parts
        if done:
            window = [b"\0" * done + parts[0][done:], *parts[1:]]
        if held:
            window = _blank_tail(window, held)
        try:
            al = align_parts(
                window,
                self._logprobs,
                errors=self._errors,
                token_base=self._token_base,
                byte_base=self._byte_base,
                char_base=self._char_base - done,
            )
        except Exception:
            self._closed = True
            raise
        return self._emit(al, held, final)

    def _emit(self, al: Alignment, held: int, final: bool) -> list[Unit]:
        """The units of the window's alignment that are final, moving the frontier past them."""
        done = self._done
        self._record_problems(al)
        text = al.text
        real = text[done : len(text) - held]  # the characters after the frontier
        level = self._level
        if level == "char":
            size = len(real)
            units = _units(
                al, range(done, done + size), range(done + 1, done + size + 1), self._attribution
            )
            return self._move(al, size, real, units)
        if level == "grapheme":
            bounds = grapheme_bounds(real)
            if not final:  # the last cluster may still grow
                bounds = bounds[:-1]
            if len(bounds) < 2:
                return self._move(al, 0, real, [])
            local = array("q", [b + done for b in bounds])
            units = _units(al, local[:-1], local[1:], self._attribution)
            return self._move(al, bounds[-1], real, units)
        return self._words(al, real, final)

    def _words(self, al: Alignment, real: str, final: bool) -> list[Unit]:
        done, context = self._done, self._context
        starts, ends, frontier = self._segmenter.final_words(context, real, final)
        starts = [a + done for a in starts]
        ends = [b + done for b in ends]
        denominators = None
        if self._attribution == "split" and starts:
            denominators = word_denominators(al, starts, ends)
            denominators[0] += self._carried
            # A word's score divides by each token's in-word bytes: emit it only once the last
            # token it touches is fully segmented (ends at or before the last final boundary).
            limit = al.char_bounds[frontier + done]
            token_ends, char_bounds = al.token_ends, al.char_bounds
            keep = len(starts)
            while keep and token_ends[bisect_left(token_ends, char_bounds[ends[keep - 1]])] > limit:
                keep -= 1
            if keep < len(starts):
                frontier = starts[keep] - done
                del starts[keep:], ends[keep:]
        units = _units(al, starts, ends, self._attribution, denominators)
        if frontier:
            self._context = self._segmenter.context(
                context + real[: frontier + 1], len(context) + frontier
            )
            if self._attribution == "split":
                self._carry(al, frontier + done, starts, ends)
        return self._move(al, frontier, real, units)

    def _carry(self, al: Alignment, frontier: int, starts: list[int], ends: list[int]) -> None:
        """In-word bytes, before the new frontier, of the token that will hold it (split words)."""
        char_bounds, token_ends = al.char_bounds, al.token_ends
        byte = char_bounds[frontier]
        first = bisect_right(token_ends, byte)
        carried = self._carried if first == 0 else 0
        if first < len(token_ends):
            token_start = al.token_start(first)
            for start, end in zip(reversed(starts), reversed(ends)):
                if char_bounds[end] <= token_start:
                    break
                carried += min(char_bounds[end], byte) - max(char_bounds[start], token_start)
        self._carried = carried

    def _direct_words(self, *, final: bool) -> list[Unit] | None:
        """Cover-scored words without building an alignment.

        Applies when no window token is empty and the pending bytes are UTF-8 up to a possibly
        incomplete last character (which, with the word it may belong to, waits). Boundaries
        come from the same scan as the general path; each word's unit is what ``build_units``
        makes: the tokens carrying its bytes and their logprob (one token) or left-to-right
        ``sum`` (several). Returns None, changing nothing, in every other case.
        """
        parts, done, context, logprobs = self._parts, self._done, self._context, self._logprobs
        real = _complete_text(parts, done, final)
        if real is None:
            return None
        starts, ends, frontier = self._segmenter.final_words(context, real, final)
        offsets = _byte_offsets(real, done)
        token_ends = list(accumulate(map(len, parts)))
        j, byte, char = self._token_base, self._byte_base, self._char_base
        units = []
        for a, b in zip(starts, ends):
            start, end = offsets[a], offsets[b]
            fields = (real[a:b], char + a, char + b, byte + start, byte + end)
            units.append(_covered(fields, token_ends, logprobs, j, start, end))
        self._reported_tokens = j + len(parts)
        if not frontier:
            return units
        self._context = self._segmenter.context(
            context + real[: frontier + 1], len(context) + frontier
        )
        self._keep_text(real[:frontier])
        self._drop_before(token_ends, offsets[frontier], frontier)
        return units

    def _direct(self, *, final: bool) -> list[Unit] | None:
        """Characters or graphemes without building an alignment.

        Applies when no window token is empty and the pending bytes are UTF-8 up to a possibly
        incomplete last character: the common window, characters split over tokens included.
        Boundaries come from ``grapheme_bounds`` over the pending text, as in the general path
        (the last cluster waits, as it may still grow, unless ``final``); each unit is what
        ``build_units`` makes (see :func:`_covered` and :func:`_shared`). Returns None,
        changing nothing, in every other case (invalid bytes, empty tokens): the general path
        then decides, as ``decode`` does.
        """
        parts, done = self._parts, self._done
        text = _complete_text(parts, done, final)
        if text is None:
            return None
        # A grapheme holds several characters only next to a CR, Extend, ZWJ, SpacingMark,
        # Prepend, regional indicator or Hangul jamo (see grapheme_bounds): check that first.
        singles = self._level == "char" or (
            (text.isascii() or not _JOINING.search(text)) and "\r" not in text
        )
        hold = self._level == "grapheme" and not final  # the last cluster may still grow
        if singles:
            bounds: Sequence[int] = ()
            frontier = len(text) - 1 if hold else len(text)
        else:
            bounds = grapheme_bounds(text)
            if hold:
                bounds = bounds[:-1]
            frontier = bounds[-1]
        if frontier <= 0:
            return []
        ready = text[:frontier]
        offsets = _byte_offsets(ready, done)
        token_ends = list(accumulate(map(len, parts)))
        j, byte, char, logprobs = self._token_base, self._byte_base, self._char_base, self._logprobs
        unit = _covered if self._attribution == "cover" else _shared
        units = []
        if singles:  # one unit per character
            for k, (unit_text, start, end) in enumerate(zip(ready, offsets, offsets[1:])):
                fields = (unit_text, char + k, char + k + 1, byte + start, byte + end)
                units.append(unit(fields, token_ends, logprobs, j, start, end))
        else:
            for a, b in zip(bounds, bounds[1:]):
                start, end = offsets[a], offsets[b]
                fields = (text[a:b], char + a, char + b, byte + start, byte + end)
                units.append(unit(fields, token_ends, logprobs, j, start, end))
        self._keep_text(ready)
        self._reported_tokens = j + len(parts)
        self._drop_before(token_ends, offsets[frontier], frontier)
        return units

    def _drop_before(self, token_ends: list[int], frontier: int, chars: int) -> None:
        """Move the frontier to window byte ``frontier``, ``chars`` characters on, dropping the
        tokens wholly before it (``token_ends``: the window tokens' local end offsets)."""
        first = bisect_right(token_ends, frontier)  # the token holding the new frontier
        token_start = token_ends[first - 1] if first else 0
        del self._parts[:first], self._logprobs[:first]
        self._token_base += first
        self._byte_base += token_start
        self._done = frontier - token_start
        self._char_base += chars

    def _move(self, al: Alignment, size: int, real: str, units: list[Unit]) -> list[Unit]:
        """Move the frontier ``size`` characters on and drop the tokens left behind."""
        if not size:
            return units
        self._keep_text(real[:size])
        byte = al.char_bounds[self._done + size]  # local byte offset of the new frontier
        first = bisect_right(al.token_ends, byte)  # the token holding the frontier byte
        start = al.token_start(first) if first < len(al) else byte
        if first:
            del self._parts[:first], self._logprobs[:first]
            self._token_base += first
            self._byte_base += start
        self._done = byte - start
        self._char_base += size
        return units

    def _keep_text(self, piece: str) -> None:
        recent = self._recent
        recent.append(piece)
        if len(recent) == 1024:  # one string per 1024 pieces: few objects, each byte copied once
            self._text.append("".join(recent))
            recent.clear()

    def _record_problems(self, al: Alignment) -> None:
        """Keep each problem once: windows overlap, so the same bytes are aligned again."""
        for problem in al.problems:
            if problem.kind == "empty_token":
                if problem.token is not None and problem.token >= self._reported_tokens:
                    self._empty.append(problem)
            elif problem.byte_start is not None and problem.byte_start >= self._reported_bytes:
                self._invalid.append(problem)
                self._reported_bytes = problem.byte_end or 0
        self._reported_tokens = al.token_base + len(al)

    # -- state ---------------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The finalized text so far: everything before the first pending character.

        For words this includes the whitespace between emitted words. The emitted text is kept
        (pieces joined on first access); token records are not.
        """
        self._flush()
        if self._recent:
            self._text.append("".join(self._recent))
            self._recent.clear()
        if len(self._text) > 1:
            self._text[:] = ["".join(self._text)]
        return self._text[0] if self._text else ""

    @property
    def pending(self) -> bytes:
        """The bytes received but not yet in an emitted unit (held back for lookahead)."""
        self._flush()
        return b"".join(self._parts)[self._done :]

    @property
    def problems(self) -> tuple[Problem, ...]:
        """What was dealt with instead of raising so far, in the order ``decode`` lists them."""
        if self._final is not None:  # read as a whole at close()
            return tuple(self._final)
        return (*self._inferred, *self._recovered, *self._invalid, *self._empty)

    @property
    def tokens_seen(self) -> int:
        """How many token records have been fed."""
        self._flush()
        return self._seen

    @property
    def records(self) -> list[Any]:
        """Every token record fed (``keep_history=True`` only): ``tokbytes.decode(dec.records)``."""
        if self._history is None:
            raise InputError("records are only kept with StreamDecoder(..., keep_history=True)")
        return self._history

    @property
    def level(self) -> Level:
        """``"char"``, ``"grapheme"`` or ``"word"``."""
        return self._level

    def __repr__(self) -> str:
        self._flush()
        state = "closed" if self._closed else f"{len(self.pending)} bytes pending"
        return f"<StreamDecoder {self._level}: {self._seen} tokens, {state}>"


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


# -- helpers -----------------------------------------------------------------------------------


def _token_says(token: str, data: bytes) -> bool:
    r"""The token string says these bytes, so no reading of it can change them: it has no
    escapes, or escapes of exactly these bytes (``recovery.doubtful`` is then False).

    The backslashreplace form (how OpenAI writes partial characters) is checked first: it reads
    back as the bytes unless they hold a backslash of their own or begin with ``bytes:``.

    >>> _token_says("\\xec\\x9a", b"\xec\x9a"), _token_says("\\xc3\\xa9", b"\\xc3\\xa9")
    (True, False)
    """
    if "\\" not in token:
        return not token.startswith("bytes:") or token_text_to_bytes(token) == data
    if (
        b"\\" not in data
        and not data.startswith(b"bytes:")
        and token == data.decode("utf-8", "backslashreplace")
    ):
        return True
    return token_text_to_bytes(token) == data


def _token_string(record: Any) -> str | None:
    token = record.get("token") if isinstance(record, Mapping) else getattr(record, "token", None)
    return token if isinstance(token, str) else None


def _units(
    al: Alignment,
    starts: Sequence[int],
    ends: Sequence[int],
    attribution: Attribution,
    denominators: Sequence[int] | None = None,
) -> list[Unit]:
    """:func:`~tokbytes.units.build_units`, or the same fields computed directly for a few units.

    The few-units path uses the expressions ``build_units`` uses: tokens from
    :meth:`Alignment.token_indices`, cover as ``sum`` of the covering tokens' logprobs in order
    (tokens without bytes count 0.0), split from ``units._split_scores`` itself.
    """
    if len(starts) > _FEW:
        texts = list(al.text[starts[0] : starts[-1] + 1]) if isinstance(starts, range) else None
        return build_units(al, starts, ends, attribution, texts=texts, denominators=denominators)
    if not starts:
        return []
    bounds, token_ends, logprobs = al.char_bounds, al.token_ends, al.logprobs
    if len(starts) == 1 and not al.invalid_spans and not al.has_unknown:  # one unit: scalars
        start, end = starts[0], ends[0]
        b0, b1 = bounds[start], bounds[end]
        first, last = bisect_right(token_ends, b0), bisect_right(token_ends, b1 - 1)
        if first == last and attribution == "cover":
            return [
                tuple.__new__(
                    Unit,
                    (
                        al.text[start:end],
                        start + al.char_base,
                        end + al.char_base,
                        b0 + al.byte_base,
                        b1 + al.byte_base,
                        (first + al.token_base,),
                        logprobs[first],
                        None,
                    ),
                )
            ]
    byte_starts = list(map(bounds.__getitem__, starts))
    byte_ends = list(map(bounds.__getitem__, ends))
    firsts = list(map(bisect_right, repeat(token_ends), byte_starts))
    # the token holding each unit's last byte
    lasts = list(map(bisect_right, repeat(token_ends), map(sub, byte_ends, repeat(1))))
    base = al.token_base
    tokens: list[tuple[int, ...]] = [(first + base,) for first in firsts]
    scores = list(map(logprobs.__getitem__, firsts))
    if firsts != lasts:
        for i in compress(range(len(firsts)), map(ne, firsts, lasts)):  # units over several tokens
            first, stop = firsts[i], lasts[i] + 1
            tokens[i] = al.token_indices(first, stop)
            covered = logprobs[first:stop]
            if al.empty_tokens:  # a token with no bytes covers nothing: 0.0, as in build_units
                covered = [
                    lp if token_ends[k] > al.token_start(k) else 0.0
                    for k, lp in zip(range(first, stop), covered)
                ]
            scores[i] = left_sum(covered)
    if attribution == "split":
        stops = [last + 1 for last in lasts]
        scores = _split_scores(al, byte_starts, byte_ends, firsts, stops, denominators)
    if al.has_unknown:  # byte recovery could not decide some tokens: as build_units does
        scores = al.unknown_scores(byte_starts, byte_ends, scores)
    text = al.text
    if isinstance(starts, range):
        texts = list(text[starts.start : starts.stop])
    else:
        texts = list(map(text.__getitem__, map(slice, starts, ends)))
    replaced: Iterable[bytes | None] = repeat(None)
    if al.invalid_spans:
        raw = map(al.buffer.__getitem__, map(slice, byte_starts, byte_ends))
        replaced = [b if b != t.encode() else None for b, t in zip(raw, texts)]
    char_base, byte_base = al.char_base, al.byte_base
    fields = zip(
        texts,
        map(add, starts, repeat(char_base)),
        map(add, ends, repeat(char_base)),
        map(add, byte_starts, repeat(byte_base)),
        map(add, byte_ends, repeat(byte_base)),
        tokens,
        scores,
        replaced,
    )
    return list(map(tuple.__new__, repeat(Unit), fields))


def _complete_text(parts: list[bytes], done: int, final: bool) -> str | None:
    """The window's text from byte ``done`` on, without an incomplete last character.

    None when a token is empty or the bytes are not UTF-8 (an incomplete last character too,
    when ``final``): the general path then decides, as ``decode`` does.
    """
    if not all(parts):
        return None
    data = b"".join(parts)[done:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Only a valid beginning of a character is reported as "unexpected end of data".
        if final or exc.end != len(data) or exc.reason != "unexpected end of data":
            return None
        return data[: exc.start].decode("utf-8")


def _byte_offsets(text: str, start: int) -> Sequence[int]:
    """Window byte offset of each character of ``text`` (which starts at ``start``), then its end."""
    if text.isascii():
        return range(start, start + len(text) + 1)
    return list(accumulate(map(len, map(str.encode, text)), initial=start))


def _covered(
    fields: tuple[str, int, int, int, int],
    token_ends: list[int],
    logprobs: list[float],
    token_base: int,
    start: int,
    end: int,
) -> Unit:
    """The cover-scored unit of window bytes ``[start, end)`` (``fields``: text and offsets), as
    ``build_units`` makes it: the tokens carrying its bytes, and their logprob (one token) or
    left-to-right ``sum`` (several)."""
    first, last = bisect_right(token_ends, start), bisect_left(token_ends, end)
    if first == last:
        return tuple.__new__(Unit, (*fields, (token_base + first,), logprobs[first], None))
    tokens = (*range(token_base + first, token_base + last + 1),)
    return tuple.__new__(Unit, (*fields, tokens, left_sum(logprobs[first : last + 1]), None))


def _shared(
    fields: tuple[str, int, int, int, int],
    token_ends: list[int],
    logprobs: list[float],
    token_base: int,
    start: int,
    end: int,
) -> Unit:
    """:func:`_covered` with split attribution, as ``units._split_scores`` computes it for levels
    that tile the text: each token's logprob times the share of its bytes in the unit."""
    first, last = bisect_right(token_ends, start), bisect_left(token_ends, end)
    if first == last:  # inside one token: the loop below, once
        whole = token_ends[first] - (token_ends[first - 1] if first else 0)
        score = 0.0 + logprobs[first] * (end - start) / whole
        return tuple.__new__(Unit, (*fields, (token_base + first,), score, None))
    total = 0.0
    for k in range(first, last + 1):
        token_start, token_end = (token_ends[k - 1] if k else 0), token_ends[k]
        share = min(end, token_end) - max(start, token_start)
        whole = token_end - token_start
        if share > 0 and whole > 0:
            total += logprobs[k] * share / whole
    tokens = (*range(token_base + first, token_base + last + 1),)
    return tuple.__new__(Unit, (*fields, tokens, total, None))


def _consecutive_units(
    text: str,
    char: int,
    byte_starts: Iterable[int],
    byte_ends: Iterable[int],
    tokens: Iterable[tuple[int, ...]],
    scores: Iterable[float],
) -> list[Unit]:
    """One unit per character of ``text``, the first at global character ``char``."""
    n = len(text)
    fields = zip(
        text,
        range(char, char + n),
        range(char + 1, char + n + 1),
        byte_starts,
        byte_ends,
        tokens,
        scores,
        repeat(None, n),
    )
    return list(map(tuple.__new__, repeat(Unit), fields))


def _held_back(parts: list[bytes], done: int) -> int:
    """How many trailing bytes (after ``done``) begin a character still to be completed.

    Only a valid beginning is held back: ``\\xed\\xa0`` (a surrogate) is invalid at once, as
    ``bytes.decode`` says when more bytes follow.
    """
    last = parts[-1]
    if last and last[-1] < 0x80:  # ends with ASCII: nothing to hold back
        return 0
    tail = b""
    for part in reversed(parts):
        tail = part + tail
        if len(tail) >= 3:
            break
    tail = tail[-3:]
    available = sum(map(len, parts)) - done
    n = min(len(tail), available)
    for size in range(1, n + 1):
        lead = tail[-size]
        if lead < 0x80:
            return 0
        if lead < 0xC0:  # a continuation byte: the lead is further back
            continue
        need = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
        if not 0xC2 <= lead <= 0xF4 or need <= size:
            return 0
        if size >= 2:
            low, high = _SECOND_BYTE.get(lead, (0x80, 0xBF))
            if not low <= tail[-size + 1] <= high:
                return 0
        return size
    return 0


def _blank_tail(window: list[bytes], size: int) -> list[bytes]:
    """``window`` with its last ``size`` bytes replaced by NUL placeholders."""
    window = list(window)
    j = len(window)
    while size:
        j -= 1
        part = window[j]
        cut = min(size, len(part))
        if cut:
            window[j] = part[: len(part) - cut] + b"\0" * cut
        size -= cut
    return window


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
