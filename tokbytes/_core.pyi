"""Types of the compiled core (``_core.pyx``); see that file and ``_speedups.py``."""

from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .records import Unit

def read_records(records: Any) -> tuple[bytes, array[int], list[float]] | None: ...
def char_starts(buffer: bytes) -> array[int]: ...
def left_sum(values: Any) -> float | None: ...
def word_ranges(pieces: list[str]) -> tuple[array[int], array[int]]: ...
def ascii_word_classes() -> list[str]: ...
def ascii_word_ranges(text: str) -> tuple[array[int], array[int]] | None: ...
def uax29_word_ranges(
    text: str, split: Callable[[str], list[str]], min_gap: int = 64
) -> tuple[array[int], array[int]]: ...

class Aligned:
    text: str
    n_tokens: int
    n_chars: int
    def logprobs_of(
        self,
        starts: array[int] | None,
        ends: array[int] | None,
        lo: int,
        hi: int,
        split: bool,
        whole: array[int] | None = None,
    ) -> list[float]: ...
    def units(
        self,
        starts: array[int] | None,
        ends: array[int] | None,
        lo: int,
        hi: int,
        split: bool,
        whole: array[int] | None = None,
    ) -> Iterator[Unit]: ...
    def unit(self, start: int, end: int, split: bool, whole: array[int] | None = None) -> Unit: ...
    def word_denominators(self, starts: Sequence[int], ends: Sequence[int]) -> array[int]: ...

def aligned(
    text: str,
    token_ends: Sequence[int],
    logprobs: list[float],
    char_bounds: Sequence[int],
    token_base: int,
    byte_base: int,
    char_base: int,
) -> Aligned | None: ...
def set_joining(table: bytes) -> None: ...
def backslashreplaced(token: str, data: bytes) -> bool: ...
def has_joining() -> bool: ...
def set_joining_low(table: bytes) -> None: ...
def has_joining_low() -> bool: ...
def grapheme_bounds(text: str, findall: Callable[..., list[str]]) -> array[int] | None: ...

class CharFeeder:
    def feed(self, x: Any) -> list[Unit] | None: ...
    def state(
        self,
    ) -> tuple[list[bytes], list[float], int, int, int, int, int, int, str, None]: ...

def char_feeder(
    parts: list[bytes],
    logprobs: list[float],
    token_base: int,
    byte_base: int,
    done: int,
    char_base: int,
    seen: int,
    reported_tokens: int,
    history: list[Any] | None,
    all_bytes: bytearray,
    all_ends: array[int],
    all_logprobs: list[float],
    token_to_bytes: Any,
    graphemes: bool = False,
) -> CharFeeder | None: ...
def token_says(token: str, data: bytes, token_to_bytes: Any) -> bool: ...
def stream_feed(self: Any, x: Any) -> list[Unit]: ...
def set_word_classes(classify: Any) -> None: ...
def has_word_classes() -> bool: ...
def word_breaks(text: str) -> list[int] | None: ...

class SegmentFeeder:
    def feed(self, x: Any) -> list[Unit] | None: ...
    def state(
        self,
    ) -> tuple[list[bytes], list[float], int, int, int, int, int, int, str, str | None]: ...

def segment_feeder(
    parts: list[bytes],
    logprobs: list[float],
    token_base: int,
    byte_base: int,
    done: int,
    char_base: int,
    seen: int,
    reported_tokens: int,
    history: list[Any] | None,
    all_bytes: bytearray,
    all_ends: array[int],
    all_logprobs: list[float],
    token_to_bytes: Any,
    context: str,
    graphemes: bool = False,
) -> SegmentFeeder | None: ...
def set_grapheme_classes(classify: Any) -> None: ...
def has_grapheme_classes() -> bool: ...
def grapheme_breaks(text: str) -> list[int] | None: ...
def word_context(text: str, frontier: int) -> str | None: ...
