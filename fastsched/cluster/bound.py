"""Bound pods in bulk: the scheduler's placements recorded as columns, many pods
unbound in one call, and a read-only mapping view of what is bound.

Nothing here makes a Python object per replica: recording a batch costs a few
array operations plus a little Python per distinct pod object (and per named pod,
whose object the store keeps).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from ..errors import DuplicateError, PodNotFoundError, ValidationError
from ..model.pod import Pod, replica_name
from ..model.resources import CPU, MEMORY
from .podstore import suffix_key

# ``cluster`` below is a Cluster, typed Any: cluster.py imports this module.
Cluster = Any

__all__ = ["record_placements", "unbind_many", "BoundPods", "pod_key"]

_LONG = 253 - 21            # past this a replica's name may be cut (see replica_name)


def pod_key(pod: Any, path: str = "pod") -> str:
    """``namespace/name`` of a Pod or a key (a bare name is in ``default``)."""
    if isinstance(pod, Pod):
        return pod.key
    if isinstance(pod, str):
        return pod if "/" in pod else f"default/{pod}"
    raise ValidationError(f"expected a Pod or a pod name, got {type(pod).__name__}", path)


def record_placements(cluster: Cluster, pods: Any, rows: np.ndarray,
                      templates: frozenset[int], ids: np.ndarray | None = None
                      ) -> tuple[int, dict[int, str]]:
    """Note placements whose requests a kernel has already added to the columns.

    ``rows[t]`` is pod t's node row (-1: not placed). A pod object in ``templates``
    (by id) stands for replicas: its placement at position t is bound as
    ``<name>-<base + t>``. Returns ``base`` and the positions whose generated name
    was taken by a named pod (those are bound as ``<name>-<base + t>-r``)."""
    store = cluster._store
    base = cluster._replica_seq
    cluster._replica_seq += len(rows)
    placed = np.flatnonzero(rows >= 0)
    if not len(placed):
        return base, {}
    if ids is None:
        ids = np.fromiter(map(id, pods), np.int64, len(rows))
    _, first, inverse = np.unique(ids[placed], return_index=True, return_inverse=True)
    tid = np.empty(len(first), np.int64)
    replica = np.zeros(len(first), np.bool_)
    for k, i in enumerate(first.tolist()):
        pod = pods[int(placed[i])]
        many = bool(templates) and id(pod) in templates
        replica[k] = many
        scoring = pod.scoring_requests
        tid[k] = store.template(pod, pod.name if many else None, cluster.request_vector(pod),
                                (scoring.get(CPU, 0), scoring.get(MEMORY, 0)))
    is_rep = replica[inverse]
    reps = np.where(is_rep, base + placed, -1)
    named: list[tuple[int, Pod]] = [(int(i), pods[int(placed[i])])
                                    for i in np.flatnonzero(~is_rep).tolist()]
    renamed: dict[int, str] = {}
    if store.suffixed or named:
        # A generated name a named pod already has (bound, or in this batch) gets "-r".
        batch = {p.key for _, p in named}
        mine = {suffix_key(p.namespace, p.name) for _, p in named} - {None}
        for k in np.flatnonzero(replica).tolist():
            pod = pods[int(placed[first[k]])]
            if len(pod.name) <= _LONG and (pod.namespace, pod.name) not in store.suffixed \
                    and (pod.namespace, pod.name) not in mine:
                continue
            for i in np.flatnonzero(inverse == k).tolist():
                t = int(placed[i])
                suffix = f"-{base + t}"
                while (key := f"{pod.namespace}/{replica_name(pod.name, suffix)}") in batch \
                        or store.lookup(key) >= 0:
                    suffix += "-r"
                if suffix == f"-{base + t}":
                    continue
                renamed[t] = replica_name(pod.name, suffix)
                batch.add(key)
                named.append((i, pod.replica(renamed[t])))
                reps[i] = -1
        if renamed:
            named.sort(key=lambda item: item[0])
    slots = store.add(tid[inverse], rows[placed].astype(np.int32), reps, named)
    cluster._touch(rows[placed])
    if is_rep.any():
        chunk = np.full(len(rows), -1, np.int64)
        keep = reps >= 0
        chunk[placed[keep]] = slots[keep]
        store.add_chunk(base, chunk, int(keep.sum()))
    return base, renamed


def record_one(cluster: Cluster, pod: Pod, row: int) -> None:
    """``record_placements`` for one named pod the kernel placed on ``row``."""
    store = cluster._store
    cluster._replica_seq += 1
    t = store.find(pod)
    if t < 0:
        scoring = pod.scoring_requests
        t = store.template(pod, None, cluster.request_vector(pod),
                           (scoring.get(CPU, 0), scoring.get(MEMORY, 0)))
    store.add_one(t, row, pod)
    cluster._touch(row)


def unbind_many(cluster: Cluster, pods: Iterable[Any]) -> int:
    """Unbind every pod given (Pods or keys), all or nothing; returns how many."""
    store = cluster._store
    keys = [p if type(p) is str and "/" in p else pod_key(p, f"pods[{i}]")
            for i, p in enumerate(pods)]
    slots = store.lookup_many(keys)
    if len(slots) and slots.min() < 0:
        t = int(np.flatnonzero(slots < 0)[0])
        raise PodNotFoundError(f"no bound pod {keys[t]!r} (pods[{t}])")
    if len(slots) > 1 and np.bincount(slots).max() > 1:
        seen: set[int] = set()
        for t, s in enumerate(slots.tolist()):
            if s in seen:
                raise DuplicateError(f"pod {keys[t]} is given twice", f"pods[{t}]")
            seen.add(s)
    release(cluster, slots)
    return len(slots)


def release(cluster: Cluster, slots: np.ndarray) -> None:
    """Take the pods in ``slots`` off their nodes' requested columns and the store."""
    store = cluster._store
    if not len(slots):
        return
    rows = store.node[slots]
    tids = store.tid[slots]
    width = cluster._req.shape[1]
    if len(slots) == 1:
        row, t = int(rows[0]), int(tids[0])
        cluster._req[row] -= store.t_req[t, :width]
        np.maximum(cluster._nonzero[row] - store.t_nz[t], 0, out=cluster._nonzero[row])
        cluster._touch(row)
    else:
        # Summed per node (sorted, then reduceat) and subtracted once per node.
        order = np.argsort(rows, kind="stable")
        rows_sorted = rows[order]
        starts = np.flatnonzero(np.r_[True, rows_sorted[1:] != rows_sorted[:-1]])
        nodes = rows_sorted[starts]
        cluster._touch(nodes)
        tids = tids[order]
        cluster._req[nodes] -= np.add.reduceat(store.t_req[tids, :width], starts)
        cluster._nonzero[nodes] = np.maximum(
            cluster._nonzero[nodes] - np.add.reduceat(store.t_nz[tids], starts), 0)
    store.remove(slots)


class BoundPods(Mapping[str, Pod]):
    """Every bound pod by ``namespace/name``: a live, read-only view in binding
    order; length and lookups cost no pass over the pods, and a replica's ``Pod``
    is made when it is read."""

    __slots__ = ("_store",)

    def __init__(self, store: Any) -> None:
        self._store = store

    def __len__(self) -> int:
        return self._store.count

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._store.lookup(key) >= 0

    def __getitem__(self, key: str) -> Pod:
        slot = self._store.lookup(key) if isinstance(key, str) else -1
        if slot < 0:
            raise KeyError(key)
        return self._store.pod(slot)

    def __iter__(self) -> Iterator[str]:
        store = self._store
        return iter([store.key(s) for s in store.ordered().tolist()])

    def __repr__(self) -> str:
        return f"BoundPods({len(self)} pods)"


def pod_nodes(cluster: Cluster) -> Mapping[str, str]:
    """``{key: node name}`` of every bound pod, in binding order."""
    store = cluster._store
    names = cluster.columns.name_array()
    order = store.ordered()
    return dict(zip(store.keys_of(order), names[store.node[order]].tolist()))
