"""The GPU trace simulator: kernel against the plain reference, the fragmentation
measure by hand, device accounting, the workload protocol, and trace files."""

from __future__ import annotations

import math

import _gpu_reference as ref
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastsched._kernels import gpusim
from fastsched.errors import DoesNotFitError, ValidationError
from fastsched.sim import (
    GpuCluster,
    TargetShapes,
    TraceError,
    allocation_curve,
    cluster_fragmentation,
    load_openb,
    node_fragmentation,
    read_pods,
    simulate,
    target_shapes,
    tune,
)

POLICIES = ["Random", "DotProd", "GpuClustering", "GpuPacking", "BestFit", "FGD"]


def _shapes(rows):
    """TargetShapes from (cpu, num_gpu, milli, spec, p) rows."""
    a = list(zip(*rows))
    return TargetShapes(np.array(a[0], dtype=np.int64), np.array(a[1], dtype=np.int32),
                        np.array(a[2], dtype=np.int32), np.array(a[3], dtype=np.uint64),
                        np.array(a[4], dtype=np.float64))


# --- the fragmentation measure, by hand ---------------------------------------------

# A node with 4 GPUs free [1000, 500, 0, 300] and 8 cpus; target shapes: a 400-milli
# share (2 cpus, p .5), a whole GPU (4 cpus, p .3), a cpu-only task (1 cpu, p .2).
HAND_SHAPES = [(2000, 1, 400, 0, 0.5), (4000, 1, 1000, 0, 0.3), (1000, 0, 0, 0, 0.2)]


def _hand_node(cpu_used=0):
    c = GpuCluster(["n"], [8000], [1 << 20], [4], ["T4"])
    c.gpu_free[0, :4] = [1000, 500, 0, 300]
    c.cpu_used[0] = cpu_used
    return c


def test_fragmentation_by_hand():
    # share: free on devices < 400 -> 300, x .5 = 150; whole GPU: devices < 1000 ->
    # 800, x .3 = 240; cpu-only: all 1800 free, x .2 = 360
    assert node_fragmentation(_hand_node(), _shapes(HAND_SHAPES))[0] == pytest.approx(750)
    # with 3 cpus left the whole-GPU shape no longer fits: all 1800 count, x .3 = 540
    assert node_fragmentation(_hand_node(5000), _shapes(HAND_SHAPES))[0] == pytest.approx(1050)
    amount, ratio = cluster_fragmentation(_hand_node(), _shapes(HAND_SHAPES))
    assert (amount, ratio) == (pytest.approx(750), pytest.approx(100 * 750 / 1800))


def test_a_node_without_free_gpu_has_no_fragmentation():
    c = _hand_node()
    c.gpu_free[0] = 0
    assert node_fragmentation(c, _shapes(HAND_SHAPES))[0] == 0


def test_fgd_score_and_device_by_hand():
    # a 500-milli share with 1 cpu: on device 0 -> F 800, score int(100 sigmoid(-0.05))
    # = 48; on device 1 -> F 500, int(100 sigmoid(0.25)) = 56; device 3 is too small
    free = [1000, 500, 0, 300]
    assert ref.fgd(free, 8000, 0, (1000, 0, 1, 500, 0), HAND_SHAPES) == (56, 1)
    assert int(100 / (1 + math.exp(0.05))) == 48
    out = _replay("FGD", [dict(cpu=8000, mem=1 << 20, model=0, free=free)],
                  [(1000, 0, 1, 500, 0)], HAND_SHAPES)
    assert out[0] == [(0, [1])]


# --- the kernel against the plain reference -----------------------------------------

def _replay(policy, nodes, tasks, shapes, rank=None, rng_state=12345):
    """Run the kernel on ``nodes``/``tasks`` as the reference takes them."""
    n = len(nodes)
    gfree = np.zeros((n, 8), dtype=np.int32)
    for i, node in enumerate(nodes):
        gfree[i, : len(node["free"])] = node["free"]
    ngpu = np.array([len(node["free"]) for node in nodes], dtype=np.int32)
    model = np.array([node["model"] if node["free"] else -1 for node in nodes], dtype=np.int32)
    cpu_left = np.array([node["cpu"] for node in nodes], dtype=np.int64)
    mem_left = np.array([node["mem"] for node in nodes], dtype=np.int64)
    rank = np.array(rank if rank is not None else range(n), dtype=np.int64)
    t = np.array(tasks, dtype=np.int64).reshape(-1, 5)
    keys = t[:, [0, 2, 3, 4]]
    uniq, shape = np.unique(keys, axis=0, return_inverse=True) if len(t) else (keys, keys[:, 0])
    sh = _shapes(shapes)
    m = len(t)
    out_node = np.empty(m, dtype=np.int32)
    out_dev = np.empty(m, dtype=np.uint64)
    out_used = np.empty(m, dtype=np.int64)
    gpusim.replay(gpusim.POLICIES[policy], 0, cpu_left.copy(), ngpu, model, rank, cpu_left,
                  mem_left, gfree, np.zeros((n, 9), dtype=np.int32),
                  np.ascontiguousarray(t[:, 0]), np.ascontiguousarray(t[:, 1]),
                  t[:, 2].astype(np.int32), t[:, 3].astype(np.int32),
                  t[:, 4].astype(np.uint64), shape.reshape(-1).astype(np.int32), len(uniq),
                  sh.cpu, sh.num_gpu, sh.gpu_milli, sh.gpu_spec, sh.p,
                  out_node, out_dev, out_used, np.empty(m), 0, m, 0, rng_state)
    placed = [(int(x), [d for d in range(8) if (int(b) >> d) & 1])
              for x, b in zip(out_node, out_dev)]
    return placed, out_used.tolist(), gfree, cpu_left


