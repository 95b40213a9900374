"""GPU cluster traces as columns: Alibaba's openb CSV files in, a :class:`Trace` out.

The openb trace (Weng et al., ATC'23) has a node list (``sn, cpu_milli, memory_mib,
gpu, model``) and pod lists (``name, cpu_milli, memory_mib, num_gpu, gpu_milli`` and
optionally ``gpu_spec, qos, pod_phase, creation_time, deletion_time,
scheduled_time``). A pod asks for ``num_gpu`` whole GPUs, or, with ``num_gpu == 1``
and ``gpu_milli < 1000``, for that share of one GPU; ``gpu_spec`` lists the GPU
models it may run on (``|``-separated, empty for any).

Every cell is checked once, here: a bad one raises :class:`TraceError` naming the
file, the row (1 = the first line after the header) and the column.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ValidationError
from .gpucluster import MAX_GPUS, MILLI, GpuCluster

__all__ = ["Trace", "TraceError", "load_openb", "read_nodes", "read_pods"]

NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
POD_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
POD_OPTIONAL = ("gpu_spec", "qos", "pod_phase", "creation_time", "deletion_time",
                "scheduled_time")
_ASCII_INT = re.compile(r"[+-]?[0-9]+")
_ASCII_REAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_MAX_VALUE = 1 << 40                 # 1e12 millicores or MiB: larger is a typo, not a node


class TraceError(ValidationError):
    """A trace file that cannot be read: ``source`` is the file, ``row`` the data
    row (1-based, the header not counted; 0 for the header, None for the whole
    file) and ``column`` the column's name."""

    def __init__(self, message: str, source: str, row: int | None = None,
                 column: str = "") -> None:
        self.source, self.row, self.column = source, row, column
        where = source + ("" if row is None else f": row {row}" if row else ": header")
        if column:
            where += f", column {column!r}"
        super().__init__(message, where)


@dataclass(frozen=True, repr=False, eq=False)
class Trace:
    """Tasks of a trace in file order, as columns of equal length.

    ``cpu`` millicores and ``memory`` MiB (``int64``); ``num_gpu`` whole GPUs, or 1
    with ``gpu_milli`` < 1000 for a share of one GPU (``int32``); ``gpu_spec``: a
    bitmask over :attr:`models` of the GPU models allowed (0: any), ``spec_text`` as
    the file writes it; ``creation``,
    ``deletion``, ``scheduled``: seconds, -1 where the file has none; ``qos`` and
    ``phase``: strings.
    """

    names: tuple[str, ...]
    cpu: np.ndarray
    memory: np.ndarray
    num_gpu: np.ndarray
    gpu_milli: np.ndarray
    gpu_spec: np.ndarray
    models: tuple[str, ...]
    spec_text: tuple[str, ...]
    qos: tuple[str, ...]
    phase: tuple[str, ...]
    creation: np.ndarray
    deletion: np.ndarray
    scheduled: np.ndarray
    source: str = "<trace>"

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        shared = int(np.count_nonzero(self.gpu_milli < MILLI) - np.count_nonzero(self.num_gpu == 0))
        return (f"Trace({len(self)} tasks: {int(np.count_nonzero(self.num_gpu == 0))} cpu-only, "
                f"{shared} GPU-sharing, {int(np.count_nonzero(self.num_gpu > 1))} multi-GPU; "
                f"{self.gpu_total_milli() / MILLI:,.1f} GPUs requested)")

    def gpu_total_milli(self) -> int:
        """GPU milli the whole trace asks for (``num_gpu × gpu_milli`` summed)."""
        return int(np.dot(self.num_gpu.astype(np.int64), self.gpu_milli.astype(np.int64)))

    def take(self, index: np.ndarray | Sequence[int]) -> "Trace":
        """The tasks at ``index``, in that order (repeats allowed)."""
        idx = np.asarray(index, dtype=np.int64)
        pick = idx.tolist()
        return Trace(tuple(self.names[i] for i in pick), self.cpu[idx], self.memory[idx],
                     self.num_gpu[idx], self.gpu_milli[idx], self.gpu_spec[idx], self.models,
                     tuple(self.spec_text[i] for i in pick), tuple(self.qos[i] for i in pick),
                     tuple(self.phase[i] for i in pick),
                     self.creation[idx], self.deletion[idx], self.scheduled[idx], self.source)


