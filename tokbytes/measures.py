"""Uncertainty measures from ``top_logprobs``: alternatives as text, entropy, margin, rank, and
word probabilities with the end-of-word correction.

Everything here is a pure function of an :class:`~tokbytes.alignment.Alignment` and the token
records it was built from; ``Decoded``, ``TokenSequence`` and ``UnitSequence`` expose it as small
methods (``doc.alternatives(j)``, ``doc.tokens.entropies()``, ``doc.words.margins()``, …).

Conventions
-----------
* The *listed alternatives* of a token are its ``top_logprobs``. A logprob at or below OpenAI's
  ``-9999.0`` ("not in the top 20") counts as probability 0: ``exp(-9999.0)`` is exactly ``0.0``.
* Per-token measures are NaN where a token has no alternatives; a unit's measure is NaN where any
  of its tokens has none (or where byte recovery left the unit's tokens uncertain).
* An alternative is the *chosen* one when its bytes equal the token's bytes (for an alternative
  without bytes, such as ``<|end|>``, when its token string equals the token's).

>>> from tokbytes import decode
>>> doc = decode([{"token": "a", "bytes": [97], "logprob": -0.1, "top_logprobs": [
...     {"token": "a", "bytes": [97], "logprob": -0.1},
...     {"token": "b", "bytes": [98], "logprob": -2.5}]}])
>>> [round(x, 4) for x in doc.tokens.entropies() + doc.tokens.margins()], doc.tokens.ranks()
([0.2865, 0.8228], [1])
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

import regex

from .alignment import Alignment
from .errors import InputError
from .records import Alternative, Unit

if TYPE_CHECKING:
    from .decoded import Decoded

__all__ = [
    "SENTINEL_LOGPROB",
    "FULL_MASS_TOLERANCE",
    "AlternativeText",
    "DocumentSummary",
    "alternative_text",
    "alternative_texts",
    "begins_word",
    "bow_mass_bounds",
    "continued_bytes",
    "entropy",
    "listed_logprobs",
    "margin",
    "rank",
    "token_alternatives",
    "token_entropies",
    "token_margins",
    "token_ranks",
    "unit_entropies",
    "unit_margins",
    "unit_token_ranges",
    "document_summary",
    "word_logprob_bounds",
]

#: OpenAI's "not in the top 20" logprob (also vLLM's clamp): anything at or below it is p = 0.
SENTINEL_LOGPROB = -9999.0
_NAN = math.nan
_INF = math.inf


def _prob(logprob: float) -> float:
    """``exp(logprob)``, with the ``-9999.0`` sentinel (and anything below) exactly 0."""
    return 0.0 if logprob <= SENTINEL_LOGPROB else math.exp(logprob)


# -- alternatives as text ------------------------------------------------------------------------


class AlternativeText(NamedTuple):
    """One alternative of a token, as text a person can read (see :func:`alternative_text`)."""

    text: str
    """The alternative's bytes read after the bytes of the character the token continues;
    bytes that still do not make a character stay escaped (``\\xeb``). A special token without
    bytes (``<|end|>``) reads as its token string."""
    logprob: float
    """Its natural-log probability as the provider gave it (``-9999.0`` kept as given)."""
    chosen: bool
    """True for the alternative that is the token actually generated."""


def continued_bytes(buffer: bytes, start: int) -> bytes:
    """The bytes of the character that byte ``start`` of ``buffer`` continues (b"" when ``start``
    begins a character or follows anything that is not a lead byte within 3 bytes).

    >>> continued_bytes("울".encode(), 2), continued_bytes(b"ab", 1), continued_bytes(b"\\x80", 0)
    (b'\\xec\\x9a', b'', b'')
    """
    if start >= len(buffer) or not 0x80 <= buffer[start] <= 0xBF:
        return b""
    first = start
    while first > 0 and start - first < 3:
        first -= 1
        if buffer[first] >= 0xC0:  # the lead byte of the character being continued
            return buffer[first:start]
        if buffer[first] < 0x80:
            return b""
    return b""


def alternative_text(prefix: bytes, alternative: Alternative) -> str:
    """The rule for reading an alternative: ``prefix + bytes`` decoded, with bytes that make no
    character escaped as ``\\xNN``; ``prefix`` is :func:`continued_bytes` at the token's start.

    At the token ``\\xb8`` completing 미 (``eb af`` + ``b8``) the alternatives ``\\xb8``, ``\\xbc``,
    ``\\xbf`` read 미, 민, 믿, not U+FFFD:

    >>> [alternative_text(b"\\xeb\\xaf", Alternative(t, bytes([b]), -1.0))
    ...  for t, b in [("\\\\xb8", 0xB8), ("\\\\xbc", 0xBC), ("\\\\xbf", 0xBF)]]
    ['미', '민', '믿']
    >>> alternative_text(b"", Alternative(" \\\\xeb", b" \\xeb", -1.0))
    ' \\\\xeb'
    >>> alternative_text(b"\\xeb", Alternative("<|end|>", None, -3.0))
    '<|end|>'
    """
    if alternative.bytes is None:
        return alternative.token  # a special token such as <|end|>: no bytes
    return (prefix + alternative.bytes).decode("utf-8", "backslashreplace")


def _is_chosen(alternative: Alternative, data: bytes, token: str | None) -> bool:
    if alternative.bytes is not None:
        return alternative.bytes == data
    return token is not None and alternative.token == token


def alternative_texts(
    alternatives: Sequence[Alternative],
    data: bytes,
    *,
    prefix: bytes = b"",
    token: str | None = None,
) -> tuple[AlternativeText, ...]:
    """The alternatives of a token whose bytes are ``data``, most likely first (ties keep the
    provider's order), read with :func:`alternative_text`.

    >>> alts = (Alternative("b", b"b", -2.0), Alternative("a", b"a", -0.1))
    >>> alternative_texts(alts, b"a")
    (AlternativeText(text='a', logprob=-0.1, chosen=True), AlternativeText(text='b', logprob=-2.0, chosen=False))
    """
    ordered = sorted(alternatives, key=lambda alt: -alt.logprob)
    return tuple(
        AlternativeText(alternative_text(prefix, alt), alt.logprob, _is_chosen(alt, data, token))
        for alt in ordered
    )


def _record_field(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, Mapping) else getattr(record, name, None)


def token_alternatives(al: Alignment, records: Sequence[Any]) -> list[tuple[Alternative, ...]]:
    """Every token's ``top_logprobs`` as :class:`~tokbytes.Alternative` records (checked)."""
    from .decoded import parse_alternatives  # decoded imports this module

    base = al.token_base
    return [
        parse_alternatives(_record_field(record, "top_logprobs"), j + base)
        for j, record in enumerate(records)
    ]


_get_logprob = itemgetter("logprob")


def listed_logprobs(al: Alignment, records: Sequence[Any]) -> list[list[float]]:
    """Every token's ``top_logprobs`` logprobs, checked as :func:`token_alternatives` checks
    them but without making an :class:`~tokbytes.Alternative` per alternative (entropies and
    margins need nothing else; 10x faster on top-20 responses)."""
    from .decoded import parse_alternatives

    base = al.token_base
    out: list[list[float]] = []
    for j, record in enumerate(records):
        top = _record_field(record, "top_logprobs")
        if not top:
            out.append([])
            continue
        if isinstance(top, Mapping):  # the legacy {token: logprob} form
            values = list(top.values())
        else:
            try:  # dicts, the common case, read at C speed
                values = list(map(_get_logprob, top))
            except (KeyError, TypeError):
                values = [
                    alt.get("logprob")
                    if isinstance(alt, Mapping)
                    else getattr(alt, "logprob", None)
                    for alt in top
                ]
        if all(type(v) is float and v == v for v in values):
            out.append(values)
        else:  # ints, float subclasses, or something wrong: the full reading says which
            out.append([alt.logprob for alt in parse_alternatives(top, j + base)])
    return out


class _LazyAlternatives:
    """``token_alternatives(al, records)[j]``, each read when first asked for."""

    __slots__ = ("_al", "_read", "_records")

    def __init__(self, al: Alignment, records: Sequence[Any]) -> None:
        self._al, self._records = al, records
        self._read: dict[int, tuple[Alternative, ...]] = {}

    def __getitem__(self, j: int) -> tuple[Alternative, ...]:
        found = self._read.get(j)
        if found is None:
            from .decoded import parse_alternatives

            top = _record_field(self._records[j], "top_logprobs")
            found = self._read[j] = parse_alternatives(top, j + self._al.token_base)
        return found


def _token_strings(records: Sequence[Any]) -> list[str | None]:
    out = []
    for record in records:
        token = _record_field(record, "token")
        out.append(token if isinstance(token, str) else None)
    return out


def _token_bytes(al: Alignment) -> list[bytes]:
    ends = al.token_ends
    buffer = al.buffer
    return [buffer[start:end] for start, end in zip([0, *ends[:-1]], ends)]


# -- per-token measures --------------------------------------------------------------------------


def entropy(logprobs: Sequence[float]) -> float:
    """Entropy (nats) of the listed alternatives renormalized to sum to 1; NaN for none (or when
    every one is the ``-9999.0`` sentinel).

    ``H = -sum q_i ln q_i`` with ``q_i = p_i / sum p``; computed as ``ln S - sum(p_i ln p_i) / S``
    (alternatives of probability 0 add nothing).

    >>> entropy([math.log(0.5), math.log(0.5)]) == math.log(2), entropy([-0.3]), entropy([])
    (True, 0.0, nan)
    """
    probs = [_prob(lp) for lp in logprobs]
    total = math.fsum(probs)
    if not total > 0:
        return _NAN
    weighted = math.fsum(p * lp for p, lp in zip(probs, logprobs) if p > 0)
    return max(0.0, math.log(total) - weighted / total)


def margin(logprobs: Sequence[float]) -> float:
    """``p1 - p2``: the probability of the most likely listed alternative minus that of the
    second, as given (not renormalized: the listed alternatives are the top ones, so these are
    the model's own two highest probabilities). NaN with fewer than two alternatives.

    >>> round(margin([math.log(0.2), math.log(0.7), -9999.0]), 12), margin([-0.1])
    (0.5, nan)
    """
    if len(logprobs) < 2:
        return _NAN
    first, second = sorted(map(_prob, logprobs), reverse=True)[:2]
    return first - second


def rank(alternatives: Sequence[Alternative], data: bytes, token: str | None = None) -> int | None:
    """Rank of the chosen token among the listed alternatives (1 = most likely; ties share the
    best rank), or None when it is not listed.

    >>> alts = (Alternative("x", b"x", -0.2), Alternative("y", b"y", -1.5), Alternative("z", b"z", -1.5))
    >>> rank(alts, b"x"), rank(alts, b"z"), rank(alts, b"w")
    (1, 2, None)
    """
    for alt in alternatives:
        if _is_chosen(alt, data, token):
            return 1 + sum(1 for other in alternatives if other.logprob > alt.logprob)
    return None


def token_entropies(al: Alignment, records: Sequence[Any]) -> list[float]:
    """:func:`entropy` of every token's listed alternatives (NaN where it has none)."""
    return list(map(entropy, listed_logprobs(al, records)))


def token_margins(al: Alignment, records: Sequence[Any]) -> list[float]:
    """:func:`margin` of every token's listed alternatives (NaN with fewer than two)."""
    return list(map(margin, listed_logprobs(al, records)))


def token_ranks(al: Alignment, records: Sequence[Any]) -> list[int | None]:
    """:func:`rank` of every token among its listed alternatives (None where not listed)."""
    return list(
        map(rank, token_alternatives(al, records), _token_bytes(al), _token_strings(records))
    )


# -- per-unit measures ---------------------------------------------------------------------------


def unit_token_ranges(
    al: Alignment, starts: Sequence[int], ends: Sequence[int]
) -> tuple[list[int], list[int]]:
    """Local ``(first, stop)`` token indices of each unit (local character ranges): the tokens
    ``first .. stop - 1`` carry its bytes (with any empty token among them, which carries none).
    """
    bounds, token_ends = al.char_bounds, al.token_ends
    byte_starts = list(map(bounds.__getitem__, starts))
    byte_ends = list(map(bounds.__getitem__, ends))
    firsts = list(map(bisect_right, repeat(token_ends), byte_starts))
    stops = [bisect_left(token_ends, end) + 1 for end in byte_ends]
    return firsts, stops


def _reduce_units(
    al: Alignment,
    starts: Sequence[int],
    ends: Sequence[int],
    values: list[float],
    *,
    largest: bool,
) -> list[float]:
    """The max (``largest``) or min of the token values of each unit; NaN if any is NaN."""
    if not len(starts):
        return []
    lengths = _token_lengths(al)
    firsts, stops = unit_token_ranges(al, starts, ends)
    out = []
    for first, stop in zip(firsts, stops):
        if stop - first == 1:
            out.append(values[first])
            continue
        picked = [values[j] for j in range(first, stop) if lengths[j]]  # empty tokens: no unit
        if any(v != v for v in picked):
            out.append(_NAN)
        else:
            out.append(max(picked) if largest else min(picked))
    if al.has_unknown:  # byte recovery could not place some tokens: their units say nothing
        bounds = al.char_bounds
        out = al.unknown_scores(
            list(map(bounds.__getitem__, starts)), list(map(bounds.__getitem__, ends)), out
        )
    return out


def unit_entropies(
    al: Alignment, records: Sequence[Any], starts: Sequence[int], ends: Sequence[int]
) -> list[float]:
    """Per unit: the largest entropy among its tokens (its least certain token)."""
    return _reduce_units(al, starts, ends, token_entropies(al, records), largest=True)


def unit_margins(
    al: Alignment, records: Sequence[Any], starts: Sequence[int], ends: Sequence[int]
) -> list[float]:
    """Per unit: the smallest margin among its tokens (its closest call)."""
    return _reduce_units(al, starts, ends, token_margins(al, records), largest=False)


# -- word probability with the end-of-word correction --------------------------------------------

# Scripts written without spaces between words: a leading space does not mark a word there.
_SPACELESS = regex.compile(
    r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}]"
)


