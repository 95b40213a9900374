"""NodeResourcesFit: spec/kube-scheduler.md §3.7 (filter) and §4.1–4.3 (the
LeastAllocated, MostAllocated and RequestedToCapacityRatio scores, on the non-zero
requests of §1.3).

The plugin is fastsched/plugins/noderesources_fit.py. These cases check the plain reference
scheduler (tests/_reference.py); tests/test_scheduler.py runs their tables through
the kernels. Case labels (such as LA-02) are those of the spec; where the spec only
states a rule, the example is built here and computed by hand in a comment.
"""

import _reference as ref
import pytest
from _helpers import FALLING, LA, MA, MI, RISING, existing, make_cluster, only

from fastsched import Pod, Scheduler, ValidationError
from fastsched.profile.profile import FitArgs, Profile

# -- filter (§3.7) -------------------------------------------------------------------------

FIT_FILTER_CASES = [
    # (allocatable, existing pod requests, pod request, reasons, status code)
    ("fits", {"cpu": 4000, "memory": 10000}, [{"cpu": 1000}], {"cpu": 3000}, (), None),
    ("cpu", {"cpu": 4000, "memory": 10000}, [{"cpu": 2000}], {"cpu": 3000},
     ("Insufficient cpu",), ref.UNSCHEDULABLE),
    # The pod alone exceeds the node → unresolvable.
    ("cpu alone", {"cpu": 4000, "memory": 10000}, [], {"cpu": 5000},
     ("Insufficient cpu",), ref.UNRESOLVABLE),
    ("cpu and memory", {"cpu": 4000, "memory": 10000}, [{"cpu": 2000, "memory": 8000}],
     {"cpu": 3000, "memory": 3000}, ("Insufficient cpu", "Insufficient memory"),
     ref.UNSCHEDULABLE),
    # Order: pods, cpu, memory, ephemeral-storage, then scalar resources by name.
    ("order", {"cpu": 1000, "memory": 1000, "ephemeral-storage": 1000, "pods": 1,
               "b.example/x": 1, "a.example/y": 1, "hugepages-2Mi": 1}, [{}],
     {"a.example/y": 2, "b.example/x": 2, "hugepages-2Mi": 2, "ephemeral-storage": 2000,
      "memory": 2000, "cpu": 2000},
     ("Too many pods", "Insufficient cpu", "Insufficient memory", "Insufficient ephemeral-storage",
      "Insufficient a.example/y", "Insufficient b.example/x", "Insufficient hugepages-2Mi"),
     ref.UNRESOLVABLE),
    # FIT-FILTER-01/43: a pod requesting nothing needs only a pod slot.
    ("empty pod", {"cpu": 0, "pods": 1}, [], {}, (), None),
    ("too many pods", {"cpu": 4000, "pods": 1}, [{}], {}, ("Too many pods",), ref.UNSCHEDULABLE),
    # An explicit 0 is not checked.
    ("zero request", {"cpu": 0}, [], {"cpu": 0, "memory": 0}, (), None),
    # A resource the node (and cluster) does not offer has allocatable 0.
    ("missing resource", {"cpu": 4000}, [], {"vendor.example/fpga": 1},
     ("Insufficient vendor.example/fpga",), ref.UNRESOLVABLE),
]


@pytest.mark.parametrize("alloc, others, wanted, reasons, code",
                         [c[1:] for c in FIT_FILTER_CASES], ids=[c[0] for c in FIT_FILTER_CASES])
def test_fit_filter(alloc, others, wanted, reasons, code):
    c = make_cluster(("n1", alloc), pods=[("n1", existing(i, requests=r))
                                          for i, r in enumerate(others)])
    status = ref.filter_status(c, Pod("p", requests=wanted), "n1", Profile())
    if code is None:
        assert status is None
    else:
        assert status == ("NodeResourcesFit", code, reasons)


IGNORED_CASES = [
    # FIT-FILTER-30: an ignored extended resource is not checked.
    (FitArgs(ignored_resources={"example.com/foo"}), "example.com/foo", ()),
    # FIT-FILTER-33: ignored by its group (the prefix before '/').
    (FitArgs(ignored_resource_groups={"example.com"}), "example.com/foo", ()),
    (FitArgs(ignored_resource_groups={"example.org"}), "example.com/foo",
     ("Insufficient example.com/foo",)),
    # Only extended resources can be ignored: kubernetes.io names and hugepages cannot.
    (FitArgs(ignored_resources={"kubernetes.io/foo"}), "kubernetes.io/foo",
     ("Insufficient kubernetes.io/foo",)),
    (FitArgs(ignored_resource_groups={"node.kubernetes.io"}), "node.kubernetes.io/foo",
     ("Insufficient node.kubernetes.io/foo",)),
    (FitArgs(ignored_resources={"hugepages-2Mi"}), "hugepages-2Mi",
     ("Insufficient hugepages-2Mi",)),
]


