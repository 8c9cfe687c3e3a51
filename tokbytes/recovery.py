r"""Byte recovery for providers whose ``bytes`` are missing or wrong.

Only OpenAI-style APIs and llama.cpp send a token's raw bytes. Other servers send something else,
and this module turns it back into bytes, per *response* (never per token: a real token may well
contain ``Ġ`` or ``<0x41>`` as text):

=================  ==========================================  ==================================
``bytes_source``   what the provider sent                      how it is recovered
=================  ==========================================  ==================================
``"bpe_symbols"``  GPT-2 byte-level BPE symbols (``æĺ¯`` for   every symbol is one byte: invert
                   是, ``Ġ`` for a space; vLLM with Qwen,       GPT-2's ``bytes_to_unicode`` table
                   lmdeploy), ``bytes`` = their UTF-8
``"byte_fallback"`` SentencePiece pieces: ``<0xE8>`` byte      ``<0xNN>`` → byte NN; with a
                   pieces, ``▁`` for a space                   reported text also ``▁`` → space
``"escaped"``      ``\xNN`` / ``bytes:\xNN`` token text whose  :func:`~tokbytes.escapes.token_text_to_bytes`
                   ``bytes`` field is wrong
``"aligned"``      U+FFFD (``[239, 191, 189]``) or ``""`` for   realigned to the reported text
                   a partial character (vLLM, Ollama)
=================  ==========================================  ==================================

(``"bytes"`` and ``"text"``, bytes given or taken from the token text, come from
:func:`tokbytes.alignment.read_records`.)

Detection
---------
*With a reported text* (``decode(..., text=...)``, or the text a whole response carries): when the
tokens' bytes already decode to it, nothing is changed (and nothing here runs). Otherwise the
interpretations are tried in this order, each over the whole response: the bytes as read, BPE
symbols (only if every token's text is made of the 256 symbols), SentencePiece pieces (only if
some token is a ``<0xNN>`` piece or holds ``▁``; first without, then with ``▁`` → space),
escaped token text (only if some token's string has escapes), and token strings taken as plain
text where escapes were decoded from them (a token may really read ``\xe9``). The first whose joined bytes equal the reported text wins; if none does, each is
realigned (below) in the same order. (SentencePiece drops the space its first ``▁`` stands for;
so does this module when that makes the text match.)

*Without a reported text* only strong evidence counts. ``<0xNN>`` pieces are converted when the
response has some and converting them gives valid UTF-8 (``▁`` is left alone: real text may
contain it). Else BPE symbols are inverted when the whole text is made of the 256 symbols,
contains at least one of the 68 shifted ones (U+0100–U+0143, which stand for the space, control
bytes and 0x7F–0xA0, 0xAD: a leaked space is ``Ġ``, so a real text with a space never passes) and
the inverted bytes are valid UTF-8 holding multi-byte characters or a space or newline (a leak
of ASCII text shows ``Ġ``/``Ċ``). Either way the result must hold no control characters but tab,
newline and a carriage return before a newline (``Ā`` inverts to NUL, ``č`` to a lone CR: real
Latin text such as ``čaj`` or ``Ā`` fails there).

Realignment
-----------
Tokens whose bytes are known (anything but U+FFFD and empty tokens) are anchors; they must appear
in order, byte for byte, in the reported text's UTF-8. The bytes between two anchors go to the
lossy tokens between them, under these constraints:

* each maximal run of U+FFFD in a token (one per invalid sequence, as ``bytes.decode(...,
  "replace")`` writes them, or one per run, as Go does) stands for at least as many bytes as it
  has U+FFFD, all non-ASCII, and never a whole character (a server that replaces partial bytes
  shows whole characters as they are); it may also be a real U+FFFD of the reported text;
* an empty token (``""``, ``[]``) stands for at least one byte (it held part of a character) and
  at most :data:`MAX_EMPTY_FRAGMENT` bytes; if the text cannot be explained that way, empty tokens
  may stand for no bytes (a special token such as an end-of-sequence marker).

Every way of cutting the text that meets the constraints is considered at once (a dynamic
program over positions, so repeated characters cannot mislead it); the one kept is the
*leftmost-longest*: earlier tokens take as many bytes as the constraints allow (byte-level BPE
merges common leading bytes, so a character split in two is usually ``2 + 1`` or ``3 + 1``).

Honest scores
-------------
When several cuts explain the text, the one kept decides which tokens hold which bytes. A unit's
token set is ``tokens holding its first byte … tokens holding its last byte``, so it is known
exactly when every cut puts its first and its last byte in the same tokens. That is the common
case: the tokens of one character split into U+FFFD fragments all lie inside that character, so
its cover score is exact however the bytes are shared among them. Units whose first or last byte
could belong to different tokens (and, when empty tokens may hold no bytes, units that touch
what such a token might hold) get ``logprob = nan``; their ``tokens`` follow the cut kept. Split
scores use the kept cut's byte counts.

When no cut explains the text, ``errors="strict"`` raises :class:`~tokbytes.DecodeError` naming
the first differing token, byte offset and both texts there; ``errors="replace"`` keeps the
tokens' own bytes, adds a ``"text_mismatch"`` problem for the differing stretch, and gives units
touching unrecovered U+FFFD bytes ``logprob = nan``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Final, Literal, NamedTuple

from .alignment import Alignment, Errors, align_parts
from .errors import DecodeError
from .escapes import has_escapes, token_text_to_bytes
from .records import BytesSource, Problem

__all__ = [
    "BYTE_SYMBOLS",
    "FFFD",
    "MAX_EMPTY_FRAGMENT",
    "Evidence",
    "Recovered",
    "bpe_symbols_to_bytes",
    "byte_pieces_to_bytes",
    "bytes_to_bpe_symbols",
    "changed_problems",
    "evidence",
    "TOKEN_FORMATS",
    "TokenFormat",
    "doubtful",
    "plausible_leak_token",
    "read_as",
    "read_response",
    "recover",
    "recover_without_text",
    "suspected_problem",
    "suspicious",
]

#: How token bytes are read (``decode(token_format=...)``, ``StreamDecoder(token_format=...)``).
TokenFormat = Literal["auto", "bytes", "bpe_symbols", "byte_fallback"]
TOKEN_FORMATS: tuple[TokenFormat, ...] = ("auto", "bytes", "bpe_symbols", "byte_fallback")

# -- data: GPT-2's byte-level BPE alphabet -------------------------------------------------------


def _gpt2_bytes_to_unicode() -> tuple[str, ...]:
    """GPT-2's ``bytes_to_unicode``: printable Latin-1 bytes map to themselves, the other 68
    (0x00–0x20, 0x7F–0xA0, 0xAD) to U+0100, U+0101, … in byte order (space → ``Ġ`` U+0120)."""
    printable = {*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)}
    table, shifted = [], 0
    for byte in range(256):
        if byte in printable:
            table.append(chr(byte))
        else:
            table.append(chr(0x100 + shifted))
            shifted += 1
    return tuple(table)


#: ``BYTE_SYMBOLS[b]`` is the symbol byte-level BPE tokenizers print for byte ``b``.
BYTE_SYMBOLS: Final = _gpt2_bytes_to_unicode()
# str.translate table: symbol → the Latin-1 character of its byte (then .encode("latin-1")).
_SYMBOL_TO_LATIN1: Final = {ord(symbol): byte for byte, symbol in enumerate(BYTE_SYMBOLS)}
_NOT_SYMBOL: Final = re.compile("[^" + re.escape("".join(BYTE_SYMBOLS)) + "]")
_SHIFTED: Final = re.compile("[\u0100-\u0143]")
# C0 and C1 controls but tab, newline, carriage return: never in real model output.
_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LONE_CR: Final = re.compile(rb"\r(?!\n)")

# -- data: SentencePiece pieces, U+FFFD ----------------------------------------------------------

_BYTE_PIECE: Final = re.compile(rb"<0x([0-9A-F]{2})>")
_SPACE_PIECE: Final = "\u2581".encode()  # ▁ LOWER ONE EIGHTH BLOCK: SentencePiece's space
#: U+FFFD's UTF-8: what lossy servers send for a partial character.
FFFD: Final = "\ufffd".encode()
_FFFD: Final = FFFD

#: Most bytes an empty token (``""``, ``[]``) may stand for when realigning.
MAX_EMPTY_FRAGMENT: Final = 32
# Most positions the realignment keeps open at once (beyond: "cannot be explained").
_MAX_STATES: Final = 50_000
_BIG: Final = 1 << 62


class Recovered(NamedTuple):
    """What recovery made of a response's tokens (input to ``alignment.align_parts``)."""

    parts: list[bytes]
    """Each token's bytes."""
    sources: tuple[BytesSource, ...]
    """Where each token's bytes came from."""
    problems: list[Problem]
    """One ``"bytes_recovered"`` problem per token changed, or a ``"text_mismatch"``."""
    unknown_edges: frozenset[int]
    """Byte offsets whose token is uncertain: a unit starting or ending on one has no score."""
    unknown_spans: tuple[tuple[int, int], ...]
    """Byte ranges of unknown ownership: a unit touching one has no score."""