def begins_word(data: bytes | None) -> bool:
    """Whether a token with bytes ``data`` begins a new word (its first character is whitespace)
    or ends the text (a special token without bytes, such as ``<|end|>``).

    >>> begins_word(b" \\xeb"), begins_word(b"\\n"), begins_word(None), begins_word(b","), begins_word(b"")
    (True, True, True, False, False)
    """
    if data is None:
        return True
    return data[:4].decode("utf-8", "replace")[:1].isspace()


def bow_mass_bounds(
    alternatives: Sequence[Alternative],
    data: bytes,
    *,
    token: str | None = None,
    logprob: float | None = None,
) -> tuple[float, float]:
    """``(low, high)`` bounds of P(bow | x): the probability that the token at this position
    begins a new word or ends the text, knowing only the listed alternatives and the token
    generated there (bytes ``data``, token string ``token``, ``logprob``; counted once, whether
    it is listed or not).

    ``low`` is the listed beginning-of-word mass, ``high`` is 1 minus the listed other mass.
    When the listed mass reaches 1 (all of it is listed; within :data:`FULL_MASS_TOLERANCE`, and
    rounded logprobs may sum a little over), both are the beginning-of-word share of it.

    >>> alts = (Alternative(" a", b" a", math.log(0.5)), Alternative(",", b",", math.log(0.25)))
    >>> bow_mass_bounds(alts, b" a")
    (0.5, 0.75)
    >>> bow_mass_bounds(alts, b"!", logprob=math.log(0.25))
    (0.5, 0.5)
    """
    bow = other = 0.0
    listed = False
    for alt in alternatives:
        p = _prob(alt.logprob)
        if begins_word(alt.bytes):
            bow += p
        else:
            other += p
        listed = listed or _is_chosen(alt, data, token)
    if not listed and logprob is not None:  # the generated token's probability is known too
        if begins_word(data):
            bow += _prob(logprob)
        else:
            other += _prob(logprob)
    return _mass_bounds(bow, other)


