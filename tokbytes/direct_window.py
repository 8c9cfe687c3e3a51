"""The unit window's common cases without an alignment: the rule's units, faster, in Python.

:class:`DirectWindow` is a :class:`~tokbytes.unit_window.UnitWindow` that first tries a
shortcut for the common windows: characters and graphemes, and cover-scored words, whenever no
window token is empty and the window's bytes are UTF-8 up to an incomplete last character
(split characters included); cover-scored characters one token at a time take an even shorter
one. Each builds units with the expressions ``build_units`` uses (the tokens carrying a unit's
bytes; cover: their logprob or left-to-right sum; split: each token's logprob times its share of
bytes); anything else (invalid bytes, empty tokens) goes to the rule. The compiled core's
feeders do what these shortcuts do, in C; tests check all three against ``decode``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate, chain, repeat

from .alignment import left_sum
from .records import Unit
from .unit_window import UnitWindow
from .units import _JOINING as _JOINING  # characters a grapheme break may depend on
from .units import grapheme_bounds

__all__ = ["DirectWindow"]


class DirectWindow(UnitWindow):
    """:class:`~tokbytes.unit_window.UnitWindow` with shortcuts for the common windows."""

    __slots__ = ()

    def take(self, data: bytes, logprob: float) -> list[Unit]:
        if self.level == "char" and self.attribution == "cover":
            units = self._next_chars(data, logprob)
            if units is not None:
                return units
        self.parts.append(data)  # (UnitWindow.take, without a super() call per token)
        self.logprobs.append(logprob)
        return self.advance(final=False)

    def advance(self, *, final: bool) -> list[Unit]:
        if self.parts:
            if self.level != "word":
                units = self._direct(final=final)
            elif self.attribution == "cover":
                units = self._direct_words(final=final)
            else:
                units = None
            if units is not None:
                return units
        return super().advance(final=final)

    def _next_chars(self, data: bytes, logprob: float) -> list[Unit] | None:
        """Cover-scored characters of one more token (the common stream).

        At the character level the window only ever holds the tokens of one incomplete last
        character (bytes from ``done`` on). When those bytes and ``data`` are valid UTF-8 up to
        a possibly incomplete new last character, the units are: the character completing the
        pending bytes, over every window token and this one (the left-to-right sum of their
        logprobs, as ``build_units`` takes it), then characters of this token alone. Returns
        None, changing nothing, in every other case (invalid bytes, empty tokens in the window).
        """
        parts = self.parts
        head = b"".join(parts)[self.done :] if parts else b""
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
                self.logprobs.append(logprob)
                return []
            text, tail = joined[: exc.start].decode("utf-8"), len(joined) - exc.start
        j = self.token_base + len(parts)  # this token's global index
        byte, char, n = self.byte_base + self.done, self.char_base, len(text)
        if n == 1:  # one character: no iterators to set up
            fields1 = (text, char, char + 1, byte, byte + len(joined) - tail)
            if head:
                whole = (
                    *fields1,
                    (*range(self.token_base, j + 1),),
                    left_sum([*self.logprobs, logprob]),
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
        self.keep_text(text)
        self.char_base = char + n
        self.reported_tokens = j + 1
        data_start = self.byte_base + sum(map(len, parts)) if parts else self.byte_base
        if tail:  # this token holds the start of an incomplete character: it opens the window
            parts[:] = [data]
            self.logprobs[:] = [logprob]
            self.token_base = j
            self.byte_base = data_start
            self.done = len(data) - tail
        else:
            if parts:
                parts.clear()
                self.logprobs.clear()
            self.token_base = j + 1
            self.byte_base = data_start + len(data)
            self.done = 0
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
            tokens = chain(((*range(self.token_base, j + 1),),), repeat((j,), n - 1))
            scores = chain((left_sum([*self.logprobs, logprob]),), repeat(logprob, n - 1))
        return _consecutive_units(text, char, byte_starts, byte_ends, tokens, scores)

    def _direct_words(self, *, final: bool) -> list[Unit] | None:
        """Cover-scored words without building an alignment.

        Applies when no window token is empty and the pending bytes are UTF-8 up to a possibly
        incomplete last character (which, with the word it may belong to, waits). Boundaries
        come from the same scan as the rule; each word's unit is what ``build_units`` makes:
        the tokens carrying its bytes and their logprob (one token) or left-to-right sum
        (several). Returns None, changing nothing, in every other case.
        """
        parts, done, context, logprobs = self.parts, self.done, self.context, self.logprobs
        real = _complete_text(parts, done, final)
        if real is None:
            return None
        starts, ends, frontier = self.segmenter.final_words(context, real, final)
        offsets = _byte_offsets(real, done)
        token_ends = list(accumulate(map(len, parts)))
        j, byte, char = self.token_base, self.byte_base, self.char_base
        units = []
        for a, b in zip(starts, ends):
            start, end = offsets[a], offsets[b]
            fields = (real[a:b], char + a, char + b, byte + start, byte + end)
            units.append(_covered(fields, token_ends, logprobs, j, start, end))
        self.reported_tokens = j + len(parts)
        if not frontier:
            return units
        self.context = self.segmenter.context(
            context + real[: frontier + 1], len(context) + frontier
        )
        self.keep_text(real[:frontier])
        self._drop_before(token_ends, offsets[frontier], frontier)
        return units

    def _direct(self, *, final: bool) -> list[Unit] | None:
        """Characters or graphemes without building an alignment.

        Applies when no window token is empty and the pending bytes are UTF-8 up to a possibly
        incomplete last character: the common window, characters split over tokens included.
        Boundaries come from ``grapheme_bounds`` over the pending text, as in the rule (the
        last cluster waits, as it may still grow, unless ``final``); each unit is what
        ``build_units`` makes (see :func:`_covered` and :func:`_shared`). Returns None,
        changing nothing, in every other case (invalid bytes, empty tokens).
        """
        parts, done = self.parts, self.done
        text = _complete_text(parts, done, final)
        if text is None:
            return None
        # A grapheme holds several characters only next to a CR, Extend, ZWJ, SpacingMark,
        # Prepend, regional indicator or Hangul jamo (see grapheme_bounds): check that first.
        singles = self.level == "char" or (
            (text.isascii() or not _JOINING.search(text)) and "\r" not in text
        )
        hold = self.level == "grapheme" and not final  # the last cluster may still grow
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
        j, byte, char, logprobs = self.token_base, self.byte_base, self.char_base, self.logprobs
        unit = _covered if self.attribution == "cover" else _shared
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
        self.keep_text(ready)
        self.reported_tokens = j + len(parts)
        self._drop_before(token_ends, offsets[frontier], frontier)
        return units

    def _drop_before(self, token_ends: list[int], frontier: int, chars: int) -> None:
        """Move the frontier to window byte ``frontier``, ``chars`` characters on, dropping the
        tokens wholly before it (``token_ends``: the window tokens' local end offsets)."""
        first = bisect_right(token_ends, frontier)  # the token holding the new frontier
        token_start = token_ends[first - 1] if first else 0
        del self.parts[:first], self.logprobs[:first]
        self.token_base += first
        self.byte_base += token_start
        self.done = frontier - token_start
        self.char_base += chars


# -- helpers -----------------------------------------------------------------------------------


def _complete_text(parts: list[bytes], done: int, final: bool) -> str | None:
    """The window's text from byte ``done`` on, without an incomplete last character.

    None when a token is empty or the bytes are not UTF-8 (an incomplete last character too,
    when ``final``): the rule then decides, as ``decode`` does.
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
    left-to-right sum (several)."""
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
