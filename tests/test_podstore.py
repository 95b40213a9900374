"""The bound-pod store (``cluster/podstore.py``): replicas without objects, their
names and lookups, templates per family, and the bulk calls on top of it."""

from __future__ import annotations

import numpy as np
import pytest

from fastsched import Cluster, Pod, Scheduler
from fastsched.errors import DuplicateError, PodNotFoundError
from fastsched.scheduler.results import Unschedulable

WEB = Pod("web", requests={"cpu": "100m", "memory": "64Mi"}, labels={"app": "web"})


def cluster(nodes: int = 3, cpu: str = "4") -> Cluster:
    c = Cluster()
    for i in range(nodes):
        c.add_node(f"n{i}", {"cpu": cpu, "memory": "8Gi", "pods": 110})
    return c


def test_replicas_have_no_object_until_read():
    c = cluster()
    result = Scheduler(c).schedule_many([WEB] * 30)
    store = c.columns.store
    assert result.placed == 30 and store.count == 30
    assert all(store.obj[s] is None for s in store.live().tolist())
    assert store.t_live[store.find(WEB, "web")] == 30          # one template for all
    pod = c.pods["default/web-7"]
    assert pod.name == "web-7" and pod.labels == WEB.labels and pod.requests == WEB.requests
    assert result.keys() == [f"default/web-{t}" for t in range(30)]
    assert [p.pod.key for p in result] == result.keys()


def test_replica_numbers_continue_across_calls():
    c = cluster()
    s = Scheduler(c)
    s.schedule_many([WEB] * 3)
    second = s.schedule_many([WEB] * 2)
    assert second.keys() == ["default/web-3", "default/web-4"]
    assert list(c.pods) == [f"default/web-{k}" for k in range(5)]


def test_a_generated_name_a_named_pod_holds_gets_r():
    c = cluster()
    c.bind(WEB.replica("web-1"), "n0")
    result = Scheduler(c).schedule_many([WEB] * 3)
    assert result.keys() == ["default/web-0", "default/web-1-r", "default/web-2"]
    assert set(c.pods) == {"default/web-1", "default/web-0", "default/web-1-r", "default/web-2"}
    c.unbind("default/web-1-r")
    c.unbind_many(["default/web-1", "default/web-2"])
    assert list(c.pods) == ["default/web-0"]


def test_a_named_pod_cannot_take_a_replicas_name():
    c = cluster()
    Scheduler(c).schedule_many([WEB] * 2)
    with pytest.raises(DuplicateError):
        c.bind(WEB.replica("web-1"), "n1")
    with pytest.raises(DuplicateError):
        Scheduler(c).schedule(WEB.replica("web-0"))


def test_lookups_refuse_what_is_not_a_replica_name():
    c = cluster()
    Scheduler(c).schedule_many([WEB] * 12)
    pods = c.pods
    assert "default/web-3" in pods and "web-3" not in pods      # keys are namespace/name
    for key in ("default/web-03", "default/web-12", "team/web-3", "default/web--3",
                "default/other-3", "default/web-", "default/web-99999999999999999999"):
        assert key not in pods, key
    with pytest.raises(PodNotFoundError):
        c.unbind("default/web-03")


def test_long_names_are_cut_and_still_found():
    long = WEB.replica("w" * 250)
    c = cluster()
    result = Scheduler(c).schedule_many([long] * 12)
    keys = result.keys()
    assert all(k is not None and len(k.split("/")[1]) <= 253 for k in keys)
    assert keys[11].endswith("-11") and keys[11] in c.pods
    assert c.unbind_many(keys[:6]) == 6
    assert sorted(c.pods) == sorted(keys[6:])
    assert c.snapshot().pods.keys() == set(keys[6:])


def test_unbind_many_is_all_or_nothing():
    c = cluster()
    Scheduler(c).schedule_many([WEB] * 5)
    before = c.snapshot()
    with pytest.raises(PodNotFoundError, match="pods\\[1\\]"):
        c.unbind_many(["default/web-0", "default/nope", "default/web-1"])
    with pytest.raises(DuplicateError):
        c.unbind_many(["default/web-0", "web-0"])
    with pytest.raises(Exception, match="expected a Pod"):
        c.unbind_many(["default/web-0", 3])
    assert c.snapshot() == before
    assert c.unbind_many([c.pods["default/web-4"], "web-2"]) == 2
    assert sorted(c.pods) == ["default/web-0", "default/web-1", "default/web-3"]
    assert int(c.requested[:, 0].sum()) == 300 and int(c.pod_counts.sum()) == 3


def test_mostly_unbound_chunks_still_find_their_pods():
    c = cluster(20, "100")
    Scheduler(c).schedule_many([WEB] * 2000)
    gone = [f"default/web-{k}" for k in range(2000) if k % 50]
    assert c.unbind_many(gone) == len(gone)
    store = c.columns.store
    assert any(isinstance(chunk, dict) for chunk in store.chunks)
    assert list(c.pods) == [f"default/web-{k}" for k in range(0, 2000, 50)]
    c.unbind_many(list(c.pods))
    assert store.count == 0 and not store.chunks and store.find(WEB, "web") < 0
    again = Scheduler(c).schedule_many([WEB] * 2)        # the template comes back
    assert again.keys() == ["default/web-2000", "default/web-2001"]


