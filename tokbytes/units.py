"""Units over an :class:`~tokbytes.alignment.Alignment`: characters, graphemes, words and spans.

A unit is a character range plus what the alignment says about it: its bytes, the tokens that
carry them and a score. Sequences of units are lazy views (:class:`UnitSequence`): boundaries are
found once with C-level calls (``regex`` for graphemes and words), and the :class:`Unit` records are
made in batches only while you iterate or index.

Scores (``attribution``):

* ``"cover"``: a unit's logprob is the sum of the logprobs of every token carrying at least one of
  its bytes — the joint log-probability of the tokens needed to produce it. A character split over
  three tokens gets the sum of the three; each character inside a multi-character token gets that
  token's full logprob.
* ``"split"``: each token's logprob is shared among the units it touches in proportion to the
  bytes it gives each, so unit logprobs add up to the total. At the word level only bytes inside
  words count (a token of pure whitespace touches no word); tokens with no bytes touch no unit.

Sums follow one rule (:func:`~tokbytes.alignment.left_sum`): left to right in token order from
``0.0`` (a unit of one token scores that token's logprob itself).

The compiled core, when built, scores and makes the units of plain alignments
(:attr:`Alignment.core <tokbytes.alignment.Alignment.core>`) with the same expressions in the
same order; the functions below are the reference and handle everything else.
"""

from __future__ import annotations

import functools
import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate, chain, compress, repeat
from operator import add, ne, not_, or_, sub
from typing import Any, Literal, overload

import regex

from . import _speedups
from .alignment import _LEAD_MASK, Alignment, left_sum
from .errors import InputError, RangeError
from .measures import unit_entropies, unit_margins, word_logprob_bounds
from .records import Unit
from .segmentation import _UAX29, WordKind, WordSegmenter, class_code, word_kinds

__all__ = [
    "Attribution",
    "Level",
    "UnitSequence",
    "grapheme_bounds",
    "span_unit",
    "units",
    "word_ranges",
]

Level = Literal["char", "grapheme", "word"]
Attribution = Literal["cover", "split"]
LEVELS: tuple[Level, ...] = ("char", "grapheme", "word")

_BATCH = 8192
_GRAPHEME = regex.compile(r"\X")
# Characters next to which a grapheme break may be suppressed (see grapheme_bounds). LF is not
# one: it only joins a CR before it (GB3), and a CR's stretch takes in the character after it.
_JOINING = regex.compile(
    r"[\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}\p{GCB=Regional_Indicator}"
    r"\p{GCB=L}\p{GCB=V}\p{GCB=T}\p{GCB=CR}]+"
)
# A run of conjunct linkers and extenders (with a linker) that follows no consonant, before a
# consonant: GB9c does not apply, so the consonant starts a new cluster.
_LINKER = regex.compile(r"\p{InCB=Linker}")
_UNLINKED = regex.compile(
    r"(?<![\p{InCB=Consonant}\p{InCB=Extend}\p{InCB=Linker}])"
    r"[\p{InCB=Extend}\p{InCB=Linker}]*\p{InCB=Linker}[\p{InCB=Extend}\p{InCB=Linker}]*"
    r"(?=\p{InCB=Consonant})"
)


# The grapheme break classes of the compiled stream decoder's cluster window, in the order of its
# codes (_core.pyx: GB_OTHER = 0, ...); InCB=Consonant is handed on (GB9c looks back over a run).
_GRAPHEME_CLASSES = regex.compile(
    r"(\p{GCB=Other})|(\p{GCB=CR})|(\p{GCB=LF})|(\p{GCB=Control})|(\p{GCB=Extend})"
    r"|(\p{GCB=ZWJ})|(\p{GCB=Regional_Indicator})|(\p{GCB=Prepend})|(\p{GCB=SpacingMark})"
    r"|(\p{GCB=L})|(\p{GCB=V})|(\p{GCB=T})|(\p{GCB=LV})|(\p{GCB=LVT})"
)
_CONSONANT = regex.compile(r"\p{InCB=Consonant}")


