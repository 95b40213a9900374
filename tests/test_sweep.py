"""Sweeps on Dask: a real scheduler and worker as separate processes on 127.0.0.1,
the embedded cluster, resumable result files, variants, bad input."""

from __future__ import annotations

import csv
import math
import socket
import subprocess
import sys

import pytest

from fastsched.cli import main
from fastsched.sim import load_openb, simulate
from fastsched.sim.results import done_keys, read_curves
from fastsched.sim.sweep import Grid, Variant, Workload, parse_variant, sweep

distributed = pytest.importorskip("distributed")

NODES = "sn,cpu_milli,memory_mib,gpu,model\n" + "".join(
    f"node-{i:02d},{c},{m},{g},{model}\n" for i, (c, m, g, model) in enumerate(
        [(64000, 262144, 8, "G2")] * 4 + [(32000, 131072, 4, "T4")] * 4
        + [(96000, 393216, 8, "V100M32")] * 2 + [(16000, 65536, 2, "P100")] * 3))
SHAPES = [(4000, 8192, 1, 500, ""), (2000, 4096, 1, 250, ""), (8000, 16384, 1, 1000, ""),
          (16000, 32768, 4, 1000, ""), (1000, 2048, 0, 0, ""), (6000, 12288, 1, 460, "T4"),
          (4000, 8192, 2, 1000, "G2|V100M32"), (3000, 6144, 1, 700, ""),
          (32000, 65536, 8, 1000, ""), (12000, 24576, 1, 300, "")]
PODS = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n" + "".join(
    f"pod-{i:03d},{c},{m},{n},{g},{s}\n" for i, (c, m, n, g, s) in enumerate(SHAPES * 8))


