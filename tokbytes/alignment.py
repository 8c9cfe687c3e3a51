"""Token records → one joined byte buffer, its text, and the offsets that tie them together.

This is the core data structure, built once per decode and never changed:

* ``buffer``: every token's bytes joined (the truth);
* ``token_ends``: ``token_ends[j]`` is the offset just past token ``j``'s bytes (token ``j`` covers
  ``[token_ends[j-1], token_ends[j])``), so the token holding byte ``b`` is
  ``bisect_right(token_ends, b)``;
* ``text``: the buffer decoded (strict, or with U+FFFD where ``bytes.decode(..., "replace")`` puts
  them);
* ``char_bounds`` (lazy): ``char_bounds[k]`` is the byte offset where character ``k`` starts, with
  ``len(buffer)`` appended, so character ``k`` covers ``[char_bounds[k], char_bounds[k+1])``.

Everything is computed with C-level operations over whole arrays (``bytes.join``, ``bytes.decode``,
``bytes.translate``, ``itertools.compress``/``accumulate``, ``bisect``); per-byte Python loops only
run on the rare slow paths (malformed records, invalid UTF-8).

The common case (plain records, valid UTF-8) is read by the compiled core when it is built
(``_speedups.core``); this module is the reference and does everything else.

**The summation rule.** Wherever logprobs are added (a unit covered by several tokens, a span,
the whole output) they are added left to right in token order, starting from ``0.0``:
:func:`left_sum`. Not ``sum()``: from Python 3.12 it compensates rounding errors, so the same
scores would differ in the last bits between Python versions (and between the compiled and the
pure path).

The ``*_base`` fields let a window of a longer output (the streaming decoder) report global
offsets: units add them to every token index, byte offset and character offset.
"""

from __future__ import annotations

import codecs
import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from functools import reduce
from itertools import accumulate, compress
from operator import add, attrgetter, itemgetter
from typing import Any, Literal

from . import _speedups
from .errors import DecodeError, InputError
from .escapes import has_escapes, token_text_to_bytes
from .records import BytesSource, Problem

__all__ = ["Alignment", "Errors", "align", "align_parts", "left_sum", "read_records"]

Errors = Literal["strict", "replace"]

#: Logprobs a little above zero are float rounding of a certain token, not an error.
LOGPROB_TOLERANCE = 1e-6

# bytes.translate table: continuation bytes (0b10xxxxxx) → 0, every other byte → 1.
_LEAD_MASK = bytes(0 if 0x80 <= b <= 0xBF else 1 for b in range(256))
_MISSING = object()
_get_bytes_item, _get_logprob_item = itemgetter("bytes"), itemgetter("logprob")
_get_bytes_attr, _get_logprob_attr = attrgetter("bytes"), attrgetter("logprob")


def left_sum(values: Iterable[float]) -> float:
    """``0.0 + values[0] + values[1] + ...``, left to right: how tokbytes adds logprobs.

    ``sum()`` gives the same bits up to Python 3.11 but compensates rounding from 3.12 on; this
    rule gives the same bits on every version and in the compiled core.

    >>> left_sum([0.1, 0.2, 0.3]), left_sum([]), left_sum([-0.0])
    (0.6000000000000001, 0.0, 0.0)
    """
    return reduce(add, values, 0.0)