def grapheme_class(char: str) -> int:
    """The compiled cluster window's code for the grapheme break class of ``char``, plus 0x40
    for Extended_Pictographic (255: handed to the Python path), looked up once per code point.

    >>> [grapheme_class(c) for c in "a\u0301\u200d😊"]
    [0, 4, 5, 64]
    """
    code = None if _CONSONANT.match(char) else class_code(_GRAPHEME_CLASSES, char)
    return 255 if code is None else code


@functools.cache
def joining_flags() -> bytes:
    """One byte per code point, 1 for the characters of ``_JOINING`` (built once, ~0.2 s): the
    compiled stream decoder's test for graphemes of one character."""
    flags = bytearray(0x110000)
    for match in _JOINING.finditer("".join(map(chr, range(0x110000)))):
        flags[match.start() : match.end()] = bytes([1]) * (match.end() - match.start())
    return bytes(flags)


#: Texts from this many characters on get their grapheme windows from the core, which first needs
#: :func:`_joining_low_flags` (0.05 s, once per process).
_CORE_GRAPHEMES_MIN = 20_000


@functools.cache
def _joining_low_flags() -> bytes:
    """:func:`joining_flags` of the code points below U+20000 only (built in ~0.05 s)."""
    flags = bytearray(0x20000)
    for match in _JOINING.finditer("".join(map(chr, range(0x20000)))):
        flags[match.start() : match.end()] = bytes([1]) * (match.end() - match.start())
    return bytes(flags)


# -- boundaries ----------------------------------------------------------------------------------


def grapheme_bounds(text: str) -> Sequence[int]:
    """Character offsets where extended grapheme clusters (``regex`` ``\\X``) start, plus ``len(text)``.

    A break between two characters can only be suppressed (UAX #29 GB3–GB13) when one of them
    is CR, Extend, ZWJ, SpacingMark, Prepend, a regional indicator or a Hangul jamo (CR LF is
    the only join LF takes part in); so ``\\X`` only runs on the stretches around those, and
    everything else is one character per cluster. When no cluster holds two characters the
    result is a ``range``, which units treat as consecutive characters (the fast path).

    >>> list(grapheme_bounds("e\\u0301👍🏽!"))
    [0, 2, 4, 5]
    >>> grapheme_bounds("plain")
    range(0, 6)
    """
    size = len(text)
    if (
        not text
        or (text.isascii() and "\r" not in text)
        or (max(text) < "\u0300" and "\r" not in text)
    ):
        return range(size + 1)
    core = _speedups.core
    if core is not None and size >= _CORE_GRAPHEMES_MIN:  # the same windows, made in C
        if not core.has_joining_low():
            core.set_joining_low(_joining_low_flags())
        found = core.grapheme_bounds(text, _GRAPHEME.findall)
        if found is None:
            return range(size + 1)
        bounds = _gb9c_breaks(text, found)
        return range(size + 1) if len(bounds) == size + 1 else bounds
    bounds = array("q")
    done = 0  # every character before `done` is segmented; a break at `done` is certain

    def segment(start: int, end: int) -> None:
        bounds.extend(range(done, start))
        bounds.extend(accumulate(map(len, _GRAPHEME.findall(text, start, end)), initial=start))
        bounds.pop()  # `end` is pushed again by the next stretch or at the very end

    window: list[int] = []
    for match in _JOINING.finditer(text):
        start, end = max(match.start() - 1, 0), min(match.end() + 1, size)
        if window and start < window[1]:  # no certain break between the two stretches: merge
            window[1] = end
            continue
        if window:
            segment(*window)
            done = window[1]
        window = [start, end]
    if not window:
        return range(size + 1)
    segment(*window)
    bounds.extend(range(window[1], size + 1))
    bounds = _gb9c_breaks(text, bounds)
    if len(bounds) == size + 1:  # e.g. jamo that all stand alone
        return range(size + 1)
    return bounds


def _gb9c_breaks(text: str, bounds: array[int]) -> array[int]:
    """``bounds`` with the breaks ``\\X`` misses: it joins a conjunct linker (a virama) to the
    consonant after it even when no consonant comes before the linker. GB9c joins only
    ``Consonant [Extend Linker]* Linker [Extend Linker]* × Consonant``; no other rule joins a
    consonant to the Extend character before it, so such a position is a break.

    >>> list(grapheme_bounds("?\u094d\u0924"))  # GraphemeBreakTest 17.0 line 782
    [0, 2, 3]
    """
    if not _LINKER.search(text):  # six viramas are linkers: most texts have none
        return bounds
    missed = [m.end() for m in _UNLINKED.finditer(text)]
    if not missed:
        return bounds
    return array("q", sorted(set(bounds).union(missed)))


