"""Word segmentation: which character ranges of a text are its words.

A *segmenter* cuts a text into segments; the words are the segments holding a non-whitespace
character, without the whitespace at their edges (so no word starts or ends with whitespace, and a
token of pure whitespace between words, or at a word's edge, touches no word; whitespace *inside*
a segment, like the U+202F of ``1\\u202f000``, stays in its word). Three segmenters:

* ``"uax29"`` (the default): the Unicode default word boundaries (UAX #29, through ``regex``
  ``(?w)\\b``). Every ideograph is a word of its own and Thai, Lao, Khmer and Myanmar runs break
  between every character cluster.
* ``"icu"``: ICU's word break iterator (through ``icu4py``, extra ``tokbytes[icu]``), which uses
  dictionaries for Chinese, Japanese, Thai, Lao, Khmer and Myanmar (``机器|学习``, ``สวัสดี|ครับ``)
  and the UAX #29 rules elsewhere. ``WordSegmenter("icu", locale="ja")`` passes a locale.
* a callable ``text -> iterable of (start, end)`` character spans (jieba, MeCab, pythainlp, ...):
  its spans are the segments (checked: in range, not overlapping; empty spans are skipped).

>>> [("机器学习 don't")[a:b] for a, b in word_spans("机器学习 don't")]
['机', '器', '学', '习', "don't"]
>>> word_spans("a \\u0308b")  # space + combining mark is one segment; the space is no word's
[(0, 1), (2, 3), (3, 4)]

Streaming (:func:`final_words`): a ``uax29`` boundary is final once two characters other than
Extend/Format/ZWJ follow it; an ``icu`` boundary also waits until the dictionary run it lies in
or ends (Han, kana, Hangul, Thai, Lao, Khmer, Myanmar) is followed by another character, since a
dictionary splits a run as a whole; a callable's words are final only at the end of the stream,
unless it declares where its text is independent: ``WordSegmenter(fn, final_after=r"\n")`` says
that ``fn`` segments the text after each match on its own (each line, here), so the words
before a match are final once a character after the match has arrived.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, compress, product
from operator import ne
from typing import Any, Literal

import regex

from . import _speedups
from ._uax29_repair import _REGIONAL, repaired
from .errors import InputError

__all__ = [
    "WORD_KINDS",
    "SegmenterName",
    "WordKind",
    "WordSegmenter",
    "Words",
    "segmenter",
    "word_kinds",
    "word_spans",
]

SegmenterName = Literal["uax29", "icu", "custom"]
#: What a word is made of (:func:`word_kinds`).
WordKind = Literal["letters", "numbers", "ideographs", "kana", "emoji", "punctuation"]
WORD_KINDS: tuple[WordKind, ...] = (
    "letters",
    "numbers",
    "ideographs",
    "kana",
    "emoji",
    "punctuation",
)
SpanFunction = Callable[[str], Iterable[Any]]

_WORD_BOUNDARY = regex.compile(r"(?w)\b")
# regex releases before 2026.11.19 (the newest for Python 3.10 is 2026.9.29) get some word breaks
# wrong (a leading apostrophe joins the next word; see _uax29_repair). These probes find such a
# release: its boundaries are then repaired.
UAX29_CONFORMANT: bool = (
    _WORD_BOUNDARY.split("\u0300A") == ["", "\u0300", "A", ""]
    and _WORD_BOUNDARY.split("'o") == ["", "'", "o", ""]
    and _WORD_BOUNDARY.split("a:\u0308b") == ["", "a:\u0308b", ""]
)
# UAX #29 WB4: characters word rules look through. A word boundary is final once two other
# characters follow it (regex's WB6/WB7b/WB12 look at most two characters ahead).
_LAST_OTHER = regex.compile(r"(?r)[^\p{WB=Extend}\p{WB=Format}\p{WB=ZWJ}]")
# Characters ICU's word rules hand to a dictionary as whole runs ($dictionary in ICU's word.txt:
# Han, kana, Hangul syllables, Line_Break=Complex_Context), with what attaches to them.
_DICTIONARY_CHAR = (
    r"\p{Han}\p{Hiragana}\p{Katakana}\u30fc\uff70\uff9e\uff9f\uac00-\ud7a3\p{Lb=SA}"
    r"\p{WB=Extend}\p{WB=Format}\p{WB=ZWJ}\p{WB=Katakana}"
)
_DICTIONARY_RUN_END = regex.compile(rf"(?r)[{_DICTIONARY_CHAR}]+\Z")
_DICTIONARY = regex.compile(rf"[{_DICTIONARY_CHAR}]")
_DICTIONARY_CORE = regex.compile(
    r"[\p{Han}\p{Hiragana}\p{Katakana}\u30fc\uff70\uff9e\uff9f\uac00-\ud7a3\p{Lb=SA}]"
)
# The word break classes the compiled stream decoder's word window handles, in the order of its
# codes (_core.pyx: WB_OTHER = 0, ...; 0x40 added for Extended_Pictographic). A double quote
# acts as Other unless a Hebrew letter is next to it (WB7b/c), and Hebrew letters are handed on.
_WORD_CLASSES = regex.compile(
    r"([\p{WB=Other}\p{WB=Double_Quote}])|(\p{WB=ALetter})|(\p{WB=Numeric})|(\p{WB=MidLetter})"
    r"|(\p{WB=MidNum})|(\p{WB=MidNumLet})|(\p{WB=Single_Quote})|(\p{WB=ExtendNumLet})"
    r"|(\p{WB=WSegSpace})|(\p{WB=Katakana})|(\p{WB=CR})|(\p{WB=LF})|(\p{WB=Newline})"
    r"|(\p{WB=Extend})|(\p{WB=Format})|(\p{WB=ZWJ})|(\p{WB=Regional_Indicator})"
)
_PICTOGRAPHIC = regex.compile(r"\p{Extended_Pictographic}")
_ASTRAL = regex.compile(r"[\U00010000-\U0010ffff]")
_SURROGATE = regex.compile(r"[\ud800-\udfff]")
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}]")
_KANA = regex.compile(r"[\p{Hiragana}\p{Katakana}\u30fc\uff70]")
_HAN = regex.compile(r"\p{Han}")
_LETTER = regex.compile(r"\p{L}")
_NUMBER = regex.compile(r"\p{N}")

_ICU_HINT = 'words="icu" needs icu4py: pip install "tokbytes[icu]"'


@dataclass(frozen=True, slots=True)
class WordSegmenter:
    """A word segmenter: ``"uax29"``, ``"icu"`` (with an ICU ``locale``) or a span function.

    >>> WordSegmenter("uax29").spans("3.14 is pi")
    [(0, 4), (5, 7), (8, 10)]
    >>> WordSegmenter(lambda text: [(0, 2), (2, 4)]).spans("东京大学")
    [(0, 2), (2, 4)]
    """

    #: ``"uax29"``, ``"icu"``, or a callable ``text -> iterable of (start, end)``.
    words: SegmenterName | SpanFunction = "uax29"
    #: The ICU locale (``"ja"``, ``"th"``; ``""`` is ICU's root locale); only for ``"icu"``.
    locale: str = ""
    #: Only for a callable: a regular expression the callable declares its text independent
    #: after (e.g. ``r"\n"``: it segments each line alone). Streamed words before a match are
    #: then final once some text follows the match; without it they come at the end.
    final_after: str = ""

    def __post_init__(self) -> None:
        if callable(self.words):
            if self.locale:
                raise InputError("locale applies only to words='icu', not to a callable")
            if self.final_after:
                try:
                    regex.compile(self.final_after)
                except (regex.error, TypeError) as exc:
                    raise InputError(
                        f"final_after must be a regular expression, got {self.final_after!r:.40}: "
                        f"{exc}",
                        field="final_after",
                    ) from None
            return
        if self.final_after:
            raise InputError("final_after applies only to a callable", field="final_after")
        if self.words not in ("uax29", "icu"):
            raise InputError(
                f"words must be 'uax29', 'icu', a WordSegmenter or a callable text -> (start, end) "
                f"spans, got {self.words!r:.40}",
                field="words",
            )
        if not isinstance(self.locale, str):
            raise InputError(f"locale must be a str, got {self.locale!r:.40}", field="locale")
        if self.words == "icu":
            _icu_breaker()  # fail now, with the install hint, not at the first words
        elif self.locale:
            raise InputError("locale applies only to words='icu'", field="locale")

    @property
    def name(self) -> SegmenterName:
        """``"uax29"``, ``"icu"`` or ``"custom"`` (a callable)."""
        return "custom" if callable(self.words) else self.words

    # -- batch ---------------------------------------------------------------------------------

    def ranges(self, text: str) -> tuple[array[int], array[int]]:
        """``(starts, ends)`` character offsets of the words of ``text``."""
        if callable(self.words):
            starts, ends = _checked_spans(self.words, text)
            return _words_of(text, starts, ends)
        core = _speedups.core
        # ASCII text: the UAX #29 rules in C, no regex (ICU's root rules are the same there)
        if core is not None and not self.locale and _core_ascii_words(self.words):
            if self.words == "uax29":  # and the rest of the text through regex, in windows
                ranges: tuple[array[int], array[int]] = core.uax29_word_ranges(
                    text, _WORD_BOUNDARY.split
                )
                return ranges
            found: tuple[array[int], array[int]] | None = core.ascii_word_ranges(text)
            if found is not None:
                return found
        pieces = self._pieces(text)
        if core is not None:  # the same ranges, in one C loop
            ranges = core.word_ranges(pieces)
            return ranges
        return _words_of_pieces(pieces)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """The words of ``text`` as ``(start, end)`` character spans."""
        starts, ends = self.ranges(text)
        return list(zip(starts, ends))

    def bounds(self, text: str) -> list[int]:
        """Segment boundaries of ``text`` (``0`` first, ``len(text)`` last; not for callables).

        >>> WordSegmenter().bounds("a, b")
        [0, 1, 2, 3, 4]
        """
        if callable(self.words):
            raise InputError("a callable segmenter gives spans, not boundaries")
        return sorted(set(accumulate(map(len, self._pieces(text)), initial=0)))

    def _pieces(self, text: str) -> list[str]:
        """The segments of ``text`` in order (they join to ``text``; some may be empty)."""
        if self.words == "icu":
            return _icu_pieces(text, self.locale)
        pieces: list[str] = _WORD_BOUNDARY.split(text)
        if not UAX29_CONFORMANT:
            bounds = repaired(text, list(accumulate(map(len, pieces), initial=0)))
            pieces = list(map(text.__getitem__, map(slice, bounds, bounds[1:])))
        return pieces

    def _last_cut(self, text: str, after: int) -> int:
        """The last end of a ``final_after`` match in ``text`` past ``after`` that some text
        follows (a match at the very end may still grow), or ``after`` when there is none."""
        cut = after
        if self.final_after:
            for match in regex.finditer(self.final_after, text):
                if match.end() >= len(text):
                    break
                cut = max(cut, match.end())
        return cut

    # -- streaming -----------------------------------------------------------------------------

    def final_words(self, context: str, real: str, final: bool) -> tuple[list[int], list[int], int]:
        """Words of ``real`` that no later text can change: ``(starts, ends, frontier)``.

        Offsets are in ``real``; ``frontier`` is the last final segment boundary (every word
        returned ends at or before it; text before it is done). ``context`` is the text before
        ``real`` that the rules may look back at (see :meth:`context`). With ``final`` the text
        is complete: every word is returned and ``frontier == len(real)``.

        >>> WordSegmenter().final_words("", "don't st", final=False)
        ([0], [5], 6)
        """
        if not real:
            return [], [], 0
        if callable(self.words):
            # The callable sees the text from the start or from the last independent point
            # (``context``); a boundary is final at the end, or at a later independent point.
            full, shift = context + real, len(context)
            cut = len(full) if final else self._last_cut(full, shift)
            if cut <= shift:
                return [], [], 0
            word_starts, word_ends = _words_of(full, *_checked_spans(self.words, full[:cut]))
            kept = [i for i, start in enumerate(word_starts) if start >= shift]
            return (
                [word_starts[i] - shift for i in kept],
                [word_ends[i] - shift for i in kept],
                cut - shift,
            )
        limit = _final_limit(real, final)
        if limit < 0:
            return [], [], 0
        shift = len(context)
        if self.words == "icu":
            scanned = context + real
            if not final:
                run = _DICTIONARY_RUN_END.search(scanned)
                if run is not None:  # a dictionary run still open at the end splits as a whole
                    limit = min(limit, run.start() - shift)
                    if limit < 0:
                        return [], [], 0
            found = accumulate(map(len, _icu_pieces(scanned, self.locale)))
            bounds = [0, *(b - shift for b in found if shift < b <= shift + limit)]
        else:
            bounds = [0]
            # pos= keeps the context visible to the rules that look back; no endpos: WB6/WB12
            # look one character past the position.
            scanned = context + real
            if UAX29_CONFORMANT:
                breaks: Iterable[int] = (
                    m.start() for m in _WORD_BOUNDARY.finditer(scanned, shift + 1)
                )
            else:  # repaired on the whole scan: its rules look back as far as regex's
                whole = [m.start() for m in _WORD_BOUNDARY.finditer(scanned)]
                breaks = (b for b in repaired(scanned, [0, *whole, len(scanned)]) if b > shift)
            for position in breaks:
                position -= shift
                if position > limit:
                    break
                bounds.append(position)
        if final and bounds[-1] != len(real):
            bounds.append(len(real))
        word_starts, word_ends = _words_of(real, bounds[:-1], bounds[1:])
        return word_starts.tolist(), word_ends.tolist(), bounds[-1]

    def context(self, scanned: str, frontier: int) -> str:
        """The text before ``frontier`` that segmenting later text must see.

        ``uax29``: a boundary after the frontier is decided from the two characters before it
        other than Extend/Format/ZWJ (WB4 makes a character and the Extend/Format/ZWJ after it
        one), and, for regional indicators, from the parity of the whole run of them (WB15/WB16).
        So the scan starts at the second-last such character at or before the frontier, or at
        the first regional indicator of the run that ends there. ``icu``: ICU iterates forward
        from a boundary, so the frontier itself, unless it lies inside a dictionary run (the
        run is then segmented again as a whole, from its start). ``scanned`` starts at a valid
        context start, so the result is one too.
        """
        if self.words == "icu":
            start = frontier
            if 0 < frontier < len(scanned) and _DICTIONARY_CORE.match(scanned, frontier):
                while start and _DICTIONARY.match(scanned, start - 1):
                    start -= 1
                while start < frontier and not _DICTIONARY_CORE.match(scanned, start):
                    start += 1  # a run starts at its first dictionary letter, not at a mark
            return scanned[start:frontier]
        if callable(self.words):
            # from the last independent point: nothing when the frontier is one
            return "" if self._last_cut(scanned, frontier - 1) == frontier else scanned[:frontier]
        last = _LAST_OTHER.search(scanned, 0, frontier + 1)
        second = _LAST_OTHER.search(scanned, 0, last.start()) if last else None
        if last is None or second is None:
            return scanned[:frontier]
        start = second.start()
        position = last.start()
        while _REGIONAL.match(scanned, position):  # back to the first indicator of the run
            start = min(start, position)
            previous = _LAST_OTHER.search(scanned, 0, position)
            if previous is None:
                break
            position = previous.start()
        return scanned[start:frontier]


#: What ``words=`` takes: ``"uax29"``, ``"icu"``, a :class:`WordSegmenter`, or a callable.
Words = str | WordSegmenter | SpanFunction

_UAX29 = WordSegmenter("uax29")


def segmenter(words: Words = "uax29", *, locale: str | None = None) -> WordSegmenter:
    """The :class:`WordSegmenter` for a ``words=`` option (checked; ICU must be installed).

    >>> segmenter().name, segmenter(lambda text: []).name
    ('uax29', 'custom')
    """
    if isinstance(words, WordSegmenter):
        if locale is not None:
            return WordSegmenter(words.words, locale)
        return words
    if words == "uax29" and not locale:
        return _UAX29
    if isinstance(words, str) or callable(words):
        return WordSegmenter(words, locale or "")  # type: ignore[arg-type]
    raise InputError(
        f"words must be 'uax29', 'icu', a WordSegmenter or a callable, got {words!r:.40}",
        field="words",
    )


def word_spans(
    text: str, words: Words = "uax29", *, locale: str | None = None
) -> list[tuple[int, int]]:
    """The words of ``text`` as ``(start, end)`` character spans (see the module docstring).

    >>> word_spans("Hello, world!")
    [(0, 5), (5, 6), (7, 12), (12, 13)]
    """
    return segmenter(words, locale=locale).spans(text)


def word_kinds(texts: Iterable[str]) -> list[WordKind]:
    """What each word is made of: ``"ideographs"`` (a Han character), ``"kana"`` (kana, no Han),
    ``"letters"`` (other letters, digits allowed), ``"numbers"`` (digits, no letters),
    ``"emoji"`` (pictographs or flags, no letters or digits), else ``"punctuation"``
    (punctuation, symbols, lone marks).

    These are the classes of ICU's word rule status (letter, number, kana, ideo; ICU's "none"
    split into emoji and punctuation), derived from character properties so that every
    segmenter gets the same ones.

    >>> word_kinds(["don't", "3.14", "学习", "コーヒー", "👍🏽", "!", "x2"])
    ['letters', 'numbers', 'ideographs', 'kana', 'emoji', 'punctuation', 'letters']
    """
    kinds: list[WordKind] = []
    for word in texts:
        if word.isascii():  # the common case, without a regex search
            if word.isalpha() or any(map(str.isalpha, word)):
                kind: WordKind = "letters"
            elif any(map(str.isdigit, word)):
                kind = "numbers"
            else:
                kind = "punctuation"
        elif _HAN.search(word):
            kind = "ideographs"
        elif _KANA.search(word):
            kind = "kana"
        elif _LETTER.search(word):
            kind = "letters"
        elif _NUMBER.search(word):
            kind = "numbers"
        elif _EMOJI.search(word):
            kind = "emoji"
        else:
            kind = "punctuation"
        kinds.append(kind)
    return kinds


# -- helpers -------------------------------------------------------------------------------------


def word_class(char: str) -> int:
    """The compiled word window's code for the UAX #29 word break class of ``char`` (255: a
    class it hands to the Python path), looked up once per code point.

    >>> [word_class(c) for c in "a1 \u0301😊\u05d0"]
    [1, 2, 8, 13, 64, 255]
    """
    code = class_code(_WORD_CLASSES, char)
    return 255 if code is None else code


def class_code(classes: regex.Pattern[str], char: str) -> int | None:
    """The code of ``char``'s class in ``classes`` (one group per class, in the order of the
    core's codes), plus 0x40 for Extended_Pictographic; None where no class matches. The word
    and grapheme class tables of the compiled core are filled from it."""
    found = classes.match(char)
    if found is None or found.lastindex is None:
        return None
    code: int = found.lastindex - 1
    return code + (0x40 if _PICTOGRAPHIC.match(char) else 0)


def _final_limit(real: str, final: bool) -> int:
    """The last position of ``real`` where a UAX #29 boundary is final (-1: none yet)."""
    if final:
        return len(real)
    if len(real) >= 2 and real[-2:].isascii():  # no ASCII character is Extend/Format/ZWJ
        return len(real) - 2  # a boundary here has two other characters after it
    last = _LAST_OTHER.search(real)
    second = _LAST_OTHER.search(real, 0, last.start()) if last else None
    if second is None:
        return -1 if len(real) else 0
    return int(second.start())


