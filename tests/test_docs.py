"""Every ``python`` and ``bash`` code block in ``docs/*.md`` runs as written.

A page's python blocks run in order in one namespace (later blocks use what earlier ones made),
in a scratch folder holding the files the docs name (``answer.json``, ``stream.sse``,
``batch_output.jsonl``: the CLI test fixtures), with ``OPENAI_BASE_URL`` pointing at the loopback
OpenAI server (``tests/openai_server.py``), so ``ChatOpenAI(...)`` examples stream real HTTP.
Bash blocks run through ``bash -eu`` in the same kind of folder, ``tokbytes`` being this
checkout's ``python -m tokbytes``. A block that cannot run here is fenced ``python skip: <reason>``
or ``bash skip: <reason>``; the reason is required. Blocks in other languages (plain ```` ``` ````,
``text``) are output, not code.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.extras import skip_if_extra_missing
from tests.openai_server import OpenAIServer
from tests.shared_data import SHARED, require_shared

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
DATA = Path(__file__).resolve().parent / "data"
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.S | re.M)
#: The files the docs' examples read, made from the CLI fixtures.
FILES = {
    "answer.json": "cli_completion.json",
    "stream.sse": "cli_stream.sse",
    "batch_output.jsonl": "cli_batch.jsonl",
}
#: Reference recordings the docs read, copied into the scratch folder (never into the repo);
#: a page that names one is skipped where ``../shared/data`` is absent.
SHARED_FILES = {
    "gpt4_korean_poem_top20.json": "recordings/state-of-the-art/gpt4_korean_poem_top20.json",
}


class Block(NamedTuple):
    page: str
    line: int
    language: str
    skip: str | None  # the reason, for a block fenced "<language> skip: <reason>"
    code: str
    output: str | None  # a ```text block right after it: what the code prints


def blocks(path: Path) -> Iterator[Block]:
    text = path.read_text(encoding="utf-8")
    matches = list(FENCE.finditer(text))
    for number, match in enumerate(matches):
        language, info = match.group(1), match.group(2).strip()
        if language not in ("python", "bash"):
            continue
        skip = None
        if info.startswith("skip"):
            skip = info[len("skip") :].lstrip(":").strip()
        line = text.count("\n", 0, match.start()) + 1
        output = None
        following = matches[number + 1] if number + 1 < len(matches) else None
        if (
            following is not None
            and following.group(1) == "text"
            and not text[match.end() : following.start()].strip()
        ):
            output = following.group(3)
        yield Block(path.name, line, language, skip, match.group(3), output)


ALL = [block for path in DOCS for block in blocks(path)]


def test_the_docs_have_code_blocks_and_every_skip_says_why() -> None:
    assert len(ALL) >= 15
    for block in ALL:
        assert block.skip is None or len(block.skip) > 10, (
            f"{block.page} line {block.line}: write '```{block.language} skip: <reason>'"
        )


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder with the files the docs name, and the loopback server as OpenAI's address."""
    for name, fixture in FILES.items():
        shutil.copy(DATA / fixture, tmp_path / name)
    for name, relpath in SHARED_FILES.items():
        if (SHARED / relpath).exists():
            shutil.copy(SHARED / relpath, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    with OpenAIServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key-for-the-loopback-server")
        monkeypatch.delenv("OPENAI_API_BASE", raising=False)
        yield tmp_path


PAGES = sorted({b.page for b in ALL if b.language == "python" and b.skip is None})


@pytest.mark.parametrize("page", PAGES)
def test_python_blocks_run(page: str, scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runnable = [b for b in ALL if b.page == page and b.language == "python" and b.skip is None]
    for name, relpath in SHARED_FILES.items():
        if any(name in b.code for b in runnable):
            require_shared(relpath)
    namespace: dict[str, object] = {"__name__": f"docs_{page[:-3]}"}
    for block in runnable:
        # A pseudo file name: tools that read source lines (Hypothesis) must not read the page.
        code = compile(block.code, f"<docs/{page} python block at line {block.line}>", "exec")
        capsys.readouterr()
        try:
            exec(code, namespace)
        except ImportError as exc:
            skip_if_extra_missing(str(exc), f"docs/{page} line {block.line}", exc)
            raise AssertionError(f"docs/{page} line {block.line}: {exc!r}") from exc
        except Exception as exc:
            raise AssertionError(f"docs/{page} line {block.line}: {exc!r}") from exc
        if block.output is not None:  # the output shown under the block is what it prints
            assert capsys.readouterr().out == block.output, f"docs/{page} line {block.line}"


BASH = [b for b in ALL if b.language == "bash" and b.skip is None]


@pytest.mark.parametrize("block", BASH, ids=[f"{b.page}:{b.line}" for b in BASH])
def test_bash_blocks_run(block: Block, scratch: Path) -> None:
    prelude = f'tokbytes() {{ "{sys.executable}" -m tokbytes "$@"; }}\n'
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(
        ["bash", "-eu", "-o", "pipefail", "-c", prelude + block.code],
        cwd=scratch,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=300,
    )
    if result.returncode != 0:
        skip_if_extra_missing(result.stderr, f"docs/{block.page} line {block.line}")
    assert result.returncode == 0, f"docs/{block.page} line {block.line}: {result.stderr[-2000:]}"
    assert "Traceback" not in result.stderr