def word_ranges(text: str, segmenter: WordSegmenter = _UAX29) -> tuple[array[int], array[int]]:
    """``(starts, ends)`` character offsets of the words of ``text``.

    Words are the word segments (by default UAX #29, boundaries from ``regex`` ``(?w)\\b``; see
    :mod:`tokbytes.segmentation`) holding at least one non-whitespace character, without the
    whitespace at their edges: punctuation and emoji are words of their own, whitespace is not.

    >>> starts, ends = word_ranges("don't stop, 3.14")
    >>> [("don't stop, 3.14")[s:e] for s, e in zip(starts, ends)]
    ["don't", 'stop', ',', '3.14']
    """
    return segmenter.ranges(text)


# -- building units ------------------------------------------------------------------------------


def build_units(
    al: Alignment,
    starts: Sequence[int],
    ends: Sequence[int],
    attribution: Attribution = "cover",
    *,
    texts: Sequence[str] | None = None,
    denominators: Sequence[int] | None = None,
) -> list[Unit]:
    """Units for the local character ranges ``[starts[i], ends[i])``: non-empty, in text order.

    ``denominators[j]`` is how many of token ``j``'s bytes lie in units of this level (split
    attribution); None means all of them (levels that tile the text).
    """
    return list(iter_units(al, starts, ends, attribution, texts=texts, denominators=denominators))


def iter_units(
    al: Alignment,
    starts: Sequence[int],
    ends: Sequence[int],
    attribution: Attribution = "cover",
    *,
    texts: Sequence[str] | None = None,
    denominators: Sequence[int] | None = None,
) -> Iterator[Unit]:
    """:func:`build_units` as an iterator: each unit is made when asked for, so units a caller
    drops are freed at once (a batch list would keep them alive for the garbage collector to
    scan). Everything runs as C-level ``map`` calls; only units needing several tokens take a
    Python step.
    """
    if not len(starts):
        return iter(())
    byte_starts, byte_ends, tokens, scores = _columns(
        al, starts, ends, attribution, denominators, with_tokens=True
    )
    assert tokens is not None
    if texts is None:
        texts = list(map(al.text.__getitem__, map(slice, starts, ends)))
    replaced: Iterable[bytes | None] = repeat(None)
    if al.invalid_spans:
        raw = map(al.buffer.__getitem__, map(slice, byte_starts, byte_ends))
        replaced = [b if b != t.encode() else None for b, t in zip(raw, texts)]

    if al.char_base:
        starts = list(map(add, starts, repeat(al.char_base)))
        ends = list(map(add, ends, repeat(al.char_base)))
    if al.byte_base:
        byte_starts = list(map(add, byte_starts, repeat(al.byte_base)))
        byte_ends = list(map(add, byte_ends, repeat(al.byte_base)))
    fields = zip(texts, starts, ends, byte_starts, byte_ends, tokens, scores, replaced)
    return map(tuple.__new__, repeat(Unit), fields)


def unit_logprobs(
    al: Alignment,
    starts: Sequence[int],
    ends: Sequence[int],
    attribution: Attribution = "cover",
    *,
    denominators: Sequence[int] | None = None,
) -> list[float]:
    """The scores :func:`iter_units` gives the same ranges, without making tokens or units."""
    if not len(starts):
        return []
    return _columns(al, starts, ends, attribution, denominators, with_tokens=False)[3]