@pytest.mark.parametrize("args, resource, expected", IGNORED_CASES)
def test_fit_filter_ignored_resources(args, resource, expected):
    c = make_cluster(("n1", {"cpu": 4000}))
    pod = Pod("p", requests={resource: 1})
    assert ref.filter_node(c, pod, "n1", Profile(fit=args)) == expected


# -- NodeResourcesFit scores (§4.1–4.3) ----------------------------------------------------

# LA, MA, RISING and FALLING are in _helpers (whole runs use them too).
LA_MEM2 = FitArgs(resources=(("memory", 2), ("cpu", 1)))
LA_GPU_ONLY = FitArgs(resources=(("example.com/foo", 1),))
MA_GPU = FitArgs(strategy="MostAllocated",
                 resources=(("cpu", 1), ("memory", 1), ("nvidia.com/gpu", 2)))
RISING_35 = FitArgs(strategy="RequestedToCapacityRatio", shape=((0, 0), (100, 10)),
                    resources=(("cpu", 3), ("memory", 5)))

FIT_SCORE_CASES = [
    # LA-02 node1: cpu (4000-3000)*100/4000 = 25, memory (10000-5000)*100/10000 = 50,
    # (25+50)/2 = 37.
    ("LA-02 node1", LA, {"cpu": 4000, "memory": 10000}, [], {"cpu": 3000, "memory": 5000}, 37),
    # LA-02 node2: cpu 3000/6000 → 50, memory → 50.
    ("LA-02 node2", LA, {"cpu": 6000, "memory": 10000}, [], {"cpu": 3000, "memory": 5000}, 50),
    # LA-10: memory weight 2, cpu weight 1: (50·2 + 25·1) / 3 = 41.
    ("LA-10", LA_MEM2, {"cpu": 4000, "memory": 10000}, [], {"cpu": 3000, "memory": 5000}, 41),
    # LA-09: the node has neither resource: both skipped → 0.
    ("LA-09 no allocatable", LA, {"cpu": 0, "memory": 0}, [], {"cpu": 3000, "memory": 5000}, 0),
    # LA-14/16 style: a scalar resource the pod does not request is skipped → all skipped → 0.
    ("LA scalar unrequested", LA_GPU_ONLY, {"cpu": 4000, "memory": 10000, "example.com/foo": 4},
     [], {"cpu": 3000, "memory": 5000}, 0),
    # Over-commit: cpu 5000 > 4000 → 0, memory 50 → 25.
    ("LA overcommit", LA, {"cpu": 4000, "memory": 10000}, [], {"cpu": 5000, "memory": 5000}, 25),
    # LA-01: a pod with no containers requests 0/0 → 100 on an empty node.
    ("LA-01 no containers", LA, {"cpu": 4000, "memory": 10000}, [], None, 100),
    # LA-05/08: explicit memory 0 stays 0 → memory 100; cpu 3000/4000 used → 75; 87.
    ("LA-05 explicit zero", LA, {"cpu": 4000, "memory": 10000}, [],
     {"cpu": 1000, "memory": 0}, 87),
    # §1.3: the container does not mention memory → 200Mi of 1000Mi → 80; cpu 75;
    # (75+80)/2 = 77.
    ("LA default memory", LA, {"cpu": 4000, "memory": 1000 * MI}, [], {"cpu": 1000}, 77),
    # Existing pods count (non-zero variant): 2000 + 1000 cpu of 4000 → 25; 6000 of 10000 → 40.
    ("LA existing pods", LA, {"cpu": 4000, "memory": 10000}, [{"cpu": 2000, "memory": 1000}],
     {"cpu": 1000, "memory": 5000}, 32),
    # MA-06: cpu 3000+2000 of 5000 → 100, memory 5000+4000 of 10000 → 90; 95.
    ("MA-06", MA, {"cpu": 5000, "memory": 10000}, [{"cpu": 3000, "memory": 5000}],
     {"cpu": 2000, "memory": 4000}, 95),
    # MA-08: two empty pods use 200m/400Mi; the empty incoming pod adds 100m/200Mi:
    # cpu 300m of 250m clamps to 100, memory 600Mi of 1000Mi → 60; (100+60)/2 = 80.
    ("MA-08 clamp", MA, {"cpu": 250, "memory": 1000 * MI}, [{}, {}], {}, 80),
    # MA with a requested extended resource of weight 2: cpu 50, memory 50, gpu 1/4 → 25:
    # (50 + 50 + 25·2) / 4 = 37.
    ("MA extended", MA_GPU, {"cpu": 4000, "memory": 10000, "nvidia.com/gpu": 4}, [],
     {"cpu": 2000, "memory": 5000, "nvidia.com/gpu": 1}, 37),
    # RTCR-02 rounding: shape 0→0, 100→10 (scaled ×10: f(p) = p); cpu util 25, memory 50:
    # 75/2 = 37.5 → 38.
    ("RTCR-02 37.5", RISING, {"cpu": 4000, "memory": 10000}, [], {"cpu": 1000, "memory": 5000}, 38),
    # RTCR-09 style: utils 2 (w3) and 5 (w5): 31/8 = 3.875 → 4.
    ("RTCR-09 31/8", RISING_35, {"cpu": 100, "memory": 100}, [], {"cpu": 2, "memory": 5}, 4),
    # RTCR-10 style: utils 5 (w3) and 8 (w5): 55/8 = 6.875 → 7.
    ("RTCR-10 55/8", RISING_35, {"cpu": 100, "memory": 100}, [], {"cpu": 5, "memory": 8}, 7),
    # RTCR-12: shape 0→10, 100→0. cpu over-committed → util 100 → 0, excluded from the
    # weights; memory util 90 → 100 − 90 = 10; score 10 (not 5).
    ("RTCR-12", FALLING, {"cpu": 4000, "memory": 10000}, [], {"cpu": 5000, "memory": 9000}, 10),
    # Every resource scores 0 → 0.
    ("RTCR all zero", RISING, {"cpu": 4000, "memory": 10000}, [], None, 0),
]


