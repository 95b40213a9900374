"""Pods: effective requests (spec §1.2, §1.3), dict/dataclass equivalence, validation."""

import dataclasses

import pytest

from fastsched import (
    Container,
    NodeAffinity,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Pod,
    PodAffinity,
    PodAffinityTerm,
    Toleration,
    TopologySpreadConstraint,
    ValidationError,
)

MI = 1 << 20
GI = 1 << 30


def C(cpu=None, memory=None, restart=None, **extra):
    req = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None} | extra
    return {"resources": {"requests": req}, **({"restartPolicy": restart} if restart else {})}


# (containers, init containers, overhead, expected requests, expected scoring cpu/memory)
EFFECTIVE = [
    pytest.param([], [], {}, {}, {}, id="no-containers-request-nothing"),
    pytest.param([{}], [], {}, {}, {"cpu": 100, "memory": 200 * MI}, id="empty-container-defaults"),
    pytest.param([C("0", "0")], [], {}, {"cpu": 0, "memory": 0}, {"cpu": 0, "memory": 0},
                 id="explicit-zero-stays-zero"),
    pytest.param([C("100m", "1Gi"), C("200m")], [], {}, {"cpu": 300, "memory": GI},
                 {"cpu": 300, "memory": GI + 200 * MI}, id="containers-sum"),
    pytest.param([C("100m", "1Gi"), C("200m")], [C("500m")], {}, {"cpu": 500, "memory": GI},
                 {"cpu": 500, "memory": GI + 200 * MI}, id="init-peak-wins"),
    pytest.param([C("200m")], [C("100m", restart="Always"), C("300m")], {},
                 {"cpu": 400}, {"cpu": 400, "memory": 400 * MI},
                 id="sidecar-runs-beside-later-init"),
    pytest.param([C("200m")], [C("500m"), C("100m", restart="Always")], {},
                 {"cpu": 500}, {"cpu": 500, "memory": 400 * MI},
                 id="sidecar-declared-after-init"),
    pytest.param([C("200m")], [C("100m", restart="Always")], {}, {"cpu": 300},
                 {"cpu": 300, "memory": 400 * MI}, id="sidecar-adds-to-run"),
    pytest.param([C("1", "1Gi")], [C("2")], {"cpu": "250m", "memory": "64Mi"},
                 {"cpu": 2250, "memory": GI + 64 * MI},
                 {"cpu": 2250, "memory": GI + 64 * MI}, id="overhead-after-max"),
    pytest.param([C("1", **{"nvidia.com/gpu": "2"})], [C(**{"nvidia.com/gpu": "3"})], {},
                 {"cpu": 1000, "nvidia.com/gpu": 3}, {"cpu": 1000, "memory": 200 * MI},
                 id="extended-resources-no-defaults"),
]


@pytest.mark.parametrize("containers,init,overhead,expected,scoring", EFFECTIVE)
def test_effective_request(containers, init, overhead, expected, scoring):
    pod = Pod(name="p", containers=containers, init_containers=init, overhead=overhead)
    assert dict(pod.requests) == expected
    assert dict(pod.scoring_requests) == scoring


# -- pod-level resources (spec §1.2; PodLevelResources, beta and on since v1.34) ---------