def _columns(
    al: Alignment,
    starts: Sequence[int],
    ends: Sequence[int],
    attribution: Attribution,
    denominators: Sequence[int] | None,
    *,
    with_tokens: bool,
) -> tuple[list[int], list[int], list[tuple[int, ...]] | None, list[float]]:
    """Local byte offsets, token indices (when ``with_tokens``) and scores of non-empty ranges."""
    bounds = al.char_bounds
    consecutive = isinstance(starts, range) and starts.step == 1
    if isinstance(starts, range) and starts.step == 1:  # consecutive characters: two slices
        byte_starts = _as_list(bounds[starts.start : starts.stop])
        byte_ends = _as_list(bounds[starts.start + 1 : starts.stop + 1])
    else:
        byte_starts = list(map(bounds.__getitem__, starts))
        byte_ends = list(map(bounds.__getitem__, ends))
    columns = None
    if consecutive and attribution == "cover" and not (al.invalid_spans or al.empty_tokens):
        columns = _consecutive_cover(al, byte_starts, byte_ends, with_tokens)
    if columns is None:
        columns = _owner_scores(al, byte_starts, byte_ends, attribution, denominators, with_tokens)
    tokens, scores = columns
    if al.unknown_edges or al.unknown_spans:  # byte recovery could not decide some tokens
        scores = al.unknown_scores(byte_starts, byte_ends, scores)
    return byte_starts, byte_ends, tokens, scores


def _consecutive_cover(
    al: Alignment, byte_starts: list[int], byte_ends: list[int], with_tokens: bool
) -> tuple[list[tuple[int, ...]] | None, list[float]] | None:
    """Tokens and cover scores of consecutive characters: the hot path of iterating ``.chars``
    when tokens hold several characters each (None otherwise: use :func:`_owner_scores`).

    Counts the characters each token completes (lead bytes up to its end) instead of finding an
    owner for every byte: a token's index and logprob are repeated that many times, and only the
    characters split over several tokens (the first one completed by a token that starts inside
    a character) take a Python step.
    """
    b0, b1 = byte_starts[0], byte_ends[-1]
    token_ends = al.token_ends
    t0 = bisect_right(token_ends, b0)
    t1 = bisect_left(token_ends, b1) + 1
    if len(byte_starts) < 2 * (t1 - t0):  # about a character per token: the owner map is faster
        return None
    # Offsets (from b0) where tokens t0+1 .. t1-1 start.
    inner_starts = list(map(sub, token_ends[t0 : t1 - 1], repeat(b0)))
    if isinstance(al.char_bounds, range):  # ASCII: one byte per character, nothing is split
        mask = b""
        ended = list(map(add, inner_starts, repeat(1)))
    else:
        # leads[r] - 1 characters end at or before offset r: 1 + how many lead bytes lie in (0, r].
        mask = al.buffer[b0:b1].translate(_LEAD_MASK)
        ended = list(map(list(accumulate(mask)).__getitem__, inner_starts))
    ended.append(len(byte_starts) + 1)
    counts = list(map(sub, ended, [1, *ended[:-1]]))  # characters each token completes

    base = al.token_base + t0
    logprobs = al.logprobs[t0:t1]
    tokens: list[tuple[int, ...]] | None = None
    if with_tokens:
        singles: list[tuple[int, ...]] = list(zip(range(base, base + t1 - t0)))
        tokens = list(chain.from_iterable(map(repeat, singles, counts)))
    scores = list(chain.from_iterable(map(repeat, logprobs, counts)))
    if mask:
        # Token k starts inside a character (lead bit 0) and completes one (count > 0): the
        # first character it completes began in token k - 1 when that token completes a
        # character too or starts one (the common case), else further back.
        lead_at = [1, *map(mask.__getitem__, inner_starts)]  # token k starts a character
        inside = compress(range(t1 - t0), map(not_, lead_at))
        ks = list(filter(counts.__getitem__, inside))
        prevs = list(map(sub, ks, repeat(1)))
        chars = list(map(sub, map(ended.__getitem__, prevs), repeat(1)))
        once = map(or_, map(counts.__getitem__, prevs), map(lead_at.__getitem__, prevs))
        pairs = zip(map(add, prevs, repeat(base)), map(add, ks, repeat(base)))
        # 0 + a + b like sum(): a + b alone would keep -0.0 where sum() gives 0.0
        sums = map(
            add,
            map(add, repeat(0), map(logprobs.__getitem__, prevs)),
            map(logprobs.__getitem__, ks),
        )
        further = []
        if tokens is not None:
            for char, pair in zip(chars, pairs):
                tokens[char] = pair
        for char, total, split_once in zip(chars, sums, once):
            scores[char] = total
            if not split_once:
                further.append(char)
        for char in further:  # three tokens or more
            first = bisect_right(token_ends, byte_starts[char]) - t0
            stop = bisect_left(token_ends, byte_ends[char]) + 1 - t0
            if tokens is not None:
                tokens[char] = al.token_indices(t0 + first, t0 + stop)
            scores[char] = left_sum(logprobs[first:stop])
    return tokens, scores


