"""Consistent hashing: spread keys over nodes so that a change of nodes moves few keys.

* :class:`HashRing` -- the Karger ring with virtual nodes, bit-exact with
  uhashring's ketama mode (``mode="ketama"``, the default), uhashring's default
  ring (``"uhashring"``) and the libketama C library (``"libketama"``), plus a
  ``"fast"`` ring of 64-bit MurmurHash3 points. Lookups are vectorized; replicas
  walk the ring; :meth:`HashRing.assign` adds bounded loads (Mirrokni, Thorup and
  Zadimoghaddam).
* :func:`jump_hash` -- Lamping and Veach's jump consistent hash, bit-exact with the
  ``jump-consistent-hash`` package.
* :class:`Rendezvous` -- highest random weight, weighted by the ``-w / ln(u)`` rule.
* :class:`Maglev` -- Maglev's lookup table (NSDI 2016).

Keys. A key is a ``str``, ``bytes`` or ``int`` (NumPy integers too); anything else
raises :class:`KeyTypeError`. The ketama and uhashring modes hash ``str(key)``
encoded as UTF-8, exactly as uhashring does -- so ``42`` hashes like ``"42"``, and
**``b"abc"`` hashes like the text ``"b'abc'"``**, not like ``"abc"`` (uhashring's
behaviour, kept for compatibility: decode bytes keys first if you mean the text).
The other hashes take a str as UTF-8, bytes as they are and an int as
``str(key)`` -- except :func:`jump_hash`, which uses an int's value modulo 2**64
as the paper does; ``libketama`` also cuts a key at its first NUL byte, as the C
library reads C strings. A ``uint64`` NumPy array is taken as keys that are
already hashed (see :meth:`HashRing.hash_keys` and :func:`fast_hash`).

The fast hash is MurmurHash3 x64_128 with seed 0 (the ``mmh3`` package's
``hash64(key, signed=False)``): its first 64-bit half hashes keys and ring points,
both halves give Maglev's offset and skip.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ._kernels import hashpick as _pick
from ._kernels import hashring as _ring
from .errors import DuplicateError, NodeNotFoundError, ValidationError

__all__ = ["HashRing", "Rendezvous", "Maglev", "BoundedLoads", "KeyTypeError", "jump_hash",
           "fast_hash", "is_prime", "MODES", "MAX_POINTS"]

MODES = ("ketama", "uhashring", "libketama", "fast")
MAX_POINTS = 1 << 27
"""The most points a ring may have (a ring of 2**27 points takes about 3 GB)."""

MAX_BUCKETS = 2**31 - 1       # jump: int32 buckets, as the paper and jump-consistent-hash
MAX_TABLE_SIZE = 2**31 - 1    # Maglev: int32 slots

_HASH = _pick.HASHES
_NORM = _pick.NORMS
_LOW32 = np.uint64(0xFFFFFFFF)
_HIGH32 = np.uint64(0xFFFFFFFF00000000)


class KeyTypeError(ValidationError, TypeError):
    """A key that is not a ``str``, ``bytes`` or ``int`` (``field`` says which)."""


@dataclass(frozen=True)
class _Mode:
    hash: int          # HASH_* code of the kernels
    norm: int          # NORM_* code: how a Python key becomes bytes
    left: bool         # bisect_left (first point >= h) instead of bisect_right
    digests: bool      # ketama layout: 4 points per MD5 digest
    wide: bool         # 128-bit positions (hi, lo)


_MODES = {
    "ketama": _Mode(_HASH["ketama"], _NORM["compat"], False, True, False),
    "uhashring": _Mode(_HASH["md5"], _NORM["compat"], False, False, True),
    "libketama": _Mode(_HASH["ketama"], _NORM["cstring"], True, True, False),
    "fast": _Mode(_HASH["fast"], _NORM["raw"], False, False, False),
}


# -- checks shared by the classes --------------------------------------------------------


def _check_name(name: Any, field: str, *, c_string: bool = False) -> str:
    if not isinstance(name, str) or not name:
        raise ValidationError(f"expected a non-empty str node name, got {name!r}", field)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"node name {name!r} cannot be encoded as UTF-8", field) from None
    if c_string and "\0" in name:
        raise ValidationError(f"node name {name!r} contains a NUL character, which "
                              "libketama's C strings cannot hold", field)
    return name


def _check_weight(weight: Any, field: str, *, integer: bool) -> int | float:
    if integer:
        if isinstance(weight, (bool, np.bool_)) or not isinstance(weight, numbers.Integral):
            raise ValidationError(f"expected a positive int weight, got {weight!r}", field)
        value = operator.index(weight)
        if value < 1:
            raise ValidationError(f"weight must be at least 1, got {value}", field)
        return value
    if isinstance(weight, (bool, np.bool_)) or not isinstance(weight, numbers.Real):
        raise ValidationError(f"expected a positive number as weight, got {weight!r}", field)
    value = float(weight)
    if not math.isfinite(value) or value <= 0:
        raise ValidationError(f"weight must be a positive finite number, got {weight!r}", field)
    return int(value) if isinstance(weight, numbers.Integral) else value


def _check_nodes(nodes: Any, weights: Any, *, integer: bool, c_string: bool = False,
                 ) -> tuple[list[str], list[Any]]:
    """Names and weights from ``nodes`` (names, or a mapping name -> weight) and
    ``weights`` (None, a sequence aligned with the names, or a mapping)."""
    if isinstance(nodes, Mapping):
        if weights is not None:
            raise ValidationError("give weights either in nodes (a mapping of name to "
                                  "weight) or in weights, not both", "weights")
        weights = dict(nodes)
        nodes = list(nodes)
    elif isinstance(nodes, (str, bytes)) or not isinstance(nodes, Iterable):
        raise ValidationError("expected a sequence of node names or a mapping of name to "
                              f"weight, got {type(nodes).__name__}", "nodes")
    names = list(nodes)
    if not names:
        raise ValidationError("needs at least one node", "nodes")
    seen: set[str] = set()
    for i, name in enumerate(names):
        _check_name(name, f"nodes[{i}]", c_string=c_string)
        if name in seen:
            raise DuplicateError(f"duplicate node name {name!r}", f"nodes[{i}]")
        seen.add(name)
    if weights is None:
        return names, [1] * len(names)
    if isinstance(weights, Mapping):
        unknown = [k for k in weights if k not in seen]
        if unknown:
            raise ValidationError(f"weight for unknown node {unknown[0]!r}", "weights")
        return names, [_check_weight(weights.get(n, 1), f"weights[{n!r}]", integer=integer)
                       for n in names]
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Iterable):
        raise ValidationError("expected a sequence of weights or a mapping of node name to "
                              f"weight, got {type(weights).__name__}", "weights")
    weights = list(weights)
    if len(weights) != len(names):
        raise ValidationError(f"expected {len(names)} weights (one per node), got "
                              f"{len(weights)}", "weights")
    return names, [_check_weight(w, f"weights[{i}]", integer=integer)
                   for i, w in enumerate(weights)]


def _key_input(keys: Any, field: str) -> list | np.ndarray:
    """A list of keys to hash, or a C-contiguous uint64 array of hashed keys."""
    if isinstance(keys, np.ndarray):
        if keys.ndim != 1:
            raise ValidationError(f"expected a 1-D array, got shape {keys.shape}", field)
        if keys.dtype == np.uint64:
            return np.ascontiguousarray(keys)
        if keys.dtype.kind in "USO":
            return keys.tolist()
        raise KeyTypeError(
            f"a {keys.dtype} array is not accepted: pass a uint64 array of keys that are "
            "already hashed (uniform over 64 bits), or a list of str/bytes/int keys to "
            "hash", field)
    if isinstance(keys, list):
        return keys
    if isinstance(keys, (str, bytes, int)) or not isinstance(keys, Iterable):
        raise KeyTypeError("expected a sequence of keys (a list of str/bytes/int or a uint64 "
                           f"array), got {type(keys).__name__}; use get_node for one key",
                           field)
    return list(keys)


def _bad_key(key: Any, field: str, norm: int) -> ValidationError:
    if isinstance(key, str):
        return ValidationError("key cannot be encoded as UTF-8 (a lone surrogate?)", field)
    allowed = "str, bytes or int" if norm != _NORM["int"] else "int, str or bytes"
    return KeyTypeError(f"expected a {allowed} key, got {type(key).__name__}", field)


def _hash_list(keys: list, hash_: int, norm: int, wide: bool, field: str,
               single: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Hash a list of keys; ``field`` names it in errors (``single``: one key)."""
    hi = np.empty(len(keys), np.uint64)
    lo = np.empty(len(keys), np.uint64) if wide else None
    bad = _pick.hash_keys(keys, hash_, norm, hi, lo)
    if bad >= 0 and isinstance(keys[bad], np.integer):
        # NumPy integers (list(np.arange(n))) are ints too: str() prints them alike.
        keys = [int(k) if isinstance(k, np.integer) else k for k in keys]
        bad = _pick.hash_keys(keys, hash_, norm, hi, lo)
    if bad >= 0:
        raise _bad_key(keys[bad], field if single else f"{field}[{bad}]", norm)
    return hi, lo