# (containers, init containers, overhead, pod-level requests, expected requests,
#  expected scoring cpu/memory), following component-helpers' PodRequests and the
# scheduler's calculatePodResourceRequest (non-zero container defaults, then pod level).
POD_LEVEL = [
    pytest.param([C("100m", "1Gi"), C("200m")], [], {}, {"cpu": "2"},
                 {"cpu": 2000, "memory": GI}, {"cpu": 2000, "memory": GI + 200 * MI},
                 id="pod-level-cpu-replaces-containers-sum"),
    pytest.param([C("1")], [C("3")], {}, {"cpu": "2", "memory": "512Mi"},
                 {"cpu": 2000, "memory": 512 * MI}, {"cpu": 2000, "memory": 512 * MI},
                 id="pod-level-replaces-init-peak"),
    pytest.param([C("1", **{"nvidia.com/gpu": "1", "hugepages-2Mi": "2Mi"})], [], {},
                 {"memory": "1Gi", "hugepages-2Mi": "8Mi"},
                 {"cpu": 1000, "memory": GI, "nvidia.com/gpu": 1, "hugepages-2Mi": 8 * MI},
                 {"cpu": 1000, "memory": GI}, id="other-resources-stay-with-containers"),
    pytest.param([{}], [], {"cpu": "250m", "memory": "64Mi"}, {"cpu": "1", "memory": "1Gi"},
                 {"cpu": 1250, "memory": GI + 64 * MI}, {"cpu": 1250, "memory": GI + 64 * MI},
                 id="overhead-after-pod-level"),
    pytest.param([], [], {}, {"cpu": "1"}, {"cpu": 1000}, {"cpu": 1000},
                 id="no-containers"),
]


@pytest.mark.parametrize("containers,init,overhead,pod_level,expected,scoring", POD_LEVEL)
def test_pod_level_requests(containers, init, overhead, pod_level, expected, scoring):
    pod = Pod(name="p", containers=containers, init_containers=init, overhead=overhead,
              pod_requests=pod_level)
    assert dict(pod.requests) == expected
    assert dict(pod.scoring_requests) == scoring
    again = dataclasses.replace(pod, labels={"a": "b"})    # replace passes requests back
    assert again.requests == pod.requests and again.pod_requests == pod.pod_requests


def test_pod_level_requests_with_the_shortcut():
    pod = Pod("p", requests={"cpu": "500m", "memory": "1Gi"}, pod_requests={"cpu": "2"})
    assert pod.containers == (Container(requests={"cpu": 500, "memory": GI}),)
    assert pod.requests == {"cpu": 2000, "memory": GI}


@pytest.mark.parametrize("resource", ["ephemeral-storage", "nvidia.com/gpu"])
def test_pod_level_requests_only_for_supported_resources(resource):
    # IsSupportedPodLevelResource: cpu, memory and hugepages-<size>; validation refuses others.
    with pytest.raises(ValidationError, match="unsupported pod-level resource") as info:
        Pod("p", pod_requests={resource: "1"})
    assert info.value.field == f"podRequests.{resource}"
    with pytest.raises(ValidationError) as info:
        Pod.from_k8s({"metadata": {"name": "p"}, "spec": {"containers": [{}], "resources": {
            "requests": {resource: "1"}}}})
    assert info.value.field == f"spec.resources.requests.{resource}"


def manifest(resources, *containers, init=()):
    return {"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(containers)],
        "initContainers": [{"name": f"i{i}", "resources": r} for i, r in enumerate(init)],
        "resources": resources}}


# The API server's defaulting of pod-level requests (pkg/apis/core/v1 SetDefaults_Pod with
# PodLevelResources on: defaultHugePagePodLimits, then defaultPodRequests). Dumps from a
# cluster carry the defaulted values; a hand-written manifest gets them here.
DEFAULTED = [
    # "When no containers specify requests for a resource, the pod-level requests will
    # default to match the pod-level limits."
    pytest.param({"limits": {"cpu": "2", "memory": "1Gi"}}, [{}], {"cpu": 2000, "memory": GI},
                 id="requests-from-pod-limits"),
    # "When containers specify requests for a resource ... the pod-level requests default to
    # the effective requests of all the containers for that resource."
    pytest.param({"limits": {"cpu": "2", "memory": "1Gi"}},
                 [{"requests": {"cpu": "300m"}}, {"requests": {"cpu": "200m"}}],
                 {"cpu": 500, "memory": GI}, id="cpu-from-containers-memory-from-limits"),
    # Containers' limits default their own requests first (SetDefaults_Pod, containers).
    pytest.param({"limits": {"cpu": "2"}}, [{"limits": {"cpu": "1"}}], {"cpu": 1000},
                 id="container-limits-count-as-requests"),
    # Pod-level requests are kept; with no pod-level limits nothing is defaulted.
    pytest.param({"requests": {"cpu": "1"}}, [{"requests": {"memory": "64Mi"}}], {"cpu": 1000},
                 id="no-limits-no-defaulting"),
    # defaultHugePagePodLimits: containers' hugepages become pod limits, then requests; that
    # also brings in the containers' memory as a pod-level request.
    pytest.param({"requests": {"cpu": "1"}},
                 [{"requests": {"memory": "64Mi"}, "limits": {"hugepages-2Mi": "4Mi"}}],
                 {"cpu": 1000, "memory": 64 * MI, "hugepages-2Mi": 4 * MI},
                 id="hugepages-from-container-limits"),
    pytest.param({}, [{"requests": {"cpu": "1"}}], {}, id="empty-resources"),
]


