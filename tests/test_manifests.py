"""Tests for fastsched.kube (manifests in, Bindings out) and Pod.from_k8s."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

import fastsched
from fastsched import Cluster, ManifestError, Pod, ValidationError, load_manifests, to_bindings
from fastsched.kube.bindings import dump_bindings
from fastsched.kube.manifests import ManifestWarning
from fastsched.model.pod import pod_from_dict
from fastsched.model.service import Service, ServicePort

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DATA = Path(__file__).resolve().parent / "data"
Ki, Mi, Gi = 1 << 10, 1 << 20, 1 << 30

NODE = """\
apiVersion: v1
kind: Node
metadata:
  name: {name}
status:
  allocatable: {{cpu: "{cpu}", memory: 8Gi}}
"""


def node_text(name: str = "n1", cpu: str = "4") -> str:
    return NODE.format(name=name, cpu=cpu)


def node_dict(name: str = "n1", cpu: str = "4", **spec: object) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "spec": dict(spec), "status": {"allocatable": {"cpu": cpu, "memory": "8Gi"}}}


def pod_dict(name: str, *, cpu: str = "100m", node: str | None = None, **meta: object) -> dict:
    spec: dict = {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, **meta}, "spec": spec}


def workload(kind: str, name: str, api: str = "apps/v1", **spec: object) -> dict:
    template = {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "img",
                                         "resources": {"requests": {"cpu": "1"}}}]}}
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name},
            "spec": {"template": template, **spec}}


# -- the examples ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> fastsched.Manifests:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the examples load without any warning
        return load_manifests(EXAMPLES / "nodes.yaml", str(EXAMPLES / "seed-app.yaml"))


def test_example_nodes(example):
    cluster = example.cluster
    assert len(cluster) == 9
    assert cluster.node_names == tuple(f"node-{z}-{i}" for z in "abc" for i in (1, 2, 3))
    small = cluster.node("node-a-1")
    assert dict(small.allocatable) == {"cpu": 3920, "memory": 15 * Gi,
                                       "ephemeral-storage": 90 * Gi, "pods": 110,
                                       "nvidia.com/gpu": 0}
    big = cluster.node("node-a-2")
    assert big.allocatable["cpu"] == 7910 and big.allocatable["memory"] == 30716 * Mi
    assert big.allocatable["ephemeral-storage"] == 180 * Gi
    assert cluster.resources == ("cpu", "memory", "ephemeral-storage", "pods", "nvidia.com/gpu")
    assert cluster.allocatable[:, 0].sum() == 5 * 3920 + 4 * 7910
    zones = [cluster.node_labels(n)["topology.kubernetes.io/zone"] for n in cluster.node_names]
    assert zones == ["zone-a"] * 3 + ["zone-b"] * 3 + ["zone-c"] * 3
    assert small.labels["node.kubernetes.io/instance-type"] == "standard-4"
    assert small.labels["kubernetes.io/hostname"] == "node-a-1"


def test_example_taints_and_gpu(example):
    cluster = example.cluster
    spot = cluster.node("node-a-3")
    assert [str(t) for t in spot.taints] == ["cloud.example.com/spot=true:NoSchedule"]
    gpu = cluster.node("node-b-3")
    assert gpu.allocatable["nvidia.com/gpu"] == 4
    assert gpu.allocatable["memory"] == 60 * Gi
    assert [(t.key, t.value, t.effect) for t in gpu.taints] == [
        ("nvidia.com/gpu", "present", "NoSchedule")]
    cordoned = cluster.node("node-c-3")
    assert cordoned.unschedulable
    assert list(cluster.unschedulable) == [False] * 8 + [True]
    assert sum(bool(cluster.node(n).taints) for n in cluster.node_names) == 3


def test_example_running_pods_are_bound(example):
    cluster = example.cluster
    assert sorted(cluster.pods) == ["kube-system/coredns-5d78c9869d-x7k2p",
                                    "kube-system/metrics-server-6d94bc8694-q4t9z"]
    assert cluster.node_of("kube-system/coredns-5d78c9869d-x7k2p") == "node-a-1"
    dns = cluster.node("node-a-1").requested
    assert dns["cpu"] == 100 and dns["memory"] == 70 * Mi and dns["pods"] == 1  # not limits
    coredns = cluster.pods["kube-system/coredns-5d78c9869d-x7k2p"]
    assert coredns.priority == 2_000_000_000
    assert coredns.tolerations[0].key == "CriticalAddonsOnly"


def test_example_seed_app(example):
    assert [p.name for p in example.pending] == [f"my-deployment-{i}" for i in range(3)]
    for pod in example.pending:
        assert pod.namespace == "default"
        assert dict(pod.labels) == {"app": "my-app"}
        assert dict(pod.requests) == {"cpu": 250, "memory": 256 * Mi}
        assert pod.images == ("my-image",)
        assert pod.containers[0].ports[0].container_port == 8080
        assert not pod.node_name
    (deployment,) = example.workloads
    assert (deployment.kind, deployment.namespace, deployment.name) == (
        "Deployment", "default", "my-deployment")
    assert deployment.pods == example.pending
    assert example.skipped == ()


def test_example_service(example):
    (service,) = example.services
    assert service.name == "my-service" and service.namespace == "default"
    assert dict(service.selector) == {"app": "my-app"}
    assert service.ports == (ServicePort(port=80, target_port=8080, protocol="TCP"),)
    assert service.type == "ClusterIP"
    assert all(service.matches(p) for p in example.pending)
    assert not any(service.matches(p) for p in example.bound)
    assert example.service_pods("my-service") == example.pending
    assert example.service("default/my-service") is service
    with pytest.raises(KeyError):
        example.service("other")


def test_source_order_does_not_matter():
    a = load_manifests(EXAMPLES / "seed-app.yaml", EXAMPLES / "nodes.yaml")
    b = load_manifests(EXAMPLES / "nodes.yaml", EXAMPLES / "seed-app.yaml")
    assert a.cluster.snapshot() == b.cluster.snapshot()
    assert a.pending == b.pending


def test_directory_source_reads_every_manifest():
    # the node catalogs beside the manifests are fastsched's own kind: skipped, said so
    with pytest.warns(ManifestWarning, match="unsupported kind 'NodeCatalog'"):
        m = load_manifests(EXAMPLES)
    assert len(m.cluster) == 9 and len(m.pending) == 3 and len(m.services) == 1


# -- sources and document shapes ------------------------------------------------------


def test_multi_document_text_and_empty_documents():
    text = node_text("n1") + "---\n---\n" + node_text("n2") + "...\n"
    m = load_manifests(text)
    assert m.cluster.node_names == ("n1", "n2")


def test_kind_list_and_typed_lists():
    text = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [
        node_dict("n1"),
        {"apiVersion": "v1", "kind": "PodList",  # items of a typed list may omit kind
         "items": [{"metadata": {"name": "p"}, "spec": {"nodeName": "n1"}}]},
    ]})
    m = load_manifests(text)
    assert m.cluster.node_names == ("n1",)
    assert list(m.cluster.pods) == ["default/p"]


def test_json_text_file_and_pathlike(tmp_path):
    doc = {"apiVersion": "v1", "kind": "NodeList",
           "items": [{"metadata": {"name": f"n{i}"},
                      "status": {"allocatable": {"cpu": "2", "memory": "4Gi"}}}
                     for i in range(3)]}
    text = json.dumps(doc, indent="\t")  # tabs: JSON is read as JSON, not as YAML
    assert load_manifests(text).cluster.node_names == ("n0", "n1", "n2")
    path = tmp_path / "nodes.json"
    path.write_text(text)
    assert len(load_manifests(path).cluster) == 3
    assert len(load_manifests(str(path)).cluster) == 3
    assert len(load_manifests(json.dumps(doc).encode()).cluster) == 3


def test_parsed_dicts_and_lists_of_dicts():
    m = load_manifests(node_dict("n1"), [node_dict("n2"), pod_dict("p", node="n1"), None])
    assert m.cluster.node_names == ("n1", "n2")
    assert m.cluster.node_of("p") == "n1"


def test_capacity_when_allocatable_is_absent():
    data = node_dict()
    data["status"] = {"capacity": {"cpu": "8", "memory": "32Gi"}}
    node = load_manifests(data).cluster.node("n1")
    assert node.allocatable["cpu"] == 8000 and node.allocatable["memory"] == 32 * Gi
    assert node.allocatable["pods"] == 110  # the kubelet's default


def test_node_images():
    data = node_dict()
    data["status"]["images"] = [
        {"names": ["registry.example/web@sha256:ab12", "registry.example/web:1.2"],
         "sizeBytes": 250_000_000},
        {"names": ["busybox"], "sizeBytes": 4_000_000}]
    node = load_manifests(data).cluster.node("n1")
    assert node.images["registry.example/web:1.2"] == 250_000_000
    assert node.images["busybox:latest"] == 4_000_000
    data["status"]["images"][1]["sizeBytes"] = -1
    with pytest.raises(ManifestError) as info:
        load_manifests(data)
    assert info.value.field == "status.images[1].sizeBytes"


def test_no_sources_is_an_empty_cluster():
    m = load_manifests()
    assert len(m.cluster) == 0 and m.pending == () and m.services == ()


# -- pods and workloads ---------------------------------------------------------------


def test_pod_fields_are_read():
    pod = pod_from_dict(yaml.safe_load("""
        metadata: {name: web, namespace: shop, labels: {app: web}}
        spec:
          priority: 10
          nodeSelector: {disk: ssd}
          overhead: {cpu: 10m}
          initContainers:
            - {name: init, resources: {requests: {cpu: "2"}}}
          containers:
            - name: app
              image: web:1
              ports: [{containerPort: 80, hostPort: 8080}]
              resources: {requests: {cpu: 500m, memory: 1Gi}}
              env: [{name: A, value: b}]
          volumes: [{name: v, emptyDir: {}}]
          tolerations: [{key: spot, operator: Exists, effect: NoSchedule}]
          topologySpreadConstraints:
            - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway,
               labelSelector: {matchLabels: {app: web}}}
          affinity:
            nodeAffinity:
              requiredDuringSchedulingIgnoredDuringExecution:
                nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]
            podAntiAffinity:
              preferredDuringSchedulingIgnoredDuringExecution:
                - weight: 50
                  podAffinityTerm: {topologyKey: kubernetes.io/hostname,
                                    labelSelector: {matchLabels: {app: web}}}
    """))
    assert (pod.name, pod.namespace, dict(pod.labels)) == ("web", "shop", {"app": "web"})
    assert pod.priority == 10 and dict(pod.node_selector) == {"disk": "ssd"}
    assert dict(pod.requests) == {"cpu": 2010, "memory": Gi}  # init peak, then overhead
    assert pod.host_ports == (("0.0.0.0", "TCP", 8080),)
    assert pod.tolerations[0].operator == "Exists"
    assert pod.topology_spread_constraints[0].when_unsatisfiable == "ScheduleAnyway"
    assert pod.node_affinity.required[0].matches({"zone": "a"}, "n")
    assert pod.pod_anti_affinity.preferred[0].weight == 50
    assert pod.pod_affinity is None
    assert Pod.from_manifest({"metadata": {"name": "web"}}) == Pod("web")


def test_limits_only_container_defaults_requests():
    pod = pod_from_dict({"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "c", "resources": {"limits": {"cpu": "1", "memory": "1Gi"},
                                    "requests": {"memory": "256Mi"}}}]}})
    assert dict(pod.requests) == {"cpu": 1000, "memory": 256 * Mi}


def test_pod_with_node_name_is_bound_even_when_overcommitted():
    m = load_manifests(node_dict("n1", cpu="1"), pod_dict("a", cpu="800m", node="n1"),
                       pod_dict("b", cpu="800m", node="n1"), pod_dict("c"))
    assert m.cluster.requested[0, 0] == 1600 > m.cluster.allocatable[0, 0]
    assert [p.name for p in m.bound] == ["a", "b"]
    assert [p.name for p in m.pending] == ["c"]


def test_finished_pods_are_skipped():
    done = pod_dict("done", node="n1")
    done["status"] = {"phase": "Succeeded"}
    with pytest.warns(ManifestWarning):
        m = load_manifests(node_dict(), done, {"kind": "Secret", "metadata": {"name": "s"}})
    assert m.bound == () and m.skipped == ("Pod/done", "Secret/s")  # in document order


def test_deployment_replicaset_and_replication_controller():
    m = load_manifests(
        workload("Deployment", "web", replicas=2, selector={"matchLabels": {"app": "web"}}),
        workload("ReplicaSet", "cache", replicas=0),
        workload("ReplicationController", "old", api="v1", replicas=1, selector={"app": "old"}),
        workload("Deployment", "one"))  # replicas default to 1
    assert [p.name for p in m.pending] == ["web-0", "web-1", "old-0", "one-0"]
    assert [w.name for w in m.workloads] == ["web", "cache", "old", "one"]
    assert m.pending[0].labels == {"app": "web"} and m.pending[0].requests == {"cpu": 1000}


def test_statefulset_names_pods_by_ordinal():
    m = load_manifests(workload("StatefulSet", "db", replicas=3),
                       workload("StatefulSet", "kv", replicas=2, ordinals={"start": 5}))
    assert [p.name for p in m.pending] == ["db-0", "db-1", "db-2", "kv-5", "kv-6"]


@pytest.mark.parametrize("spec, count", [
    ({}, 1), ({"parallelism": 4}, 4), ({"parallelism": 4, "completions": 2}, 2),
    ({"parallelism": 2, "completions": 10}, 2), ({"parallelism": 0}, 0)])
def test_job_parallelism(spec, count):
    m = load_manifests(workload("Job", "batch", api="batch/v1", **spec))
    assert [p.name for p in m.pending] == [f"batch-{i}" for i in range(count)]


def test_workload_namespace_and_template_node_name():
    data = workload("Deployment", "pinned", replicas=2)
    data["metadata"]["namespace"] = "team"
    data["spec"]["template"]["spec"]["nodeName"] = "n1"
    m = load_manifests(node_dict("n1"), data)
    assert sorted(m.cluster.pods) == ["team/pinned-0", "team/pinned-1"]


def test_owned_workloads_are_not_expanded_twice():
    """A snapshot lists a Deployment, its ReplicaSet and the pods: count the pods once."""
    deployment = workload("Deployment", "web", replicas=2)
    replicaset = workload("ReplicaSet", "web-5d8f", replicas=2)
    replicaset["metadata"]["ownerReferences"] = [{"kind": "Deployment", "name": "web"}]
    pods = [pod_dict(f"web-5d8f-{s}", node="n1",
                     ownerReferences=[{"kind": "ReplicaSet", "name": "web-5d8f"}])
            for s in ("abcde", "fghij")]
    m = load_manifests(deployment, replicaset, *pods, node_dict("n1"))
    assert len(m.bound) == 2 and m.pending == ()
    assert m.skipped == ("Deployment/web", "ReplicaSet/web-5d8f")


def test_large_deployment_shares_its_template():
    text = (EXAMPLES / "seed-app.yaml").read_text().replace("replicas: 3", "replicas: 10000")
    m = load_manifests(text)
    assert len(m.pending) == 10_000 and m.pending[-1].name == "my-deployment-9999"
    assert m.pending[-1].containers is m.pending[0].containers


# -- services -------------------------------------------------------------------------


def test_service_ports_and_matching():
    service = Service.from_dict(yaml.safe_load("""
        metadata: {name: api, namespace: shop}
        spec:
          type: NodePort
          selector: {app: api, tier: web}
          ports:
            - {name: http, port: 80, targetPort: http, nodePort: 30080}
            - {port: 53, protocol: UDP}
    """))
    assert service.type == "NodePort" and service.key == "shop/api"
    assert service.ports == (ServicePort(80, "http", "TCP", "http"), ServicePort(53, 53, "UDP"))
    assert service.matches(Pod("a", "shop", labels={"app": "api", "tier": "web", "x": "y"}))
    assert not service.matches(Pod("a", "default", labels={"app": "api", "tier": "web"}))
    assert not service.matches(Pod("a", "shop", labels={"app": "api"}))
    assert not Service("headless").matches(Pod("a"))  # no selector selects nothing


# -- broken documents -----------------------------------------------------------------

BROKEN = [
    # (id, text, document index, kind/name, field)
    ("node-quantity", node_text("n1", cpu="lots"), 0, "Node/n1", "status.allocatable.cpu"),
    ("node-resource-name",
     "kind: Node\nmetadata: {name: n1}\nstatus: {allocatable: {cpus: 4}}\n",
     0, "Node/n1", "status.allocatable.cpus"),
    ("node-capacity", "kind: Node\nmetadata: {name: n1}\nstatus: {capacity: {memory: 1Qi}}\n",
     0, "Node/n1", "status.capacity.memory"),
    ("node-no-allocatable", "kind: Node\nmetadata: {name: n1}\n", 0, "Node/n1",
     "status.allocatable"),
    ("node-name", "kind: Node\nmetadata: {name: Node_1}\nstatus: {allocatable: {cpu: 1}}\n",
     0, "Node/Node_1", "metadata.name"),
    ("node-taint",
     node_text() + "spec:\n  taints: [{key: a, effect: Never}]\n", 0, "Node/n1",
     "spec.taints[0].effect"),
    ("node-unschedulable", node_text() + "spec: {unschedulable: 'yes'}\n", 0, "Node/n1",
     "spec.unschedulable"),
    ("node-label", "kind: Node\nmetadata: {name: n1, labels: {zone: 1}}\n"
     "status: {allocatable: {cpu: 1}}\n", 0, "Node/n1", "metadata.labels.zone"),
    ("node-duplicate", node_text() + "---\n" + node_text(), 1, "Node/n1", "metadata.name"),
    ("list-item", """apiVersion: v1
