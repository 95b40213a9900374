"""Tests for the fastsched command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fastsched
from fastsched.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NODES, APP = str(EXAMPLES / "nodes.yaml"), str(EXAMPLES / "seed-app.yaml")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    code, out, err = run(capsys, "--version")
    assert code == 0 and out == f"fastsched {fastsched.__version__}\n" and err == ""


def test_inspect_examples(capsys):
    code, out, err = run(capsys, "inspect", NODES, APP)
    assert code == 0 and err == ""
    assert "Nodes: 9 in 3 zones (zone-a 3, zone-b 3, zone-c 3); 1 unschedulable, 3 tainted" in out
    assert "nvidia.com/gpu=present:NoSchedule 1" in out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    # resource, allocatable, requested, used, pending (cpu in cores)
    assert lines["cpu"] == ["cpu", "51.24", "0.2", "0.4%", "0.75"]
    assert lines["memory"][2:] == ["270Mi", "0.1%", "768Mi"]
    assert lines["ephemeral-storage"][1] == "1170Gi"
    assert lines["pods"] == ["pods", "990", "2", "0.2%", "3"]
    assert lines["nvidia.com/gpu"][1] == "4"
    assert "Pods: 2 bound, 3 pending" in out
    assert "kube-system 2" in out
    assert "Deployment default/my-deployment 3" in out
    assert "Services: 1" in out
    assert lines["default/my-service"] == ["default/my-service", "ClusterIP", "80->8080/TCP",
                                           "app=my-app", "3", "(0", "bound,", "3", "pending)"]


def test_inspect_lists_nodes(capsys):
    code, out, _ = run(capsys, "inspect", "--nodes", NODES)
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["node-a-1"][:6] == ["node-a-1", "zone-a", "standard-4", "3.92", "15Gi", "1/110"]
    assert rows["node-a-2"][4] == "30716Mi"
    assert "unschedulable," in rows["node-c-3"]
    assert "Pods: 2 bound, 0 pending" in out


def test_inspect_warns_about_skipped_documents(capsys, tmp_path):
    path = tmp_path / "extra.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n")
    code, out, err = run(capsys, "inspect", NODES, str(path))
    assert code == 0
    assert err == (f"fastsched: warning: {path}: document 0: skipping unsupported kind "
                   "'ConfigMap' (settings)\n")
    assert "Skipped: 1 (ConfigMap/settings)" in out


def test_broken_file_exits_2_with_the_error(capsys, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n"
                    "status:\n  allocatable:\n    cpu: four\n")
    code, out, err = run(capsys, "inspect", NODES, str(path))
    assert code == 2 and out == ""
    assert err.startswith(f"fastsched: error: {path}: document 0 (Node/n1): "
                          "status.allocatable.cpu: invalid quantity 'four'")


def test_missing_file_exits_2(capsys):
    code, out, err = run(capsys, "inspect", "no/such/file.yaml")
    assert code == 2 and out == ""
    assert err == "fastsched: error: no/such/file.yaml: no such file\n"


def test_usage_errors_exit_2(capsys):
    code, _, err = run(capsys)
    assert code == 2 and "a command is required" in err
    code, _, err = run(capsys, "inspect")
    assert code == 2 and "FILE" in err
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in err


# the script beside this interpreter (a venv not activated), else the one on PATH
SCRIPT = (str(Path(sys.executable).with_name("fastsched"))
          if Path(sys.executable).with_name("fastsched").exists() else shutil.which("fastsched"))


@pytest.mark.skipif(SCRIPT is None, reason="console script not installed")
def test_console_script():
    done = subprocess.run([SCRIPT, "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.strip() == f"fastsched {fastsched.__version__}"
    done = subprocess.run([SCRIPT, "inspect", NODES, APP],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Pods: 2 bound, 3 pending" in done.stdout


# -- hostile input: bounded, one line, status 2 -------------------------------------------


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    return lines[-1]


def test_inspect_refuses_an_alias_bomb_and_duplicate_keys(capsys, tmp_path):
    bomb = ["apiVersion: v1", "kind: List", "items:",
            "- &p0 {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c}]}}"]
    bomb += [f"- &p{k} {{apiVersion: v1, kind: List, items: [{', '.join([f'*p{k - 1}'] * 10)}]}}"
             for k in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(bomb) + "\n")
    code, out, err = run(capsys, "inspect", str(path))
    assert code == 2 and out == ""
    assert one_line_error(err).startswith(f"fastsched: error: {path}: document 0: aliases "
                                          "expand the document to ")
    path.write_text("apiVersion: v1\nkind: Node\nmetadata: {name: a}\nmetadata: {name: b}\n")
    code, _, err = run(capsys, "inspect", str(path))
    assert code == 2 and "line 4, column 1: found duplicate key 'metadata' (first at line 3)" in err
    path.write_text("[" * 5000 + "]" * 5000)
    code, _, err = run(capsys, "inspect", str(path))
    assert code == 2 and "nested too deeply" in one_line_error(err)


@pytest.mark.parametrize("argv,message", [
    (["demo", "--nodes", "10000000000000"], "argument --nodes: must be in [1, 1,000,000]"),
    (["demo", "--pods", "1000001"], "argument --pods: must be in [0, 1,000,000]"),
    (["demo", "--running", "-1"], "argument --running: must be in [0, 1,000,000]"),
    (["demo", "--nodes", "9" * 5000], "expected an integer, got '99999999999999999999...(5000 "
                                      "characters)'"),
    (["route", NODES, "--service", "s", "--keys", "-", "--table-size", "2147483647"],
     "argument --table-size: must be in [2, 16,777,213], got 2,147,483,647"),
    (["route", NODES, "--service", "s", "--keys", "-", "--table-size", "65536"],
     "argument --table-size: must be a prime"),
])
def test_sizing_arguments_have_upper_bounds(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert message in one_line_error(err)


def test_route_accepts_the_largest_table(capsys, tmp_path, monkeypatch):
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("client-1\nclient-2\n"))
    code, out, err = run(capsys, "route", NODES, APP, "--service", "my-service", "--keys", "-",
                         "--schedule", "--table-size", "16777213")
    assert code == 0 and err == ""
    assert [line.split("\t")[0] for line in out.splitlines()] == ["client-1", "client-2"]