@pytest.mark.parametrize("resources, containers, expected", DEFAULTED)
def test_pod_level_defaulting(resources, containers, expected):
    pod = Pod.from_k8s(manifest(resources, *containers))
    assert dict(pod.pod_requests) == expected


def test_pod_level_limits_alone_set_the_effective_request():
    # A pod with only pod-level limits requests them: the API fills in the requests.
    pod = Pod.from_k8s(manifest({"limits": {"cpu": "4", "memory": "2Gi"}}, {}, {}))
    assert pod.requests == {"cpu": 4000, "memory": 2 * GI}


def test_requests_shortcut_is_one_container():
    short = Pod(name="p", requests={"cpu": "500m", "memory": "1Gi"})
    full = Pod(name="p", containers=[Container(requests={"cpu": 500, "memory": GI})])
    assert short == full
    assert short.requests == {"cpu": 500, "memory": GI}
    assert short.scoring_requests == {"cpu": 500, "memory": GI}


def test_limits_default_requests():
    pod = Pod(name="p", containers=[{"resources": {"limits": {"cpu": "1", "memory": "1Gi"},
                                                   "requests": {"cpu": "250m"}}}])
    assert pod.requests == {"cpu": 250, "memory": GI}


def test_dicts_and_dataclasses_are_equal():
    from_dicts = Pod(
        name="p", requests={"cpu": "500m"},
        tolerations=[{"key": "spot", "operator": "Exists"}],
        node_affinity={"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]},
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 5, "preference": {"matchExpressions": [
                    {"key": "disk", "operator": "Exists"}]}}]},
        pod_anti_affinity={"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname",
             "labelSelector": {"matchLabels": {"app": "web"}}}]},
        topology_spread_constraints=[{"maxSkew": 1, "topologyKey": "zone",
                                      "whenUnsatisfiable": "ScheduleAnyway"}],
    )
    from_objects = Pod(
        name="p", requests={"cpu": 500},
        tolerations=[Toleration(key="spot", operator="Exists")],
        node_affinity=NodeAffinity(
            required=[NodeSelectorTerm([NodeSelectorRequirement("zone", "In", ["a", "b"])])],
            preferred=[(5, NodeSelectorTerm([NodeSelectorRequirement("disk", "Exists")]))]),
        pod_anti_affinity=PodAffinity(required=[PodAffinityTerm(
            topology_key="kubernetes.io/hostname", label_selector={"matchLabels": {"app": "web"}})]),
        topology_spread_constraints=[TopologySpreadConstraint(1, "zone", "ScheduleAnyway")],
    )
    assert from_dicts == from_objects
    assert hash(from_dicts) == hash(from_objects)


def test_replace_and_replica_keep_requests():
    pod = Pod(name="p", requests={"cpu": "1"}, overhead={"cpu": "100m"})
    twin = pod.replica("p-1")
    assert twin.name == "p-1" and twin.requests == {"cpu": 1100}
    assert dataclasses.replace(pod, priority=5).requests == pod.requests


