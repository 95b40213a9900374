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
from ..model.pod import Pod, replica_name
from ..model.quantity import INT64_MAX
from ..model.resources import CPU, MEMORY, NATIVE_RESOURCES, PODS, resource_dict
from ..model.taints import Taint
from .bulk import bind_many
from .columns import ClusterColumns
from .labeltable import LabelTable
from .podtable import PodTable
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
        self._pod_map: dict[str, tuple[Pod, str]] = {}       # key -> (pod, node name)
        self._node_pods: dict[str, dict[str, Pod]] = {}      # node -> {key: pod}
        self._ported: dict[str, tuple[str, tuple]] = {}      # key -> (node, host ports)
        self._affine: dict[str, tuple[Pod, str]] = {}        # pods with pod (anti-)affinity
        # Placements recorded in bulk by the scheduler: their requests are already in
        # the columns; the per-pod dicts are filled in when first read (see _flush).
        self._bulk: list[tuple[Any, np.ndarray, int, frozenset[int], np.ndarray]] = []
        # Bound pods' labels as columns (PodTopologySpread, InterPodAffinity).
        self._podtab = PodTable()
        self._pod_slot: dict[str, int] = {}
        self._replica_seq = 0
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

    @property
    def _pods(self) -> dict[str, tuple[Pod, str]]:
        if self._bulk:
            self._flush()
        return self._pod_map

    @property
    def _pods_by_node(self) -> dict[str, dict[str, Pod]]:
        if self._bulk:
            self._flush()
        return self._node_pods

    def __len__(self) -> int:
        return self._n

    def __contains__(self, name: object) -> bool:
        return name in self._rows

    def __repr__(self) -> str:
        return (f"Cluster({self._n} nodes, {len(self._pods)} pods, "
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
        self.row(node_name)
        return tuple(self._pods_by_node.get(node_name, {}).values())

    def node_of(self, pod: Pod | str) -> str:
        """The node a bound pod runs on."""
        return self._pods[self._pod_key(pod)][1]

    @property
    def pods(self) -> Mapping[str, Pod]:
        """Every bound pod by ``namespace/name``."""
        return FrozenMap((key, pod) for key, (pod, _) in self._pods.items())

    def bindings(self) -> Iterator[tuple[Pod, str]]:
        """``(pod, node name)`` for every bound pod, in binding order."""
        return iter(list(self._pods.values()))

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
        evicted = tuple(self._pods_by_node.pop(name, {}).values())
        self._set_images(name, FrozenMap())
        for pod in evicted:
            del self._pods[pod.key]
            self._ported.pop(pod.key, None)
            self._affine.pop(pod.key, None)
            del self._pod_slot[pod.key]
        self._podtab.remove_node(row)
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
        if pod.key in self._pods:
            raise DuplicateError(f"pod {pod.key} is already bound to node "
                                 f"{self._pods[pod.key][1]!r}", "pod")
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
        self._req[row] += self.request_vector(pod)
        self._nonzero[row] += scoring
        self._remember(pod, node_name)
        self._pod_slot[pod.key] = self._podtab.add(pod.labels, pod.namespace, row, pod.priority,
                                                   self.request_vector(pod))

    def bind_many(self, pods: Iterable[Pod], nodes: Iterable[str], *, force: bool = False) -> None:
        """Bind ``pods[t]`` to ``nodes[t]``, all or nothing: the state ``bind`` pod by pod
        would reach, at the cost of array sums (see ``fastsched.cluster.bulk``)."""
        bind_many(self, pods, nodes, force=force)

    def unbind(self, pod: Pod | str) -> Pod:
        """Unbind a pod (a ``Pod``, ``"namespace/name"`` or a name in ``default``)."""
        key = self._pod_key(pod)
        bound, node_name = self._pods.pop(key)
        del self._pods_by_node[node_name][key]
        self._ported.pop(key, None)
        self._affine.pop(key, None)
        self._podtab.remove(self._pod_slot.pop(key))
        row = self._rows[node_name]
        self._req[row] -= self.request_vector(bound)
        self._nonzero[row] -= self.request_vector(bound, scoring=True)
        return bound

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
            pods=FrozenMap((k, node) for k, (_, node) in self._pods.items()),
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
        other._pod_map = dict(self._pods)
        other._node_pods = {k: dict(v) for k, v in self._pods_by_node.items()}
        other._ported = dict(self._ported)
        other._affine = dict(self._affine)
        other._bulk = []
        other._podtab = self._podtab.copy()
        other._pod_slot = dict(self._pod_slot)
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
        self._check_room((resource,), "resource")
        col = self._resource_index.get(resource)
        have = 0 if col is None else int(self._req[row, col])
        if not 0 <= have + amount <= INT64_MAX:
            raise ValidationError(f"requested {resource} on row {row} would leave int64 "
                                  f"[0, 2^63): {have} + {amount}", resource)
        col = self._column(resource)        # may replace self._req with a wider copy
        self._req[row, col] += amount

    def restore_start(self, pod: Pod, seq: int) -> None:
        """Give a bound pod back the start order it had (a preemption trial unbinds
        and rebinds pods; their order decides later victim choices)."""
        self._podtab.seq[self._pod_slot[pod.key]] = seq

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

    def _remember(self, pod: Pod, node_name: str) -> None:
        key = pod.key
        self._pod_map[key] = (pod, node_name)
        self._node_pods.setdefault(node_name, {})[key] = pod
        ports = pod.host_ports
        if ports:
            self._ported[key] = (node_name, ports)
        if pod.pod_affinity is not None or pod.pod_anti_affinity is not None:
            self._affine[key] = (pod, node_name)

    def record_placements(self, pods: Any, rows: np.ndarray, templates: frozenset[int],
                          ids: np.ndarray | None = None) -> int:
        """Note placements whose requests a kernel has already added to the columns
        (the engine's commit path: ``columns.req`` is written in place, then this).

        ``rows[t]`` is pod t's node row (-1: not placed). A pod object in
        ``templates`` (by id) stands for replicas: its placement at position t is
        bound as ``<name>-<base + t>``, base being the returned sequence number.
        ``ids`` (``id`` of every pod, if the caller has them) saves recomputing them.
        """
        base = self._replica_seq
        self._replica_seq += len(rows)
        placed = np.flatnonzero(rows >= 0)
        slots = np.zeros(0, np.int64)
        if len(placed):
            # Label codes once per distinct pod object, then one vectorized append.
            if ids is None:
                ids = np.fromiter(map(id, pods), np.int64, len(rows))
            _, first, inverse = np.unique(ids[placed], return_index=True, return_inverse=True)
            table = self._podtab
            # Distinct pod objects often share what the table stores (replicas share
            # their label and request maps): encode each such group once.
            group: dict[tuple, int] = {}
            objects: list[Pod] = []
            regroup = np.empty(len(first), np.int64)
            for k, i in enumerate(first.tolist()):
                pod = pods[int(placed[i])]
                key = (id(pod.labels), pod.namespace, id(pod.requests), pod.priority)
                found = group.get(key)
                if found is None:
                    found = group[key] = len(objects)
                    objects.append(pod)
                regroup[k] = found
            inverse = regroup[inverse]
            rows_codes = [table.encode(p.labels) for p in objects]
            width = table.codes.shape[1]
            codes = np.full((len(objects), width), -1, np.int32)
            for i, r in enumerate(rows_codes):
                codes[i, : len(r)] = r
            ns = np.array([table.namespace_code(p.namespace) for p in objects], np.int32)
            prio = np.array([p.priority for p in objects], np.int32)
            vectors = np.stack([self.request_vector(p) for p in objects])
            slots = table.add_many(codes[inverse], ns[inverse], rows[placed].astype(np.int32),
                                   prio[inverse], vectors[inverse])
        self._bulk.append((pods, rows, base, templates, slots))
        return base

    def _flush(self) -> None:
        bulk, self._bulk = self._bulk, []
        names = self._names
        for pods, rows, base, templates, slots in bulk:
            for t, slot in zip(np.flatnonzero(rows >= 0).tolist(), slots.tolist()):
                pod = pods[t]
                if templates and id(pod) in templates:
                    suffix = f"-{base + t}"
                    name = replica_name(pod.name, suffix)
                    while f"{pod.namespace}/{name}" in self._pod_map:
                        suffix += "-r"      # a user's pod took the generated name
                        name = replica_name(pod.name, suffix)
                    pod = pod.replica(name)
                self._remember(pod, names[rows[t]])
                self._pod_slot[pod.key] = slot

    def _affine_pods(self) -> dict[str, tuple[Pod, str]]:
        """Bound pods with pod affinity or anti-affinity terms: key -> (pod, node)."""
        if self._bulk:
            self._flush()
        return self._affine

    def _ported_pods(self) -> dict[str, tuple[str, tuple]]:
        """Bound pods with host ports: key -> (node, ports)."""
        if self._bulk:
            self._flush()
        return self._ported

    def _pod_key(self, pod: Pod | str) -> str:
        if isinstance(pod, Pod):
            key = pod.key
        elif isinstance(pod, str):
            key = pod if "/" in pod else f"default/{pod}"
        else:
            raise ValidationError(f"expected a Pod or a pod name, got {type(pod).__name__}",
                                  "pod")
        if key not in self._pods:
            raise PodNotFoundError(f"no bound pod {key!r}")
        return key

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
            # Bound pods' request vectors span every column (preemption reads them).
            self._podtab.widen(len(self._resources))
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
