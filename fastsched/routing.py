"""Service routing: a Service's endpoints, and clients spread over them by
consistent hashing.

A Service's endpoints are the pods bound in a :class:`~fastsched.Cluster` that
it selects (same namespace, every selector label), sorted by ``namespace/name``
so that a routing never depends on binding order. :func:`route` maps client keys
(client addresses, session ids, ...) to endpoints:

* ``"maglev"`` (default): a Maglev table over the endpoints' pod keys, as
  kube-proxy's IPVS ``mh`` scheduler does (it hashes backend addresses, which a
  manifest does not have; fastsched hashes ``namespace/name``);
* ``"ketama"``: a ketama ring (uhashring-compatible) over the pod keys;
* ``"rendezvous"``: highest random weight.

:func:`rebalance_report` tells how many clients change endpoint when the
endpoints change (pods added, removed or rescheduled).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .cluster.cluster import Cluster
from .errors import ValidationError
from .hashing import HashRing, Maglev, Rendezvous
from .model.service import Service

__all__ = ["Endpoint", "Routes", "Rebalance", "endpoints", "route", "route_to", "router",
           "rebalance_report", "METHODS"]

METHODS = ("maglev", "ketama", "rendezvous")


class Endpoint(NamedTuple):
    """One endpoint of a Service: a bound pod (``namespace/name``) and its node."""

    pod: str
    node: str


def endpoints(service: Service, cluster: Cluster) -> tuple[Endpoint, ...]:
    """The bound pods ``service`` selects, sorted by pod key."""
    if not isinstance(service, Service):
        raise ValidationError(f"expected a Service, got {type(service).__name__}", "service")
    if not isinstance(cluster, Cluster):
        raise ValidationError(f"expected a Cluster, got {type(cluster).__name__}", "cluster")
    # Matched once per family of pods (they share labels and namespace), not per pod.
    cols = cluster.columns
    store = cols.store
    live = store.live()
    chosen = [t for t, pod in enumerate(store.tmpl) if pod is not None and service.matches(pod)]
    live = live[np.isin(store.tid[live], chosen)]
    found = map(Endpoint, store.keys_of(live), cols.name_array()[store.node[live]].tolist())
    return tuple(sorted(found))


def _endpoint_list(items: Any, field: str) -> tuple[Endpoint, ...]:
    """Endpoints from Endpoint/(pod, node) pairs or pod keys: at least one, distinct,
    sorted by pod key (Maglev's table depends on the order of its backends)."""
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise ValidationError("expected a sequence of endpoints (Endpoint, (pod, node) or "
                              f"pod key), got {type(items).__name__}", field)
    out = []
    for i, item in enumerate(items):
        if isinstance(item, str) and item:
            out.append(Endpoint(item, ""))
        elif (isinstance(item, tuple) and len(item) == 2
              and all(isinstance(x, str) for x in item) and item[0]):
            out.append(Endpoint(*item))
        else:
            raise ValidationError(f"expected an Endpoint, a (pod, node) pair or a pod key, "
                                  f"got {item!r}", f"{field}[{i}]")
    if not out:
        raise ValidationError("no endpoints to route to", field)
    seen: set[str] = set()
    for i, endpoint in enumerate(out):
        if endpoint.pod in seen:
            raise ValidationError(f"duplicate endpoint pod {endpoint.pod!r}", f"{field}[{i}]")
        seen.add(endpoint.pod)
    return tuple(sorted(out))


def router(pods: Sequence[str], method: str = "maglev", *,
           table_size: int = 65537) -> HashRing | Maglev | Rendezvous:
    """The consistent-hashing structure ``method`` over endpoint pod keys."""
    if method == "maglev":
        return Maglev(pods, table_size=table_size)
    if method == "ketama":
        return HashRing(pods, mode="ketama")
    if method == "rendezvous":
        return Rendezvous(pods)
    raise ValidationError(f"must be one of {', '.join(METHODS)}, got {method!r}", "method")


@dataclass(frozen=True, eq=False)
class Routes:
    """Clients mapped to endpoints: client i goes to ``endpoints[index[i]]``."""

    endpoints: tuple[Endpoint, ...]
    index: np.ndarray
    method: str

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> Endpoint:
        return self.endpoints[self.index[i]]

    def pods(self) -> list[str]:
        """Each client's pod key."""
        keys = [e.pod for e in self.endpoints]
        return [keys[j] for j in self.index.tolist()]

    def counts(self) -> dict[str, int]:
        """Clients per endpoint pod, every endpoint listed (in endpoint order)."""
        per = np.bincount(self.index, minlength=len(self.endpoints))
        return {e.pod: int(c) for e, c in zip(self.endpoints, per.tolist())}


def route(service: Service, cluster: Cluster, client_keys: Any, method: str = "maglev", *,
          table_size: int = 65537) -> Routes:
    """Map each client key to one of ``service``'s endpoints in ``cluster``.

    ``client_keys``: str/bytes/int keys (or a uint64 array of keys already hashed
    with :func:`~fastsched.hashing.fast_hash` for maglev and rendezvous, or
    :meth:`HashRing.hash_keys` for ketama). ``method``: ``"maglev"`` (with
    ``table_size``, a prime larger than the endpoint count), ``"ketama"`` or
    ``"rendezvous"``. A Service without endpoints raises ValidationError.
    """
    found = endpoints(service, cluster)
    if not found:
        raise ValidationError(f"Service {service.key} has no endpoints: no bound pod "
                              "matches its selector", "service")
    return route_to(found, client_keys, method, table_size=table_size)


def route_to(targets: Any, client_keys: Any, method: str = "maglev", *,
             table_size: int = 65537) -> Routes:
    """:func:`route` over given endpoints (Endpoint, (pod, node) pairs or pod keys,
    in any order: they are sorted by pod key first)."""
    found = _endpoint_list(targets, "endpoints")
    chooser = router([e.pod for e in found], method, table_size=table_size)
    return Routes(found, chooser.get_nodes(client_keys), method)


@dataclass(frozen=True)
class Rebalance:
    """How clients moved when the endpoints changed from ``old`` to ``new``.

    ``moved`` clients changed endpoint, out of ``clients``; of those,
    ``from_removed`` had an endpoint that is gone, ``to_added`` went to an
    endpoint that is new, and ``between_kept`` went from an endpoint that stayed
    to another one that was there before (disruption the change did not call
    for: zero for a ring and for rendezvous, small for Maglev). ``ideal`` is the
    least fraction that must move for a balanced result:
    ``1 - kept / max(len(old), len(new))``.
    """

    clients: int
    moved: int
    from_removed: int
    to_added: int
    between_kept: int
    ideal: float
    method: str

    @property
    def fraction(self) -> float:
        """The fraction of clients that changed endpoint."""
        return self.moved / self.clients if self.clients else 0.0


def rebalance_report(old_endpoints: Any, new_endpoints: Any, client_keys: Any,
                     method: str = "maglev", *, table_size: int = 65537) -> Rebalance:
    """Route ``client_keys`` over the old and the new endpoints (Endpoint, (pod,
    node) pairs or pod keys) and count who moved; endpoints are identified by pod
    key."""
    old = route_to(old_endpoints, client_keys, method, table_size=table_size)
    new = route_to(new_endpoints, client_keys, method, table_size=table_size)
    new_row = {e.pod: j for j, e in enumerate(new.endpoints)}
    old_pods = {e.pod for e in old.endpoints}
    # Per endpoint: its row among the new endpoints (-1: removed); whether it is new.
    to_new = np.array([new_row.get(e.pod, -1) for e in old.endpoints], np.int64)
    added = np.array([e.pod not in old_pods for e in new.endpoints], np.bool_)
    before = to_new[old.index]
    changed = before != new.index
    removed = before < 0
    arrived = added[new.index]
    kept = len(old_pods) - int((to_new < 0).sum())
    most = max(len(old.endpoints), len(new.endpoints))
    return Rebalance(
        clients=len(old.index),
        moved=int(changed.sum()),
        from_removed=int(removed.sum()),
        to_added=int((changed & arrived).sum()),
        between_kept=int((changed & ~removed & ~arrived).sum()),
        ideal=(most - kept) / most,
        method=method,
    )
