"""The scheduling queue (``Scheduler.schedule_queue``), profiles by schedulerName, and
what the manifests give it: PriorityClasses and controllers' selectors."""

from __future__ import annotations

import pytest

from fastsched import Cluster, Pod, Preemption, Scheduler, load_manifests
from fastsched.errors import ManifestError, ValidationError
from fastsched.scheduler.queue import queue_order
from fastsched.scheduler.results import Placement, Unschedulable

CONFIG = {"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration",
          "profiles": [{"schedulerName": "default-scheduler"},
                       {"schedulerName": "packer", "pluginConfig": [
                           {"name": "NodeResourcesFit",
                            "args": {"scoringStrategy": {"type": "MostAllocated"}}}]}]}


def two_nodes(cpu: str = "2") -> Cluster:
    c = Cluster()
    c.add_node("n1", {"cpu": cpu, "memory": "4Gi"})
    c.add_node("n2", {"cpu": cpu, "memory": "4Gi"})
    return c


def test_queue_order_is_priority_then_creation_then_input():
    pods = [Pod("a", priority=1, creation_timestamp=30), Pod("b", priority=5),
            Pod("c", priority=5, creation_timestamp=20), Pod("d", priority=1, creation_timestamp=10),
            Pod("e", priority=1, creation_timestamp=10), Pod("f", priority=1)]
    assert [pods[t].name for t in queue_order(pods)] == ["c", "b", "d", "e", "a", "f"]


def test_higher_priority_goes_first_and_takes_the_room():
    # Document order would give the last CPU to the low pod; the queue gives it to high.
    c = two_nodes("1")
    low = Pod("low", requests={"cpu": "800m"}, priority=1, creation_timestamp=1)
    mid = Pod("mid", requests={"cpu": "800m"}, priority=1, creation_timestamp=2)
    high = Pod("high", requests={"cpu": "800m"}, priority=100, creation_timestamp=3)
    result = Scheduler(c).schedule_queue([low, mid, high], preempt=False)
    assert [o.pod.name for o in result] == ["high", "low", "mid"]
    assert [type(o) for o in result] == [Placement, Placement, Unschedulable]
    assert len(result.placed) == 2 and result.unschedulable[0].pod.name == "mid"


def test_a_pod_that_fits_nowhere_preempts_and_the_victims_are_reported():
    c = two_nodes("1")
    for i, node in enumerate(("n1", "n2")):
        c.bind(Pod(f"running-{i}", requests={"cpu": "800m"}, priority=i), node)
    urgent = Pod("urgent", requests={"cpu": "900m"}, priority=1_000_000)
    result = Scheduler(c).schedule_queue([urgent])
    (outcome,) = result
    assert isinstance(outcome, Preemption)
    # upstream's node order: the lowest highest-victim priority, so running-0 on n1
    assert outcome.node == "n1" and [v.key for v in outcome.victims] == ["default/running-0"]
    assert [(v.key, node) for v, node in result.preempted] == [("default/running-0", "n1")]
    assert c.node_of("default/urgent") == "n1" and "default/running-0" not in c.pods
    assert result.bindings() == [(urgent, "n1")]
    # without preemption the same pod stays pending and nothing is evicted
    d = two_nodes("1")
    for i, node in enumerate(("n1", "n2")):
        d.bind(Pod(f"running-{i}", requests={"cpu": "800m"}, priority=i), node)
    kept = Scheduler(d).schedule_queue([urgent], preempt=False)
    assert isinstance(kept[0], Unschedulable) and not kept.preempted and d.pod_count == 2


def test_profiles_by_scheduler_name_and_foreign_pods_left_alone():
    c = two_nodes()
    s = Scheduler.from_config(c, CONFIG)
    assert list(s.profiles) == ["default-scheduler", "packer"]
    pods = [Pod("spread-0", requests={"cpu": "100m"}), Pod("spread-1", requests={"cpu": "100m"}),
            Pod("pack-0", requests={"cpu": "100m"}, scheduler_name="packer"),
            Pod("pack-1", requests={"cpu": "100m"}, scheduler_name="packer"),
            Pod("gang", requests={"cpu": "100m"}, scheduler_name="volcano")]
    result = s.schedule_queue(pods)
    where = {o.pod.name: o.node for o in result}
    assert where["spread-0"] != where["spread-1"]           # LeastAllocated spreads
    assert where["pack-0"] == where["pack-1"]               # MostAllocated packs
    assert dict(zip((o.pod.name for o in result), result.profile_of)) == {
        "spread-0": "default-scheduler", "spread-1": "default-scheduler",
        "pack-0": "packer", "pack-1": "packer"}
    assert [p.name for p in result.not_ours] == ["gang"] and "default/gang" not in c.pods
    # a what-if: one profile for every pod
    d = two_nodes()
    every = Scheduler(d).schedule_queue(pods, any_scheduler=True)
    assert len(every.placed) == 5 and not every.not_ours


