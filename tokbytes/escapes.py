"""Token strings ↔ bytes: the ``\\xNN`` and ``bytes:\\xNN`` forms providers print partial bytes in.

OpenAI-style APIs write a token's bytes that are not valid UTF-8 on their own the way Python's
``bytes.decode("utf-8", "backslashreplace")`` does: ``[235, 175]`` → ``'\\xeb\\xaf'``. That
handler only ever escapes bytes 0x80–0xFF (ASCII is always valid), so ``\\x41`` in a token string is
literal text, never the byte 0x41. Legacy completions write whole partial tokens as
``bytes:\\xe9\\x80`` instead; there every ``\\xNN`` is a byte.
"""

from __future__ import annotations

import re

__all__ = ["bytes_to_token_text", "has_escapes", "token_text_to_bytes"]

# Escapes a backslashreplace decode can produce: bytes 0x80-0xFF only (ASCII is never escaped).
_HIGH_ESCAPE = re.compile(r"\\x([89a-fA-F][0-9a-fA-F])")
_ANY_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")
_LEGACY_PREFIX = "bytes:"


def bytes_to_token_text(data: bytes) -> str:
    r"""Write token bytes the way OpenAI-style APIs print them.

    >>> bytes_to_token_text(bytes([235, 175]))
    '\\xeb\\xaf'
    >>> bytes_to_token_text("서".encode())
    '서'
    """
    return data.decode("utf-8", "backslashreplace")


def has_escapes(token: str) -> bool:
    r"""True when the token string carries escaped bytes (``\xNN`` ≥ 0x80 or ``bytes:``).

    >>> has_escapes('\\xeb\\xaf'), has_escapes('plain'), has_escapes('bytes:\\x82')
    (True, False, True)
    """
    return token.startswith(_LEGACY_PREFIX) or _HIGH_ESCAPE.search(token) is not None


def token_text_to_bytes(token: str) -> bytes:
    r"""Recover a token's bytes from its printed string.

    ``\xNN`` escapes of bytes 0x80–0xFF become those bytes, the ``bytes:\xNN…`` form becomes its
    bytes, and any other text is UTF-8 encoded.

    >>> token_text_to_bytes('\\xeb\\xaf')
    b'\xeb\xaf'
    >>> token_text_to_bytes(' \\xec\\x9a')
    b' \xec\x9a'
    >>> token_text_to_bytes('bytes:\\xe9\\x80')
    b'\xe9\x80'
    >>> token_text_to_bytes('\\x41 is literal')
    b'\\x41 is literal'
    """
    if token.startswith(_LEGACY_PREFIX) and _ANY_ESCAPE.match(token, len(_LEGACY_PREFIX)):
        pattern, body = _ANY_ESCAPE, token[len(_LEGACY_PREFIX) :]
    elif "\\x" in token:
        pattern, body = _HIGH_ESCAPE, token
    else:
        return token.encode("utf-8", "surrogatepass")
    out = bytearray()
    pos = 0
    for match in pattern.finditer(body):
        out += body[pos : match.start()].encode("utf-8", "surrogatepass")
        out.append(int(match.group(1), 16))
        pos = match.end()
    out += body[pos:].encode("utf-8", "surrogatepass")
    return bytes(out)
