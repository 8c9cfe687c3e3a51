"""Errors raised by tokbytes.

Every error is a :class:`ValueError`, so ``except ValueError`` catches bad input the same way
``bytes.decode`` does::

    ValueError
     └── TokbytesError          anything tokbytes rejects
          ├── InputError        a record or container has the wrong shape or values
          │    └── RangeError   an index or span outside the text or tokens (also an
          │                     IndexError, as for any Python sequence)
          └── DecodeError       the bytes are not valid UTF-8 (strict mode), or a text
                                reported by the provider cannot be explained by the tokens

Messages name where the problem is (token index, field, byte offset), the bad value, and the fix.
"""

from __future__ import annotations

__all__ = ["DecodeError", "InputError", "RangeError", "TokbytesError"]


class TokbytesError(ValueError):
    """Base class of every error tokbytes raises."""


class InputError(TokbytesError):
    """A token record or container is malformed.

    ``token`` is the index of the offending token record (None when the container itself is wrong)
    and ``field`` the field that is wrong.
    """

    def __init__(self, message: str, *, token: int | None = None, field: str | None = None):
        super().__init__(message)
        self.token = token
        self.field = field


class RangeError(InputError, IndexError):
    """An index or span outside the text or the tokens (``char_to_token(99)``, ``span(5, 3)``,
    ``doc.tokens[99]``). One rule for every position argument: it is an :class:`InputError`
    and an :class:`IndexError`, so either ``except`` catches it."""


class DecodeError(TokbytesError):
    """The joined token bytes are not valid UTF-8.

    ``token`` is the index of the token holding the first bad byte, ``byte_offset`` the offset of
    that byte in the joined output, ``bad_bytes`` the offending bytes, and ``truncated`` is True when
    the output simply ends inside a character (an answer cut by ``max_tokens``).
    """

    def __init__(
        self,
        message: str,
        *,
        token: int | None = None,
        byte_offset: int | None = None,
        bad_bytes: bytes = b"",
        truncated: bool = False,
    ):
        super().__init__(message)
        self.token = token
        self.byte_offset = byte_offset
        self.bad_bytes = bad_bytes
        self.truncated = truncated