class Alignment:
    """Joined bytes, text and offsets of a run of tokens (see the module docstring).

    Build it with :func:`align`; treat it as read-only.
    """

    __slots__ = (
        "_char_bounds",
        "_core",
        "_token_ends",
        "buffer",
        "byte_base",
        "bytes_sources",
        "char_base",
        "empty_tokens",
        "invalid_spans",
        "logprobs",
        "problems",
        "text",
        "token_base",
        "token_lengths",
        "unknown_edges",
        "unknown_spans",
    )

    def __init__(
        self,
        *,
        buffer: bytes,
        text: str,
        token_lengths: array[int] | None,
        logprobs: list[float],
        invalid_spans: tuple[tuple[int, int], ...] = (),
        bytes_sources: tuple[BytesSource, ...] | None = None,
        problems: tuple[Problem, ...] = (),
        token_base: int = 0,
        byte_base: int = 0,
        char_base: int = 0,
        empty_tokens: bool = False,
        unknown_edges: frozenset[int] = frozenset(),
        unknown_spans: tuple[tuple[int, int], ...] = (),
        token_ends: Sequence[int] | None = None,
    ) -> None:
        self.buffer = buffer
        self.text = text
        #: Number of bytes of each token (None when ``token_ends`` was given instead).
        self.token_lengths = token_lengths
        self._token_ends: Sequence[int] | None = token_ends
        self.logprobs = logprobs
        #: ``(byte_start, byte_end)`` of each sequence decoded to one U+FFFD (replace mode).
        self.invalid_spans = invalid_spans
        #: Per-token origin of the bytes; None means every token's came from its ``bytes`` field.
        self.bytes_sources = bytes_sources
        self.problems = problems
        self.token_base = token_base
        self.byte_base = byte_base
        self.char_base = char_base
        #: True when some token carries no bytes at all (it then belongs to no unit).
        self.empty_tokens = empty_tokens
        #: Byte offsets whose token is uncertain after byte recovery (see ``recovery.py``): a unit
        #: whose first or last byte is one of them has no score (NaN).
        self.unknown_edges = unknown_edges
        #: Byte ranges whose tokens are uncertain after byte recovery: a unit touching one has no
        #: score (NaN).
        self.unknown_spans = unknown_spans
        self._char_bounds: Sequence[int] | None = None
        #: The compiled core's view of this alignment (None: not asked yet; False: not plain).
        self._core: Any = None

    # -- scores of recovered bytes -------------------------------------------------------------

    @property
    def has_unknown(self) -> bool:
        """True when byte recovery left some units without a score (see :meth:`unknown_scores`)."""
        return bool(self.unknown_edges or self.unknown_spans)

    def unknown_scores(
        self, byte_starts: Sequence[int], byte_ends: Sequence[int], scores: list[float]
    ) -> list[float]:
        """``scores`` with NaN for each unit (local byte range) whose tokens are uncertain."""
        edges, spans, nan = self.unknown_edges, self.unknown_spans, math.nan
        out = list(scores)
        for i, (start, end) in enumerate(zip(byte_starts, byte_ends)):
            if start in edges or (end - 1) in edges or any(a < end and start < b for a, b in spans):
                out[i] = nan
        return out

    # -- offsets -------------------------------------------------------------------------------

    @property
    def token_ends(self) -> Sequence[int]:
        """Offset just past each token's bytes (computed on first use: ``.text`` never needs it)."""
        if self._token_ends is None:
            assert self.token_lengths is not None
            self._token_ends = list(accumulate(self.token_lengths))
        return self._token_ends

    def __len__(self) -> int:
        """Number of tokens."""
        return len(self.logprobs)

    @property
    def core(self) -> Any:
        """The compiled core's view of this alignment, or None: pure Python does the work.

        None without the core, or when the alignment is not plain (invalid bytes replaced,
        tokens with no bytes, recovered bytes, logprobs that are not floats).
        """
        core = _speedups.core
        if core is None:  # not built, TOKBYTES_PURE, or inside _speedups.forced_pure()
            return None
        found = self._core
        if found is None:
            found = False
            if not (self.invalid_spans or self.empty_tokens or self.has_unknown):
                found = core.aligned(
                    self.text,
                    self.token_ends,
                    self.logprobs,
                    self.char_bounds,
                    self.token_base,
                    self.byte_base,
                    self.char_base,
                )
                found = found if found is not None else False
            self._core = found
        return found or None

    @property
    def char_bounds(self) -> Sequence[int]:
        """Byte offset where each character starts, plus ``len(buffer)`` at the end.

        A ``range`` for pure ASCII output (one byte per character), else a compact ``array``.
        """
        if self._char_bounds is None:
            if len(self.text) == len(self.buffer):
                self._char_bounds = range(len(self.buffer) + 1)
            elif _speedups.core is not None and not self.invalid_spans:
                self._char_bounds = _speedups.core.char_starts(self.buffer)
            else:
                self._char_bounds = _char_bounds(self.buffer, self.invalid_spans)
        return self._char_bounds

    def token_start(self, j: int) -> int:
        """Byte offset of token ``j``'s first byte (local index)."""
        return self.token_ends[j - 1] if j else 0

    def token_at_byte(self, b: int) -> int:
        """Local index of the token holding byte ``b``."""
        return bisect_right(self.token_ends, b)

    def chars_ended_by(self, byte_offset: int) -> int:
        """How many characters end at or before ``byte_offset``."""
        return bisect_right(self.char_bounds, byte_offset) - 1

    def char_at_byte(self, b: int) -> int:
        """Local index of the character holding byte ``b``."""
        return bisect_right(self.char_bounds, b) - 1

    def token_range(self, byte_start: int, byte_end: int) -> tuple[int, int]:
        """Local ``(first, last + 1)`` token indices touching the byte range (empty range → (j, j))."""
        if byte_end <= byte_start:
            j = bisect_right(self.token_ends, byte_start)
            return j, j
        return bisect_right(self.token_ends, byte_start), bisect_left(self.token_ends, byte_end) + 1

    def token_indices(self, first: int, stop: int) -> tuple[int, ...]:
        """Global indices of the tokens in ``[first, stop)`` that carry at least one byte."""
        base = self.token_base
        if not self.empty_tokens:
            return tuple(range(first + base, stop + base))
        ends = self.token_ends
        return tuple(j + base for j in range(first, stop) if ends[j] > (ends[j - 1] if j else 0))


