"""Row writers of :func:`tokbytes.batch.score`: Parquet, JSONL, CSV, always written atomically.

The file is written to a temporary file in the target's folder and renamed over the target only
when every row is written, so an exception, Ctrl-C or SIGTERM leaves no partial output (and an
existing file untouched). Rows are dicts whose values are str, int, float, None or a list of str.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any, Literal

from .errors import InputError

__all__ = ["arrow_schema", "atomic_writer", "output_kind"]

OutputKind = Literal["parquet", "jsonl", "csv"]
Fields = Sequence[tuple[str, str]]
Write = Callable[[list[dict[str, Any]]], None]

_EXTENSIONS: dict[str, OutputKind] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
}
_ROW_GROUP = 65_536  # Parquet rows buffered per row group


def output_kind(path: str) -> OutputKind:
    """The format ``path`` asks for by its extension (``-`` = JSONL on stdout).

    >>> output_kind("scores.parquet"), output_kind("-"), output_kind("a.CSV")
    ('parquet', 'jsonl', 'csv')
    """
    if path == "-":
        return "jsonl"
    kind = _EXTENSIONS.get(os.path.splitext(path)[1].lower())
    if kind is None:
        raise InputError(
            f"{path}: the output name must end in .parquet, .jsonl or .csv (the format is chosen "
            "by extension)"
        )
    if kind == "parquet":
        _pyarrow()
    return kind


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ImportError(
            'writing Parquet needs pyarrow: pip install "tokbytes[arrow]" (or write .jsonl/.csv)'
        ) from None
    return pyarrow


def arrow_schema(fields: Fields) -> Any:
    """The ``pyarrow.Schema`` of rows with these fields (``RESPONSE_FIELDS`` or ``UNIT_FIELDS``)."""
    pa = _pyarrow()
    types = {
        "str": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "list[str]": pa.list_(pa.string()),
    }
    return pa.schema([(name, types[kind]) for name, kind in fields])


@contextlib.contextmanager
def atomic_writer(path: str, kind: OutputKind, fields: Fields) -> Iterator[Write]:
    """A function writing lists of rows to ``path``, which appears only when the block succeeds."""
    if path == "-":
        yield _jsonl_writer(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tokbytes-", suffix=".tmp", dir=folder)
    except OSError as e:
        raise InputError(f"{path}: cannot write: {e.strerror or e}") from None
    written = False  # past the caller's block: an OSError now is ours (disk full, rename)
    try:
        with os.fdopen(fd, "wb") as f:
            if kind == "parquet":
                with _parquet_writer(tmp, fields) as write:
                    yield _guarded(path, write)
                    written = True
            elif kind == "csv":
                text = io.TextIOWrapper(f, encoding="utf-8", newline="")
                yield _guarded(path, _csv_writer(text, fields))
                written = True
                text.flush()
                text.detach()
            else:
                yield _guarded(path, _jsonl_writer(f))
                written = True
        os.chmod(tmp, _new_file_mode(path))  # mkstemp makes 0600; scores are for sharing
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if written and isinstance(e, OSError):
            raise InputError(f"{path}: cannot write: {e.strerror or e}") from None
        raise


def _guarded(path: str, write: Write) -> Write:
    """``write``, with an OSError (disk full, ...) as an :class:`InputError` naming the file."""

    def guarded(rows: list[dict[str, Any]]) -> None:
        try:
            write(rows)
        except OSError as e:
            raise InputError(f"{path}: cannot write: {e.strerror or e}") from None

    return guarded


def _new_file_mode(path: str) -> int:
    """The mode a plain ``open(path, "w")`` would give: the existing file's, or 0666 & ~umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _jsonl_writer(f: IO[bytes]) -> Write:
    def write(rows: list[dict[str, Any]]) -> None:
        # values are already finite or None: allow_nan=False guards the JSON standard
        f.write(
            "".join(
                json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n" for row in rows
            ).encode("utf-8")
        )

    return write


def _csv_writer(f: IO[str], fields: Fields) -> Write:
    names = [name for name, _ in fields]
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(names)

    def cell(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, list):
            return " ".join(value)
        return value  # csv writes floats with repr: they read back bit for bit

    def write(rows: list[dict[str, Any]]) -> None:
        writer.writerows([cell(row[name]) for name in names] for row in rows)

    return write


@contextlib.contextmanager
def _parquet_writer(path: str, fields: Fields) -> Iterator[Write]:
    pa = _pyarrow()
    schema = arrow_schema(fields)
    buffered: list[dict[str, Any]] = []
    with pa.parquet.ParquetWriter(path, schema) as writer:

        def flush() -> None:
            writer.write_table(pa.Table.from_pylist(buffered, schema=schema))
            buffered.clear()

        def write(rows: list[dict[str, Any]]) -> None:
            buffered.extend(rows)
            if len(buffered) >= _ROW_GROUP:
                flush()

        yield write
        if buffered:
            flush()
