"""Hypothesis building blocks for the core tests: multilingual text cut into byte tokens."""

from __future__ import annotations

from hypothesis import strategies as st

from tokbytes.strategies import payloads as tb_payloads

ATOMS = [
    "a",
    "Z",
    " ",
    "  ",
    "\t",
    "\r\n",
    "\n",
    ".",
    ",",
    "'",
    "don't",
    "3.14",
    "x1",
    "-",
    "?",
    "한",
    "국",
    "서울",
    "\u1100\u1161\u11a8",  # Hangul syllables and conjoining jamo
    "中",
    "文",
    "\U00020000",
    "\U0002a6d6",  # CJK, 4-byte Ext-B
    "か",
    "ナ",
    "ー",
    "ไทย",
    "ก\u0e33",
    "हिन्दी",
    "क्ष",
    "مرحبا",
    "ال",
    "Привет",
    "e\u0301",
    "o\u0308\u0323",
    "\u200b",
    "\u200d",
    "\u200c",
    "\u00a0",
    "\ufeff",
    "👍",
    "👍🏽",
    "👩\u200d👩\u200d👧",
    "🏳\ufe0f\u200d🌈",
    "🇰🇷",
    "🇺🇸🇫🇷",
    "1\ufe0f\u20e3",
    "💙",
]

texts = st.lists(st.one_of(st.sampled_from(ATOMS), st.characters(codec="utf-8")), max_size=24).map(
    "".join
)


@st.composite
def splits(draw: st.DrawFn, data: bytes, *, allow_empty: bool = False) -> list[bytes]:
    """``data`` cut into tokens at arbitrary byte positions (inside characters too)."""
    if not data:
        return []
    cuts = draw(st.lists(st.integers(1, max(1, len(data) - 1)), max_size=len(data), unique=True))
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(data)), len(data)]
    parts = [data[a:b] for a, b in zip(bounds, bounds[1:])]
    if allow_empty:
        for _ in range(draw(st.integers(0, 2))):
            parts.insert(draw(st.integers(0, len(parts))), b"")
    return parts


logprobs = st.one_of(
    st.floats(min_value=-30.0, max_value=0.0, allow_nan=False),
    st.sampled_from([0.0, -1e-6, -9999.0, -0.5]),
)


def records(parts: list[bytes], lps: list[float]) -> list[dict[str, object]]:
    return [
        {
            "token": p.decode("utf-8", "backslashreplace"),
            "bytes": list(p),
            "logprob": lp,
            "top_logprobs": [],
        }
        for p, lp in zip(parts, lps)
    ]


def payloads(
    *, allow_empty: bool = False
) -> st.SearchStrategy[tuple[str, list[bytes], list[float]]]:
    """(text, token bytes, logprobs) drawn from the public ``tokbytes.strategies.payloads()``.

    The project's own property tests use the strategies users import; ``allow_empty`` adds a few
    tokens with no bytes (vLLM-style fragments).
    """
    drawn = tb_payloads(top_logprobs=0).map(
        lambda p: (p.text, [bytes(t["bytes"]) for t in p.tokens], [t["logprob"] for t in p.tokens])
    )
    if not allow_empty:
        return drawn
    return drawn.flatmap(_with_empty_tokens)


def _with_empty_tokens(
    case: tuple[str, list[bytes], list[float]],
) -> st.SearchStrategy[tuple[str, list[bytes], list[float]]]:
    text, parts, lps = case

    @st.composite
    def insert(draw: st.DrawFn) -> tuple[str, list[bytes], list[float]]:
        new_parts, new_lps = list(parts), list(lps)
        for _ in range(draw(st.integers(0, 2))):
            at = draw(st.integers(0, len(new_parts)))
            new_parts.insert(at, b"")
            new_lps.insert(at, draw(logprobs))
        return text, new_parts, new_lps

    return insert()