# -- reading records ---------------------------------------------------------------------------


def read_records(
    records: Sequence[Any], *, first_index: int = 0
) -> tuple[list[bytes], list[float], tuple[BytesSource, ...] | None, list[Problem]]:
    """Read each record's bytes and logprob, validating them.

    Returns the per-token bytes, the logprobs, the per-token bytes sources (None when every token
    had a usable ``bytes`` field) and the problems noticed (bytes inferred from token strings).
    ``first_index`` is the index reported for ``records[0]`` in errors.

    >>> parts, logprobs, sources, problems = read_records([{"token": "a", "bytes": [97], "logprob": -0.5}])
    >>> parts, logprobs, sources, problems
    ([b'a'], [-0.5], None, [])
    """
    fast = _fast_bytes(records)
    if fast is not None:
        return fast[0], _logprobs(records, first_index), None, []
    parts, sources, problems = _slow_bytes(records, first_index)
    return parts, _logprobs(records, first_index), sources, problems


def _fast_bytes(records: Sequence[Any]) -> tuple[list[bytes], array[int], bytes] | None:
    """Every record's bytes, the token lengths and the joined bytes, with C-level calls only.

    None when any record needs the slow path (which validates one record at a time).
    """
    if not records:
        return [], array("I"), b""
    try:
        first = records[0]
        raw = map(_get_bytes_item if type(first) is dict else _get_bytes_attr, records)
        # bytes() rejects None, floats, strings, JSON objects (string keys), non-int items and
        # values outside 0-255 (a Python dict of int keys would pass as its keys: no JSON decoder
        # makes one) ...
        parts = list(map(bytes, raw))
    except (KeyError, AttributeError, TypeError, ValueError):
        return None
    buffer = b"".join(parts)
    # ... but takes an int n (n NULs) and True/False (b"\x01", b"\x00"): model output never
    # holds NUL or SOH, so their presence sends the records to the slow path, which names them.
    if b"\x00" in buffer or b"\x01" in buffer:
        return None
    return parts, array("I", list(map(len, parts))), buffer


def _field(record: Any, name: str, index: int) -> Any:
    if isinstance(record, Mapping):
        return record.get(name, _MISSING)
    if isinstance(record, (str, bytes, int, float)) or record is None:
        raise InputError(
            f"token {index}: expected a token record (a dict or object with 'token', 'logprob' "
            f"and 'bytes'), got {type(record).__name__} {record!r:.60}",
            token=index,
        )
    return getattr(record, name, _MISSING)