@pytest.mark.parametrize("args, alloc, others, wanted, expected",
                         [c[1:] for c in FIT_SCORE_CASES], ids=[c[0] for c in FIT_SCORE_CASES])
def test_fit_scores(args, alloc, others, wanted, expected):
    c = make_cluster(("n1", alloc), pods=[("n1", existing(i, requests=r))
                                          for i, r in enumerate(others)])
    pod = Pod("p") if wanted is None else Pod("p", requests=wanted)
    profile = only("NodeResourcesFit", fit=args)
    assert ref.score_plugins(c, pod, profile, ["n1"]) == {"NodeResourcesFit": [expected]}


BROKEN_LINEAR_CASES = [
    # BROKENLINEAR-01 style: points (10,10), (90,90) after scaling.
    ([(10, 10), (90, 90)], [(0, 10), (10, 10), (15, 15), (50, 50), (90, 90), (100, 90)]),
    # Falling slope truncates toward zero: 10 + (−10·10)/30 = 10 − 3 = 7 (floor would say 6).
    ([(0, 10), (30, 0)], [(0, 10), (10, 7), (30, 0), (31, 0)]),
    # Three points: (0,0), (50,100), (100,0).
    ([(0, 0), (50, 100), (100, 0)], [(25, 50), (50, 100), (75, 50), (99, 2)]),
]


@pytest.mark.parametrize("shape, points", BROKEN_LINEAR_CASES)
def test_broken_linear(shape, points):
    assert [(p, ref.broken_linear(shape, p)) for p, _ in points] == points


def test_shape_scores_are_scaled_by_ten():
    assert ref.scaled_shape([(0, 0), (50, 7), (100, 10)]) == [(0, 0), (50, 70), (100, 100)]


# upstream: TestLeastAllocatedScoringStrategy and TestMostAllocatedScoringStrategy "Resources
# not set, pods scheduled with error": the plugin is built, but Score returns an Error status
# ("resources not found") on every node. fastsched refuses such a profile when it is built.
@pytest.mark.parametrize("strategy, shape", [("LeastAllocated", ()), ("MostAllocated", ()),
                                             ("RequestedToCapacityRatio", ((0, 0), (100, 10)))])
def test_scoring_without_resources_is_an_error(strategy, shape):
    fit = FitArgs(strategy=strategy, resources=(), shape=shape)
    with pytest.raises(ValidationError, match="resources not found") as info:
        Profile(fit=fit)
    assert info.value.field == "scoringStrategy.resources"
    # The filter alone never scores: without the score plugin the profile is fine.
    others = tuple((n, w) for n, w in Profile().scores if n != "NodeResourcesFit")
    assert Profile(fit=fit, scores=others).weight("NodeResourcesFit") == 0