@pytest.fixture
def files(tmp_path):
    (tmp_path / "nodes.csv").write_text(NODES)
    (tmp_path / "openb_pod_list_small.csv").write_text(PODS)
    return tmp_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_address():
    """A Dask scheduler and one worker, each its own process, on 127.0.0.1."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                               "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker",
                                       address, "--nthreads", "1", "--nworkers", "1",
                                       "--no-dashboard", "--host", "127.0.0.1"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        client = distributed.Client(address, timeout="60s")
        client.wait_for_workers(1, timeout=60)
        client.close()
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def _grid(files, **kw):
    cluster, trace = load_openb(files / "nodes.csv", files / "openb_pod_list_small.csv")
    return Grid((Workload("small", cluster, trace),), **kw)


def _same(a, b):
    return all((x == y) or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


def test_a_sweep_on_a_separate_dask_cluster_equals_the_embedded_one(files, dask_address,
                                                                     capsys):
    out = files / "remote.csv"
    code = main(["sweep", "--nodes", str(files / "nodes.csv"), "--pods",
                 str(files / "openb_pod_list_small.csv"), "--policies", "FGD,BestFit,Random",
                 "--seeds", "1-2", "--scheduler-address", dask_address, "--out", str(out),
                 "-q"])
    assert code == 0, capsys.readouterr().err
    remote = {(r["sc_policy"], r["seed"]): r["curve"] for r in read_curves(out)}
    assert len(remote) == 6
    grid = _grid(files, policies=("FGD", "BestFit", "Random"), seeds=(1, 2))
    embedded = sweep(grid, workers=2)
    cluster, trace = grid.workloads[0].cluster, grid.workloads[0].trace
    for exp, result in embedded:
        assert _same(remote[(exp.key[1], exp.seed)], result.gpu_alloc_curve)
        direct = simulate(cluster, trace, exp.policy, exp.seed, exp.inflate)
        assert _same(result.gpu_alloc_curve, direct.gpu_alloc_curve)
        assert (result.placed, result.failed) == (direct.placed, direct.failed)


def test_sweeps_resume_from_their_output(files, capsys):
    out = files / "r.csv"
    base = ["sweep", "--nodes", str(files / "nodes.csv"), "--pods",
            str(files / "openb_pod_list_small.csv"), "--policies", "BestFit", "--workers", "1",
            "--out", str(out), "-q"]
    assert main([*base, "--seeds", "1-2"]) == 0
    assert main([*base, "--seeds", "1-3"]) == 0
    err = capsys.readouterr().err
    assert "2 experiments already in" in err
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["seed"] for r in rows) == ["1", "2", "3"]
    assert rows[0]["sc_policy"] == "05-BestFit" and rows[0]["workload"] == "small"
    assert list(rows[0])[:6] == ["workload", "sc_policy", "tune", "seed", "total_gpus", "0"]
    assert len(done_keys(files / "r.frag.csv")) == 3


def test_parquet_long_table(files):
    pq = pytest.importorskip("pyarrow.parquet")
    out = files / "r.parquet"
    assert main(["sweep", "--nodes", str(files / "nodes.csv"), "--pods",
                 str(files / "openb_pod_list_small.csv"), "--policies", "FGD", "--seeds", "5",
                 "--workers", "1", "--out", str(out), "-q", "-o", "json"]) == 0
    table = pq.read_table(out).to_pydict()
    assert len(table["arrived_pct"]) == 131 and set(table["policy"]) == {"FGD"}
    assert done_keys(out) == {("small", "06-FGD", "1.3", 5)}


def test_variants_change_the_cluster(files):
    cluster, _ = load_openb(files / "nodes.csv", files / "openb_pod_list_small.csv")
    no_v100 = parse_variant("without:V100M32").apply(cluster)
    assert len(no_v100) == 11 and "V100M32" not in no_v100.models
    bigger = parse_variant("add:3:node-00").apply(cluster)
    assert len(bigger) == 16 and bigger.total_gpus == cluster.total_gpus + 24
    both = parse_variant("without:P100+add:1:node-04")
    assert both == Variant(("P100",), 1, "node-04") and both.name == "without:P100+add:1:node-04"
    assert len(cluster) == 13                       # the input is untouched


@pytest.mark.parametrize("argv, message", [
    (["--policies", "Tetris"], "'Tetris' is not one of"),
    (["--out", "results.txt"], "must end in .csv or .parquet"),
    (["--variant", "remove:G2"], "expected none, without:MODEL"),
    (["--variant", "without:H100"], "no GPU model 'H100'"),
    (["--seeds", "5-1"], "bad seed range"),
])
def test_bad_sweep_arguments_exit_2(files, capsys, argv, message):
    code = main(["sweep", "--nodes", str(files / "nodes.csv"), "--pods",
                 str(files / "openb_pod_list_small.csv"), "-q", *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_a_given_client_is_used_and_left_open(files):
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as local, \
            distributed.Client(local) as client:
        pairs = sweep(_grid(files, policies=("GpuPacking",), seeds=(3,)), client=client)
        assert len(pairs) == 1 and pairs[0][1].policy == "GpuPacking"
        assert client.status == "running"
        assert sweep(_grid(files, policies=("GpuPacking",), seeds=(3,)), client=client,
                     skip={("small", "04-GpuPacking", "1.3", 3)}) == []


def test_the_bound_is_never_below_what_a_policy_reached(files, tmp_path):
    from fastsched.sim.bound import allocation_bound
    workloads = []
    for k, shapes in enumerate((SHAPES, SHAPES[:5] * 2, SHAPES[3:] + SHAPES[:2])):
        path = tmp_path / f"openb_pod_list_w{k}.csv"
        path.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n" + "".join(
            f"p{i:03d},{c},{m},{n},{g},{s}\n" for i, (c, m, n, g, s) in enumerate(shapes * 9)))
        cluster, trace = load_openb(files / "nodes.csv", path)
        workloads.append(Workload(f"w{k}", cluster, trace))
    grid = Grid(tuple(workloads), seeds=(1, 2))
    bounds = {(w.name, s): allocation_bound(w.cluster, w.trace, s, 1.3, exact=False)
              for w in workloads for s in (1, 2)}      # the arrivals do not depend on the policy
    for exp, result in sweep(grid, workers=2):
        bound = bounds[(exp.workload, exp.seed)]
        assert result.gpu_alloc_ratio <= bound.final, (exp, bound)
        for k, (got, most) in enumerate(zip(result.gpu_alloc_curve, bound.curve)):
            if got == got:
                assert got <= most, (exp, k, got, most)
