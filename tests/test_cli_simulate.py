"""fastsched simulate as a user runs it: reports, and bad input named without a traceback."""

from __future__ import annotations

import json

import pytest
import yaml

from fastsched.cli import main
from fastsched.cli.schemas import SCHEMAS

NODES = "sn,cpu_milli,memory_mib,gpu,model\n" + "".join(
    f"node-{i},32000,131072,{g},{m}\n" for i, (g, m) in enumerate(
        [(8, "G2"), (8, "G2"), (4, "T4"), (2, "P100"), (1, "T4"), (8, "V100M32")]))
PODS = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n" + "".join(
    f"pod-{i:03d},{c},{m},{n},{g},{s}\n" for i, (c, m, n, g, s) in enumerate(
        [(4000, 8192, 1, 500, ""), (2000, 4096, 1, 250, ""), (8000, 16384, 1, 1000, ""),
         (16000, 32768, 4, 1000, ""), (1000, 2048, 0, 0, ""), (6000, 12288, 1, 460, "T4"),
         (4000, 8192, 2, 1000, "G2|V100M32"), (3000, 6144, 1, 700, "")] * 3))
KEYS = ["policy", "seed", "inflate", "total_gpus", "gpu_alloc_curve", "gpu_alloc_ratio",
        "frag_ratio", "cpu_alloc_ratio", "placed", "failed", "wall_s"]


@pytest.fixture
def files(tmp_path):
    (tmp_path / "nodes.csv").write_text(NODES)
    (tmp_path / "pods.csv").write_text(PODS)
    return tmp_path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("policy", ["Random", "DotProd", "GpuClustering", "GpuPacking",
                                    "BestFit", "FGD"])
def test_json_report_has_the_documented_fields(capsys, files, policy):
    code, out, err = run(capsys, "simulate", "--nodes", str(files / "nodes.csv"), "--pods",
                         str(files / "pods.csv"), "--policy", policy.lower(), "-o", "json")
    assert code == 0, err
    report = json.loads(out)
    assert list(report)[3:] == KEYS and report["kind"] == "SimulateReport"
    assert report["policy"] == policy and len(report["gpu_alloc_curve"]) == 131
    known = [v for v in report["gpu_alloc_curve"] if v is not None]
    assert known[-1] == report["gpu_alloc_ratio"] and known[0] == 0
    assert report["placed"] + report["failed"] >= 24
    schema = SCHEMAS["SimulateReport"]
    assert set(schema["required"]) >= {"policy", "gpu_alloc_curve"}


def test_table_and_yaml(capsys, files):
    args = ["simulate", "--nodes", str(files / "nodes.csv"), "--pods", str(files / "pods.csv")]
    code, out, _ = run(capsys, *args)
    assert code == 0 and "GPU allocated:" in out and "FGD (seed 42, inflate 1.3)" in out
    code, out, _ = run(capsys, *args, "-o", "yaml", "--seed", "7", "--inflate", "1.1")
    doc = yaml.safe_load(out)
    assert (doc["seed"], doc["inflate"]) == (7, 1.1)


@pytest.mark.parametrize("pods, message", [
    ("name,cpu_milli,memory_mib,num_gpu,gpu_milli\na,-5,1,0,0\n",
     "pods.csv: row 1, column 'cpu_milli': must be in [0,"),
    ("name,cpu_milli,memory_mib,num_gpu,gpu_milli\na,1000,1,3,500\n",
     "pods.csv: row 1, column 'gpu_milli': num_gpu 3 with gpu_milli 500"),
    ("name,cpu_milli,memory_mib,num_gpu,gpu_milli,owner\na,1000,1,0,0,x\n",
     "pods.csv: header, column 'owner': unknown column"),
])
def test_bad_rows_exit_2_naming_file_row_and_column(capsys, files, pods, message):
    (files / "pods.csv").write_text(pods)
    code, out, err = run(capsys, "simulate", "--nodes", str(files / "nodes.csv"), "--pods",
                         str(files / "pods.csv"))
    assert code == 2 and out == "" and message in err and "Traceback" not in err


def test_wrong_path_and_unknown_policy_exit_2(capsys, files):
    code, _, err = run(capsys, "simulate", "--nodes", str(files / "nope.csv"), "--pods",
                       str(files / "pods.csv"))
    assert code == 2 and err.endswith("nope.csv: no such file\n")
    code, _, err = run(capsys, "simulate", "--nodes", str(files / "nodes.csv"), "--pods",
                       str(files / "pods.csv"), "--policy", "Tetris")
    assert code == 2 and "--policy: must be one of Random" in err