def _words_of(
    text: str, starts: Sequence[int], ends: Sequence[int]
) -> tuple[array[int], array[int]]:
    """The segments ``[starts[i], ends[i])`` that hold a non-whitespace character, without the
    whitespace at their edges (``str.strip``: exactly the characters ``str.isspace`` calls
    whitespace)."""
    pieces = list(map(text.__getitem__, map(slice, starts, ends)))
    stripped = list(map(str.strip, pieces))
    keep = list(map(bool, stripped))
    word_starts = array("q", compress(starts, keep))
    word_ends = array("q", compress(ends, keep))
    trimmed = [i for i in compress(range(len(pieces)), map(ne, pieces, stripped)) if keep[i]]
    if trimmed:
        index = list(accumulate(keep, initial=0))  # segment i is word index[i] when kept
        for i in trimmed:
            piece, k = pieces[i], index[i]
            word_starts[k] += len(piece) - len(piece.lstrip())
            word_ends[k] -= len(piece) - len(piece.rstrip())
    return word_starts, word_ends


def _words_of_pieces(pieces: list[str]) -> tuple[array[int], array[int]]:
    """:func:`_words_of` for segments given as their strings (no slicing)."""
    offsets = list(accumulate(map(len, pieces), initial=0))
    stripped = list(map(str.strip, pieces))
    keep = list(map(bool, stripped))
    word_starts = array("q", compress(offsets, keep))
    word_ends = array("q", compress(offsets[1:], keep))
    trimmed = [i for i in compress(range(len(pieces)), map(ne, pieces, stripped)) if keep[i]]
    if trimmed:
        index = list(accumulate(keep, initial=0))  # segment i is word index[i] when kept
        for i in trimmed:
            piece, k = pieces[i], index[i]
            word_starts[k] += len(piece) - len(piece.lstrip())
            word_ends[k] -= len(piece) - len(piece.rstrip())
    return word_starts, word_ends