def _slow_bytes(
    records: Sequence[Any], first_index: int
) -> tuple[list[bytes], tuple[BytesSource, ...], list[Problem]]:
    parts: list[bytes] = []
    sources: list[BytesSource] = []
    problems: list[Problem] = []
    for offset, record in enumerate(records):
        index = first_index + offset
        raw = _field(record, "bytes", index)
        if raw is _MISSING or raw is None:
            token = _field(record, "token", index)
            if not isinstance(token, str):
                raise InputError(
                    f"token {index}: no 'bytes' and no 'token' string to take them from "
                    f"(token={token if token is not _MISSING else 'missing'!r:.60})",
                    token=index,
                    field="bytes",
                )
            data = token_text_to_bytes(token)
            source: BytesSource = "escaped" if has_escapes(token) else "text"
            problems.append(
                Problem(
                    "bytes_inferred",
                    f"token {index}: no 'bytes' field; bytes taken from the token string "
                    f"{token!r} ({'escapes decoded' if source == 'escaped' else 'as UTF-8'})",
                    token=index,
                    bytes=data,
                )
            )
        else:
            data = _checked_bytes(raw, index)
            source = "bytes"
        parts.append(data)
        sources.append(source)
    return parts, tuple(sources), problems


def _checked_bytes(raw: Any, index: int) -> bytes:
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw)
    if not isinstance(raw, (list, tuple)):
        raise InputError(
            f"token {index}: 'bytes' must be a list of ints 0-255, got {type(raw).__name__} "
            f"{raw!r:.60}",
            token=index,
            field="bytes",
        )
    for position, value in enumerate(raw):
        if type(value) is not int or not 0 <= value <= 255:
            raise InputError(
                f"token {index}: 'bytes'[{position}] must be an int 0-255, got {value!r:.40}",
                token=index,
                field="bytes",
            )
    return bytes(raw)


def _logprobs(records: Sequence[Any], first_index: int) -> list[float]:
    try:
        first = records[0] if records else None
        values = list(map(_get_logprob_item if type(first) is dict else _get_logprob_attr, records))
        total = sum(values)  # TypeError for None and strings
    except (KeyError, AttributeError, TypeError):
        return [_checked_logprob(r, first_index + i) for i, r in enumerate(records)]
    if total != total or (values and max(values) > LOGPROB_TOLERANCE):  # NaN, or a positive
        for i, record in enumerate(records):
            _checked_logprob(record, first_index + i)
    return values


def _checked_logprob(record: Any, index: int) -> float:
    value = _field(record, "logprob", index)
    if value is _MISSING or value is None:
        raise InputError(f"token {index}: 'logprob' is missing", token=index, field="logprob")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(
            f"token {index}: 'logprob' must be a number, got {type(value).__name__} {value!r:.40}",
            token=index,
            field="logprob",
        )
    if math.isnan(value):
        raise InputError(f"token {index}: 'logprob' is NaN", token=index, field="logprob")
    if value > LOGPROB_TOLERANCE:
        raise InputError(
            f"token {index}: 'logprob' must be <= 0 (a log-probability), got {value!r}",
            token=index,
            field="logprob",
        )
    return float(value)


# -- decoding ----------------------------------------------------------------------------------


