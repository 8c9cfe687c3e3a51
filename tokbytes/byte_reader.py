"""A stream's tokens → verified bytes: the first of :class:`~tokbytes.StreamDecoder`'s two parts.

:class:`ByteReader` reads each token's bytes as :func:`tokbytes.decode` reads them in the whole
response (:mod:`tokbytes.recovery`). Bytes no other reading could change, whatever text the
provider reports, are *verified* and go on to the unit window at once. A token another reading
could change (U+FFFD or empty, a ``<0xNN>`` piece, ``▁``, escapes that disagree with the bytes;
with ``token_format="auto"`` also non-ASCII BPE symbols while every token so far could be BPE
symbols) holds itself and everything after it: a token that cannot be a BPE symbol releases a
BPE hold, anything else waits for the end of the stream, which reads every token again with
:func:`~tokbytes.recovery.read_response` (what ``decode`` runs). Tokens before the first hold
keep their bytes under every reading ``decode`` may choose, so what was emitted is what
``decode`` gives.

The reader keeps every token compactly (its bytes in one buffer, its end offset, its logprob)
for that whole-stream reading and for the exact problem a text mismatch gets; the records
themselves only with ``keep_history``.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from typing import Any

from .alignment import LOGPROB_TOLERANCE
from .escapes import token_text_to_bytes
from .records import BytesSource, Problem
from .recovery import FFFD as _FFFD
from .recovery import TokenFormat, doubtful, evidence, read_as

__all__ = ["ByteReader", "token_says"]

_SPACE_PIECE = "\u2581".encode()


class ByteReader:
    """Token bytes as ``decode`` reads them, and whether the stream must wait (``holding``).

    ``plain`` says that :meth:`take_verified` applies: the bytes of a plain record go on as given
    (``token_format="bytes"``, or ``"auto"`` once a token ruled BPE symbols out, and nothing
    held). The compiled core's feeders do what :meth:`take_verified` does, in C, and append to
    the same copy (``all_bytes``, ``all_ends``, ``all_logprobs``) and history.
    """

    __slots__ = (
        "all_bytes",
        "all_ends",
        "all_logprobs",
        "all_sources",
        "all_tokens",
        "bpe_hold",
        "bpe_possible",
        "doubt",
        "history",
        "inferred",
        "next_byte",
        "plain",
        "recovered",
        "seen",
        "token_format",
    )

    def __init__(self, token_format: TokenFormat, *, keep_history: bool) -> None:
        self.token_format: TokenFormat = token_format
        # every token as sent: its bytes in one buffer, its end offset, its logprob
        self.all_bytes = bytearray()
        self.all_ends: array[int] = array("q")
        self.all_logprobs: list[float] = []
        self.all_sources: dict[int, BytesSource] = {}  # where not "bytes"
        self.all_tokens: dict[int, str] = {}  # token strings of doubtful tokens
        self.history: list[Any] | None = [] if keep_history else None
        self.inferred: list[Problem] = []  # problems in batch order: bytes inferred, ...
        self.recovered: list[Problem] = []  # ... bytes read as token_format says
        self.doubt = False  # a token another reading could change came: hold until the end
        self.bpe_possible = token_format == "auto"  # every token so far: BPE symbols
        self.bpe_hold = False  # ... and one of them non-ASCII: hold while that lasts
        self.next_byte = 0  # global byte offset just past the last token read (explicit formats)
        self.seen = 0  # tokens read
        self.plain = token_format == "bytes"

    @property
    def holding(self) -> bool:
        """Tokens wait for the evidence: a doubtful token, or a possible BPE-symbol leak."""
        return self.doubt or (self.bpe_hold and self.bpe_possible)

    def take_verified(self, record: Any) -> tuple[bytes, float] | None:
        """Keep one plain OpenAI-style record whose bytes no reading can change (while
        :attr:`plain`) and return its bytes and logprob; or None, keeping nothing: :meth:`read`
        then decides."""
        if not self.plain or type(record) is not dict or "logprob" not in record:
            return None
        raw, logprob = record.get("bytes"), record["logprob"]
        # Plain values only (bytes() rejects non-ints and values outside 0-255, and True and
        # False would read as SOH and NUL, which model output never holds); anything else goes
        # through read_records, which names the token and the field.
        if type(raw) is not list or type(logprob) is not float or not logprob <= LOGPROB_TOLERANCE:
            return None
        try:
            data = bytes(raw)
        except (TypeError, ValueError):
            return None
        token = record.get("token")
        if (
            not data
            or b"\0" in data
            or b"\1" in data
            or data[0] == 60  # "<": maybe a <0xNN> piece
            or _FFFD in data
            or _SPACE_PIECE in data
            or (type(token) is str and not token_says(token, data))
        ):
            return None
        if self.history is not None:
            self.history.append(record)
        self.seen += 1
        self.all_bytes += data
        self.all_ends.append(len(self.all_bytes))
        self.all_logprobs.append(logprob)
        return data, logprob

    def read(
        self,
        parts: list[bytes],
        logprobs: list[float],
        sources: Sequence[BytesSource],
        tokens: Sequence[str | None],
    ) -> list[bytes]:
        """Read tokens as ``decode`` reads them in the whole response: their bytes as read
        (the unit window takes them; while :attr:`holding` it only keeps them)."""
        auto = self.token_format == "auto"
        explicit = self.token_format in ("bpe_symbols", "byte_fallback")
        out = []
        for data, logprob, source, token in zip(parts, logprobs, sources, tokens):
            index = self.seen
            self.seen += 1
            self.all_bytes += data
            self.all_ends.append(len(self.all_bytes))
            self.all_logprobs.append(logprob)
            if source != "bytes":
                self.all_sources[index] = source
            if explicit:
                read, read_sources, problems = read_as(
                    [data], self.token_format, first_index=index, first_byte=self.next_byte
                )
                data = read[0]
                self.recovered.extend(problems)
                if read_sources[0] != "bytes":
                    source = read_sources[0]
                self.next_byte += len(data)  # (explicit formats never take the plain path)
            if auto:
                if self.bpe_possible:
                    found = evidence(data)
                    if found == "bytes":  # no BPE symbol: the response cannot be a leak
                        self.bpe_possible = False
                    elif found in ("bpe_symbols", "undecided"):
                        self.bpe_hold = True
                doubt = doubtful(data, token, source)
            else:
                doubt = not data or _FFFD in data  # lossy: realigned to the text at the end
            if doubt and token is not None:
                self.all_tokens[index] = token
            self.doubt = self.doubt or doubt
            out.append(data)
        # The plain path takes bytes as given: never for explicit formats (read_as reads them)
        self.plain = not self.holding and (
            self.token_format == "bytes" or (auto and not self.bpe_possible)
        )
        return out

    def whole(self) -> tuple[list[bytes], list[BytesSource], list[str | None]]:
        """Every token's bytes as sent, where they came from, and the strings that matter: what
        ``read_response`` reads at the end of a stream that waited."""
        data, ends = bytes(self.all_bytes), self.all_ends
        parts = [data[a:b] for a, b in zip([0, *ends[:-1]], ends)]
        count = len(parts)
        sources: list[BytesSource] = ["bytes"] * count
        for k, source in self.all_sources.items():
            sources[k] = source
        tokens: list[str | None] = [None] * count
        for k, token in self.all_tokens.items():
            tokens[k] = token
        return parts, sources, tokens


def token_says(token: str, data: bytes) -> bool:
    r"""The token string says these bytes, so no reading of it can change them: it has no
    escapes, or escapes of exactly these bytes (``recovery.doubtful`` is then False).

    The backslashreplace form (how OpenAI writes partial characters) is checked first: it reads
    back as the bytes unless they hold a backslash of their own or begin with ``bytes:``.

    >>> token_says("\\xec\\x9a", b"\xec\x9a"), token_says("\\xc3\\xa9", b"\\xc3\\xa9")
    (True, False)
    """
    if "\\" not in token:
        return not token.startswith("bytes:") or token_text_to_bytes(token) == data
    if (
        b"\\" not in data
        and not data.startswith(b"bytes:")
        and token == data.decode("utf-8", "backslashreplace")
    ):
        return True
    return token_text_to_bytes(token) == data


def token_string(record: Any) -> str | None:
    """A record's token string, or None."""
    token = record.get("token") if isinstance(record, Mapping) else getattr(record, "token", None)
    return token if isinstance(token, str) else None