# -- public helpers ------------------------------------------------------------------------------


def bytes_to_bpe_symbols(data: bytes) -> str:
    """Write bytes as byte-level BPE symbols, the way vLLM and lmdeploy leak them.

    >>> bytes_to_bpe_symbols("是".encode()), bytes_to_bpe_symbols(b" that")
    ('æĺ¯', 'Ġthat')
    """
    return "".join(map(BYTE_SYMBOLS.__getitem__, data))


def bpe_symbols_to_bytes(symbols: str) -> bytes | None:
    """The bytes behind a string of byte-level BPE symbols; None if it holds other characters.

    >>> bpe_symbols_to_bytes("æĺ¯").decode(), bpe_symbols_to_bytes("Ġ\\"#")
    ('是', b' "#')
    >>> bpe_symbols_to_bytes("是") is None
    True
    """
    if _NOT_SYMBOL.search(symbols):
        return None
    return symbols.translate(_SYMBOL_TO_LATIN1).encode("latin-1")


def suspicious(text: str, buffer: bytes) -> bool:
    """Cheap test (C-level searches) for a response that may hold BPE symbols or byte pieces.

    >>> suspicious("æĺ¯", "æĺ¯".encode()), suspicious("是 a", "是 a".encode())
    (True, False)
    >>> suspicious("a<0x0A>", b"a<0x0A>")
    True
    """
    if b"<0x" in buffer:
        return True
    return not text.isascii() and _NOT_SYMBOL.search(text) is None


#: What one token's bytes say about the response's format (see :func:`evidence`).
Evidence = Literal["same", "undecided", "bytes", "bpe_symbols", "byte_fallback"]


def evidence(data: bytes) -> Evidence:
    """What one token's bytes (as sent) say about how the response writes its tokens.

    ``"byte_fallback"`` for a whole ``<0xNN>`` piece; ``"bpe_symbols"`` for BPE symbols alone
    with at least one shifted one (``Ġ``, ``Ċ``, U+0100–U+0143); ``"bytes"`` for any character
    that is no BPE symbol (a space, CJK, U+FFFD) or bytes that are not UTF-8; ``"same"`` for
    printable ASCII (read the same either way); ``"undecided"`` for Latin-1 symbols (``æ``, ``é``).

    >>> [evidence(x.encode()) for x in ("<0xE8>", "Ġthe", "the", "æé", " the", "是")]
    ['byte_fallback', 'bpe_symbols', 'same', 'undecided', 'bytes', 'bytes']
    """
    if _BYTE_PIECE.fullmatch(data):
        return "byte_fallback"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "bytes"
    if _NOT_SYMBOL.search(text):
        return "bytes"
    if _SHIFTED.search(text):
        return "bpe_symbols"
    return "same" if text.isascii() else "undecided"