def _owner_scores(
    al: Alignment,
    byte_starts: list[int],
    byte_ends: list[int],
    attribution: Attribution,
    denominators: Sequence[int] | None,
    with_tokens: bool,
) -> tuple[list[tuple[int, ...]] | None, list[float]]:
    """Tokens (when ``with_tokens``) and scores of any units (local byte ranges), through an
    owner map of their bytes."""
    n = len(byte_starts)
    if n == 1:  # a span: two bisects find its tokens, no owner map needed
        return _one_unit(al, byte_starts[0], byte_ends[0], attribution, denominators, with_tokens)
    # Owner map of the batch's bytes: owner[b - window_start] is the (window-local) index of the
    # token holding byte b. Built with repeat/chain, read with list indexing: no bisect per unit.
    token_ends = al.token_ends
    t0 = bisect_right(token_ends, byte_starts[0])
    t1 = bisect_left(token_ends, byte_ends[-1]) + 1
    window_start = token_ends[t0 - 1] if t0 else 0
    lengths = list(map(sub, token_ends[t0:t1], [window_start, *token_ends[t0 : t1 - 1]]))
    owner = list(chain.from_iterable(map(repeat, range(t1 - t0), lengths)))
    first = list(map(owner.__getitem__, map(sub, byte_starts, repeat(window_start))))
    last = list(map(owner.__getitem__, map(sub, byte_ends, repeat(window_start + 1))))
    multi = list(compress(range(n), map(ne, first, last)))  # units needing several tokens

    base = al.token_base + t0
    logprobs = al.logprobs[t0:t1]
    if al.empty_tokens:  # a token with no bytes covers nothing: count it as 0.0
        logprobs = [lp if size else 0.0 for lp, size in zip(logprobs, lengths)]
    two: list[int] = []  # units over exactly two tokens (a character split once): C-level
    if multi and not al.empty_tokens:
        once = list(
            map((1).__eq__, map(sub, map(last.__getitem__, multi), map(first.__getitem__, multi)))
        )
        two = list(compress(multi, once))
        multi = list(compress(multi, map(not_, once)))
    tokens: list[tuple[int, ...]] | None = None
    if with_tokens:
        singles: list[tuple[int, ...]] = list(zip(range(base, base + t1 - t0)))  # (j,) per token
        tokens = list(map(singles.__getitem__, first))
        two_first = list(map(first.__getitem__, two))
        pairs = zip(map(add, two_first, repeat(base)), map(add, two_first, repeat(base + 1)))
        for i, pair in zip(two, pairs):
            tokens[i] = pair
        for i in multi:
            tokens[i] = al.token_indices(t0 + first[i], t0 + last[i] + 1)

    if attribution == "cover":
        scores = list(map(logprobs.__getitem__, first))
        if two:  # summed left to right from 0, like the reference sum()
            firsts = list(map(first.__getitem__, two))
            lefts = map(add, repeat(0), map(logprobs.__getitem__, firsts))  # 0 + a + b, as sum()
            sums = map(add, lefts, map(logprobs.__getitem__, map(add, firsts, repeat(1))))
            for i, total in zip(two, sums):
                scores[i] = total
        for i in multi:
            scores[i] = left_sum(logprobs[first[i] : last[i] + 1])
    else:
        scores = _split_scores(
            al,
            byte_starts,
            byte_ends,
            [t0 + f for f in first],
            [t0 + x + 1 for x in last],
            denominators,
        )
    return tokens, scores