kind: List
items:
  - {kind: Node, metadata: {name: a}, status: {allocatable: {cpu: "1"}}}
  - {kind: Node, metadata: {name: b}, status: {allocatable: {cpu: "x"}}}
""", 0, "Node/b", "items[1].status.allocatable.cpu"),
    ("pod-request", node_text() + """---
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    resources: {requests: {cpu: 1x}}
""", 1, "Pod/p", "spec.containers[0].resources.requests.cpu"),
    ("pod-limit", "kind: Pod\nmetadata: {name: p}\nspec:\n  initContainers:\n"
     "  - {name: i, resources: {limits: {memory: -1Gi}}}\n", 0, "Pod/p",
     "spec.initContainers[0].resources.limits.memory"),
    ("pod-toleration", "kind: Pod\nmetadata: {name: p}\nspec:\n"
     "  tolerations: [{key: a}, {key: b, operator: Sometimes}]\n", 0, "Pod/p",
     "spec.tolerations[1].operator"),
    ("pod-node-affinity", """kind: Pod
metadata: {name: p}
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: Near}]}]
""", 0, "Pod/p", "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
                 ".nodeSelectorTerms[0].matchExpressions[0].operator"),
    ("pod-anti-affinity", """kind: Pod
metadata: {name: p}
spec:
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution: [{topologyKey: ""}]
""", 0, "Pod/p",
     "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"
     ".topologyKey"),
    ("pod-spread", "kind: Pod\nmetadata: {name: p}\nspec:\n  topologySpreadConstraints:\n"
     "  - {maxSkew: 0, topologyKey: zone}\n", 0, "Pod/p",
     "spec.topologySpreadConstraints[0].maxSkew"),
    ("pod-priority", "kind: Pod\nmetadata: {name: p}\nspec: {priority: high}\n", 0, "Pod/p",
     "spec.priority"),
    ("pod-spec-type", "kind: Pod\nmetadata: {name: p}\nspec: [a]\n", 0, "Pod/p", "spec"),
    ("pod-containers-type", "kind: Pod\nmetadata: {name: p}\nspec: {containers: {name: c}}\n",
     0, "Pod/p", "spec.containers"),
    ("pod-no-name", "kind: Pod\nmetadata: {labels: {a: b}}\n", 0, "Pod", "metadata.name"),
    ("pod-bad-name", "kind: Pod\nmetadata: {name: My_Pod}\n", 0, "Pod/My_Pod",
     "metadata.name"),
    ("pod-namespace", "kind: Pod\nmetadata: {name: p, namespace: Bad NS}\n", 0, "Pod/p",
     "metadata.namespace"),
    ("pod-unknown-node", node_text() + "---\nkind: Pod\nmetadata: {name: p}\n"
     "spec: {nodeName: ghost}\n", 1, "Pod/p", "spec.nodeName"),
    ("pod-duplicate", "kind: Pod\nmetadata: {name: p}\n---\nkind: Pod\nmetadata: {name: p}\n",
     1, "Pod/p", "metadata.name"),
    ("deployment-replicas", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
     "spec: {replicas: -1, template: {}}\n", 0, "Deployment/d", "spec.replicas"),
    ("deployment-replicas-type", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
     "spec: {replicas: three, template: {}}\n", 0, "Deployment/d", "spec.replicas"),
    ("replicas-too-many", "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: d}\n"
     "spec: {replicas: 2000000000, template: {}}\n", 0, "ReplicaSet/d", "spec.replicas"),
    ("deployment-template", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
     "spec: {replicas: 1}\n", 0, "Deployment/d", "spec.template"),
    ("deployment-selector", """apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: a}}
  template: {metadata: {labels: {app: b}}}
