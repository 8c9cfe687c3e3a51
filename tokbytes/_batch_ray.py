"""The Ray Data engine of :func:`tokbytes.batch.score` (the only Ray import; ``tokbytes[ray]``).

Ray Data reads the files (``read_binary_files``: local paths, or any filesystem Ray reaches on a
cluster), splits them into numbered lines, cuts them into blocks of a chunk's size so every CPU
of the cluster gets work even from one file, and ``map_batches`` scores each block with the same
picklable scorer the local engine uses. Blocks come back in input order (``preserve_order``) and
the driver writes them to the single output file, so both engines write the same rows in the
same order.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import pickle
from collections.abc import Generator, Sequence
from typing import Any

from .batch import _CHUNK_LINES, _Scored, _Scorer, split_lines
from .errors import InputError

__all__ = ["ray_engine"]


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise ImportError(
            'the Ray engine needs Ray Data: pip install "tokbytes[ray]" (or use the local '
            "engine, which uses every core of this machine)"
        ) from None
    return ray


def _numbered_lines(names: dict[str, str], row: dict[str, Any]) -> list[dict[str, Any]]:
    """One file's row → one row per non-blank line: ``source`` ("file:line") and ``line``."""
    path = row["path"]
    name = names.get(path) or names.get(os.path.abspath(path)) or path
    return [{"source": s, "line": line} for s, line in split_lines(name, row["bytes"])]


def _score_block(scorer: _Scorer, batch: Any) -> dict[str, list[bytes]]:
    """A block of lines → one row holding the pickled result (rows exactly as the local engine
    makes them: no type conversion on the way back)."""
    lines = list(zip(batch.column("source").to_pylist(), batch.column("line").to_pylist()))
    return {"scored": [pickle.dumps(scorer.chunk(lines), protocol=pickle.HIGHEST_PROTOCOL)]}


def ray_engine(
    paths: Sequence[str], scorer: _Scorer, *, address: str | None, workers: int | None
) -> Generator[_Scored, None, None]:
    """Scored chunks in input order, computed by Ray Data.

    Checks at once (no Ray started) that Ray is installed and the inputs are files. Joins the
    cluster at ``address`` (or the Ray already initialized in this process); else
    starts a local Ray on 127.0.0.1 with ``workers`` CPUs (default: all), stopped at the end.
    """
    if "-" in paths:
        raise InputError(
            "--engine ray reads files (Ray workers cannot read this process's stdin); save the "
            "input to a file or use the local engine"
        )
    return _run(_import_ray(), paths, scorer, address=address, workers=workers)


def _run(
    ray: Any, paths: Sequence[str], scorer: _Scorer, *, address: str | None, workers: int | None
) -> Generator[_Scored, None, None]:
    started = False
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False}
    if not ray.is_initialized():
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(
                address="local",  # a new Ray here, even where `ray start` left a cluster
                num_cpus=workers,
                include_dashboard=False,
                _node_ip_address="127.0.0.1",
                **quiet,
            )
        started = True
    context = ray.data.DataContext.get_current()
    saved = (context.execution_options.preserve_order, context.enable_progress_bars)
    ray_data_log = logging.getLogger("ray.data")
    saved_level = ray_data_log.level
    try:
        context.execution_options.preserve_order = True  # rows in input order
        context.enable_progress_bars = False  # the caller shows its own progress
        ray_data_log.setLevel(logging.ERROR)
        names = {os.path.abspath(p): p for p in paths}
        dataset = (
            ray.data.read_binary_files([os.path.abspath(p) for p in paths], include_paths=True)
            .flat_map(functools.partial(_numbered_lines, names))
            # one file is one read task: cut it so that every CPU scores a part of it
            .repartition(target_num_rows_per_block=_CHUNK_LINES)
            .map_batches(
                functools.partial(_score_block, scorer), batch_format="pyarrow", batch_size=None
            )
        )
        for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
            for payload in batch.column("scored").to_pylist():
                yield pickle.loads(payload)
    finally:
        context.execution_options.preserve_order, context.enable_progress_bars = saved
        ray_data_log.setLevel(saved_level)
        if started:
            with contextlib.suppress(Exception):
                ray.shutdown()