def _one_unit(
    al: Alignment,
    byte_start: int,
    byte_end: int,
    attribution: Attribution,
    denominators: Sequence[int] | None,
    with_tokens: bool,
) -> tuple[list[tuple[int, ...]] | None, list[float]]:
    """:func:`_owner_scores` of one unit, with the same expressions."""
    ends, logprobs = al.token_ends, al.logprobs
    first, stop = bisect_right(ends, byte_start), bisect_left(ends, byte_end) + 1
    tokens = [al.token_indices(first, stop)] if with_tokens else None
    if attribution != "cover":
        return tokens, _split_scores(al, [byte_start], [byte_end], [first], [stop], denominators)
    if stop - first == 1:
        return tokens, [logprobs[first]]
    if al.empty_tokens:  # a token with no bytes counts as 0.0, as in the owner path
        starts = [ends[first - 1] if first else 0, *ends[first : stop - 1]]
        return tokens, [
            left_sum(
                lp if end > start else 0.0
                for lp, start, end in zip(logprobs[first:stop], starts, ends[first:stop])
            )
        ]
    return tokens, [left_sum(logprobs[first:stop])]


def _as_list(values: Sequence[int]) -> list[int]:
    return values.tolist() if isinstance(values, array) else list(values)


def _split_scores(
    al: Alignment,
    byte_starts: Sequence[int],
    byte_ends: Sequence[int],
    first: Sequence[int],
    stop: Sequence[int],
    denominators: Sequence[int] | None,
) -> list[float]:
    ends, logprobs = al.token_ends, al.logprobs
    scores = []
    for unit_start, unit_end, a, b in zip(byte_starts, byte_ends, first, stop):
        total = 0.0
        for j in range(a, b):
            token_start, token_end = (ends[j - 1] if j else 0), ends[j]
            share = min(unit_end, token_end) - max(unit_start, token_start)
            whole = denominators[j] if denominators is not None else token_end - token_start
            if share > 0 and whole > 0:
                total += logprobs[j] * share / whole
        scores.append(total)
    return scores


def word_denominators(al: Alignment, starts: Sequence[int], ends: Sequence[int]) -> array[int]:
    """For each token, how many of its bytes lie inside a word (split attribution of words)."""
    bounds, token_ends = al.char_bounds, al.token_ends
    inside = array("q", bytes(8 * len(token_ends)))
    for start, end in zip(starts, ends):
        byte_start, byte_end = bounds[start], bounds[end]
        for j in range(bisect_right(token_ends, byte_start), bisect_left(token_ends, byte_end) + 1):
            token_start = token_ends[j - 1] if j else 0
            inside[j] += min(byte_end, token_ends[j]) - max(byte_start, token_start)
    return inside


def span_unit(al: Alignment, start: int, end: int, attribution: Attribution = "cover") -> Unit:
    """The unit for local characters ``[start, end)`` (checked), scored like any other unit.

    An empty span has no tokens and logprob 0.0.
    """
    size = len(al.text)
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= size):
        raise InputError(
            f"span({start!r}, {end!r}) is outside the text: need 0 <= start <= end <= {size}"
        )
    core = al.core
    if core is not None and start < end:
        return core.unit(start, end, attribution == "split")  # type: ignore[no-any-return]
    if start == end:
        byte = al.char_bounds[start]
        return Unit(
            "",
            start + al.char_base,
            end + al.char_base,
            byte + al.byte_base,
            byte + al.byte_base,
            (),
            0.0,
            None,
        )
    return build_units(al, (start,), (end,), attribution)[0]


# -- lazy sequences ------------------------------------------------------------------------------


