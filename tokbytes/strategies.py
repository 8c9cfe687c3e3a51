r"""Hypothesis strategies for testing code that consumes LLM token logprobs.

Token-level output breaks text-level code in ways plain ``st.text()`` rarely finds: a Hangul
syllable or an emoji split across two tokens, a token that is only a continuation byte, a flag
made of two regional indicators in different chunks of a stream. These strategies generate
exactly that, in the shapes providers send it::

    texts()                  multilingual text built from pieces that break code
    token_splits(text)       the text's UTF-8 bytes cut into tokens at arbitrary byte positions
    payloads()               a text, its tokens and logprobs, as records / chat completion /
                             stream chunks / legacy completion / LangChain message  -> Payload
    tokenizer_payloads(enc)  the same, cut exactly as a real tiktoken Encoding cuts the text
    stream_chunkings(tokens) ways to cut a token list into consecutive stream chunks
    malformed_payloads()     bad input tokbytes must reject with ValueError  -> Malformed

Every strategy validates its arguments when it is called and raises
:class:`hypothesis.errors.InvalidArgument` (a ``TypeError``) for bad ones, before any example
is drawn.

How examples shrink
-------------------
Failing examples shrink toward something you can read at a glance:

* ``texts()`` is a list of pieces; the list shrinks toward fewer pieces and each piece toward
  the first kind in :data:`TEXT_WEIGHTS` (plain ASCII such as ``"a"``), then toward Hangul (``가``),
  then whitespace, Latin, combining marks, CJK, emoji and the rest in order. A bug that needs a
  multi-byte character usually shrinks to one Hangul syllable (sometimes to another single
  character of two to four bytes, such as U+00A0 or U+200B: the shrinker stops at a local minimum).
* ``token_splits()`` shrinks toward fewer cuts (longer tokens, up to ``max_token_bytes``).
* logprobs shrink toward ``0.0``, alternatives toward fewer and plain ones, stream chunkings
  toward a single chunk, and the legacy prompt offset toward 0.

So a renderer that prints half a character typically fails on one character cut into two tokens,
such as ``"가"`` cut as ``[b'\xea\xb0', b'\x80']``.

Importing this module needs Hypothesis (``pip install "tokbytes[testing]"``); it is the only
tokbytes module that imports it.
"""

from __future__ import annotations

import copy
import string
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

try:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
except ImportError as exc:  # pragma: no cover - exercised by a test that hides hypothesis
    raise ImportError(
        'tokbytes.strategies needs Hypothesis: pip install "tokbytes[testing]"'
    ) from exc

__all__ = [
    "MALFORMED_KINDS",
    "SHAPES",
    "TEXT_WEIGHTS",
    "Malformed",
    "Payload",
    "malformed_payloads",
    "payloads",
    "stream_chunkings",
    "texts",
    "token_splits",
    "tokenizer_payloads",
]

_T = TypeVar("_T")
TokenRecord = dict[str, Any]

#: The container shapes :func:`payloads` can produce (see :class:`Payload`).
SHAPES = ("records", "chat_completion", "chunks", "legacy", "langchain")

#: OpenAI accepts ``top_logprobs`` from 0 to 20.
_MAX_TOP_LOGPROBS = 20
#: What OpenAI reports for an alternative outside the top 20 (and vLLM's clamp).
_SENTINEL = -9999.0
#: Special tokens providers list among the alternatives with ``bytes: null``.
_SPECIAL_TOKENS = ("<|end|>", "<|endoftext|>", "<|eot_id|>", "<｜end▁of▁sentence｜>")
_MODEL = "tokbytes-test"


# -- records ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Payload:
    """One generated example: a text, its token records, and the container a provider sends.

    ``tokens`` are always OpenAI-style records (the truth, whatever ``shape``); ``data`` is a
    separate deep copy in the requested shape, so code under test may mutate it freely. ``data``
    per ``shape``:

    * ``"records"``: the list of token records;
    * ``"chat_completion"``: a whole ``chat.completion`` dict; ``choices[0].message.content`` is
      ``text`` and ``choices[0].logprobs`` is ``{"content": tokens, "refusal": None}``;
    * ``"chunks"``: a list of ``chat.completion.chunk`` dicts as OpenAI streams them: a role
      chunk (``logprobs.content == []``), content chunks holding 0 or more tokens each, whose
      ``delta.content`` holds back a character until its last byte has arrived (joined they give
      ``text``), a finish chunk (``logprobs: None``), and sometimes a usage chunk (``choices: []``);
    * ``"legacy"``: a ``text_completion`` dict whose ``choices[0].logprobs`` is ``{tokens,
      token_logprobs, top_logprobs, text_offset}``; tokens that are not valid UTF-8 on their own
      are written ``bytes:\\xNN...`` (every byte escaped), ``top_logprobs`` holds one
      ``{token: logprob}`` dict per token, and ``text_offset`` counts characters from the start of
      a prompt of ``text_offset[0]`` characters, the fragments of one character sharing an offset;
    * ``"langchain"``: a ``langchain_core.messages.AIMessage`` with ``content=text`` and
      ``response_metadata["logprobs"] == {"content": tokens, "refusal": None}``.
    """

    text: str
    """The text the tokens spell: ``b"".join(bytes(t["bytes"]) for t in tokens) == text.encode()``."""
    tokens: list[TokenRecord]
    """``{"token", "logprob", "bytes", "top_logprobs"}`` dicts, as in ``logprobs.content``."""
    data: Any
    """The container in the requested ``shape`` (see the class docstring)."""
    shape: str
    """One of :data:`SHAPES`."""


