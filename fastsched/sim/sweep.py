"""Grids of trace experiments on Dask: workloads × cluster variants × policies ×
inflation × seeds.

:func:`sweep` runs every experiment of a :class:`Grid` with
:func:`~fastsched.sim.simulate` on a Dask ``distributed`` cluster: an embedded
``LocalCluster`` with one single-threaded worker process per CPU by default, or the
cluster of a ``Client`` (or scheduler address) the caller already runs. Each
workload's cluster and trace are scattered to the workers once; experiments are
submitted as tasks and their results come back as they finish.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ValidationError
from .gpucluster import GpuCluster
from .simulate import POLICIES, SimResult, simulate
from .trace import Trace

__all__ = ["Grid", "Variant", "Workload", "Experiment", "sweep", "parse_variant",
           "policy_label", "workload_label", "grid_from_files"]


@dataclass(frozen=True, repr=False)
class Variant:
    """A change to the cluster before an experiment: ``without`` removes the nodes
    of those GPU models; ``add`` adds ``count`` copies of node ``like``. The empty
    variant (``Variant()``) is the cluster as loaded."""

    without: tuple[str, ...] = ()
    add: int = 0
    like: str = ""

    @property
    def name(self) -> str:
        parts = []
        if self.without:
            parts.append("without:" + ",".join(self.without))
        if self.add:
            parts.append(f"add:{self.add}:{self.like}")
        return "+".join(parts) or "none"

    def __repr__(self) -> str:
        return f"Variant({self.name})"

    def apply(self, cluster: GpuCluster) -> GpuCluster:
        """The cluster this variant makes of ``cluster`` (a new one; ``cluster`` is
        left as it is)."""
        keep = np.ones(len(cluster), dtype=bool)
        for model in self.without:
            if model not in cluster.models:
                raise ValidationError(f"no GPU model {model!r} in the cluster (it has "
                                      f"{', '.join(cluster.models)})", "variant.without")
            keep &= cluster.model != cluster.models.index(model)
        rows = np.flatnonzero(keep).tolist()
        names = [cluster.names[r] for r in rows]
        if self.add:
            if self.like not in cluster.rows:
                raise ValidationError(f"no node {self.like!r} to copy", "variant.add")
            names += [f"{self.like}-copy-{k}" for k in range(self.add)]
            rows += [cluster.rows[self.like]] * self.add
        if not rows:
            raise ValidationError("the variant leaves no node", "variant")
        models = [cluster.models[m] if m >= 0 else "" for m in cluster.model[rows].tolist()]
        return GpuCluster(names, cluster.cpu[rows], cluster.memory[rows], cluster.gpus[rows],
                          models)


def parse_variant(text: str) -> Variant:
    """``none``, ``without:MODEL[,MODEL...]``, ``add:COUNT:NODE``, or several joined
    by ``+`` (``without:V100M16,V100M32+add:100:openb-node-0001``)."""
    text = text.strip()
    if text in ("", "none"):
        return Variant()
    without: tuple[str, ...] = ()
    add, like = 0, ""
    for part in text.split("+"):
        kind, _, rest = part.partition(":")
        if kind == "without" and rest:
            without = tuple(m.strip() for m in rest.split(",") if m.strip())
        elif kind == "add" and rest.count(":") == 1:
            count, like = rest.split(":")
            try:
                add = int(count)
            except ValueError:
                add = -1
            if not 1 <= add <= 1_000_000 or not like:
                raise ValidationError(f"add:COUNT:NODE needs 1 <= COUNT <= 1,000,000 and a "
                                      f"node name, got {part!r}", "variant")
        else:
            raise ValidationError("expected none, without:MODEL[,MODEL...] or "
                                  f"add:COUNT:NODE (joined by +), got {part!r}", "variant")
    return Variant(without, add, like)


@dataclass(frozen=True, repr=False, eq=False)
class Workload:
    """A named cluster and trace (``load_openb``'s pair)."""

    name: str
    cluster: GpuCluster
    trace: Trace

    def __repr__(self) -> str:
        return f"Workload({self.name}: {len(self.cluster)} nodes, {len(self.trace)} tasks)"


@dataclass(frozen=True, order=True)
class Experiment:
    """One point of a grid; ``key`` names it in result files."""

    workload: str
    variant: str
    policy: str
    inflate: float
    seed: int

    @property
    def key(self) -> tuple[str, str, str, int]:
        """(workload column, sc_policy, tune, seed) as the paper's files write them."""
        return (workload_label(self.workload, self.variant), policy_label(self.policy),
                f"{self.inflate:g}", self.seed)


def workload_label(workload: str, variant: str) -> str:
    return workload if variant == "none" else f"{workload}@{variant}"


def policy_label(policy: str) -> str:
    """The paper's name of a policy in result files (``06-FGD``)."""
    return f"{POLICIES.index(policy) + 1:02d}-{policy}"


@dataclass(frozen=True, repr=False, eq=False)
class Grid:
    """The cross product of ``workloads``, ``variants``, ``policies``, ``inflate``
    and ``seeds`` (by default the paper's: every policy, seeds 42-51, 1.3)."""

    workloads: tuple[Workload, ...]
    policies: tuple[str, ...] = POLICIES
    seeds: tuple[int, ...] = tuple(range(42, 52))
    inflate: tuple[float, ...] = (1.3,)
    variants: tuple[Variant, ...] = (Variant(),)

    def __post_init__(self) -> None:
        if not self.workloads:
            raise ValidationError("at least one workload", "workloads")
        names = [w.name for w in self.workloads]
        if len(set(names)) != len(names):
            raise ValidationError("workload names must differ", "workloads")
        unknown = [p for p in self.policies if p not in POLICIES]
        if unknown or not self.policies:
            raise ValidationError(f"must be among {', '.join(POLICIES)}, got {unknown or '[]'}",
                                  "policies")
        if not self.seeds or any(not isinstance(s, (int, np.integer)) or s < 0
                                 for s in self.seeds):
            raise ValidationError("non-negative integers, at least one", "seeds")
        if not self.inflate or any(not 0 <= float(x) <= 100 for x in self.inflate):
            raise ValidationError("numbers in [0, 100], at least one", "inflate")
        for w in self.workloads:            # every variant must make sense on every cluster
            for v in self.variants:
                v.apply(w.cluster)

    def __len__(self) -> int:
        return (len(self.workloads) * len(self.variants) * len(self.policies)
                * len(self.inflate) * len(self.seeds))

    def __repr__(self) -> str:
        return (f"Grid({len(self)} experiments: {len(self.workloads)} workloads × "
                f"{len(self.variants)} variants × {len(self.policies)} policies × "
                f"{len(self.inflate)} inflate × {len(self.seeds)} seeds)")

    def experiments(self) -> list[Experiment]:
        return [Experiment(w.name, v.name, p, float(x), int(s))
                for w in self.workloads for v in self.variants for p in self.policies
                for x in self.inflate for s in self.seeds]


def _run(payload: tuple[GpuCluster, Trace], variant: Variant, exp: Experiment) -> tuple:
    cluster, trace = payload
    result = simulate(variant.apply(cluster), trace, exp.policy, exp.seed, exp.inflate)
    empty = np.zeros(0, dtype=np.int64)
    return exp, dataclasses.replace(result, order=empty, nodes=empty.astype(np.int32),
                                    devices=empty.astype(np.uint64))


def sweep(grid: Grid, *, client: Any = None, address: str | None = None,
          workers: int | None = None, skip: Iterable[tuple] = (),
          on_result: Callable[[Experiment, SimResult], None] | None = None,
          progress: Callable[[int, int], None] | None = None,
          ) -> list[tuple[Experiment, SimResult]]:
    """Run every experiment of ``grid`` whose :attr:`Experiment.key` is not in
    ``skip``, on Dask: ``client`` (a ``dask.distributed.Client``), else a new client
    of the scheduler at ``address``, else an embedded ``LocalCluster`` of
    ``workers`` processes (default: one per CPU). ``on_result(experiment, result)``
    is called as each finishes, ``progress(done, total)`` after it. Returns the
    (experiment, result) pairs in grid order. A KeyboardInterrupt cancels what is
    still queued and propagates."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:   # pragma: no cover - the extra is part of the test extra
        raise ValidationError("sweep needs Dask: pip install 'fastsched[sweep]'",
                              "client") from None
    done_keys = set(skip)
    todo = [e for e in grid.experiments() if e.key not in done_keys]
    if workers is not None and not 1 <= workers <= 1024:
        raise ValidationError(f"must be in [1, 1024], got {workers}", "workers")
    if not todo:
        return []
    own: list[Any] = []
    if client is None:
        if address:
            client = Client(address, timeout="30s")
        else:
            n = workers or _cpus()
            local = LocalCluster(n_workers=min(n, len(todo)), threads_per_worker=1,
                                 processes=True, dashboard_address=":0", host="127.0.0.1",
                                 silence_logs=40)
            own.append(local)
            client = Client(local)
        own.insert(0, client)
    futures = []
    try:
        payloads = {w.name: client.scatter((w.cluster, w.trace), broadcast=True)
                    for w in grid.workloads if any(e.workload == w.name for e in todo)}
        variants = {v.name: v for v in grid.variants}
        run = uuid.uuid4().hex[:12]
        futures = [client.submit(_run, payloads[e.workload], variants[e.variant], e,
                                 pure=False, key=f"fastsched-sim-{run}-{i}")
                   for i, e in enumerate(todo)]
        results: dict[Experiment, SimResult] = {}
        for future in as_completed(futures):
            exp, result = future.result()
            results[exp] = result
            if on_result is not None:
                on_result(exp, result)
            if progress is not None:
                progress(len(results), len(todo))
        return [(e, results[e]) for e in todo]
    except BaseException:
        if futures:
            client.cancel(futures)
        raise
    finally:
        for thing in own:
            thing.close()


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def grid_from_files(nodes_csv: str, pods_csvs: Sequence[str], **kwargs: Any) -> Grid:
    """A grid over the pod lists ``pods_csvs`` on the cluster of ``nodes_csv``, each
    workload named after its file (``openb_pod_list_`` and ``.csv`` dropped)."""
    from .trace import load_openb
    workloads = []
    for path in pods_csvs:
        cluster, trace = load_openb(nodes_csv, path)
        name = os.path.basename(str(path)).removesuffix(".csv").removeprefix("openb_pod_list_")
        workloads.append(Workload(name, cluster, trace))
    return Grid(tuple(workloads), **kwargs)
