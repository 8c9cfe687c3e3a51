"""Streaming: finished characters, graphemes and words while the tokens of a stream arrive.

:class:`StreamDecoder` is an incremental decoder in the shape of ``codecs.IncrementalDecoder``:
:meth:`~StreamDecoder.feed` takes the next token records (or a stream chunk holding them) and
returns the units that nothing later can change; :meth:`~StreamDecoder.close` flushes the rest.
Over a whole stream the units are exactly those of :func:`tokbytes.decode` at the same level
(same text, offsets, token indices, scores and problems), whatever the chunking.

How it stays equal to batch, cheaply:

* The decoder keeps a *window*: the tokens from the one holding the first byte not yet in an
  emitted unit (the *frontier*) to the last one fed. Each feed aligns that window with the batch
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

Memory is the window plus the emitted text: tokens behind the frontier are dropped, unless
``keep_history=True``.
"""

from __future__ import annotations

import codecs
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from itertools import accumulate, chain, compress, repeat
from operator import add, ne, sub
from typing import Any, Literal

from .alignment import LOGPROB_TOLERANCE, Alignment, Errors, align_parts, read_records
from .errors import DecodeError, InputError
from .records import BytesSource, Problem, Unit
from .recovery import (
    FFFD as _FFFD,
)
from .recovery import (
    Evidence,
    bpe_symbols_to_bytes,
    byte_pieces_to_bytes,
    changed_problems,
    evidence,
    plausible_leak_token,
    recover,
)
from .segmentation import Words, segmenter
from .units import _JOINING as _JOINING  # characters a grapheme break may depend on
from .units import (
    LEVELS,
    Attribution,
    Level,
    build_units,
    grapheme_bounds,
    word_denominators,
)
from .units import _split_scores as _split_scores  # split scores: the batch code itself

__all__ = ["TOKEN_FORMATS", "StreamDecoder", "TokenFormat", "astream_units", "stream_units"]

#: How a stream's token bytes are read (``StreamDecoder(token_format=...)``).
TokenFormat = Literal["auto", "bytes", "bpe_symbols", "byte_fallback"]
TOKEN_FORMATS: tuple[TokenFormat, ...] = ("auto", "bytes", "bpe_symbols", "byte_fallback")

# Allowed second bytes of a UTF-8 sequence by lead byte (Unicode Table 3-7); others 80-BF.
_SECOND_BYTE = {0xE0: (0xA0, 0xBF), 0xED: (0x80, 0x9F), 0xF0: (0x90, 0xBF), 0xF4: (0x80, 0x8F)}
_AS_GIVEN: tuple[BytesSource] = ("bytes",)
# Up to this many units per feed are built one by one (build_units has a fixed cost of ~12 us,
# worth paying for the large batches a chunk of many tokens brings).
_FEW = 16