def align(
    records: Sequence[Any],
    *,
    errors: Errors = "strict",
    token_base: int = 0,
    byte_base: int = 0,
    char_base: int = 0,
) -> Alignment:
    """Join and decode a run of token records.

    With ``errors="strict"`` invalid UTF-8 raises :class:`DecodeError` naming the token and byte
    offset; with ``"replace"`` each invalid sequence becomes one U+FFFD exactly where
    ``bytes.decode("utf-8", "replace")`` puts it, and is listed in ``problems``.

    >>> al = align([{"token": "\\xec\\x9a", "bytes": [236, 154], "logprob": -0.1},
    ...             {"token": "\\xb8", "bytes": [184], "logprob": -0.2}])
    >>> al.text, list(al.token_ends), list(al.char_bounds)
    ('울', [2, 3], [0, 3])
    """
    if _speedups.core is not None and errors in ("strict", "replace"):
        found = _core_align(records, token_base, byte_base, char_base)
        if found is not None:
            return found
    fast = _fast_bytes(records)
    buffer: bytes | None = None
    if fast is not None:
        parts, lengths, buffer = fast
        sources: tuple[BytesSource, ...] | None = None
        problems: list[Problem] = []
    else:
        parts, sources, problems = _slow_bytes(records, token_base)
        lengths = array("I", list(map(len, parts)))
    return align_parts(
        parts,
        _logprobs(records, token_base),
        errors=errors,
        sources=sources,
        problems=problems,
        token_base=token_base,
        byte_base=byte_base,
        char_base=char_base,
        token_lengths=lengths,
        buffer=buffer,
    )


def _core_align(
    records: Sequence[Any], token_base: int, byte_base: int, char_base: int
) -> Alignment | None:
    """:func:`align` of plain records by the compiled core; None for anything else."""
    assert _speedups.core is not None
    read = _speedups.core.read_records(records)  # None: not plain records
    if read is None:
        return None
    buffer, token_ends, logprobs = read
    try:
        text = buffer.decode("utf-8")
    except UnicodeDecodeError:
        return None  # the error message or the replacements: the reference does them
    return Alignment(
        buffer=buffer,
        text=text,
        token_lengths=None,
        token_ends=token_ends,
        logprobs=logprobs,
        token_base=token_base,
        byte_base=byte_base,
        char_base=char_base,
    )


def align_parts(
    parts: list[bytes],
    logprobs: list[float],
    *,
    errors: Errors = "strict",
    sources: tuple[BytesSource, ...] | None = None,
    problems: list[Problem] | None = None,
    token_base: int = 0,
    byte_base: int = 0,
    char_base: int = 0,
    token_lengths: array[int] | None = None,
    buffer: bytes | None = None,
    unknown_edges: frozenset[int] = frozenset(),
    unknown_spans: tuple[tuple[int, int], ...] = (),
) -> Alignment:
    """:func:`align` for bytes already read (the byte-recovery and streaming paths).

    ``token_lengths`` and ``buffer`` may pass ``array("I", map(len, parts))`` and
    ``b"".join(parts)`` when the caller already has them; ``unknown_edges`` and ``unknown_spans`` are what byte recovery could not decide (see
    :class:`Alignment`).
    """
    if errors not in ("strict", "replace"):
        raise InputError(f"errors must be 'strict' or 'replace', got {errors!r}")
    problems = list(problems or ())
    if buffer is None:
        buffer = b"".join(parts)
    if token_lengths is None:
        token_lengths = array("I", list(map(len, parts)))
    invalid: tuple[tuple[int, int], ...] = ()
    try:
        text = buffer.decode("utf-8")
    except UnicodeDecodeError as exc:
        if errors == "strict":
            ends = list(accumulate(token_lengths))
            raise _decode_error(exc, buffer, ends, token_base, byte_base) from None
        text, invalid = _decode_replace(buffer)
        ends = list(accumulate(token_lengths))
        for start, end in invalid:
            problems.append(_invalid_problem(buffer, start, end, ends, token_base, byte_base))
    alignment = Alignment(
        buffer=buffer,
        text=text,
        token_lengths=token_lengths,
        logprobs=logprobs,
        invalid_spans=invalid,
        bytes_sources=sources,
        token_base=token_base,
        byte_base=byte_base,
        char_base=char_base,
        empty_tokens=not all(parts),
        unknown_edges=unknown_edges,
        unknown_spans=unknown_spans,
    )
    if alignment.empty_tokens:
        token_ends = alignment.token_ends
        for j in range(len(token_ends)):
            if token_ends[j] == (token_ends[j - 1] if j else 0):
                problems.append(
                    Problem(
                        "empty_token",
                        f"token {j + token_base}: carries no bytes; its logprob "
                        f"{logprobs[j]!r} belongs to no unit",
                        token=j + token_base,
                        byte_start=token_ends[j] + byte_base,
                        byte_end=token_ends[j] + byte_base,
                    )
                )
    alignment.problems = tuple(problems)
    return alignment


