"""Where the project's shared reference data lives, and how tests skip when it is absent.

The data (real tokenizers, recordings, Unicode and UTF-8 test files) sits in ``../shared/data``
beside the repository; it is never copied into the project. On a user's fresh clone it is absent,
and the tests that need it are skipped with a reason that says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def require_shared(relpath: str) -> Path:
    """The path of ``relpath`` under the shared data, or skip the calling test with a reason."""
    path = SHARED / relpath
    if not path.exists():
        pytest.skip(
            f"reference data {relpath} not found under {SHARED} (it is only present "
            "beside the project's own checkout, not in a fresh clone)"
        )
    return path


def cl100k_encoding():  # type: ignore[no-untyped-def]
    """The real cl100k_base tokenizer built offline from the shared rank file (or skip)."""
    tiktoken = pytest.importorskip("tiktoken")
    from tiktoken.load import load_tiktoken_bpe

    path = require_shared("tiktoken/cl100k_base.tiktoken")
    pattern = (
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++"""
        r"""[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
    )
    ranks = load_tiktoken_bpe(
        str(path), expected_hash="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
    )
    return tiktoken.Encoding(
        "cl100k_base",
        pat_str=pattern,
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 100257},
    )