def byte_pieces_to_bytes(data: bytes, *, spaces: bool = False) -> bytes:
    """One SentencePiece piece's bytes: ``<0xNN>`` → that byte; with ``spaces``, ``▁`` → space.

    >>> byte_pieces_to_bytes(b"<0xE8>"), byte_pieces_to_bytes("▁Hi".encode(), spaces=True)
    (b'\\xe8', b' Hi')
    """
    match = _BYTE_PIECE.fullmatch(data)
    if match:
        return bytes([int(match.group(1), 16)])
    if spaces and _SPACE_PIECE in data:
        return data.replace(_SPACE_PIECE, b" ")
    return data


# -- interpretations -----------------------------------------------------------------------------


def _as_bpe(parts: Sequence[bytes]) -> list[bytes] | None:
    out = []
    for part in parts:
        try:
            data = bpe_symbols_to_bytes(part.decode("utf-8"))
        except UnicodeDecodeError:
            return None
        if data is None:
            return None
        out.append(data)
    return out


def _as_pieces(parts: Sequence[bytes], *, spaces: bool) -> list[bytes] | None:
    out = [byte_pieces_to_bytes(part, spaces=spaces) for part in parts]
    return out if out != parts else None


def _as_escaped(parts: Sequence[bytes], tokens: Sequence[str | None]) -> list[bytes] | None:
    out, changed = [], False
    for part, token in zip(parts, tokens):
        if isinstance(token, str) and has_escapes(token):
            data = token_text_to_bytes(token)
            changed = changed or data != part
            out.append(data)
        else:
            out.append(part)
    return out if changed else None


def _candidates(
    parts: list[bytes], sources: Sequence[BytesSource], tokens: Sequence[str | None]
) -> list[tuple[BytesSource, list[bytes]]]:
    """The interpretations worth trying, the bytes as read first."""
    found: list[tuple[BytesSource, list[bytes]]] = [("bytes", parts)]
    bpe = _as_bpe(parts)
    if bpe is not None and bpe != parts:
        found.append(("bpe_symbols", bpe))
    for spaces in (False, True):
        pieces = _as_pieces(parts, spaces=spaces)
        if pieces is not None and all(pieces != other for _, other in found):
            found.append(("byte_fallback", pieces))
    escaped = _as_escaped(parts, tokens)
    if escaped is not None:
        found.append(("escaped", escaped))
    literal = _as_literal(parts, sources, tokens)
    if literal is not None:
        found.append(("text", literal))
    return found


def _as_literal(
    parts: Sequence[bytes], sources: Sequence[BytesSource], tokens: Sequence[str | None]
) -> list[bytes] | None:
    """Token strings taken as plain text where their escapes were decoded (a real ``\\xe9``)."""
    out, changed = [], False
    for part, source, token in zip(parts, sources, tokens):
        if source == "escaped" and isinstance(token, str):
            data = token.encode("utf-8", "surrogatepass")
            changed = changed or data != part
            out.append(data)
        else:
            out.append(part)
    return out if changed else None


def _strip_dummy_prefix(parts: list[bytes], target: bytes) -> list[bytes] | None:
    """SentencePiece drops the space of the first ``▁``: do so when that makes the text match."""
    joined = b"".join(parts)
    if not (joined.startswith(b" ") and joined[1:] == target):
        return None
    out = list(parts)
    for j, part in enumerate(out):
        if part:
            out[j] = part[1:]
            break
    return out


# -- entry points --------------------------------------------------------------------------------


def recover_without_text(
    parts: list[bytes], sources: Sequence[BytesSource], *, first_index: int = 0
) -> Recovered | None:
    """BPE symbols or ``<0xNN>`` pieces on strong evidence alone (see the module docstring).

    None when neither is evident (the bytes then stay as they are).

    >>> r = recover_without_text([b"\\xc3\\xa6\\xc4\\xba\\xc2\\xaf", b"\\xc4\\xa0ok"], ["bytes"] * 2)
    >>> [p.decode() for p in r.parts], r.sources
    (['是', ' ok'], ('bpe_symbols', 'bpe_symbols'))
    >>> recover_without_text([b"caf\\xc3\\xa9"], ["bytes"]) is None
    True
    """
    joined = b"".join(parts)
    try:
        text = joined.decode("utf-8")
    except UnicodeDecodeError:
        return None
    chosen: tuple[BytesSource, list[bytes]] | None = None
    if b"<0x" in joined:
        pieces = _as_pieces(parts, spaces=False)
        if pieces is not None and _plausible_text(b"".join(pieces)):
            chosen = ("byte_fallback", pieces)
    if (
        chosen is None
        and not text.isascii()
        and _NOT_SYMBOL.search(text) is None
        and _SHIFTED.search(text)
    ):
        bpe = _as_bpe(parts)
        if bpe is not None and _plausible_leak(b"".join(bpe)):
            chosen = ("bpe_symbols", bpe)
    if chosen is None:
        return None
    source, new = chosen
    new_sources = _sources_after(parts, new, sources, source)
    problems = changed_problems(parts, new, new_sources, first_index, "")
    return Recovered(new, new_sources, problems, frozenset(), ())


