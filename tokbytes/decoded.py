"""``decode()`` and its result, :class:`Decoded`: exact text, tokens and scored units."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

from .alignment import Alignment, Errors, align, left_sum, read_records
from .errors import DecodeError, InputError, RangeError
from .escapes import bytes_to_token_text, token_text_to_bytes
from .json_fields import JsonField
from .json_fields import json_fields as _json_fields
from .measures import (
    AlternativeText,
    DocumentSummary,
    alternative_texts,
    continued_bytes,
    document_summary,
    listed_logprobs,
    token_entropies,
    token_margins,
    token_ranks,
)
from .records import Alternative, BytesSource, Problem, Token, Unit
from .recovery import TOKEN_FORMATS, TokenFormat, read_response, suspicious
from .segmentation import Words, WordSegmenter
from .segmentation import segmenter as _segmenter
from .sources import Extracted
from .units import Attribution, Level, UnitSequence, span_unit, units

__all__ = ["Decoded", "TokenSequence", "decode", "parse_alternatives"]


def decode(
    tokens: Any,
    *,
    errors: Errors = "strict",
    attribution: Attribution = "cover",
    choice: int = 0,
    channel: str = "auto",
    text: str | None = None,
    token_format: TokenFormat = "auto",
    words: Words = "uax29",
) -> Decoded:
    """Rebuild the exact text of a model's output from its token logprobs, and align the two.

    ``tokens`` is a sequence (or any iterable) of token records (dicts with ``bytes``,
    ``logprob``, ``token``, optional ``top_logprobs``, or objects with those attributes such as
    the OpenAI SDK's ``ChatCompletionTokenLogprob``) or any container the provider or LangChain
    returned (a whole chat completion, a logprobs object, an ``AIMessage``, a list of stream
    chunks, …; see ``docs/providers.md``). ``choice`` picks a choice when ``n > 1``;
    ``channel="auto"`` (default) takes the content's tokens, or the refusal's when the content
    has none (``Decoded.channel`` says which); ``"content"`` or ``"refusal"`` ask for one.

    ``errors="strict"`` raises :class:`~tokbytes.DecodeError` on invalid or truncated UTF-8;
    ``"replace"`` puts U+FFFD where ``bytes.decode("utf-8", "replace")`` would and lists each case
    in ``Decoded.problems``. ``attribution`` chooses the meaning of unit scores (``"cover"`` or
    ``"split"``; see the README).

    ``words`` chooses how ``Decoded.words`` are found: ``"uax29"`` (the Unicode default word
    boundaries), ``"icu"`` (ICU's dictionary segmentation for Chinese, Japanese, Thai, Lao, Khmer
    and Myanmar; extra ``tokbytes[icu]``), a :class:`~tokbytes.WordSegmenter` (e.g. with an ICU
    ``locale``) or a callable ``text -> iterable of (start, end)`` spans (see
    :mod:`tokbytes.segmentation`).

    ``text`` is the final text the provider reported (taken from the container when it has one,
    e.g. ``message.content``). When the tokens' bytes do not spell it, they are recovered (BPE
    symbols, SentencePiece byte pieces, U+FFFD or empty fragments realigned; see
    ``docs/recovery.md``), each repaired token is listed in ``problems`` and units whose tokens
    cannot be known get ``logprob = nan``; a text the tokens cannot spell raises
    :class:`~tokbytes.DecodeError` (``errors="replace"``: a ``"text_mismatch"`` problem).
    Without a text, bytes that are valid UTF-8 are kept as they are; if they look like BPE
    symbols or byte pieces a ``"format_suspected"`` problem says so, and ``token_format``
    (``"bpe_symbols"``, ``"byte_fallback"``; ``"bytes"``: never re-read) opts in.

    >>> doc = decode([
    ...     {"token": " 서", "bytes": [32, 236, 132, 156], "logprob": -0.01},
    ...     {"token": "\\\\xec\\\\x9a", "bytes": [236, 154], "logprob": -0.2},
    ...     {"token": "\\\\xb8", "bytes": [184], "logprob": -0.3},
    ... ])
    >>> doc.text
    ' 서울'
    >>> [(w.text, round(w.logprob, 2), w.tokens) for w in doc.words]
    [('서울', -0.51, (0, 1, 2))]
    >>> [(t.token, t.text) for t in doc.tokens]
    [(' 서', ' 서'), ('\\\\xec\\\\x9a', ''), ('\\\\xb8', '울')]
    >>> lossy = decode([{"token": "\\ufffd", "bytes": [239, 191, 189], "logprob": -0.5}] * 2, text="é")
    >>> lossy.text, [t.bytes_source for t in lossy.tokens], lossy.chars[0].logprob
    ('é', ['aligned', 'aligned'], -1.0)
    """
    segmenter = _segmenter(words)  # checked before any work
    if token_format not in TOKEN_FORMATS:
        raise InputError(
            f"token_format must be one of {', '.join(map(repr, TOKEN_FORMATS))}, "
            f"got {token_format!r:.40}",
            field="token_format",
        )
    found = _find_records(tokens, choice=choice, channel=channel)
    records: Sequence[Any] = found.records
    if text is None:
        text = found.text
    elif not isinstance(text, str):
        raise InputError(
            f"text must be a str (the provider's final text), got {type(text).__name__}"
        )
    alignment: Alignment | None = None
    try:
        alignment = _checked_alignment(records, text, errors, token_format)
        mismatch = any(p.kind == "text_mismatch" for p in alignment.problems)
    except DecodeError:
        mismatch = True
        if text is None:
            raise
    # (Streams are split chunk by chunk, by the delta each chunk reports: see StreamAssembler.)
    whole = not found.shape.startswith("stream:")
    if whole and (found.channel == "reasoning" or (mismatch and text is not None)):
        # Reasoning tokens mixed into the logprobs: the channel's own tokens, if they spell it.
        own = _own_tokens(records, text, found, channel)
        if own is not None:
            records, text = own
            alignment = _checked_alignment(records, text, errors, token_format)
        elif found.channel == "reasoning":
            raise InputError(
                "channel='reasoning': the logprobs hold no reasoning tokens before the content "
                "(this server leaves them out); decode the content instead",
                field="channel",
            )
    if alignment is None:
        alignment = _checked_alignment(records, text, errors, token_format)  # raises again
    records = list(records) if not isinstance(records, list) else records
    if found.problems:
        alignment.problems = with_container_problems(alignment.problems, found.problems, errors)
    return Decoded(
        alignment,
        records,
        attribution=attribution,
        errors=errors,
        shape=found.shape,
        reported_text=text,
        channel=found.channel,
        finish_reason=found.finish_reason,
        words=segmenter,
    )


def with_container_problems(
    problems: tuple[Problem, ...], found: Sequence[Problem], errors: Errors
) -> tuple[Problem, ...]:
    """The alignment's problems, then what the container showed (llama.cpp merged entries, a
    held-back tail: ``"truncated"`` raises the truncated :class:`DecodeError` when strict)."""
    for problem in found:
        if problem.kind == "truncated" and errors == "strict":
            raise DecodeError(
                problem.message + ". Use errors='replace' to keep the text and a problem.",
                token=problem.token,
                truncated=True,
            )
    return (*problems, *found)


def _checked_alignment(
    records: Sequence[Any], text: str | None, errors: Errors, token_format: TokenFormat
) -> Alignment:
    """Align the records (C-level fast path); when they do not spell ``text``, may be BPE
    symbols or byte pieces, or have an explicit format, read them again by the rules of
    :func:`tokbytes.recovery.read_response`."""
    if token_format in ("auto", "bytes"):
        try:
            alignment = align(records, errors=errors)
        except DecodeError:
            if text is None:
                raise
        else:
            if text is None:
                if token_format == "bytes" or not suspicious(alignment.text, alignment.buffer):
                    return alignment
            elif alignment.text == text:
                return alignment
    parts, logprobs, sources, problems = read_records(records)
    return read_response(
        parts,
        logprobs,
        sources,
        problems,
        _token_strings(records),
        text=text,
        errors=errors,
        token_format=token_format,
    )


# Reasoning wrapped in tags, as DeepSeek-R1, Qwen3 and their servers' parsers write it (the
# opening tag may be in the prompt's template, so only the closing one is required).
_THINK = re.compile(r"\s*(?:<think>)?(.*?)</think>\s*", re.DOTALL)


def _own_tokens(
    records: Sequence[Any], text: str | None, found: Extracted, channel: str
) -> tuple[Sequence[Any], str | None] | None:
    """The records (and text) of one channel when the logprobs hold reasoning + content.

    The tokens must spell the reasoning (inside ``<think>`` … ``</think>``, or the reasoning
    text the reply reports), then the content; the content starts at the token holding its
    first character. None when they do not.
    """
    content = text if found.channel != "reasoning" else found.text
    try:
        al = align(records, errors="replace")
    except InputError:
        return None
    ours = al.text
    if found.channel == "reasoning":
        # the content is what follows the reasoning; the reasoning's own text is ``text``
        match = re.match(r"(?:\s*<think>)?(.*?)</think>", ours, re.DOTALL)
        if match is None:
            reasoning = found.reasoning
            if not reasoning or not ours.lstrip().startswith(reasoning.strip()):
                return None
            start = len(ours) - len(ours.lstrip())
            first, last = start, start + len(reasoning.strip())
        else:
            first, last = match.start(1), match.end(1)
        if last <= first:
            return None
        lo, hi = _token_span(al, first, last)
        return records[lo:hi], text if text is not None else ours[first:last]
    reasoning = (found.reasoning or "").strip()
    for core in dict.fromkeys((content or "", (content or "").strip())):
        at = ours.rfind(core) if core else len(ours.rstrip())
        if at <= 0 or ours[at + len(core) :].strip():
            continue
        before = ours[:at]
        if _THINK.fullmatch(before) or (reasoning and before.strip() == reasoning):
            lo, _ = _token_span(al, at, at + max(len(core), 1))
            return records[lo:], text
    return None


def _token_span(al: Alignment, first: int, last: int) -> tuple[int, int]:
    """``(lo, hi)``: the tokens holding characters ``[first, last)`` (``last > first``)."""
    bounds = al.char_bounds
    return al.token_at_byte(bounds[first]), al.token_at_byte(bounds[last] - 1) + 1


def _token_strings(records: Sequence[Any]) -> list[str | None]:
    out: list[str | None] = []
    for record in records:
        token = (
            record.get("token") if isinstance(record, Mapping) else getattr(record, "token", None)
        )
        out.append(token if isinstance(token, str) else None)
    return out


def _find_records(obj: Any, *, choice: int, channel: str) -> Extracted:
    if isinstance(obj, Iterator):  # a generator or iterator of records or chunks: read it once
        obj = list(obj)
    if isinstance(obj, list | tuple) and (not obj or _looks_like_record(obj[0])):
        if channel not in ("auto", "content", "refusal", "reasoning"):
            from .sources import extract

            extract([], channel=channel)  # names the allowed channels
        return Extracted(
            obj if isinstance(obj, list) else list(obj),  # a list is used as it is
            None,
            "records",
            channel if channel in ("refusal", "reasoning") else "content",
        )
    from .sources import extract

    return extract(obj, choice=choice, channel=channel)


def _looks_like_record(x: Any) -> bool:
    """An OpenAI-style token record (possibly malformed: the core then says what is wrong)."""
    if isinstance(x, Mapping):
        return "token" in x or "bytes" in x
    return hasattr(x, "logprob") and (hasattr(x, "token") or hasattr(x, "bytes"))


def parse_alternatives(raw: Any, index: int) -> tuple[Alternative, ...]:
    """``top_logprobs`` of token ``index`` as :class:`Alternative` records.

    Accepts lists of dicts or objects (``token``, ``logprob``, ``bytes``) and the legacy
    ``{token: logprob}`` dict. ``bytes: null`` stays None (special tokens such as ``<|end|>``)
    unless the token string carries escaped bytes.

    >>> parse_alternatives([{"token": "\\\\xeb", "logprob": -1.0, "bytes": [235]}], 0)
    (Alternative(token='\\\\xeb', bytes=b'\\xeb', logprob=-1.0),)
    """
    if not raw:
        return ()
    if isinstance(raw, Mapping):
        items: list[tuple[Any, Any, Any]] = [(t, lp, None) for t, lp in raw.items()]
    else:
        items = []
        for alt in raw:
            get = alt.get if isinstance(alt, Mapping) else (lambda k, a=alt: getattr(a, k, None))
            items.append((get("token"), get("logprob"), get("bytes")))
    out = []
    for position, (token, logprob, data) in enumerate(items):
        where = f"token {index}: top_logprobs[{position}]"
        if isinstance(logprob, bool) or not isinstance(logprob, int | float) or logprob != logprob:
            raise InputError(
                f"{where}: 'logprob' must be a number, got {logprob!r:.40}",
                token=index,
                field="top_logprobs",
            )
        if data is not None:
            if not isinstance(data, list | tuple | bytes) or not all(
                type(b) is int and 0 <= b <= 255 for b in data
            ):
                raise InputError(
                    f"{where}: 'bytes' must be a list of ints 0-255, got {data!r:.60}",
                    token=index,
                    field="top_logprobs",
                )
            data = bytes(data)
        elif isinstance(token, str) and ("\\x" in token or token.startswith("bytes:")):
            data = token_text_to_bytes(token)
        if not isinstance(token, str):
            token = bytes_to_token_text(data) if data is not None else ""
        out.append(Alternative(token, data, float(logprob)))
    return tuple(out)


class TokenSequence(Sequence[Token]):
    """The tokens of a decoded output as :class:`Token` records, made on demand."""

    __slots__ = ("_al", "_records")

    def __init__(self, al: Alignment, records: Sequence[Any]) -> None:
        self._al = al
        self._records = records

    def __len__(self) -> int:
        return len(self._al)

    @overload
    def __getitem__(self, index: int) -> Token: ...
    @overload
    def __getitem__(self, index: slice) -> list[Token]: ...
    def __getitem__(self, index: int | slice) -> Token | list[Token]:
        if isinstance(index, slice):
            return [self._token(j) for j in range(*index.indices(len(self)))]
        size = len(self)
        position = index + size if index < 0 else index
        if not 0 <= position < size:
            raise RangeError(f"token index {index} out of range (there are {size})", token=index)
        return self._token(position)

    def __iter__(self) -> Iterator[Token]:
        return map(self._token, range(len(self)))

    def _token(self, j: int) -> Token:
        al, record = self._al, self._records[j]
        start, end = al.token_start(j), al.token_ends[j]
        data = al.buffer[start:end]
        if isinstance(record, Mapping):
            token, top = record.get("token"), record.get("top_logprobs")
        else:
            token, top = getattr(record, "token", None), getattr(record, "top_logprobs", None)
        if not isinstance(token, str):
            token = bytes_to_token_text(data)
        source: BytesSource = al.bytes_sources[j] if al.bytes_sources is not None else "bytes"
        text = al.text[al.chars_ended_by(start) : al.chars_ended_by(end)] if end > start else ""
        return Token(
            j + al.token_base,
            token,
            data,
            al.logprobs[j],
            parse_alternatives(top, j + al.token_base),
            text,
            start + al.byte_base,
            end + al.byte_base,
            source,
        )

    # -- columns and uncertainty (tokbytes.measures) ----------------------------------------------

    def logprobs(self) -> list[float]:
        """``[t.logprob for t in self]``, without making the tokens."""
        return list(self._al.logprobs)

    def alternative_counts(self) -> list[int]:
        """Per token, how many ``top_logprobs`` alternatives the provider listed (0 for none)."""
        return list(map(len, listed_logprobs(self._al, self._records)))

    def entropies(self) -> list[float]:
        """Per token, the entropy (nats) of its ``top_logprobs`` renormalized to sum to 1; NaN
        where it has none (see :func:`tokbytes.measures.entropy`)."""
        return token_entropies(self._al, self._records)

    def margins(self) -> list[float]:
        """Per token, ``p1 - p2`` of its two most likely ``top_logprobs``; NaN with fewer than
        two (see :func:`tokbytes.measures.margin`)."""
        return token_margins(self._al, self._records)

    def ranks(self) -> list[int | None]:
        """Per token, the rank of the generated token among its ``top_logprobs`` (1 = most
        likely); None where it is not listed (see :func:`tokbytes.measures.rank`)."""
        return token_ranks(self._al, self._records)

    def __repr__(self) -> str:
        return f"<{len(self)} tokens>"


class Decoded:
    """The result of :func:`decode`: the exact text, its tokens, and scored units.

    ``chars``, ``graphemes`` and ``words`` are lazy sequences of :class:`~tokbytes.Unit`; the
    alignment behind them (joined bytes, token byte spans, character byte offsets) is computed
    once.
    """

    __slots__ = (
        "_al",
        "_graphemes",
        "_records",
        "_words",
        "attribution",
        "channel",
        "errors",
        "finish_reason",
        "reported_text",
        "segmenter",
        "shape",
    )

    def __init__(
        self,
        alignment: Alignment,
        records: Sequence[Any],
        *,
        attribution: Attribution = "cover",
        errors: Errors = "strict",
        shape: str = "records",
        reported_text: str | None = None,
        channel: str = "content",
        finish_reason: str | None = None,
        words: Words = "uax29",
    ) -> None:
        if attribution not in ("cover", "split"):
            raise InputError(f"attribution must be 'cover' or 'split', got {attribution!r}")
        self._al = alignment
        self._records = records
        #: ``"cover"`` or ``"split"``: the meaning of every unit's ``logprob``.
        self.attribution: Attribution = attribution
        #: ``"strict"`` or ``"replace"``.
        self.errors: Errors = errors
        #: The input shape that was recognised (``"records"``, ``"openai.chat_completion"``, …).
        self.shape = shape
        #: The final text the provider reported alongside the tokens, when it did.
        self.reported_text = reported_text
        #: Whose tokens these are: ``"content"`` or ``"refusal"`` (what ``channel="auto"`` chose).
        self.channel = channel
        #: Why generation stopped when the reply says (``"stop"``, ``"length"``: cut by
        #: ``max_tokens``, …), else None.
        self.finish_reason = finish_reason
        #: How ``words`` are found (``segmenter.name``: ``"uax29"``, ``"icu"`` or ``"custom"``).
        self.segmenter: WordSegmenter = _segmenter(words)
        self._graphemes: UnitSequence | None = None
        self._words: UnitSequence | None = None

    # -- text and tokens ---------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The exact text, decoded from the joined token bytes."""
        return self._al.text

    @property
    def bytes(self) -> bytes:
        """Every token's bytes joined: the raw output."""
        return self._al.buffer

    @property
    def tokens(self) -> TokenSequence:
        """The tokens, with their bytes, offsets and display ``text``."""
        return TokenSequence(self._al, self._records)

    @property
    def problems(self) -> tuple[Problem, ...]:
        """What was dealt with instead of raising: invalid bytes replaced, bytes inferred, …"""
        return self._al.problems

    @property
    def logprob(self) -> float:
        """Sum of every token's logprob, left to right in token order: the log-probability of the
        whole output, ``-inf`` below the smallest float (the summation rule of every score, see
        :func:`~tokbytes.alignment.left_sum`)."""
        return left_sum(self._al.logprobs)

    @property
    def alignment(self) -> Alignment:
        """The underlying alignment (joined bytes, token ends, character byte offsets)."""
        return self._al

    def __len__(self) -> int:
        """Number of characters of the text."""
        return len(self._al.text)

    # -- units -------------------------------------------------------------------------------------

    @property
    def chars(self) -> UnitSequence:
        """One unit per character (code point)."""
        return units(self._al, "char", self.attribution, records=self._records)

    @property
    def graphemes(self) -> UnitSequence:
        """One unit per extended grapheme cluster (what a reader sees as one character)."""
        if self._graphemes is None:
            self._graphemes = units(self._al, "grapheme", self.attribution, records=self._records)
        return self._graphemes

    @property
    def words(self) -> UnitSequence:
        """One unit per word: a segment holding a non-whitespace character, without whitespace
        at its edges (segments from ``decode(words=...)``; UAX #29 by default)."""
        if self._words is None:
            self._words = units(
                self._al, "word", self.attribution, self.segmenter, records=self._records
            )
        return self._words

    def units(self, level: Level) -> UnitSequence:
        """``chars``, ``graphemes`` or ``words`` by name (``"char"``, ``"grapheme"``, ``"word"``)."""
        return {
            "char": lambda: self.chars,
            "grapheme": lambda: self.graphemes,
            "word": lambda: self.words,
        }.get(level, lambda: units(self._al, level, records=self._records))()

    def span(self, start: int, end: int) -> Unit:
        """The unit for characters ``[start, end)`` of the text, scored like any unit.

        >>> doc = decode([{"token": "ab", "bytes": [97, 98], "logprob": -0.5},
        ...               {"token": "c", "bytes": [99], "logprob": -0.25}])
        >>> doc.span(1, 3).tokens, doc.span(1, 3).logprob
        ((0, 1), -0.75)
        """
        size = len(self._al.text)
        if not (type(start) is int and type(end) is int and 0 <= start <= end <= size):
            raise RangeError(
                f"span({start!r}, {end!r}) is outside the text: need 0 <= start <= end <= {size}"
            )
        return span_unit(self._al, start, end, self.attribution)

    def find(self, substring: str, start: int = 0) -> Unit | None:
        """The first occurrence of ``substring`` at or after character ``start``, or None.

        >>> decode([{"token": "서울", "bytes": list("서울".encode()), "logprob": -0.1}]).find("울").text
        '울'
        """
        position = self._al.text.find(substring, start)
        return None if position < 0 else self.span(position, position + len(substring))

    def find_all(self, substring: str) -> list[Unit]:
        """Every occurrence of ``substring``, left to right and not overlapping (as
        ``str.count`` counts them), scored like any span.

        >>> doc = decode([{"token": "a-b-a", "bytes": list(b"a-b-a"), "logprob": -0.5}])
        >>> [(u.start, u.end) for u in doc.find_all("a")]
        [(0, 1), (4, 5)]
        """
        if not isinstance(substring, str) or not substring:
            raise InputError(f"find_all() needs a non-empty str, got {substring!r:.40}")
        found, text, position = [], self._al.text, 0
        while (position := text.find(substring, position)) >= 0:
            found.append(self.span(position, position + len(substring)))
            position += len(substring)
        return found

    # -- uncertainty and data tools (tokbytes.measures, tokbytes.tables) -------------------------

    def alternatives(self, j: int) -> tuple[AlternativeText, ...]:
        """The ``top_logprobs`` of token ``j``, most likely first, as ``(text, logprob, chosen)``
        records; each alternative's bytes are read after the bytes of the character the token
        continues (see :func:`tokbytes.measures.alternative_text`).

        >>> doc = decode([
        ...     {"token": "\\xeb\\xaf", "bytes": [235, 175], "logprob": -0.1},
        ...     {"token": "\\xb8", "bytes": [184], "logprob": -0.2, "top_logprobs": [
        ...         {"token": "\\xbc", "bytes": [188], "logprob": -1.9},
        ...         {"token": "\\xb8", "bytes": [184], "logprob": -0.2}]}])
        >>> [(a.text, a.chosen) for a in doc.alternatives(1)]
        [('미', True), ('민', False)]
        """
        token = self.tokens[j]
        al = self._al
        start = token.byte_start - al.byte_base
        prefix = continued_bytes(al.buffer, start) if token.bytes else b""
        return alternative_texts(token.top_logprobs, token.bytes, prefix=prefix, token=token.token)

    def summary(self, n: int = 5) -> DocumentSummary:
        """Totals and the least certain places: see :class:`tokbytes.measures.DocumentSummary`.

        >>> import math
        >>> s = decode([{"token": "ok", "bytes": [111, 107], "logprob": -0.5}]).summary()
        >>> s.tokens, s.characters, s.perplexity == math.exp(0.5), s.least_certain_words[0].text
        (1, 2, True, 'ok')
        """
        return document_summary(self, n)

    def to_pandas(self, level: str = "word") -> Any:
        """One row per unit of ``level`` (or per token with ``"token"``) as a ``pandas.DataFrame``
        (columns: :func:`tokbytes.tables.columns`). Needs ``pip install "tokbytes[pandas]"``."""
        from .tables import to_pandas

        return to_pandas(self, level)

    def to_arrow(self, level: str = "word") -> Any:
        """:meth:`to_pandas` as a ``pyarrow.Table``. Needs ``pip install "tokbytes[arrow]"``."""
        from .tables import to_arrow

        return to_arrow(self, level)

    def _repr_html_(self) -> str:
        """The word heat map, for Jupyter (see :func:`tokbytes.render.heatmap_html`)."""
        from .render import heatmap_html

        return heatmap_html(self._al.text, self.words, level="word")

    def char_to_token(self, i: int) -> int:
        """Index of the token holding the first byte of character ``i``."""
        size = len(self._al.text)
        if not (isinstance(i, int) and -size <= i < size):
            raise RangeError(f"character index {i!r} out of range (the text has {size})")
        i = i + size if i < 0 else i
        return self._al.token_at_byte(self._al.char_bounds[i])

    def token_to_chars(self, j: int) -> tuple[int, int]:
        """``(start, end)``: the characters token ``j``'s bytes touch (empty for a byteless token).

        >>> doc = decode([{"token": "\\\\xec\\\\x9a", "bytes": [236, 154], "logprob": -0.2},
        ...               {"token": "\\\\xb8a", "bytes": [184, 97], "logprob": -0.3}])
        >>> doc.token_to_chars(0), doc.token_to_chars(1)
        ((0, 1), (0, 2))
        """
        al = self._al
        size = len(al)
        if not (isinstance(j, int) and -size <= j < size):
            raise RangeError(f"token index {j!r} out of range (there are {size})")
        j = j + size if j < 0 else j
        start, end = al.token_start(j), al.token_ends[j]
        first = al.char_at_byte(start)
        if end <= start:
            position = al.chars_ended_by(start)
            return position, position
        return first, al.char_at_byte(end - 1) + 1

    def json_fields(self, *, start: int | None = None, which: int = 0) -> tuple[JsonField, ...]:
        """Every value (objects, arrays, leaves) of the JSON document in the text, scored.

        Finds the JSON after prose or in a ```` ```json ```` fence (``start`` and ``which`` pick
        another; see :func:`tokbytes.json_fields.find_json`); raises
        :class:`~tokbytes.json_fields.JsonError` (an :class:`InputError`) where it stops.

        >>> doc = decode([{"token": '{"a":', "bytes": list(b'{"a":'), "logprob": -0.5},
        ...               {"token": " 1}", "bytes": list(b" 1}"), "logprob": -0.25}])
        >>> [(f.path, f.value, f.start, f.end, f.logprob) for f in doc.json_fields()]
        [('', {'a': 1}, 0, 8, -0.75), ('/a', 1, 6, 7, -0.25)]
        """
        return _json_fields(self, start=start, which=which)

    def __repr__(self) -> str:
        return (
            f"<Decoded {len(self._al)} tokens, {len(self._al.text)} chars, "
            f"{len(self._al.problems)} problems: {self._al.text[:40]!r}>"
        )
