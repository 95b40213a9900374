"""A cluster of GPU nodes that keeps every GPU device's free share.

Each node has ``cpu`` millicores, ``memory`` MiB and ``gpus`` devices of one GPU
model; each device holds :data:`MILLI` (1000) milli-GPU. The cluster keeps the free
milli of every device in a ``int32[n, MAX_GPUS]`` column (devices a node does not
have read 0 and are never assigned), so a share of one GPU must fit on one device
and a task of ``k`` GPUs takes ``k`` whole free devices. Binding returns the device
indices it used; unbinding frees exactly those.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DoesNotFitError, NodeNotFoundError, ValidationError

__all__ = ["GpuCluster", "MILLI", "MAX_GPUS", "fits"]

MILLI = 1000
"""milli-GPU in one device."""
MAX_GPUS = 8
"""GPUs a node may have (openb's largest nodes have 8)."""


def fits(cluster: "GpuCluster", row: int, cpu: int, memory: int, num_gpu: int, gpu_milli: int,
         gpu_spec: int = 0) -> bool:
    """Whether a task fits node ``row`` now: cpu and memory free, the GPU model
    allowed by ``gpu_spec`` (a bitmask over ``cluster.models``; 0 any, and a GPU-less
    task ignores it) and ``num_gpu`` devices with ``gpu_milli`` free each."""
    if cluster.cpu_free[row] < cpu or cluster.memory_free[row] < memory:
        return False
    if num_gpu == 0:
        return True
    model = int(cluster.model[row])
    if model < 0 or (gpu_spec and not (gpu_spec >> model) & 1):
        return False
    return int(np.count_nonzero(cluster.gpu_free[row] >= gpu_milli)) >= num_gpu


class GpuCluster:
    """GPU nodes as columns (see the module's docstring).

    ``names``/``rows``: node names and name → row; ``cpu``, ``memory``: capacity
    (``int64[n]``); ``cpu_used``, ``memory_used``: requested (``int64[n]``);
    ``gpus``: devices per node (``int32[n]``); ``model``: index into ``models``
    (``int32[n]``, -1 without GPUs); ``gpu_free``: free milli per device
    (``int32[n, MAX_GPUS]``).
    """

    def __init__(self, names: Sequence[str], cpu: Sequence[int] | np.ndarray,
                 memory: Sequence[int] | np.ndarray, gpus: Sequence[int] | np.ndarray,
                 models: Sequence[str]) -> None:
        n = len(names)
        self.names = tuple(str(x) for x in names)
        self.rows = {name: r for r, name in enumerate(self.names)}
        if len(self.rows) != n:
            raise ValidationError("node names must be unique", "names")
        cols = {}
        for field, values in (("cpu", cpu), ("memory", memory), ("gpus", gpus)):
            arr = np.asarray(values, dtype=np.int64)
            if arr.shape != (n,):
                raise ValidationError(f"expected {n} values, got shape {arr.shape}", field)
            if arr.size and int(arr.min()) < 0:
                raise ValidationError(f"must be non-negative (row {int(arr.argmin())})", field)
            cols[field] = arr
        if cols["gpus"].size and int(cols["gpus"].max()) > MAX_GPUS:
            raise ValidationError(f"at most {MAX_GPUS} GPUs per node", "gpus")
        if len(models) != n:
            raise ValidationError(f"expected {n} models, got {len(models)}", "models")
        table: list[str] = []
        code = np.full(n, -1, dtype=np.int32)
        for r, (name, count) in enumerate(zip(models, cols["gpus"].tolist())):
            if count:
                if not name:
                    raise ValidationError("a node with GPUs needs a model", f"models[{r}]")
                if name not in table:
                    table.append(name)
                code[r] = table.index(name)
        self.models = tuple(table)
        self.cpu, self.memory = cols["cpu"], cols["memory"]
        self.gpus = cols["gpus"].astype(np.int32)
        self.model = code
        self.cpu_used = np.zeros(n, dtype=np.int64)
        self.memory_used = np.zeros(n, dtype=np.int64)
        device = np.arange(MAX_GPUS, dtype=np.int32)
        self.gpu_free = np.where(device[None, :] < self.gpus[:, None], MILLI, 0).astype(np.int32)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return (f"GpuCluster({len(self)} nodes, {self.total_gpus:,} GPUs of "
                f"{len(self.models)} models, {self.gpu_allocated_milli() / MILLI:,.2f} allocated)")

    @property
    def cpu_free(self) -> np.ndarray:
        return self.cpu - self.cpu_used

    @property
    def memory_free(self) -> np.ndarray:
        return self.memory - self.memory_used

    @property
    def total_gpus(self) -> int:
        return int(self.gpus.sum())

    def gpu_allocated_milli(self) -> int:
        """milli-GPU allocated across the cluster."""
        return self.total_gpus * MILLI - int(self.gpu_free.sum(dtype=np.int64))

    def copy(self) -> "GpuCluster":
        """An independent cluster in the same state."""
        out = GpuCluster.__new__(GpuCluster)
        out.__dict__.update(self.__dict__)
        for name in ("cpu_used", "memory_used", "gpu_free"):
            setattr(out, name, getattr(self, name).copy())
        return out

    def _row(self, node: str | int) -> int:
        if isinstance(node, (int, np.integer)) and not isinstance(node, bool):
            if not 0 <= int(node) < len(self):
                raise NodeNotFoundError(f"no node row {int(node)}")
            return int(node)
        if node not in self.rows:
            raise NodeNotFoundError(f"no node {node!r}")
        return self.rows[node]

    def bind(self, node: str | int, cpu: int, memory: int, num_gpu: int = 0, gpu_milli: int = 0,
             devices: Sequence[int] | None = None, gpu_spec: int = 0) -> tuple[int, ...]:
        """Bind a task to ``node`` and return the devices it got.

        ``devices`` names them (``num_gpu`` distinct devices with ``gpu_milli`` free);
        by default the lowest-numbered devices that fit. A task that does not fit
        raises :class:`DoesNotFitError` and changes nothing.
        """
        row = self._row(node)
        _check_request(cpu, memory, num_gpu, gpu_milli)
        if not fits(self, row, cpu, memory, num_gpu, gpu_milli, gpu_spec):
            raise DoesNotFitError(f"the task does not fit node {self.names[row]!r}")
        free = self.gpu_free[row]
        if devices is None:
            chosen = tuple(int(d) for d in np.flatnonzero(free >= gpu_milli)[:num_gpu]) \
                if num_gpu else ()
        else:
            chosen = tuple(int(d) for d in devices)
            if (len(chosen) != num_gpu or len(set(chosen)) != num_gpu
                    or any(not 0 <= d < self.gpus[row] or free[d] < gpu_milli for d in chosen)):
                raise DoesNotFitError(f"devices {list(chosen)} of node {self.names[row]!r} "
                                      f"cannot take {num_gpu} × {gpu_milli} milli")
        self.cpu_used[row] += cpu
        self.memory_used[row] += memory
        for d in chosen:
            free[d] -= gpu_milli
        return chosen

    def unbind(self, node: str | int, cpu: int, memory: int, gpu_milli: int = 0,
               devices: Sequence[int] = ()) -> None:
        """Undo a :meth:`bind` of the same task (its requests and devices)."""
        row = self._row(node)
        chosen = [int(d) for d in devices]
        _check_request(cpu, memory, len(chosen), gpu_milli)
        free = self.gpu_free[row]
        if (self.cpu_used[row] < cpu or self.memory_used[row] < memory
                or len(set(chosen)) != len(chosen)
                or any(not 0 <= d < self.gpus[row] or free[d] + gpu_milli > MILLI
                       for d in chosen)):
            raise ValidationError(f"node {self.names[row]!r} does not hold this task", "node")
        self.cpu_used[row] -= cpu
        self.memory_used[row] -= memory
        for d in chosen:
            free[d] += gpu_milli


def _check_request(cpu: int, memory: int, num_gpu: int, gpu_milli: int) -> None:
    for field, value in (("cpu", cpu), ("memory", memory), ("num_gpu", num_gpu),
                         ("gpu_milli", gpu_milli)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
            raise ValidationError(f"must be a non-negative integer, got {value!r}", field)
    if num_gpu > MAX_GPUS:
        raise ValidationError(f"at most {MAX_GPUS}, got {num_gpu}", "num_gpu")
    if (num_gpu == 0) != (gpu_milli == 0) or gpu_milli > MILLI or (num_gpu > 1 and gpu_milli != MILLI):
        raise ValidationError(f"num_gpu {num_gpu} with gpu_milli {gpu_milli}: whole GPUs are "
                              "1000 milli, a share (< 1000) is of one GPU", "gpu_milli")