def recover(
    parts: list[bytes],
    sources: Sequence[BytesSource],
    tokens: Sequence[str | None],
    *,
    text: str,
    errors: str = "strict",
    first_index: int = 0,
    first_byte: int = 0,
    only_given: bool = False,
) -> Recovered:
    """Recover the tokens' bytes so that they spell ``text``, the provider's reported text.

    ``parts`` are the bytes as read, ``sources`` where they came from, ``tokens`` the token
    strings (None where absent). Raises :class:`~tokbytes.DecodeError` when no interpretation
    explains ``text`` and ``errors`` is ``"strict"`` (with ``only_given``, the bytes are read
    as they are, an explicit token format, and only lossy tokens realign). ``first_index`` and
    ``first_byte`` shift
    the token indices and byte offsets that problems and errors report (a window of a stream);
    ``unknown_edges`` and ``unknown_spans`` stay relative to ``parts``.

    Ollama's 😊 (four tokens, each sent as U+FFFD):

    >>> r = recover([b"\\xef\\xbf\\xbd"] * 4, ["bytes"] * 4, ["\\ufffd"] * 4, text="😊")
    >>> r.parts, r.sources[0], r.problems[0].message
    ([b'\\xf0', b'\\x9f', b'\\x98', b'\\x8a'], 'aligned', "token 0: b'\\\\xef\\\\xbf\\\\xbd' realigned to the reported text: b'\\\\xf0'")
    """
    target = text.encode("utf-8", "surrogatepass")
    # only_given: the caller fixed the format (token_format=...): only lossy tokens realign.
    given: list[tuple[BytesSource, list[bytes]]] = [("bytes", parts)]
    candidates = given if only_given else _candidates(parts, sources, tokens)
    for source, new in candidates:
        if source == "byte_fallback":
            new = _strip_dummy_prefix(new, target) or new
        if b"".join(new) == target:
            new_sources = _sources_after(parts, new, sources, source)
            problems = changed_problems(parts, new, new_sources, first_index, first_byte=first_byte)
            return Recovered(new, new_sources, problems, frozenset(), ())
    for source, new in candidates:
        aligned = _realign(new, target)
        if aligned is None:
            continue
        fixed, touched, edges, spans = aligned
        realigned = list(_sources_after(parts, new, sources, source))
        for j in touched:
            realigned[j] = "aligned"
        note = ""
        if edges or spans:
            note = "; several cuts explain the text, units whose tokens depend on it have no score"
        problems = changed_problems(
            parts, fixed, realigned, first_index, note, first_byte=first_byte
        )
        return Recovered(fixed, tuple(realigned), problems, edges, spans)
    return _mismatch(parts, candidates, sources, target, errors, first_index, first_byte)


# -- realignment ---------------------------------------------------------------------------------

_LITERAL, _LOSSY, _EMPTY = 0, 1, 2


class _Segment(NamedTuple):
    kind: int
    data: bytes  # the literal bytes (kind _LITERAL)
    owners: tuple[tuple[int, int], ...]  # literal: (token, length) pieces; else ((token, count),)


def _segments(parts: Sequence[bytes]) -> list[_Segment]:
    """Literal blocks (known bytes of consecutive tokens) and the lossy pieces between them."""
    segments: list[_Segment] = []
    block = bytearray()
    owners: list[tuple[int, int]] = []

    def flush() -> None:
        if owners:
            segments.append(_Segment(_LITERAL, bytes(block), tuple(owners)))
            block.clear()
            owners.clear()

    for j, part in enumerate(parts):
        if not part:
            flush()
            segments.append(_Segment(_EMPTY, b"", ((j, 0),)))
            continue
        if _FFFD not in part:
            block += part
            owners.append((j, len(part)))
            continue
        count = 0
        pieces = part.split(_FFFD)
        for k, piece in enumerate(pieces):
            count += k > 0
            if piece:
                if count:
                    flush()
                    segments.append(_Segment(_LOSSY, b"", ((j, count),)))
                    count = 0
                block += piece
                owners.append((j, len(piece)))
        if count:
            flush()
            segments.append(_Segment(_LOSSY, b"", ((j, count),)))
    flush()
    return segments


Intervals = list[tuple[int, int]]  # sorted, disjoint, inclusive ranges of byte positions


def _lossy_ends(p: int, count: int, target: bytes) -> Intervals:
    """Where a run of ``count`` U+FFFD starting at byte ``p`` can end (inclusive ranges)."""
    n = len(target)
    # Non-ASCII bytes that hold no whole character: at most up to the last byte of the first
    # character starting at or after p (ASCII bytes and whole characters are never replaced).
    start = p
    while start < n and target[start] & 0xC0 == 0x80:
        start += 1
    if start < n and target[start] >= 0x80:
        end = start + 1
        while end < n and target[end] & 0xC0 == 0x80:
            end += 1
        last = end - 1
    else:
        last = start
    found = [(p + count, last)] if p + count <= last else []
    if target.startswith(_FFFD * count, p):  # a real U+FFFD of the reported text
        found.append((p + 3 * count, p + 3 * count))
    return found


def _fits(segment: _Segment, p: int, y: int, target: bytes, empty_min: int) -> bool:
    """Can ``segment`` cover exactly ``target[p:y]``?"""
    if segment.kind == _LITERAL:
        return y - p == len(segment.data) and target.startswith(segment.data, p)
    if segment.kind == _EMPTY:
        return empty_min <= y - p <= MAX_EMPTY_FRAGMENT
    return any(a <= y <= b for a, b in _lossy_ends(p, segment.owners[0][1], target))