def _checked_spans(function: SpanFunction, text: str) -> tuple[list[int], list[int]]:
    """The non-empty spans a callable gives, sorted, each checked to be in range and apart."""
    size = len(text)
    spans = []
    for item in function(text):
        try:
            start, end = item
        except (TypeError, ValueError):
            raise InputError(
                f"a words= callable must give (start, end) pairs, got {item!r:.60}", field="words"
            ) from None
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= size):
            raise InputError(
                f"word span ({start!r:.20}, {end!r:.20}) from the words= callable is outside the "
                f"text: need 0 <= start <= end <= {size}",
                field="words",
            )
        if start < end:
            spans.append((start, end))
    spans.sort()
    for (a, b), (c, d) in zip(spans, spans[1:]):
        if c < b:
            raise InputError(
                f"word spans ({a}, {b}) and ({c}, {d}) from the words= callable overlap",
                field="words",
            )
    return [s for s, _ in spans], [e for _, e in spans]


# One character of each Word_Break class ASCII has (and two of Other): every three-character
# text of them, one per line, probes the segmenter's rules for ASCII text.
_ASCII_PROBE = "\n".join(map("".join, product("a0:.',_ \r\n\x0b\"!", repeat=3)))
_core_ascii_agrees: dict[str, bool] = {}