@dataclass(frozen=True, slots=True)
class Malformed:
    """Input that tokbytes must reject with ``ValueError`` in strict mode."""

    data: Any
    """The bad input: a list of token records, or (kind ``"unknown_container"``) a bad container."""
    kind: str
    """One of :data:`MALFORMED_KINDS`."""
    description: str
    """What is wrong, e.g. ``"token 2: 'bytes' holds 256"``."""
    token: int | None
    """Index of the record an error should name (None when the container itself is wrong). For
    ``invalid_utf8`` and ``truncated_utf8`` it is the token holding the first bad byte."""


# -- validation -----------------------------------------------------------------------------------


def _check_int(value: object, name: str, *, min_value: int, max_value: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name}={value!r} must be an int")
    if value < min_value or (max_value is not None and value > max_value):
        upper = "" if max_value is None else f" and <= {max_value}"
        raise InvalidArgument(f"{name}={value!r} must be >= {min_value}{upper}")
    return value


def _check_strategy(value: object, name: str) -> None:
    if not isinstance(value, st.SearchStrategy):
        raise InvalidArgument(f"{name}={value!r} must be a Hypothesis strategy")


def _check_bool(value: object, name: str) -> None:
    if not isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be True or False")


def _top_range(value: object) -> tuple[int, int]:
    if isinstance(value, tuple) and len(value) == 2:
        lo = _check_int(value[0], "top_logprobs[0]", min_value=0, max_value=_MAX_TOP_LOGPROBS)
        hi = _check_int(value[1], "top_logprobs[1]", min_value=0, max_value=_MAX_TOP_LOGPROBS)
        if lo > hi:
            raise InvalidArgument(f"top_logprobs={value!r}: the minimum exceeds the maximum")
        return lo, hi
    if isinstance(value, int) and not isinstance(value, bool):
        n = _check_int(value, "top_logprobs", min_value=0, max_value=_MAX_TOP_LOGPROBS)
        return n, n
    raise InvalidArgument(
        f"top_logprobs={value!r} must be an int 0-20 or a (min, max) tuple of them"
    )


def _check_shape(shape: object) -> str:
    if shape not in SHAPES:
        raise InvalidArgument(f"shape={shape!r} must be one of {', '.join(map(repr, SHAPES))}")
    assert isinstance(shape, str)
    if shape == "langchain":
        try:
            import langchain_core.messages  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                'payloads(shape="langchain") needs LangChain: pip install "tokbytes[langchain]"'
            ) from exc
    return shape


# -- texts --------------------------------------------------------------------------------------


def _chars(first: int, last: int) -> st.SearchStrategy[str]:
    return st.characters(min_codepoint=first, max_codepoint=last)


def _joined(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map("".join)


def _optional(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), strategy)


