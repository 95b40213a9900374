"""uhashring's ``HashRing`` on fastsched's ring kernels: a drop-in replacement.

``from fastsched.compat.uhashring import HashRing`` takes uhashring's arguments and
answers its methods with the same meanings and the same key placement, for its
default MD5 ring, ``hash_fn="ketama"`` and a user-supplied ``hash_fn``.

How it is built. The node configurations live in a dict exactly as uhashring keeps
them (name -> ``hostname``, ``instance``, ``nodename``, ``port``, ``vnodes``,
``weight``). Lookups go to a :class:`fastsched.hashing.HashRing` whenever one of its
modes computes the same points:

* the default ring is fastsched's ``"uhashring"`` mode with ``vnodes=1`` and weight
  ``vnodes * weight`` per node (both give the points ``MD5("<name>-<k>")`` for
  ``k < vnodes * weight``, so per-node ``vnodes`` need no special case);
* ``hash_fn="ketama"`` is fastsched's ``"ketama"`` mode with ``vnodes=4 * vnodes``
  when every node has the same ``vnodes`` and ``replicas`` is 4.

Everything else -- a callable ``hash_fn``, ketama with ``replicas`` other than 4 or
mixed ``vnodes``, node names that are not non-empty ``str``, weights that are not
positive ints -- takes a plain Python path that hashes and bisects as uhashring
does, including its write order where a callable's points collide. The point list
(``get_points``, positions, ``range(unique=False)``) is built on first use and kept
until the ring changes.

Differences from uhashring, all deliberate: unknown keyword arguments raise
``TypeError`` (uhashring ignores them); ``compat`` is accepted and ignored, as
uhashring >= 1.0 ignores it; ``replicas`` must be an int in [1, 4] (an MD5 digest
holds four 32-bit points; uhashring fails later with ``IndexError``); ``nodes`` may
be any iterable or mapping, and ``None`` means no nodes.
"""

from __future__ import annotations

import hashlib
import itertools
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any

from ..errors import ValidationError
from ..hashing import HashRing as _FastRing

__all__ = ["HashRing"]

_CONF_KEYS = ("hostname", "instance", "nodename", "port", "vnodes", "weight")
# A change of one of these re-creates a node's points (as in uhashring).
_RING_KEYS = ("nodename", "vnodes", "weight")


def _md5_int(key: Any) -> int:
    """uhashring's default hash: MD5 of ``str(key)`` as a 128-bit integer."""
    return int.from_bytes(hashlib.md5(str(key).encode("utf-8")).digest(), "big")


def _ketama_words(key: Any, replicas: int) -> list[int]:
    """The first ``replicas`` little-endian 32-bit words of MD5(``str(key)``)."""
    digest = hashlib.md5(str(key).encode("utf-8")).digest()
    return [int.from_bytes(digest[4 * i:4 * i + 4], "little") for i in range(replicas)]


def _ketama_hash(key: Any) -> int:
    return _ketama_words(key, 1)[0]


def _as_key(key: Any) -> str:
    # uhashring hashes str(key) for every key type; fastsched's modes do the same
    # for str and int but refuse other types, so convert here.
    return key if type(key) is str else str(key)


