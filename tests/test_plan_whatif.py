"""What-if edits: each as a user means it, checked on small hand-written clusters."""

from __future__ import annotations

from pathlib import Path

import pytest

import fastsched as fs
from fastsched.errors import ValidationError
from fastsched.kube import load_manifests
from fastsched.model.labels import parse_label_selector
from fastsched.plan.whatif import utilization, whatif

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SMALL = EXAMPLES / "catalog-small.yaml"


def node(name, zone, cpu="4", taints=None, itype="large"):
    spec = {"taints": taints} if taints else {}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone,
                                                   "node.kubernetes.io/instance-type": itype}},
            "spec": spec, "status": {"allocatable": {"cpu": cpu, "memory": "16Gi",
                                                     "pods": "110"}}}


def pod(name, node_name="", cpu="1", owner=None, namespace="default", tolerations=None,
        labels=None):
    meta = {"name": name, "namespace": namespace, "labels": labels or {}}
    if owner:
        kind, oname = owner.split("/")
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": kind, "name": oname,
                                    "uid": f"uid-{oname}", "controller": True}]
    spec = {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}
    if node_name:
        spec["nodeName"] = node_name
    if tolerations:
        spec["tolerations"] = tolerations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def daemon(node_name):
    p = pod(f"agent-{node_name}", node_name, cpu="500m", owner="DaemonSet/agent",
            namespace="kube-system",
            tolerations=[{"key": "dedicated", "operator": "Equal", "value": "ml",
                          "effect": "NoSchedule"}])
    p["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                "values": [node_name]}]}]}}}
    return p


def cluster_docs():
    """Three nodes over zones a, b, b; an agent DaemonSet pod on each; a ReplicaSet of
    a Deployment with three pods, a bare pod and a Job pod on the b nodes."""
    docs = [node("n1", "a"), node("n2", "b"), node("n3", "b")]
    docs += [daemon(n) for n in ("n1", "n2", "n3")]
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"name": "web-abc", "namespace": "default", "uid": "uid-web-abc",
                       "labels": {"app": "web"},
                       "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                            "name": "web", "uid": "uid-web",
                                            "controller": True}]},
          "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                   "template": {"metadata": {"labels": {"app": "web"}},
                                "spec": {"containers": [{"name": "c", "resources": {
                                    "requests": {"cpu": "1"}}}]}}}}
    docs.append(rs)
    docs += [pod(f"web-abc-{i}", n, owner="ReplicaSet/web-abc", labels={"app": "web"})
             for i, n in enumerate(("n1", "n2", "n3"))]
    docs.append(pod("bare", "n2"))
    docs.append(pod("job-x", "n3", owner="Job/x"))
    return docs


@pytest.fixture
def manifests():
    return load_manifests(cluster_docs())


def test_manifests_know_owners_and_the_deployment_above_a_replicaset(manifests):
    assert manifests.owner("default/web-abc-0") == "ReplicaSet/default/web-abc"
    assert manifests.owner("ReplicaSet/default/web-abc") == "Deployment/default/web"
    assert manifests.owner("kube-system/agent-n1") == "DaemonSet/kube-system/agent"
    assert manifests.owner("default/bare") == ""


def test_draining_a_zone_evicts_all_but_daemonset_pods_and_cordons(manifests):
    w = whatif(manifests, drain=["topology.kubernetes.io/zone=b"])
    assert w.drained == ("n2", "n3")
    assert sorted(w.evicted) == ["default/job-x", "default/web-abc-1", "default/web-abc-2"]
    assert list(w.lost) == ["default/bare"] and "no controller" in w.lost["default/bare"]
    c = w.cluster
    assert {p.name for p in c.pods_on("n2")} == {"agent-n2"}          # the DaemonSet stays
    assert c.node("n2").unschedulable and c.node("n3").unschedulable
    # n1 has 4 cpu: agent 0.5 + web 1 -> room for 2 of the 3 evicted 1-cpu pods
    assert len(w.unschedulable) == 1 and "unschedulable" in next(iter(w.unschedulable.values()))
    assert not w.fits
    # the manifests themselves are untouched
    assert len(manifests.cluster.pods_on("n2")) == 3 and not manifests.cluster.node("n2").unschedulable


def test_removing_a_node_takes_its_daemonset_pods_along(manifests):
    w = whatif(manifests, remove_nodes=["n3"])
    assert w.removed == ("n3",) and "n3" not in w.cluster
    assert w.gone == ("kube-system/agent-n3",)
    assert sorted(w.evicted) == ["default/job-x", "default/web-abc-2"]
    assert w.fits and not w.unschedulable          # room on n1 and n2 for both
    assert {w.cluster.node_of(k) for k in w.evicted} <= {"n1", "n2"}


def test_scaling_a_deployment_adds_replicas_without_a_node_pin(manifests):
    w = whatif(manifests, scale={"default/web": 7})
    assert w.scaled == {"default/web": (3, 7)}
    new = [o for o in w.result.placed if o.pod.name.startswith("web-w")]
    assert len(new) == 4 and all(not p.node_name for p in w.result.pods)
    assert len({o.node for o in new}) > 1                    # spread, not pinned to one node
    assert w.fits


def test_scaling_down_removes_pending_replicas_first():
    docs = cluster_docs() + [pod("web-abc-9", owner="ReplicaSet/web-abc", labels={"app": "web"})]
    m = load_manifests(docs)
    w = whatif(m, scale={"default/web-abc": 3})
    assert w.scaled == {"default/web-abc": (4, 3)}
    assert "default/web-abc-9" not in {p.key for p in w.result.pods}
    assert all(f"default/web-abc-{i}" in w.cluster.pods for i in range(3))
    w = whatif(m, scale={"default/web-abc": 1})
    assert sum(k.startswith("default/web-abc-") for k in w.cluster.pods) == 1


