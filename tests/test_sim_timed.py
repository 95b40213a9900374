"""The time-based replay, by hand, and the figures of simulations."""

from __future__ import annotations

import pytest

from fastsched.cli import main
from fastsched.errors import ValidationError
from fastsched.sim import load_openb
from fastsched.sim.timed import replay_timed

NODES = "sn,cpu_milli,memory_mib,gpu,model\nn1,8000,16384,1,T4\n"
HEADER = ("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
          "creation_time,deletion_time,scheduled_time\n")
# A holds the only GPU from 0 to 10; B (BE) and D (LS) wait for it, C (LS) gives up at
# 8; when A leaves, D goes first (higher priority) and runs 26 s, then B; E needs no GPU
PODS = HEADER + "\n".join([
    "a,1000,1024,1,1000,,BE,Running,0,10,0",
    "b,1000,1024,1,1000,,BE,Running,2,100,2",
    "c,1000,1024,1,1000,,LS,Running,3,8,3",
    "d,1000,1024,1,1000,,LS,Running,4,30,4",
    "e,1000,1024,0,0,,BE,Running,5,6,5",
]) + "\n"


@pytest.fixture
def tiny(tmp_path):
    (tmp_path / "nodes.csv").write_text(NODES)
    (tmp_path / "pods.csv").write_text(PODS)
    return load_openb(tmp_path / "nodes.csv", tmp_path / "pods.csv")


@pytest.mark.parametrize("policy", ["FGD", "BestFit", "Random"])
def test_a_tiny_timeline_by_hand(tiny, policy):
    cluster, trace = tiny
    r = replay_timed(cluster, trace, policy)
    names = [trace.names[i] for i in r.order]
    start = dict(zip(names, r.start.tolist()))
    wait = dict(zip(names, r.wait.tolist()))
    assert start == {"a": 0, "b": 36, "c": -1, "d": 10, "e": 5}
    assert wait == {"a": 0, "b": 34, "c": -1, "d": 6, "e": 0}
    assert (r.ran, r.never_ran, int(r.queue.max())) == (4, 1, 3)
    assert r.gpu_util.max() == 100.0 and r.gpu_util[-1] == 0.0
    assert r.wait_percentiles()["max"] == 34
    assert cluster.gpu_allocated_milli() == 0


def test_speedup_compresses_arrivals_not_runtimes(tiny):
    cluster, trace = tiny
    r = replay_timed(cluster, trace, "FGD", speedup=2.0)
    start = dict(zip((trace.names[i] for i in r.order), r.start.tolist()))
    # arrivals at 0, 1, 1, 2, 2; A still runs 10 s; C gives up 5 s after arriving
    assert start == {"a": 0, "b": 36, "c": -1, "d": 10, "e": 2}
    with pytest.raises(ValidationError, match="speedup"):
        replay_timed(cluster, trace, "FGD", speedup=0)


def test_timed_cli_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    (tmp_path / "nodes.csv").write_text(NODES)
    (tmp_path / "pods.csv").write_text(PODS)
    fig = tmp_path / "timed.png"
    code = main(["simulate", "--nodes", str(tmp_path / "nodes.csv"), "--pods",
                 str(tmp_path / "pods.csv"), "--timed", "--plot", str(fig), "-o", "json"])
    out = capsys.readouterr().out
    assert code == 0 and '"kind": "TimedReport"' in out and '"never_ran": 1' in out
    assert fig.stat().st_size > 10_000


def test_sweep_figures(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    pytest.importorskip("distributed")
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("sn,cpu_milli,memory_mib,gpu,model\n" + "".join(
        f"n{i},32000,65536,{g},T4\n" for i, g in enumerate([1, 2, 4, 8] * 2)))
    pods = tmp_path / "openb_pod_list_w.csv"
    pods.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli\n" + "".join(
        f"p{i},{1000 + 500 * (i % 5)},1024,{n},{m}\n" for i, (n, m) in enumerate(
            [(1, 300), (1, 700), (1, 1000), (2, 1000), (0, 0)] * 6)))
    out = tmp_path / "r.csv"
    assert main(["sweep", "--nodes", str(nodes), "--pods", str(pods), "--seeds", "1-2",
                 "--workers", "1", "--out", str(out), "-q"]) == 0
    fig = tmp_path / "sweep.png"
    assert main(["plot", str(out), "-o", str(fig)]) == 0
    assert fig.stat().st_size > 20_000
    code = main(["plot", str(tmp_path / "missing.csv"), "-o", str(fig)])
    assert code == 2 and "no such file" in capsys.readouterr().err
