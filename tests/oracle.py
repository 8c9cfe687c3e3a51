"""Slow, obviously-correct reference implementations the property tests compare tokbytes with.

Everything here works one character and one token at a time, straight from the definitions in
the README; nothing is shared with the package's vectorised code.
"""

from __future__ import annotations

import regex

from tokbytes._uax29_repair import repaired
from tokbytes.segmentation import UAX29_CONFORMANT


def token_spans(parts: list[bytes]) -> list[tuple[int, int]]:
    """Byte range of each token in the joined output."""
    spans, pos = [], 0
    for part in parts:
        spans.append((pos, pos + len(part)))
        pos += len(part)
    return spans


def char_byte_ranges(
    text: str, errors_spans: list[tuple[int, int]] | None = None
) -> list[tuple[int, int]]:
    """Byte range of each character of a valid UTF-8 text."""
    ranges, pos = [], 0
    for ch in text:
        size = len(ch.encode("utf-8", "surrogatepass"))
        ranges.append((pos, pos + size))
        pos += size
    return ranges


def touching(spans: list[tuple[int, int]], start: int, end: int) -> list[int]:
    """Indices of tokens carrying at least one byte of [start, end)."""
    if end <= start:
        return []
    return [j for j, (s, e) in enumerate(spans) if e > s and s < end and e > start]


def cover(logprobs: list[float], tokens: list[int]) -> float:
    """Cover score: plain left-to-right sum of the touching tokens' logprobs, from 0.0 (not
    ``sum()``, which compensates rounding from Python 3.12 on)."""
    total = 0.0
    for j in tokens:
        total += logprobs[j]
    return total


def split(
    logprobs: list[float],
    spans: list[tuple[int, int]],
    start: int,
    end: int,
    inside: list[int] | None = None,
) -> float:
    """Split score: each token's logprob times the fraction of its (in-unit) bytes in [start, end)."""
    total = 0.0
    for j, (s, e) in enumerate(spans):
        share = min(end, e) - max(start, s)
        whole = inside[j] if inside is not None else e - s
        if share > 0 and whole > 0:
            total += logprobs[j] * share / whole
    return total


def graphemes(text: str) -> list[tuple[int, int]]:
    """``regex`` ``\\X`` clusters, with GB9c applied character by character: a consonant after
    a run of conjunct linkers/extenders (holding a linker) joins only when a consonant comes
    before the run (``\\X`` joins it in any case)."""
    breaks = {0, len(text)}
    pos = 0
    for g in regex.findall(r"\X", text):
        pos += len(g)
        breaks.add(pos)

    def incb(c: str, value: str) -> bool:
        return bool(regex.match(rf"\p{{InCB={value}}}", c))

    for i, c in enumerate(text):
        if i == 0 or not incb(c, "Consonant"):
            continue
        j, linked = i - 1, False
        while j >= 0 and (incb(text[j], "Extend") or incb(text[j], "Linker")):
            linked = linked or incb(text[j], "Linker")
            j -= 1
        if linked and j < i - 1 and (j < 0 or not incb(text[j], "Consonant")):
            breaks.add(i)
    bounds = sorted(breaks)
    return list(zip(bounds, bounds[1:]))


def word_boundaries(text: str) -> list[int]:
    """UAX #29 word boundaries (regex (?w)\\b), 0 and ``len(text)`` included. A regex release
    before 2026.11.19 (Python 3.10) gets some boundaries wrong: its are repaired
    (``tokbytes._uax29_repair``, checked on its own against every line of Unicode's
    WordBreakTest in test_segmentation)."""
    bounds = sorted({0, len(text), *(m.start() for m in regex.finditer(r"(?w)\b", text))})
    return bounds if UAX29_CONFORMANT else repaired(text, bounds)


def words(text: str) -> list[tuple[int, int]]:
    """UAX #29 segments that hold a non-whitespace character, without the whitespace at their
    edges."""
    bounds = word_boundaries(text)
    out = []
    for a, b in zip(bounds, bounds[1:]):
        piece = text[a:b]
        if not piece.isspace() and piece:
            out.append((a + len(piece) - len(piece.lstrip()), b - len(piece) + len(piece.rstrip())))
    return out
