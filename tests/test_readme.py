"""The README's Python examples run as written (blocks marked ``python skip`` need a live model)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.extras import skip_if_extra_missing

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)


def test_readme_examples_run() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 3
    namespace: dict[str, object] = {}
    for number, block in enumerate(blocks):
        # A pseudo file name: tools that read source lines (Hypothesis) must not read README.md.
        try:
            exec(compile(block, f"<README.md python block {number}>", "exec"), namespace)
        except ImportError as exc:
            skip_if_extra_missing(str(exc), f"README.md python block {number}", exc)
            raise


def test_readme_shows_the_words_the_code_prints(capsys) -> None:  # type: ignore[no-untyped-def]
    namespace: dict[str, object] = {}
    exec(compile(python_blocks()[0], "<README.md python block 0>", "exec"), namespace)
    printed = capsys.readouterr().out.strip()
    text = README.read_text(encoding="utf-8")
    assert printed in text  # the output block under the example is what the example prints