def test_nominated_node_is_tried_first():
    c = two_nodes()
    c.bind(Pod("busy", requests={"cpu": "1"}), "n2")
    pod = Pod("p", requests={"cpu": "100m"}, nominated_node_name="n2")
    (outcome,) = Scheduler(c).schedule_queue([pod])
    assert isinstance(outcome, Placement) and outcome.node == "n2"   # not the emptier n1
    full = Pod("q", requests={"cpu": "1500m"}, nominated_node_name="n2")
    (outcome,) = Scheduler(c).schedule_queue([full])
    assert isinstance(outcome, Placement) and outcome.node == "n1"   # n2 no longer fits


def test_for_profiles_checks_its_arguments():
    c = two_nodes()
    with pytest.raises(ValidationError, match="at least one profile"):
        Scheduler.for_profiles(c, [])
    from fastsched import Profile
    with pytest.raises(ValidationError, match="two profiles are named"):
        Scheduler.for_profiles(c, [Profile(), Profile()])
    with pytest.raises(ValidationError, match="expected a Pod"):
        Scheduler(c).schedule_queue(["not a pod"])


# -- manifests -----------------------------------------------------------------------

NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}


def pod_doc(name: str, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c"}], **spec}}


def pc_doc(name: str, value: int, **extra) -> dict:
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": name}, "value": value, **extra}


def test_priority_classes_resolve_as_admission_does():
    m = load_manifests([NODE, pc_doc("high", 1000, preemptionPolicy="Never"),
                        pc_doc("low", 10, globalDefault=True), pc_doc("lower", 5, globalDefault=True),
                        pod_doc("a", priorityClassName="high"),
                        pod_doc("b"),
                        pod_doc("c", priorityClassName="high", priority=7),
                        pod_doc("d", priorityClassName="system-node-critical"),
                        pod_doc("e", priorityClassName="high",
                                preemptionPolicy="PreemptLowerPriority")])
    got = {p.name: (p.priority, p.preemption_policy) for p in m.pending}
    assert got == {"a": (1000, "Never"),
                   "b": (5, "PreemptLowerPriority"),       # the smallest global default
                   "c": (7, "PreemptLowerPriority"),       # resolved already: kept
                   "d": (2_000_001_000, "PreemptLowerPriority"),
                   "e": (1000, "PreemptLowerPriority")}    # the pod's own policy wins
    assert "PriorityClass/high" not in m.skipped


def test_unknown_priority_class_is_refused():
    with pytest.raises(ManifestError, match="no PriorityClass named 'gold'"):
        load_manifests([NODE, pod_doc("a", priorityClassName="gold")])
    with pytest.raises(ManifestError, match="value"):
        load_manifests([pc_doc("big", 2_000_000_000)])      # user classes stop at 1e9


def test_pods_get_their_controllers_selector():
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"name": "web-abc", "uid": "u-1"},
          "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "h": "abc"}},
                   "template": {"metadata": {"labels": {"app": "web", "h": "abc"}},
                                "spec": {"containers": [{"name": "c"}]}}}}
    owned = {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "web-abc-1", "labels": {"app": "web", "h": "abc"},
                          "ownerReferences": [{"kind": "ReplicaSet", "name": "web-abc",
                                               "uid": "u-1", "controller": True}]},
             "spec": {"containers": [{"name": "c"}]}}
    orphan = pod_doc("other")
    m = load_manifests([NODE, rs, owned, orphan])
    pods = {p.name: p for p in m.pending}
    assert set(pods) == {"web-abc-1", "other"}              # the RS is not expanded again
    selector = pods["web-abc-1"].owner_selector
    assert selector is not None and dict(selector.match_labels) == {"app": "web", "h": "abc"}
    assert pods["other"].owner_selector is None