_node = st.builds(
    lambda cpu, mem, model, free: dict(cpu=cpu, mem=mem, model=model, free=free),
    st.sampled_from([4000, 8000, 16000, 32000, 96000]), st.sampled_from([8192, 65536]),
    st.integers(0, 2), st.lists(st.sampled_from([1000, 1000, 1000, 700, 500, 200, 0]),
                                max_size=8))
_task = st.one_of(
    st.tuples(st.sampled_from([1000, 2000, 4000]), st.sampled_from([1024, 4096]),
              st.just(0), st.just(0), st.just(0)),
    st.tuples(st.sampled_from([1000, 2000, 6000]), st.sampled_from([1024, 4096]), st.just(1),
              st.sampled_from([100, 250, 460, 500, 700]), st.sampled_from([0, 0, 1, 2, 5])),
    st.tuples(st.sampled_from([4000, 8000]), st.sampled_from([1024, 16384]),
              st.sampled_from([1, 2, 4, 8]), st.just(1000), st.sampled_from([0, 0, 4])))
_shape = st.tuples(st.sampled_from([0, 1000, 4000]), st.sampled_from([0, 1, 2]),
                   st.sampled_from([250, 500, 1000]), st.sampled_from([0, 0, 2]),
                   st.floats(0.05, 1.0))


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=60, deadline=None)
@given(nodes=st.lists(_node, min_size=1, max_size=6), tasks=st.lists(_task, max_size=40),
       shapes=st.lists(_shape, min_size=1, max_size=5), data=st.data())
def test_kernel_replay_equals_the_reference(policy, nodes, tasks, shapes, data):
    for node in nodes:                    # the model is meaningless without GPUs
        node["model"] = node["model"] if node["free"] else -1
    total = sum(s[4] for s in shapes)
    shapes = [(*s[:4], s[4] / total) for s in shapes]
    rank = data.draw(st.permutations(range(len(nodes))))
    got, used, gfree, _ = _replay(policy, [dict(n, free=list(n["free"])) for n in nodes],
                                  tasks, shapes, rank)
    want, want_used = ref.replay(policy, nodes, tasks, shapes, rank, rng_state=12345)
    assert got == want
    assert used == want_used
    assert ((gfree >= 0) & (gfree <= 1000)).all()


# --- device accounting --------------------------------------------------------------

@settings(max_examples=80, deadline=None)
@given(ops=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(
    [(0, 0), (1, 300), (1, 700), (1, 1000), (2, 1000), (4, 1000)])), max_size=30))
def test_bind_never_overcommits_and_unbind_restores(ops):
    c = GpuCluster(["a", "b", "c"], [32000] * 3, [1 << 20] * 3, [2, 4, 8], ["T4", "T4", "G2"])
    initial = c.gpu_free.copy()
    bound = []
    for node, (num, milli) in ops:
        try:
            devices = c.bind(node, 1000, 1024, num, milli)
        except DoesNotFitError:
            continue
        assert len(devices) == num
        bound.append((node, milli, devices))
        assert ((c.gpu_free >= 0) & (c.gpu_free <= 1000)).all()
    assert c.gpu_allocated_milli() == sum(m * len(d) for _, m, d in bound)
    for node, milli, devices in reversed(bound):
        c.unbind(node, 1000, 1024, milli, devices)
    assert (c.gpu_free == initial).all() and not c.cpu_used.any()