class StreamDecoder:
    """Turn a stream of token records into finished units, exactly as :func:`tokbytes.decode`.

    ``level`` is ``"char"``, ``"grapheme"`` or ``"word"``; ``errors`` and ``attribution`` mean
    what they mean for :func:`tokbytes.decode`; ``choice`` and ``channel`` pick the records out of
    stream chunks (see :func:`tokbytes.extract`). With ``keep_history=True`` every record fed is
    kept in :attr:`records` (for a final :func:`tokbytes.decode`); otherwise memory is bounded by
    what is pending. ``token_format`` says how token bytes are read: ``"auto"`` (decided on the
    first evidence, as :func:`tokbytes.decode` decides for a whole response), ``"bytes"`` (as
    given), ``"bpe_symbols"`` or ``"byte_fallback"`` (see ``docs/recovery.md``); a stream with
    U+FFFD or empty tokens waits for the reported text at :meth:`close`.

    A unit is returned by the first :meth:`feed` after which nothing can change it: a character
    with its last byte; a grapheme with the next character; a word once two characters that are
    not Extend/Format/ZWJ follow it (``3`` ``.`` ``14`` and ``don`` ``'`` ``t`` need that
    lookahead). With ``attribution="split"`` a word also waits until every token it touches is
    fully segmented (its score divides by each token's in-word bytes).

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
        "_byte_base",
        "_carried",
        "_channel",
        "_char_base",
        "_char_cover",
        "_choice",
        "_closed",
        "_context",
        "_done",
        "_empty",
        "_errors",
        "_format",
        "_history",
        "_holding",
        "_inferred",
        "_invalid",
        "_level",
        "_logprobs",
        "_lossy",
        "_next_offsets",
        "_parts",
        "_plain",
        "_recent",
        "_recovered",
        "_reported",
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
        channel: str = "content",
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
        if channel not in ("content", "refusal", "auto"):
            raise InputError(
                f"channel must be 'content', 'refusal' or 'auto', got {channel!r:.40}",
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
        #: Window: bytes and logprobs of the tokens from the one holding the frontier byte on.
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
        self._inferred: list[Problem] = []  # problems in batch order: bytes inferred, ...
        self._invalid: list[Problem] = []  # ... invalid or truncated UTF-8, ...
        self._empty: list[Problem] = []  # ... tokens without bytes
        self._reported_bytes = 0  # invalid-UTF-8 problems are recorded up to this byte
        self._reported_tokens = 0  # empty-token problems are recorded up to this token
        self._recovered: list[Problem] = []  # ... bytes recovered, text mismatches, ...
        self._reported: list[str] = []  # the text stream chunks reported (their deltas)
        #: How token bytes are read: "bytes" (as given), "bpe_symbols", "byte_fallback", or
        #: None while "auto" has seen no evidence either way (see _ingest).
        self._format: TokenFormat | None = (
            None if self._token_format == "auto" else self._token_format
        )
        self._holding = False  # auto: tokens whose reading depends on the format are waiting
        self._lossy = False  # a U+FFFD or empty token came: units wait for the text at close()
        self._plain = self._format == "bytes"  # feed()'s fast path applies
        self._next_offsets = (-1, 0)  # (index, byte offset) of the next token, see _ingest
        self._seen = 0
        self._closed = False
        if self._history is not None:
            self._history = []

    # -- feeding -------------------------------------------------------------------------------

    def feed(self, x: Any) -> list[Unit]:
        """Add token records and return the units they finish, in text order.

        ``x`` is one token record, a list of them, a stream chunk (an OpenAI
        ``chat.completion.chunk`` dict or SDK ``ChatCompletionChunk``, a LangChain
        ``AIMessageChunk``, any container :func:`tokbytes.extract` knows). A chunk without
        logprobs (role, finish or usage chunk) adds nothing and returns ``[]``.

        Raises :class:`~tokbytes.DecodeError` (``errors="strict"``) as soon as the bytes cannot be
        UTF-8, with the message :func:`tokbytes.decode` gives; the decoder is then closed.
        """
        if self._closed:
            raise InputError(
                "feed() after close(): this StreamDecoder is closed; call reset() to decode "
                "another stream"
            )
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
                if b"\0" not in data and b"\1" not in data:
                    if self._history is not None:
                        self._history.append(x)
                    self._seen += 1
                    if not (self._plain and data and _FFFD not in data and data[0] != 60):  # <
                        return self._ingest([data], [logprob])
                    if self._char_cover:
                        units = self._next_chars(data, logprob)
                        if units is not None:
                            return units
                    self._parts.append(data)
                    self._logprobs.append(logprob)
                    return self._advance(final=False)
        records, text = self._records_of(x)
        if text:
            self._reported.append(text)
        if not records:
            return []
        parts, logprobs, _, problems = read_records(records, first_index=self._seen)
        if self._history is not None:
            self._history.extend(records)
        self._seen += len(parts)
        self._inferred.extend(problems)
        return self._ingest(parts, logprobs)

    def close(self, text: str | None = None) -> list[Unit]:
        """Flush: the units still pending, with ``errors`` applied to a cut-off last character.

        With ``errors="strict"`` a stream that ends inside a character raises
        :class:`~tokbytes.DecodeError` (the message :func:`tokbytes.decode` gives); with
        ``"replace"`` the bytes become one U+FFFD unit and a ``"truncated"`` problem. Closing
        twice returns ``[]``.

        ``text`` is the final text the provider reported (by default the deltas of the stream
        chunks fed, when they carried any). A stream with lossy tokens (U+FFFD or empty
        fragments, as vLLM and Ollama send) is realigned to it here, as :func:`tokbytes.decode`
        does with ``text=``; any stream is checked against it: a difference raises
        :class:`~tokbytes.DecodeError` (strict) or adds a ``"text_mismatch"`` problem.
        """
        if self._closed:
            return []
        self._closed = True
        if text is None and self._reported:
            text = "".join(self._reported)
        elif text is not None and not isinstance(text, str):
            raise InputError(
                f"text must be a str (the provider's final text), got {type(text).__name__}",
                field="text",
            )
        waiting = self._lossy or self._holding
        if self._format is None:  # "auto" never saw evidence of another format
            self._format = "bytes"
        if waiting and text is not None:  # decode()'s recovery of what has not been emitted
            return self._realigned(text)
        units = self._advance(final=True)
        if text is not None:
            self._check_text(text)
        return units

    # -- lossy and mislabeled bytes (see tokbytes.recovery) ------------------------------------

    def _ingest(self, parts: list[bytes], logprobs: list[float]) -> list[Unit]:
        """Add tokens that need more than the fast path: format detection, lossy tokens.

        The token format is read one token at a time. ``"auto"`` decides on the first evidence,
        as :func:`tokbytes.decode` does for a whole response without a text: a whole-token
        ``<0xNN>`` piece means SentencePiece byte fallback; a shifted byte-level BPE symbol
        (``Ġ``, ``Ċ``, U+0100–U+0143) in a response made of BPE symbols alone means BPE symbols,
        if the bytes read so far could begin a real text; any other character, or bytes that
        are not UTF-8 on their own (partial characters from a provider that sends real bytes),
        means the bytes as given (still open to byte fallback: SentencePiece writes whole characters
        as they are). ASCII reads the same either way; tokens with Latin-1 symbols
        (``æ``, ``é``) wait for the decision. A U+FFFD or empty token makes the rest wait for the
        text at :meth:`close`.
        """
        # Global index and byte offset of the next token: kept between feeds, as a lossy stream
        # keeps every token in the window (summing its lengths per feed would be quadratic).
        index, start = self._next_offsets
        if index != self._token_base + len(self._parts):
            index, start = self._token_base + len(self._parts), self._window_end()
        for data, logprob in zip(parts, logprobs):
            if self._format is None:
                self._decide(data)
                if self._format == "bpe_symbols":  # the window was read again
                    start = self._window_end()
            elif (
                self._format == "bytes"
                and self._token_format == "auto"
                and data[:1] == b"<"
                and evidence(data) == "byte_fallback"
            ):  # shows in any response: SentencePiece writes whole characters as they are
                self._format = "byte_fallback"
            if self._format == "bpe_symbols" or self._format == "byte_fallback":
                data = self._reread(data, self._format, start=start, index=index)
            if not data or _FFFD in data:
                self._lossy = True  # its bytes are only known once the text is
            self._parts.append(data)
            self._logprobs.append(logprob)
            index, start = index + 1, start + len(data)
        self._next_offsets = (index, start)
        self._plain = self._format == "bytes" and not self._lossy
        if self._lossy or self._holding:
            return []
        return self._advance(final=False)

    def _decide(self, data: bytes) -> None:
        found = evidence(data)
        if found == "bpe_symbols":
            found = self._leak_verdict(data)
        if found == "undecided":  # Latin-1 symbols (æ, é): their reading waits
            self._holding = True
            return
        if found == "same":  # ASCII: the same under every reading
            return
        self._format = found
        self._holding = False
        if found == "bpe_symbols":
            # The held tokens (and the ASCII before them, which reads the same) were symbols too.
            start = self._byte_base
            for k, part in enumerate(self._parts):
                new = self._reread(part, "bpe_symbols", start=start, index=self._token_base + k)
                self._parts[k] = new
                start += len(new)

    def _leak_verdict(self, data: bytes) -> Evidence:
        """A token with a shifted BPE symbol: is the stream a leak (``"bpe_symbols"``)?

        As ``decode()`` asks of a whole response: the held tokens and ``data`` read as bytes must
        begin a real text (a Czech ``č`` is no leaked CR, a Latvian ``Ģ`` no lone continuation
        byte), and show a space, a newline or a multi-byte character; a tab alone (``ĉ``) waits.
        """
        read = [bpe_symbols_to_bytes(p.decode("utf-8", "replace")) for p in (*self._parts, data)]
        last = read[-1]
        if last is None or any(r is None for r in read) or not plausible_leak_token(last):
            return "bytes"
        try:  # a valid beginning of UTF-8 (the last character may still be incomplete)
            codecs.getincrementaldecoder("utf-8")().decode(b"".join(r or b"" for r in read))
        except UnicodeDecodeError:
            return "bytes"
        if b" " in last or b"\n" in last or not last.isascii():
            return "bpe_symbols"
        return "undecided"

    def _window_end(self) -> int:
        """Global byte offset just past the last token fed."""
        return self._byte_base + sum(map(len, self._parts))

    def _reread(self, data: bytes, source: BytesSource, *, start: int, index: int) -> bytes:
        """Token ``index``'s bytes (at global byte ``start``) read as ``source``, recording the
        change as ``decode`` does."""
        if source == "bpe_symbols":
            try:
                new = bpe_symbols_to_bytes(data.decode("utf-8"))
            except UnicodeDecodeError:
                new = None
            if new is None:
                self._recovered.append(
                    Problem(
                        "text_mismatch",
                        f"token {index}: {data!r} is not byte-level BPE symbols although the "
                        "stream's first tokens were; its bytes are kept as given",
                        token=index,
                        byte_start=start,
                        byte_end=start + len(data),
                        bytes=data,
                    )
                )
                return data
        else:
            new = byte_pieces_to_bytes(data, spaces=self._token_format == "byte_fallback")
        if new != data:
            self._recovered += changed_problems([data], [new], (source,), index, first_byte=start)
        return new

    def _realigned(self, text: str) -> list[Unit]:
        """close() of a stream whose last tokens waited (lossy, or an undecided format): read the
        window as :func:`tokbytes.decode` reads a response against the part of ``text`` after the
        frontier (bytes as given, BPE symbols, pieces, realignment; see ``recovery.py``)."""
        emitted = self.text
        if not text.startswith(emitted):
            self._text_mismatch(emitted, text)  # raises in strict mode
            return self._advance(final=True)
        done, parts = self._done, self._parts
        # The frontier token's bytes before the frontier stand in as NULs, in both the tokens
        # and the text (as in _advance): token lengths stay exact and the NULs match.
        window = [b"\0" * done + parts[0][done:], *parts[1:]] if done else list(parts)
        count = len(window)
        given: tuple[BytesSource, ...] = _AS_GIVEN * count
        found = recover(
            window,
            given,
            (None,) * count,
            text="\0" * done + text[len(emitted) :],
            errors=self._errors,
            first_index=self._token_base,
            first_byte=self._byte_base,
        )
        self._recovered.extend(found.problems)
        al = align_parts(
            found.parts,
            self._logprobs,
            errors=self._errors,
            token_base=self._token_base,
            byte_base=self._byte_base,
            char_base=self._char_base - done,
            unknown_edges=found.unknown_edges,
            unknown_spans=found.unknown_spans,
        )
        return self._emit(al, 0, True)

    def _check_text(self, text: str) -> None:
        """After the last units: the streamed text must be the reported one."""
        streamed = self.text
        if streamed == text or (
            streamed.endswith("\ufffd")
            and streamed[:-1] == text
            and any(p.kind == "truncated" for p in self._invalid[-1:])
        ):  # the reported text leaves out the partial character a cut-off answer ends with
            return
        self._text_mismatch(streamed, text)

    def _text_mismatch(self, streamed: str, text: str) -> None:
        """Raise (strict) or record that the streamed text is not the reported text."""
        char = next(
            (k for k, (a, b) in enumerate(zip(streamed, text)) if a != b),
            min(len(streamed), len(text)),
        )
        byte = len(streamed[:char].encode("utf-8", "surrogatepass"))
        message = (
            f"the streamed text differs from the reported text at character {char} (byte "
            f"{byte}): the tokens give {streamed[max(0, char - 8) : char + 16]!r}, the reported "
            f"text has {text[max(0, char - 8) : char + 16]!r}"
        )
        if self._errors == "strict":
            raise DecodeError(
                message + ". Use errors='replace' to keep the tokens' text and a problem.",
                byte_offset=byte,
                bad_bytes=streamed[char : char + 16].encode("utf-8", "surrogatepass"),
            )
        self._recovered.append(
            Problem(
                "text_mismatch",
                message,
                byte_start=byte,
                byte_end=len(streamed.encode("utf-8", "surrogatepass")),
                bytes=streamed[char:].encode("utf-8", "surrogatepass"),
            )
        )

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
                    sum([*self._logprobs, logprob]),
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
            scores = chain((sum([*self._logprobs, logprob]),), repeat(logprob, n - 1))
        return _consecutive_units(text, char, byte_starts, byte_ends, tokens, scores)

    def _records_of(self, x: Any) -> tuple[Sequence[Any], str | None]:
        """The token records in ``x`` and the text its container reports (a chunk's delta)."""
        if isinstance(x, Mapping):
            # a record, maybe malformed (read_records names what is wrong, as in decode())
            if "logprob" in x or "bytes" in x or isinstance(x.get("token"), str):
                return (x,), None
        elif isinstance(x, (list, tuple)):
            # A list of records, possibly malformed (as decode() tells them: read_records then
            # names the bad token and field), or a list extract() knows.
            if not x:
                return (), None
            first = x[0]
            if isinstance(first, Mapping):
                if "token" in first or "bytes" in first:
                    return x, None
            elif hasattr(first, "logprob") and (hasattr(first, "token") or hasattr(first, "bytes")):
                return x, None
        elif hasattr(x, "logprob") and not hasattr(x, "choices"):
            return (x,), None
        from .sources import extract

        found = extract(x, choice=self._choice, channel=self._channel, allow_empty=True)
        return found.records, found.text

    # -- the window ----------------------------------------------------------------------------

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
        if self._recent:
            self._text.append("".join(self._recent))
            self._recent.clear()
        if len(self._text) > 1:
            self._text[:] = ["".join(self._text)]
        return self._text[0] if self._text else ""

    @property
    def pending(self) -> bytes:
        """The bytes received but not yet in an emitted unit (held back for lookahead)."""
        return b"".join(self._parts)[self._done :]

    @property
    def problems(self) -> tuple[Problem, ...]:
        """What was dealt with instead of raising so far, in the order ``decode`` lists them."""
        return (*self._inferred, *self._recovered, *self._invalid, *self._empty)

    @property
    def tokens_seen(self) -> int:
        """How many token records have been fed."""
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
        state = "closed" if self._closed else f"{len(self.pending)} bytes pending"
        return f"<StreamDecoder {self._level}: {self._seen} tokens, {state}>"


# -- helpers -----------------------------------------------------------------------------------


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
            scores[i] = sum(covered)
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
    return tuple.__new__(Unit, (*fields, tokens, sum(logprobs[first : last + 1]), None))


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
    channel: str = "content",
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
    channel: str = "content",
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