def _positions(keys: Any, mode: _Mode, field: str = "keys",
               ) -> tuple[np.ndarray, np.ndarray | None]:
    """Ring positions of ``keys``: (hi, lo); lo is None unless the ring is 128-bit
    and the keys were hashed here."""
    seq = _key_input(keys, field)
    if isinstance(seq, np.ndarray):
        return seq, None
    return _hash_list(seq, mode.hash, mode.norm, mode.wide, field)


def _one_key(key: Any, mode: _Mode) -> tuple[np.ndarray, np.ndarray | None]:
    return _hash_list([key], mode.hash, mode.norm, mode.wide, "key", single=True)


def _check_count(n: Any, field: str, hi: int) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        raise ValidationError(f"expected an int, got {n!r}", field)
    n = operator.index(n)
    if not 1 <= n <= hi:
        raise ValidationError(f"must be in [1, {hi}], got {n}", field)
    return n


def fast_hash(keys: Any) -> np.ndarray:
    """The fast 64-bit hash of each key (``uint64``), as the ``"fast"`` ring,
    :class:`Rendezvous`, :class:`Maglev` and string keys of :func:`jump_hash` use
    it: MurmurHash3 x64_128 (seed 0), first half, of the key's bytes (str as
    UTF-8, bytes as they are, int as ``str(key)``). Pass the result to any of
    their lookups as pre-hashed keys."""
    seq = _key_input(keys, "keys")
    if isinstance(seq, np.ndarray):
        raise KeyTypeError("keys are already a uint64 array (hashed)", "keys")
    return _hash_list(seq, _HASH["fast"], _NORM["raw"], False, "keys")[0]


