"""A plain-Python reference scheduler: spec/kube-scheduler.md, one rule at a time.

The compiled kernels are tested equal to these functions, so this module aims
to be obviously right rather than fast: every plugin reads the cluster through
``Cluster.node`` / ``Cluster.pods_on`` and re-derives what it needs (node
requests are summed over the bound pods, spec §1.4), label requirements and
tolerations are matched here rather than through ``fastsched.model.labels`` /
``fastsched.model.taints``, and integer arithmetic is Go's (division truncates
toward zero). Section numbers (§) refer to the spec.

What a kernel must match:

* ``filter_node`` / ``filter_status``: the first failing filter, in profile order;
* ``feasible`` and ``fit_error_message``: after NodeAffinity's PreFilter, which can
  restrict the candidates to the nodes named by ``metadata.name In`` field
  requirements (§2, §3.5) — the others are then reported with the "absent nodes"
  reason, not with their own filter results;
* ``score_plugins``: normalized, unweighted scores per plugin; ``total_scores``;
* ``select``: ``"first"`` takes the lowest position among the best totals,
  ``"random"`` calls ``rng.randrange(k)`` exactly once when k > 1 nodes tie;
* ``schedule`` / ``schedule_all`` (every node examined) and ``schedule_sampled``
  (percentageOfNodesToScore with the rotating start index of §8).

PodTopologySpread and InterPodAffinity (§3.8, §3.9, §5.4, §5.5) look at every pod
bound in the cluster. Their filters follow upstream's PreFilter / Filter split:
``prefilter_states`` computes each plugin's per-pod state once, ``filter_status``
reads it per node. Every entry point above takes two optional keywords they need:
``services`` (objects with ``namespace`` and a ``selector`` mapping, for the default
spread constraints' selector) and ``namespace_labels`` ({namespace: {label: value}},
for namespace selectors of pod affinity terms). Their profile arguments are read
with defaults: ``hard_pod_affinity_weight`` (1),
``ignore_preferred_terms_of_existing_pods`` (False), ``spread_defaulting``
("System" or "List") and ``default_spread_constraints`` (()).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Optional

from fastsched.cluster.cluster import normalize_image

MAX_NODE_SCORE = 100
MAX_CUSTOM_PRIORITY_SCORE = 10          # RequestedToCapacityRatio shape scores (§4.3)
MB = 1024 * 1024
IMAGE_MIN_THRESHOLD = 23 * MB           # ImageLocality (§5.6)
IMAGE_MAX_CONTAINER_THRESHOLD = 1000 * MB

# Status codes (§2).
UNSCHEDULABLE = "Unschedulable"
UNRESOLVABLE = "UnschedulableAndUnresolvable"

# Reason strings (§3, v1.35 wording).
REASON_UNSCHEDULABLE = "node(s) were unschedulable"
REASON_NODE_NAME = "node(s) didn't match the requested node name"
REASON_TAINT = "node(s) had untolerated taint(s)"
REASON_ENFORCED_AFFINITY = "node(s) didn't match scheduler-enforced node affinity"
REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
REASON_PORTS = "node(s) didn't have free ports for the requested pod ports"
REASON_TOO_MANY_PODS = "Too many pods"
REASON_AFFINITY_CONFLICT = "pod affinity terms conflict"
REASON_SPREAD_MISSING_LABEL = ("node(s) didn't match pod topology spread constraints "
                               "(missing required label)")
REASON_SPREAD = "node(s) didn't match pod topology spread constraints"
REASON_POD_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_POD_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"

CPU, MEMORY, EPHEMERAL_STORAGE, PODS = "cpu", "memory", "ephemeral-storage", "pods"
NATIVE_RESOURCES = (CPU, MEMORY, EPHEMERAL_STORAGE, PODS)
UNSCHEDULABLE_TAINT_KEY = "node.kubernetes.io/unschedulable"
HARD_EFFECTS = ("NoSchedule", "NoExecute")
ANY_IP = "0.0.0.0"
HOSTNAME_LABEL = "kubernetes.io/hostname"
ZONE_LABEL = "topology.kubernetes.io/zone"

# percentageOfNodesToScore (§8).
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE = 5
BASE_PERCENTAGE_OF_NODES_TO_SCORE = 50

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_DECIMAL = re.compile(r"[+-]?[0-9]+")    # ASCII digits, as Go's strconv.ParseInt


# -- Go arithmetic ---------------------------------------------------------------------

def go_div(a: int, b: int) -> int:
    """Integer division truncating toward zero (Go's ``/`` on int64)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def go_round(x: float) -> int:
    """Round half away from zero (Go's ``math.Round``), without ``x + 0.5`` errors."""
    t = math.trunc(x)
    if abs(x - t) >= 0.5:           # x - trunc(x) is exact for floats
        t += 1 if x > 0 else -1
    return int(t)


def parse_int64(text: str) -> int | None:
    """A decimal int64 as Go's ``strconv.ParseInt(s, 10, 64)`` reads it, else None."""
    if not _DECIMAL.fullmatch(text):
        return None
    value = int(text)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


# -- resources (§1) ----------------------------------------------------------------------

def is_scalar(resource: str) -> bool:
    """Scalar resources: every resource that is not native (§1.1)."""
    return resource not in NATIVE_RESOURCES


def is_extended(resource: str) -> bool:
    """Extended resources (§1.1): scalar names containing '/', outside the
    kubernetes.io namespace, not ``requests.``-prefixed."""
    if not is_scalar(resource) or "/" not in resource or resource.startswith("requests."):
        return False
    domain = resource.split("/", 1)[0]
    return domain != "kubernetes.io" and not domain.endswith(".kubernetes.io")


def node_requested(cluster: Any, node_name: str) -> dict[str, int]:
    """Σ of the real requests (§1.2) of the pods bound to the node (§1.4)."""
    total: dict[str, int] = {}
    for pod in cluster.pods_on(node_name):
        for resource, amount in pod.requests.items():
            total[resource] = total.get(resource, 0) + amount
    return total


def node_nonzero_requested(cluster: Any, node_name: str) -> dict[str, int]:
    """cpu and memory of the bound pods with the 100m / 200Mi defaults (§1.3, §1.4)."""
    total = {CPU: 0, MEMORY: 0}
    for pod in cluster.pods_on(node_name):
        for resource in (CPU, MEMORY):
            total[resource] += pod.scoring_requests.get(resource, 0)
    return total


# -- label requirements and tolerations (§3.4, §3.5) ---------------------------------------

def requirement_matches(requirement: Any, labels: Mapping[str, str]) -> bool:
    """One node selector requirement against a label map (table of §3.5)."""
    op, key, values = requirement.operator, requirement.key, tuple(requirement.values)
    present = key in labels
    if op == "In":
        return present and labels[key] in values
    if op == "NotIn":
        return not present or labels[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt"):
        if not present or len(values) != 1:
            return False
        have, bound = parse_int64(labels[key]), parse_int64(values[0])
        if have is None or bound is None:
            return False
        return have > bound if op == "Gt" else have < bound
    return False


# A label value: empty, or at most 63 alphanumerics, '-', '_', '.', alphanumeric at both ends.
_LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


def requirement_parses(requirement: Any) -> bool:
    """Whether labels.NewRequirement accepts the values (§3.5): each a label value, and a
    Gt/Lt value an int64."""
    values = tuple(requirement.values)
    if not all(_LABEL_VALUE.fullmatch(v) for v in values):
        return False
    return requirement.operator not in ("Gt", "Lt") or parse_int64(values[0]) is not None


def term_matches(term: Any, labels: Mapping[str, str], node_name: str) -> bool:
    """A node selector term: all expressions and all fields hold; an empty term
    matches nothing, nor does one with an expression that does not parse (NA-FILTER-18).
    ``matchFields`` read the node name as ``metadata.name``."""
    if not term.match_expressions and not term.match_fields:
        return False
    if not all(requirement_parses(r) for r in term.match_expressions):
        return False
    fields = {"metadata.name": node_name}
    return (all(requirement_matches(r, labels) for r in term.match_expressions)
            and all(r.key == "metadata.name" and requirement_matches(r, fields)
                    for r in term.match_fields))


def terms_match(terms: Iterable[Any], labels: Mapping[str, str], node_name: str) -> bool:
    """Node selector terms are ORed; no terms match nothing."""
    return any(term_matches(t, labels, node_name) for t in terms)


def canonical_int64(text: str) -> int | None:
    """A Gt/Lt toleration or taint value: a decimal integer written the one way
    Go's strconv.Itoa would write it (no '+', no leading zeros, no '-0'), in int64."""
    try:
        number = int(text)
    except ValueError:
        return None
    if str(number) != text or not -(1 << 63) <= number < (1 << 63):
        return None
    return number


def tolerates(toleration: Any, key: str, value: str, effect: str,
              comparison: bool = False) -> bool:
    """Whether a toleration tolerates the taint ``key=value:effect`` (§3.4).

    Gt/Lt need the TaintTolerationComparisonOperators gate (``comparison``, off by
    default in v1.35); with it, both values must be canonical int64 decimals, and
    a value that is not tolerates nothing (v1.35 logs the parse error only).
    """
    if toleration.effect and toleration.effect != effect:
        return False
    wildcard = toleration.key == "" and toleration.operator == "Exists"
    if toleration.key != key and not wildcard:
        return False
    op = toleration.operator
    if op == "Exists":
        return True
    if op in ("Equal", ""):
        return toleration.value == value
    if op in ("Gt", "Lt") and comparison:
        have, bound = canonical_int64(value), canonical_int64(toleration.value)
        if have is None or bound is None:
            return False
        return have > bound if op == "Gt" else have < bound
    return False


def tolerated(taint: Any, tolerations: Iterable[Any], comparison: bool = False) -> bool:
    return any(tolerates(t, taint.key, taint.value, taint.effect, comparison)
               for t in tolerations)


def comparison_gate(profile: Any) -> bool:
    """The profile's TaintTolerationComparisonOperators gate."""
    return dict(profile.feature_gates)["TaintTolerationComparisonOperators"]


# -- filter plugins (§3.2–3.7) -------------------------------------------------------------
# Each returns None when the node passes, else (status code, reasons).

Status = tuple[str, tuple[str, ...]]


def _node_unschedulable(cluster: Any, pod: Any, node: Any, profile: Any) -> Status | None:
    if not node.unschedulable:
        return None
    if any(tolerates(t, UNSCHEDULABLE_TAINT_KEY, "", "NoSchedule") for t in pod.tolerations):
        return None
    return UNRESOLVABLE, (REASON_UNSCHEDULABLE,)


def _node_name(cluster: Any, pod: Any, node: Any, profile: Any) -> Status | None:
    if pod.node_name and pod.node_name != node.name:
        return UNRESOLVABLE, (REASON_NODE_NAME,)
    return None


def _taint_toleration(cluster: Any, pod: Any, node: Any, profile: Any) -> Status | None:
    for taint in node.taints:
        if taint.effect in HARD_EFFECTS and not tolerated(taint, pod.tolerations,
                                                          comparison_gate(profile)):
            return UNRESOLVABLE, (REASON_TAINT,)
    return None


def _node_affinity(cluster: Any, pod: Any, node: Any, profile: Any) -> Status | None:
    added = profile.added_affinity
    if added is not None and added.required is not None:
        if not terms_match(added.required, node.labels, node.name):
            return UNRESOLVABLE, (REASON_ENFORCED_AFFINITY,)
    for key, value in pod.node_selector.items():
        if node.labels.get(key) != value:
            return UNRESOLVABLE, (REASON_AFFINITY,)
    affinity = pod.node_affinity
    if affinity is not None and affinity.required is not None:
        if not terms_match(affinity.required, node.labels, node.name):
            return UNRESOLVABLE, (REASON_AFFINITY,)
    return None


def _ports_conflict(a: tuple[str, str, int], b: tuple[str, str, int]) -> bool:
    (ip_a, proto_a, port_a), (ip_b, proto_b, port_b) = a, b
    if proto_a != proto_b or port_a != port_b:
        return False
    return ip_a == ANY_IP or ip_b == ANY_IP or ip_a == ip_b


def _node_ports(cluster: Any, pod: Any, node: Any, profile: Any) -> Status | None:
    used = [port for other in cluster.pods_on(node.name) for port in other.host_ports]
    for wanted in pod.host_ports:
        if any(_ports_conflict(wanted, have) for have in used):
            return UNSCHEDULABLE, (REASON_PORTS,)
    return None


def fit_resource_order(requests: Mapping[str, int]) -> list[str]:
    """The order NodeResourcesFit checks resources in: cpu, memory,
    ephemeral-storage, then scalar resources sorted by name (upstream iterates
    a map there, so fastsched fixes the order)."""
    return [CPU, MEMORY, EPHEMERAL_STORAGE] + sorted(r for r in requests if is_scalar(r))


def _node_resources_fit(cluster: Any, pod: Any, node: Any, profile: Any) -> Status | None:
    alloc = node.allocatable
    used = node_requested(cluster, node.name)
    requests = pod.requests
    reasons: list[str] = []
    unresolvable = False
    # Step 1: the pod slot.
    if len(node.pods) + 1 > alloc.get(PODS, 0):
        reasons.append(REASON_TOO_MANY_PODS)
    # Step 2: a pod requesting nothing only needs the slot.
    if any(amount > 0 for r, amount in requests.items() if r != PODS):
        args = profile.fit
        # Steps 3 and 4.
        for resource in fit_resource_order(requests):
            want = requests.get(resource, 0)
            if want <= 0:
                continue
            if is_extended(resource) and (
                    resource in args.ignored_resources
                    or resource.split("/", 1)[0] in args.ignored_resource_groups):
                continue
            capacity = alloc.get(resource, 0)
            if want > capacity - used.get(resource, 0):
                reasons.append(f"Insufficient {resource}")
                # Step 5: the pod alone exceeds the node.
                unresolvable = unresolvable or want > capacity
    if not reasons:
        return None
    return (UNRESOLVABLE if unresolvable else UNSCHEDULABLE), tuple(reasons)


FILTERS = {
    "NodeUnschedulable": _node_unschedulable,
    "NodeName": _node_name,
    "TaintToleration": _taint_toleration,
    "NodeAffinity": _node_affinity,
    "NodePorts": _node_ports,
    "NodeResourcesFit": _node_resources_fit,
}


# -- label selectors and pod affinity terms (§3.8, §3.9) -----------------------------------
# A selector as the scheduler evaluates it: a tuple of requirements, all ANDed, or
# None for a missing selector, which matches nothing. ``()`` (no requirements) matches
# every label set.

class Requirement(NamedTuple):
    """One label requirement (In, NotIn, Exists, DoesNotExist); ``requirement_matches``
    reads it like a node selector requirement."""

    key: str
    operator: str
    values: tuple[str, ...] = ()


Selector = Optional[tuple[Requirement, ...]]


def selector_of(label_selector: Any) -> Selector:
    """A ``LabelSelector`` (or None) as requirements: matchLabels are ``key In [value]``."""
    if label_selector is None:
        return None
    reqs = [Requirement(k, "In", (v,)) for k, v in label_selector.match_labels.items()]
    reqs += [Requirement(r.key, r.operator, tuple(r.values))
             for r in label_selector.match_expressions]
    return tuple(reqs)


def selector_matches(selector: Selector, labels: Mapping[str, str]) -> bool:
    return selector is not None and all(requirement_matches(r, labels) for r in selector)


def with_label_keys(selector: Selector, labels: Mapping[str, str], match_keys: Iterable[str],
                    mismatch_keys: Iterable[str] = ()) -> Selector:
    """matchLabelKeys / mismatchLabelKeys: for each key the pod carries, AND
    ``key In [value]`` / ``key NotIn [value]``. Keys the pod lacks are skipped, and a
    missing selector stays missing (it matches nothing either way)."""
    if selector is None:
        return None
    extra = [Requirement(k, "In", (labels[k],)) for k in match_keys if k in labels]
    extra += [Requirement(k, "NotIn", (labels[k],)) for k in mismatch_keys if k in labels]
    return selector + tuple(extra)


class AffinityTerm(NamedTuple):
    """A pod (anti-)affinity term with its namespaces resolved against its owner pod."""

    topology_key: str
    selector: Selector
    namespaces: frozenset[str]
    namespace_selector: Selector
    weight: int             # the preferred term's weight; 0 for required terms


def affinity_term(owner: Any, term: Any, weight: int = 0) -> AffinityTerm:
    """``term`` of pod ``owner``. Namespaces: the listed ones plus those the namespace
    selector picks; with neither, the owner's own namespace. matchLabelKeys and
    mismatchLabelKeys read the owner's labels (the API server merges them into the
    selector when the owner is created)."""
    selector = with_label_keys(selector_of(term.label_selector), owner.labels,
                               term.match_label_keys, term.mismatch_label_keys)
    if not term.namespaces and term.namespace_selector is None:
        namespaces = frozenset((owner.namespace,))
    else:
        namespaces = frozenset(term.namespaces)
    return AffinityTerm(term.topology_key, selector, namespaces,
                        selector_of(term.namespace_selector), weight)


def required_terms(owner: Any, affinity: Any) -> list[AffinityTerm]:
    return [] if affinity is None else [affinity_term(owner, t) for t in affinity.required]


def preferred_terms(owner: Any, affinity: Any) -> list[AffinityTerm]:
    return [] if affinity is None else [affinity_term(owner, t.pod_affinity_term, t.weight)
                                        for t in affinity.preferred]


def term_matches_pod(term: AffinityTerm, pod: Any,
                     namespace_labels: Mapping[str, Mapping[str, str]]) -> bool:
    """The pod is in one of the term's namespaces (listed, or selected by the namespace
    selector from its namespace's labels; an empty selector selects all) and its
    labels match the term's selector.

    Upstream turns the incoming pod's namespace selector into namespace names up
    front and matches existing pods' selectors against the incoming pod's
    namespace labels; reading the candidate pod's namespace labels here is the
    same rule for both. Namespaces absent from ``namespace_labels`` have no labels.
    """
    ns_labels = namespace_labels.get(pod.namespace, {})
    in_namespace = (pod.namespace in term.namespaces
                    or selector_matches(term.namespace_selector, ns_labels))
    return in_namespace and selector_matches(term.selector, pod.labels)


def _pods_except(cluster: Any, node_name: str, pod: Any) -> list[Any]:
    """The pods bound to a node, without the incoming pod should it be bound already."""
    return [p for p in cluster.pods_on(node_name) if p.key != pod.key]


# -- PodTopologySpread (§3.8 filter, §5.4 score) -------------------------------------------

class SpreadConstraint(NamedTuple):
    """A topology spread constraint as the plugin uses it (selector resolved)."""

    max_skew: int
    topology_key: str
    selector: Selector
    min_domains: int                # a missing minDomains counts as 1
    node_affinity_policy: str
    node_taints_policy: str


# The System defaulting type's constraints (§5.4), both ScheduleAnyway.
SYSTEM_DEFAULT_SPREAD = ((HOSTNAME_LABEL, 3), (ZONE_LABEL, 5))


def services_selecting(pod: Any, services: Iterable[Any]) -> list[Any]:
    """Services of the pod's namespace whose non-empty selector the pod's labels match."""
    return [s for s in services
            if s.namespace == pod.namespace and s.selector
            and all(pod.labels.get(k) == v for k, v in s.selector.items())]


def default_selector(pod: Any, services: Iterable[Any]) -> Selector:
    """The selectors of the Services selecting the pod, merged, ANDed with the
    requirements of the pod's owner (ReplicaSet / StatefulSet / RC) selector."""
    merged: dict[str, str] = {}
    for service in services_selecting(pod, services):
        merged.update(service.selector)
    reqs = tuple(Requirement(k, "In", (v,)) for k, v in merged.items())
    if pod.owner_selector is not None:
        reqs += selector_of(pod.owner_selector) or ()
    return reqs


def spread_constraints(pod: Any, profile: Any, action: str,
                       services: Iterable[Any] = ()) -> list[SpreadConstraint]:
    """The pod's constraints with ``whenUnsatisfiable == action``; for a pod with no
    constraints at all, the profile's default constraints with that action (System:
    hostname 3 and zone 5, both ScheduleAnyway; List: ``default_spread_constraints``)
    carrying the default selector — none when that selector is empty."""
    if pod.topology_spread_constraints:
        return [SpreadConstraint(
                    c.max_skew, c.topology_key,
                    with_label_keys(selector_of(c.label_selector), pod.labels,
                                    c.match_label_keys),
                    1 if c.min_domains is None else c.min_domains,
                    c.node_affinity_policy, c.node_taints_policy)
                for c in pod.topology_spread_constraints if c.when_unsatisfiable == action]
    defaulting = getattr(profile, "spread_defaulting", "System")
    if defaulting == "System":
        defaults = [(key, skew, "ScheduleAnyway", 1, "Honor", "Ignore")
                    for key, skew in SYSTEM_DEFAULT_SPREAD]
    elif defaulting == "List":
        defaults = [(c.topology_key, c.max_skew, c.when_unsatisfiable,
                     1 if c.min_domains is None else c.min_domains,
                     c.node_affinity_policy, c.node_taints_policy)
                    for c in getattr(profile, "default_spread_constraints", ())]
    else:
        raise ValueError(f"spread_defaulting must be 'System' or 'List', got {defaulting!r}")
    wanted = [d for d in defaults if d[2] == action]
    if not wanted:
        return []
    selector = default_selector(pod, services)
    if not selector:
        return []
    return [SpreadConstraint(skew, key, selector, min_domains, affinity_policy, taints_policy)
            for key, skew, _, min_domains, affinity_policy, taints_policy in wanted]


def spread_requires_all_keys(pod: Any, profile: Any) -> bool:
    """Whether scoring ignores nodes lacking a constraint's key: yes unless the
    constraints are the System defaults."""
    return (bool(pod.topology_spread_constraints)
            or getattr(profile, "spread_defaulting", "System") != "System")


def required_node_affinity_matches(pod: Any, node: Any) -> bool:
    """The pod's nodeSelector and required node affinity (not the profile's
    addedAffinity), as NodeAffinity's filter steps 2 and 3 read them."""
    if any(node.labels.get(k) != v for k, v in pod.node_selector.items()):
        return False
    affinity = pod.node_affinity
    return (affinity is None or affinity.required is None
            or terms_match(affinity.required, node.labels, node.name))


def node_included(constraint: SpreadConstraint, pod: Any, node: Any) -> bool:
    """nodeAffinityPolicy / nodeTaintsPolicy: whether the node's pods count."""
    if constraint.node_affinity_policy == "Honor" and not required_node_affinity_matches(pod, node):
        return False
    if constraint.node_taints_policy == "Honor" and any(
            t.effect in HARD_EFFECTS and not tolerated(t, pod.tolerations) for t in node.taints):
        return False
    return True


def count_matching(pods: Iterable[Any], selector: Selector, namespace: str) -> int:
    """Pods of ``namespace`` whose labels match ``selector``.

    An empty selector (no requirements) counts nothing, as upstream's
    countPodsMatchSelector returns 0 for ``selector.Empty()`` — although the same
    selector matches every pod, so the incoming pod's selfMatch is 1. Terminating
    pods (deletionTimestamp set) are skipped, as there.
    """
    if not selector:
        return 0
    return sum(1 for p in pods if p.namespace == namespace and not p.terminating
               and selector_matches(selector, p.labels))


class SpreadFilterState(NamedTuple):
    """PreFilter state: per hard constraint, matching pods per eligible domain."""

    constraints: list[SpreadConstraint]
    counts: list[dict[str, int]]


def spread_prefilter(cluster: Any, pod: Any, profile: Any, services: Iterable[Any] = (),
                     namespace_labels: Any = None) -> SpreadFilterState:
    """Count, for each hard constraint, the pods matching its selector in the pod's
    namespace, per topology value, over the nodes that carry every hard constraint's
    key and pass that constraint's inclusion policies. Every such node makes its
    value a domain, even with no matching pod."""
    constraints = spread_constraints(pod, profile, "DoNotSchedule", services)
    counts: list[dict[str, int]] = [{} for _ in constraints]
    if constraints:
        for name in cluster.node_names:
            node = cluster.node(name)
            if any(c.topology_key not in node.labels for c in constraints):
                continue
            for i, c in enumerate(constraints):
                if not node_included(c, pod, node):
                    continue
                value = node.labels[c.topology_key]
                found = count_matching(_pods_except(cluster, name, pod), c.selector, pod.namespace)
                counts[i][value] = counts[i].get(value, 0) + found
    return SpreadFilterState(constraints, counts)


def spread_filter(state: SpreadFilterState, pod: Any, node: Any) -> Status | None:
    """§3.8, constraint by constraint; the first failure is the node's status."""
    for c, domains in zip(state.constraints, state.counts):
        if c.topology_key not in node.labels:
            return UNRESOLVABLE, (REASON_SPREAD_MISSING_LABEL,)
        # Fewer eligible domains than minDomains (1 when unset, so also "no domain
        # at all") → the global minimum is 0.
        global_min = 0 if len(domains) < c.min_domains else min(domains.values())
        self_match = 1 if selector_matches(c.selector, pod.labels) else 0
        skew = domains.get(node.labels[c.topology_key], 0) + self_match - global_min
        if skew > c.max_skew:
            return UNSCHEDULABLE, (REASON_SPREAD,)
    return None


def spread_scores(cluster: Any, pod: Any, profile: Any, nodes: Sequence[str],
                  services: Iterable[Any] = ()) -> list[int]:
    """§5.4: normalized PodTopologySpread scores of the (feasible) ``nodes``.

    Float operations follow upstream's order, each rounded to float64 on its own
    (no fused multiply-add): per constraint ``t = float(count) * w + float(maxSkew - 1)``,
    then ``score += t`` in constraint order, then round half away from zero.
    ``w = math.log(size + 2)`` (the C library's log).
    """
    constraints = spread_constraints(pod, profile, "ScheduleAnyway", services)
    if not constraints or not nodes:
        return [0] * len(nodes)                 # PreScore Skip
    require_all = spread_requires_all_keys(pod, profile)

    # Ignored nodes, and the domains of the scored nodes. With the System defaults
    # a node lacking the key reads it as "" (Go's map zero value), so "" can be a
    # domain and add to size. Hostname has no domain table: it is counted per node.
    ignored: set[str] = set()
    domains: list[dict[str, int]] = [{} for _ in constraints]
    for name in nodes:
        labels = cluster.node_labels(name)
        if require_all and any(c.topology_key not in labels for c in constraints):
            ignored.add(name)
            continue
        for i, c in enumerate(constraints):
            if c.topology_key != HOSTNAME_LABEL:
                domains[i].setdefault(labels.get(c.topology_key, ""), 0)
    weights = []
    for i, c in enumerate(constraints):
        # hostname: the number of scored nodes, not of distinct hostname values.
        size = len(nodes) - len(ignored) if c.topology_key == HOSTNAME_LABEL else len(domains[i])
        weights.append(math.log(float(size + 2)))

    # Counts over every node of the cluster (not only the feasible ones).
    for name in cluster.node_names:
        node = cluster.node(name)
        if require_all and any(c.topology_key not in node.labels for c in constraints):
            continue
        for i, c in enumerate(constraints):
            if not node_included(c, pod, node):
                continue
            value = node.labels.get(c.topology_key, "")
            if value not in domains[i]:         # no scored node there (and hostname)
                continue
            domains[i][value] += count_matching(_pods_except(cluster, name, pod),
                                                c.selector, pod.namespace)

    raw = []
    for name in nodes:
        if name in ignored:
            raw.append(0)
            continue
        labels = cluster.node_labels(name)
        score = 0.0
        for i, c in enumerate(constraints):
            if c.topology_key not in labels:
                continue
            if c.topology_key == HOSTNAME_LABEL:
                # Pods on the node itself; the inclusion policies are not applied here.
                count = count_matching(_pods_except(cluster, name, pod), c.selector,
                                       pod.namespace)
            else:
                count = domains[i][labels[c.topology_key]]
            term = float(count) * weights[i] + float(c.max_skew - 1)
            score += term
        raw.append(go_round(score))

    # Normalize: min over the non-ignored raws, max starts at 0.
    low, high = _INT64_MAX, 0
    for name, s in zip(nodes, raw):
        if name not in ignored:
            low, high = min(low, s), max(high, s)
    out = []
    for name, s in zip(nodes, raw):
        if name in ignored:
            out.append(0)
        elif high == 0:
            out.append(MAX_NODE_SCORE)
        else:
            out.append(go_div(MAX_NODE_SCORE * (high + low - s), high))
    return out


# -- InterPodAffinity (§3.9 filter, §5.5 score) --------------------------------------------

class AffinityFilterState(NamedTuple):
    """PreFilter state: (topology key, value) → count maps, and the incoming pod's terms."""

    affinity_terms: list[AffinityTerm]
    anti_affinity_terms: list[AffinityTerm]
    affinity_counts: Counter          # existing pods matching ALL required affinity terms
    anti_affinity_counts: Counter     # existing pods matching each required anti-affinity term
    existing_anti_counts: Counter     # existing pods' required anti-affinity terms matching the pod
    namespace_labels: Mapping[str, Mapping[str, str]]


def interpod_prefilter(cluster: Any, pod: Any, profile: Any, services: Iterable[Any] = (),
                       namespace_labels: Any = None) -> AffinityFilterState:
    """Walk every pod bound in the cluster once. A match adds 1 to the pair
    (term's topology key, that key's value on the matching pod's node); a node
    without the key adds nothing."""
    ns_labels = namespace_labels or {}
    affinity = required_terms(pod, pod.pod_affinity)
    anti = required_terms(pod, pod.pod_anti_affinity)
    affinity_counts: Counter = Counter()
    anti_counts: Counter = Counter()
    existing_counts: Counter = Counter()
    for name in cluster.node_names:
        labels = cluster.node_labels(name)
        for other in _pods_except(cluster, name, pod):
            # 3: the existing pod's required anti-affinity terms against the incoming pod.
            for term in required_terms(other, other.pod_anti_affinity):
                if term.topology_key in labels and term_matches_pod(term, pod, ns_labels):
                    existing_counts[(term.topology_key, labels[term.topology_key])] += 1
            # 1: a pod counts for affinity only when it matches every term.
            if affinity and all(term_matches_pod(t, other, ns_labels) for t in affinity):
                for term in affinity:
                    if term.topology_key in labels:
                        affinity_counts[(term.topology_key, labels[term.topology_key])] += 1
            # 2: anti-affinity, term by term.
            for term in anti:
                if term.topology_key in labels and term_matches_pod(term, other, ns_labels):
                    anti_counts[(term.topology_key, labels[term.topology_key])] += 1
    return AffinityFilterState(affinity, anti, affinity_counts, anti_counts, existing_counts,
                               ns_labels)


def interpod_filter(state: AffinityFilterState, pod: Any, node: Any) -> Status | None:
    """§3.9 in order: the pod's affinity, its anti-affinity, existing pods' anti-affinity."""
    labels = node.labels
    # 1. Every term's key must be on the node, with a matching pod in that domain.
    pods_exist = True
    for term in state.affinity_terms:
        if term.topology_key not in labels:
            return UNRESOLVABLE, (REASON_POD_AFFINITY,)
        if state.affinity_counts[(term.topology_key, labels[term.topology_key])] <= 0:
            pods_exist = False
    if not pods_exist:
        # The first pod of a group with affinity to itself: no pod anywhere matched
        # (the count map is empty) and the pod matches all of its own terms.
        first_of_group = not state.affinity_counts and all(
            term_matches_pod(t, pod, state.namespace_labels) for t in state.affinity_terms)
        if not first_of_group:
            return UNRESOLVABLE, (REASON_POD_AFFINITY,)
    # 2. No matching pod in the domain of any anti-affinity term the node has a key for.
    for term in state.anti_affinity_terms:
        if term.topology_key in labels and \
                state.anti_affinity_counts[(term.topology_key, labels[term.topology_key])] > 0:
            return UNSCHEDULABLE, (REASON_POD_ANTI_AFFINITY,)
    # 3. No (key, value) of the node's labels hosts an existing pod whose
    #    anti-affinity matches the incoming pod.
    if any(state.existing_anti_counts[(k, v)] > 0 for k, v in labels.items()):
        return UNSCHEDULABLE, (REASON_EXISTING_ANTI_AFFINITY,)
    return None


def interpod_topology_scores(cluster: Any, pod: Any, profile: Any,
                             namespace_labels: Any = None) -> dict[str, dict[str, int]]:
    """§5.5's map T[topology key][value], summed over every pod bound in the cluster.

    ``ignore_preferred_terms_of_existing_pods`` makes PreScore skip (empty T) when the
    incoming pod has no preferred (anti-)affinity terms; when it has some, existing
    pods' terms all count as usual (upstream's rule: the flag ignores existing pods'
    preferences "unless the incoming pod has inter-pod affinities").
    """
    ns_labels = namespace_labels or {}
    hard_weight = getattr(profile, "hard_pod_affinity_weight", 1)
    preferred = preferred_terms(pod, pod.pod_affinity)
    preferred_anti = preferred_terms(pod, pod.pod_anti_affinity)
    if getattr(profile, "ignore_preferred_terms_of_existing_pods", False) and \
            not preferred and not preferred_anti:
        return {}
    table: dict[str, dict[str, int]] = {}

    def add(term: AffinityTerm, target: Any, labels: Mapping[str, str], amount: int) -> None:
        if term.topology_key in labels and term_matches_pod(term, target, ns_labels):
            values = table.setdefault(term.topology_key, {})
            value = labels[term.topology_key]
            values[value] = values.get(value, 0) + amount

    for name in cluster.node_names:
        labels = cluster.node_labels(name)
        for other in _pods_except(cluster, name, pod):
            for term in preferred:                       # the pod's preferences
                add(term, other, labels, term.weight)
            for term in preferred_anti:
                add(term, other, labels, -term.weight)
            if hard_weight > 0:                           # E's required affinity
                for term in required_terms(other, other.pod_affinity):
                    add(term, pod, labels, hard_weight)
            for term in preferred_terms(other, other.pod_affinity):       # E's preferences
                add(term, pod, labels, term.weight)
            for term in preferred_terms(other, other.pod_anti_affinity):
                add(term, pod, labels, -term.weight)
    return table


def interpod_scores(cluster: Any, pod: Any, profile: Any, nodes: Sequence[str],
                    namespace_labels: Any = None) -> list[int]:
    """§5.5: normalized InterPodAffinity scores of ``nodes``.

    raw = Σ over T's keys the node carries of T[key][node's value]. Normalize (current
    form): min and max over all raws; ``int(100.0 * (float(raw - min) / float(max - min)))``
    — the division first, as upstream, so 29/100 gives int(28.999…) = 28 — or 0 for
    every node when max == min. An empty T (PreScore Skip) scores 0 everywhere.
    """
    table = interpod_topology_scores(cluster, pod, profile, namespace_labels)
    if not table or not nodes:
        return [0] * len(nodes)
    raw = []
    for name in nodes:
        labels = cluster.node_labels(name)
        raw.append(sum(values.get(labels[key], 0) for key, values in table.items()
                       if key in labels))
    low, high = min(raw), max(raw)
    spread = high - low
    out = []
    for s in raw:
        f = 0.0
        if spread > 0:
            f = float(MAX_NODE_SCORE) * (float(s - low) / float(spread))
        out.append(int(f))
    return out


# Filters with a PreFilter step that reads the whole cluster once per pod:
# name → (prefilter(cluster, pod, profile, services, namespace_labels) → state,
#         filter(state, pod, node) → Status | None).
STATEFUL_FILTERS = {
    "PodTopologySpread": (spread_prefilter, spread_filter),
    "InterPodAffinity": (interpod_prefilter, interpod_filter),
}


def prefilter_states(cluster: Any, pod: Any, profile: Any, *, services: Iterable[Any] = (),
                     namespace_labels: Mapping[str, Mapping[str, str]] | None = None
                     ) -> dict[str, Any]:
    """The PreFilter state of every enabled plugin in ``STATEFUL_FILTERS``."""
    return {plugin: STATEFUL_FILTERS[plugin][0](cluster, pod, profile, services,
                                                 namespace_labels)
            for plugin in profile.filters if plugin in STATEFUL_FILTERS}


def filter_status(cluster: Any, pod: Any, node_name: str, profile: Any, *,
                  services: Iterable[Any] = (),
                  namespace_labels: Mapping[str, Mapping[str, str]] | None = None,
                  states: Mapping[str, Any] | None = None
                  ) -> tuple[str, str, tuple[str, ...]] | None:
    """``(plugin, status code, reasons)`` of the first failing filter, None if all pass.

    ``states`` are the PreFilter states of ``prefilter_states`` (computed here when
    not given; callers checking many nodes pass them to compute them once).
    """
    if states is None:
        states = prefilter_states(cluster, pod, profile, services=services,
                                  namespace_labels=namespace_labels)
    node = cluster.node(node_name)
    for plugin in profile.filters:
        if plugin in STATEFUL_FILTERS:
            status = STATEFUL_FILTERS[plugin][1](states[plugin], pod, node)
        else:
            status = FILTERS[plugin](cluster, pod, node, profile)
        if status is not None:
            return plugin, status[0], status[1]
    return None


def filter_node(cluster: Any, pod: Any, node_name: str, profile: Any, *,
                services: Iterable[Any] = (),
                namespace_labels: Mapping[str, Mapping[str, str]] | None = None
                ) -> tuple[str, ...]:
    """The reasons of the first failing filter plugin; ``()`` when the node passes."""
    status = filter_status(cluster, pod, node_name, profile, services=services,
                           namespace_labels=namespace_labels)
    return () if status is None else status[2]


# -- PreFilter (§2, §3.5) ------------------------------------------------------------------

def prefilter(cluster: Any, pod: Any, profile: Any) -> tuple[tuple[str, ...] | None, str]:
    """NodeAffinity's PreFilter: ``(candidates, message)``.

    ``candidates`` is None when every node may be examined, else the names (in
    cluster order) the ``metadata.name In`` field requirements allow; names of
    nodes that do not exist are dropped. ``message`` is non-empty when PreFilter
    rejects the pod outright (every term contradicts itself).
    """
    if "NodeAffinity" not in profile.filters:
        return None, ""
    affinity = pod.node_affinity
    if affinity is None or not affinity.required:
        return None, ""
    allowed: set[str] = set()
    for term in affinity.required:
        names: set[str] | None = None
        for req in term.match_fields:
            if req.key == "metadata.name" and req.operator == "In":
                names = set(req.values) if names is None else names & set(req.values)
        if names is None:
            return None, ""         # this term does not restrict by name
        allowed |= names
    if not allowed:
        return (), REASON_AFFINITY_CONFLICT
    return tuple(n for n in cluster.node_names if n in allowed), ""


def absent_reason(plugins: Sequence[str] = ("NodeAffinity",)) -> str:
    """The reason given to nodes a PreFilterResult excluded (Go's %v of a slice)."""
    return f"node(s) didn't satisfy plugin(s) [{' '.join(sorted(plugins))}]"


def feasible(cluster: Any, pod: Any, profile: Any, *, services: Iterable[Any] = (),
             namespace_labels: Mapping[str, Mapping[str, str]] | None = None) -> list[str]:
    """Names of the nodes that pass every filter, in cluster order."""
    candidates, message = prefilter(cluster, pod, profile)
    if message:
        return []
    names = cluster.node_names if candidates is None else candidates
    states = prefilter_states(cluster, pod, profile, services=services,
                              namespace_labels=namespace_labels)
    return [n for n in names if filter_status(cluster, pod, n, profile, states=states) is None]


def fit_error_message(cluster: Any, pod: Any, profile: Any, *, services: Iterable[Any] = (),
                      namespace_labels: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The ``0/N nodes are available: …`` text of §9, without a PostFilter message.

    Counts the reasons of every failing node (meant for pods no node fits).
    """
    n = len(cluster.node_names)
    msg = f"0/{n} nodes are available:"
    candidates, message = prefilter(cluster, pod, profile)
    if message:
        return f"{msg} {message}."
    names = cluster.node_names if candidates is None else candidates
    states = prefilter_states(cluster, pod, profile, services=services,
                              namespace_labels=namespace_labels)
    counts: dict[str, int] = {}
    for name in names:
        status = filter_status(cluster, pod, name, profile, states=states)
        if status is not None:
            for reason in status[2]:
                counts[reason] = counts.get(reason, 0) + 1
    if len(names) < n:
        reason = absent_reason()
        counts[reason] = counts.get(reason, 0) + n - len(names)
    # Byte-wise sort of "count reason": str order on these ASCII strings.
    parts = sorted(f"{count} {reason}" for reason, count in counts.items())
    if parts:
        msg += " " + ", ".join(parts) + "."
    return msg


# -- normalization (§5.1) ----------------------------------------------------------------

def default_normalize(scores: Sequence[int], reverse: bool = False,
                      max_priority: int = MAX_NODE_SCORE) -> list[int]:
    """DefaultNormalizeScore."""
    top = max([0, *scores])
    if top == 0:
        return [max_priority] * len(scores) if reverse else list(scores)
    out = []
    for s in scores:
        t = go_div(max_priority * s, top)
        out.append(max_priority - t if reverse else t)
    return out


# -- TaintToleration and NodeAffinity scores (§5.2, §5.3) ---------------------------------

def taint_toleration_raw(cluster: Any, pod: Any, node_name: str, comparison: bool = False) -> int:
    """PreferNoSchedule taints not tolerated by the pod's tolerations whose effect
    is empty or PreferNoSchedule (``comparison``: the Gt/Lt gate)."""
    soft = [t for t in pod.tolerations if t.effect in ("", "PreferNoSchedule")]
    return sum(1 for taint in cluster.node(node_name).taints
               if taint.effect == "PreferNoSchedule" and not tolerated(taint, soft, comparison))


def node_affinity_raw(cluster: Any, pod: Any, node_name: str, profile: Any) -> int:
    """Σ weights of matching preferred terms, the pod's and the scheduler's added ones."""
    labels = cluster.node(node_name).labels
    terms = []
    if pod.node_affinity is not None:
        terms.extend(pod.node_affinity.preferred)
    if profile.added_affinity is not None:
        terms.extend(profile.added_affinity.preferred)
    return sum(t.weight for t in terms
               if t.weight != 0 and term_matches(t.preference, labels, node_name))


# -- NodeResourcesFit and BalancedAllocation (§4) ------------------------------------------

def resource_amounts(cluster: Any, pod: Any, node_name: str, resources: Sequence[str],
                     real: bool) -> list[tuple[int, int] | None]:
    """Per configured resource, ``(allocatable a, requested-with-pod q)`` or None if
    skipped (§4): scalar resources the pod requests 0 of, and resources the node
    has none of. ``real`` (BalancedAllocation) uses real requests throughout;
    otherwise cpu and memory use the non-zero variant of §1.3.

    ``pods`` is always skipped: upstream keeps the pod count outside the scalar
    resource map these scores read, so a configured ``pods`` has allocatable 0.
    """
    info = cluster.node(node_name)
    used = node_requested(cluster, node_name)
    used_nonzero = node_nonzero_requested(cluster, node_name)
    out: list[tuple[int, int] | None] = []
    for resource in resources:
        if not real and resource in (CPU, MEMORY):
            p, u = pod.scoring_requests.get(resource, 0), used_nonzero[resource]
        else:
            p, u = pod.requests.get(resource, 0), used.get(resource, 0)
        a = 0 if resource == PODS else info.allocatable.get(resource, 0)
        if (is_scalar(resource) and p == 0) or a == 0:
            out.append(None)
        else:
            out.append((a, u + p))
    return out


def least_allocated(amounts: Sequence[tuple[int, int] | None], weights: Sequence[int]) -> int:
    """§4.1."""
    total = weight_sum = 0
    for item, w in zip(amounts, weights):
        if item is None:
            continue
        a, q = item
        s = 0 if q > a else go_div((a - q) * MAX_NODE_SCORE, a)
        total += s * w
        weight_sum += w
    return 0 if weight_sum == 0 else go_div(total, weight_sum)


def most_allocated(amounts: Sequence[tuple[int, int] | None], weights: Sequence[int]) -> int:
    """§4.2."""
    total = weight_sum = 0
    for item, w in zip(amounts, weights):
        if item is None:
            continue
        a, q = item
        s = go_div(min(q, a) * MAX_NODE_SCORE, a)
        total += s * w
        weight_sum += w
    return 0 if weight_sum == 0 else go_div(total, weight_sum)


def scaled_shape(shape: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """RequestedToCapacityRatio points with scores scaled from [0, 10] to [0, 100]."""
    factor = MAX_NODE_SCORE // MAX_CUSTOM_PRIORITY_SCORE
    return [(u, s * factor) for u, s in shape]


def broken_linear(shape: Sequence[tuple[int, int]], p: int) -> int:
    """The piecewise-linear function f of §4.3 over (already scaled) points."""
    for j, (u, s) in enumerate(shape):
        if p <= u:
            if j == 0:
                return s
            u0, s0 = shape[j - 1]
            return s0 + go_div((s - s0) * (p - u0), u - u0)
    return shape[-1][1]


def requested_to_capacity_ratio(amounts: Sequence[tuple[int, int] | None],
                                weights: Sequence[int],
                                shape: Sequence[tuple[int, int]]) -> int:
    """§4.3: only resources with a positive score count, float mean, rounded."""
    points = scaled_shape(shape)
    total = weight_sum = 0
    for item, w in zip(amounts, weights):
        if item is None:
            continue
        a, q = item
        util = MAX_NODE_SCORE if q > a else go_div(q * MAX_NODE_SCORE, a)
        r = broken_linear(points, util)
        if r > 0:
            total += r * w
            weight_sum += w
    return 0 if weight_sum == 0 else go_round(float(total) / float(weight_sum))


def balanced_allocation(amounts: Sequence[tuple[int, int] | None]) -> int:
    """§4.4 (≤ v1.35), float64 operations in Go's order."""
    fractions: list[float] = []
    total = 0.0
    for item in amounts:
        if item is None:
            continue
        a, q = item
        f = float(q) / float(a)
        if f > 1:
            f = 1.0
        total += f
        fractions.append(f)
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = total / float(len(fractions))
        acc = 0.0
        for f in fractions:
            acc = acc + (f - mean) * (f - mean)
        std = math.sqrt(acc / float(len(fractions)))
    return int((1 - std) * float(MAX_NODE_SCORE))


def fit_score(cluster: Any, pod: Any, node_name: str, profile: Any) -> int:
    """NodeResourcesFit's score with the profile's strategy."""
    args = profile.fit
    names = [r for r, _ in args.resources]
    weights = [w for _, w in args.resources]
    amounts = resource_amounts(cluster, pod, node_name, names, real=False)
    if args.strategy == "LeastAllocated":
        return least_allocated(amounts, weights)
    if args.strategy == "MostAllocated":
        return most_allocated(amounts, weights)
    if args.strategy == "RequestedToCapacityRatio":
        return requested_to_capacity_ratio(amounts, weights, args.shape)
    raise ValueError(f"unknown scoring strategy {args.strategy!r}")


def balanced_skipped(pod: Any, profile: Any) -> bool:
    """BalancedAllocation's PreScore Skip: the pod requests 0 of every configured resource."""
    return all(pod.requests.get(r, 0) == 0 for r, _ in profile.balanced_resources)


def balanced_score(cluster: Any, pod: Any, node_name: str, profile: Any) -> int:
    names = [r for r, _ in profile.balanced_resources]
    return balanced_allocation(resource_amounts(cluster, pod, node_name, names, real=True))


# -- ImageLocality (§5.6) ------------------------------------------------------------------

def image_locality(cluster: Any, pod: Any, node_name: str) -> int:
    total_nodes = len(cluster.node_names)
    total = 0
    containers = (*pod.init_containers, *pod.containers)
    for container in containers:
        holders = cluster.image_nodes(normalize_image(container.image)) \
            if container.image else {}
        if node_name in holders:
            spread = float(len(holders)) / float(total_nodes)
            total += int(float(holders[node_name]) * spread)
    max_threshold = IMAGE_MAX_CONTAINER_THRESHOLD * len(containers)
    if total < IMAGE_MIN_THRESHOLD:
        total = IMAGE_MIN_THRESHOLD
    elif total > max_threshold:
        total = max_threshold
    return go_div(MAX_NODE_SCORE * (total - IMAGE_MIN_THRESHOLD),
                  max_threshold - IMAGE_MIN_THRESHOLD)


# -- combining (§7) ------------------------------------------------------------------------

def score_plugins(cluster: Any, pod: Any, profile: Any, nodes: Sequence[str], *,
                  services: Iterable[Any] = (),
                  namespace_labels: Mapping[str, Mapping[str, str]] | None = None
                  ) -> dict[str, list[int]]:
    """Normalized, unweighted scores of each score plugin, aligned with ``nodes``
    (the feasible nodes: PodTopologySpread's domain sizes are taken over them)."""
    out: dict[str, list[int]] = {}
    for plugin, _ in profile.scores:
        if plugin == "TaintToleration":
            raw = [taint_toleration_raw(cluster, pod, n, comparison_gate(profile)) for n in nodes]
            scores = default_normalize(raw, reverse=True)
        elif plugin == "NodeAffinity":
            raw = [node_affinity_raw(cluster, pod, n, profile) for n in nodes]
            scores = default_normalize(raw)
        elif plugin == "NodeResourcesFit":
            scores = [fit_score(cluster, pod, n, profile) for n in nodes]
        elif plugin == "NodeResourcesBalancedAllocation":
            if balanced_skipped(pod, profile):
                scores = [0] * len(nodes)
            else:
                scores = [balanced_score(cluster, pod, n, profile) for n in nodes]
        elif plugin == "ImageLocality":
            scores = [image_locality(cluster, pod, n) for n in nodes]
        elif plugin == "PodTopologySpread":
            scores = spread_scores(cluster, pod, profile, nodes, services)
        elif plugin == "InterPodAffinity":
            scores = interpod_scores(cluster, pod, profile, nodes, namespace_labels)
        else:
            raise ValueError(f"unknown score plugin {plugin!r}")
        if any(not 0 <= s <= MAX_NODE_SCORE for s in scores):
            raise AssertionError(f"{plugin} scored outside [0, 100]: {scores}")
        out[plugin] = scores
    return out


def total_scores(cluster: Any, pod: Any, profile: Any, nodes: Sequence[str], *,
                 services: Iterable[Any] = (),
                 namespace_labels: Mapping[str, Mapping[str, str]] | None = None
                 ) -> list[int]:
    """Σ weight × score per node; every node totals 1 when there is no score plugin."""
    if not profile.scores:
        return [1] * len(nodes)
    per_plugin = score_plugins(cluster, pod, profile, nodes, services=services,
                               namespace_labels=namespace_labels)
    weights = dict(profile.scores)
    return [sum(weights[p] * per_plugin[p][i] for p in per_plugin) for i in range(len(nodes))]


def select(nodes: Sequence[str], totals: Sequence[int], tie_break: str = "first",
           rng: Any = None) -> str | None:
    """The node with the largest total; ties go to the lowest position ("first")
    or to ``ties[rng.randrange(k)]`` ("random", called only when k > 1)."""
    if not nodes:
        return None
    best = max(totals)
    ties = [i for i, t in enumerate(totals) if t == best]
    if tie_break == "first" or len(ties) == 1:
        return nodes[ties[0]]
    if tie_break == "random":
        return nodes[ties[rng.randrange(len(ties))]]
    raise ValueError(f"tie_break must be 'first' or 'random', got {tie_break!r}")


def num_nodes_to_find(n: int, percentage: int | None) -> int:
    """§8 numToFind; ``percentage`` 0 or None is adaptive."""
    if n < MIN_FEASIBLE_NODES_TO_FIND:
        return n
    pct = percentage or 0
    if pct == 0:
        pct = max(BASE_PERCENTAGE_OF_NODES_TO_SCORE - n // 125, MIN_FEASIBLE_NODES_PERCENTAGE)
    return max(n * pct // 100, MIN_FEASIBLE_NODES_TO_FIND)


def _choose(cluster: Any, pod: Any, profile: Any, nodes: Sequence[str], tie_break: str,
            rng: Any, services: Iterable[Any] = (),
            namespace_labels: Mapping[str, Mapping[str, str]] | None = None) -> str | None:
    if not nodes:
        return None
    if len(nodes) == 1:                # §7.1: no scoring at all
        return nodes[0]
    totals = total_scores(cluster, pod, profile, nodes, services=services,
                          namespace_labels=namespace_labels)
    return select(nodes, totals, tie_break, rng)


def schedule(cluster: Any, pod: Any, profile: Any, tie_break: str = "first",
             rng: Any = None, *, services: Iterable[Any] = (),
             namespace_labels: Mapping[str, Mapping[str, str]] | None = None) -> str | None:
    """Filter every node, score, select, bind; the node name, or None (nothing bound)."""
    nodes = feasible(cluster, pod, profile, services=services, namespace_labels=namespace_labels)
    chosen = _choose(cluster, pod, profile, nodes, tie_break, rng, services, namespace_labels)
    if chosen is not None:
        # The scheduler assumes its choice: a profile without NodeResourcesFit may
        # overcommit, hence force.
        cluster.bind(pod, chosen, force=True)
    return chosen


def schedule_all(cluster: Any, pods: Iterable[Any], profile: Any, tie_break: str = "first",
                 rng: Any = None, *, services: Iterable[Any] = (),
                 namespace_labels: Mapping[str, Mapping[str, str]] | None = None
                 ) -> list[str | None]:
    """``schedule`` each pod in turn (earlier placements count for later pods)."""
    return [schedule(cluster, pod, profile, tie_break, rng, services=services,
                     namespace_labels=namespace_labels) for pod in pods]


def schedule_sampled(cluster: Any, pod: Any, profile: Any, start: int,
                     tie_break: str = "first", rng: Any = None, *,
                     services: Iterable[Any] = (),
                     namespace_labels: Mapping[str, Mapping[str, str]] | None = None
                     ) -> tuple[str | None, int]:
    """One cycle with percentageOfNodesToScore (§8): ``(node or None, next start)``.

    Candidates (all nodes, or the PreFilter's nodes in cluster order) are visited
    from ``start``, round robin, one at a time, until numToFind feasible nodes are
    found; the next start advances by the number of nodes visited. Ties among the
    feasible nodes go by visiting order. A PreFilter rejection leaves the start.
    """
    all_nodes = cluster.node_names
    if not all_nodes:
        return None, start
    candidates, message = prefilter(cluster, pod, profile)
    if message:
        return None, start
    nodes = all_nodes if candidates is None else candidates
    n = len(nodes)
    to_find = num_nodes_to_find(n, profile.percentage_of_nodes_to_score)
    if not profile.scores:
        to_find = 1
    found: list[str] = []
    visited = 0
    # PreFilter states are computed over the whole cluster, before the sampled scan.
    states = prefilter_states(cluster, pod, profile, services=services,
                              namespace_labels=namespace_labels)
    if n and not profile.filters:
        found = [nodes[(start + i) % n] for i in range(to_find)]
        visited = to_find
    else:
        for i in range(n):
            name = nodes[(start + i) % n]
            visited += 1
            if filter_status(cluster, pod, name, profile, states=states) is None:
                found.append(name)
                if len(found) == to_find:
                    break
    next_start = (start + visited) % len(all_nodes)
    chosen = _choose(cluster, pod, profile, found, tie_break, rng, services, namespace_labels)
    if chosen is not None:
        cluster.bind(pod, chosen, force=True)
    return chosen, next_start