def _merge(ranges: Intervals) -> Intervals:
    ranges.sort()
    out: Intervals = []
    for lo, hi in ranges:
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _forward(segment: _Segment, states: Intervals, target: bytes, empty_min: int) -> Intervals:
    """Every position ``segment`` can end at, starting from any of ``states``."""
    n = len(target)
    if segment.kind == _LITERAL:
        data, size = segment.data, len(segment.data)
        found: Intervals = []
        for lo, hi in states:
            q = target.find(data, lo, hi + size)  # C-level search for the anchor
            while q >= 0:
                found.append((q + size, q + size))
                q = target.find(data, q + 1, hi + size)
        return found  # already sorted and disjoint
    if segment.kind == _EMPTY:
        return _merge(
            [
                (lo + empty_min, min(n, hi + MAX_EMPTY_FRAGMENT))
                for lo, hi in states
                if lo + empty_min <= n
            ]
        )
    count = segment.owners[0][1]
    return _merge(
        [r for lo, hi in states for p in range(lo, hi + 1) for r in _lossy_ends(p, count, target)]
    )


def _inside(states: Intervals, p: int) -> bool:
    k = bisect_right(states, (p, _BIG)) - 1
    return k >= 0 and states[k][0] <= p <= states[k][1]


def _backward(
    segment: _Segment, states: Intervals, ends: set[int], target: bytes, empty_min: int
) -> set[int]:
    """The starts among ``states`` from which ``segment`` can end at one of ``ends``."""
    if segment.kind == _LITERAL:
        size = len(segment.data)
        return {
            y - size
            for y in ends
            if _inside(states, y - size) and target.startswith(segment.data, y - size)
        }
    if segment.kind == _EMPTY:  # any start within reach: intersect two interval lists
        reach = _merge([(max(0, y - MAX_EMPTY_FRAGMENT), y - empty_min) for y in ends])
        found: set[int] = set()
        for lo, hi in reach:
            k = max(0, bisect_right(states, (lo, _BIG)) - 1)
            while k < len(states) and states[k][0] <= hi:
                a, b = states[k]
                found.update(range(max(lo, a), min(hi, b) + 1))
                k += 1
        return found
    else:  # a U+FFFD run: at most a tail and a head of a character, or that many real U+FFFD
        count = segment.owners[0][1]
        low, high = -max(6, 3 * count), -count
    return {
        p
        for y in ends
        for p in range(max(0, y + low), y + high + 1)
        if _inside(states, p) and _fits(segment, p, y, target, empty_min)
    }


def _reach(segments: list[_Segment], target: bytes, empty_min: int) -> list[set[int]] | None:
    """For each segment boundary, the positions on some complete cut of the text (or None)."""
    forward: list[Intervals] = [[(0, 0)]]
    for segment in segments:
        states = _forward(segment, forward[-1], target, empty_min)
        if not states or len(states) > _MAX_STATES:
            return None
        forward.append(states)
    n = len(target)
    if not _inside(forward[-1], n):
        return None
    alive: list[set[int]] = [set() for _ in forward]
    alive[-1] = {n}
    for i in range(len(segments) - 1, -1, -1):
        alive[i] = _backward(segments[i], forward[i], alive[i + 1], target, empty_min)
        if len(alive[i]) > _MAX_STATES:
            return None
    return alive


def _realign(
    parts: list[bytes], target: bytes
) -> tuple[list[bytes], list[int], frozenset[int], tuple[tuple[int, int], ...]] | None:
    """The leftmost-longest cut of ``target`` among the lossy tokens, or None if there is none.

    Returns the new parts, the tokens that took bytes from the text, the byte offsets whose token
    is uncertain and the ranges an empty token may or may not hold.
    """
    segments = _segments(parts)
    if not any(s.kind != _LITERAL for s in segments):
        return None
    alive = None
    for empty_min in (1, 0) if any(s.kind == _EMPTY for s in segments) else (1,):
        alive = _reach(segments, target, empty_min)
        if alive is not None:
            break
    if alive is None:
        return None
    new = [bytearray() for _ in parts]
    touched: list[int] = []
    p = 0
    for i, segment in enumerate(segments):
        if segment.kind == _LITERAL:
            y = p + len(segment.data)
        else:
            y = max(e for e in alive[i + 1] if _fits(segment, p, e, target, empty_min))
        _assign(segment, target, p, y, new, touched)
        p = y
    edges, spans = _uncertain(segments, alive, empty_min)
    done = set(touched)
    fixed = [bytes(b) if j in done else part for j, (b, part) in enumerate(zip(new, parts))]
    return fixed, touched, edges, spans


def _assign(
    segment: _Segment, target: bytes, p: int, y: int, new: list[bytearray], touched: list[int]
) -> None:
    if segment.kind == _LITERAL:
        for j, length in segment.owners:
            new[j] += target[p : p + length]
            p += length
        return
    j = segment.owners[0][0]
    new[j] += target[p:y]
    if not touched or touched[-1] != j:
        touched.append(j)


def _uncertain(
    segments: list[_Segment], alive: list[set[int]], empty_min: int
) -> tuple[frozenset[int], tuple[tuple[int, int], ...]]:
    """Bytes that may belong to different tokens in different cuts; ranges an empty token may
    hold or not.

    Where a segment's start or end differs between cuts, each of its tokens may hold any byte
    from its earliest possible start to its latest possible end (a superset when the cuts leave
    holes: then more units than strictly necessary go without a score, never fewer).
    """
    holders: dict[int, set[int]] = {}
    spans: list[tuple[int, int]] = []
    for i, segment in enumerate(segments):
        starts, stops = alive[i], alive[i + 1]
        if len(starts) == 1 and len(stops) == 1:
            continue  # one start, one end: the same bytes in every cut
        first, last = min(starts), max(starts)
        if segment.kind == _LITERAL:
            hulls = []
            for j, length in segment.owners:
                hulls.append((first, last + length, j))
                first, last = first + length, last + length
        else:
            j = segment.owners[0][0]
            hulls = [(first, max(stops), j)]
            if segment.kind == _EMPTY and empty_min == 0 and starts & stops and max(stops) > first:
                spans.append((first, max(stops)))  # none, or some bytes: unknown either way
        for low, high, j in hulls:
            for b in range(low, high):
                holders.setdefault(b, set()).add(j)
    edges = frozenset(b for b, js in holders.items() if len(js) > 1)
    return edges, tuple(spans)


