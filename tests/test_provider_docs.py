"""The Python examples of docs/providers.md and docs/recovery.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("name", ["providers.md", "recovery.md"])
def test_doc_examples_run(name: str) -> None:
    text = (DOCS / name).read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert blocks
    for number, block in enumerate(blocks):
        exec(compile(block, f"<docs/{name} python block {number}>", "exec"), {})
