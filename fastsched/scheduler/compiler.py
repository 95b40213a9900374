"""The compile step: a profile and pod specs, over a cluster's columns, into the
placement kernel's ``Batch``.

The framework part lives here: specs deduplicated by content, each spec's request
vectors (every placement commits them), the per-node rows cache, and the batch's
assembly. Everything plugin-specific is a compile step of a plugin
(``fastsched.plugins``), which the :class:`Compiler` calls for every registered
plugin; the plugin decides from the profile whether it is on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._kernels import placement as _k
from ..cluster import Cluster
from ..model.pod import Pod
from ..model.resources import CPU, MEMORY, PODS
from ..plugins import FILTER_CODES, PLUGINS
from ..plugins._arrays import i64, stack, u8
from ..profile.profile import Profile

__all__ = ["Compiler"]

_MISSING = object()
_STATIC = tuple((p.static_key, p.static) for p in PLUGINS
                if p.static is not None and p.static_key is not None)
_ROWS = tuple((p.row, p.raw) for p in PLUGINS if p.row is not None and p.raw is not None)
_SPEC = tuple(p.spec for p in PLUGINS if p.spec is not None)
# Plugins sharing a compile step (the topology plugins share their counters) list
# the same function: it runs once.
_CONFIGURE = tuple(dict.fromkeys(p.configure for p in PLUGINS if p.configure is not None))
_WEIGHTS = tuple((p.name, p.weight_field) for p in PLUGINS if p.weight_field)


class Compiler:
    """Compiles the profile against the cluster's columns, and pod specs into arrays.

    Specs are deduplicated by content; the plugins' per-node rows (static filter
    bits, raw scores) are deduplicated by the part of the spec they depend on and
    kept in ``cache`` (the scheduler's, across calls) while the cluster's nodes —
    not their bindings — stay the same. ``memo`` is this compiler's scratch for
    plugins (per-spec lists, masks).
    """

    def __init__(self, cluster: Cluster, profile: Profile, cache: dict | None = None,
                 services: Sequence[Any] = (), namespace_labels: Any = None) -> None:
        self.cluster = cluster
        self.services = services
        self.namespace_labels = namespace_labels or {}
        self.spec_pods: list[Pod] = []
        self.topology: list[bool] = []      # per spec: it has topology checks or scores
        self.profile = profile
        self.n = n = len(cluster)
        self.resources = cluster.resources
        self.col = {r: i for i, r in enumerate(self.resources)}
        self.codes = cluster.label_codes
        self.taint_bits = cluster.taint_bits
        self._filters_on = frozenset(profile.filters)
        self._weights = dict(profile.scores)
        self.filters = [FILTER_CODES[f] for f in profile.filters]
        self.fit_on = "NodeResourcesFit" in self._filters_on
        self.ports_on = "NodePorts" in self._filters_on
        self.specs: dict[Any, int] = {}
        self.missing: list[tuple[str, ...]] = []
        self.req: list[np.ndarray] = []
        self.filter_req: list[np.ndarray] = []
        self.nz: list[tuple[int, int]] = []
        self.static_of: list[int] = []
        self.row_of: dict[str, list[int]] = {row[0]: [] for row, _ in _ROWS}
        self.conflict: list[bool] = []      # set by a plugin: no node can ever fit
        self.simd_worth_it = True   # copying columns costs about a scalar scan or two
        self.extra: list[dict[str, int]] = []   # ignored resources no node offers
        self.memo: dict[str, Any] = {}
        self._index: dict[str, dict[Any, int]] = {}       # kind -> key -> row index
        self._rows: dict[str, list[np.ndarray]] = {}      # kind -> rows for the kernel
        self.unsched_any = bool(cluster.unschedulable.any()) if n else False
        self.cache = cache if cache is not None else {}
        self.ignored = profile.fit.ignores

    @property
    def num_specs(self) -> int:
        return len(self.req)

    def filter_on(self, plugin: str) -> bool:
        """Whether the profile runs ``plugin`` as a filter."""
        return plugin in self._filters_on

    def gate(self, name: str) -> bool:
        """Whether the profile's feature gate ``name`` is on."""
        return self.profile.gate(name)

    def weight(self, plugin: str) -> int:
        """The profile's weight of a score plugin (0: not scored)."""
        return self._weights.get(plugin, 0)

    # -- specs -----------------------------------------------------------------------

    def spec(self, pod: Pod) -> int:
        """The index of ``pod``'s spec, compiling it when it is new."""
        key = (pod.requests, pod.scoring_requests, pod.node_name, pod.node_selector,
               pod.node_affinity, pod.tolerations, pod.host_ports, pod.images,
               len(pod.containers) + len(pod.init_containers), pod.namespace, pod.labels,
               pod.topology_spread_constraints, pod.pod_affinity, pod.pod_anti_affinity,
               pod.owner_selector)
        found = self.specs.get(key)
        if found is not None:
            return found
        s = self.specs[key] = len(self.req)
        self.spec_pods.append(pod)
        vec = np.zeros(len(self.resources), np.int64)
        missing = []
        extra = {}
        for resource, amount in pod.requests.items():
            col = self.col.get(resource)
            if col is not None:
                vec[col] = amount
            elif amount > 0:
                if self.ignored(resource):
                    extra[resource] = amount
                else:
                    missing.append(resource)
        self.extra.append(extra)
        vec[self.col[PODS]] += 1
        self.req.append(vec)
        filt = vec.copy()
        for resource, col in self.col.items():
            if self.ignored(resource):
                filt[col] = 0
        self.filter_req.append(filt)
        self.missing.append(tuple(sorted(missing)))
        self.nz.append((pod.scoring_requests.get(CPU, 0), pod.scoring_requests.get(MEMORY, 0)))
        self.conflict.append(False)
        for compile_spec in _SPEC:
            compile_spec(self, pod)
        self.static_of.append(self._static_index(pod))
        for (kind, _, _), raw in _ROWS:
            found = raw(self, pod)
            self.row_of[kind].append(-1 if found is None else self.row(kind, *found))
        return s

    def row(self, kind: str, key: Any, compute: Any) -> int:
        """The index of a per-node row for ``(kind, key)``, -1 when it is all zeros.

        ``compute()`` runs at most once while the node columns stay the same: its
        result is kept in the scheduler's cache across calls."""
        index = self._index.setdefault(kind, {})
        found = index.get(key)
        if found is not None:
            return found
        array = self.cache.get((kind, key), _MISSING)
        if array is _MISSING:
            array = compute()
            array = array if array.any() else None
            self.cache[(kind, key)] = array
        found = -1
        if array is not None:
            rows = self._rows.setdefault(kind, [])
            found = len(rows)
            rows.append(array)
        index[key] = found
        return found

    def _static_index(self, pod: Pod) -> int:
        key = tuple(static_key(pod) for static_key, _ in _STATIC)
        return self.row("static", key, lambda: self._static_bits(pod))

    def _static_bits(self, pod: Pod) -> np.ndarray:
        """uint8 per node: the static filters that reject it (``StaticBit``)."""
        bits = np.zeros(self.n, np.uint8)
        for _, static in _STATIC:
            found = static(self, pod)
            if found is not None:
                bits |= found
        return bits

    # -- the batch -------------------------------------------------------------------

    def batch(self) -> Any:
        """The kernel's ``Batch``: cluster columns (shared), plan and spec arrays."""
        c, n = self.cluster, self.n
        cols = c.columns
        b = _k.Batch()
        b.alloc = cols.alloc
        b.req = cols.req
        b.nonzero = cols.nonzero
        b.inv_alloc = cols.inverse_allocatable() if n else np.zeros(1)
        b.pods_col = self.col[PODS]
        b.small_alloc = int(cols.small_allocatable())
        b.soa = self._soa(b.small_alloc) if self.simd_worth_it else None
        b.filters = i64(self.filters)
        for name, field in _WEIGHTS:
            setattr(b, field, self.weight(name))
        S = max(self.num_specs, 1)
        R = len(self.resources)
        b.spec_req = stack(self.req, (S, R), np.int64)
        b.spec_filter = stack(self.filter_req, (S, R), np.int64)
        offsets, fcols = [0], []
        for filt in self.filter_req:
            fcols.extend(np.flatnonzero(filt > 0).tolist())
            offsets.append(len(fcols))
        b.fcol_off = i64(offsets if self.filter_req else [0, 0])
        b.fcol = i64(fcols or [0])
        b.spec_nz = stack([np.array(v, np.int64) for v in self.nz], (S, 2), np.int64)
        b.spec_missing = u8([bool(m) for m in self.missing] or [0])
        b.spec_mask = i64(self.static_of or [-1])
        b.masks = stack(self._rows.get("static", []), (1, max(n, 1)), np.uint8)
        for (kind, spec_field, rows_field), _ in _ROWS:
            setattr(b, spec_field, i64(self.row_of[kind] or [-1]))
            setattr(b, rows_field, stack(self._rows.get(kind, []), (1, max(n, 1)), np.int64))
        for configure in _CONFIGURE:
            configure(self, b)
        return b

    def _soa(self, small_alloc: int) -> np.ndarray | None:
        """float64 copies of the columns the AVX2 scan reads (see simd_scan.h), when
        the CPU has AVX2, the fast path applies and every value is exact in a double."""
        n = self.n
        if not (_k.SIMD and small_alloc and n >= 4 and len(self.resources) >= 4):
            return None
        cols = self.cluster.columns
        alloc, req, nonzero = cols.alloc[:, :4], cols.req[:, :4], cols.nonzero
        soa = np.empty((10, n), np.float64)
        soa[0:2] = alloc[:, :2].T
        soa[2:6] = (alloc - req).T
        soa[6:8] = req[:, :2].T
        soa[8:10] = nonzero.T
        exact = 1 << 53
        if (np.abs(alloc).max() >= exact or np.abs(req).max() >= exact
                or np.abs(nonzero).max() >= exact):
            return None
        return soa