def test_bind_rejects_what_does_not_fit_and_changes_nothing():
    c = GpuCluster(["a"], [8000], [4096], [2], ["T4"])
    c.bind("a", 1000, 1024, 1, 600, devices=[1])
    with pytest.raises(DoesNotFitError):
        c.bind("a", 1000, 1024, 1, 600, devices=[1])      # device 1 has 400 left
    with pytest.raises(DoesNotFitError):
        c.bind("a", 1000, 1024, 2, 1000)                  # one whole GPU left
    with pytest.raises(ValidationError, match="gpu_milli"):
        c.bind("a", 1000, 1024, 3, 500)
    assert c.gpu_free[0, :2].tolist() == [1000, 400] and c.cpu_used[0] == 1000


# --- the workload protocol on tiny traces, by hand ----------------------------------

def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


HEADER = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n"


def test_tune_up_copies_until_the_next_share_would_pass_the_target(tmp_path):
    trace = read_pods(_write(tmp_path, "p.csv", HEADER + "a,1000,1024,1,300,\nb,1000,1024,1,300,\n"))
    # 600 milli asked of a 1-GPU cluster, ratio 1.3: copies while total + 300 <= 1300
    order = tune(trace, np.array([1, 0]), 1000, 1.3, np.random.default_rng(0))
    assert order[:2].tolist() == [1, 0] and len(order) == 4


def test_tune_stops_on_the_per_gpu_milli_as_the_simulator_does(tmp_path):
    trace = read_pods(_write(tmp_path, "p.csv", HEADER + "a,1000,1024,2,1000,\n"))
    # 2,000 of 2,000 milli; target 2,600: the check is total + 1000 (not + 2000) > 2600
    assert len(tune(trace, np.array([0]), 2000, 1.3, np.random.default_rng(0))) == 1
    trace = read_pods(_write(tmp_path, "q.csv", HEADER + "a,1000,1024,2,1000,\n"))
    # target 3,000: 2,000 + 1,000 <= 3,000 -> one copy (4,000 asked), then 5,000 > 3,000
    assert len(tune(trace, np.array([0]), 2000, 1.5, np.random.default_rng(0))) == 2


def test_tune_down_removes_tasks_until_the_target_is_met(tmp_path):
    trace = read_pods(_write(tmp_path, "p.csv", HEADER + "".join(
        f"t{i},1000,1024,1,1000,\n" for i in range(3))))
    assert len(tune(trace, np.arange(3), 1000, 1.3, np.random.default_rng(0))) == 1


def test_target_shapes_cover_the_popular_shapes(tmp_path):
    rows = (["a,2000,1024,1,500,"] * 5 + ["b,4000,1024,1,1000,"] * 3
            + ["c,1000,1024,0,0,", "d,8000,1024,8,1000,"])
    text = HEADER + "".join(f"{r.split(',')[0]}{i},{r.split(',', 1)[1]}\n" for i, r in enumerate(rows))
    trace = read_pods(_write(tmp_path, "p.csv", text))
    all4 = target_shapes(trace)            # 95% of 10 tasks needs all four shapes
    assert all4.cpu.tolist() == [2000, 4000, 8000, 1000]      # ties: larger cpu first
    assert all4.p.tolist() == [0.5, 0.3, 0.1, 0.1]
    top2 = target_shapes(trace, popularity=80)
    assert top2.cpu.tolist() == [2000, 4000] and top2.p.tolist() == [5 / 8, 3 / 8]


def test_allocation_curve_by_hand():
    curve = allocation_curve(np.array([0, 500, 1000]), np.array([0, 500, 500]), 1)
    assert len(curve) == 131
    assert (curve[0], curve[1], curve[50], curve[100]) == (0.0, 0.0, 50.0, 50.0)
    assert math.isnan(curve[25]) and math.isnan(curve[130])


def test_a_tiny_experiment_by_hand(tmp_path):
    nodes = _write(tmp_path, "n.csv", "sn,cpu_milli,memory_mib,gpu,model\n"
                   "n1,8000,8192,1,T4\nn2,8000,8192,1,T4\n")
    pods = _write(tmp_path, "p.csv", HEADER + "a,1000,1024,1,600,\nb,1000,1024,1,600,\n"
                  "c,1000,1024,1,500,\nd,500,512,0,0,\n")
    cluster, trace = load_openb(nodes, pods)
    # no tuning: a and b take one GPU each (600 + 600 do not share one), c finds no
    # device with 500 free, d (cpu only) fits anywhere
    r = simulate(cluster, trace, "BestFit", seed=1, inflate=0)
    assert (r.placed, r.failed, r.total_gpus) == (3, 1, 2)
    assert r.gpu_alloc_ratio == 60.0 and r.cpu_alloc_ratio == pytest.approx(100 * 2500 / 16000,
                                                                           abs=0.01)
    assert sorted(r.nodes[r.nodes >= 0].tolist()).count(0) >= 1
    assert cluster.gpu_allocated_milli() == 0             # the input cluster is untouched
    assert "BestFit" in repr(r) and len(repr(r)) < 200


