"""Word boundaries that ``regex`` releases before 2026.11.19 get wrong, put right.

Those releases (the newest one for Python 3.10 is 2026.9.29) differ from Unicode's word rules
(UAX #29) in 268 of the 1944 lines of Unicode 17's WordBreakTest.txt, and in everyday text: a
leading apostrophe joins the next word (`` 'hello``). :func:`repaired` adds and removes the
boundaries such a release gets wrong, by the rules it misses; with them it passes every line of
WordBreakTest, and equals regex 2026.11.19 on random texts of every word break class
(``tests/test_segmentation.py``). On a conformant release the repairs change nothing.

>>> repaired("'ok", [0, 3])
[0, 1, 3]
>>> repaired("🇦\u0308\u200d🇦🇦🇦", [0, 5, 6])
[0, 4, 6]
"""

from __future__ import annotations

import regex

__all__ = ["repaired"]

_JOINER = regex.compile(r"[\p{WB=Extend}\p{WB=Format}\p{WB=ZWJ}]")  # WB4: looked through
_MID = regex.compile(r"[\p{WB=MidLetter}\p{WB=MidNumLet}\p{WB=Single_Quote}\p{WB=MidNum}]")
_MID_OR_QUOTE = regex.compile(
    r"[\p{WB=MidLetter}\p{WB=MidNumLet}\p{WB=Single_Quote}\p{WB=MidNum}\p{WB=Double_Quote}]"
)
_HEBREW = regex.compile(r"\p{WB=Hebrew_Letter}")
_MID_LETTER = regex.compile(r"[\p{WB=MidLetter}\p{WB=MidNumLet}\p{WB=Single_Quote}]")
_MID_NUMBER = regex.compile(r"[\p{WB=MidNum}\p{WB=MidNumLet}\p{WB=Single_Quote}]")
_LETTER = regex.compile(r"[\p{WB=ALetter}\p{WB=Hebrew_Letter}]")
_NUMBER = regex.compile(r"\p{WB=Numeric}")
_REGIONAL = regex.compile(r"\p{WB=Regional_Indicator}")
_PICTOGRAPHIC = regex.compile(r"\p{Extended_Pictographic}")
_LINE_BREAKS = "\r\n\x0b\x0c\x85\u2028\u2029"  # CR, LF, Newline: WB3a/WB3b break around them


def repaired(text: str, bounds: list[int]) -> list[int]:
    """``bounds`` (sorted boundaries of ``text`` from ``regex``'s ``(?w)\\b``, 0 and
    ``len(text)`` included) with the boundaries UAX #29 has and an old ``regex`` does not."""
    keep = set(bounds)
    # WB6/WB7, WB11/WB12, WB7b/WB7c: letter (mark) letter, number (mark) number and Hebrew
    # letter " Hebrew letter hold together, through any Extend/Format/ZWJ (old releases break
    # after the mark there)
    for match in _MID_OR_QUOTE.finditer(text):
        p = match.start()
        before, after = _other_before(text, p), _other_from(text, p + 1)
        if before < 0 or after >= len(text):
            continue
        if (
            (
                _MID_LETTER.match(text, p)
                and _LETTER.match(text, before)
                and _LETTER.match(text, after)
            )
            or (
                _MID_NUMBER.match(text, p)
                and _NUMBER.match(text, before)
                and _NUMBER.match(text, after)
            )
            or (text[p] == '"' and _HEBREW.match(text, before) and _HEBREW.match(text, after))
        ):
            keep.difference_update(range(before + 1, after + 1))
    # WB4 does not apply at the start of a text or line: leading Extend/Format/ZWJ are a
    # segment of their own
    for p in (0, *(i + 1 for i, char in enumerate(text) if char in _LINE_BREAKS)):
        if p < len(text) and _JOINER.match(text, p):
            _add_break_after_joiners(text, p, keep)
    # WB15/WB16: regional indicators pair up, whatever Extend/Format/ZWJ follow each
    count, last = 0, -2
    for match in _REGIONAL.finditer(text):
        i = match.start()
        count = count + 1 if count and _other_before(text, i) == last else 1
        last = i
        end = _other_from(text, i + 1)
        if count % 2 == 0 or not _REGIONAL.match(text, end):
            _add_break_after_joiners(text, i + 1, keep)
        else:  # the first of a pair: nothing breaks before the second (old releases may)
            keep.difference_update(range(i + 1, end + 1))
    # a boundary before a mid-word mark is one after it too: with a letter or number before
    # it, WB6/WB7/WB11/WB12 would have joined them (old releases join a leading apostrophe)
    order = sorted(keep)
    k = 0
    while k < len(order):
        p = order[k]
        k += 1
        if p < len(text) and _MID.match(text, p) and _add_break_after_joiners(text, p + 1, keep):
            order = sorted(keep)
            k = order.index(p) + 1
    return sorted(keep)


def _other_before(text: str, p: int) -> int:
    """The last character before ``p`` that is not Extend/Format/ZWJ (-1 if none)."""
    p -= 1
    while p >= 0 and _JOINER.match(text, p):
        p -= 1
    return p


def _other_from(text: str, p: int) -> int:
    """The first character at or after ``p`` that is not Extend/Format/ZWJ (``len(text)``
    if none)."""
    while p < len(text) and _JOINER.match(text, p):
        p += 1
    return p


def _add_break_after_joiners(text: str, p: int, keep: set[int]) -> bool:
    """Add the boundary after the Extend/Format/ZWJ run from ``p`` (not at the end of the text,
    nor inside ZWJ × Extended_Pictographic, WB3c); True if it is new."""
    q = _other_from(text, p)
    if (
        q >= len(text)
        or q in keep
        or (q and text[q - 1] == "\u200d" and _PICTOGRAPHIC.match(text, q))
    ):
        return False
    keep.add(q)
    return True
