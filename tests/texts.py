"""Hypothesis building blocks for the core tests: multilingual text cut into byte tokens."""

from __future__ import annotations

from hypothesis import strategies as st

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


@st.composite
def payloads(draw: st.DrawFn, *, allow_empty: bool = False) -> tuple[str, list[bytes], list[float]]:
    text = draw(texts)
    parts = draw(splits(text.encode("utf-8", "surrogatepass"), allow_empty=allow_empty))
    lps = draw(st.lists(logprobs, min_size=len(parts), max_size=len(parts)))
    return text, parts, lps
