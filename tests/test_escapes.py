"""escapes: token strings as providers print them ↔ bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tokbytes.escapes import bytes_to_token_text, has_escapes, token_text_to_bytes


@given(st.binary(max_size=16))
def test_printed_token_strings_round_trip_to_bytes(data: bytes) -> None:
    printed = bytes_to_token_text(data)
    if "\\x" not in data.decode("utf-8", "replace"):  # a literal "\x" in the bytes is ambiguous
        assert token_text_to_bytes(printed) == data


@given(st.binary(min_size=1, max_size=8))
def test_legacy_bytes_form_round_trips(data: bytes) -> None:
    legacy = "bytes:" + "".join(f"\\x{b:02x}" for b in data)
    assert token_text_to_bytes(legacy) == data and has_escapes(legacy)


def test_ascii_escapes_are_literal_text() -> None:
    assert token_text_to_bytes("\\x41\\x7f") == b"\\x41\\x7f"
    assert not has_escapes("\\x41")
    assert token_text_to_bytes("bytes:abc") == b"bytes:abc"  # not the legacy form: no escapes