class UnitSequence(Sequence[Unit]):
    """A read-only sequence of units, made on demand (in batches while iterating).

    >>> from tokbytes import decode
    >>> doc = decode([{"token": "hi!", "bytes": [104, 105, 33], "logprob": -0.25}])
    >>> [(u.text, u.logprob) for u in doc.words]
    [('hi', -0.25), ('!', -0.25)]

    Columns: :meth:`logprobs`, :meth:`starts`, :meth:`ends` and :meth:`texts` give one field of
    every unit as a list, equal to iterating and reading that field but without making a
    :class:`Unit` per unit: several times faster on long outputs (heat maps, statistics, numpy).

    >>> doc.words.logprobs(), doc.words.starts(), doc.words.ends(), doc.words.texts()
    ([-0.25, -0.25], [0, 2], [2, 3], ['hi', '!'])
    """

    __slots__ = (
        "_al",
        "_attribution",
        "_core",
        "_denominators",
        "_ends",
        "_level",
        "_records",
        "_starts",
    )

    def __init__(
        self,
        al: Alignment,
        level: Level,
        starts: Sequence[int],
        ends: Sequence[int],
        attribution: Attribution,
        *,
        records: Sequence[Any] | None = None,
    ) -> None:
        self._al = al
        self._level = level
        self._records = records  # the token records: their top_logprobs feed the measures
        self._starts = starts
        self._ends = ends
        self._attribution = attribution
        self._denominators: Sequence[int] | None = None
        # The compiled core's arguments: its view of the alignment, the unit ranges (None for
        # consecutive characters) and the denominators of split word scores.
        self._core: tuple[Any, Any, Any, Any] | None = None
        core = al.core if len(starts) else None
        if core is not None:
            ranges = (None, None) if isinstance(starts, range) else (starts, ends)
            if attribution == "split" and level == "word":
                self._denominators = core.word_denominators(starts, ends)
            self._core = (core, *ranges, self._denominators)
        elif attribution == "split" and level == "word":
            self._denominators = word_denominators(al, starts, ends)

    @property
    def level(self) -> Level:
        """``"char"``, ``"grapheme"`` or ``"word"``."""
        return self._level

    def __len__(self) -> int:
        return len(self._starts)

    @overload
    def __getitem__(self, index: int) -> Unit: ...
    @overload
    def __getitem__(self, index: slice) -> list[Unit]: ...
    def __getitem__(self, index: int | slice) -> Unit | list[Unit]:
        fast = self._core
        if isinstance(index, slice):
            positions = range(len(self))[index]
            if fast is not None and positions.step == 1:
                core, starts, ends, whole = fast
                split = self._attribution == "split"
                return list(core.units(starts, ends, positions.start, positions.stop, split, whole))
            return list(self._build(self._starts[index], self._ends[index]))
        size = len(self)
        position = index + size if index < 0 else index
        if not 0 <= position < size:
            raise RangeError(f"{self._level} index {index} out of range (there are {size})")
        if fast is not None:
            core, starts, ends, whole = fast
            split = self._attribution == "split"
            return next(core.units(starts, ends, position, position + 1, split, whole))  # type: ignore[no-any-return]
        unit: Unit = next(
            self._build(
                self._starts[position : position + 1],
                self._ends[position : position + 1],
                lazy=True,
            )
        )
        return unit

    def __iter__(self) -> Iterator[Unit]:
        if self._core is not None:  # units made one at a time, in C
            core, starts, ends, whole = self._core
            split = self._attribution == "split"
            return core.units(starts, ends, 0, len(self), split, whole)  # type: ignore[no-any-return]
        # chain.from_iterable, not a generator: no Python frame resumes per unit.
        starts, ends = self._starts, self._ends
        batches = range(0, len(starts), _BATCH)
        return chain.from_iterable(
            self._build(starts[lo : lo + _BATCH], ends[lo : lo + _BATCH], lazy=True)
            for lo in batches
        )

    def _build(self, starts: Sequence[int], ends: Sequence[int], lazy: bool = False) -> Any:
        """The units of the ranges: an iterator when ``lazy``, else a list."""
        texts = None
        if isinstance(starts, range) and starts.step == 1 and len(starts):  # characters: one C call
            texts = list(self._al.text[starts[0] : starts[-1] + 1])
        units = iter_units(
            self._al, starts, ends, self._attribution, texts=texts, denominators=self._denominators
        )
        return units if lazy else list(units)

    def logprobs(self) -> list[float]:
        """``[u.logprob for u in self]``, without making the units (computed on each call)."""
        if self._core is not None:
            core, starts_, ends_, whole = self._core
            split = self._attribution == "split"
            return core.logprobs_of(starts_, ends_, 0, len(self), split, whole)  # type: ignore[no-any-return]
        starts, ends, out = self._starts, self._ends, []
        for lo in range(0, len(starts), _BATCH):
            out += unit_logprobs(
                self._al,
                starts[lo : lo + _BATCH],
                ends[lo : lo + _BATCH],
                self._attribution,
                denominators=self._denominators,
            )
        return out

    def starts(self) -> list[int]:
        """``[u.start for u in self]``: character offsets in ``Decoded.text``."""
        return self._offsets(self._starts)

    def ends(self) -> list[int]:
        """``[u.end for u in self]``: character offsets just past each unit."""
        return self._offsets(self._ends)

    def texts(self) -> list[str]:
        """``[u.text for u in self]``."""
        text = self._al.text
        if self._level == "char":
            return list(text)
        return list(map(text.__getitem__, map(slice, self._starts, self._ends)))

    def kinds(self) -> list[WordKind]:
        """What each unit is made of: ``"letters"``, ``"numbers"``, ``"ideographs"``,
        ``"kana"``, ``"emoji"`` or ``"punctuation"`` (see :func:`tokbytes.word_kinds`).

        >>> from tokbytes import decode
        >>> decode([{"token": "Hi 3 学!", "logprob": -0.5}]).words.kinds()
        ['letters', 'numbers', 'ideographs', 'punctuation']
        """
        return word_kinds(self.texts())

    def _offsets(self, local: Sequence[int]) -> list[int]:
        base = self._al.char_base
        return list(map(add, local, repeat(base))) if base else list(local)

    # -- uncertainty (tokbytes.measures) --------------------------------------------------------

    def probs(self) -> list[float]:
        """``[u.prob for u in self]``: ``exp`` of :meth:`logprobs` (NaN stays NaN)."""
        return list(map(math.exp, self.logprobs()))

    def entropies(self) -> list[float]:
        """Per unit, the largest entropy (nats) among its tokens' renormalized ``top_logprobs``:
        its least certain token. NaN where a token has no alternatives (see
        :func:`tokbytes.measures.entropy`)."""
        return unit_entropies(self._al, self._token_records(), self._starts, self._ends)

    def margins(self) -> list[float]:
        """Per unit, the smallest ``p1 - p2`` among its tokens' ``top_logprobs``: its closest
        call. NaN where a token has fewer than two alternatives (see
        :func:`tokbytes.measures.margin`)."""
        return unit_margins(self._al, self._token_records(), self._starts, self._ends)

    def word_logprob_bounds(self) -> list[tuple[float, float]]:
        """``(low, high)`` bounds of each word's log-probability with the end-of-word correction
        (Pimentel & Meister, EMNLP 2024); NaN where it does not apply. Only for words: see
        :func:`tokbytes.measures.word_logprob_bounds` and ``docs/uncertainty.md``."""
        if self._level != "word":
            raise InputError(
                f"word_logprob_bounds() applies to words (doc.words), not to {self._level} units"
            )
        return word_logprob_bounds(self._al, self._token_records(), self._starts, self._ends)

    def _token_records(self) -> Sequence[Any]:
        if self._records is None:  # made without records: no alternatives are known
            return [{}] * len(self._al)
        return self._records

    def _repr_html_(self) -> str:
        """The heat map of these units, for Jupyter (see :func:`tokbytes.render.heatmap_html`)."""
        from .render import heatmap_html

        return heatmap_html(self._al.text, self, level=self._level)

    def __repr__(self) -> str:
        return f"<{len(self)} {self._level} units>"


def units(
    al: Alignment,
    level: Level,
    attribution: Attribution = "cover",
    words: WordSegmenter = _UAX29,
    *,
    records: Sequence[Any] | None = None,
) -> UnitSequence:
    """The lazy sequence of units of ``level`` over the alignment (``words``: how words are
    found; ``records``: the token records whose ``top_logprobs`` the uncertainty measures
    read)."""
    if attribution not in ("cover", "split"):
        raise InputError(f"attribution must be 'cover' or 'split', got {attribution!r}")
    if level == "char":
        n = len(al.text)
        return UnitSequence(al, "char", range(n), range(1, n + 1), attribution, records=records)
    if level == "grapheme":
        bounds = grapheme_bounds(al.text)
        return UnitSequence(al, "grapheme", bounds[:-1], bounds[1:], attribution, records=records)
    if level == "word":
        starts, ends = word_ranges(al.text, words)
        return UnitSequence(al, "word", starts, ends, attribution, records=records)
    raise InputError(f"level must be one of {', '.join(map(repr, LEVELS))}, got {level!r}")