def _table(path: str | os.PathLike[str], required: Sequence[str],
           optional: Sequence[str]) -> tuple[str, list[str], list[list[str]]]:
    source = os.fspath(path)
    if not os.path.isfile(source):
        raise TraceError("no such file" if not os.path.isdir(source)
                         else "a directory, not a file", source)
    try:
        with open(source, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise TraceError(f"not a CSV file ({exc})", source) from None
    if not rows:
        raise TraceError("empty file: expected a header line", source)
    header = [h.strip() for h in rows[0]]
    for name in header:
        if name not in required and name not in optional:
            raise TraceError(f"unknown column (expected {', '.join(required)}"
                             f"{', ' if optional else ''}{', '.join(optional)})", source,
                             0, name)
    for name in required:
        if name not in header:
            raise TraceError(f"missing column {name!r}", source, 0)
    if len(set(header)) != len(header):
        raise TraceError("a column is named twice", source, 0)
    body = [row for row in rows[1:] if any(cell.strip() for cell in row)]   # blank lines
    for r, row in enumerate(body, 1):
        if len(row) != len(header):
            raise TraceError(f"{len(row)} fields, the header has {len(header)}", source, r)
    return source, header, body


def _ints(source: str, header: list[str], body: list[list[str]], column: str, *,
          lo: int = 0, hi: int = _MAX_VALUE, empty: int | None = None) -> np.ndarray:
    if column not in header:
        return np.full(len(body), -1 if empty is None else empty, dtype=np.int64)
    j = header.index(column)
    out = np.empty(len(body), dtype=np.int64)
    for r, row in enumerate(body):
        text = row[j].strip()
        if not text and empty is not None:
            out[r] = empty
            continue
        try:
            if not _ASCII_INT.fullmatch(text):     # int() takes "5_00" and full-width digits
                raise ValueError(text)
            value = int(text)
        except ValueError:
            # "12000.0" or "1.2e4", as some exports write integers (ASCII only)
            real = float(text) if _ASCII_REAL.fullmatch(text) else float("nan")
            if not math.isfinite(real) or real != int(real):
                raise TraceError(f"expected an integer, got {text!r}", source, r + 1,
                                 column) from None
            value = int(real)
        if not lo <= value <= hi:
            raise TraceError(f"must be in [{lo:,}, {hi:,}], got {value:,}", source, r + 1,
                             column)
        out[r] = value
    return out


def _strings(header: list[str], body: list[list[str]], column: str) -> tuple[str, ...]:
    if column not in header:
        return ("",) * len(body)
    j = header.index(column)
    return tuple(row[j].strip() for row in body)


def _names(source: str, header: list[str], body: list[list[str]], column: str) -> tuple[str, ...]:
    names = _strings(header, body, column)
    seen: dict[str, int] = {}
    for r, name in enumerate(names, 1):
        if not name:
            raise TraceError("empty name", source, r, column)
        if name in seen:
            raise TraceError(f"{name!r} is also row {seen[name]}", source, r, column)
        seen[name] = r
    return names


def read_nodes(path: str | os.PathLike[str]) -> GpuCluster:
    """The cluster of an openb node list (``sn, cpu_milli, memory_mib, gpu, model``)."""
    source, header, body = _table(path, NODE_COLUMNS, ())
    if not body:
        raise TraceError("no nodes", source)
    names = _names(source, header, body, "sn")
    cpu = _ints(source, header, body, "cpu_milli")
    memory = _ints(source, header, body, "memory_mib")
    gpus = _ints(source, header, body, "gpu", hi=MAX_GPUS)
    models = _strings(header, body, "model")
    for r, (count, model) in enumerate(zip(gpus.tolist(), models), 1):
        if count and not model:
            raise TraceError(f"{count} GPUs without a model", source, r, "model")
        if "|" in model:
            raise TraceError(f"one model per node, got {model!r}", source, r, "model")
    return GpuCluster(names, cpu, memory, gpus, models)


def read_pods(path: str | os.PathLike[str], models: Sequence[str] = ()) -> Trace:
    """The tasks of an openb pod list; ``models`` (the cluster's GPU models) come
    first in :attr:`Trace.models`, so masks line up with :attr:`GpuCluster.models`."""
    source, header, body = _table(path, POD_COLUMNS, POD_OPTIONAL)
    if not body:
        raise TraceError("no tasks", source)
    names = _names(source, header, body, "name")
    cpu = _ints(source, header, body, "cpu_milli")
    memory = _ints(source, header, body, "memory_mib")
    num_gpu = _ints(source, header, body, "num_gpu", hi=MAX_GPUS)
    milli = _ints(source, header, body, "gpu_milli", hi=MILLI)
    for r in np.flatnonzero(((num_gpu == 0) & (milli != 0)) | ((num_gpu > 0) & (milli == 0))
                            | ((num_gpu > 1) & (milli != MILLI))).tolist():
        n, m = int(num_gpu[r]), int(milli[r])
        why = (f"gpu_milli {m} without a GPU (num_gpu 0)" if n == 0 else
               f"num_gpu {n} with gpu_milli 0" if m == 0 else
               f"num_gpu {n} with gpu_milli {m}: a share (< 1000) is of one GPU")
        raise TraceError(why, source, r + 1, "gpu_milli")
    table = list(models)
    specs = np.zeros(len(body), dtype=np.uint64)
    spec_text = _strings(header, body, "gpu_spec")
    for r, text in enumerate(spec_text):
        if not text:
            continue
        mask = 0
        for model in text.split("|"):
            model = model.strip()
            if not model:
                raise TraceError(f"empty model in {text!r}", source, r + 1, "gpu_spec")
            if model not in table:
                if len(table) == 64:
                    raise TraceError("more than 64 GPU models", source, r + 1, "gpu_spec")
                table.append(model)
            mask |= 1 << table.index(model)
        specs[r] = mask
    times = {c: _ints(source, header, body, c, empty=-1)
             for c in ("creation_time", "deletion_time", "scheduled_time")}
    return Trace(names, cpu, memory, num_gpu.astype(np.int32), milli.astype(np.int32), specs,
                 tuple(table), spec_text, _strings(header, body, "qos"),
                 _strings(header, body, "pod_phase"),
                 times["creation_time"], times["deletion_time"], times["scheduled_time"], source)


def load_openb(nodes_csv: str | os.PathLike[str],
               pods_csv: str | os.PathLike[str]) -> tuple[GpuCluster, Trace]:
    """The cluster of ``nodes_csv`` and the tasks of ``pods_csv``, as the openb
    files lay them out (see the module's docstring)."""
    cluster = read_nodes(nodes_csv)
    return cluster, read_pods(pods_csv, cluster.models)
