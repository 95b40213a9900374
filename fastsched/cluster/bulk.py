"""Binding many pods in one call: validated as a whole, then applied with array sums.

``Cluster.bind_many(pods, nodes)`` ends in the state that ``bind`` called pod by
pod would reach (the same columns, resource column order and start order), or
raises and changes nothing. Pods that share their request and label maps (replicas
made by ``Pod.replica``) are encoded once, so restoring a snapshot of a large
cluster costs a few dictionary operations per pod, not a request vector each.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import DoesNotFitError, DuplicateError, NodeNotFoundError, ValidationError
from ..model.pod import Pod, family
from ..model.quantity import INT64_MAX
from ..model.resources import CPU, MEMORY, PODS

# ``cluster`` below is a Cluster, typed Any: cluster.py imports this module.
Cluster = Any

__all__ = ["bind_many"]

# Float sums above this may have wrapped in int64: those cells are summed exactly.
_NEAR_INT64 = float(1 << 62)


def bind_many(cluster: Cluster, pods: Iterable[Pod], nodes: Iterable[str], *,
              force: bool = False) -> None:
    """Bind ``pods[t]`` to ``nodes[t]`` for every t, all or nothing (see the module)."""
    pods, nodes = list(pods), list(nodes)
    if len(pods) != len(nodes):
        raise ValidationError(f"expected one node per pod: {len(pods)} pods, {len(nodes)} "
                              "nodes", "nodes")
    if not pods:
        return
    rows, groups, gid, keys = _validate(cluster, pods, nodes)
    new: list[str] = []
    for pod in groups:                   # new columns in the order bind would add them
        new.extend(r for r in cluster.missing_resources(pod) if r not in new)
    cluster._check_room(new, "pods")
    names = [*cluster.resources, *new]
    index = {r: i for i, r in enumerate(names)}
    vectors = np.zeros((len(groups), len(names)), np.int64)
    scoring = np.zeros((len(groups), 2), np.int64)
    for g, pod in enumerate(groups):
        for resource, amount in pod.requests.items():
            vectors[g, index[resource]] = amount
        vectors[g, index[PODS]] += 1
        scoring[g] = [pod.scoring_requests.get(CPU, 0), pod.scoring_requests.get(MEMORY, 0)]
    n = len(cluster)
    added = _sums(cluster, cluster.requested[:n], rows, gid, vectors, names)
    added_nz = _sums(cluster, cluster.nonzero_requested[:n], rows, gid, scoring, (CPU, MEMORY))
    if not force:
        _check_fit(cluster, rows, gid, vectors, added, names, n)
    # Everything is valid: from here on nothing raises.
    for resource in new:
        cluster._column(resource)
    cluster._req[:n] += added
    cluster._nonzero[:n] += added_nz
    store = cluster._store
    vectors = vectors[:, : len(cluster.resources)]
    # Templates per family (the store keys them so); the group's vectors serve them all.
    tids = np.empty(len(pods), np.int64)
    made: dict[tuple, int] = {}
    template = store.template
    for t, (pod, g) in enumerate(zip(pods, gid.tolist())):
        fam = (family(pod), g)
        found = made.get(fam)
        if found is None:
            found = made[fam] = template(pod, None, vectors[g],
                                         (int(scoring[g, 0]), int(scoring[g, 1])))
        tids[t] = found
    store.add(tids, rows.astype(np.int32), None, list(enumerate(pods)))
    cluster._touch(rows)


def _validate(cluster: Cluster, pods: list[Any], nodes: list[Any]
              ) -> tuple[np.ndarray, list[Pod], np.ndarray, list[str]]:
    """Node rows, the distinct pod groups, each pod's group and key, or raise."""
    lookup = cluster._store.lookup
    node_rows = cluster.columns.rows
    rows = np.empty(len(pods), np.int64)
    gid = np.empty(len(pods), np.int64)
    seen: set[str] = set()
    keys: list[str] = []
    group_of: dict[tuple, int] = {}
    groups: list[Pod] = []
    for t, (pod, node) in enumerate(zip(pods, nodes)):
        if not isinstance(pod, Pod):
            raise ValidationError(f"expected a Pod, got {type(pod).__name__}", f"pods[{t}]")
        row = node_rows.get(node) if isinstance(node, str) else None
        if row is None:
            raise NodeNotFoundError(f"no node named {node!r} (nodes[{t}])")
        key = pod.key
        if key in seen or lookup(key) >= 0:
            raise DuplicateError(f"pod {key} is already bound, or given twice", f"pods[{t}]")
        seen.add(key)
        keys.append(key)
        if pod.node_name and pod.node_name != node:
            raise ValidationError(f"pod {key} names node {pod.node_name!r}, not {node!r}",
                                  f"pods[{t}].nodeName")
        rows[t] = row
        # Replicas share these objects: one group each, encoded once.
        group = (id(pod.requests), id(pod.scoring_requests), id(pod.labels), pod.namespace,
                 pod.priority)
        g = group_of.get(group)
        if g is None:
            g = group_of[group] = len(groups)
            groups.append(pod)
        gid[t] = g
    return rows, groups, gid, keys


def _sums(cluster: Cluster, have: np.ndarray, rows: np.ndarray, gid: np.ndarray,
          vectors: np.ndarray, names: Any) -> np.ndarray:
    """Per node, what the pods add to ``have`` (``vectors`` may have more columns: new
    ones, which start at 0), refusing any sum past int64."""
    n, width = have.shape
    per_pod = vectors[gid]
    added = np.zeros((n, vectors.shape[1]), np.int64)
    np.add.at(added, rows, per_pod)
    approx = np.zeros((n, vectors.shape[1]))
    np.add.at(approx, rows, per_pod.astype(np.float64))
    approx[:, :width] += have[:, :width]
    for row, col in zip(*np.nonzero(approx > _NEAR_INT64)):
        exact = int(have[row, col]) if col < width else 0
        exact += sum(int(v) for v in per_pod[rows == row, col])
        if exact > INT64_MAX:
            node = cluster.node_names[row]
            raise ValidationError(f"binding these pods would take node {node!r}'s requested "
                                  f"{names[col]} past int64 ({exact})", f"requests.{names[col]}")
    return added


def _check_fit(cluster: Cluster, rows: np.ndarray, gid: np.ndarray, vectors: np.ndarray,
               added: np.ndarray, names: list[str], n: int) -> None:
    """Without ``force``: every node's final request fits wherever its new pods ask for
    a resource (pod by pod, the last such pod would be the one refused)."""
    width = len(cluster.resources)
    alloc = np.zeros((n, len(names)), np.int64)
    alloc[:, :width] = cluster.allocatable[:n]
    final = added.copy()
    final[:, :width] += cluster.requested[:n]
    asks = np.zeros((n, len(names)), np.bool_)
    np.logical_or.at(asks, rows, vectors[gid] > 0)
    over = asks & (final > alloc)
    if over.any():
        row, col = (int(v[0]) for v in np.nonzero(over))
        resource = names[col]
        reason = "Too many pods" if resource == PODS else f"Insufficient {resource}"
        raise DoesNotFitError(
            f"the pods given for node {cluster.node_names[row]!r} do not fit: {reason} "
            f"(requested {int(final[row, col])}, capacity {int(alloc[row, col])})", (reason,))