# -- pod-level resources (§1.2, PodLevelResources on) ---------------------------------------

HUGE = "hugepages-2Mi"
# upstream: TestEnoughRequests's node, makeAllocatableResources(10, 20, 32, 5, 20, 5): 10m cpu,
# 20 bytes of memory, 32 pods, 5 of an extended resource, 20 ephemeral-storage, 5 hugepages.
ENOUGH_NODE = {"cpu": 10, "memory": 20, "pods": 32, "example.com/aaa": 5,
               "ephemeral-storage": 20, HUGE: 5}
POD_LEVEL_FIT_CASES = [
    # (upstream TestEnoughRequests case name, containers' requests, init containers' requests,
    #  pod-level requests, the existing pod's requests, reasons, code)
    ("both pod-level and container-level resources fit", [{"cpu": 1, "memory": 1}], [],
     {"cpu": "1m", "memory": "2"}, {"cpu": 5, "memory": 5}, (), None),
    ("pod-level cpu resource not fit", [{"cpu": 1, "memory": 1}], [],
     {"cpu": "7m", "memory": "2"}, {"cpu": 5, "memory": 5}, ("Insufficient cpu",),
     ref.UNSCHEDULABLE),
    ("pod-level memory resource not fit", [{"cpu": 1, "memory": 1}], [],
     {"cpu": "3m", "memory": "2"}, {"cpu": 5, "memory": 19}, ("Insufficient memory",),
     ref.UNSCHEDULABLE),
    ("pod-level hugepages resource fit", [{}], [], {"cpu": "3m", "memory": "2", HUGE: 5},
     None, (), None),
    ("both pod-level and container-level hugepages resource fit",
     [{"cpu": 1, "memory": 1, HUGE: 3}], [], {"cpu": "3m", "memory": "2", HUGE: 5}, None, (),
     None),
    ("pod-level hugepages resource not fit", [{}], [], {"cpu": "3m", "memory": "2", HUGE: 10},
     None, (f"Insufficient {HUGE}",), ref.UNRESOLVABLE),
    ("one pod-level cpu resource fits and all init and non-init containers resources fit",
     [{"cpu": 1, "memory": 1}], [{"cpu": 1, "memory": 1}], {"cpu": "3m", "memory": "2"},
     {"cpu": 5, "memory": 19}, ("Insufficient memory",), ref.UNSCHEDULABLE),
]


@pytest.mark.parametrize("containers, init, pod_level, other, reasons, code",
                         [c[1:] for c in POD_LEVEL_FIT_CASES],
                         ids=[c[0] for c in POD_LEVEL_FIT_CASES])
def test_fit_filter_pod_level_requests(containers, init, pod_level, other, reasons, code):
    # upstream: TestEnoughRequests, the podLevelResourcesEnabled cases.
    pods = [] if other is None else [("n1", existing(0, requests=other))]
    c = make_cluster(("n1", ENOUGH_NODE), pods=pods)
    pod = Pod("p", containers=[{"requests": r} for r in containers],
              init_containers=[{"requests": r} for r in init], pod_requests=pod_level)
    status = ref.filter_status(c, pod, "n1", Profile())
    assert status == (None if code is None else ("NodeResourcesFit", code, reasons))
    assert Scheduler(c, Profile()).filter(pod).reasons("n1") == reasons


def kernel_scores(cluster, pod, profile):
    result = Scheduler(cluster, profile).score(pod)
    return {name: [int(v) for v in values] for name, values in result.plugins.items()}


def test_pod_level_requests_drive_the_scores():
    # calculatePodResourceRequest: PodRequests with the 100m / 200Mi container defaults, then
    # the pod-level requests replace cpu and memory. Pod-level cpu 3000m of 4000m → 25 left;
    # memory is the container's default 200Mi of 1000Mi → 80; (25 + 80) / 2 = 52.
    c = make_cluster(("n1", {"cpu": 4000, "memory": 1000 * MI}))
    pod = Pod("p", containers=[{}], pod_requests={"cpu": "3"})
    assert pod.scoring_requests == {"cpu": 3000, "memory": 200 * MI}
    profile = only("NodeResourcesFit", fit=LA)
    assert ref.score_plugins(c, pod, profile, ["n1"]) == {"NodeResourcesFit": [52]}
    assert kernel_scores(c, pod, profile) == {"NodeResourcesFit": [52]}
