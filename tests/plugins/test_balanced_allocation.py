"""NodeResourcesBalancedAllocation: spec/kube-scheduler.md §4.4 (score).

The plugin is fastsched/plugins/balanced_allocation.py. These cases check the plain reference
scheduler (tests/_reference.py); tests/test_scheduler.py runs their tables through
the kernels. Case labels (such as LA-02) are those of the spec; where the spec only
states a rule, the example is built here and computed by hand in a comment.
"""

import _reference as ref
import pytest
from _helpers import existing, make_cluster, only

from fastsched import Pod

BALANCED_CASES = [
    # BA-02: cpu 3000/4000 = .75, memory 5000/10000 = .5 → std .125 → trunc(87.5) = 87.
    ("BA-02", (("cpu", 1), ("memory", 1)), {"cpu": 4000, "memory": 10000},
     {"cpu": 3000, "memory": 5000}, 87),
    # Real requests, no defaults: cpu .25, memory 0 → std .125 → 87.
    ("BA real requests", (("cpu", 1), ("memory", 1)), {"cpu": 4000, "memory": 10000},
     {"cpu": 1000}, 87),
    # Fractions cap at 1: cpu 1.0 (5000 of 4000), memory .5 → std .25 → 75.
    ("BA capped", (("cpu", 1), ("memory", 1)), {"cpu": 4000, "memory": 10000},
     {"cpu": 5000, "memory": 5000}, 75),
    # One resource left (the node has no memory) → std 0 → 100.
    ("BA one resource", (("cpu", 1), ("memory", 1)), {"cpu": 4000, "memory": 0},
     {"cpu": 3000, "memory": 5000}, 100),
    # Three resources: .5, .5, 1.0; mean 2/3; Σ(d²) = 1/36 + 1/36 + 4/36 = 1/6;
    # std = sqrt(1/18) = .2357 → trunc(76.43) = 76.
    ("BA three", (("cpu", 1), ("memory", 1), ("nvidia.com/gpu", 1)),
     {"cpu": 4000, "memory": 10000, "nvidia.com/gpu": 2},
     {"cpu": 2000, "memory": 5000, "nvidia.com/gpu": 2}, 76),
    # An unrequested scalar resource is skipped: back to BA-02's two fractions.
    ("BA scalar unrequested", (("cpu", 1), ("memory", 1), ("nvidia.com/gpu", 1)),
     {"cpu": 4000, "memory": 10000, "nvidia.com/gpu": 2}, {"cpu": 3000, "memory": 5000}, 87),
    # BA-01: the pod requests 0 of every configured resource → PreScore Skip → 0.
    ("BA-01 skip", (("cpu", 1), ("memory", 1)), {"cpu": 4000, "memory": 10000}, {}, 0),
]


@pytest.mark.parametrize("resources, alloc, wanted, expected",
                         [c[1:] for c in BALANCED_CASES], ids=[c[0] for c in BALANCED_CASES])
def test_balanced_allocation(resources, alloc, wanted, expected):
    c = make_cluster(("n1", alloc))
    profile = only("NodeResourcesBalancedAllocation", balanced_resources=resources)
    scores = ref.score_plugins(c, Pod("p", requests=wanted), profile, ["n1"])
    assert scores == {"NodeResourcesBalancedAllocation": [expected]}


def test_balanced_allocation_counts_existing_pods():
    # Existing 1000m/1000 + pod 2000m/4000 on 4000m/10000: .75 and .5 → 87.
    c = make_cluster(("n1", {"cpu": 4000, "memory": 10000}),
                     pods=[("n1", existing(0, requests={"cpu": 1000, "memory": 1000}))])
    profile = only("NodeResourcesBalancedAllocation")
    pod = Pod("p", requests={"cpu": 2000, "memory": 4000})
    assert ref.score_plugins(c, pod, profile, ["n1"]) == {"NodeResourcesBalancedAllocation": [87]}