#: Listed mass this close to 1 is all of it (float rounding of a full distribution).
FULL_MASS_TOLERANCE = 1e-9


def _mass_bounds(bow: float, other: float) -> tuple[float, float]:
    total = bow + other
    if total >= 1.0 - FULL_MASS_TOLERANCE:
        share = bow / total
        return share, share
    return bow, 1.0 - other


def _log(x: float) -> float:
    return math.log(x) if x > 0 else -_INF


def word_logprob_bounds(
    al: Alignment, records: Sequence[Any], starts: Sequence[int], ends: Sequence[int]
) -> list[tuple[float, float]]:
    """``(low, high)`` bounds of each word's log-probability with the end-of-word correction
    (Pimentel & Meister, EMNLP 2024, "How to compute the probability of a word")::

        p(w | c) = p(tokens of w | c) · P(bow | c w) / P(bow | c)

    where P(bow | x) is the probability that the token after ``x`` begins a new word (its first
    character is whitespace) or ends the text. P(bow | x) is 1 at the start of the text and after
    whitespace (every token begins a word there); elsewhere it is bounded by
    :func:`bow_mass_bounds` of the alternatives at that position, and the word's bounds follow:
    ``low = lp + ln P_low(after) - ln P_high(before)``,
    ``high = min(0, lp + ln P_high(after) - ln P_low(before))``. They meet when the listed
    alternatives hold all the mass.

    NaN (both) where it does not apply: the word's first token carries bytes of the text before
    it (other than whitespace), or its last token bytes of the text after it; the word does not
    begin a word (no whitespace or text start before it, e.g. after punctuation inside a word);
    it holds a character of a script written without spaces (Han, kana, Thai, Lao, Khmer,
    Myanmar, Tibetan); no token follows it; the alternatives needed are missing; its tokens are
    uncertain after byte recovery.
    """
    count = len(starts)
    if not count:
        return []
    alternatives = _LazyAlternatives(al, records)  # only the tokens around words are read
    strings = _token_strings(records)
    data = _token_bytes(al)
    text, buffer, bounds = al.text, al.buffer, al.char_bounds
    lengths, logprobs, token_ends = _token_lengths(al), al.logprobs, al.token_ends
    firsts, stops = unit_token_ranges(al, starts, ends)
    nan_pair = (_NAN, _NAN)
    out: list[tuple[float, float]] = []
    for start, end, first, stop in zip(starts, ends, firsts, stops):
        byte_start, byte_end = bounds[start], bounds[end]
        last = stop - 1
        while last > first and not lengths[last]:
            last -= 1
        token_start = al.token_start(first)
        after = last + 1
        if (
            token_ends[last] != byte_end  # the last token runs on into the next text
            or after >= len(lengths)  # nothing follows the word
            or _SPACELESS.search(text, start, end)
            or not alternatives[after]
        ):
            out.append(nan_pair)
            continue
        lead = buffer[token_start:byte_start]
        if lead and not lead.decode("utf-8", "replace").isspace():
            out.append(nan_pair)  # the first token carries the end of the text before the word
            continue
        if token_start == 0 or text[al.char_at_byte(token_start - 1)].isspace():
            before_low = before_high = 1.0  # every token begins a word here
        elif not lead or not alternatives[first]:
            out.append(nan_pair)  # glued to the text before it, or no alternatives to bound P
            continue
        else:
            before_low, before_high = bow_mass_bounds(
                alternatives[first], data[first], token=strings[first], logprob=logprobs[first]
            )
        after_low, after_high = bow_mass_bounds(
            alternatives[after], data[after], token=strings[after], logprob=logprobs[after]
        )
        lp = sum(logprobs[first : last + 1])  # p(tokens of w | c), left to right
        low = lp + _log(after_low) - _log(before_high)
        high = lp + _log(after_high) - _log(before_low) if after_high > 0 else -_INF
        if low != low:  # -inf - -inf: a before mass of 0 with an after mass of 0
            low = -_INF
        out.append((min(low, 0.0), min(high, 0.0) if high == high else 0.0))
    if al.has_unknown:
        lows = al.unknown_scores(
            list(map(bounds.__getitem__, starts)),
            list(map(bounds.__getitem__, ends)),
            [low for low, _ in out],
        )
        out = [nan_pair if low != low else pair for low, pair in zip(lows, out)]
    return out


