"""The hash ring: :class:`HashRing`, the Karger ring with virtual nodes.

Bit-exact with uhashring's ketama mode (``mode="ketama"``, the default),
uhashring's default ring (``"uhashring"``) and the libketama C library
(``"libketama"``), plus a ``"fast"`` ring of 64-bit MurmurHash3 points. Lookups
are vectorized (``_kernels/hashring.pyx``); replicas walk the ring;
:meth:`HashRing.assign` adds bounded loads.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any, cast

import numpy as np

from .._kernels import hashring as _ring
from ..errors import DuplicateError, NodeNotFoundError, ValidationError
from .bounded import BoundedLoads
from .keys import _MODES, MODES, _one_key, _positions
from .nodes import _check_count, _check_name, _check_nodes, _check_weight, _names_of, _readonly

__all__ = ["HashRing", "MAX_POINTS"]

MAX_POINTS = 1 << 27
"""The most points a ring may have (a ring of 2**27 points takes about 3 GB)."""

_NO_POINTS = np.empty(0, np.uint64)
_MAX_CAP = 1 << 62
_LOW32 = np.uint64(0xFFFFFFFF)
_HIGH32 = np.uint64(0xFFFFFFFF00000000)


def _amount(n: int) -> str:
    return f"{n:,}" if n < 10**15 else f"{float(n):.3g}"


class HashRing:
    """A consistent-hash ring of named nodes with virtual nodes ("points").

    ``nodes`` is a sequence of distinct non-empty names, or a mapping of name to
    weight; ``weights`` (a sequence aligned with ``nodes``, or a mapping) defaults
    to 1 each. ``vnodes`` is the number of points of a node of average weight. A
    key belongs to the first point clockwise from the key's hash (wrapping around).

    ``mode``:

    * ``"ketama"`` (default): bit-exact with ``uhashring.HashRing(nodes,
      hash_fn="ketama")`` (whose ``vnodes=40`` digests are our ``vnodes=160``
      points). Node j gets ``ks = (vnodes/4 * N * w_j) // sum(w)`` MD5 digests of
      ``"<name>-<k>"``, each giving 4 little-endian 32-bit points; a key's hash is
      the first 32-bit word of ``MD5(str(key))``; the first point ``> hash``
      wins. Weights are ints.
    * ``"uhashring"``: bit-exact with uhashring's default ring
      (``uhashring.HashRing(nodes)``, same ``vnodes``): ``vnodes * w_j`` points
      ``MD5("<name>-<k>")`` as 128-bit integers, keys likewise.
    * ``"libketama"``: the C library: its float weight formula
      (``floorf((float)w/(float)sum(w) * 40.0 * N)`` digests, 40 being
      ``vnodes/4``; equal to ketama mode at equal weights), first point
      ``>= hash``, keys cut at a NUL byte.
    * ``"fast"``: 64-bit MurmurHash3 points, ``round(vnodes * w_j)`` (at least one)
      per node, so weights may be fractional and changing one node's weight moves
      only that node's keys.

    Where two nodes put a point at the same position (32-bit ketama points do
    collide: about 3 pairs in a 1,000-node ring), the point belongs to the node
    listed later, as in uhashring (in ``"uhashring"`` mode: to the node whose
    points were written last, also as uhashring).

    >>> ring = HashRing(["a", "b", "c"])
    >>> ring.get_node("user:42") in ("a", "b", "c")
    True
    """

    def __init__(self, nodes: Iterable[str] | Mapping[str, int | float], *,
                 weights: Sequence[int | float] | Mapping[str, int | float] | None = None,
                 vnodes: int = 160, mode: str = "ketama") -> None:
        if not isinstance(mode, str) or mode not in _MODES:
            raise ValidationError(f"must be one of {', '.join(MODES)}, got {mode!r}", "mode")
        self._mode_name = mode
        self._mode = _MODES[mode]
        vnodes = _check_count(vnodes, "vnodes", MAX_POINTS)
        if self._mode.digests and vnodes % 4:
            raise ValidationError(f"must be a multiple of 4 in {mode} mode (each MD5 digest "
                                  f"gives 4 points), got {vnodes}", "vnodes")
        self._vnodes = vnodes
        names, weights_ = _check_nodes(nodes, weights, integer=mode != "fast",
                                       c_string=mode == "libketama")
        counts = self._point_counts(weights_, names)
        self._names = names
        self._weights = weights_
        self._row = {name: i for i, name in enumerate(names)}
        # ketama layouts: each node's points for digests 0..k-1, kept so that a
        # weight change (which changes every node's digest count) re-sorts but
        # does not re-hash.
        self._cache: dict[str, np.ndarray] = {}
        # Set by _build: points per node, and the sorted (hi, lo, owner) points.
        self._counts: np.ndarray
        self._raw: tuple[np.ndarray, np.ndarray | None, np.ndarray]
        self._build(counts)

    # -- reading ---------------------------------------------------------------------

    @property
    def nodes(self) -> tuple[str, ...]:
        """Node names; lookups return indices into this order."""
        return tuple(self._names)

    @property
    def weights(self) -> tuple[int | float, ...]:
        return tuple(self._weights)

    @property
    def mode(self) -> str:
        return self._mode_name

    @property
    def vnodes(self) -> int:
        return self._vnodes

    @property
    def point_counts(self) -> np.ndarray:
        """Points generated for each node (``int64``; ketama: 4 per digest)."""
        return _readonly(self._counts * (4 if self._mode.digests else 1))

    @property
    def distribution(self) -> dict[str, int]:
        """Points generated per node name (uhashring's ``distribution``)."""
        return dict(zip(self._names, self.point_counts.tolist()))

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._row

    def __repr__(self) -> str:
        return (f"HashRing({len(self._names)} nodes, {len(self._index)} points, "
                f"mode={self._mode_name!r})")

    def get_points(self) -> list[tuple[int, str]]:
        """``(point, node name)`` for every distinct point in ring order, in the
        mode's own units (32-bit ketama points, 128-bit uhashring integers), as
        uhashring's ``get_points`` (which also lists duplicate points twice)."""
        pos, owners = self._index.positions, self._index.owners
        if self._mode.digests:
            values = (pos >> np.uint64(32)).tolist()
        elif self._mode.wide:
            assert self._index.lows is not None     # wide modes keep the low halves
            values = [(h << 64) | lo for h, lo in zip(pos.tolist(), self._index.lows.tolist())]
        else:
            values = pos.tolist()
        return [(v, self._names[o]) for v, o in zip(values, owners.tolist())]

    # -- lookups ---------------------------------------------------------------------

    def hash_keys(self, keys: Any) -> np.ndarray:
        """Each key's ring position as ``uint64`` (what :meth:`get_nodes` computes).

        A 32-bit ketama hash h is ``h << 32``; a 128-bit uhashring hash is cut to
        its top 64 bits (looking those up gives the same node unless a point shares
        them, odds about points / 2**64). Any uint64 array is a valid set of
        positions: keys hashed elsewhere, uniformly over 64 bits.
        """
        return _positions(keys, self._mode)[0]

    def get_node(self, key: str | bytes | int) -> str:
        """The node a key belongs to."""
        row = self._index.find_key(key, self._mode.hash, self._mode.norm)
        if row < 0:     # a NumPy integer, or a bad key: the general path converts or raises
            hi, lo = _one_key(key, self._mode)
            out = np.empty(1, np.int32)
            _ring.lookup(self._index, hi, lo, out)
            row = int(out[0])
        return self._names[row]

    def get_nodes(self, keys: Any, *, names: bool = False) -> np.ndarray:
        """The node of every key, vectorized: ``int32`` indices into :attr:`nodes`
        (an object array of names with ``names=True``).

        ``keys``: a list (or other iterable) of str/bytes/int keys, or a ``uint64``
        array of ring positions (see :meth:`hash_keys`).
        """
        hi, lo = _positions(keys, self._mode)
        out = np.empty(len(hi), np.int32)
        _ring.lookup(self._index, hi, lo, out)
        return _names_of(self._names, out) if names else out

    def get_nodes_n(self, key: str | bytes | int, n: int) -> list[str]:
        """``n`` distinct nodes for a key, walking clockwise from it (replicas),
        the first being :meth:`get_node`'s. Fewer when fewer nodes own points."""
        n = _check_count(n, "n", len(self._names))
        hi, lo = _one_key(key, self._mode)
        seen = np.full(len(self._names), -1, np.int32)
        out = np.empty((1, n), np.int32)
        _ring.walk_distinct(self._index, hi, lo, seen, out)
        return [self._names[o] for o in out[0].tolist() if o >= 0]

    def assign(self, keys: Any, load_factor: float = 1.25) -> BoundedLoads:
        """Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam).

        Keys are placed in order; each goes to the first node clockwise from its
        hash that still has room, the cap of node j being
        ``ceil(load_factor * len(keys) * w_j / sum(w))`` -- with equal weights
        ``ceil(load_factor * len(keys) / len(nodes))`` (at most 2**62). ``load_factor``
        (>= 1) is read as the decimal it prints as (1.1 means 11/10, not the nearest
        double).
        """
        if isinstance(load_factor, (bool, np.bool_)) or not isinstance(load_factor, numbers.Real):
            raise ValidationError(f"expected a number >= 1, got {load_factor!r}", "load_factor")
        try:
            factor = float(load_factor)
        except OverflowError:           # an int beyond any double: read as infinite
            factor = math.inf
        if not math.isfinite(factor) or factor < 1:
            raise ValidationError(f"must be a finite number >= 1, got {load_factor!r}",
                                  "load_factor")
        hi, lo = _positions(keys, self._mode)
        m = len(hi)
        cap = self._capacities(Fraction(repr(factor)) * m)
        owning = self._counts > 0
        room = sum(cap[owning].tolist())     # in Python ints: caps reach 2**62 each
        if room < m:                          # nodes without points cannot take keys
            raise ValidationError(f"too small: the nodes that own points can take only "
                                  f"{room} of {m} keys", "load_factor")
        load = np.zeros(len(self._names), np.int64)
        out = np.empty(m, np.int32)
        moved = _ring.assign_bounded(self._index, hi, lo, cap, load, out)
        return BoundedLoads(out, tuple(self._names), load, cap, int(moved), factor)

    def _capacities(self, total: Fraction) -> np.ndarray:
        # Caps stop at 2**62: no call has that many keys, so a larger cap is the same
        # cap, and a huge load_factor (1e300) stays inside int64.
        weights = self._weights
        if all(w == weights[0] for w in weights):
            return np.full(len(weights), min(math.ceil(total / len(weights)), _MAX_CAP),
                           np.int64)
        exact = [Fraction(repr(w)) if isinstance(w, float) else Fraction(w) for w in weights]
        whole = sum(exact)
        return np.array([min(math.ceil(total * w / whole), _MAX_CAP) for w in exact], np.int64)

    # -- changes ---------------------------------------------------------------------

    def add_node(self, name: str, weight: int | float = 1) -> None:
        """Add a node. Only the new node's points are hashed and merged in, unless
        (ketama layouts, unequal weights) every node's digest count changes."""
        name = _check_name(name, "name", c_string=self._mode_name == "libketama")
        if name in self._row:
            raise DuplicateError(f"node {name!r} is already in the ring", "name")
        weight = _check_weight(weight, "weight", integer=self._mode_name != "fast")
        counts = self._point_counts(self._weights + [weight], self._names + [name])
        # Valid: change the state.
        old = self._counts
        self._names.append(name)
        self._weights.append(weight)
        self._row[name] = len(self._names) - 1
        if self._mode.digests and not np.array_equal(counts[:-1], old):
            self._build(counts)
            return
        self._counts = counts
        self._merge(len(self._names) - 1)

    def remove_node(self, name: str) -> None:
        """Remove a node: its points leave the ring (ketama layouts with unequal
        weights re-sort every node's points, as the digest counts change)."""
        row = self._row_of(name)
        if len(self._names) == 1:
            raise ValidationError("cannot remove the last node of a ring", "name")
        weights = self._weights[:row] + self._weights[row + 1:]
        counts = self._point_counts(weights, self._names[:row] + self._names[row + 1:])
        self._names.pop(row)
        self._weights = weights
        self._row = {n: i for i, n in enumerate(self._names)}
        self._cache.pop(name, None)
        if self._mode.digests and not np.array_equal(counts, np.delete(self._counts, row)):
            self._build(counts)
            return
        self._counts = counts
        hi, lo, owner = self._raw
        keep = owner != row
        owner = owner[keep]
        owner[owner > row] -= 1
        self._raw = (hi[keep], None if lo is None else lo[keep], owner)
        self._publish()

    def set_weight(self, name: str, weight: int | float) -> None:
        """Change a node's weight (ketama layouts: every node's digest count may
        change, so the ring is re-sorted from cached points)."""
        row = self._row_of(name)
        weight = _check_weight(weight, "weight", integer=self._mode_name != "fast")
        weights = list(self._weights)
        weights[row] = weight
        counts = self._point_counts(weights, self._names)
        self._weights = weights
        if self._mode.digests:
            self._build(counts)
            return
        if counts[row] == self._counts[row]:
            return
        self._counts = counts
        hi, lo, owner = self._raw
        keep = owner != row
        self._raw = (hi[keep], None if lo is None else lo[keep], owner[keep])
        self._merge(row)

    def _row_of(self, name: Any) -> int:
        row = self._row.get(name) if isinstance(name, str) else None
        if row is None:
            raise NodeNotFoundError(f"no node named {name!r} in the ring")
        return row

    # -- building --------------------------------------------------------------------

    def _point_counts(self, weights: list, names: list[str]) -> np.ndarray:
        """Digests (ketama layouts) or points per node, checked against MAX_POINTS."""
        n, v = len(weights), self._vnodes
        mode = self._mode_name
        if mode == "libketama":
            # ketama.c: float pct = (float)w / (float)total;
            #           ks = floorf(pct * 40.0 * (float)N): the product in double,
            # rounded to float by floorf's parameter, then floored.
            pct = np.float32(np.array(weights, np.float64)) / np.float32(sum(weights))
            product = pct.astype(np.float64) * float(v // 4) * float(np.float32(n))
            counts = np.floor(product.astype(np.float32)).astype(np.int64).tolist()
        elif mode == "ketama":
            total = sum(weights)
            counts = [(v // 4) * n * w // total for w in weights]
        elif mode == "uhashring":
            counts = [v * w for w in weights]
        else:
            # v * w <= 2**27 * 1e300 stays finite; the total is checked before any array
            counts = [max(1, math.floor(v * w + 0.5)) for w in weights]
        points = sum(counts) * (4 if self._mode.digests else 1)
        if points == 0:     # cannot happen with the formulas above; never index nothing
            raise ValidationError("the ring would have no points", "vnodes")
        if points > MAX_POINTS:
            heavy = max(range(n), key=counts.__getitem__)
            alone = counts[heavy] * (4 if self._mode.digests else 1)
            raise ValidationError(
                f"the ring would have {_amount(points)} points, more than {MAX_POINTS:,} "
                f"(node {names[heavy]!r}, weight {weights[heavy]!r}, alone has "
                f"{_amount(alone)}): lower vnodes or the weights", "weights")
        return np.array(counts, np.int64)

    def _generate(self, rows: Sequence[int], starts: np.ndarray, counts: np.ndarray,
                  ) -> tuple[np.ndarray, np.ndarray | None]:
        """Points of digests/points ``starts[j] ..`` of node ``rows[j]``, in order."""
        encoded = [self._names[r].encode("utf-8") for r in rows]
        offsets = np.zeros(len(encoded) + 1, np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        per = 4 if self._mode.digests else 1
        total = int(counts.sum()) * per
        hi = np.empty(total, np.uint64)
        lo = np.empty(total, np.uint64) if self._mode.wide else None
        _ring.ring_points(b"".join(encoded), offsets, np.ascontiguousarray(starts, np.int64),
                          np.ascontiguousarray(counts, np.int64), self._mode.hash, hi, lo)
        return hi, lo

    def _ketama_points(self, counts: np.ndarray) -> list[np.ndarray]:
        """Each node's points for its ``counts`` digests, hashing only the
        digests not cached yet."""
        cached = np.array([len(self._cache.get(n, ())) // 4 for n in self._names], np.int64)
        short = np.flatnonzero(counts > cached)
        if len(short):
            extra = counts[short] - cached[short]
            hi, _ = self._generate(short.tolist(), cached[short], extra)
            bounds = np.concatenate([[0], np.cumsum(extra * 4)])
            for j, row in enumerate(short.tolist()):
                name = self._names[row]
                new = hi[bounds[j]:bounds[j + 1]]
                self._cache[name] = (np.concatenate([self._cache[name], new])
                                     if name in self._cache else new)
        # a node given no digests (ketama's weight formula can floor a light node's
        # share to 0, as uhashring does) has no points: it owns no keys
        return [self._cache.get(n, _NO_POINTS)[:4 * c]
                for n, c in zip(self._names, counts.tolist())]

    def _build(self, counts: np.ndarray) -> None:
        """Every point from scratch (ketama layouts: from the cache), sorted by
        position, equal positions in node order."""
        self._counts = counts
        n = len(self._names)
        if self._mode.digests:
            # A ketama position has zero low 32 bits: put the node row there and
            # one plain sort orders by (position, row).
            parts = self._ketama_points(counts)
            keyed = np.concatenate(parts)
            keyed |= np.repeat(np.arange(n, dtype=np.uint64), counts * 4)
            keyed.sort()
            self._raw = (keyed & _HIGH32, None, (keyed & _LOW32).astype(np.int32))
        else:
            hi, lo = self._generate(range(n), np.zeros(n, np.int64), counts)
            owner = np.repeat(np.arange(n, dtype=np.int32), counts)
            # Equal 64-bit positions are rare (about points**2 / 2**65 pairs): sort
            # fast, and only if some turn up again with a stable sort, which
            # keeps them in node order (and orders 128-bit ones by their low half).
            order = np.argsort(hi)
            hi_sorted = hi[order]
            if np.any(hi_sorted[1:] == hi_sorted[:-1]):
                order = (np.argsort(hi, kind="stable") if lo is None
                         else np.lexsort((lo, hi)))
                hi_sorted = hi[order]
            self._raw = (hi_sorted, None if lo is None else lo[order], owner[order])
        self._publish()

    def _merge(self, row: int) -> None:
        """Insert the points of node ``row`` (``self._counts[row]`` of them) after
        the equal positions already there: it is the last node (add), or the last
        writer (uhashring set_weight)."""
        if self._mode.digests:
            new_hi, new_lo = self._ketama_points(self._counts)[row], None
        else:
            new_hi, new_lo = self._generate([row], np.zeros(1, np.int64),
                                            self._counts[row:row + 1])
        hi, lo, owner = self._raw
        order = (np.argsort(new_hi, kind="stable") if new_lo is None
                 else np.lexsort((new_lo, new_hi)))
        new_hi = new_hi[order]
        at = np.searchsorted(hi, new_hi, side="right")
        tied = np.searchsorted(hi, new_hi, side="left") != at
        if tied.any() and (lo is not None or row != len(self._names) - 1):
            # 64-bit ties need the 128-bit order (uhashring), or a re-weighted
            # node must keep its place in node order (fast): sort everything.
            if lo is None:
                self._build(self._counts)
                return
            assert new_lo is not None       # lo and new_lo: both set in the wide modes
            all_hi = np.concatenate([hi, new_hi])
            all_lo = np.concatenate([lo, new_lo[order]])
            all_owner = np.concatenate([owner, np.full(len(new_hi), row, np.int32)])
            full = np.lexsort((all_lo, all_hi))
            self._raw = (all_hi[full], all_lo[full], all_owner[full])
        else:
            self._raw = (np.insert(hi, at, new_hi),
                         None if lo is None else np.insert(lo, at, cast(np.ndarray, new_lo)[order]),
                         np.insert(owner, at, np.int32(row)))
        self._publish()

    def _publish(self) -> None:
        """The lookup index over the distinct positions (each owned by the last of
        its equal points)."""
        hi, lo, owner = self._raw
        last = np.empty(len(hi), np.bool_)
        np.not_equal(hi[1:], hi[:-1], out=last[:-1])
        if lo is not None:
            last[:-1] |= lo[1:] != lo[:-1]
        last[-1] = True
        if not last.all():
            hi, owner = hi[last], owner[last]
            lo = None if lo is None else lo[last]
        self._index = _ring.RingIndex(np.ascontiguousarray(hi),
                                      None if lo is None else np.ascontiguousarray(lo),
                                      np.ascontiguousarray(owner, np.int32), self._mode.left)
