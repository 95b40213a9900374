"""Sweep results on disk: the paper's wide CSV layout, and a long table.

``--out results.csv`` writes one row per experiment as the paper's artifact does
(``analysis_allo_discrete.csv``): ``workload, sc_policy, tune, seed, total_gpus, 0,
1, …, 130`` (the GPU allocation curve), and beside it ``results.frag.csv`` with the
fragmentation ratio curve in the same layout (``analysis_frag_ratio_discrete.csv``).
``--out results.parquet`` (pyarrow) writes a long table: one row per experiment and
per cent arrived, with every metric. Either can be read back to skip experiments a
sweep already ran.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from .simulate import CURVE_POINTS, SimResult
from .sweep import Experiment

__all__ = ["KEY_COLUMNS", "CsvWriter", "done_keys", "read_curves", "write_parquet",
           "frag_path"]

KEY_COLUMNS = ("workload", "sc_policy", "tune", "seed")
CURVE_COLUMNS = tuple(str(k) for k in range(CURVE_POINTS))
CSV_COLUMNS = (*KEY_COLUMNS, "total_gpus", *CURVE_COLUMNS)


def frag_path(path: str | os.PathLike[str]) -> Path:
    """Where the fragmentation curves go beside ``path`` (``x.csv`` -> ``x.frag.csv``)."""
    p = Path(path)
    return p.with_name(p.stem + ".frag" + p.suffix)


def _cell(v: float) -> str:
    return "" if v != v else f"{v:.2f}"


class CsvWriter:
    """Appends one row per experiment to the allocation and fragmentation CSVs,
    writing the header when a file is new, flushing after each row."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.paths = (Path(path), frag_path(path))
        self._files = []
        for p in self.paths:
            new = not p.exists() or p.stat().st_size == 0
            f = open(p, "a", newline="")
            if new:
                csv.writer(f).writerow(CSV_COLUMNS)
            self._files.append(f)

    def write(self, exp: Experiment, result: SimResult) -> None:
        for f, curve in zip(self._files, (result.gpu_alloc_curve, result.frag_curve)):
            csv.writer(f).writerow([*exp.key, result.total_gpus, *map(_cell, curve)])
            f.flush()

    def close(self) -> None:
        for f in self._files:
            f.close()


def read_curves(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of a wide results CSV: key columns as text, ``seed`` and
    ``total_gpus`` as ints, ``curve`` a list of 131 floats (NaN where empty)."""
    source = os.fspath(path)
    try:
        with open(source, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in (*KEY_COLUMNS, "total_gpus", "0") if c not in (reader.fieldnames or [])]
            if missing:
                raise ValidationError(f"not a results file: no column {missing[0]!r}", source)
            rows = []
            for r, row in enumerate(reader, 1):
                try:
                    rows.append({**{k: row[k] for k in KEY_COLUMNS}, "seed": int(row["seed"]),
                                 "total_gpus": int(row["total_gpus"]),
                                 "curve": [float(row[c]) if row.get(c) else float("nan")
                                           for c in CURVE_COLUMNS]})
                except (TypeError, ValueError) as exc:
                    raise ValidationError(f"row {r}: {exc}", source) from None
    except FileNotFoundError:
        raise ValidationError("no such file", source) from None
    return rows


def done_keys(path: str | os.PathLike[str]) -> set[tuple]:
    """Keys (workload, sc_policy, tune, seed) already in a results file (CSV or
    Parquet); empty when it does not exist."""
    p = Path(path)
    if not p.exists() or p.stat().st_size == 0:
        return set()
    if p.suffix == ".parquet":
        import pyarrow.parquet as pq
        t = pq.read_table(p, columns=list(KEY_COLUMNS)).to_pydict()
        return {(w, s, tu, int(se)) for w, s, tu, se in zip(*(t[c] for c in KEY_COLUMNS))}
    return {(r["workload"], r["sc_policy"], r["tune"], r["seed"]) for r in read_curves(p)}


def write_parquet(path: str | os.PathLike[str],
                  pairs: Iterable[tuple[Experiment, SimResult]]) -> None:
    """Add ``pairs`` to the long table at ``path`` (rows already there are kept):
    one row per experiment and per cent arrived, with the experiment's metrics."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ValidationError("Parquet output needs pyarrow: pip install pyarrow", "out") from None
    cols: dict[str, list] = {c: [] for c in (
        *KEY_COLUMNS, "policy", "variant", "inflate", "total_gpus", "arrived_pct",
        "gpu_alloc", "frag_ratio_at", "gpu_alloc_ratio", "frag_ratio", "cpu_alloc_ratio",
        "placed", "failed", "wall_s")}
    for exp, r in pairs:
        for k in range(CURVE_POINTS):
            for c, v in zip(KEY_COLUMNS, exp.key):
                cols[c].append(v)
            cols["policy"].append(exp.policy)
            cols["variant"].append(exp.variant)
            cols["inflate"].append(exp.inflate)
            cols["total_gpus"].append(r.total_gpus)
            cols["arrived_pct"].append(k)
            cols["gpu_alloc"].append(r.gpu_alloc_curve[k])
            cols["frag_ratio_at"].append(r.frag_curve[k] if r.frag_curve else float("nan"))
            for c in ("gpu_alloc_ratio", "frag_ratio", "cpu_alloc_ratio", "placed", "failed",
                      "wall_s"):
                cols[c].append(getattr(r, c))
    table = pa.table(cols)
    p = Path(path)
    if p.exists() and p.stat().st_size:
        table = pa.concat_tables([pq.read_table(p), table], promote_options="default")
    pq.write_table(table, p)