def _decode_replace(buffer: bytes) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Decode like ``buffer.decode("utf-8", "replace")``, also returning each U+FFFD's bytes."""
    view = memoryview(buffer)
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    while True:
        try:
            pieces.append(codecs.utf_8_decode(view[pos:], "strict", True)[0])
            break
        except UnicodeDecodeError as exc:
            pieces.append(codecs.utf_8_decode(view[pos : pos + exc.start], "strict", True)[0])
            pieces.append("\ufffd")
            spans.append((pos + exc.start, pos + exc.end))
            pos += exc.end
    return "".join(pieces), tuple(spans)


def _char_bounds(buffer: bytes, invalid: tuple[tuple[int, int], ...]) -> array[int]:
    """Byte offsets of character starts, plus ``len(buffer)``."""
    if not invalid:
        # A list first, then one copy into a compact array: faster than array(iterator).
        bounds = array("q", list(compress(range(len(buffer)), buffer.translate(_LEAD_MASK))))
    else:
        bounds = array("q")
        pos = 0
        for start, end in invalid:
            bounds.extend(compress(range(pos, start), buffer[pos:start].translate(_LEAD_MASK)))
            bounds.append(start)
            pos = end
        bounds.extend(compress(range(pos, len(buffer)), buffer[pos:].translate(_LEAD_MASK)))
    bounds.append(len(buffer))
    return bounds


def _sequence_length(lead: int) -> int:
    return 2 if 0xC2 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else 4 if lead >= 0xF0 else 1


def _decode_error(
    exc: UnicodeDecodeError,
    buffer: bytes,
    token_ends: Sequence[int],
    token_base: int,
    byte_base: int,
) -> DecodeError:
    start, end = exc.start, exc.end
    token = bisect_right(token_ends, start) + token_base
    bad = buffer[start:end]
    if end == len(buffer) and exc.reason == "unexpected end of data":
        need = _sequence_length(buffer[start])
        return DecodeError(
            f"token {token}: output ends inside a character ({len(bad)} of {need} bytes {bad!r}) "
            f"at byte {start + byte_base}; the answer was probably cut by max_tokens. "
            "Use errors='replace' to keep the text with U+FFFD.",
            token=token,
            byte_offset=start + byte_base,
            bad_bytes=bad,
            truncated=True,
        )
    return DecodeError(
        f"token {token}: invalid UTF-8 {bad!r} at byte {start + byte_base} ({exc.reason}). "
        "Use errors='replace' to get U+FFFD there and a list of problems.",
        token=token,
        byte_offset=start + byte_base,
        bad_bytes=bad,
    )


def _invalid_problem(
    buffer: bytes, start: int, end: int, token_ends: Sequence[int], token_base: int, byte_base: int
) -> Problem:
    token = bisect_right(token_ends, start) + token_base
    bad = buffer[start:end]
    if end == len(buffer) and len(bad) < _sequence_length(bad[0]) and _is_prefix(bad):
        kind: Literal["truncated", "invalid_utf8"] = "truncated"
        message = (
            f"token {token}: output ends inside a character ({len(bad)} of "
            f"{_sequence_length(bad[0])} bytes {bad!r}) at byte {start + byte_base}; "
            "replaced by U+FFFD"
        )
    else:
        kind = "invalid_utf8"
        message = (
            f"token {token}: invalid UTF-8 {bad!r} at byte {start + byte_base}; replaced by U+FFFD"
        )
    return Problem(
        kind,
        message,
        token=token,
        byte_start=start + byte_base,
        byte_end=end + byte_base,
        bytes=bad,
    )


def _is_prefix(data: bytes) -> bool:
    """True when ``data`` is the valid beginning of a longer UTF-8 sequence."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True