_ASCII = st.one_of(
    st.sampled_from(("a", "the", "I", "don't", "3.14", "Hello", "it's", "42", "e.g.", "1,000")),
    st.sampled_from(tuple(".,!?:;-'\"()[]{}/\\#*_~`<>=+%$&|^@")),
    st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=8),
)
_HANGUL = st.one_of(
    _chars(0xAC00, 0xD7A3),  # precomposed syllables: 3 bytes each
    st.sampled_from(("미", "서울", "대한민국", "입니다")),
    # conjoining jamo: leading consonant + vowel (+ trailing consonant), one grapheme
    _joined(_chars(0x1100, 0x1112), _chars(0x1161, 0x1175), _optional(_chars(0x11A8, 0x11C2))),
)
_SPACE = st.sampled_from(
    (" ", "  ", "\n", "\t", "\r\n", "\n\n", "\r", "\u00a0", "\u202f", "\u3000", " \n")
)
_LATIN = st.one_of(
    _chars(0x00C0, 0x017F),
    st.sampled_from(("café", "naïve", "straße", "Ångström", "œuvre")),
)
_COMBINING = st.one_of(
    # a base letter with one to three combining marks (U+0301 COMBINING ACUTE etc.)
    _joined(
        st.sampled_from(tuple("aeiouAEnx1")),
        st.text(_chars(0x0300, 0x036F), min_size=1, max_size=3),
    ),
    st.sampled_from(("e\u0301", "A\u030a", "\u0301", "o\u0308\u0304", "x\u20dd")),
)
_CJK = st.one_of(
    _chars(0x4E00, 0x9FFF),
    _chars(0x3041, 0x3096),  # hiragana
    _chars(0x30A1, 0x30FA),  # katakana
    _chars(0x20000, 0x2A6DF),  # CJK Extension B: 4 bytes each
    st.sampled_from(("。", "、", "「", "」", "ー", "天气", "日本語", "\U0002000b")),
)
_EMOJI = st.one_of(
    _chars(0x1F600, 0x1F64F),
    st.sampled_from(("💙", "❤", "☺\ufe0f", "✨", "🙂")),
    # skin tone modifiers U+1F3FB-U+1F3FF after a base
    _joined(st.sampled_from(("👍", "👋", "🧑", "✋")), _chars(0x1F3FB, 0x1F3FF)),
)
_ZWJ = st.one_of(
    st.sampled_from(
        (
            "👩\u200d👩\u200d👧",
            "🏳\ufe0f\u200d🌈",
            "👨\u200d💻",
            "❤\ufe0f\u200d🔥",
            "🧑🏽\u200d🚀",
            "🏴\u200d☠\ufe0f",
        )
    ),
    st.lists(_chars(0x1F466, 0x1F469), min_size=2, max_size=4).map("\u200d".join),
)
_FLAG = st.one_of(
    st.sampled_from(
        ("🇰🇷", "🇯🇵", "🇺🇸", "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f")
    ),
    _joined(_chars(0x1F1E6, 0x1F1FF), _chars(0x1F1E6, 0x1F1FF)),  # any regional indicator pair
)
_KEYCAP = _joined(
    st.sampled_from(tuple("0123456789#*")), st.sampled_from(("\ufe0f\u20e3", "\u20e3"))
)
_THAI_LETTERS = [chr(c) for c in (*range(0x0E01, 0x0E3B), *range(0x0E40, 0x0E4F))]
_THAI = st.one_of(
    st.sampled_from(("สวัสดี", "ที่", "น้ำ", "กำ")),
    st.text(alphabet=_THAI_LETTERS, min_size=1, max_size=4),
)
_DEVANAGARI_CONSONANT = _chars(0x0915, 0x0939)
_DEVANAGARI = st.one_of(
    st.sampled_from(("नमस्ते", "क्षि", "हिन्दी")),
    # consonant (+ virama + consonant: a conjunct) (+ dependent vowel sign, a matra)
    _joined(
        _DEVANAGARI_CONSONANT,
        _optional(_joined(st.just("\u094d"), _DEVANAGARI_CONSONANT)),
        _optional(_chars(0x093E, 0x094C)),
    ),
)
_ARABIC = st.one_of(
    st.sampled_from(("مرحبا", "السلام", "بِسْمِ", "٣")),
    _joined(_chars(0x0621, 0x064A), _optional(_chars(0x064B, 0x0652))),  # letter (+ haraka)
)
_CYRILLIC = st.one_of(st.sampled_from(("привет", "мир", "Ёж")), _chars(0x0410, 0x044F))
_ZERO_WIDTH = st.sampled_from(("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200f"))

_PIECES: Mapping[str, st.SearchStrategy[str]] = MappingProxyType(
    {
        "ascii": _ASCII,
        "hangul": _HANGUL,
        "space": _SPACE,
        "latin": _LATIN,
        "combining": _COMBINING,
        "cjk": _CJK,
        "emoji": _EMOJI,
        "zwj_sequence": _ZWJ,
        "flag": _FLAG,
        "keycap": _KEYCAP,
        "thai": _THAI,
        "devanagari": _DEVANAGARI,
        "arabic": _ARABIC,
        "cyrillic": _CYRILLIC,
        "zero_width": _ZERO_WIDTH,
    }
)

#: Default weight of each kind of text piece, in shrinking order (earlier kinds are simpler).
#: Pass a mapping with some of these keys as ``texts(weights=...)``; e.g.
#: ``{**TEXT_WEIGHTS, "ascii": 0}`` for text with no plain ASCII pieces.
TEXT_WEIGHTS: Mapping[str, int] = MappingProxyType(
    {
        "ascii": 4,
        "hangul": 3,
        "space": 2,
        "latin": 1,
        "combining": 2,
        "cjk": 3,
        "emoji": 2,
        "zwj_sequence": 2,
        "flag": 1,
        "keycap": 1,
        "thai": 1,
        "devanagari": 1,
        "arabic": 1,
        "cyrillic": 1,
        "zero_width": 1,
    }
)


@st.composite
def _piece(draw: st.DrawFn, kinds: tuple[str, ...], ends: tuple[int, ...]) -> str:
    # One integer picks the kind by weight; it shrinks toward 0, the first kind.
    kind = kinds[bisect_right(ends, draw(st.integers(0, ends[-1] - 1)))]
    return draw(_PIECES[kind])