# -- a whole document ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocumentSummary:
    """Totals of one decoded output and its least certain places (``Decoded.summary()``)."""

    tokens: int
    """Number of tokens."""
    characters: int
    """Number of characters of the text."""
    bytes: int
    """Number of bytes of the text (every token's bytes joined)."""
    logprob: float
    """Sum of every token's logprob (``Decoded.logprob``; a ``-9999.0`` sentinel is kept)."""
    perplexity: float
    """``exp(-logprob / tokens)`` (NaN without tokens; ``inf`` where it overflows)."""
    bits_per_byte: float
    """``-logprob / ln 2 / bytes``: the information per byte of the output (NaN without bytes)."""
    bits_per_character: float
    """``-logprob / ln 2 / characters`` (NaN without characters)."""
    least_probable_char: Unit | None
    """The character with the lowest score (the first of equals; None without scored ones)."""
    least_certain_words: tuple[Unit, ...]
    """The ``n`` words with the lowest scores, least probable first (ties in text order)."""


def _per(total: float, count: int) -> float:
    return total / count if count else _NAN


def document_summary(doc: Decoded, n: int = 5) -> DocumentSummary:
    """The :class:`DocumentSummary` of ``doc`` with its ``n`` least certain words.

    >>> from tokbytes import decode
    >>> doc = decode([{"token": "hi", "bytes": [104, 105], "logprob": -0.2},
    ...               {"token": " you", "bytes": list(b" you"), "logprob": -1.6}])
    >>> s = document_summary(doc, 1)
    >>> round(s.perplexity, 4), round(s.bits_per_character, 4), s.least_certain_words[0].text
    (2.4596, 0.4328, 'you')
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InputError(f"summary(n) needs an int >= 0, got {n!r}")
    total = doc.logprob
    tokens, characters, size = len(doc.tokens), len(doc.text), len(doc.bytes)
    try:
        perplexity = math.exp(-total / tokens) if tokens else _NAN
    except OverflowError:
        perplexity = _INF
    bits = -total / math.log(2)
    chars = doc.chars.logprobs()
    scored = [i for i, lp in enumerate(chars) if lp == lp]
    least_char = doc.chars[min(scored, key=chars.__getitem__)] if scored else None
    word_scores = doc.words.logprobs()
    ranked = sorted(
        (i for i, lp in enumerate(word_scores) if lp == lp), key=word_scores.__getitem__
    )
    words = tuple(doc.words[i] for i in ranked[:n])
    return DocumentSummary(
        tokens,
        characters,
        size,
        total,
        perplexity,
        _per(bits, size),
        _per(bits, characters),
        least_char,
        words,
    )


def _token_lengths(al: Alignment) -> Sequence[int]:
    """Each token's byte count (the compiled core's alignments keep token ends only)."""
    if al.token_lengths is not None:
        return al.token_lengths
    ends = al.token_ends
    return [end - start for start, end in zip([0, *ends], ends)]