def test_required_node_affinity_none_versus_empty():
    assert NodeAffinity().required is None
    assert NodeAffinity(required=[]).required == ()
    assert not NodeAffinity(required=[]).required_matches({"a": "b"}, "n")
    assert NodeAffinity().required_matches({}, "n")


def test_host_ports_and_images():
    pod = Pod(name="p", containers=[
        {"image": "nginx", "ports": [{"containerPort": 80, "hostPort": 8080}]},
        {"image": "sidecar", "ports": [{"containerPort": 9090}]}],
        init_containers=[{"image": "setup"}])
    assert pod.host_ports == (("0.0.0.0", "TCP", 8080),)
    assert pod.images == ("setup", "nginx", "sidecar")


BAD = [
    (dict(requests={"cpus": "1"}), "requests.cpus", "unknown resource 'cpus'"),
    (dict(requests={"pods": "1"}), "requests.pods", "cannot request 'pods'"),
    (dict(requests={"cpu": "-1"}), "requests.cpu", "must not be negative"),
    (dict(requests={"memory": "1.1.M"}), "requests.memory", "'1.1.M'"),
    (dict(requests={"cpu": float("nan")}), "requests.cpu", "nan"),
    (dict(containers=[{"resources": {"requests": {"cpu": "x"}}}]),
     "containers[0].resources.requests.cpu", "'x'"),
    (dict(containers=[{"resources": {"limits": {"gpu": "1"}}}]),
     "containers[0].resources.limits.gpu", "unknown resource"),
    (dict(tolerations=[{"key": "a", "operator": "Exist"}]), "tolerations[0].operator", "Exist"),
    (dict(tolerations=[{"operator": "Equal", "value": "x"}]), "tolerations[0].operator",
     "empty key"),
    (dict(tolerations=[{"key": "a", "operator": "Exists", "value": "x"}]),
     "tolerations[0].value", "must be empty"),
    (dict(tolerations=[{"key": "a", "effect": "NoSchedul"}]), "tolerations[0].effect",
     "NoSchedul"),
    (dict(tolerations=[{"key": "a", "colour": "x"}]), "tolerations[0].colour", "unknown field"),
    (dict(node_selector={"zone": 3}), "nodeSelector.zone", "expected a string"),
    (dict(labels={"bad key!": "x"}), "labels.bad key!", "invalid label key"),
    (dict(node_affinity={"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1", "2"]}]}]}}),
     "nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
     ".matchExpressions[0].values", "single integer"),
    (dict(node_affinity={"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.uid", "operator": "In", "values": ["x"]}]}]}}),
     "nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
     ".matchFields[0].key", "metadata.name"),
    (dict(node_affinity={"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 101, "preference": {}}]}),
     "nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight", "<= 100"),
    (dict(topology_spread_constraints=[{"maxSkew": 0, "topologyKey": "zone"}]),
     "topologySpreadConstraints[0].maxSkew", ">= 1"),
    (dict(topology_spread_constraints=[{"maxSkew": 1, "topologyKey": "zone",
                                        "whenUnsatisfiable": "ScheduleAnyway", "minDomains": 2}]),
     "topologySpreadConstraints[0].minDomains", "DoNotSchedule"),
    (dict(pod_affinity={"requiredDuringSchedulingIgnoredDuringExecution": [{}]}),
     "podAffinity", "topology_key"),
    (dict(priority="high"), "priority", "expected an integer"),
    (dict(tolerations="spot"), "tolerations", "expected a list"),
    (dict(requests={"cpu": "1"}, containers=[{}]), "requests", "not both"),
]


@pytest.mark.parametrize("kwargs,field,text", BAD)
def test_bad_input_names_the_field(kwargs, field, text):
    with pytest.raises(ValidationError) as info:
        Pod(name="p", **kwargs)
    assert info.value.field.startswith(field)
    assert isinstance(info.value, ValueError)
    assert text in str(info.value)


def test_name_is_required():
    with pytest.raises(ValidationError, match="name"):
        Pod(name="")
