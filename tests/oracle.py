"""Slow, obviously-correct reference implementations the property tests compare tokbytes with.

Everything here works one character and one token at a time, straight from the definitions in
the README; nothing is shared with the package's vectorised code.
"""

from __future__ import annotations

import regex


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
    out, pos = [], 0
    for g in regex.findall(r"\X", text):
        out.append((pos, pos + len(g)))
        pos += len(g)
    return out


def words(text: str) -> list[tuple[int, int]]:
    """UAX #29 segments (regex (?w)\\b) that hold a non-whitespace character."""
    bounds = sorted({0, len(text), *(m.start() for m in regex.finditer(r"(?w)\b", text))})
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if not text[a:b].isspace()]
