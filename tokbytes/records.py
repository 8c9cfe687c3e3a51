"""Immutable records: tokens, their alternatives, text units, and recorded problems.

Records made once per token or per character are ``NamedTuple``s (cheap to create, C-level field
access); records made a few at a time are frozen dataclasses. Offsets are half-open: character
offsets ``start``/``end`` index ``Decoded.text``, byte offsets ``byte_start``/``byte_end`` index the
joined UTF-8 bytes of all tokens. ``logprob`` is always a natural logarithm.
"""

from __future__ import annotations

import builtins
import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

__all__ = ["Alternative", "BytesSource", "Problem", "ProblemKind", "Token", "Unit"]

#: Where a token's bytes came from (see ``Token.bytes_source``).
BytesSource = Literal["bytes", "escaped", "bpe_symbols", "byte_fallback", "aligned", "text"]


class Alternative(NamedTuple):
    """One of the ``top_logprobs`` alternatives of a token.

    Alternatives are byte sequences too: ``bytes`` may hold part of a character.
    """

    token: str
    """The token string as the provider wrote it (partial bytes escaped as ``\\xNN``)."""
    bytes: bytes | None
    """The alternative's bytes; None for special tokens the provider gives no bytes for."""
    logprob: float
    """Natural-log probability of this alternative at that position."""

    @property
    def text(self) -> str:
        """The bytes decoded with U+FFFD for partial characters (the token string when no bytes)."""
        if self.bytes is None:
            return self.token
        return self.bytes.decode("utf-8", "replace")


class Token(NamedTuple):
    """One generated token, as seen after decoding the whole output."""

    index: int  # type: ignore[assignment]  # shadows tuple.index, by contract
    """Position of the token in the output (0-based)."""
    token: str
    """The token string exactly as the provider gave it (may contain ``\\xNN`` escapes)."""
    bytes: bytes
    """The token's bytes (the truth; taken from the ``bytes`` field when given)."""
    logprob: float
    """Natural-log probability of the token."""
    top_logprobs: tuple[Alternative, ...]
    """The alternatives the provider returned for this position (may be empty)."""
    text: str
    """The characters whose *last* byte this token carries: joining every token's ``text`` gives
    ``Decoded.text``. Empty for a token that only starts a character."""
    byte_start: int
    """Offset of the token's first byte in the joined bytes."""
    byte_end: int
    """Offset just past the token's last byte."""
    bytes_source: BytesSource
    """Where ``bytes`` came from: ``"bytes"`` (the provider's field), ``"escaped"`` (``\\xNN`` or
    ``bytes:\\xNN`` token text), ``"bpe_symbols"``, ``"byte_fallback"``, ``"aligned"`` or ``"text"``."""

    @property
    def prob(self) -> float:
        """``exp(logprob)``."""
        return math.exp(self.logprob)


class Unit(NamedTuple):
    """A stretch of text (character, grapheme, word, span or JSON value) with its score.

    ``logprob`` follows the attribution chosen at decode time: with ``"cover"`` (default) it is the
    sum of the logprobs of every token that carries at least one of the unit's bytes; with
    ``"split"`` each token's logprob is shared among the units it touches in proportion to the
    bytes it gives each.
    """

    text: str
    """The unit's text: ``Decoded.text[start:end]``."""
    start: int
    """Character offset of the unit in ``Decoded.text``."""
    end: int
    """Character offset just past the unit (exclusive)."""
    byte_start: int
    """Offset of the unit's first byte in the joined token bytes."""
    byte_end: int
    """Offset just past the unit's last byte."""
    tokens: tuple[int, ...]
    """Ascending indices of every token that carries at least one byte of the unit."""
    logprob: float
    """Natural-log score of the unit (see the class docstring); NaN when its bytes are unknown."""
    replaced_bytes: builtins.bytes | None = None
    """The original bytes when the unit holds U+FFFD replacing invalid UTF-8 (``errors="replace"``),
    else None; :attr:`bytes` gives the unit's bytes either way."""

    @property
    def bytes(self) -> builtins.bytes:
        """The raw bytes behind the unit (``text.encode()`` unless invalid bytes were replaced)."""
        return self.replaced_bytes if self.replaced_bytes is not None else self.text.encode()

    @property
    def prob(self) -> float:
        """``exp(logprob)``: the probability the model gave to the tokens behind this unit."""
        return math.exp(self.logprob)


ProblemKind = Literal[
    "invalid_utf8",  # bytes that are not UTF-8, replaced by U+FFFD (errors="replace")
    "truncated",  # output ends inside a character (e.g. stopped by max_tokens)
    "bytes_inferred",  # no usable bytes field: bytes taken from the token string
    "bytes_recovered",  # bytes repaired (BPE symbols, byte fallback, realigned to the final text)
    "text_mismatch",  # the provider's final text disagrees with the tokens
    "empty_token",  # a token with no bytes: its logprob belongs to no unit
    "format_suspected",  # valid UTF-8 that looks like BPE symbols or byte pieces, kept as given
    "merged_tokens",  # llama.cpp: an entry holding several tokens, with its last one's logprob
    "text_trimmed",  # the reported text lacks the tokens' code fence or outer whitespace
]


@dataclass(frozen=True, slots=True)
class Problem:
    """Something tokbytes noticed and dealt with instead of raising (lenient modes)."""

    kind: ProblemKind
    """What happened (see ``ProblemKind``)."""
    message: str
    """A readable explanation naming the token, offset and bytes."""
    token: int | None = None
    """Index of the token concerned (the first one for multi-token problems)."""
    byte_start: int | None = None
    """Offset of the first byte concerned in the joined bytes."""
    byte_end: int | None = None
    """Offset just past the last byte concerned."""
    bytes: bytes = b""
    """The raw bytes concerned (e.g. the invalid sequence)."""
