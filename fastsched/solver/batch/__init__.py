"""Batch placement: many pending pods at once, placed by CP-SAT.

``solve_batch(cluster, pods)`` places a whole batch of pending pods on a cluster
that already runs pods, and returns a ``BatchResult`` value; nothing changes in
the cluster until ``result.apply(cluster)``.

What is respected, exactly:

* every resource column of the cluster (cpu, memory, ephemeral-storage, the pod
  count, extended resources such as GPUs) on every node, on top of what the
  running pods already request;
* the static filters of the online scheduler's default profile (NodeUnschedulable,
  NodeName, TaintToleration, NodeAffinity with nodeSelector) and NodePorts (two
  pods asking for the same protocol and host port never share a node; host IPs
  are not told apart, which is stricter than kube-scheduler);
* the groups passed in: ``Gang`` (all or none, or at least ``min_member``),
  ``AntiAffinity`` (at most k pods of a group per node or per topology domain) and
  ``Spread`` (maxSkew of a group across a topology key). A pod's own
  ``podAntiAffinity`` and ``topologySpreadConstraints`` are not read, as in the
  online scheduler: pass them as groups.

Objectives are lexicographic:

* ``"max_placed"``: the most pods placed, weighted by priority (a pod weighs
  1 + the rank of its priority among the distinct priorities of the batch, so
  with one priority every pod weighs 1);
* ``"min_nodes"``: first the most pods placed (as above), then the fewest nodes in
  use. A node is in use when it hosts at least one pod after placement; nodes
  already running pods are in use whatever the plan (running pods are never
  moved), so consolidation means opening as few empty nodes as possible;
* ``"balance"``: first the most pods placed, then the lowest peak utilization in
  permille (rounded up): the highest requested/allocatable, over the nodes that
  can receive a pod of the batch and the resources the batch requests (cpu and
  memory always).

The model aggregates identical pods: pods with the same requests, static-filter
fields, host ports, priority and group memberships form a *shape*, and a variable
``x[shape, node]`` counts the pods of that shape on that node (only where the node
passes the shape's static filters and the shape fits its free room at all).
Interchangeable empty nodes are ordered (by use, then by pod count) to break
symmetry. A greedy plan (first fit over nodes in a fixed order: nodes in use, then
empty nodes from the largest) is the solver's hint and the fallback when the
solver finds nothing better in time. Lexicographic objectives run in two phases:
the most pods placed is proved first (usually for free: the greedy plan places
every pod), then the second objective is optimized among the plans that place at
least as much. For "min_nodes" the whole model only gets a share of that time (it
proves small cases and the bound of large ones); if it has not proved its plan, a
large-neighbourhood search takes the rest: it repeatedly frees the pods of a few
opened nodes and of the nodes that could take them, and lets CP-SAT re-place them
among those nodes alone, keeping any plan that uses no more nodes (one
neighbourhood per worker at a time, on disjoint nodes), until the plan meets the
bound or time runs out.

Ties: among equally good plans the solver's choice is unspecified (with
``workers=1`` and a search that completes, a given input and seed give the same
plan; the large-neighbourhood search is seeded but depends on how many of its steps
fit in the time). Within one shape, pods go to nodes in node-row order in input
order, so the pods left unplaced are the last ones of their shape.

Group semantics:

* A group's ``pods`` is a list of ``Pod`` objects or ``"namespace/name"`` keys (a
  repeated template's key stands for all its replicas), or a label selector
  (``LabelSelector`` or a dict with matchLabels/matchExpressions) matching the
  batch's pods, in any namespace. A selector also counts the *running* pods it
  matches (in any namespace) for anti-affinity and spread; an explicit list counts
  only the batch.
* Anti-affinity: nodes without the topology key are not limited (as for
  kube-scheduler); ``kubernetes.io/hostname`` means per node.
* Spread: pods of the group only go to nodes that carry the topology key; the
  domains are the key's values on nodes where some pod of the group passes the
  static filters; the final counts (running matching pods included) of any two
  such domains differ by at most ``max_skew``. If the running pods alone already
  break that and no placement can repair it, the status is INFEASIBLE.
"""

# The package is split by concern (groups, options, result, problem, evaluate,
# greedy, symmetry, bounds, cpsat, lns, solve); what batch.py exported is still
# importable from here. HINTS, PERMILLE and STATIC_FILTERS were public names of the
# module without being in __all__, and stay so.
from ..status import STATUSES
from .groups import AntiAffinity, Gang, Spread
from .options import HINTS, OBJECTIVES, BatchOptions  # noqa: F401
from .problem import PERMILLE, STATIC_FILTERS  # noqa: F401
from .result import BatchResult
from .solve import solve_batch

__all__ = ["solve_batch", "BatchResult", "BatchOptions", "Gang", "AntiAffinity", "Spread",
           "OBJECTIVES", "STATUSES"]
