"""``fastsched schedule`` on ``examples/cluster-dump``: a real-looking dump scheduled
as kube-scheduler would (see that folder's README for the reasoning)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from fastsched import Scheduler, load_manifests
from fastsched.cli import main
from fastsched.scheduler.preemption import Preemption

DUMP = Path(__file__).resolve().parents[1] / "examples" / "cluster-dump"
CLUSTER, CONFIG = str(DUMP / "cluster.yaml"), str(DUMP / "scheduler-config.yaml")


def test_the_dump_is_scheduled_as_kube_scheduler_would(capsys, tmp_path):
    bindings = tmp_path / "b.yaml"
    assert main(["schedule", CLUSTER, "--profile", CONFIG, "--bindings", str(bindings)]) == 0
    out = capsys.readouterr().out
    assert "Scheduled 10 pending pods onto 4 nodes with profiles default-scheduler, bin-packer" in out
    for label, count in (("placed", 10), ("unschedulable", 0), ("by preemption", 1),
                         ("not ours", 1)):
        assert re.search(rf"^  {label} +{count}$", out, re.M), label
    # worker-a holds the lowest-priority pod that frees enough CPU (upstream: the node
    # whose most important victim has the lowest priority)
    assert ("  prod/payments-api-0 (priority 1000000) on worker-a: ml/train-0 (priority 10)"
            in out)
    assert "  data/spark-driver-0: schedulerName volcano" in out
    written = {b["metadata"]["name"]: b["target"]["name"]
               for b in yaml.safe_load_all(bindings.read_text())}
    assert len(written) == 10 and "spark-driver-0" not in written
    assert "cp-1" not in written.values()          # the control-plane taint


def test_each_pod_by_its_profile_and_the_replicaset_spread():
    m = load_manifests(CLUSTER)
    assert m.skipped.count("ReplicaSet/web-5d8f7c9b4") == 1       # its pods are listed
    assert "Pod/migrate-db-8xk2p" in m.skipped                    # Succeeded
    result = Scheduler.from_config(m.cluster, CONFIG, services=m.services).schedule_queue(m.pending)
    first = result[0]
    assert isinstance(first, Preemption) and first.pod.name == "payments-api-0"
    nodes = {o.pod.name: o.node for o in result}
    profile = {o.pod.name: p for o, p in zip(result, result.profile_of)}
    web = sorted(nodes[n] for n in nodes if n.startswith("web-"))
    assert web == ["worker-a"] * 2 + ["worker-b"] * 2 + ["worker-c"] * 2
    assert {nodes[f"etl-{i}"] for i in range(3)} == {"worker-c"}    # MostAllocated packs
    assert {profile[f"etl-{i}"] for i in range(3)} == {"bin-packer"}
    assert profile["web-5d8f7c9b4-4kq9z"] == "default-scheduler"


def test_without_owner_references_the_replicas_pile_up():
    docs = yaml.safe_load(Path(CLUSTER).read_text())
    items = [d for d in docs["items"] if d["kind"] != "ReplicaSet"]
    for d in items:
        if d["kind"] == "Pod" and d["metadata"]["name"].startswith("web-"):
            del d["metadata"]["ownerReferences"]
    m = load_manifests({"apiVersion": "v1", "kind": "List", "items": items})
    result = Scheduler.from_config(m.cluster, CONFIG).schedule_queue(m.pending)
    web = [o.node for o in result if o.pod.name.startswith("web-")]
    assert web == ["worker-a"] * 6          # LeastAllocated alone: the emptiest node


def test_feature_gates_and_no_preemption_on_the_command_line(capsys):
    assert main(["schedule", CLUSTER, "--profile", CONFIG, "--no-preemption",
                 "--feature-gates", "TaintTolerationComparisonOperators=true"]) == 3
    out = capsys.readouterr().out
    assert re.search(r"^  unschedulable +1$", out, re.M) and "Preempted" not in out
    assert "  prod/payments-api-0: 0/4 nodes are available: " in out
    assert main(["schedule", CLUSTER, "--feature-gates", "Nope=true"]) == 2
    err = capsys.readouterr().err
    assert "argument --feature-gates: unrecognized feature gate: Nope" in err