# -- bookkeeping ---------------------------------------------------------------------------------


def _plausible_text(data: bytes) -> bool:
    """Valid UTF-8 without control characters other than tab, newline and carriage return."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _CONTROL.search(text) is None


def _plausible_leak(data: bytes) -> bool:
    """Inverted BPE symbols that look like a leak, not like real Latin text (``čaj`` → CR + aj):
    plausible text, no CR without LF, and either multi-byte characters or a space or newline."""
    if not _plausible_text(data) or _LONE_CR.search(data):
        return False
    return not data.isascii() or b" " in data or b"\n" in data


_C0_CONTROL: Final = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plausible_leak_token(data: bytes) -> bool:
    r"""One token's inverted BPE symbols could be a leak: no C0 control byte but tab and newline,
    and no CR without LF (a stream decides at its first shifted symbol; ``č`` is not a CR).

    >>> plausible_leak_token(b" the"), plausible_leak_token(b"\r"), plausible_leak_token(b"\r\n")
    (True, False, True)
    """
    return _C0_CONTROL.search(data) is None and _LONE_CR.search(data) is None


def _sources_after(
    old: Sequence[bytes], new: Sequence[bytes], sources: Sequence[BytesSource], source: BytesSource
) -> tuple[BytesSource, ...]:
    if source == "bytes":
        return tuple(sources)
    return tuple(s if a == b else source for a, b, s in zip(old, new, sources))


_HOW: Final[dict[str, str]] = {
    "bpe_symbols": "byte-level BPE symbols decoded",
    "byte_fallback": "SentencePiece piece decoded",
    "escaped": "escaped token text decoded",
    "aligned": "realigned to the reported text",
}


def changed_problems(
    old: Sequence[bytes],
    new: Sequence[bytes],
    sources: Sequence[BytesSource],
    first_index: int = 0,
    note: str = "",
    *,
    first_byte: int = 0,
) -> list[Problem]:
    """One ``"bytes_recovered"`` problem per token whose bytes changed from ``old`` to ``new``.

    ``sources[j]`` says how token ``j``'s new bytes were found; ``first_index`` and
    ``first_byte`` are the index and byte offset of the first token (a window of a stream).

    >>> found = changed_problems([b"<0xE8>", b"a"], [b"\\xe8", b"a"], ["byte_fallback", "bytes"])
    >>> for problem in found:
    ...     print(problem.message)
    token 0: b'<0xE8>' SentencePiece piece decoded: b'\\xe8'
    """
    problems = []
    ends = list(accumulate(map(len, new), initial=first_byte))
    for j, (a, b) in enumerate(zip(old, new)):
        if a == b:
            continue
        index = first_index + j
        problems.append(
            Problem(
                "bytes_recovered",
                f"token {index}: {a!r} {_HOW.get(sources[j], 'recovered')}: {b!r}{note}",
                token=index,
                byte_start=ends[j],
                byte_end=ends[j + 1],
                bytes=b,
            )
        )
    return problems


def _common_prefix(a: bytes, b: bytes) -> int:
    """Length of the longest common prefix (binary search over C-level slice compares)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _around(data: bytes, at: int, before: int = 12, after: int = 24) -> str:
    """The text of ``data`` around byte ``at``, cut at character starts."""
    low, high = max(0, at - before), min(len(data), at + after)
    while 0 < low < len(data) and data[low] & 0xC0 == 0x80:
        low -= 1
    while high < len(data) and data[high] & 0xC0 == 0x80:
        high += 1
    return data[low:high].decode("utf-8", "replace")


def _where(token: int | None, first_index: int) -> str:
    """How a message names the token concerned: ``token N``, or where there is none."""
    if token is not None:
        return f"token {token}"
    return "no token" if first_index == 0 else f"past the last token ({first_index - 1})"


def _mismatch(
    parts: list[bytes],
    candidates: list[tuple[BytesSource, list[bytes]]],
    sources: Sequence[BytesSource],
    target: bytes,
    errors: str,
    first_index: int,
    first_byte: int,
) -> Recovered:
    """No interpretation explains the text: raise, or keep the best one and say where it differs."""
    source, new = candidates[0]
    best = _common_prefix(b"".join(new), target)
    for other_source, other in candidates[1:]:
        length = _common_prefix(b"".join(other), target)
        if length > best:
            source, new, best = other_source, other, length
    joined = b"".join(new)
    start = best
    while start and start < len(joined) and joined[start] & 0xC0 == 0x80:
        start -= 1  # show whole characters
    suffix = _common_prefix(joined[::-1], target[::-1])
    end = max(start, len(joined) - suffix)
    ends = list(accumulate(map(len, new)))
    token: int | None = None  # no token here: the reported text has text past the last one
    if new:
        token = first_index + min(bisect_right(ends, start), len(new) - 1)
    ours, theirs = _around(joined, start), _around(target, start)
    lossy = sum(1 for part in new if not part or _FFFD in part)
    message = (
        f"{_where(token, first_index)}: the tokens' text differs from the reported text at byte "
        f"{start + first_byte}: "
        f"tokens give {ours!r}, the reported text has {theirs!r}"
        + (f" ({lossy} lossy tokens could not be realigned)" if lossy else "")
    )
    if errors == "strict":
        raise DecodeError(
            message + ". Use errors='replace' to keep the tokens' text and a problem.",
            token=token,
            byte_offset=start + first_byte,
            bad_bytes=joined[start:end],
        )
    new_sources = _sources_after(parts, new, sources, source)
    problems = changed_problems(parts, new, new_sources, first_index, first_byte=first_byte)
    problems.append(
        Problem(
            "text_mismatch",
            message,
            token=token,
            byte_start=start + first_byte,
            byte_end=end + first_byte,
            bytes=joined[start:end],
        )
    )
    spans = []
    offset = 0
    for part in new:
        if _FFFD in part:
            spans.append((offset, offset + len(part)))
        offset += len(part)
    return Recovered(new, new_sources, problems, frozenset(), tuple(spans))