def test_a_family_shares_one_template():
    c = cluster(3, "100")
    for i in range(300):
        c.bind(WEB.replica(f"r-{i}"), f"n{i % 3}")
    store = c.columns.store
    assert store.t_live[store.find(WEB)] == 300
    other = Pod("web", requests={"cpu": "100m", "memory": "64Mi"}, labels={"app": "web"})
    c.bind(other.replica("o"), "n0")            # equal but made apart: its own family
    assert store.find(other) != store.find(WEB)


def test_copies_are_independent():
    c = cluster()
    s = Scheduler(c)
    s.schedule_many([WEB] * 4)
    d = c.copy()
    c.unbind("default/web-1")
    Scheduler(d).schedule_many([WEB] * 2)
    assert sorted(c.pods) == ["default/web-0", "default/web-2", "default/web-3"]
    assert sorted(d.pods) == [f"default/web-{k}" for k in range(4)] + \
        ["default/web-4", "default/web-5"]


def test_remove_node_returns_its_pods_in_binding_order():
    c = cluster(3, "1")
    Scheduler(c).schedule_many([WEB] * 12)
    on_n1 = [p.key for p in c.pods_on("n1")]
    evicted = c.remove_node("n1")
    assert [p.key for p in evicted] == on_n1
    assert all(c.node_of(k) in ("n0", "n2") for k in c.pods)
    assert [p.key for p in c.pods_on("n2")] == [k for k in c.pods if c.node_of(k) == "n2"]


def test_pods_view_is_live_and_cheap():
    c = cluster()
    view = c.pods
    assert len(view) == 0 and repr(view) == "BoundPods(0 pods)"
    Scheduler(c).schedule_many([WEB] * 3)
    assert len(view) == 3 and c.pod_count == 3 and "default/web-2" in view
    with pytest.raises(KeyError):
        view["default/web-9"]


def test_result_arrays_hold_the_reasons():
    c = cluster(2, "250m")
    result = Scheduler(c).schedule_many([WEB] * 6)
    arrays = result.to_arrays()
    assert result.placed == 4 and arrays["rows"].tolist() == [0, 1, 0, 1, -1, -1]
    assert arrays["unschedulable"].tolist() == [4, 5]
    names = arrays["reason_names"]
    assert arrays["reasons"].shape == (2, len(names))
    cpu = names.index("Insufficient cpu")
    assert arrays["reasons"][:, cpu].tolist() == [2, 2]
    assert int(np.delete(arrays["reasons"], cpu, axis=1).sum()) == 0
    last = result[5]
    assert isinstance(last, Unschedulable)
    assert last.message == "0/2 nodes are available: 2 Insufficient cpu."
    assert result.nodes == ["n0", "n1", "n0", "n1", None, None]


def test_unbind_many_refuses_numbers_written_otherwise():
    c = cluster()
    Scheduler(c).schedule_many([WEB] * 6)
    for odd in ("default/web-+5", "default/web- 5", "default/web-5_0", "default/web-٥",
                "default/web-99999999999999999999999", "default/web--5"):
        with pytest.raises(PodNotFoundError):
            c.unbind_many(["default/web-1", odd])
    assert c.unbind_many(["default/web-1", "default/web-5"]) == 2
    assert sorted(c.pods) == [f"default/web-{k}" for k in (0, 2, 3, 4)]


def test_result_arrays_list_every_unschedulable_pod():
    empty = Scheduler(Cluster()).schedule_many([Pod("a"), Pod("b")])
    assert empty.to_arrays()["unschedulable"].tolist() == [0, 1]
    c = cluster(1, "1")
    gang = Scheduler(c).schedule_gang([Pod("g1", requests={"cpu": "600m"}),
                                       Pod("g2", requests={"cpu": "600m"})])
    arrays = gang.to_arrays()
    assert arrays["unschedulable"].tolist() == [0, 1] and not arrays["reasons"].any()


def test_a_failed_extra_resource_commit_changes_nothing():
    # An ignored resource no node offers is added as a column after the kernel ran; if
    # that add would overflow int64, the kernel's commits are taken back.
    from fastsched import FitArgs, Profile
    from fastsched.errors import ValidationError
    c = cluster(1)
    profile = Profile(fit=FitArgs(ignored_resources=("example.com/x",)))
    big = Pod("big", requests={"cpu": "100m", "example.com/x": 2**62 + 1})
    before = c.snapshot()
    with pytest.raises(ValidationError, match="int64"):
        Scheduler(c, profile).schedule_many([big] * 2)
    assert c.snapshot() == before and c.pod_count == 0
    with pytest.raises(ValidationError, match="no node row 5"):
        c.add_requested(5, "example.com/y", 1)
    assert c.snapshot() == before


def test_result_reprs_are_short():
    import fastsched as fs
    c = cluster(3, "100")
    big = Scheduler(c).schedule_many([WEB] * 5000)
    assert repr(big) == f"ScheduleResult(5000 pods: {big.placed} placed, {big.unschedulable} unschedulable)"
    assert len(repr(c.pods)) < 40 and len(repr(c)) < 120
    batch = fs.solve_batch(c, [WEB] * 2000, time_limit=2)
    assert len(repr(batch)) < 200 and "2000" in repr(batch)
    pack = fs.binpack(list(range(1, 2001)), 4000)
    assert len(repr(pack)) < 200
    queue = Scheduler(cluster(3, "100")).schedule_queue([WEB.replica(f"q{i}") for i in range(50)])
    assert repr(queue).startswith("QueueResult(50 pods: 50 placed")