# --- trace files: every bad cell is named -------------------------------------------

NODES = "sn,cpu_milli,memory_mib,gpu,model\nn1,8000,8192,1,T4\n"


@pytest.mark.parametrize("text, where", [
    (HEADER + "a,-5,1024,1,500,\n", "row 1, column 'cpu_milli'"),
    (HEADER + "a,1000,1024,1,500,\nb,1000,1024,3,500,\n", "row 2, column 'gpu_milli'"),
    ("name,cpu_milli,memory_mib,num_gpu,gpu_milli,color\na,1,1,0,0,red\n", "header, column 'color'"),
    (HEADER + "a,1000,lots,0,0,\n", "row 1, column 'memory_mib'"),
    (HEADER + "a,1000,1024,0,0\n", "row 1"),
    (HEADER + "a,1000,1024,1,500,\na,1000,1024,1,500,\n", "row 2, column 'name'"),
])
def test_bad_pod_files_name_the_file_row_and_column(tmp_path, text, where):
    path = _write(tmp_path, "pods.csv", text)
    with pytest.raises(TraceError) as err:
        load_openb(_write(tmp_path, "nodes.csv", NODES), path)
    assert str(err.value).startswith(f"{path}: {where}")


def test_missing_files_and_unknown_policies_are_clear(tmp_path):
    with pytest.raises(TraceError, match="no such file"):
        load_openb(tmp_path / "nope.csv", tmp_path / "nope2.csv")
    cluster, trace = load_openb(_write(tmp_path, "n.csv", NODES),
                                _write(tmp_path, "p.csv", HEADER + "a,1,1,0,0,\n"))
    with pytest.raises(ValidationError, match="policy: must be one of Random"):
        simulate(cluster, trace, "Tetris")


def test_the_bound_covers_the_best_placement_found_by_brute_force():
    import itertools

    from fastsched.sim.bound import bound_of
    rng = np.random.default_rng(7)
    for _ in range(25):
        gpus = rng.integers(1, 4, size=2)
        c = GpuCluster(["a", "b"], [8000, 8000], [16384, 16384], gpus, ["T4", "G2"])
        tasks = [(int(rng.choice([1000, 3000, 6000])), 1024, int(n), int(m), int(rng.choice([0, 1, 2])))
                 for n, m in (rng.choice([(1, 300), (1, 600), (1, 1000), (2, 1000)]) for _ in range(5))]
        best = 0
        for where in itertools.product([-1, 0, 1], repeat=len(tasks)):
            trial = c.copy()
            try:
                for node, (cpu, mem, num, milli, spec) in zip(where, tasks):
                    if node >= 0:
                        trial.bind(node, cpu, mem, num, milli, gpu_spec=spec)
            except DoesNotFitError:
                continue
            best = max(best, trial.gpu_allocated_milli())
        cols = [np.array(x) for x in zip(*tasks)]
        bound, status = bound_of(c, cols[0], cols[1], cols[2].astype(np.int32),
                                 cols[3].astype(np.int32), cols[4].astype(np.uint64), exact=True)
        assert bound >= best, (tasks, bound, best, status)


def test_traces_that_cannot_be_simulated_are_refused(tmp_path):
    nodes = _write(tmp_path, "n.csv", NODES)
    cpu_only = _write(tmp_path, "c.csv", HEADER + "a,1000,1024,0,0,\n")
    cluster, trace = load_openb(nodes, cpu_only)
    with pytest.raises(ValidationError, match="no task asks for a GPU"):
        simulate(cluster, trace, "FGD")                      # tuning would never stop
    assert simulate(cluster, trace, "FGD", inflate=0).placed == 1
    with pytest.raises(TraceError, match="no tasks"):
        load_openb(nodes, _write(tmp_path, "h.csv", HEADER))
    no_gpu, trace = load_openb(_write(tmp_path, "g.csv", "sn,cpu_milli,memory_mib,gpu,model\n"
                                      "n1,8000,8192,0,\n"), cpu_only)
    with pytest.raises(ValidationError, match="no GPUs"):
        simulate(no_gpu, trace, "FGD", inflate=0)
    for cell in ("inf", "1e400", "5_00"):
        with pytest.raises(TraceError, match="row 1, column 'cpu_milli'"):
            load_openb(nodes, _write(tmp_path, "x.csv", HEADER + f"a,{cell},1024,0,0,\n"))
    bom = _write(tmp_path, "b.csv", "\ufeff" + HEADER + "a,1000,1024,1,500,\n\n")
    assert len(load_openb(nodes, bom)[1]) == 1               # a BOM and a blank line are fine
