"""Bound pods as columns: one row (slot) per pod, one template per pod family.

A simulator or a planner binds and unbinds hundreds of thousands of pods; a
Python object per bound pod would make every call pay for the pods the previous
ones placed. So a bound pod is a slot in a few arrays:

* ``node[slot]`` (``int32``, -1 for a free slot), ``tid[slot]`` its template,
  ``seq[slot]`` its binding order (the "start time" preemption compares) and
  ``rep[slot]`` its replica number (-1 for a named pod);
* ``obj[slot]``: the ``Pod`` itself for a named pod, None for a replica.

A template stands for every pod of one family (pods made from each other by
``Pod.replica``, which share every field but their name): its label codes,
namespace, priority, request vectors, host ports and whether it has pod
(anti-)affinity terms are stored once. Replicas that the scheduler binds from one
pod object given many times are named ``<name>-<k>`` (k from a per-cluster
sequence) and have no object at all: ``pod(slot)`` builds one on demand.

Named pods are found through ``keys`` (``namespace/name`` → slot); replicas by
their number, through chunks of ``k → slot`` arrays, one per batch recorded (a
chunk mostly emptied by unbinding turns into a small dict).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..model.pod import Pod, family, renamed, replica_name
from .labeltable import LabelTable, requirement_mask

__all__ = ["PodStore", "suffix_key"]

_SPARSE = 16            # a chunk with fewer than 1/_SPARSE of its entries live becomes a dict


def suffix_key(namespace: str, name: str) -> tuple[str, str] | None:
    """``(namespace, prefix)`` of a name ``<prefix>-<digits>`` (one a replica of
    ``prefix`` could be given), else None."""
    prefix, dash, digits = name.rpartition("-")
    return (namespace, prefix) if dash and digits.isdigit() else None


class PodStore:
    """The bound pods of one cluster (see the module)."""

    def __init__(self, width: int = 0) -> None:
        self.labels = LabelTable()
        self.namespaces: dict[str, int] = {}
        # templates
        self.tmpl: list[Pod | None] = []
        self.t_base: list[str | None] = []          # replicas' name prefix (None: named)
        self.t_prefix: list[str | None] = []        # "namespace/base" of replica templates
        self.t_ports: list[tuple] = []
        self.t_index: dict[tuple, int] = {}
        self.t_free: list[int] = []
        self.t_codes = np.full((0, 0), -1, np.int32)
        self.t_ns = np.zeros(0, np.int32)
        self.t_prio = np.zeros(0, np.int32)
        self.t_req = np.zeros((0, width), np.int64)
        self.t_nz = np.zeros((0, 2), np.int64)
        self.t_live = np.zeros(0, np.int64)
        self.t_affine = np.zeros(0, np.bool_)
        self.t_ported = np.zeros(0, np.bool_)
        self.t_term = np.zeros(0, np.bool_)        # terminating (deletionTimestamp set)
        # slots
        self.node = np.full(0, -1, np.int32)
        self.tid = np.zeros(0, np.int32)
        self.seq = np.zeros(0, np.int64)
        self.rep = np.zeros(0, np.int64)
        self.obj = np.empty(0, object)
        self.size = 0                   # slots ever used (high-water mark)
        self.free = np.zeros(0, np.int64)   # a stack of free slots below size
        self.nfree = 0
        self.count = 0                  # live pods
        self.next_seq = 0
        self.keys: dict[str, int] = {}
        self.suffixed: dict[tuple[str, str], int] = {}   # see suffix_key: named pods per prefix
        self.chunk_base: list[int] = []
        self.chunks: list[Any] = []     # int32 arrays (k - base → slot, -1) or dicts k → slot
        self.chunk_live: list[int] = []
        self.ported_live = 0            # live pods whose template has host ports
        self.affine_live = 0            # ... pod (anti-)affinity terms
        self.terms_epoch = 0            # bumped whenever either set changes
        self.mutations = 0              # bumped by every change (keys the by-node cache)
        self._by_node: Any = None

    # -- copies --------------------------------------------------------------------

    def copy(self) -> "PodStore":
        other = PodStore.__new__(PodStore)
        other.__dict__.update(self.__dict__)
        t = self.labels
        other.labels = LabelTable(list(t.keys), dict(t.key_index), [list(v) for v in t.values],
                                  [dict(v) for v in t.value_index])
        other.namespaces = dict(self.namespaces)
        for name in ("tmpl", "t_base", "t_prefix", "t_ports", "t_free", "chunk_base", "chunk_live"):
            setattr(other, name, list(getattr(self, name)))
        other.t_index = dict(self.t_index)
        for name in ("t_codes", "t_ns", "t_prio", "t_req", "t_nz", "t_live", "t_affine",
                     "t_ported", "t_term", "node", "tid", "seq", "rep", "obj", "free"):
            setattr(other, name, getattr(self, name).copy())
        other.keys = dict(self.keys)
        other._by_node = None
        other.suffixed = dict(self.suffixed)
        other.chunks = [c.copy() for c in self.chunks]
        return other

    # -- templates -----------------------------------------------------------------

    def find(self, pod: Pod, base: str | None = None) -> int:
        """The template of ``pod``'s family, -1 if it has none yet."""
        return self.t_index.get((family(pod), pod.namespace, base), -1)

    def template(self, pod: Pod, base: str | None, req: np.ndarray, nz: tuple[int, int]) -> int:
        """The template of ``pod``'s family (``base``: the replicas' name prefix, None
        for named pods), made with request vector ``req`` if it is new."""
        key = (family(pod), pod.namespace, base)
        t = self.t_index.get(key)
        if t is not None:
            return t
        keys, values = self.labels.encode(pod.labels)
        width = len(self.labels.keys)
        if width > self.t_codes.shape[1]:
            wider = np.full((self.t_codes.shape[0], max(width, 2 * self.t_codes.shape[1], 8)),
                            -1, np.int32)
            wider[:, : self.t_codes.shape[1]] = self.t_codes
            self.t_codes = wider
        if self.t_free:
            t = self.t_free.pop()
            self.tmpl[t], self.t_base[t], self.t_ports[t] = pod, base, pod.host_ports
            self.t_prefix[t] = None if base is None else f"{pod.namespace}/{base}"
        else:
            t = len(self.tmpl)
            if t >= len(self.t_ns):
                self._grow_templates(t + 1)
            self.tmpl.append(pod)
            self.t_base.append(base)
            self.t_prefix.append(None if base is None else f"{pod.namespace}/{base}")
            self.t_ports.append(pod.host_ports)
        self.t_index[key] = t
        self.t_codes[t] = -1
        self.t_codes[t, keys] = values
        self.t_ns[t] = self.namespaces.setdefault(pod.namespace, len(self.namespaces))
        self.t_prio[t] = pod.priority
        self.widen(len(req))
        self.t_req[t] = 0
        self.t_req[t, : len(req)] = req
        self.t_nz[t] = nz
        self.t_live[t] = 0
        self.t_affine[t] = pod.pod_affinity is not None or pod.pod_anti_affinity is not None
        self.t_ported[t] = bool(self.t_ports[t])
        self.t_term[t] = pod.terminating
        return t

    def widen(self, columns: int) -> None:
        """Room for ``columns`` resource columns in the templates' request vectors."""
        if columns > self.t_req.shape[1]:
            wider = np.zeros((self.t_req.shape[0], columns), np.int64)
            wider[:, : self.t_req.shape[1]] = self.t_req
            self.t_req = wider

    def _grow_templates(self, need: int) -> None:
        cap = max(need, 2 * len(self.t_ns), 16)

        def grown(a: np.ndarray, fill: Any = 0) -> np.ndarray:
            b = np.full((cap,) + a.shape[1:], fill, a.dtype)
            b[: len(a)] = a
            return b

        self.t_codes, self.t_ns, self.t_prio = grown(self.t_codes, -1), grown(self.t_ns), \
            grown(self.t_prio)
        self.t_req, self.t_nz, self.t_live = grown(self.t_req), grown(self.t_nz), \
            grown(self.t_live)
        self.t_affine, self.t_ported = grown(self.t_affine), grown(self.t_ported)
        self.t_term = grown(self.t_term)

    # -- adding and removing ---------------------------------------------------------

    def add(self, tids: np.ndarray, rows: np.ndarray, reps: np.ndarray | None = None,
            named: Sequence[tuple[int, Pod]] = ()) -> np.ndarray:
        """Bind pods with templates ``tids`` on node ``rows`` (in this order: their
        start order); ``reps`` their replica numbers (-1: named), ``named`` the
        ``(position, pod)`` of the named ones. Returns the slots."""
        count = len(tids)
        reuse = min(count, self.nfree)
        fresh = count - reuse
        if self.size + fresh > len(self.node):
            self._grow(self.size + fresh)
        slots = np.empty(count, np.int64)
        slots[:reuse] = self.free[self.nfree - reuse: self.nfree][::-1]
        self.nfree -= reuse
        slots[reuse:] = np.arange(self.size, self.size + fresh)
        self.size += fresh
        self.node[slots] = rows
        self.tid[slots] = tids
        self.seq[slots] = np.arange(self.next_seq, self.next_seq + count)
        self.next_seq += count
        self.rep[slots] = -1 if reps is None else reps
        self.count += count
        self.mutations += 1
        live = np.bincount(tids, minlength=len(self.tmpl))
        self.t_live[: len(live)] += live
        self._count_flags(live, 1)
        keys, obj, suffixed = self.keys, self.obj, self.suffixed
        for t, pod in named:
            slot = int(slots[t])
            obj[slot] = pod
            keys[pod.key] = slot
            sk = suffix_key(pod.namespace, pod.name)
            if sk is not None:
                suffixed[sk] = suffixed.get(sk, 0) + 1
        return slots

    def add_one(self, t: int, row: int, pod: Pod) -> int:
        """``add`` for one named pod, with scalar writes (the single-pod path)."""
        if self.nfree:
            self.nfree -= 1
            slot = int(self.free[self.nfree])
        else:
            if self.size >= len(self.node):
                self._grow(self.size + 1)
            slot = self.size
            self.size += 1
        self.node[slot] = row
        self.tid[slot] = t
        self.seq[slot] = self.next_seq
        self.next_seq += 1
        self.rep[slot] = -1
        self.obj[slot] = pod
        self.keys[pod.key] = slot
        sk = suffix_key(pod.namespace, pod.name)
        if sk is not None:
            self.suffixed[sk] = self.suffixed.get(sk, 0) + 1
        self.count += 1
        self.mutations += 1
        self.t_live[t] += 1
        if self.t_affine[t] or self.t_ported[t]:
            self.affine_live += int(self.t_affine[t])
            self.ported_live += int(self.t_ported[t])
            self.terms_epoch += 1
        return slot

    def remove_one(self, slot: int) -> None:
        """``remove`` for one slot, with scalar writes (``Cluster.unbind``)."""
        t = int(self.tid[slot])
        self.mutations += 1
        self.t_live[t] -= 1
        if self.t_affine[t] or self.t_ported[t]:
            self.affine_live -= int(self.t_affine[t])
            self.ported_live -= int(self.t_ported[t])
            self.terms_epoch += 1
        k = int(self.rep[slot])
        if k >= 0:
            c = bisect_right(self.chunk_base, k) - 1
            chunk = self.chunks[c]
            if isinstance(chunk, dict):
                del chunk[k - self.chunk_base[c]]
            else:
                chunk[k - self.chunk_base[c]] = -1
            self.chunk_live[c] -= 1
            if not self.chunk_live[c]:
                del self.chunk_base[c], self.chunks[c], self.chunk_live[c]
        else:
            pod = self.obj[slot]
            del self.keys[pod.key]
            self.obj[slot] = None
            sk = suffix_key(pod.namespace, pod.name)
            if sk is not None:
                self.suffixed[sk] -= 1
                if not self.suffixed[sk]:
                    del self.suffixed[sk]
        if self.t_live[t] == 0:
            self._drop_template(t)
        self.node[slot] = -1
        if self.nfree >= len(self.free):
            free = np.zeros(max(16, 2 * len(self.free)), np.int64)
            free[: self.nfree] = self.free[: self.nfree]
            self.free = free
        self.free[self.nfree] = slot
        self.nfree += 1
        self.count -= 1

    def add_chunk(self, base: int, slots: np.ndarray, live: int) -> None:
        """Register replicas numbered ``base + i`` at ``slots[i]`` (-1: none)."""
        if live:
            self.chunk_base.append(base)
            self.chunks.append(slots.astype(np.int32))
            self.chunk_live.append(live)

    def remove(self, slots: np.ndarray) -> None:
        """Forget the pods in ``slots`` (distinct, live)."""
        if not len(slots):
            return
        self.mutations += 1
        tids = self.tid[slots]
        gone = np.bincount(tids, minlength=len(self.tmpl))
        self.t_live[: len(gone)] -= gone
        self._count_flags(gone, -1)
        for t in np.flatnonzero(gone).tolist():
            if self.t_live[t] == 0:
                self._drop_template(t)
        reps = self.rep[slots]
        replicas = reps >= 0
        if replicas.any():
            self._forget_replicas(reps[replicas])
        if not replicas.all():
            obj, keys, suffixed = self.obj, self.keys, self.suffixed
            for slot in slots[~replicas].tolist():
                pod = obj[slot]
                del keys[pod.key]
                obj[slot] = None
                sk = suffix_key(pod.namespace, pod.name)
                if sk is not None:
                    suffixed[sk] -= 1
                    if not suffixed[sk]:
                        del suffixed[sk]
        self.node[slots] = -1
        if self.nfree + len(slots) > len(self.free):
            free = np.zeros(max(self.nfree + len(slots), 2 * len(self.free)), np.int64)
            free[: self.nfree] = self.free[: self.nfree]
            self.free = free
        self.free[self.nfree: self.nfree + len(slots)] = slots
        self.nfree += len(slots)
        self.count -= len(slots)

    def _count_flags(self, per_template: np.ndarray, sign: int) -> None:
        width = len(per_template)
        affine = int(per_template[self.t_affine[:width]].sum())
        ported = int(per_template[self.t_ported[:width]].sum())
        if affine or ported:
            self.affine_live += sign * affine
            self.ported_live += sign * ported
            self.terms_epoch += 1

    def _drop_template(self, t: int) -> None:
        pod = self.tmpl[t]
        assert pod is not None
        del self.t_index[(family(pod), pod.namespace, self.t_base[t])]
        self.tmpl[t] = self.t_prefix[t] = None
        self.t_ports[t] = ()
        self.t_affine[t] = self.t_ported[t] = False
        self.t_free.append(t)

    def _forget_replicas(self, reps: np.ndarray) -> None:
        bases = np.asarray(self.chunk_base, np.int64)
        which = np.searchsorted(bases, reps, "right") - 1
        dead = []
        for c in np.unique(which).tolist():
            mine = reps[which == c] - bases[c]
            chunk = self.chunks[c]
            if isinstance(chunk, dict):
                for k in mine.tolist():
                    del chunk[k]
            else:
                chunk[mine] = -1
            self.chunk_live[c] -= len(mine)
            live = self.chunk_live[c]
            if live == 0:
                dead.append(c)
            elif not isinstance(chunk, dict) and live * _SPARSE < len(chunk):
                where = np.flatnonzero(chunk >= 0)
                self.chunks[c] = dict(zip(where.tolist(), chunk[where].tolist()))
        for c in reversed(dead):
            del self.chunk_base[c], self.chunks[c], self.chunk_live[c]

    def remove_node(self, row: int) -> np.ndarray:
        """Forget the pods of node ``row`` (returned, in start order) and shift the
        rows after it down by one."""
        slots = self.on_node(row)
        self.remove(slots)
        live = self.node[: self.size]
        live[live > row] -= 1
        self.mutations += 1
        return slots

    # -- reading ---------------------------------------------------------------------

    def live(self) -> np.ndarray:
        """Slots of the bound pods (in slot order)."""
        return np.flatnonzero(self.node[: self.size] >= 0)

    def ordered(self, slots: np.ndarray | None = None) -> np.ndarray:
        """``slots`` (default: every bound pod) in start order."""
        slots = self.live() if slots is None else slots
        return slots[np.argsort(self.seq[slots], kind="stable")]

    def on_node(self, row: int) -> np.ndarray:
        """Slots of the pods on node ``row``, in start order (from a grouping by node
        made once per change of the store, so a loop over every node costs one sort)."""
        cached = self._by_node
        if cached is None or cached[0] != self.mutations:
            live = self.ordered()
            live = live[np.argsort(self.node[live], kind="stable")]
            nodes = self.node[live]
            cached = self._by_node = (self.mutations, live, nodes)
        _, live, nodes = cached
        lo, hi = np.searchsorted(nodes, [row, row + 1])
        return live[lo:hi]

    def lookup(self, key: str) -> int:
        """The slot of the bound pod ``namespace/name``, -1 if there is none."""
        slot = self.keys.get(key)
        if slot is not None:
            return slot
        ns, _, name = key.partition("/")
        digits = name[name.rfind("-") + 1:]
        if not digits.isdecimal() or not self.chunks or digits[0] == "0" and len(digits) > 1:
            return -1
        k = int(digits)
        c = bisect_right(self.chunk_base, k) - 1
        if c < 0:
            return -1
        chunk, off = self.chunks[c], k - self.chunk_base[c]
        if isinstance(chunk, dict):
            slot = chunk.get(off, -1)
        else:
            slot = int(chunk[off]) if off < len(chunk) else -1
        if slot < 0:
            return -1
        t = int(self.tid[slot])
        template, base = self.tmpl[t], self.t_base[t]
        if template is None or base is None or template.namespace != ns \
                or replica_name(base, f"-{k}") != name:
            return -1
        return slot

    def lookup_many(self, keys: Sequence[str]) -> np.ndarray:
        """``lookup`` for many keys at once (-1 where not bound): replicas' numbers are
        parsed in one pass, found with array operations, and each key checked
        against the name its slot would give."""
        n = len(keys)
        if self.keys:
            get = self.keys.get
            slots = np.fromiter((get(k, -1) for k in keys), np.int64, n)
        else:
            slots = np.full(n, -1, np.int64)
        miss = np.flatnonzero(slots < 0)
        if not len(miss) or not self.chunks:
            return slots
        asked = keys if len(miss) == n else [keys[i] for i in miss.tolist()]
        digits = [k[k.rfind("-") + 1:] for k in asked]
        try:        # int() also takes "+5" or "5_0": the name check below refuses those
            numbers = np.fromiter(map(int, digits), np.int64, len(asked))
        except (ValueError, OverflowError):
            numbers = np.fromiter((int(d) if d.isdecimal() and len(d) < 19 else -1
                                   for d in digits), np.int64, len(asked))
        found = self._replica_slots(numbers)
        prefix = self.t_prefix
        expect = [f"{prefix[t]}-{k}" if f >= 0 else "" for f, t, k in
                  zip(found.tolist(), self.tid[np.maximum(found, 0)].tolist(), numbers.tolist())]
        good = np.fromiter(map(str.__eq__, asked, expect), np.bool_, len(asked))
        slots[miss[good]] = found[good]
        for i in miss[~good & (found >= 0)].tolist():
            slots[i] = self.lookup(keys[i])      # a name cut short (see replica_name)
        return slots

    def _replica_slots(self, numbers: np.ndarray) -> np.ndarray:
        """The slot of each replica number (-1: none or not a number)."""
        out = np.full(len(numbers), -1, np.int64)
        bases = np.asarray(self.chunk_base, np.int64)
        which = np.searchsorted(bases, numbers, "right") - 1
        which[numbers < 0] = -1
        for c in np.unique(which[which >= 0]).tolist():
            at = np.flatnonzero(which == c)
            off = numbers[at] - bases[c]
            chunk = self.chunks[c]
            if isinstance(chunk, dict):
                out[at] = [chunk.get(k, -1) for k in off.tolist()]
            else:
                inside = off < len(chunk)
                out[at[inside]] = chunk[off[inside]]
        return out

    def name(self, slot: int) -> str:
        pod = self.obj[slot]
        if pod is not None:
            return pod.name
        return replica_name(self.t_base[self.tid[slot]], f"-{int(self.rep[slot])}")

    def key(self, slot: int) -> str:
        pod = self.obj[slot]
        if pod is not None:
            return pod.key
        template = self.tmpl[self.tid[slot]]
        return f"{template.namespace}/{self.name(slot)}"

    def keys_of(self, slots: np.ndarray, *, names: bool = False) -> list[str]:
        """``key(slot)`` (with ``names``: ``name(slot)``) for many slots, replicas'
        made without a call each."""
        prefix, obj = (self.t_base, self.obj) if names else (self.t_prefix, self.obj)
        base = self.t_base
        tid, rep = self.tid[slots], self.rep[slots]
        out = [f"{prefix[t]}-{k}" if k >= 0 else "" for t, k in zip(tid.tolist(), rep.tolist())]
        for i in np.flatnonzero(rep < 0).tolist():
            pod = obj[slots[i]]
            out[i] = pod.name if names else pod.key
        # Names long enough that replica_name may cut them: the slow path.
        long = [t for t, b in enumerate(base) if b is not None and len(b) > 232]
        for i in np.flatnonzero(np.isin(tid, long) & (rep >= 0)).tolist() if long else ():
            out[i] = self.name(int(slots[i])) if names else self.key(int(slots[i]))
        return out

    def pod(self, slot: int) -> Pod:
        """The bound pod in ``slot`` (a replica's object is made now)."""
        pod = self.obj[slot]
        if pod is not None:
            return pod
        template = self.tmpl[self.tid[slot]]
        assert template is not None
        return renamed(template, self.name(slot))

    def pods(self, slots: Iterable[int]) -> list[Pod]:
        return [self.pod(s) for s in slots]

    def template_of(self, slot: int) -> Pod:
        """A pod of the slot's family: every field but the name is the pod's."""
        template = self.tmpl[self.tid[slot]]
        assert template is not None
        return template

    def priority_of(self, slots: np.ndarray) -> np.ndarray:
        return self.t_prio[self.tid[slots]]

    def req_of(self, slots: np.ndarray) -> np.ndarray:
        return self.t_req[self.tid[slots]]

    def ns_of(self, slots: np.ndarray) -> np.ndarray:
        return self.t_ns[self.tid[slots]]

    def terminating_of(self, slots: np.ndarray) -> np.ndarray:
        """``bool[len(slots)]``: pods being deleted (``metadata.deletionTimestamp``)."""
        return self.t_term[self.tid[slots]]

    def selector_mask(self, slots: np.ndarray, match_labels: Mapping[str, str],
                      expressions: Sequence) -> np.ndarray:
        """``bool[len(slots)]``: pods whose labels match a label selector (matched
        once per template)."""
        from ..model.labels import NodeSelectorRequirement
        codes = self.t_codes[: len(self.tmpl)]
        mask = np.ones(len(codes), np.bool_)
        for key, value in match_labels.items():
            mask &= requirement_mask(NodeSelectorRequirement(key, "In", (value,)),
                                     self.labels, codes)
        for req in expressions:
            mask &= requirement_mask(req, self.labels, codes)
        return mask[self.tid[slots]]

    def _grow(self, need: int) -> None:
        cap = max(need, 2 * len(self.node), 64)

        def grown(a: np.ndarray, fill: Any = 0) -> np.ndarray:
            b = np.full(cap, fill, a.dtype)
            b[: len(a)] = a
            return b

        self.node, self.tid, self.seq = grown(self.node, -1), grown(self.tid), grown(self.seq)
        self.rep = grown(self.rep, -1)
        obj = np.empty(cap, object)
        obj[: len(self.obj)] = self.obj
        self.obj = obj
