"""Tests for ``fastsched schedule`` and ``fastsched demo`` (and the plot they draw)."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from fastsched import Cluster, load_manifests
from fastsched.cli import build_parser, main
from fastsched.cli.demo import cmd_demo, demo_workload
from fastsched.plot import label_column, natural_key

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CONFIGS = Path(__file__).resolve().parent / "data" / "config"
NODES, APP = str(EXAMPLES / "nodes.yaml"), str(EXAMPLES / "seed-app.yaml")
# nodes of examples/nodes.yaml no plain pod may use: spot and GPU taints, cordoned
OFF_LIMITS = {"node-a-3", "node-b-3", "node-c-3"}
SMALL_DEMO = ("demo", "--nodes", "300", "--pods", "1000", "--running", "50", "--no-progress")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, docs: list[dict]) -> str:
    path.write_text(yaml.safe_dump_all(docs))
    return str(path)


def pod_doc(name: str, cpu: str, namespace: str = "default") -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "resources": {"requests": {"cpu": cpu}}}]}}


def node_doc(name: str, cpu: str = "4") -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"allocatable": {"cpu": cpu, "memory": "16Gi", "pods": "110"}}}


# -- schedule -------------------------------------------------------------------------


def test_schedule_examples_writes_yaml_bindings(capsys, tmp_path):
    out_file = tmp_path / "b.yaml"
    code, out, err = run(capsys, "schedule", NODES, APP, "--bindings", str(out_file))
    assert code == 0 and err == ""
    assert "Scheduled 3 pending pods onto 9 nodes with profile default-scheduler" in out
    assert re.search(r"^  placed +3$", out, re.M)
    assert re.search(r"^  unschedulable +0$", out, re.M)
    assert "pods/s" in out
    assert f"Bindings: 3 written to {out_file}" in out
    docs = list(yaml.safe_load_all(out_file.read_text()))
    nodes = set(load_manifests(NODES).cluster.node_names)
    assert [d["kind"] for d in docs] == ["Binding"] * 3
    assert sorted(d["metadata"]["name"] for d in docs) == [f"my-deployment-{i}" for i in range(3)]
    targets = [d["target"]["name"] for d in docs]
    assert set(targets) <= nodes - OFF_LIMITS
    # the placements table lists the nodes the bindings name
    for node in targets:
        assert re.search(rf"^  {node} ", out, re.M)


def test_schedule_json_bindings(capsys, tmp_path):
    out_file = tmp_path / "b.json"
    code, _, _ = run(capsys, "schedule", NODES, APP, "--bindings", str(out_file))
    assert code == 0
    data = json.loads(out_file.read_text())
    assert data["kind"] == "List" and len(data["items"]) == 3
    assert all(item["kind"] == "Binding" for item in data["items"])


def test_unschedulable_pod_is_reported_and_exit_is_3(capsys, tmp_path):
    manifest = write(tmp_path / "huge.yaml", [pod_doc("huge", "1000", "team-a")])
    out_file = tmp_path / "b.yaml"
    code, out, err = run(capsys, "schedule", NODES, APP, manifest, "--bindings", str(out_file))
    assert code == 3 and err == ""
    assert run(capsys, "schedule", NODES, APP, manifest, "--allow-unschedulable")[0] == 0
    code, out, err = run(capsys, "schedule", NODES, APP, manifest, "--bindings", str(out_file))
    assert re.search(r"^  placed +3$", out, re.M)
    assert re.search(r"^  unschedulable +1$", out, re.M)
    assert "Unschedulable: 1 pod\n" in out
    line = next(li for li in out.splitlines() if li.startswith("  team-a/huge: "))
    assert line.startswith("  team-a/huge: 0/9 nodes are available: ")
    assert "Insufficient cpu" in line and "node(s) were unschedulable" in line
    assert len(list(yaml.safe_load_all(out_file.read_text()))) == 3   # placed pods only


def test_long_outputs_are_capped(capsys, tmp_path):
    nodes = write(tmp_path / "nodes.yaml", [node_doc(f"n{i:02d}") for i in range(15)])
    pods = write(tmp_path / "pods.yaml", [pod_doc(f"p{i}", "3") for i in range(40)])
    code, out, _ = run(capsys, "schedule", nodes, pods)
    assert code == 3                                    # 25 pods remain unschedulable
    assert "Placements: 15 pods on 15 nodes, the 10 with the most" in out
    assert "  ... and 5 more nodes" in out
    assert "Unschedulable: 25 pods" in out
    assert len(re.findall(r"^  default/p\d+: 0/15 nodes are available:", out, re.M)) == 20
    assert "  ... and 5 more\n" in out


def test_profile_from_config_file(capsys, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        "apiVersion: kubescheduler.config.k8s.io/v1\n"
        "kind: KubeSchedulerConfiguration\n"
        "profiles:\n"
        "  - schedulerName: packer\n"
        "    plugins:\n"
        "      score:\n"
        "        disabled:\n"
        "          - name: NodeResourcesBalancedAllocation\n"
        "          - name: PodTopologySpread\n"   # it would spread the replicas
        "    pluginConfig:\n"
        "      - name: NodeResourcesFit\n"
        "        args:\n"
        "          scoringStrategy:\n"
        "            type: MostAllocated\n")
    # The pods name default-scheduler, which this configuration has no profile for.
    code, out, err = run(capsys, "schedule", NODES, APP, "--profile", str(config))
    assert code == 0 and err == ""
    assert re.search(r"^  not ours +3$", out, re.M) and "Placements" not in out
    assert "  default/my-deployment-0: schedulerName default-scheduler" in out
    # --scheduler-name: every pod by that profile, whatever it names.
    code, out, err = run(capsys, "schedule", NODES, APP, "--profile", str(config),
                         "--scheduler-name", "packer")
    assert code == 0 and err == ""
    assert "with profile packer" in out
    assert "Placements: 3 pods on 1 node " in out       # packed, not spread


def test_profile_picked_by_scheduler_name(capsys):
    config = str(CONFIGS / "binpack.yaml")
    code, out, _ = run(capsys, "schedule", NODES, APP, "--profile", config,
                       "--scheduler-name", "binpack")
    assert code == 0 and "with profile binpack" in out and "3 pods on 1 node " in out
    code, out, _ = run(capsys, "schedule", NODES, APP, "--profile", config)
    assert code == 0 and "with profiles default-scheduler, binpack" in out


def test_options_reach_the_scheduler(capsys):
    code, out, err = run(capsys, "schedule", NODES, APP, "--tie-break", "random",
                         "--seed", "7", "--percentage", "0")
    assert code == 0 and err == "" and re.search(r"^  placed +3$", out, re.M)


def test_bad_profile_exits_2(capsys, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("apiVersion: kubescheduler.config.k8s.io/v1\n"
                      "kind: KubeSchedulerConfiguration\n"
                      "profiles:\n"
                      "  - schedulerName: x\n"
                      "    plugins:\n"
                      "      score:\n"
                      "        enabled:\n"
                      "          - name: Nope\n")
    code, out, err = run(capsys, "schedule", NODES, APP, "--profile", str(config))
    assert code == 2 and out == ""
    assert err == (f"fastsched: error: {config}: profiles[0].plugins.score.enabled[0].name: "
                   "unknown plugin 'Nope'\n")
    code, out, err = run(capsys, "schedule", NODES, "--profile", str(tmp_path / "none.yaml"))
    assert code == 2 and out == ""
    assert err == f"fastsched: error: {tmp_path / 'none.yaml'}: no such configuration file\n"
    code, _, err = run(capsys, "schedule", NODES, "--profile", str(CONFIGS / "binpack.yaml"),
                       "--scheduler-name", "nope")
    assert code == 2 and "no profile with schedulerName 'nope'" in err
    code, _, err = run(capsys, "schedule", NODES, "--scheduler-name", "binpack")
    assert code == 2 and err == "fastsched: error: --scheduler-name needs --profile CONFIG\n"


def test_bad_arguments_exit_2(capsys, tmp_path):
    code, _, err = run(capsys, "schedule", NODES, "--percentage", "101")
    assert code == 2 and "argument --percentage: must be in [0, 100], got 101" in err
    code, _, err = run(capsys, "schedule", NODES, "--tie-break", "last")
    assert code == 2 and "invalid choice" in err
    code, out, err = run(capsys, "schedule", "no/such/file.yaml")
    assert code == 2 and out == "" and err.startswith("fastsched: error: no/such/file.yaml")
    code, _, err = run(capsys, "demo", "--nodes", "0")
    assert code == 2 and "argument --nodes: must be in [1, 1,000,000], got 0" in err


def test_nothing_pending(capsys, tmp_path):
    out_file = tmp_path / "b.yaml"
    code, out, _ = run(capsys, "schedule", NODES, "--bindings", str(out_file))
    assert code == 0
    assert "Nothing to schedule" in out and "Bindings: 0 written" in out
    assert out_file.read_text() == ""


# -- demo -----------------------------------------------------------------------------


def test_demo_small(capsys):
    code, out, err = run(capsys, *SMALL_DEMO)
    assert code == 0 and err == ""   # no progress bar, and none off a terminal anyway
    assert out.startswith("Cluster: 300 nodes in 3 zones (zone-a 100, zone-b 100, zone-c 100)")
    assert "Workload: 1,000 pending pods" in out
    assert re.search(r"^  Deployment  web +400 +100m +500Mi ", out, re.M)
    assert re.search(r"^  Job +ml-train +50 .* +1 +tolerates gpu$", out, re.M)
    assert re.search(r"^Scheduled 1,000 pods in [\d.]+ m?s: [\d,]+ pods/s", out, re.M)
    placed = int(re.search(r"^  placed +([\d,]+)", out, re.M)[1].replace(",", ""))
    failed = int(re.search(r"^  unschedulable +([\d,]+)", out, re.M)[1].replace(",", ""))
    assert placed + failed == 1000 and placed > 900
    table = {line.split()[0]: line.split() for line in out.splitlines()
             if line.startswith("  ") and line.split()}
    for resource in ("cpu", "memory", "pods", "nvidia.com/gpu"):
        assert resource in table
    # pods: 50 running before, every placed pod after, out of 300 x 110
    assert table["pods"][1:] == ["33,000", "50", "0.2%", f"{50 + placed:,}",
                                 f"{100 * (50 + placed) / 33000:.1f}%"]
    assert "Placements by zone" in out
    if failed:
        assert "Top unschedulable reasons" in out and "e.g. default/" in out


def test_demo_is_deterministic(capsys):
    def without_timings(text: str) -> str:
        return "\n".join(line for line in text.splitlines()
                         if "built in" not in line and not line.startswith("Scheduled"))

    _, first, _ = run(capsys, *SMALL_DEMO, "--seed", "3")
    _, again, _ = run(capsys, *SMALL_DEMO, "--seed", "3")
    assert without_timings(first) == without_timings(again)


def test_demo_progress_bar_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    args = build_parser().parse_args(["demo", "--nodes", "50", "--pods", "400",
                                      "--running", "0"])
    out, err = io.StringIO(), Terminal()
    assert cmd_demo(args, out=out, err=err) == 0
    bar = err.getvalue()
    assert bar.startswith("\rScheduling ") and "0/400 pods" in bar   # tqdm's bar
    assert bar.endswith("\r")                                         # cleared at the end
    assert "pods/s" in out.getvalue() and "Scheduling" not in out.getvalue()

    args = build_parser().parse_args(["demo", "--nodes", "50", "--pods", "400",
                                      "--running", "0", "--no-progress"])
    err = Terminal()
    assert cmd_demo(args, out=io.StringIO(), err=err) == 0
    assert err.getvalue() == ""
    args = build_parser().parse_args(["demo", "--nodes", "50", "--pods", "400",
                                      "--running", "0", "-q"])
    assert cmd_demo(args, out=io.StringIO(), err=err) == 0
    assert err.getvalue() == ""


def test_demo_workload():
    groups, pods = demo_workload(1000, seed=5)
    assert len(pods) == 1000 == sum(size for *_, size in groups)
    assert len({p.name for p in pods}) == 1000                  # each pod its own name
    kinds = {name: (kind, size) for kind, name, _, size in groups}
    assert kinds["web"] == ("Deployment", 400) and kinds["ml-train"] == ("Job", 50)
    web = next(p for p in pods if p.name.startswith("web-"))
    assert dict(web.requests) == {"cpu": 100, "memory": 500 << 20}
    gpu = [p for p in pods if p.requests.get("nvidia.com/gpu")]
    assert len(gpu) == 50 and all(p.name.startswith("ml-train-") for p in gpu)
    assert any(p.node_affinity is not None and p.node_affinity.required for p in pods)
    assert any(p.tolerations for p in pods if not p.requests.get("nvidia.com/gpu"))
    assert [p.name for p in demo_workload(1000, seed=5)[1]] == [p.name for p in pods]
    assert [p.name for p in demo_workload(1000, seed=6)[1]] != [p.name for p in pods]


def test_demo_plot_writes_a_png(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "cluster.png"
    code, out, err = run(capsys, "demo", "--nodes", "60", "--pods", "200", "--running", "10",
                         "--no-progress", "--plot", str(path))
    assert code == 0 and err == ""
    assert f"Plot: {path}" in out
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_plot_without_matplotlib_fails_first(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import matplotlib -> ImportError
    code, out, err = run(capsys, *SMALL_DEMO, "--plot", str(tmp_path / "x.png"))
    assert code == 2 and out == ""
    assert err == "fastsched: error: --plot needs matplotlib: pip install 'fastsched[plot]'\n"


# -- plot helpers -----------------------------------------------------------------------


def test_label_column_takes_the_first_key_present():
    cluster = Cluster()
    cluster.add_node("a", {"cpu": 1}, labels={"topology.kubernetes.io/zone": "z1"})
    cluster.add_node("b", {"cpu": 1}, labels={"failure-domain.beta.kubernetes.io/zone": "z2",
                                               "topology.kubernetes.io/zone": "z3"})
    cluster.add_node("c", {"cpu": 1}, labels={"failure-domain.beta.kubernetes.io/zone": "z4"})
    cluster.add_node("d", {"cpu": 1})
    keys = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
    assert label_column(cluster, keys).tolist() == ["z1", "z3", "z4", None]
    assert label_column(cluster, ("missing",)).tolist() == [None] * 4


def test_natural_key():
    shapes = ["standard-16", "standard-4", "gpu-8", "standard-8"]
    assert sorted(shapes, key=natural_key) == ["gpu-8", "standard-4", "standard-8",
                                               "standard-16"]


def test_plot_cluster_without_labels(tmp_path):
    pytest.importorskip("matplotlib")
    from fastsched.plot import plot_cluster
    cluster = Cluster()
    cluster.add_node("a", {"cpu": "2", "memory": "4Gi"})
    cluster.add_node("b", {"cpu": "0"})
    path = tmp_path / "c.png"
    plot_cluster(cluster, path)
    assert path.stat().st_size > 0
    with pytest.raises(ValueError, match="expected a Cluster"):
        plot_cluster("not a cluster", path)


def test_plot_cluster_says_how_to_get_matplotlib(monkeypatch, tmp_path):
    from fastsched.plot import plot_cluster
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'fastsched\[plot\]'"):
        plot_cluster(Cluster(), tmp_path / "c.png")


# -- kubectl's habits ------------------------------------------------------------------


def test_json_and_yaml_reports_follow_their_schema(capsys, tmp_path):
    manifest = write(tmp_path / "huge.yaml", [pod_doc("huge", "1000", "team-a")])
    code, out, err = run(capsys, "schedule", NODES, APP, manifest, "-o", "json")
    assert code == 3 and err == ""
    doc = json.loads(out)
    assert (doc["apiVersion"], doc["kind"], doc["version"]) == ("fastsched.io/v1",
                                                                "ScheduleReport", 1)
    assert doc["profiles"] == ["default-scheduler"]
    assert doc["summary"] == {"pending": 4, "placed": 3, "unschedulable": 1, "evicted": 0,
                              "notOurs": 0}
    assert sorted(p["pod"] for p in doc["placements"]) == [
        f"default/my-deployment-{i}" for i in range(3)]
    assert set(doc["placements"][0]) == {"pod", "node", "profile", "score"}
    (bad,) = doc["unschedulable"]
    assert bad["pod"] == "team-a/huge" and bad["message"].startswith("0/9 nodes are available")
    assert bad["reasons"]["Insufficient cpu"] >= 1
    code, out, _ = run(capsys, "schedule", NODES, APP, "-o", "yaml")
    assert code == 0 and yaml.safe_load(out)["summary"]["placed"] == 3
    code, out, _ = run(capsys, "schedule", NODES, APP, "-o", "name")
    assert sorted(out.split()) == [f"pod/default/my-deployment-{i}" for i in range(3)]
    code, out, _ = run(capsys, "schedule", NODES, APP, "-o", "wide")
    assert "Every placement, in queue order:" in out and "default/my-deployment-0" in out


def test_stdin_filename_and_bindings_to_stdout(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(Path(APP).read_text()))
    code, out, _ = run(capsys, "schedule", "-f", NODES, "-", "--bindings", "-")
    assert code == 0
    docs = list(yaml.safe_load_all(out))
    assert [d["kind"] for d in docs] == ["Binding"] * 3
    monkeypatch.setattr(sys, "stdin", io.StringIO("kind: Pod\nmetadata: {name: x}\nspec: 5\n"))
    code, out, err = run(capsys, "schedule", NODES, "-")
    assert code == 2 and "<stdin>" in err and "Traceback" not in err


def test_usage_errors_exit_2_with_a_hint(capsys, tmp_path):
    code, _, err = run(capsys, "schedule", NODES, APP, "-o", str(tmp_path / "b.yaml"))
    assert code == 2 and "Bindings are written with --bindings FILE" in err
    code, _, err = run(capsys, "schedule", NODES, APP, "-o", "json", "--bindings", "-")
    assert code == 2 and "would both write to stdout" in err
    code, _, err = run(capsys, "schedule")
    assert code == 2 and "no manifests" in err


def test_inspect_reports_as_json_yaml_and_names(capsys, monkeypatch):
    code, out, err = run(capsys, "inspect", "-f", NODES, "-f", APP, "-o", "json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert (doc["apiVersion"], doc["kind"], doc["version"]) == ("fastsched.io/v1",
                                                                "InspectReport", 1)
    names = [n["name"] for n in doc["nodes"]]
    assert names == list(load_manifests(NODES).cluster.node_names)
    assert set(doc["nodes"][0]) == {"name", "allocatable", "requested", "labels", "taints",
                                    "unschedulable"}
    assert sorted(doc["pods"]["pending"]) == [f"default/my-deployment-{i}" for i in range(3)]
    monkeypatch.setattr(sys, "stdin", io.StringIO(Path(NODES).read_text()))
    code, out, _ = run(capsys, "inspect", "-", "-o", "yaml")
    assert code == 0 and [n["name"] for n in yaml.safe_load(out)["nodes"]] == names
    code, out, _ = run(capsys, "inspect", NODES, "-o", "name")
    lines = out.split()
    assert lines[:len(names)] == [f"node/{n}" for n in names]
    assert all(line.startswith("pod/") for line in lines[len(names):])   # the bound pods
    code, out, _ = run(capsys, "inspect", NODES, "-o", "wide")
    assert code == 0 and "NAME" in out and names[0] in out
    assert run(capsys, "inspect")[0] == 2


def test_a_mistyped_option_gets_a_suggestion(capsys):
    code, out, err = run(capsys, "schedule", NODES, "--profle", "x.yaml")
    assert code == 2 and out == ""
    assert "unrecognized arguments: --profle x.yaml (--profle: did you mean --profile?)" in err
    code, _, err = run(capsys, "schedule", NODES, "--zzzz")
    assert code == 2 and "did you mean" not in err