def test_nodes_like_an_existing_one_get_its_shape_and_the_daemonset():
    docs = cluster_docs()
    docs[0] = node("n1", "a", taints=[{"key": "dedicated", "value": "ml", "effect": "NoSchedule"}])
    m = load_manifests(docs)
    w = whatif(m, add_nodes={"n1": 2})
    assert w.added == ("n1-0", "n1-1")
    c = w.cluster
    assert c.node_labels("n1-0")["topology.kubernetes.io/zone"] == "a"
    assert c.node_labels("n1-0")["kubernetes.io/hostname"] == "n1-0"
    assert [t.key for t in c.node("n1-1").taints] == ["dedicated"]
    assert {p.name for p in c.pods_on("n1-0")} == {"agent-n1-0"}     # it tolerates the taint


def test_catalog_nodes_spread_over_zones_or_go_where_told(manifests):
    w = whatif(manifests, add_nodes={"small": 3, "large@zone-b": 1}, catalog=SMALL)
    zones = [w.cluster.node_labels(n)["topology.kubernetes.io/zone"] for n in w.added]
    assert w.added == ("small-0", "small-1", "small-2", "large-0")
    assert zones == ["zone-a", "zone-b", "zone-a", "zone-b"]
    # a DaemonSet pod that does not tolerate a taint stays off the tainted type
    w = whatif(manifests, add_nodes={"gpu": 1}, catalog=SMALL)
    assert w.cluster.pods_on("gpu-0") == ()


def test_what_does_not_fit_gets_the_cheapest_nodes_with_room_for_daemonsets(manifests):
    # 8 more 1-cpu replicas; small nodes hold 1900m - 500m (the agent) = one replica each
    w = whatif(manifests, scale={"default/web": 11}, catalog=SMALL, time_limit=10)
    assert w.unschedulable and w.provision is not None
    plan = w.provision
    assert sorted(plan.assignment) == sorted(w.unschedulable)
    assert plan.status == "OPTIMAL"
    # large: 7900m - 500m = 7 replicas for $0.36; spot large is cheaper still ($0.12, limit 4)
    per_node = {}
    for key, n in plan.assignment.items():
        per_node[n] = per_node.get(n, 0) + 1
    cat = fs.Catalog.load(SMALL)
    for name, t, _ in plan.nodes:
        room = cat[t].allocatable["cpu"] - 500
        assert per_node.get(name, 0) * 1000 <= room, (name, t)


def test_utilization_by_type_and_price(manifests):
    u = utilization(manifests.cluster, fs.Catalog.load(SMALL))
    assert u["nodes"] == 3 and u["cpu"]["allocatable"] == 12000
    assert u["cpu"]["requested"] == 3 * 500 + 3 * 1000 + 2 * 1000
    assert u["types"]["large"]["pricePerHour"] == pytest.approx(3 * 0.36)
    assert u["unpriced"] == 0


@pytest.mark.parametrize("kwargs, field, words", [
    ({"drain": ["n9"]}, "drain[0]", "no node named 'n9'"),
    ({"drain": ["zone=z"]}, "drain[0]", "matches no node"),
    ({"remove_nodes": ["a in (b"]}, "remove_nodes[0]", "cannot parse"),
    ({"scale": {"default/nope": 2}}, "scale['default/nope']", "default/web"),
    ({"scale": {"web": 2}}, "scale['web']", "NAMESPACE/NAME"),
    ({"scale": {"default/web": -1}}, "scale['default/web']", ">= 0"),
    ({"add_nodes": {"m9.huge": 1}}, "add_nodes['m9.huge']", "neither a catalog type"),
    ({"add_nodes": {"n1": 0}}, "add_nodes['n1']", "[1, 100,000]"),
])
def test_bad_edits_name_themselves_and_change_nothing(manifests, kwargs, field, words):
    before = dict(manifests.cluster.pod_nodes())
    with pytest.raises(ValidationError) as err:
        whatif(manifests, **kwargs)
    assert err.value.field == field and words in str(err.value)
    assert manifests.cluster.pod_nodes() == before


def test_a_catalog_zone_must_be_offered(manifests):
    with pytest.raises(ValidationError, match="not offered in zone 'zone-z'"):
        whatif(manifests, add_nodes={"small@zone-z": 1}, catalog=SMALL)


@pytest.mark.parametrize("text, labels, hit", [
    ("zone=a", {"zone": "a"}, True), ("zone==a", {"zone": "b"}, False),
    ("zone!=a", {}, True), ("zone in (a, b),tier", {"zone": "b", "tier": "x"}, True),
    ("zone notin (a)", {"zone": "a"}, False), ("!spot", {"spot": "1"}, False),
    ("gpu", {}, False),
])
def test_kubectl_selectors(text, labels, hit):
    assert parse_label_selector(text).matches(labels) is hit


def test_the_example_dump_answers_the_readme_questions():
    m = load_manifests(EXAMPLES / "cluster-dump" / "cluster.yaml")
    drained = whatif(m, drain=["topology.kubernetes.io/zone=eu-west-1b"])
    assert drained.drained == ("worker-b",)
    scaled = whatif(m, scale={"prod/web": 500}, catalog=EXAMPLES / "catalog-aws.yaml",
                    time_limit=10)
    assert scaled.scaled["prod/web"] == (6, 500) and scaled.provision.new_nodes
    like = whatif(m, add_nodes={"worker-a": 10})
    assert len(like.added) == 10 and like.fits