class HashRing:
    """A consistent hash ring with uhashring's API and placement.

    ``nodes``: a node name, a list of names, or a dict of name -> weight (int) or
    name -> configuration dict (``weight``, ``vnodes``, ``instance``, ``hostname``,
    ``port``, ``nodename``). ``hash_fn``: None (MD5 ring, 160 vnodes per node by
    default), ``"ketama"`` (libketama-compatible, 40 vnodes of ``replicas`` points
    each) or a callable mapping a key to an orderable hash. ``weight_fn(**conf)``, if
    given, computes each node's weight from its configuration.

    Lookups on an empty ring return None.

    >>> ring = HashRing(nodes=["a", "b", "c"])
    >>> ring.get_node("user:42") in ("a", "b", "c")
    True
    """

    def __init__(self, nodes: Any = None, *, hash_fn: str | Callable[[Any], Any] | None = None,
                 vnodes: int | None = None, weight_fn: Callable[..., int] | None = None,
                 replicas: int = 4, compat: Any = None) -> None:
        del compat      # uhashring >= 1.0 ignores it too; its ketama ring is hash_fn="ketama"
        self._ketama = isinstance(hash_fn, str) and hash_fn == "ketama"
        if not self._ketama and hash_fn and not callable(hash_fn):
            raise TypeError("hash_fn should be a callable function or 'ketama'")
        if weight_fn is not None and not callable(weight_fn):
            raise TypeError("weight_fn should be a callable function")
        if type(replicas) is not int or not 1 <= replicas <= 4:
            raise ValidationError(f"must be an int in [1, 4] (an MD5 digest holds 4 points), "
                                  f"got {replicas!r}", "replicas")
        self._replicas = replicas
        self._callable: Callable[[Any], Any] | None = hash_fn if callable(hash_fn) else None
        self._default_vnodes = vnodes if vnodes is not None else (40 if self._ketama else 160)
        self._weight_fn = weight_fn
        self._nodes: dict[Any, dict[str, Any]] = {}
        self._fast: _FastRing | None = None
        # The Python ring (used when _fast is None): point -> owner, each node's
        # points as written, points generated per node, the sorted points.
        self._ring: dict[Any, Any] = {}
        self._points: dict[Any, list] = {}
        self._dist: Counter = Counter()
        self._keys: list = []
        self._view: tuple[list, dict] | None = None    # the fast ring's points, on demand
        if self._configure(self._as_configs(nodes)):
            self._rebuild()

    # -- configuration ---------------------------------------------------------------

    @staticmethod
    def _as_configs(nodes: Any) -> Mapping[Any, Any]:
        if nodes is None:
            return {}
        if isinstance(nodes, Mapping):
            return nodes
        if isinstance(nodes, str):
            return {nodes: None}
        try:
            return dict.fromkeys(nodes)
        except TypeError:
            raise ValueError(f"nodes configuration should be a list or a dict, got "
                             f"{type(nodes)}") from None

    def _configure(self, configs: Mapping[Any, Any]) -> list:
        """Store each node's configuration as uhashring builds it; the names whose
        points must be (re)created."""
        changed = []
        for name, given in configs.items():
            conf: dict[str, Any] = {"hostname": name, "instance": None, "nodename": name,
                                    "port": None, "vnodes": self._default_vnodes, "weight": 1}
            current = self._nodes.get(name, {})
            dirty = not current
            if isinstance(given, Mapping):
                for k, v in given.items():
                    if k in conf:
                        conf[k] = v
                        if k in _RING_KEYS and current.get(k) != v:
                            dirty = True
            elif isinstance(given, int):
                conf["weight"] = given
            elif given is not None:
                raise ValueError(f"node configuration should be a dict or an int, got "
                                 f"{type(given)}")
            if self._weight_fn is not None:
                conf["weight"] = self._weight_fn(**conf)
            if current.get("weight") != conf["weight"]:
                dirty = True
            self._nodes[name] = conf
            if dirty:
                changed.append(name)
        return changed

    def _fast_args(self, conf: dict[str, Any]) -> tuple[Any, int]:
        """(weight, vnodes) of a node in the fastsched ring that matches it."""
        if self._ketama:
            return conf["weight"], 4 * conf["vnodes"]
        return conf["vnodes"] * conf["weight"], 1

    def _try_fast(self) -> _FastRing | None:
        if self._callable is not None or not self._nodes or (self._ketama and self._replicas != 4):
            return None
        try:
            args = [self._fast_args(c) for c in self._nodes.values()]
            vnodes = args[0][1]
            if any(v != vnodes for _, v in args):
                return None
            return _FastRing(list(self._nodes), weights=[w for w, _ in args], vnodes=vnodes,
                             mode="ketama" if self._ketama else "uhashring")
        except (ValidationError, TypeError):     # names or weights it does not take
            return None

    # -- building --------------------------------------------------------------------

    def _rebuild(self) -> None:
        """The whole ring from the current configurations."""
        self._view = None
        self._fast = self._try_fast()
        self._ring, self._points, self._dist, self._keys = {}, {}, Counter(), []
        if self._fast is not None:
            return
        if self._ketama:
            self._keys, self._ring, self._dist = self._ketama_table()
        else:
            for name in self._nodes:
                self._write(name)
            self._keys = sorted(self._ring)

    def _ketama_table(self) -> tuple[list, dict, Counter]:
        """uhashring's ketama continuum from scratch: every generated point (equal
        points listed as often as generated), each owned by the last node listed."""
        n = len(self._nodes)
        total = sum(c["weight"] for c in self._nodes.values())
        keys: list[int] = []
        ring: dict[int, Any] = {}
        dist: Counter = Counter()
        for name, conf in self._nodes.items():
            digests = (conf["vnodes"] * n * conf["weight"]) // total
            for k in range(digests):
                for point in _ketama_words(f"{name}-{k}", self._replicas):
                    ring[point] = name
                    keys.append(point)
            if digests > 0:
                dist[name] = digests * self._replicas
        keys.sort()
        return keys, ring, dist

    def _unwrite(self, name: Any) -> None:
        # Only points the node still owns leave: where another node wrote over
        # one, that node keeps it (uhashring's rule for colliding points).
        for point in self._points.pop(name, ()):
            if self._ring.get(point) == name:
                del self._ring[point]
        self._dist.pop(name, None)

    def _write(self, name: Any) -> None:
        """(Re)create a node's points in the Python MD5/callable ring, written last."""
        self._unwrite(name)
        conf = self._nodes[name]
        hash_ = self._callable or _md5_int
        points = [hash_(f"{name}-{k}") for k in range(conf["vnodes"] * conf["weight"])]
        for point in points:
            self._ring[point] = name
        self._points[name] = points
        if points:
            self._dist[name] = len(points)

    def _update(self, names: list) -> None:
        """Re-create the points of ``names`` (added or reconfigured nodes)."""
        self._view = None
        if self._callable is not None:      # write order matters where points collide
            for name in names:
                self._write(name)
            self._keys = sorted(self._ring)
            return
        if self._fast is not None:
            try:
                for name in names:
                    weight, vnodes = self._fast_args(self._nodes[name])
                    if vnodes != self._fast.vnodes:
                        raise ValidationError("mixed vnodes", "vnodes")
                    if name in self._fast:
                        self._fast.set_weight(name, weight)
                    else:
                        self._fast.add_node(name, weight)
                return
            except (ValidationError, TypeError):
                pass
        self._rebuild()

    # -- lookups ---------------------------------------------------------------------

    def hashi(self, key: Any) -> Any:
        """The hash of a key: MD5 as a 128-bit int, ketama's first 32-bit word, or
        ``hash_fn(key)``."""
        if self._ketama:
            return _ketama_hash(key)
        return (self._callable or _md5_int)(key)

    get_key = hashi

    def _table(self) -> tuple[list, dict]:
        """Sorted points (repeated as generated) and point -> owner."""
        if self._fast is None:
            return self._keys, self._ring
        if self._view is None:
            points = self._fast.get_points()
            if sum(self._fast.distribution.values()) == len(points):
                self._view = ([p for p, _ in points], dict(points))
            else:       # ketama points that collide: uhashring lists each one generated
                keys, ring, _ = self._ketama_table()
                self._view = (keys, ring)
        return self._view

    def _pos(self, keys: list, key: Any) -> int:
        pos = bisect_right(keys, self.hashi(key))
        return 0 if pos == len(keys) else pos

    def _owner(self, key: Any) -> Any:
        """The name of the node a key belongs to, None on an empty ring."""
        if self._fast is not None:
            return self._fast.get_node(_as_key(key))
        if not self._ring:
            return None
        return self._ring[self._keys[self._pos(self._keys, key)]]

    def get_node(self, key: Any) -> Any:
        """The name of the node a key belongs to (None on an empty ring)."""
        return self._owner(key)

    def get(self, key: Any) -> dict[str, Any] | None:
        """The configuration dict of the node a key belongs to."""
        return None if self._empty() else self._nodes[self._owner(key)]

    def _field(self, key: Any, field: str) -> Any:
        conf = self.get(key)
        return None if conf is None else conf[field]

    def __getitem__(self, key: Any) -> Any:
        """The ``instance`` of the node a key belongs to."""
        return self._field(key, "instance")

    get_node_instance = __getitem__

    def get_node_hostname(self, key: Any) -> Any:
        """The ``hostname`` of the node a key belongs to."""
        return self._field(key, "hostname")

    def get_node_port(self, key: Any) -> Any:
        """The ``port`` of the node a key belongs to."""
        return self._field(key, "port")

    def get_node_weight(self, key: Any) -> Any:
        """The ``weight`` of the node a key belongs to."""
        return self._field(key, "weight")

    def get_node_pos(self, key: Any) -> int | None:
        """The index in :meth:`get_points` of the point a key belongs to."""
        keys, ring = self._table()
        return self._pos(keys, key) if ring else None

    def get_server(self, key: Any) -> tuple[Any, Any] | None:
        """``(point, node name)`` of the point a key belongs to (ketama's tuple)."""
        keys, ring = self._table()
        if not ring:
            return None
        point = keys[self._pos(keys, key)]
        return point, ring[point]

    def range(self, key: Any, size: int | None = None, unique: bool = True,
              ) -> Iterator[dict[str, Any]]:
        """The configurations of the nodes met walking the ring clockwise from a key,
        at most ``size`` of them (default: all nodes when ``unique``), each node once
        when ``unique``, else once per point."""
        n = len(self._nodes)
        if unique and self._fast is not None and (size is None or type(size) is int):
            # The fast ring's distinct walk: the same order, without the point list.
            want = size if size and 1 <= size <= n else n
            for name in self._fast.get_nodes_n(_as_key(key), want):
                yield self._nodes[name]
            return
        keys, ring = self._table()
        limit = (size or n) if unique else size
        seen: set = set()
        found = 0
        pos = self._pos(keys, key)
        for i in itertools.chain(range(pos, len(keys)), range(pos)):
            name = ring[keys[i]]
            if unique:
                if name in seen:
                    continue
                seen.add(name)
            found += 1
            yield self._nodes[name]
            if found == limit:
                return

    def iterate_nodes(self, key: Any, distinct: bool = True) -> Iterator[Any]:
        """The node names of :meth:`range` (their configured ``nodename``); a single
        None on an empty ring (hash_ring's convention)."""
        if self._empty():
            yield None
            return
        for conf in self.range(key, unique=distinct):
            yield conf["nodename"]

    def _empty(self) -> bool:
        # No points (no nodes, or none with points). Not __bool__: a uhashring
        # ring is always true, and code may rely on it.
        return self._fast is None and not self._ring

    # -- changes ---------------------------------------------------------------------

    def __setitem__(self, nodename: Any, conf: Any = None) -> None:
        """Add a node, or change its configuration (a weight, or a config dict)."""
        changed = self._configure({nodename: {"weight": 1} if conf is None else conf})
        if changed:
            self._update(changed)

    def add_node(self, nodename: Any, conf: Any = None) -> None:
        """Add a node, or change its configuration (as ``ring[nodename] = conf``)."""
        self[nodename] = conf

    def __delitem__(self, nodename: Any) -> None:
        """Remove a node (``KeyError`` if there is none of that name)."""
        if nodename not in self._nodes:
            raise KeyError(f"node {nodename!r} not found, available nodes: {self._nodes.keys()}")
        del self._nodes[nodename]
        self._view = None
        if self._callable is not None:
            self._unwrite(nodename)
            self._keys = sorted(self._ring)
        elif self._fast is not None and self._nodes:
            self._fast.remove_node(nodename)
        else:
            self._rebuild()

    def remove_node(self, nodename: Any) -> None:
        """Remove a node (as ``del ring[nodename]``)."""
        del self[nodename]

    def regenerate(self) -> None:
        """Re-read every node's configuration (re-running ``weight_fn``) and rebuild."""
        self._configure(dict(self._nodes))     # every node is re-created, changed or not
        if self._callable is not None:
            self._update(list(self._nodes))
        else:
            self._rebuild()

    # -- reading ---------------------------------------------------------------------

    def get_nodes(self) -> Any:
        """The names of all configured nodes (a dict keys view, as uhashring)."""
        return self._nodes.keys()

    def get_instances(self) -> list[Any]:
        """The ``instance`` of every configured node that has one."""
        return [c.get("instance") for c in self._nodes.values() if c.get("instance")]

    def get_points(self) -> list[tuple[Any, Any]]:
        """``(point, node name)`` for every point in ring order (ketama's list)."""
        keys, ring = self._table()
        return [(k, ring[k]) for k in keys]

    def print_continuum(self) -> None:
        """Print the continuum as ketama does: the point count, then ``name (point)``."""
        points = self.get_points()
        print(f"Numpoints in continuum: {len(points)}" if points else "Continuum empty")
        for point, name in points:
            print(f"{name} ({point})")

    @property
    def conf(self) -> dict[Any, dict[str, Any]]:
        """Node name -> configuration dict."""
        return self._nodes

    nodes = conf

    @property
    def distribution(self) -> Counter:
        """Points generated per node (colliding ones included)."""
        if self._fast is None:
            return Counter(self._dist)
        return Counter({k: v for k, v in self._fast.distribution.items() if v > 0})

    @property
    def ring(self) -> dict[Any, Any]:
        """Point -> node name (a copy)."""
        return dict(self._table()[1])

    continuum = ring

    @property
    def size(self) -> int:
        """The number of distinct points."""
        return len(self._table()[1])

    def __contains__(self, nodename: Hashable) -> bool:
        return nodename in self._nodes

    def __repr__(self) -> str:
        kind = "ketama" if self._ketama else "callable" if self._callable else "md5"
        return f"HashRing({len(self._nodes)} nodes, hash_fn={kind})"