def _core_ascii_words(words: str) -> bool:
    """Whether the core's UAX #29 rules for ASCII text (``core.ascii_word_ranges``) give what
    the segmenter ``words`` (``"uax29"``, or ``"icu"`` with the root locale) gives here: checked
    once per process on :data:`_ASCII_PROBE` (3 ms), as versions differ (``regex``
    2026.9.29 keeps an apostrophe before a letter in its word: ``'a``). Never for a callable.
    """
    agrees = _core_ascii_agrees.get(words)
    core = _speedups.core
    if agrees is None and core is not None and words in ("uax29", "icu"):
        pieces = _icu_pieces(_ASCII_PROBE, "") if words == "icu" else _pieces_uax29(_ASCII_PROBE)
        agrees = _core_ascii_agrees[words] = core.ascii_word_ranges(
            _ASCII_PROBE
        ) == _words_of_pieces(pieces)
    return bool(agrees)


def _pieces_uax29(text: str) -> list[str]:
    pieces: list[str] = _WORD_BOUNDARY.split(text)
    return pieces


def _icu_breaker() -> Any:
    try:
        from icu4py.breakers import WordBreaker
    except ImportError as exc:
        raise ImportError(_ICU_HINT) from exc
    return WordBreaker


def _icu_pieces(text: str, locale: str) -> list[str]:
    """ICU's word segments of ``text``, as strings (so their lengths are code points, not the
    UTF-16 code units ICU's offsets count)."""
    if not text:
        return []
    if not text.isascii() and _SURROGATE.search(text):  # ICU takes UTF-8: lone surrogates out
        text = _SURROGATE.sub("\ufffd", text)  # one character each, as before
    pieces: list[str] = list(_icu_breaker()(text, locale))
    return pieces