# -- one whole response --------------------------------------------------------------------------


def read_as(
    parts: Sequence[bytes],
    token_format: TokenFormat,
    *,
    first_index: int = 0,
    first_byte: int = 0,
) -> tuple[list[bytes], list[BytesSource], list[Problem]]:
    """Each token's bytes read as the caller said they are written (an explicit
    ``token_format``): ``"bpe_symbols"`` inverts GPT-2's table, ``"byte_fallback"`` reads
    ``<0xNN>`` pieces and ``▁`` as a space; ``"bytes"`` (and ``"auto"``) keep them.

    Token by token, so a stream reads each as it comes and gets what a whole response gets.
    A token that is not BPE symbols keeps its bytes, with a ``"text_mismatch"`` problem.

    >>> parts, sources, problems = read_as([b"\\xc4\\xa0ok", b"!"], "bpe_symbols")
    >>> parts, sources, [p.kind for p in problems]
    ([b' ok', b'!'], ['bpe_symbols', 'bytes'], ['bytes_recovered'])
    """
    out: list[bytes] = []
    sources: list[BytesSource] = []
    problems: list[Problem] = []
    start = first_byte
    for k, data in enumerate(parts):
        index = first_index + k
        new = data
        if token_format == "bpe_symbols":
            try:
                symbols: bytes | None = bpe_symbols_to_bytes(data.decode("utf-8"))
            except UnicodeDecodeError:
                symbols = None
            if symbols is not None:
                new = symbols
            else:
                problems.append(
                    Problem(
                        "text_mismatch",
                        f"token {index}: {data!r} is not byte-level BPE symbols "
                        "(token_format='bpe_symbols'); its bytes are kept as given",
                        token=index,
                        byte_start=start,
                        byte_end=start + len(data),
                        bytes=data,
                    )
                )
        elif token_format == "byte_fallback":
            new = byte_pieces_to_bytes(data, spaces=True)
        source: BytesSource = "bytes"
        if new != data:
            source = "bpe_symbols" if token_format == "bpe_symbols" else "byte_fallback"
            problems += changed_problems([data], [new], (source,), index, first_byte=start)
        out.append(new)
        sources.append(source)
        start += len(new)
    return out, sources, problems


def doubtful(data: bytes, token: str | None, source: BytesSource) -> bool:
    """Could a reading other than the bytes as given change this token, should a reported text
    disagree with them? (A stream then holds it back until the text is known.)

    True for lossy tokens (U+FFFD, empty), ``<0xNN>`` pieces and ``▁``, bytes taken from
    escapes, and token strings whose escapes say other bytes. BPE symbols are judged over the
    whole stream (see :class:`tokbytes.StreamDecoder`).

    >>> doubtful(b"ok", "ok", "bytes"), doubtful(b"", "", "bytes"), doubtful(b"<0xE8>", None, "bytes")
    (False, True, True)
    """
    if not data or _FFFD in data or _SPACE_PIECE in data or _BYTE_PIECE.fullmatch(data):
        return True
    if source == "escaped":
        return True  # the token string may be literal text (a real "\xe9")
    return token is not None and has_escapes(token) and token_text_to_bytes(token) != data


_WHAT: Final[dict[str, tuple[str, str]]] = {
    "bpe_symbols": ("byte-level BPE symbols", "bpe_symbols"),
    "byte_fallback": ("SentencePiece <0xNN> byte pieces", "byte_fallback"),
}


def suspected_problem(
    parts: list[bytes], sources: Sequence[BytesSource], *, first_index: int = 0
) -> Problem | None:
    """A ``"format_suspected"`` problem when valid UTF-8 looks like BPE symbols or byte pieces
    (see :func:`recover_without_text`): the bytes stay as given, the problem says how to opt in.

    >>> print(suspected_problem([b"\\xc4\\xa0gantija", b"."], ["bytes"] * 2).message)
    token 0 looks like byte-level BPE symbols ('Ġgantija' would read ' gantija'); the bytes are kept as given, since valid UTF-8 is the truth without a reported text. If the provider leaks byte-level BPE symbols, pass token_format='bpe_symbols' or the reported text= to decode them
    """
    found = recover_without_text(parts, sources, first_index=first_index)
    if found is None:
        return None
    changed = [k for k, (a, b) in enumerate(zip(parts, found.parts)) if a != b]
    if not changed:
        return None
    k = changed[0]
    what, name = _WHAT.get(found.sources[k], ("another format", found.sources[k]))
    first, last = first_index + changed[0], first_index + changed[-1]
    where = f"token {first} looks" if first == last else f"tokens {first}-{last} look"
    example = parts[k].decode("utf-8", "replace")
    reading = found.parts[k].decode("utf-8", "replace")
    return Problem(
        "format_suspected",
        f"{where} like {what} ({example!r} would read {reading!r}); the bytes are kept as "
        "given, since valid UTF-8 is the truth without a reported text. If the provider leaks "
        f"{what}, pass token_format={name!r} or the reported text= to decode them",
        token=first,
        bytes=parts[k],
    )


def _held_tail(alignment: Alignment, text: str) -> bool:
    """The reported text is the tokens' text plus U+FFFD no token carries: llama.cpp cut the
    answer inside a character and held its bytes back."""
    tail = text[len(alignment.text) :]
    return bool(tail) and text.startswith(alignment.text) and set(tail) == {"\ufffd"}