""", 0, "Deployment/d", "spec.selector"),
    ("statefulset-template-request", """apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s}
spec:
  template:
    spec:
      containers: [{name: c, resources: {requests: {memory: 1Qi}}}]
""", 0, "StatefulSet/s", "spec.template.spec.containers[0].resources.requests.memory"),
    ("template-node-name", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\n"
     "spec: {template: {spec: {nodeName: ghost}}}\n", 0, "StatefulSet/s",
     "spec.template.spec.nodeName"),
    ("template-labels", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\n"
     "spec: {template: {metadata: {labels: {'a b': c}}}}\n", 0, "Job/j",
     "spec.template.metadata.labels.a b"),
    ("job-completions", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\n"
     "spec: {completions: -2, template: {}}\n", 0, "Job/j", "spec.completions"),
    ("replica-collision", "kind: Pod\nmetadata: {name: web-1}\n---\napiVersion: apps/v1\n"
     "kind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2, template: {}}\n", 1,
     "Deployment/web", "metadata.name"),
    ("wrong-api-group", "apiVersion: v1\nkind: Deployment\nmetadata: {name: d}\n", 0,
     "Deployment/d", "apiVersion"),
    ("service-port", "kind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 70000}]}\n",
     0, "Service/s", "spec.ports[0].port"),
    ("service-target-port", "kind: Service\nmetadata: {name: s}\n"
     "spec: {ports: [{port: 80, targetPort: Not A Name}]}\n", 0, "Service/s",
     "spec.ports[0].targetPort"),
    ("service-selector", "kind: Service\nmetadata: {name: s}\nspec: {selector: [app]}\n",
     0, "Service/s", "spec.selector"),
    ("service-type", "kind: Service\nmetadata: {name: s}\nspec: {type: Magic}\n", 0,
     "Service/s", "spec.type"),
    ("service-duplicate", "kind: Service\nmetadata: {name: s}\n---\n"
     "kind: Service\nmetadata: {name: s}\n", 1, "Service/s", "metadata.name"),
    ("no-kind", "apiVersion: v1\nmetadata: {name: x}\n", 0, "", "kind"),
    ("list-items-type", "kind: List\nitems: {a: 1}\n", 0, "", "items"),
    ("untyped-list-item", "kind: List\nitems: [{metadata: {name: x}}]\n", 0, "",
     "items[0].kind"),
]


@pytest.mark.parametrize("text, index, obj, field",
                         [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_broken_documents_name_their_field(text, index, obj, field):
    with pytest.raises(ManifestError) as info:
        load_manifests(text)
    err = info.value
    assert (err.source, err.index, err.obj, err.field) == ("<text>", index, obj, field)
    where = f" ({obj})" if obj else ""
    assert str(err).startswith(f"<text>: document {index}{where}: {field}: ")


def test_broken_file_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(node_text("n1") + "---\n" + node_text("n2", cpu="4 cores"))
    with pytest.raises(ManifestError) as info:
        load_manifests(path)
    assert str(info.value).startswith(f"{path}: document 1 (Node/n2): status.allocatable.cpu: "
                                      "invalid quantity '4 cores'")


def test_broken_fixture_files():
    """Every file in tests/data is broken, and says where."""
    expected = {"bad-quantity.yaml": (2, "Deployment/api",
                                      "spec.template.spec.containers[1].resources.requests.cpu"),
                "bad-syntax.yaml": (1, "", "")}
    for name, (index, obj, field) in expected.items():
        with pytest.raises(ManifestError) as info:
            load_manifests(DATA / name)
        err = info.value
        assert (err.source, err.index, err.obj, err.field) == (str(DATA / name), index, obj, field)


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(ManifestError) as info:
        load_manifests(node_text() + "---\nkind: Pod\nmetadata: {name: [p}\n")
    assert info.value.index == 1
    assert "invalid YAML at line 9, column" in str(info.value)


def test_invalid_json_names_the_line():
    with pytest.raises(ManifestError, match=r"<text>: document 0: invalid JSON at line 2"):
        load_manifests('{"kind": "Node",\n  "metadata": {"name": ')


def test_a_document_must_be_a_mapping():
    with pytest.raises(ManifestError, match="document 1: expected a Kubernetes object"):
        load_manifests(node_text() + "---\n- a\n- b\n")


def test_bad_sources():
    with pytest.raises(FileNotFoundError):
        load_manifests("no-such-file.yaml")
    with pytest.raises(ValidationError, match=r"sources\[1\]: expected a file path"):
        load_manifests(node_dict(), 42)


def test_pod_from_dict_errors_are_manifest_errors():
    with pytest.raises(ManifestError) as info:
        pod_from_dict({"metadata": {"name": "p"},
                       "spec": {"containers": [{"resources": {"requests": {"cpu": "x"}}}]}})
    assert info.value.field == "spec.containers[0].resources.requests.cpu"
    assert info.value.obj == "Pod/p"
    with pytest.raises(ManifestError, match="metadata.name: missing"):
        pod_from_dict({"spec": {}})


def test_failed_load_warns_nothing_and_changes_nothing():
    text = "kind: ConfigMap\nmetadata: {name: c}\n---\n" + node_text(cpu="bad")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ManifestError):
            load_manifests(text)


# -- unknown kinds --------------------------------------------------------------------


def test_unknown_kinds_warn_and_are_skipped():
    text = ("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"
            + node_text() + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n")
    with pytest.warns(ManifestWarning) as record:
        m = load_manifests(text)
    assert [str(w.message) for w in record] == [
        "<text>: document 0: skipping unsupported kind 'Namespace' (shop)",
        "<text>: document 2: skipping unsupported kind 'ConfigMap' (cfg)"]
    assert m.skipped == ("Namespace/shop", "ConfigMap/cfg")
    assert m.cluster.node_names == ("n1",)


# -- bindings -------------------------------------------------------------------------


def test_to_bindings_shape():
    pod = Pod("web-0", "shop")
    (binding,) = to_bindings([(pod, "n1")])
    assert binding == {"apiVersion": "v1", "kind": "Binding",
                       "metadata": {"name": "web-0", "namespace": "shop"},
                       "target": {"apiVersion": "v1", "kind": "Node", "name": "n1"}}
    assert to_bindings({pod: "n1"}) == [binding]
    assert to_bindings([("shop/web-0", "n1")]) == [binding]
    assert to_bindings([("web-0", "n1")])[0]["metadata"]["namespace"] == "default"


def test_to_bindings_from_a_cluster():
    m = load_manifests(node_dict("n1"), pod_dict("old", node="n1"))
    cluster = m.cluster
    cluster.bind(Pod("new", requests={"cpu": "1"}), "n1")
    assert [b["metadata"]["name"] for b in to_bindings(cluster)] == ["old", "new"]
    assert [b["metadata"]["name"] for b in to_bindings(cluster, new_only=True)] == ["new"]
    assert to_bindings(Cluster()) == []


@pytest.mark.parametrize("bad, field", [
    (42, "assignments"), ([("p",)], r"assignments\[0\]"), ([(3, "n1")], r"assignments\[0\]\[0\]"),
    ([(Pod("p"), "")], r"assignments\[0\]\[1\]")])
def test_to_bindings_rejects_bad_input(bad, field):
    with pytest.raises(ValidationError, match=field):
        to_bindings(bad)


def test_dump_bindings_round_trips():
    bindings = to_bindings([(Pod(f"p{i}"), f"n{i}") for i in range(3)])
    text = dump_bindings(bindings)
    assert text.startswith("---\napiVersion: v1\nkind: Binding\n")
    assert list(yaml.safe_load_all(text)) == bindings
    as_json = json.loads(dump_bindings(bindings, format="json"))
    assert as_json == {"apiVersion": "v1", "kind": "List", "items": bindings}
    assert dump_bindings([]) == ""
    with pytest.raises(ValidationError, match="format"):
        dump_bindings(bindings, format="xml")


def test_bindings_can_be_loaded_back_as_a_list():
    """A JSON List of Bindings is a valid manifest: loading it skips each Binding."""
    text = dump_bindings(to_bindings([(Pod("p"), "n1")]), format="json")
    with pytest.warns(ManifestWarning, match="Binding"):
        assert load_manifests(text).skipped == ("Binding/p",)


def test_requested_matches_bound_pods(example):
    expected = np.zeros_like(example.cluster.requested)
    for pod in example.bound:
        row = example.cluster.row(example.cluster.node_of(pod))
        expected[row] += example.cluster.request_vector(pod)
    assert np.array_equal(example.cluster.requested, expected)


# -- hostile input: bounded work, clear errors --------------------------------------------


def nested_lists_bomb(levels: int = 9, width: int = 10) -> str:
    """Nested ``List`` kinds through aliases: ``width ** levels`` pods from a few
    hundred bytes. Expanding it (as the loader did) would never finish."""
    lines = ["apiVersion: v1", "kind: List", "items:",
             "- &p0 {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: "
             "[{name: c}]}}"]
    for k in range(1, levels + 1):
        refs = ", ".join([f"*p{k - 1}"] * width)
        lines.append(f"- &p{k} {{apiVersion: v1, kind: List, items: [{refs}]}}")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused():
    text = nested_lists_bomb()
    assert len(text) < 1000
    with pytest.raises(ManifestError, match=r"aliases expand the document to [\d,]+ values "
                                            r"from \d+ written") as info:
        load_manifests(text)
    assert info.value.source == "<text>" and info.value.index == 0
    # the classic one, under a kind fastsched skips: refused all the same
    laughs = ["kind: ConfigMap", "data:", "  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, name in zip("abcdefgh", "bcdefghi"):
        laughs.append(f"  {name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(ManifestError, match="aliases expand"):
        load_manifests("\n".join(laughs) + "\n")


def test_modest_aliases_still_load():
    # twenty Deployments sharing one pod template through an alias
    template = "{metadata: {labels: {app: a}}, spec: {containers: [{name: c}]}}"
    items = [f"- {{apiVersion: apps/v1, kind: Deployment, metadata: {{name: d{i}}}, spec: "
             f"{{replicas: 2, template: {'&t ' + template if i == 0 else '*t'}}}}}"
             for i in range(20)]
    m = load_manifests("apiVersion: v1\nkind: List\nitems:\n" + "\n".join(items) + "\n")
    assert len(m.pending) == 40 and len(m.workloads) == 20
    assert {p.labels["app"] for p in m.pending} == {"a"}


def test_recursive_alias_is_refused():
    with pytest.raises(ManifestError, match="items: an alias refers to a mapping or list that "
                                            "contains it"):
        load_manifests("apiVersion: v1\nkind: List\nitems: &a [*a]\n")
    cyclic: dict = {"apiVersion": "v1", "kind": "List", "items": []}
    cyclic["items"].append(cyclic)
    with pytest.raises(ManifestError, match="contains it"):
        load_manifests(cyclic)


def test_duplicate_keys_are_refused_with_the_line():
    text = "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels: {a: '1'}\n  name: n2\n"
    with pytest.raises(ManifestError, match=r"<text>: document 0: invalid YAML at line 6, "
                                            r"column 3: found duplicate key 'name' \(first at "
                                            r"line 4\)"):
        load_manifests(text)
    with pytest.raises(ManifestError, match="found duplicate key 'a'"):
        load_manifests("{kind: Node, a: 1, a: 2}\n")
    # JSON: the path of the object that has the key twice
    with pytest.raises(ManifestError) as info:
        load_manifests('{"apiVersion": "v1", "kind": "List", "items": [{}, {"kind": "Node", '
                       '"metadata": {"name": "a", "name": "b"}}]}')
    assert info.value.field == "items[1].metadata" and "duplicate key 'name'" in str(info.value)
    with pytest.raises(ManifestError, match="<text>: document 0: duplicate key 'kind'"):
        load_manifests('{"kind": "Node", "kind": "Pod"}')


def test_merge_keys_are_not_duplicates():
    # YAML merge keys: explicit keys override the merged ones, as YAML 1.1 says
    text = ("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Node\n"
            "  metadata: {name: n1, labels: &l {zone: a}}\n"
            "  status: {allocatable: &a {cpu: '2', memory: 4Gi}}\n"
            "- apiVersion: v1\n  kind: Node\n  metadata: {name: n2, labels: {<<: *l, zone: b}}\n"
            "  status: {allocatable: {<<: *a, cpu: '8'}}\n")
    m = load_manifests(text)
    n2 = m.cluster.node("n2")
    assert n2.labels["zone"] == "b"
    assert n2.allocatable["cpu"] == 8000 and n2.allocatable["memory"] == 4 * Gi
    assert m.cluster.node("n1").allocatable["cpu"] == 2000


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000,
                                  '{"kind": "List", "items": ' + "[" * 300 + "]" * 300 + "}",
                                  "kind: List\nitems: " + "[" * 300 + "]" * 300 + "\n",
                                  "kind: List\nitems: " + "[" * 5000 + "]" * 5000 + "\n"])
def test_deep_nesting_is_refused(text):
    deep = r"nested (too deeply|more than 200 levels)|maximum nesting depth"   # libyaml's own
    with pytest.raises(ManifestError, match=deep) as info:
        load_manifests(text)
    assert len(str(info.value)) < 300        # one line, even for a path 200 deep


def test_nesting_up_to_the_limit_loads():
    from fastsched._documents import MAX_DEPTH
    deep = {"x": 1}
    for _ in range(MAX_DEPTH - 3):            # the Node, metadata, annotations... levels
        deep = {"x": deep}
    node = node_dict()
    node["spec"]["extra"] = deep              # not a field fastsched reads: ignored
    with pytest.raises(ManifestError, match="nested more than"):
        load_manifests(json.dumps({"kind": "List", "items": [node]}))
    node["spec"]["extra"] = deep["x"]["x"]
    assert len(load_manifests(json.dumps({"kind": "List", "items": [node]})).cluster) == 1


def test_long_integers_are_refused_with_the_line():
    text = node_text().replace('cpu: "4"', "cpu: " + "9" * 5000)
    with pytest.raises(ManifestError, match="invalid YAML at line 6, column .*: integer of "
                                            "5000 digits: at most 30 are accepted"):
        load_manifests(text)
    with pytest.raises(ManifestError, match="integer of 5000 digits at line 2"):
        load_manifests('{"kind": "Node",\n "x": -' + "9" * 5000 + "}")
    # 30 digits read, and the quantity check names the field
    with pytest.raises(ManifestError, match="status.allocatable.cpu"):
        load_manifests(node_text().replace('cpu: "4"', "cpu: " + "9" * 30))


@pytest.mark.parametrize("scalar", ["!!float abc", "!!int abc", "!!int 0x", "!!bool maybe",
                                    "!!timestamp xyz", "!!timestamp 2001-99-99", '!!int ""'])
def test_tagged_scalars_that_do_not_read_are_yaml_errors(scalar):
    with pytest.raises(ManifestError, match=r"invalid YAML at line 3, column \d+: cannot read"):
        load_manifests(f"apiVersion: v1\nkind: Node\nx: {scalar}\n")


def test_pods_per_load_are_bounded(monkeypatch):
    from fastsched.kube import manifests
    monkeypatch.setattr(manifests, "MAX_PODS", 5)
    docs = [workload("Deployment", "a", replicas=3), workload("Deployment", "b", replicas=3)]
    with pytest.raises(ManifestError, match=r"Deployment/b\): spec.replicas: 3 pods would "
                                            r"bring the manifests past 5 pods"):
        load_manifests(docs)
    with pytest.raises(ManifestError, match="more than 5 pods"):
        load_manifests([pod_dict(f"p{i}") for i in range(6)])
    assert len(load_manifests(docs[:1] + [pod_dict("p1"), pod_dict("p2")]).pending) == 5


def test_the_pure_python_yaml_loader_has_the_same_limits(monkeypatch):
    # PyYAML built without libyaml: its parser recurses, deep input is still an error
    from fastsched import _documents as documents
    monkeypatch.setattr(documents, "_Loader", documents._loader_class(yaml.SafeLoader))
    for text, message in (("kind: List\nitems: " + "[" * 3000 + "]" * 3000, "nested too deeply"),
                          (nested_lists_bomb(), "aliases expand"),
                          ("a: 1\na: 2\n", "found duplicate key 'a'"),
                          ("a: !!int abc\n", "cannot read 'abc' as !!int")):
        with pytest.raises(ManifestError, match=message):
            load_manifests(text)
    assert len(load_manifests(node_text()).cluster) == 1


def test_duplicate_keys_are_found_in_every_document_of_a_stream():
    docs = [node_text(f"n{i}") for i in range(30)]
    docs[27] = docs[27].replace("metadata:\n", "metadata:\n  labels: {a: '1', a: '2'}\n")
    with pytest.raises(ManifestError, match="document 27: invalid YAML at line 193, column 20: "
                                            "found duplicate key 'a'"):
        load_manifests("---\n".join(docs))
