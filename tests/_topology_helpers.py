"""Builders shared by the topology plugins' reference tests
(tests/plugins/test_pod_topology_spread.py, tests/plugins/test_inter_pod_affinity.py)
and the framework tests of tests/test_reference_topology.py (FitError, totals, whole
runs).

Profiles here are stand-ins (``SimpleNamespace``): the reference only reads attributes.
"""

from types import SimpleNamespace

import _reference as ref

from fastsched import Cluster, Pod
from fastsched.model.labels import LabelSelector
from fastsched.model.pod import (
    PodAffinity,
    PodAffinityTerm,
    TopologySpreadConstraint,
    WeightedPodAffinityTerm,
)
from fastsched.profile.profile import FitArgs

SPREAD, AFFINITY = "PodTopologySpread", "InterPodAffinity"
HOST, ZONE = "kubernetes.io/hostname", "topology.kubernetes.io/zone"

OK = None
SKEW = (ref.UNSCHEDULABLE, ref.REASON_SPREAD)
NO_LABEL = (ref.UNRESOLVABLE, ref.REASON_SPREAD_MISSING_LABEL)
NO_AFFINITY = (ref.UNRESOLVABLE, ref.REASON_POD_AFFINITY)
ANTI = (ref.UNSCHEDULABLE, ref.REASON_POD_ANTI_AFFINITY)
EXISTING_ANTI = (ref.UNSCHEDULABLE, ref.REASON_EXISTING_ANTI_AFFINITY)


def profile(filters=(), scores=(), **args):
    """A stand-in profile with the attributes the reference reads."""
    base = dict(filters=tuple(filters), scores=tuple(scores), fit=FitArgs(),
                balanced_resources=(("cpu", 1), ("memory", 1)), added_affinity=None,
                percentage_of_nodes_to_score=None, hard_pod_affinity_weight=1,
                ignore_preferred_terms_of_existing_pods=False, spread_defaulting="System",
                default_spread_constraints=(),
                feature_gates=(("TaintTolerationComparisonOperators", False),))
    base.update(args)
    return SimpleNamespace(**base)


def cluster(nodes, running=()):
    """``nodes``: (name, labels[, add_node keywords]); ``running``: (node, labels[, Pod
    keywords]) bound as pods e0, e1, … (force: resources do not matter here)."""
    c = Cluster()
    for name, labels, *extra in nodes:
        c.add_node(name, {"cpu": 4000, "memory": 8 << 30}, labels=labels,
                   **(extra[0] if extra else {}))
    for i, (node, labels, *extra) in enumerate(running):
        c.bind(Pod(f"e{i}", labels=labels, **(extra[0] if extra else {})), node, force=True)
    return c


def sel(**labels):
    return LabelSelector(match_labels=labels)


def spread(max_skew=1, key="zone", when="DoNotSchedule", selector=None, **kw):
    """A constraint; selector app=web unless given (``{}`` for an empty one, ``"none"``
    for a missing one)."""
    if selector is None:
        selector = sel(app="web")
    elif selector == "none":
        selector = None
    elif isinstance(selector, dict):
        selector = sel(**selector)
    return TopologySpreadConstraint(max_skew, key, when, selector, **kw)


def term(key, **labels):
    """A pod affinity term on ``key`` selecting ``labels`` (keywords namespaces=,
    namespace_selector=, match_label_keys=, mismatch_label_keys= pass through)."""
    options = {k: labels.pop(k) for k in ("namespaces", "namespace_selector",
                                          "match_label_keys", "mismatch_label_keys")
               if k in labels}
    return PodAffinityTerm(key, sel(**labels), **options)


def required(*terms):
    return PodAffinity(required=terms)


def preferred(*weighted):
    return PodAffinity(preferred=tuple(WeightedPodAffinityTerm(w, t) for w, t in weighted))


def statuses(c, pod, prof, **kw):
    """node → (code, first reason) or None, for every node."""
    out = {}
    for name in c.node_names:
        status = ref.filter_status(c, pod, name, prof, **kw)
        out[name] = None if status is None else (status[1], status[2][0])
    return out


# Four nodes in three zones (label "zone"); hostname labels come from add_node.
ZONED = [("a1", {"zone": "a"}), ("a2", {"zone": "a"}), ("b1", {"zone": "b"}),
         ("c1", {"zone": "c"})]
WEB = {"app": "web"}


# -- PodTopologySpread scores (§5.4) --------------------------------------------------

def soft(max_skew=1, key="zone", **kw):
    """A ScheduleAnyway constraint (scored, never filtered)."""
    return spread(max_skew, key, "ScheduleAnyway", **kw)


# Pods: a1 2 web, a2 1, b1 1, c1 0 → zone counts a 3, b 1, c 0.
SCORED = [("a1", WEB), ("a1", WEB), ("a2", WEB), ("b1", WEB)]

# System defaults: hostname maxSkew 3 and topology.kubernetes.io/zone maxSkew 5.
SYS_NODES = [("a1", {ZONE: "a"}), ("a2", {ZONE: "a"}), ("b1", {ZONE: "b"})]


# -- InterPodAffinity (§3.9, §5.5) ----------------------------------------------------

DB = {"app": "db"}
CACHE = {"app": "cache"}
# A preferred affinity (weight 10) to db pods in the same zone.
PREFERS_DB_ZONE = preferred((10, term("zone", app="db")))