def _readonly(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


def _names_of(names: Sequence[str], index: np.ndarray) -> np.ndarray:
    return np.asarray(names, dtype=object)[index]


# -- the ring ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BoundedLoads:
    """The outcome of :meth:`HashRing.assign`: each key's node under a load cap.

    ``nodes[i]`` is key i's node (an index into ``names``); ``loads[j]`` the keys
    node j received and ``capacity[j]`` its cap, ``ceil(load_factor * keys *
    w_j / sum(w))`` (``ceil(load_factor * keys / nodes)`` at equal weights);
    ``moved`` counts the keys that did not get their first choice on the ring.
    """

    nodes: np.ndarray
    names: tuple[str, ...]
    loads: np.ndarray
    capacity: np.ndarray
    moved: int
    load_factor: float

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def moved_fraction(self) -> float:
        """The fraction of keys that left their first choice."""
        return self.moved / len(self.nodes) if len(self.nodes) else 0.0

    def node_names(self) -> np.ndarray:
        """Each key's node name (an object array)."""
        return _names_of(self.names, self.nodes)


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
        counts = self._point_counts(weights_)
        self._names = names
        self._weights = weights_
        self._row = {name: i for i, name in enumerate(names)}
        # ketama layouts: each node's points for digests 0..k-1, kept so that a
        # weight change (which changes every node's digest count) re-sorts but
        # does not re-hash.
        self._cache: dict[str, np.ndarray] = {}
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
        ``ceil(load_factor * len(keys) / len(nodes))``. ``load_factor`` (>= 1) is
        read as the decimal it prints as (1.1 means 11/10, not the nearest double).
        """
        if isinstance(load_factor, (bool, np.bool_)) or not isinstance(load_factor, numbers.Real):
            raise ValidationError(f"expected a number >= 1, got {load_factor!r}", "load_factor")
        factor = float(load_factor)
        if not math.isfinite(factor) or factor < 1:
            raise ValidationError(f"must be a finite number >= 1, got {load_factor!r}",
                                  "load_factor")
        hi, lo = _positions(keys, self._mode)
        m = len(hi)
        cap = self._capacities(Fraction(repr(factor)) * m)
        owning = self._counts > 0
        if int(cap[owning].sum()) < m:   # nodes without points cannot take keys
            raise ValidationError(f"too small: the nodes that own points can take only "
                                  f"{int(cap[owning].sum())} of {m} keys", "load_factor")
        load = np.zeros(len(self._names), np.int64)
        out = np.empty(m, np.int32)
        moved = _ring.assign_bounded(self._index, hi, lo, cap, load, out)
        return BoundedLoads(out, tuple(self._names), load, cap, int(moved), factor)

    def _capacities(self, total: Fraction) -> np.ndarray:
        weights = self._weights
        if all(w == weights[0] for w in weights):
            return np.full(len(weights), math.ceil(total / len(weights)), np.int64)
        exact = [Fraction(repr(w)) if isinstance(w, float) else Fraction(w) for w in weights]
        whole = sum(exact)
        return np.array([math.ceil(total * w / whole) for w in exact], np.int64)

    # -- changes ---------------------------------------------------------------------

    def add_node(self, name: str, weight: int | float = 1) -> None:
        """Add a node. Only the new node's points are hashed and merged in, unless
        (ketama layouts, unequal weights) every node's digest count changes."""
        name = _check_name(name, "name", c_string=self._mode_name == "libketama")
        if name in self._row:
            raise DuplicateError(f"node {name!r} is already in the ring", "name")
        weight = _check_weight(weight, "weight", integer=self._mode_name != "fast")
        counts = self._point_counts(self._weights + [weight])
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
        counts = self._point_counts(weights)
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
        counts = self._point_counts(weights)
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

    def _point_counts(self, weights: list) -> np.ndarray:
        """Digests (ketama layouts) or points per node, checked against MAX_POINTS."""
        n, v = len(weights), self._vnodes
        mode = self._mode_name
        if mode == "ketama":
            total = sum(weights)
            counts = np.array([(v // 4) * n * w // total for w in weights], np.int64)
        elif mode == "libketama":
            # ketama.c: float pct = (float)w / (float)total;
            #           ks = floorf(pct * 40.0 * (float)N): the product in double,
            # rounded to float by floorf's parameter, then floored.
            pct = np.float32(np.array(weights, np.float64)) / np.float32(sum(weights))
            product = pct.astype(np.float64) * float(v // 4) * float(np.float32(n))
            counts = np.floor(product.astype(np.float32)).astype(np.int64)
        elif mode == "uhashring":
            counts = np.array([v * w for w in weights], np.int64)
        else:
            counts = np.array([max(1, math.floor(v * w + 0.5)) for w in weights], np.int64)
        points = int(counts.sum()) * (4 if self._mode.digests else 1)
        if points == 0:     # cannot happen with the formulas above; never index nothing
            raise ValidationError("the ring would have no points", "vnodes")
        if points > MAX_POINTS:
            raise ValidationError(f"the ring would have {points:,} points, more than "
                                  f"{MAX_POINTS:,}: lower vnodes or the weights", "weights")
        return counts

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
        return [self._cache[n][:4 * c] for n, c in zip(self._names, counts.tolist())]

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
            all_hi = np.concatenate([hi, new_hi])
            all_lo = np.concatenate([lo, new_lo[order]])
            all_owner = np.concatenate([owner, np.full(len(new_hi), row, np.int32)])
            full = np.lexsort((all_lo, all_hi))
            self._raw = (all_hi[full], all_lo[full], all_owner[full])
        else:
            self._raw = (np.insert(hi, at, new_hi),
                         None if lo is None else np.insert(lo, at, new_lo[order]),
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


# -- jump --------------------------------------------------------------------------------


def jump_hash(keys: Any, num_buckets: int) -> int | np.ndarray:
    """Jump consistent hash (Lamping and Veach, 2014): the bucket in
    ``[0, num_buckets)`` of each key.

    An int key is used modulo 2**64, exactly as the paper and the
    ``jump-consistent-hash`` package (``jump.hash``) do; a str or bytes key goes
    through :func:`fast_hash` first. ``keys`` is one key (returns an int), a
    sequence of keys, or an integer NumPy array (signed values taken modulo 2**64);
    both return an ``int32`` array. ``1 <= num_buckets <= 2**31 - 1``.
    """
    if type(num_buckets) is int and 1 <= num_buckets <= MAX_BUCKETS and type(keys) in (int, str):
        bucket = _pick.jump_key(keys, num_buckets)       # the common scalar case, quickly
        if bucket >= 0:
            return bucket
    buckets = _check_count(num_buckets, "num_buckets", MAX_BUCKETS)
    scalar = (isinstance(keys, (str, bytes, numbers.Integral))
              and not isinstance(keys, (bool, np.bool_)))
    if isinstance(keys, np.ndarray) and keys.ndim == 1 and keys.dtype.kind in "iu":
        values = np.ascontiguousarray(keys.astype(np.int64, copy=False).view(np.uint64)
                                      if keys.dtype.kind == "i"
                                      else keys.astype(np.uint64, copy=False))
    else:
        seq = [keys] if scalar else _key_input(keys, "keys")
        if isinstance(seq, np.ndarray):
            values = seq
        else:
            values = _hash_list(seq, _HASH["fast"], _NORM["int"], False,
                                "key" if scalar else "keys", single=scalar)[0]
    out = np.empty(len(values), np.int32)
    _pick.jump(values, buckets, out)
    return int(out[0]) if scalar else out


# -- rendezvous --------------------------------------------------------------------------


class _Named:
    """Names and weights of a node set, with the checks every chooser shares."""

    _names: list[str]
    _weights: list[float]
    _row: dict[str, int]

    def _set_nodes(self, names: list[str], weights: list[float]) -> None:
        self._names = names
        self._weights = weights
        self._row = {name: i for i, name in enumerate(names)}

    @property
    def nodes(self) -> tuple[str, ...]:
        """Node names; lookups return indices into this order."""
        return tuple(self._names)

    @property
    def weights(self) -> tuple[float, ...]:
        return tuple(self._weights)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._row

    def _row_of(self, name: Any) -> int:
        row = self._row.get(name) if isinstance(name, str) else None
        if row is None:
            raise NodeNotFoundError(f"no node named {name!r}")
        return row

    def _set(self, names: list[str], weights: list[float]) -> None:
        """Rebuild for these nodes (validating first: a failure changes nothing)."""
        raise NotImplementedError

    def add_node(self, name: str, weight: float = 1) -> None:
        """Add a node (see the class for which keys move)."""
        name = _check_name(name, "name")
        if name in self._row:
            raise DuplicateError(f"node {name!r} is already there", "name")
        self._set(self._names + [name],
                  self._weights + [_check_weight(weight, "weight", integer=False)])

    def remove_node(self, name: str) -> None:
        """Remove a node (see the class for which keys move)."""
        row = self._row_of(name)
        if len(self._names) == 1:
            raise ValidationError("cannot remove the last node", "name")
        self._set(self._names[:row] + self._names[row + 1:],
                  self._weights[:row] + self._weights[row + 1:])

    def set_weight(self, name: str, weight: float) -> None:
        """Change a node's weight (see the class for which keys move)."""
        row = self._row_of(name)
        weights = list(self._weights)
        weights[row] = _check_weight(weight, "weight", integer=False)
        self._set(list(self._names), weights)

    def hash_keys(self, keys: Any) -> np.ndarray:
        """The keys' :func:`fast_hash` (``uint64``), what the lookups compute."""
        return _positions(keys, _MODES["fast"])[0]

    def get_node(self, key: str | bytes | int) -> str:
        """The node a key belongs to."""
        hashed = _pick.hash_key(key, _HASH["fast"], _NORM["raw"])
        if hashed is None:  # a NumPy integer, or a bad key: the general path converts or raises
            hashed = (int(_one_key(key, _MODES["fast"])[0][0]),)
        return self._names[self._lookup_one(hashed[0])]

    def _lookup_one(self, hashed: int) -> int:
        return int(self._lookup(np.array([hashed], np.uint64))[0])

    def get_nodes(self, keys: Any, *, names: bool = False) -> np.ndarray:
        """The node of every key: ``int32`` indices into :attr:`nodes` (names with
        ``names=True``). ``keys``: str/bytes/int keys, or a ``uint64`` array of
        keys already hashed (e.g. by :func:`fast_hash`)."""
        out = self._lookup(_positions(keys, _MODES["fast"])[0])
        return _names_of(self._names, out) if names else out

    def _lookup(self, hashes: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Rendezvous(_Named):
    """Rendezvous (highest random weight) hashing: every node scores every key,
    the best score wins. O(nodes) per lookup, no state beyond the node hashes.

    Node j's score for key k is ``x = fmix64(fast_hash(k) ^ h_j)``, ``h_j`` being
    the second half of MurmurHash3 x64_128 of the node's name. Unweighted, the
    largest x wins; with ``weights``, the smallest ``-ln(u) / w_j`` for ``u`` the
    top 53 bits of x as a fraction in (0, 1) -- the same as the largest
    ``-w_j / ln(u)`` (Schindelhauer and Schomaker's logarithmic method), so node j
    wins a share ``w_j / sum(w)`` of the keys, and changing one weight moves keys
    only to or from that node. Ties go to the node listed first.
    """

    def __init__(self, nodes: Iterable[str] | Mapping[str, float], weights: Any = None) -> None:
        names, weights_ = _check_nodes(nodes, weights, integer=False)
        self._set(names, weights_)

    def _set(self, names: list[str], weights: list[float]) -> None:
        self._set_nodes(names, weights)
        halves = np.empty(len(names), np.uint64)
        first = np.empty(len(names), np.uint64)
        _pick.hash_keys(names, _HASH["fast"], _NORM["raw"], first, halves)
        self._node_hash = halves
        equal = all(w == weights[0] for w in weights)
        self._inv_weight = None if equal else 1.0 / np.array(weights, np.float64)

    def __repr__(self) -> str:
        return f"Rendezvous({len(self._names)} nodes)"

    def _lookup(self, hashes: np.ndarray) -> np.ndarray:
        out = np.empty(len(hashes), np.int32)
        _pick.rendezvous(hashes, self._node_hash, self._inv_weight, out)
        return out

    def get_nodes_n(self, key: str | bytes | int, n: int) -> list[str]:
        """The ``n`` best nodes for a key, best first (replicas)."""
        n = _check_count(n, "n", len(self._names))
        out = np.empty((1, n), np.int32)
        _pick.rendezvous_top(_one_key(key, _MODES["fast"])[0], self._node_hash,
                             self._inv_weight, out)
        return [self._names[j] for j in out[0].tolist()]


# -- Maglev ------------------------------------------------------------------------------


def is_prime(n: int) -> bool:
    """Deterministic Miller-Rabin, exact for every n below 3.3 * 10**24."""
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    for p in small:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


class Maglev(_Named):
    """Maglev hashing (Eisenbud et al., NSDI 2016): a lookup table of
    ``table_size`` slots filled by the nodes in turn, each following its own
    permutation of the slots; a key's node is ``table[hash(key) % table_size]``.

    Node j's permutation is ``(offset + t * skip) mod M`` with ``offset = h1 mod M``
    and ``skip = h2 mod (M - 1) + 1``, ``h1, h2`` the two halves of MurmurHash3
    x64_128 of its name. ``table_size`` M must be a prime larger than the number of
    nodes; the paper suggests ``M > 100 * nodes`` for shares within 1%. Unweighted,
    every node gets ``M // N`` or ``M // N + 1`` slots. With ``weights``, node j
    takes a turn in round r when it holds fewer than ``r * w_j / max(w)`` slots
    (and always in round 1, so every node gets one). Every change rebuilds the
    table: keys of surviving nodes can move too (the paper's "disruption").
    """

    def __init__(self, nodes: Iterable[str] | Mapping[str, float], table_size: int = 65537,
                 weights: Any = None) -> None:
        names, weights_ = _check_nodes(nodes, weights, integer=False)
        if isinstance(table_size, (bool, np.bool_)) or not isinstance(table_size, numbers.Integral):
            raise ValidationError(f"expected a prime int, got {table_size!r}", "table_size")
        table_size = operator.index(table_size)
        if not is_prime(table_size):
            raise ValidationError(f"must be a prime (for example 65537 or 655373), got "
                                  f"{table_size}", "table_size")
        if table_size > MAX_TABLE_SIZE:
            raise ValidationError(f"must be at most {MAX_TABLE_SIZE}, got {table_size}",
                                  "table_size")
        self._m = table_size
        self._set(names, weights_)

    @property
    def table_size(self) -> int:
        return self._m

    @property
    def table(self) -> np.ndarray:
        """The lookup table: ``int32`` node index per slot (read-only)."""
        return _readonly(self._table)

    @property
    def shares(self) -> np.ndarray:
        """Slots per node (``int64``)."""
        return _readonly(self._taken)

    def __repr__(self) -> str:
        return f"Maglev({len(self._names)} nodes, table_size={self._m})"

    def _set(self, names: list[str], weights: list[float]) -> None:
        if len(names) >= self._m:
            raise ValidationError(f"must be larger than the number of nodes ({len(names)}), "
                                  f"got {self._m}", "table_size")
        h1 = np.empty(len(names), np.uint64)
        h2 = np.empty(len(names), np.uint64)
        _pick.hash_keys(names, _HASH["fast"], _NORM["raw"], h1, h2)
        m = np.uint64(self._m)
        offset = h1 % m
        skip = h2 % (m - np.uint64(1)) + np.uint64(1)
        equal = all(w == weights[0] for w in weights)
        table = np.empty(self._m, np.int32)
        taken = np.empty(len(names), np.int64)
        _pick.maglev_populate(offset, skip, None if equal else np.array(weights, np.float64),
                              table, taken)
        self._set_nodes(names, weights)
        self._table, self._taken = table, taken

    def _lookup(self, hashes: np.ndarray) -> np.ndarray:
        out = np.empty(len(hashes), np.int32)
        _pick.maglev_lookup(hashes, self._table, out)
        return out

    def _lookup_one(self, hashed: int) -> int:
        return int(self._table[hashed % self._m])
