"""Verified bytes → finished units: the second of :class:`~tokbytes.StreamDecoder`'s two parts.

:class:`UnitWindow` holds the tokens from the one holding the first byte not yet in an emitted
unit (the *frontier*) to the last one fed. Each time tokens come it aligns that window with the
batch code (:func:`~tokbytes.alignment.align_parts` with ``token_base``/``byte_base``/
``char_base``) and builds the units nothing later can change with
:func:`~tokbytes.units.build_units` (for a few units, the same expressions one unit at a time),
so scores are computed as ``decode`` computes them. Bytes of the window's first token that lie
before the frontier, and the bytes of a character still incomplete at the end, are stood in for
by NUL placeholders: token lengths (which split attribution divides by) stay exact and the text
decodes as the same bytes do inside the whole output.

Boundaries come from the batch segmenters over the pending text only: characters end with their
last byte; a grapheme boundary is final once the character after it has arrived
(``grapheme_bounds`` from a certain boundary gives the batch result, since every ``\\X`` rule
that looks back stops at a boundary); a word boundary is final once two characters other than
Extend/Format/ZWJ follow it (``regex`` ``(?w)\\b`` looks at most two characters ahead), and with
``words="icu"`` once the dictionary run it lies in has ended. Word scans start a little before
the frontier (:meth:`~tokbytes.WordSegmenter.context`) because ``regex`` looks back past Extend
characters, two characters behind and over regional-indicator runs. With split attribution a
word also waits until every token it touches is fully segmented (its score divides by each
token's in-word bytes).

This is the rule. :class:`~tokbytes.direct_window.DirectWindow` gives the same units faster in
the common windows, and the compiled core's feeders faster still.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from itertools import compress, repeat
from operator import add, ne, sub

from .alignment import Alignment, Errors, align_parts, left_sum
from .records import Problem, Unit
from .segmentation import WordSegmenter
from .units import Attribution, Level, build_units, grapheme_bounds, word_denominators
from .units import _split_scores as _split_scores  # split scores: the batch code itself

__all__ = ["UnitWindow"]

# Allowed second bytes of a UTF-8 sequence by lead byte (Unicode Table 3-7); others 80-BF.
_SECOND_BYTE = {0xE0: (0xA0, 0xBF), 0xED: (0x80, 0x9F), 0xF0: (0x90, 0xBF), 0xF4: (0x80, 0x8F)}
# Up to this many units per feed are built one by one (build_units has a fixed cost of ~12 us,
# worth paying for the large batches a chunk of many tokens brings).
_FEW = 16


class UnitWindow:
    """The pending tokens of a stream and the units they finish, at one level.

    :meth:`take` and :meth:`extend` add verified tokens; :meth:`advance` returns the units
    that are final, in text order, and moves the frontier past them. The emitted text is kept
    (:attr:`text`), with the problems of the bytes in it (``invalid``: invalid or truncated
    UTF-8; ``empty``: tokens without bytes).
    """

    __slots__ = (
        "attribution",
        "byte_base",
        "carried",
        "char_base",
        "context",
        "done",
        "empty",
        "errors",
        "invalid",
        "level",
        "logprobs",
        "parts",
        "recent",
        "reported_bytes",
        "reported_tokens",
        "segmenter",
        "texts",
        "token_base",
    )

    def __init__(
        self, level: Level, attribution: Attribution, errors: Errors, segmenter: WordSegmenter
    ) -> None:
        self.level: Level = level
        self.attribution: Attribution = attribution
        self.errors: Errors = errors
        self.segmenter = segmenter
        # bytes and logprobs of the tokens from the frontier token on
        self.parts: list[bytes] = []
        self.logprobs: list[float] = []
        self.token_base = 0  # global index of parts[0]
        self.byte_base = 0  # global byte offset of parts[0]
        self.done = 0  # bytes of parts[0] before the frontier (already in emitted units)
        self.char_base = 0  # global character index of the frontier
        self.context = ""  # text before the frontier that word rules may look back at
        self.carried = 0  # split words: in-word bytes of parts[0] before the frontier
        self.texts: list[str] = []  # emitted text, in pieces (joined on demand) ...
        self.recent: list[str] = []  # ... and the latest small pieces
        self.invalid: list[Problem] = []  # invalid or truncated UTF-8, ...
        self.empty: list[Problem] = []  # ... tokens without bytes
        self.reported_bytes = 0  # invalid-UTF-8 problems are recorded up to this byte
        self.reported_tokens = 0  # empty-token problems are recorded up to this token

    # -- tokens in, units out --------------------------------------------------------------------

    def take(self, data: bytes, logprob: float) -> list[Unit]:
        """One more token: the units it finishes."""
        self.parts.append(data)
        self.logprobs.append(logprob)
        return self.advance(final=False)

    def extend(self, parts: list[bytes], logprobs: list[float]) -> None:
        """More tokens, without advancing (:meth:`advance` follows, or the stream waits)."""
        self.parts.extend(parts)
        self.logprobs.extend(logprobs)

    def advance(self, *, final: bool) -> list[Unit]:
        """The units that are final (``final``: every unit left), moving the frontier past them.

        Raises :class:`~tokbytes.DecodeError` (``errors="strict"``) where the bytes cannot be
        UTF-8, as ``decode`` does.
        """
        parts, done = self.parts, self.done
        if not parts:
            return []
        held = 0 if final else _held_back(parts, done)
        window = parts
        if done:
            window = [b"\0" * done + parts[0][done:], *parts[1:]]
        if held:
            window = _blank_tail(window, held)
        al = align_parts(
            window,
            self.logprobs,
            errors=self.errors,
            token_base=self.token_base,
            byte_base=self.byte_base,
            char_base=self.char_base - done,
        )
        return self._emit(al, held, final)

    def _emit(self, al: Alignment, held: int, final: bool) -> list[Unit]:
        """The units of the window's alignment that are final, moving the frontier past them."""
        done = self.done
        self._record_problems(al)
        text = al.text
        real = text[done : len(text) - held]  # the characters after the frontier
        level = self.level
        if level == "char":
            size = len(real)
            units = _units(
                al, range(done, done + size), range(done + 1, done + size + 1), self.attribution
            )
            return self._move(al, size, real, units)
        if level == "grapheme":
            bounds = grapheme_bounds(real)
            if not final:  # the last cluster may still grow
                bounds = bounds[:-1]
            if len(bounds) < 2:
                return self._move(al, 0, real, [])
            local = array("q", [b + done for b in bounds])
            units = _units(al, local[:-1], local[1:], self.attribution)
            return self._move(al, bounds[-1], real, units)
        return self._words(al, real, final)

    def _words(self, al: Alignment, real: str, final: bool) -> list[Unit]:
        done, context = self.done, self.context
        starts, ends, frontier = self.segmenter.final_words(context, real, final)
        starts = [a + done for a in starts]
        ends = [b + done for b in ends]
        denominators = None
        if self.attribution == "split" and starts:
            denominators = word_denominators(al, starts, ends)
            denominators[0] += self.carried
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
        units = _units(al, starts, ends, self.attribution, denominators)
        if frontier:
            self.context = self.segmenter.context(
                context + real[: frontier + 1], len(context) + frontier
            )
            if self.attribution == "split":
                self._carry(al, frontier + done, starts, ends)
        return self._move(al, frontier, real, units)

    def _carry(self, al: Alignment, frontier: int, starts: list[int], ends: list[int]) -> None:
        """In-word bytes, before the new frontier, of the token that will hold it (split words)."""
        char_bounds, token_ends = al.char_bounds, al.token_ends
        byte = char_bounds[frontier]
        first = bisect_right(token_ends, byte)
        carried = self.carried if first == 0 else 0
        if first < len(token_ends):
            token_start = al.token_start(first)
            for start, end in zip(reversed(starts), reversed(ends)):
                if char_bounds[end] <= token_start:
                    break
                carried += min(char_bounds[end], byte) - max(char_bounds[start], token_start)
        self.carried = carried

    def _move(self, al: Alignment, size: int, real: str, units: list[Unit]) -> list[Unit]:
        """Move the frontier ``size`` characters on and drop the tokens left behind."""
        if not size:
            return units
        self.keep_text(real[:size])
        byte = al.char_bounds[self.done + size]  # local byte offset of the new frontier
        first = bisect_right(al.token_ends, byte)  # the token holding the frontier byte
        start = al.token_start(first) if first < len(al) else byte
        if first:
            del self.parts[:first], self.logprobs[:first]
            self.token_base += first
            self.byte_base += start
        self.done = byte - start
        self.char_base += size
        return units

    def _record_problems(self, al: Alignment) -> None:
        """Keep each problem once: windows overlap, so the same bytes are aligned again."""
        for problem in al.problems:
            if problem.kind == "empty_token":
                if problem.token is not None and problem.token >= self.reported_tokens:
                    self.empty.append(problem)
            elif problem.byte_start is not None and problem.byte_start >= self.reported_bytes:
                self.invalid.append(problem)
                self.reported_bytes = problem.byte_end or 0
        self.reported_tokens = al.token_base + len(al)

    # -- the emitted text ------------------------------------------------------------------------

    def keep_text(self, piece: str) -> None:
        """Add emitted text."""
        recent = self.recent
        recent.append(piece)
        if len(recent) == 1024:  # one string per 1024 pieces: few objects, each byte copied once
            self.texts.append("".join(recent))
            recent.clear()

    @property
    def text(self) -> str:
        """The emitted text."""
        if self.recent:
            self.texts.append("".join(self.recent))
            self.recent.clear()
        if len(self.texts) > 1:
            self.texts[:] = ["".join(self.texts)]
        return self.texts[0] if self.texts else ""

    @property
    def pending(self) -> bytes:
        """The bytes not yet in an emitted unit."""
        return b"".join(self.parts)[self.done :]

    def clear(self) -> None:
        """Drop the pending tokens (the stream was read as a whole)."""
        self.parts.clear()
        self.logprobs.clear()


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
