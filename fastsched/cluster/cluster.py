"""The cluster: nodes stored as columns, and the pods bound to them.

Node state lives in NumPy arrays with one row per node, in the order nodes were
added (removing a node closes the gap, so rows stay in cluster order):

* ``allocatable``, ``requested``: ``int64[nodes, resources]`` in scheduler units
  (millicores, bytes, counts); the ``pods`` column of ``requested`` is the pod
  count, since every pod requests one pod slot;
* ``nonzero_requested``: ``int64[nodes, 2]``, cpu and memory requested with the
  100m / 200Mi defaults of spec §1.3, for the resource scores;
* ``label_codes``: ``int32[nodes, keys]``, value codes from ``label_table`` (-1 absent);
* ``taint_bits``: ``uint64[nodes, words]``, bit ``t`` set when the node has taint
  ``taints[t]``;
* ``unschedulable``: ``bool[nodes]``.

Arrays grow by doubling, so adding a node is amortized O(1). The properties return
read-only views that a later ``add_node`` may replace: take ``snapshot()`` for a
copy that stays. Every method validates all of its input before it changes
anything, so a call that raises leaves the cluster exactly as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from .._kernels.fit import fit_reasons as _fit_reasons
from .._validation import FrozenMap, check_int, check_str, coerce_list, label_dict
from ..errors import (
    DoesNotFitError,
    DuplicateError,
    NodeNotFoundError,
    PodNotFoundError,
    ValidationError,
)
from ..model.pod import Pod
from ..model.quantity import INT64_MAX
from ..model.resources import CPU, MEMORY, NATIVE_RESOURCES, PODS, resource_dict
from ..model.taints import Taint
from . import bound
from .bulk import bind_many
from .columns import ClusterColumns
from .labeltable import LabelTable
from .podstore import PodStore
from .snapshot import ClusterSnapshot, NodeInfo

__all__ = ["Cluster", "ClusterSnapshot", "NodeInfo", "HOSTNAME_LABEL", "DEFAULT_MAX_PODS"]

HOSTNAME_LABEL = "kubernetes.io/hostname"
DEFAULT_MAX_PODS = 110          # the kubelet's default --max-pods
_POD_COL = NATIVE_RESOURCES.index(PODS)
_MAX_RESOURCES = 63          # a reason mask bit per column, bit 63 for "no column"
_NODE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def normalize_image(name: str) -> str:
    """An image name as ImageLocality compares them: ``:latest`` when untagged."""
    if "@" in name or ":" in name.rsplit("/", 1)[-1]:
        return name
    return name + ":latest"


def _image_map(images: Any) -> FrozenMap:
    if not isinstance(images, Mapping):
        raise ValidationError("expected a mapping of image name to size in bytes, got "
                              f"{type(images).__name__}", "images")
    out = {}
    for image, size in images.items():
        where = f"images[{image!r}]"
        check_str(image, where, allow_empty=False)
        out[normalize_image(image)] = check_int(size, where, lo=0)
    return FrozenMap(out)


def _readonly(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class Cluster:
    """Nodes as columns, plus the pods bound to them.

    >>> c = Cluster()
    >>> c.add_node("n1", {"cpu": "4", "memory": "16Gi"}, labels={"zone": "a"})
    0
    >>> c.bind(Pod("web", requests={"cpu": "500m"}), "n1")
    >>> int(c.requested[0, 0])
    500
    """

    def __init__(self) -> None:
        self._names: list[str] = []
        self._rows: dict[str, int] = {}
        self._resources: list[str] = list(NATIVE_RESOURCES)
        self._resource_index = {r: i for i, r in enumerate(self._resources)}
        self.label_table = LabelTable()
        self._taints: list[Taint] = []
        self._taint_index: dict[Taint, int] = {}
        self._node_taints: list[tuple[Taint, ...]] = []
        # Bound pods as columns (see podstore): no Python object per replica.
        self._store = PodStore(len(self._resources))
        self._replica_seq = 0
        # Rows whose requests changed, most recent last: caches of per-node scores
        # (the scheduler's kept trees) catch up from here (see changed_since).
        self._journal: list[Any] = []
        self._epoch = 0              # entries ever appended
        self._journal_floor = 0      # epochs before this one are forgotten
        self._journal_rows = 0       # rows the entries hold
        self._version = 0        # bumped whenever node columns other than requested change
        # Images are read when a pod spec is compiled, never in a kernel loop.
        self._node_images: dict[str, FrozenMap] = {}        # node -> {image: bytes}
        self._image_nodes: dict[str, dict[str, int]] = {}   # image -> {node: bytes}
        self._n = 0
        self._alloc = np.zeros((0, len(self._resources)), np.int64)
        self._req = np.zeros_like(self._alloc)
        self._nonzero = np.zeros((0, 2), np.int64)
        self._unsched = np.zeros(0, np.bool_)
        self._labels = np.full((0, 0), -1, np.int32)
        self._taint_bits = np.zeros((0, 0), np.uint64)
        self._names_cache: tuple[str, ...] | None = ()

    # -- reading -----------------------------------------------------------------

    def __len__(self) -> int:
        return self._n

    def __contains__(self, name: object) -> bool:
        return name in self._rows

    def __repr__(self) -> str:
        return (f"Cluster({self._n} nodes, {self._store.count} pods, "
                f"resources={list(self._resources)})")

    @property
    def node_names(self) -> tuple[str, ...]:
        """Node names in row order."""
        if self._names_cache is None:
            self._names_cache = tuple(self._names)
        return self._names_cache

    @property
    def resources(self) -> tuple[str, ...]:
        """Resource names, one per column: cpu, memory, ephemeral-storage, pods, extended…"""
        return tuple(self._resources)

    @property
    def allocatable(self) -> np.ndarray:
        return _readonly(self._alloc[: self._n])

    @property
    def requested(self) -> np.ndarray:
        return _readonly(self._req[: self._n])

    @property
    def nonzero_requested(self) -> np.ndarray:
        """cpu and memory requested, with the scoring defaults (``int64[nodes, 2]``)."""
        return _readonly(self._nonzero[: self._n])

    @property
    def pod_counts(self) -> np.ndarray:
        return _readonly(self._req[: self._n, _POD_COL])

    @property
    def unschedulable(self) -> np.ndarray:
        return _readonly(self._unsched[: self._n])

    @property
    def label_codes(self) -> np.ndarray:
        return _readonly(self._labels[: self._n, : len(self.label_table.keys)])

    @property
    def taints(self) -> tuple[Taint, ...]:
        """Every distinct taint; taint ``t`` is bit ``t`` of ``taint_bits``."""
        return tuple(self._taints)

    @property
    def taint_bits(self) -> np.ndarray:
        return _readonly(self._taint_bits[: self._n])

    def row(self, name: str) -> int:
        """The row of node ``name``."""
        row = self._rows.get(name)
        if row is None:
            raise NodeNotFoundError(f"no node named {name!r}")
        return row

    def node(self, name: str) -> NodeInfo:
        """Everything about one node, decoded."""
        row = self.row(name)
        return NodeInfo(
            name=name,
            allocatable=FrozenMap(zip(self._resources, map(int, self._alloc[row]))),
            requested=FrozenMap(zip(self._resources, map(int, self._req[row]))),
            labels=self.label_table.decode(self._labels[row]),
            taints=self._node_taints[row],
            unschedulable=bool(self._unsched[row]),
            pods=self.pods_on(name),
            images=self._node_images.get(name, FrozenMap()),
        )

    def image_nodes(self, image: str) -> Mapping[str, int]:
        """Nodes that have ``image`` (normalized with ``:latest``), with its size."""
        return self._image_nodes.get(normalize_image(image), {})

    def node_labels(self, name: str) -> Mapping[str, str]:
        return self.label_table.decode(self._labels[self.row(name)])

    def pods_on(self, node_name: str) -> tuple[Pod, ...]:
        """The pods bound to a node, in binding order."""
        store = self._store
        return tuple(store.pods(store.on_node(self.row(node_name)).tolist()))

    def node_of(self, pod: Pod | str) -> str:
        """The node a bound pod runs on."""
        return self._names[int(self._store.node[self._slot(pod)])]

    @property
    def pods(self) -> Mapping[str, Pod]:
        """Every bound pod by ``namespace/name``: a live read-only view, in binding
        order (``len`` and lookups cost no pass over the pods)."""
        return bound.BoundPods(self._store)

    @property
    def pod_count(self) -> int:
        """How many pods are bound."""
        return self._store.count

    def pod_nodes(self) -> dict[str, str]:
        """``{pod key: node name}`` of every bound pod, in binding order (no ``Pod``
        object is made)."""
        return dict(bound.pod_nodes(self))

    def bindings(self) -> Iterator[tuple[Pod, str]]:
        """``(pod, node name)`` for every bound pod, in binding order."""
        store, names = self._store, self._names
        order = store.ordered()
        return iter([(store.pod(s), names[r])
                     for s, r in zip(order.tolist(), store.node[order].tolist())])

    # -- nodes ---------------------------------------------------------------------

    def add_node(self, name: str, allocatable: Mapping[str, Any],
                 labels: Mapping[str, str] | None = None, taints: Any = (),
                 unschedulable: bool = False, images: Mapping[str, int] | None = None) -> int:
        """Add a node and return its row.

        ``allocatable`` maps resource names to quantities (``"4"``, ``"16Gi"``, or ints
        in scheduler units). ``pods`` defaults to 110, the kubelet's default; any
        other missing resource is 0. ``labels`` get ``kubernetes.io/hostname: <name>``
        unless they set it, as the kubelet does. ``taints`` are ``Taint`` objects or
        dicts ``{"key", "value", "effect"}``. ``images`` maps image names present on
        the node to their size in bytes (ImageLocality); names without a tag get
        ``:latest``.
        """
        name = self._check_new_name(name)
        node_images = None if images is None else _image_map(images)
        alloc = self._node_allocatable(allocatable)
        label_dict = self._node_labels(labels, name)
        node_taints = self._node_taints_of(taints)
        if not isinstance(unschedulable, (bool, np.bool_)):
            raise ValidationError(f"expected a bool, got {unschedulable!r}", "unschedulable")
        self._check_room(alloc, "allocatable")
        # Everything is valid: from here on nothing raises.
        for resource in alloc:
            self._column(resource)
        row = self._n
        if row >= self._alloc.shape[0]:
            self._grow_rows(row + 1)
        self._n = row + 1
        self._names.append(name)
        self._rows[name] = row
        self._names_cache = None
        self._node_taints.append(())
        self._write_node(row, alloc, label_dict, node_taints, bool(unschedulable))
        self._version += 1
        if node_images:
            self._set_images(name, node_images)
        return row

    def update_node(self, name: str, *, allocatable: Mapping[str, Any] | None = None,
                    labels: Mapping[str, str] | None = None, taints: Any = None,
                    unschedulable: bool | None = None,
                    images: Mapping[str, int] | None = None) -> None:
        """Replace whichever of a node's allocatable, labels, taints, flag and images
        are given.

        Lowering allocatable below what is requested is allowed (the node is then
        overcommitted, as after a kubelet restart with less capacity).
        """
        row = self.row(name)
        alloc = None if allocatable is None else self._node_allocatable(allocatable)
        label_dict = None if labels is None else self._node_labels(labels, name)
        node_taints = None if taints is None else self._node_taints_of(taints)
        if unschedulable is not None and not isinstance(unschedulable, (bool, np.bool_)):
            raise ValidationError(f"expected a bool, got {unschedulable!r}", "unschedulable")
        node_images = None if images is None else _image_map(images)
        self._check_room(alloc or (), "allocatable")
        # Everything is valid: from here on nothing raises.
        for resource in alloc or ():
            self._column(resource)
        if node_images is not None:
            self._set_images(name, node_images)
        self._version += 1
        self._write_node(row, alloc, label_dict, node_taints,
                         None if unschedulable is None else bool(unschedulable))

    def remove_node(self, name: str) -> tuple[Pod, ...]:
        """Remove a node; the pods bound to it are unbound and returned."""
        row = self.row(name)
        store = self._store
        evicted = tuple(store.pods(store.on_node(row).tolist()))
        self._set_images(name, FrozenMap())
        store.remove_node(row)
        self._version += 1
        n = self._n
        for array in (self._alloc, self._req, self._nonzero, self._unsched, self._labels,
                      self._taint_bits):
            array[row: n - 1] = array[row + 1: n]
        self._labels[n - 1] = -1
        self._taint_bits[n - 1] = 0
        for array in (self._alloc, self._req, self._nonzero, self._unsched):
            array[n - 1] = 0
        self._n = n - 1
        del self._names[row], self._node_taints[row], self._rows[name]
        for i in range(row, self._n):
            self._rows[self._names[i]] = i
        self._names_cache = None
        return evicted

    # -- pods ------------------------------------------------------------------------

    def request_vector(self, pod: Pod, *, scoring: bool = False) -> np.ndarray:
        """The pod's request as an ``int64[resources]`` row (1 in the pods column).

        With ``scoring``, the ``int64[2]`` cpu/memory scoring variant. Resources the
        cluster has no column for are left out: see ``missing_resources``.
        """
        if scoring:
            req = pod.scoring_requests
            return np.array([req.get(CPU, 0), req.get(MEMORY, 0)], np.int64)
        vec = np.zeros(len(self._resources), np.int64)
        for resource, amount in pod.requests.items():
            col = self._resource_index.get(resource)
            if col is not None:
                vec[col] = amount
        vec[_POD_COL] += 1
        return vec

    def missing_resources(self, pod: Pod) -> tuple[str, ...]:
        """Resources the pod requests (> 0) that no node of the cluster offers."""
        return tuple(r for r, v in pod.requests.items()
                     if v > 0 and r not in self._resource_index)

    def fit_mask(self, pod: Pod) -> np.ndarray:
        """``bool[nodes]``: where the pod's request fits (NodeResourcesFit filter)."""
        bits = self.fit_bits(pod)
        return bits == 0

    def fit_bits(self, pod: Pod) -> np.ndarray:
        """``uint64[nodes]``: bit ``j`` set where the node lacks resource column ``j``.

        A resource no node offers fails every node; it has no column, so such nodes
        show bit 63.
        """
        out = np.empty(self._n, np.uint64)
        _fit_reasons(self._alloc[: self._n], self._req[: self._n],
                     self.request_vector(pod), out)
        if self.missing_resources(pod):
            out |= np.uint64(1 << 63)
        return out

    def misfit_reasons(self, pod: Pod, node_name: str) -> tuple[str, ...]:
        """Why the pod's request does not fit a node ('Too many pods', 'Insufficient
        cpu', …, in kube-scheduler's order); empty when it fits."""
        return self._misfit(self.row(node_name), pod)

    def bind(self, pod: Pod, node_name: str, *, force: bool = False) -> None:
        """Bind a pod to a node, adding its request to the node's requested columns.

        Raises ``DoesNotFitError`` when the request does not fit, unless ``force``
        (state read from a real cluster can be overcommitted).
        """
        if not isinstance(pod, Pod):
            raise ValidationError(f"expected a Pod, got {type(pod).__name__}", "pod")
        row = self.row(node_name)
        if self._store.lookup(pod.key) >= 0:
            raise DuplicateError(f"pod {pod.key} is already bound to node "
                                 f"{self.node_of(pod.key)!r}", "pod")
        if pod.node_name and pod.node_name != node_name:
            raise ValidationError(f"pod {pod.key} names node {pod.node_name!r}, not "
                                  f"{node_name!r}", "nodeName")
        if not force:
            reasons = self._misfit(row, pod)
            if reasons:
                raise DoesNotFitError(
                    f"pod {pod.key} does not fit on node {node_name!r}: "
                    + ", ".join(self._explain(row, pod, r) for r in reasons), reasons)
        missing = self.missing_resources(pod)
        self._check_room(missing, "pod.requests")
        # A forced bind can overcommit, but never wrap a sum (requested stays >= 0).
        vec, scoring = self.request_vector(pod), self.request_vector(pod, scoring=True)
        for have, add, names in ((self._req[row], vec, self._resources),
                                 (self._nonzero[row], scoring, (CPU, MEMORY))):
            over = np.flatnonzero(add > INT64_MAX - have)
            if len(over):
                resource = names[int(over[0])]
                raise ValidationError(
                    f"binding pod {pod.key} would take node {node_name!r}'s requested "
                    f"{resource} past int64 ({int(have[over[0]])} + {int(add[over[0]])})",
                    f"requests.{resource}")
        # Everything is valid: from here on nothing raises.
        for resource in missing:
            self._column(resource)
        vec = self.request_vector(pod)
        self._req[row] += vec
        self._nonzero[row] += scoring
        self._touch(row)
        store = self._store
        t = store.template(pod, None, vec, (int(scoring[0]), int(scoring[1])))
        store.add_one(t, row, pod)

    def bind_many(self, pods: Iterable[Pod], nodes: Iterable[str], *, force: bool = False) -> None:
        """Bind ``pods[t]`` to ``nodes[t]``, all or nothing: the state ``bind`` pod by pod
        would reach, at the cost of array sums (see ``fastsched.cluster.bulk``)."""
        bind_many(self, pods, nodes, force=force)

    def unbind(self, pod: Pod | str) -> Pod:
        """Unbind a pod (a ``Pod``, ``"namespace/name"`` or a name in ``default``)."""
        slot = self._slot(pod)
        store = self._store
        gone = store.pod(slot)
        row, t = int(store.node[slot]), int(store.tid[slot])
        self._req[row] -= store.t_req[t, : self._req.shape[1]]
        np.maximum(self._nonzero[row] - store.t_nz[t], 0, out=self._nonzero[row])  # saturated
        self._touch(row)
        store.remove_one(slot)
        return gone

    def unbind_many(self, pods: Iterable[Pod | str]) -> int:
        """Unbind every pod given (``Pod`` objects or keys, as for ``unbind``), all or
        nothing: an unknown pod raises ``PodNotFoundError`` and one given twice
        ``DuplicateError``, and then nothing changed. Returns how many were unbound;
        the columns are updated with array operations, no Python object per pod."""
        return bound.unbind_many(self, pods)

    # -- copies ----------------------------------------------------------------------

    def snapshot(self) -> ClusterSnapshot:
        """A frozen copy of the node columns, labels, taints and bindings."""
        n = self._n

        def frozen(a: np.ndarray) -> np.ndarray:
            a = a[:n].copy()
            a.flags.writeable = False
            return a

        return ClusterSnapshot(
            node_names=self.node_names, resources=self.resources,
            allocatable=frozen(self._alloc), requested=frozen(self._req),
            nonzero_requested=frozen(self._nonzero), unschedulable=frozen(self._unsched),
            labels=tuple(self.label_table.decode(self._labels[i]) for i in range(n)),
            taints=tuple(self._node_taints),
            pods=FrozenMap(bound.pod_nodes(self)),
            images=tuple(self._node_images.get(name, FrozenMap()) for name in self._names),
        )

    def copy(self) -> "Cluster":
        """An independent copy (pods are immutable and shared)."""
        other = Cluster.__new__(Cluster)
        other.__dict__.update(self.__dict__)
        for name in ("_alloc", "_req", "_nonzero", "_unsched", "_labels", "_taint_bits"):
            setattr(other, name, getattr(self, name).copy())
        other._names = list(self._names)
        other._rows = dict(self._rows)
        other._resources = list(self._resources)
        other._resource_index = dict(self._resource_index)
        table = self.label_table
        other.label_table = LabelTable(list(table.keys), dict(table.key_index),
                                       [list(v) for v in table.values],
                                       [dict(v) for v in table.value_index])
        other._taints = list(self._taints)
        other._taint_index = dict(self._taint_index)
        other._node_taints = list(self._node_taints)
        other._store = self._store.copy()
        other._journal = list(self._journal)
        other._node_images = dict(self._node_images)
        other._image_nodes = {k: dict(v) for k, v in self._image_nodes.items()}
        return other

    # -- the engine's access -------------------------------------------------------

    @property
    def columns(self) -> ClusterColumns:
        """The live columns and indexes, read-only by contract, for the layers that
        compile and run kernels over this cluster (see ``fastsched.cluster.columns``)."""
        # Made on access, not kept: a view stored on the cluster would be a reference
        # cycle that keeps every dropped cluster (and its columns) alive until the
        # cycle collector runs.
        return ClusterColumns(self)

    def ensure_resource(self, resource: str) -> int:
        """The column of ``resource``, appending a zero-filled one if it is new."""
        self._check_room((resource,), "resource")
        return self._column(resource)

    def add_requested(self, row: int, resource: str, amount: int) -> None:
        """Add ``amount`` of ``resource`` to node ``row``'s requested column (for a
        placed pod's request that had no column when the kernel ran)."""
        self.check_requested({(row, resource): amount})
        col = self._column(resource)        # may replace self._req with a wider copy
        self._req[row, col] += amount
        self._touch(row)

    def check_requested(self, adds: Mapping[tuple[int, str], int]) -> None:
        """Raise (changing nothing) unless ``add_requested(row, resource, amount)`` for
        every ``(row, resource) -> amount`` of ``adds`` would succeed."""
        self._check_room({r for _, r in adds}, "resource")
        for (row, resource), amount in adds.items():
            if isinstance(row, bool) or not isinstance(row, (int, np.integer)) \
                    or not 0 <= row < self._n:
                raise ValidationError(f"no node row {row!r} (the cluster has {self._n})", "row")
            col = self._resource_index.get(resource)
            have = 0 if col is None else int(self._req[row, col])
            if not 0 <= have + amount <= INT64_MAX:
                raise ValidationError(f"requested {resource} on row {row} would leave int64 "
                                      f"[0, 2^63): {have} + {amount}", resource)

    def restore_start(self, pod: Pod | str, seq: int) -> None:
        """Give a bound pod back the start order it had (a preemption trial unbinds
        and rebinds pods; their order decides later victim choices)."""
        self._store.seq[self._slot(pod)] = seq
        self._store.mutations += 1

    def record_placements(self, pods: Any, rows: np.ndarray, templates: frozenset[int],
                          ids: np.ndarray | None = None) -> tuple[int, dict[int, str]]:
        """Note placements whose requests a kernel has already added to the columns
        (the engine's commit path; see ``fastsched.cluster.bound``)."""
        return bound.record_placements(self, pods, rows, templates, ids)

    # -- internals -------------------------------------------------------------------

    def _small_allocatable(self) -> bool:
        """Whether every allocatable cpu and memory is below 2^46 (the kernels' exact
        float paths need it); cached until the node columns change."""
        key = (self._version, self._alloc.shape)
        if getattr(self, "_small_key", None) != key:
            n = self._n
            self._small = n == 0 or int(self._alloc[:n, :2].max()) < (1 << 46)
            self._small_key = key
        return self._small

    def _name_array(self) -> np.ndarray:
        names = self.node_names             # a new tuple whenever the nodes change
        if getattr(self, "_name_key", None) is not names:
            self._names_obj = np.array([*names, None], object)
            self._name_key = names
        return self._names_obj

    def _inverse_allocatable(self) -> np.ndarray:
        """``1 / allocatable`` (0 where it is 0), cached until the node columns change;
        kernels use it to divide without integer divisions."""
        key = (self._version, self._alloc.shape)
        if getattr(self, "_inv_key", None) != key:
            alloc = self._alloc[: self._n].astype(np.float64)
            with np.errstate(divide="ignore"):
                self._inv = np.where(alloc > 0, 1.0 / np.where(alloc > 0, alloc, 1.0), 0.0)
            self._inv_key = key
        return self._inv

    _JOURNAL = 64          # entries kept; a cache further behind rebuilds

    def _touch(self, rows: Any) -> None:
        """Note that the requests of node ``rows`` (a row or an array) changed."""
        self._journal.append(rows)
        self._epoch += 1
        self._journal_rows += 1 if type(rows) is int else len(rows)
        # Bounded in entries and in rows held: a cache that far behind rebuilds anyway.
        if len(self._journal) > self._JOURNAL or self._journal_rows > 4 * self._n + 4096:
            del self._journal[: len(self._journal) // 2 or 1]
            self._journal_rows = sum(1 if type(r) is int else len(r) for r in self._journal)
            self._journal_floor = self._epoch - len(self._journal)

    def _changed_since(self, epoch: int) -> np.ndarray | None:
        """Rows whose requests changed after ``epoch`` (repeats possible), or None
        when that is too long ago to say."""
        if epoch < self._journal_floor:
            return None
        back = self._epoch - epoch
        if not back:
            return np.zeros(0, np.int64)
        part = self._journal[len(self._journal) - back:]
        if all(type(r) is int for r in part):       # single binds: the common case
            return np.array(part, np.int64)
        if sum(1 if type(r) is int else len(r) for r in part) > self._n:
            return None                     # more rows than nodes: rebuilding is cheaper
        return np.concatenate([np.atleast_1d(np.asarray(r, np.int64)) for r in part])

    def _slot(self, pod: Pod | str) -> int:
        key = bound.pod_key(pod)
        slot = self._store.lookup(key)
        if slot < 0:
            raise PodNotFoundError(f"no bound pod {key!r}")
        return slot

    def _check_new_name(self, name: Any) -> str:
        name = check_str(name, "name", allow_empty=False)
        if len(name) > 253 or not _NODE_NAME.fullmatch(name):
            raise ValidationError(f"invalid node name {name!r}: lowercase alphanumerics, "
                                  "'-' and '.', at most 253 characters", "name")
        if name in self._rows:
            raise DuplicateError(f"a node named {name!r} already exists", "name")
        return name

    @staticmethod
    def _node_allocatable(allocatable: Any) -> dict[str, int]:
        if not isinstance(allocatable, (dict, Mapping)):
            raise ValidationError("expected a mapping of resource name to quantity, got "
                                  f"{type(allocatable).__name__}", "allocatable")
        alloc = resource_dict(allocatable, "allocatable", node=True)
        alloc.setdefault(PODS, DEFAULT_MAX_PODS)
        return alloc

    @staticmethod
    def _node_labels(labels: Any, name: str) -> dict[str, str]:
        labels = label_dict(labels, "labels")
        # A valid node name of at most 63 characters is a valid label value.
        if HOSTNAME_LABEL not in labels and len(name) <= 63:
            labels[HOSTNAME_LABEL] = name
        return labels

    @staticmethod
    def _node_taints_of(taints: Any) -> tuple[Taint, ...]:
        if not taints and isinstance(taints, (tuple, list)):
            return ()
        result = coerce_list(Taint, taints, "taints")
        seen = set()
        for i, taint in enumerate(result):
            if (taint.key, taint.effect) in seen:
                raise DuplicateError(f"taint {taint.key!r} with effect {taint.effect} is "
                                     "given twice", f"taints[{i}]")
            seen.add((taint.key, taint.effect))
        return result

    def _check_room(self, resources: Any, path: str) -> None:
        """Raise before anything changes if ``resources`` need more columns than allowed."""
        new = sorted({r for r in resources if r not in self._resource_index})
        if len(self._resources) + len(new) > _MAX_RESOURCES:
            raise ValidationError(f"at most {_MAX_RESOURCES} distinct resources are supported: the "
                                  f"cluster has {len(self._resources)}, this adds {len(new)} "
                                  f"({', '.join(new[:5])}{', ...' if len(new) > 5 else ''})", path)

    def _column(self, resource: str) -> int:
        """The column of a resource, appending one (zero-filled) if it is new."""
        col = self._resource_index.get(resource)
        if col is None:
            if len(self._resources) >= _MAX_RESOURCES:
                raise ValidationError(f"at most {_MAX_RESOURCES} distinct resources are "
                                      "supported", resource)
            col = self._resource_index[resource] = len(self._resources)
            self._resources.append(resource)
            pad = np.zeros((self._alloc.shape[0], 1), np.int64)
            self._alloc = np.ascontiguousarray(np.hstack([self._alloc, pad]))
            self._req = np.ascontiguousarray(np.hstack([self._req, pad]))
            # Bound pods' request vectors span every column (unbind subtracts them).
            self._store.widen(len(self._resources))
            self._version += 1       # the arrays were replaced: cached views are stale
        return col

    def _grow_rows(self, need: int) -> None:
        cap = self._alloc.shape[0]
        if need <= cap:
            return
        cap = max(need, 2 * cap, 64)

        def grown(a: np.ndarray, fill: Any = 0) -> np.ndarray:
            b = np.full((cap,) + a.shape[1:], fill, a.dtype)
            b[: self._n] = a[: self._n]
            return b

        self._alloc, self._req = grown(self._alloc), grown(self._req)
        self._nonzero, self._unsched = grown(self._nonzero), grown(self._unsched)
        self._labels, self._taint_bits = grown(self._labels, -1), grown(self._taint_bits)

    def _write_node(self, row: int, alloc: dict[str, int] | None,
                    labels: Mapping[str, str] | None, taints: tuple[Taint, ...] | None,
                    unschedulable: bool | None) -> None:
        if alloc is not None:
            values = [0] * len(self._resources)
            for resource, amount in alloc.items():
                values[self._resource_index[resource]] = amount
            self._alloc[row] = values
        if labels is not None:
            keys, codes = self.label_table.encode(labels)
            if len(self.label_table.keys) > self._labels.shape[1]:
                width = max(len(self.label_table.keys), 2 * self._labels.shape[1], 8)
                wider = np.full((self._labels.shape[0], width), -1, np.int32)
                wider[:, : self._labels.shape[1]] = self._labels
                self._labels = wider
            row_codes = [-1] * self._labels.shape[1]
            for k, code in zip(keys, codes):
                row_codes[k] = code
            self._labels[row] = row_codes
        if taints is not None and (taints or self._node_taints[row]):
            ids = [self._taint_id(t) for t in taints]
            words = (len(self._taints) + 63) // 64
            if words > self._taint_bits.shape[1]:
                bits = np.zeros((self._taint_bits.shape[0], words), np.uint64)
                bits[:, : self._taint_bits.shape[1]] = self._taint_bits
                self._taint_bits = bits
            self._taint_bits[row] = 0
            for t in ids:
                self._taint_bits[row, t >> 6] |= np.uint64(1 << (t & 63))
            self._node_taints[row] = taints
        if unschedulable is not None:
            self._unsched[row] = unschedulable

    def _set_images(self, name: str, images: FrozenMap) -> None:
        for image in self._node_images.pop(name, ()):
            holders = self._image_nodes[image]
            del holders[name]
            if not holders:
                del self._image_nodes[image]
        if images:
            self._node_images[name] = images
            for image, size in images.items():
                self._image_nodes.setdefault(image, {})[name] = size

    def _taint_id(self, taint: Taint) -> int:
        tid = self._taint_index.get(taint)
        if tid is None:
            tid = self._taint_index[taint] = len(self._taints)
            self._taints.append(taint)
        return tid

    def _misfit(self, row: int, pod: Pod) -> tuple[str, ...]:
        """Spec §3.7 for one node: reasons in kube-scheduler's order."""
        reasons = []
        if self._req[row, _POD_COL] + 1 > self._alloc[row, _POD_COL]:
            reasons.append("Too many pods")
        for resource, amount in pod.requests.items():
            if amount <= 0:
                continue
            col = self._resource_index.get(resource)
            free = 0 if col is None else self._alloc[row, col] - self._req[row, col]
            if amount > free:
                reasons.append(f"Insufficient {resource}")
        natives = {f"Insufficient {r}": i for i, r in enumerate(NATIVE_RESOURCES)}
        reasons.sort(key=lambda r: (r != "Too many pods", natives.get(r, len(natives)), r))
        return tuple(reasons)

    def _explain(self, row: int, pod: Pod, reason: str) -> str:
        resource = PODS if reason == "Too many pods" else reason.split(" ", 1)[1]
        col = self._resource_index.get(resource)
        used = 0 if col is None else int(self._req[row, col])
        cap = 0 if col is None else int(self._alloc[row, col])
        want = 1 if resource == PODS else pod.requests.get(resource, 0)
        return f"{reason} (requested {want}, used {used}, capacity {cap})"