def read_response(
    parts: list[bytes],
    logprobs: list[float],
    sources: Sequence[BytesSource] | None,
    problems: list[Problem],
    tokens: Sequence[str | None],
    *,
    text: str | None,
    errors: Errors = "strict",
    token_format: TokenFormat = "auto",
) -> Alignment:
    """Align a whole response's token bytes by the rules of ``docs/recovery.md``.

    This is :func:`tokbytes.decode` once the records are read, and what a stream does at
    ``close()`` when it had to wait. The bytes as given (or as an explicit ``token_format``
    says), and

    * without a reported ``text``: valid UTF-8 stays as it is; where it looks like BPE symbols
      or byte pieces, a ``"format_suspected"`` problem says how to opt in;
    * with a text the bytes do not spell: recovery (BPE symbols, pieces, escapes, realignment of
      lossy tokens; with an explicit ``token_format`` only the realignment); a text that is the
      tokens' text plus U+FFFD is a reply cut inside a character (``"truncated"``).

    >>> al = read_response([b"\\xc4\\xa0ok"], [-0.5], None, [], [None], text=" ok")
    >>> al.text, [p.kind for p in al.problems]
    (' ok', ['bytes_recovered'])
    """
    problems = list(problems)
    given: list[BytesSource] = list(sources) if sources else ["bytes"] * len(parts)
    if token_format in ("bpe_symbols", "byte_fallback"):
        parts, read, read_problems = read_as(parts, token_format)
        given = [r if r != "bytes" else g for r, g in zip(read, given)]
        problems += read_problems
    failure: DecodeError | None = None
    alignment: Alignment | None = None
    as_given = tuple(given) if any(s != "bytes" for s in given) else None
    try:
        alignment = align_parts(parts, logprobs, errors=errors, sources=as_given, problems=problems)
    except DecodeError as exc:
        if text is None:
            raise
        failure = exc
    if alignment is not None:
        if text is None:
            if token_format == "auto" and suspicious(alignment.text, alignment.buffer):
                found = suspected_problem(parts, given)
                if found is not None:
                    alignment.problems = (*alignment.problems, found)
            return alignment
        if alignment.text == text or _only_truncated(alignment, text):
            return alignment
        if _held_tail(alignment, text):
            return _cut_inside(alignment, errors)
        trimmed = _trimmed(alignment.text, text)
        if trimmed is not None:
            alignment.problems = (*alignment.problems, trimmed)
            return alignment
    try:
        recovered = recover(
            parts, given, tokens, text=text or "", errors=errors, only_given=token_format != "auto"
        )
    except DecodeError:
        if failure is not None:
            raise failure from None  # the bytes themselves are invalid: say that
        raise
    return align_parts(
        recovered.parts,
        logprobs,
        errors=errors,
        sources=recovered.sources,
        problems=[*problems, *recovered.problems],
        unknown_edges=recovered.unknown_edges,
        unknown_spans=recovered.unknown_spans,
    )


# What a server may strip around a reply it reports: a code fence (llama.cpp's JSON-schema chat
# replies lose "```json" and "```"), reasoning tags (a stream's reasoning chunks end with the
# "</think>" token) and whitespace.
_FENCE_HEAD: Final = re.compile(r"\s*(?:`{1,3}[A-Za-z]*|<think>)?\s*")
_FENCE_TAIL: Final = re.compile(r"\s*(?:`{1,3}|</think>)?\s*")


def _trimmed(ours: str, text: str) -> Problem | None:
    """A ``"text_trimmed"`` problem when ``text`` is the tokens' text without a code fence or
    outer whitespace (the bytes stay the truth: ``Decoded.text`` keeps them), else None."""
    at = ours.find(text) if text else -1
    if at < 0:
        return None
    head, tail = ours[:at], ours[at + len(text) :]
    if not (_FENCE_HEAD.fullmatch(head) and _FENCE_TAIL.fullmatch(tail)):
        return None
    start = len(head.encode("utf-8", "surrogatepass"))
    return Problem(
        "text_trimmed",
        f"the reported text is the tokens' text without {head!r} before it and {tail!r} after "
        "it (llama.cpp strips the code fence and outer whitespace of JSON-schema replies, "
        "reasoning parsers the <think> tags, while the tokens keep them): the text is the "
        "tokens' own",
        byte_start=start,
        byte_end=start + len(text.encode("utf-8", "surrogatepass")),
    )


def _only_truncated(alignment: Alignment, text: str) -> bool:
    """The reported text leaves out the partial character a cut-off answer ends with."""
    problems = alignment.problems
    return (
        any(p.kind == "truncated" for p in problems[-2:])
        and alignment.text.endswith("\ufffd")
        and alignment.text[:-1] == text
    )


def _cut_inside(alignment: Alignment, errors: Errors) -> Alignment:
    """The tokens' text, and a ``"truncated"`` problem (strict: the truncated DecodeError)."""
    size = len(alignment.buffer)
    last = len(alignment) - 1 if len(alignment) else None
    message = (
        f"{_where(last, 0)}: the reported text ends with U+FFFD for bytes no token carries, at byte "
        f"{size}: the answer was cut inside a character (llama.cpp holds the bytes of an "
        "unfinished character back)"
    )
    if errors == "strict":
        raise DecodeError(
            message + ". Use errors='replace' to keep the tokens' text and a problem.",
            token=last,
            byte_offset=size,
            truncated=True,
        )
    problem = Problem(
        "truncated",
        message + "; the text is the tokens' own",
        token=last,
        byte_start=size,
        byte_end=size,
    )
    alignment.problems = (*alignment.problems, problem)
    return alignment