def texts(
    *, min_size: int = 0, max_size: int = 40, weights: Mapping[str, int] | None = None
) -> st.SearchStrategy[str]:
    """Multilingual text weighted toward what breaks token-level code.

    The text is a run of pieces: ASCII words, punctuation and digits (``don't``, ``3.14``),
    whitespace (CRLF, tabs, no-break spaces), Hangul syllables and conjoining jamo, CJK including
    4-byte Extension B, kana, Thai, Devanagari conjuncts and vowel signs, Arabic with harakat,
    Cyrillic, Latin letters and combining marks (U+0301), emoji with skin tones, ZWJ sequences
    (👩‍👩‍👧, 🏳️‍🌈), flags (regional indicator pairs, tag sequences), keycaps (1️⃣) and zero-width
    characters. ``min_size`` and ``max_size`` count code points, as in ``st.text``; a piece that
    would go past ``max_size`` is cut (which can leave a half grapheme, on purpose).

    ``weights`` maps kinds from :data:`TEXT_WEIGHTS` to non-negative int weights; kinds left out
    are not drawn. Examples shrink toward fewer pieces and toward ASCII, then Hangul.

    >>> from hypothesis import find
    >>> find(texts(), lambda s: s != "")
    'a'
    >>> find(texts(weights={"flag": 1}), lambda s: s != "")
    '🇰🇷'
    """
    _check_int(min_size, "min_size", min_value=0)
    _check_int(max_size, "max_size", min_value=0)
    if min_size > max_size:
        raise InvalidArgument(f"min_size={min_size} must not exceed max_size={max_size}")
    if weights is None:
        weights = TEXT_WEIGHTS
    elif not isinstance(weights, Mapping):
        raise InvalidArgument(f"weights={weights!r} must be a mapping of kind to int weight")
    unknown = sorted(set(weights) - set(TEXT_WEIGHTS), key=str)
    if unknown:
        raise InvalidArgument(
            f"weights: unknown kinds {unknown!r}; the kinds are {', '.join(TEXT_WEIGHTS)}"
        )
    kinds: list[str] = []
    ends: list[int] = []
    total = 0
    for kind in TEXT_WEIGHTS:  # shrinking order, whatever the mapping's order
        weight = _check_int(weights.get(kind, 0), f"weights[{kind!r}]", min_value=0)
        if weight:
            total += weight
            kinds.append(kind)
            ends.append(total)
    if max_size and not total:
        raise InvalidArgument(f"weights={dict(weights)!r} gives every kind weight 0")
    if not max_size:
        return st.just("")

    def join(pieces: list[str]) -> str:
        return "".join(pieces)[:max_size]

    # Every piece has at least one code point, so min_size pieces reach min_size.
    piece = _piece(tuple(kinds), tuple(ends))
    return st.lists(piece, min_size=min_size, max_size=max_size).map(join)


_TEXTS = texts()  # the default of ``payloads(texts=...)``


# -- token splits ---------------------------------------------------------------------------------


@st.composite
def _byte_splits(draw: st.DrawFn, data: bytes, max_token_bytes: int) -> list[bytes]:
    pieces: list[bytes] = []
    start = 0
    while start < len(data):
        longest = min(max_token_bytes, len(data) - start)
        # Draw how much *shorter* than the longest possible token: shrinks toward fewer cuts.
        length = longest - draw(st.integers(0, longest - 1))
        pieces.append(data[start : start + length])
        start += length
    return pieces


def token_splits(text: str, *, max_token_bytes: int = 8) -> st.SearchStrategy[list[bytes]]:
    r"""Lists of non-empty ``bytes`` tokens whose concatenation is ``text.encode()``.

    Cuts fall at arbitrary byte positions, inside characters too; no token is longer than
    ``max_token_bytes``. Examples shrink toward fewer cuts. The empty text has one split, ``[]``.

    >>> from hypothesis import find
    >>> find(token_splits("가"), lambda tokens: len(tokens) > 1)
    [b'\xea\xb0', b'\x80']
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"text={text!r} must be a str")
    _check_int(max_token_bytes, "max_token_bytes", min_value=1)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgument(f"text={text!r} cannot be encoded as UTF-8: {exc}") from None
    return _byte_splits(data, max_token_bytes)


# -- stream chunkings -----------------------------------------------------------------------------

_OCCASIONALLY = st.sampled_from((False,) * 7 + (True,))  # shrinks to False


@st.composite
def _chunkings(draw: st.DrawFn, items: Sequence[_T]) -> list[list[_T]]:
    chunks: list[list[_T]] = []
    start, n = 0, len(items)
    while True:
        if draw(_OCCASIONALLY):
            chunks.append([])  # a chunk that carries no token
        if start == n:
            return chunks
        rest = n - start
        size = rest - draw(st.integers(0, rest - 1))  # shrinks toward one chunk
        chunks.append(list(items[start : start + size]))
        start += size


def stream_chunkings(
    payload_or_tokens: Payload | Sequence[_T],
) -> st.SearchStrategy[list[list[Any]]]:
    """Ways to cut a token list into consecutive chunks, as a stream may deliver it.

    Each example is a list of lists whose concatenation is the input (``payload.tokens`` for a
    :class:`Payload`); chunks may be empty or hold a single token. Examples shrink toward a single
    chunk holding everything.

    >>> from hypothesis import find
    >>> find(stream_chunkings(["a", "b", "c"]), lambda chunks: len(chunks) > 1 and all(chunks))
    [['a', 'b'], ['c']]
    """
    if isinstance(payload_or_tokens, Payload):
        items: Sequence[Any] = payload_or_tokens.tokens
    elif isinstance(payload_or_tokens, (str, bytes, bytearray)) or not isinstance(
        payload_or_tokens, Sequence
    ):
        raise InvalidArgument(
            f"payload_or_tokens={payload_or_tokens!r:.60} must be a Payload or a list of tokens"
        )
    else:
        items = payload_or_tokens
    return _chunkings(list(items))


# -- logprobs and records -------------------------------------------------------------------------

#: Chosen-token logprobs: ordinary values, exactly 0.0, tiny ones, and a few large negatives.
_LOGPROBS = st.one_of(
    st.floats(min_value=-20.0, max_value=0.0, allow_nan=False),
    st.sampled_from((0.0, -1e-6, -1.86e-06, -2.3841858e-07, -5e-324)),
    st.sampled_from((-25.0, -100.0, -1000.0)),
)

_ALT_FROM_TEXT = st.tuples(texts(min_size=1, max_size=4), st.integers(0, 8), st.integers(1, 8)).map(
    lambda t: t[0].encode()[t[1] : t[1] + t[2]] or t[0].encode()[-1:]
)
#: Alternative token bytes: fragments of multilingual text (often partial characters), or any bytes.
_ALT_BYTES = st.one_of(_ALT_FROM_TEXT, st.binary(min_size=1, max_size=4))


@st.composite
def _record(
    draw: st.DrawFn,
    piece: bytes,
    *,
    top: tuple[int, int],
    logprobs: st.SearchStrategy[float],
    alternatives: st.SearchStrategy[bytes],
    special_tokens: bool,
    sentinels: bool,
) -> TokenRecord:
    logprob = draw(logprobs)
    token = piece.decode("utf-8", "backslashreplace")
    count = draw(st.integers(*top))
    alts: list[TokenRecord] = []
    if count:
        # The chosen token first (as when it is the most likely), then distinct others, each
        # no more likely than the one before.
        alts.append({"token": token, "logprob": logprob, "bytes": list(piece)})
        seen: set[bytes | str] = {piece}
        previous = logprob
        for _ in range(count - 1):
            if special_tokens and draw(_OCCASIONALLY):
                special = draw(st.sampled_from(_SPECIAL_TOKENS))
                key: bytes | str = special
                alt: TokenRecord = {"token": special, "logprob": 0.0, "bytes": None}
            else:
                data = draw(alternatives)
                key = data
                alt = {
                    "token": data.decode("utf-8", "backslashreplace"),
                    "logprob": 0.0,
                    "bytes": list(data),
                }
            if (
                sentinels
                and previous >= _SENTINEL
                and (previous == _SENTINEL or draw(_OCCASIONALLY))
            ):
                previous = _SENTINEL  # "not in the top 20"; once there, the rest are too
            else:
                previous = previous - draw(st.floats(min_value=0.0, max_value=5.0))
            if key in seen:
                continue  # top_logprobs never lists a token twice
            seen.add(key)
            alt["logprob"] = previous
            alts.append(alt)
    return {"token": token, "logprob": logprob, "bytes": list(piece), "top_logprobs": alts}


# -- containers -----------------------------------------------------------------------------------


def _complete_prefix(buffer: bytes) -> int:
    """Length of the longest prefix of ``buffer`` (a prefix of valid UTF-8) ending on a character.

    >>> _complete_prefix("a가".encode()[:-1]), _complete_prefix("a가".encode())
    (1, 4)
    """
    n = len(buffer)
    for back in range(1, min(4, n) + 1):
        byte = buffer[n - back]
        if byte < 0x80:
            return n
        if byte >= 0xC0:  # the lead byte of the last character says how long it is
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return n if back >= need else n - back
    return n


def _legacy_token(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "bytes:" + "".join(f"\\x{b:02x}" for b in data)


def _legacy_offsets(pieces: list[bytes], base: int) -> list[int]:
    # tiktoken's decode_with_offsets rule: a token starts at the character holding its first
    # byte, so a token that starts with a continuation byte shares its character's offset.
    offsets = []
    chars = 0
    for data in pieces:
        offsets.append(base + max(0, chars - (0x80 <= data[0] <= 0xBF)))
        chars += sum(1 for b in data if not 0x80 <= b <= 0xBF)
    return offsets


def _chat_chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-tokbytes",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": _MODEL,
        "choices": choices,
        **extra,
    }


def _shape_data(draw: st.DrawFn, shape: str, text: str, tokens: list[TokenRecord]) -> Any:
    tokens = copy.deepcopy(tokens)
    n = len(tokens)
    if shape == "records":
        return tokens
    if shape == "chat_completion":
        return {
            "id": "chatcmpl-tokbytes",
            "object": "chat.completion",
            "created": 0,
            "model": _MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": {"content": tokens, "refusal": None},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": n, "total_tokens": n},
        }
    if shape == "chunks":
        role = {"role": "assistant", "content": "", "refusal": None}
        chunks = [
            _chat_chunk(
                [
                    {
                        "index": 0,
                        "delta": role,
                        "logprobs": {"content": [], "refusal": None},
                        "finish_reason": None,
                    }
                ]
            )
        ]
        buffer = b""
        sent = 0
        for group in draw(_chunkings(tokens)):
            buffer += b"".join(bytes(t["bytes"]) for t in group)
            ready = _complete_prefix(buffer)  # hold back a character until its last byte
            delta = buffer[sent:ready].decode("utf-8")
            sent = ready
            chunks.append(
                _chat_chunk(
                    [
                        {
                            "index": 0,
                            "delta": {"content": delta},
                            "logprobs": {"content": group, "refusal": None},
                            "finish_reason": None,
                        }
                    ]
                )
            )
        chunks.append(
            _chat_chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}])
        )
        if draw(_OCCASIONALLY):
            usage = {"prompt_tokens": 0, "completion_tokens": n, "total_tokens": n}
            chunks.append(_chat_chunk([], usage=usage))
        return chunks
    if shape == "legacy":
        pieces = [bytes(t["bytes"]) for t in tokens]
        prompt_chars = draw(st.integers(0, 12))
        top_logprobs = []
        for t in tokens:
            alts: dict[str, float] = {}
            for alt in t["top_logprobs"]:
                key = alt["token"] if alt["bytes"] is None else _legacy_token(bytes(alt["bytes"]))
                alts.setdefault(key, alt["logprob"])  # a dict: same-looking tokens collide
            top_logprobs.append(alts)
        logprobs = {
            "tokens": [_legacy_token(p) for p in pieces],
            "token_logprobs": [t["logprob"] for t in tokens],
            "top_logprobs": top_logprobs,
            "text_offset": _legacy_offsets(pieces, prompt_chars),
        }
        return {
            "id": "cmpl-tokbytes",
            "object": "text_completion",
            "created": 0,
            "model": _MODEL,
            "choices": [{"text": text, "index": 0, "logprobs": logprobs, "finish_reason": "stop"}],
        }
    assert shape == "langchain"
    from langchain_core.messages import AIMessage

    return AIMessage(
        content=text,
        response_metadata={
            "logprobs": {"content": tokens, "refusal": None},
            "finish_reason": "stop",
            "model_name": _MODEL,
        },
    )


@st.composite
def _payloads(
    draw: st.DrawFn,
    texts: st.SearchStrategy[str],
    split: Callable[[str], st.SearchStrategy[list[bytes]]],
    shape: str,
    record: Callable[[bytes], st.SearchStrategy[TokenRecord]],
) -> Payload:
    text = draw(texts)
    if not isinstance(text, str):
        raise InvalidArgument(f"texts drew {text!r}, which is not a str")
    pieces = draw(split(text))
    tokens = [draw(record(piece)) for piece in pieces]
    return Payload(text, tokens, _shape_data(draw, shape, text, tokens), shape)


def _record_factory(
    top_logprobs: object,
    logprobs: st.SearchStrategy[float] | None,
    alternatives: st.SearchStrategy[bytes],
    special_tokens: bool,
    sentinels: bool,
) -> Callable[[bytes], st.SearchStrategy[TokenRecord]]:
    top = _top_range(top_logprobs)
    if logprobs is None:
        logprobs = _LOGPROBS
    _check_strategy(logprobs, "logprobs")
    _check_bool(special_tokens, "special_tokens")
    _check_bool(sentinels, "sentinels")
    chosen = logprobs

    def record(piece: bytes) -> st.SearchStrategy[TokenRecord]:
        return _record(
            piece,
            top=top,
            logprobs=chosen,
            alternatives=alternatives,
            special_tokens=special_tokens,
            sentinels=sentinels,
        )

    return record


def payloads(
    texts: st.SearchStrategy[str] = _TEXTS,
    *,
    shape: str = "records",
    top_logprobs: int | tuple[int, int] = (0, 3),
    max_token_bytes: int = 8,
    logprobs: st.SearchStrategy[float] | None = None,
    special_tokens: bool = True,
    sentinels: bool = True,
) -> st.SearchStrategy[Payload]:
    r"""A text cut into tokens at arbitrary byte positions, with logprobs, in a provider's shape.

    Each example is a :class:`Payload`: the drawn ``text``, its OpenAI-style token records
    ``{"token", "logprob", "bytes", "top_logprobs"}`` (``token`` is the bytes decoded with
    ``backslashreplace``, as OpenAI writes partial characters) and ``data``, the container in
    ``shape`` (one of :data:`SHAPES`; see :attr:`Payload.data`).

    Logprobs are floats <= 0: ordinary ones, exactly ``0.0``, tiny ones such as ``-1e-6`` and a few
    large negatives (or drawn from ``logprobs``). Each token has ``top_logprobs`` alternatives (an
    int, or a ``(min, max)`` range within 0-20; fewer when two draws coincide): the chosen token
    first, then other byte strings, often partial characters, each no more likely than the one
    before; with ``sentinels`` the tail may be OpenAI's ``-9999.0``, with ``special_tokens`` an
    alternative may be a special token such as ``<|end|>`` with ``bytes: None``.
    ``shape="langchain"`` needs ``langchain_core`` (``ImportError`` at call time without it).

    >>> from hypothesis import find
    >>> from hypothesis import find, strategies as st
    >>> p = find(payloads(st.just("가"), top_logprobs=1), lambda p: len(p.tokens) == 2)
    >>> p.tokens[1]
    {'token': '\\x80', 'logprob': 0.0, 'bytes': [128], 'top_logprobs': [{'token': '\\x80', 'logprob': 0.0, 'bytes': [128]}]}
    >>> p.data == p.tokens, p.shape
    (True, 'records')
    """
    _check_strategy(texts, "texts")
    shape = _check_shape(shape)
    _check_int(max_token_bytes, "max_token_bytes", min_value=1)
    record = _record_factory(top_logprobs, logprobs, _ALT_BYTES, special_tokens, sentinels)

    def split(text: str) -> st.SearchStrategy[list[bytes]]:
        return token_splits(text, max_token_bytes=max_token_bytes)

    return _payloads(texts, split, shape, record)


# -- real tokenizers ------------------------------------------------------------------------------


def _vocab_bytes(encoding: Any) -> st.SearchStrategy[bytes]:
    specials = frozenset(getattr(encoding, "special_tokens_set", ()))

    def token_bytes(rank: int) -> bytes:
        try:
            data: bytes = encoding.decode_single_token_bytes(rank)
        except (KeyError, ValueError):  # a gap in the vocabulary
            return b"?"
        if data.decode("utf-8", "replace") in specials:
            return b"?"
        return data

    return st.integers(0, int(encoding.max_token_value)).map(token_bytes)


def tokenizer_payloads(
    encoding: Any,
    texts: st.SearchStrategy[str] = _TEXTS,
    *,
    shape: str = "records",
    top_logprobs: int | tuple[int, int] = (0, 3),
    logprobs: st.SearchStrategy[float] | None = None,
    special_tokens: bool = True,
    sentinels: bool = True,
) -> st.SearchStrategy[Payload]:
    r"""Like :func:`payloads`, but cut exactly as a real tokenizer cuts the text.

    ``encoding`` is a ``tiktoken.Encoding`` (or anything with ``encode(text,
    disallowed_special=())``, ``decode_single_token_bytes(rank)`` and ``max_token_value``): the
    tokens are ``encoding.encode(text, disallowed_special=())``, their bytes
    ``decode_single_token_bytes``, so partial characters appear exactly where the model's API
    would show them. Alternatives are drawn from the encoding's vocabulary or are arbitrary bytes.

    >>> class Bytes:  # a toy tokenizer: one token per byte
    ...     max_token_value = 255
    ...     def encode(self, text, disallowed_special=()): return list(text.encode())
    ...     def decode_single_token_bytes(self, rank): return bytes([rank])
    >>> from hypothesis import find
    >>> p = find(tokenizer_payloads(Bytes()), lambda p: len(p.tokens) > 1)
    >>> [bytes(t["bytes"]) for t in p.tokens] == [bytes([b]) for b in p.text.encode()]
    True
    """
    for attribute in ("encode", "decode_single_token_bytes", "max_token_value"):
        if not hasattr(encoding, attribute):
            raise InvalidArgument(
                f"encoding={encoding!r:.60} has no {attribute!r}; pass a tiktoken.Encoding"
            )
    _check_strategy(texts, "texts")
    shape = _check_shape(shape)
    alternatives = st.one_of(_vocab_bytes(encoding), _ALT_BYTES)
    record = _record_factory(top_logprobs, logprobs, alternatives, special_tokens, sentinels)

    def split(text: str) -> st.SearchStrategy[list[bytes]]:
        ranks = encoding.encode(text, disallowed_special=())
        return st.just([encoding.decode_single_token_bytes(rank) for rank in ranks])

    return _payloads(texts, split, shape, record)


# -- malformed input ------------------------------------------------------------------------------

#: The kinds of bad input :func:`malformed_payloads` draws (each a strict-mode ``ValueError``).
MALFORMED_KINDS = (
    "bytes_out_of_range",
    "bytes_wrong_type",
    "record_wrong_type",
    "token_not_string",
    "logprob_missing",
    "logprob_none",
    "logprob_not_number",
    "logprob_nan",
    "logprob_positive",
    "invalid_utf8",
    "truncated_utf8",
    "unknown_container",
)

# Byte sequences no UTF-8 decoder may accept; each is invalid from its first byte on.
_INVALID_UTF8 = (
    b"\x80",  # a lone continuation byte
    b"\xbf\xbf",
    b"\xc0\xaf",  # overlong "/"
    b"\xe0\x80\xaf",  # overlong "/", 3 bytes
    b"\xed\xa0\x80",  # a UTF-16 surrogate (U+D800)
    b"\xf5\x80\x80\x80",  # beyond U+10FFFF
    b"\xf8\x88\x80\x80\x80",
    b"\xfe",
    b"\xff",
    b"\xe4\xb8a",  # a character cut short by ASCII
)


def _ends(pieces: list[bytes]) -> list[int]:
    """Byte offsets where each token starts, and the total: ``[0, len(p0), len(p0 + p1), ...]``."""
    ends = [0]
    for piece in pieces:
        ends.append(ends[-1] + len(piece))
    return ends


def _token_at(pieces: list[bytes], byte_offset: int) -> int:
    end = 0
    for index, piece in enumerate(pieces):
        end += len(piece)
        if byte_offset < end:
            return index
    raise AssertionError("offset past the end")  # pragma: no cover


@st.composite
def _malformed(draw: st.DrawFn, kinds: tuple[str, ...]) -> Malformed:
    kind = draw(st.sampled_from(kinds))
    if kind == "unknown_container":
        data = draw(st.sampled_from(({"foo": 1}, {"unexpected": []}, 42, 3.5, "hello")))
        return Malformed(data, kind, f"not a logprobs container: {data!r}", None)

    valid = draw(payloads(texts(min_size=1, max_size=12), top_logprobs=(0, 2))).tokens
    pieces = [bytes(t["bytes"]) for t in valid]
    # token indices where a character starts: inserting there keeps the rest valid
    joined = b"".join(pieces)
    starts = {k for k, byte in enumerate(joined) if not 0x80 <= byte <= 0xBF} | {len(joined)}
    boundaries = [i for i, end in enumerate(_ends(pieces)) if end in starts]

    if kind in ("invalid_utf8", "truncated_utf8", "record_wrong_type"):
        if kind == "truncated_utf8":
            at = len(pieces)
            char = draw(
                st.one_of(
                    _chars(0xAC00, 0xD7A3),  # 3 bytes
                    _chars(0x0080, 0x07FF),  # 2 bytes
                    _chars(0x1F300, 0x1F64F),  # 4 bytes
                    _chars(0x20000, 0x2A6DF),  # 4 bytes
                )
            )
            encoded = char.encode()
            bad = encoded[: draw(st.integers(1, len(encoded) - 1))]
        elif kind == "invalid_utf8":
            at = draw(st.sampled_from(boundaries))
            bad = draw(st.sampled_from(_INVALID_UTF8))
        else:
            # not first: a list whose first item is not a record reads as a wrong container
            at = draw(st.sampled_from(boundaries[1:]))
            thing = draw(st.sampled_from((5, "a", None, [97], 1.5)))
            records = [*valid[:at], thing, *valid[at:]]
            return Malformed(records, kind, f"token {at}: not a token record: {thing!r}", at)
        bad_pieces = draw(_byte_splits(bad, 4))
        bad_records = [
            {
                "token": p.decode("utf-8", "backslashreplace"),
                "logprob": -1.0,
                "bytes": list(p),
                "top_logprobs": [],
            }
            for p in bad_pieces
        ]
        records = [*valid[:at], *bad_records, *valid[at:]]
        all_pieces = [*pieces[:at], *bad_pieces, *pieces[at:]]
        try:
            b"".join(all_pieces).decode("utf-8")
        except UnicodeDecodeError as exc:
            token = _token_at(all_pieces, exc.start)
        else:  # pragma: no cover - every sequence above is invalid
            raise AssertionError(f"{bad!r} decoded")
        what = "ends inside a character" if kind == "truncated_utf8" else "is not valid UTF-8"
        return Malformed(records, kind, f"token {token}: output {what} ({bad!r})", token)

    at = draw(st.integers(0, len(valid) - 1))
    record = dict(valid[at])
    value: Any
    if kind == "bytes_out_of_range":
        value = draw(st.sampled_from((256, -1, 1000)))
        record["bytes"] = [*record["bytes"], value]
        what = f"'bytes' holds {value}"
    elif kind == "bytes_wrong_type":
        value = draw(st.sampled_from((record["token"], {"0": 97}, 97, [1.5], [True], ["a"])))
        record["bytes"] = value
        what = f"'bytes' is {value!r}, not a list of ints"
    elif kind == "token_not_string":
        value = draw(st.sampled_from((None, 5, [97])))
        record["token"] = value
        del record["bytes"]
        what = f"no 'bytes' and 'token' is {value!r}"
    elif kind == "logprob_missing":
        del record["logprob"]
        what = "no 'logprob'"
    else:
        bad_logprobs: dict[str, st.SearchStrategy[Any]] = {
            "logprob_none": st.just(None),
            "logprob_not_number": st.sampled_from(("-0.5", True, [-0.5])),
            "logprob_nan": st.just(float("nan")),
            "logprob_positive": st.sampled_from((0.5, 1.0, 1e-3, 3.0)),
        }
        record["logprob"] = draw(bad_logprobs[kind])
        what = f"'logprob' is {record['logprob']!r}"
    records = [*valid[:at], record, *valid[at + 1 :]]
    return Malformed(records, kind, f"token {at}: {what}", at)


def malformed_payloads(*, kinds: Sequence[str] | None = None) -> st.SearchStrategy[Malformed]:
    """Bad input that tokbytes must reject with ``ValueError`` (in strict mode).

    Each example is a :class:`Malformed`: a list of valid token records with one bad record (or
    bad bytes) at a drawn position, or a container of an unknown shape. ``kinds`` restricts the
    kinds drawn (default: all of :data:`MALFORMED_KINDS`):

    * ``bytes_out_of_range``: ``bytes`` holds 256, -1 or 1000;
    * ``bytes_wrong_type``: ``bytes`` is a str, a dict, an int, or a list of floats, bools or strs;
    * ``record_wrong_type``: a record (never the first) that is an int, str, None, list or float;
    * ``token_not_string``: no ``bytes`` and a ``token`` that is not a str;
    * ``logprob_missing`` / ``_none`` / ``_not_number`` (``"-0.5"``, ``True``) / ``_nan`` /
      ``_positive`` (> 1e-6, e.g. 0.5);
    * ``invalid_utf8``: a lone continuation byte, overlong forms (``C0 AF``), a surrogate
      (``ED A0 80``), ``F5``-``FF`` bytes, a character cut short by ASCII; inserted at a character
      boundary, possibly cut across tokens;
    * ``truncated_utf8``: the output ends inside a character (e.g. 2 of its 3 bytes);
    * ``unknown_container``: a dict with no known keys, an int, a float or a str.

    ``Malformed.token`` is the index an error should name.

    >>> from hypothesis import find
    >>> find(malformed_payloads(kinds=["logprob_positive"]), lambda m: True).description
    "token 0: 'logprob' is 0.5"
    """
    chosen: tuple[str, ...]
    if kinds is None:
        chosen = MALFORMED_KINDS
    else:
        if isinstance(kinds, str) or not isinstance(kinds, Sequence):
            raise InvalidArgument(f"kinds={kinds!r} must be a list of kinds")
        unknown = [k for k in kinds if k not in MALFORMED_KINDS]
        if unknown or not kinds:
            raise InvalidArgument(
                f"kinds={list(kinds)!r}: choose one or more of {', '.join(MALFORMED_KINDS)}"
            )
        chosen = tuple(kinds)
    return _malformed(chosen)
