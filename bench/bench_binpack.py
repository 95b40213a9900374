"""Bin-packing benchmark on the classic instances with known optima.

    python bench/bench_binpack.py                  # shared/data/bpp: fastsched, FFD, textbook CP-SAT
    python bench/bench_binpack.py --no-textbook    # skip the slow baseline (or FASTSCHED_BENCH_TEXTBOOK=0)
    python bench/bench_binpack.py --vbp            # also shared/data/vbp with binpack_vector
    python bench/bench_binpack.py --only Hard28    # instances whose name contains a string
    python bench/bench_binpack.py --train --sample 300 --seed 7   # shared/data/bpp-train, stratified

Every instance runs with the same time limit (default 10 s) and workers
(default 2) for ``fastsched.solver.binpack`` and for the textbook CP-SAT
assignment model; FFD runs alongside. Per class it prints: instances solved to a
proven optimum, at the known optimum, bins above it (summed), median and max wall
time. A result below a known optimum or an infeasible packing aborts the run: a bug.

``--train`` runs a stratified random sample of the 1,720 training instances: each
class gets a share of ``--sample`` proportional to its size, at least
``_MIN_PER_CLASS`` (or all it has), drawn with ``--seed``.

Under pytest only a smoke test runs (two small instances).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


_MIN_PER_CLASS = 5


def stratified(optima: dict, sample: int, seed: int) -> set[str]:
    """Names of a stratified random sample of ``sample`` instances (see the
    module's docstring); the shares are rounded so that they add up."""
    rng = np.random.default_rng(seed)
    by_class: dict[str, list[str]] = {}
    for name in sorted(optima):
        by_class.setdefault(optima[name]["class"], []).append(name)
    total = sum(len(v) for v in by_class.values())
    want = {c: min(len(v), max(_MIN_PER_CLASS, round(sample * len(v) / total)))
            for c, v in by_class.items()}
    while sum(want.values()) > sample:         # trim the largest shares
        c = max((c for c in want if want[c] > min(_MIN_PER_CLASS, len(by_class[c]))),
                key=lambda c: want[c])
        want[c] -= 1
    return {n for c, v in by_class.items() for n in rng.choice(v, want[c], replace=False)}


def load_bpp(folder: Path, names: set[str] | None = None):
    optima = json.loads((folder / "optima.json").read_text())
    for name in sorted(optima, key=lambda k: (optima[k]["class"], k)):
        if names is not None and name not in names:
            continue
        tokens = [int(t) for t in (folder / f"{name}.txt").read_text().split()]
        yield name, optima[name]["class"], np.array(tokens[1:], dtype=np.int64), tokens[0], \
            optima[name]["optimum"]


def load_vbp(folder: Path):
    optima = json.loads((folder / "optima.json").read_text())
    for name in sorted(optima, key=lambda k: (optima[k]["class"], k)):
        rows = [[int(t) for t in line.split()]
                for line in (folder / f"{name}.txt").read_text().splitlines() if line.strip()]
        yield name, optima[name]["class"], np.array(rows[1:], dtype=np.int64), \
            np.array(rows[0], dtype=np.int64), optima[name]["optimum"]


def _check(name, res, sizes, cap, opt):
    sizes2 = sizes.reshape(sizes.shape[0], -1)
    cap2 = np.atleast_1d(cap)
    for b in range(res.bins):
        if (sizes2[res.assignment == b].sum(axis=0) > cap2).any():
            raise SystemExit(f"{name}: bin {b} overfull: a bug")
    if res.bins < opt or res.lower_bound > opt:
        raise SystemExit(f"{name}: bins {res.bins} / bound {res.lower_bound} contradict "
                         f"the known optimum {opt}: a bug")


def _summary(rows, methods):
    classes = sorted({r["class"] for r in rows})
    head = f"{'class':14s} {'n':>3s} " + " ".join(
        f"{m + ' proved':>17s} {'at opt':>7s} {'+bins':>6s} {'median s':>8s} {'max s':>6s}"
        for m in methods)
    lines = [head, "-" * len(head)]
    for cls in classes + ["ALL"]:
        sub = [r for r in rows if cls == "ALL" or r["class"] == cls]
        cells = []
        for m in methods:
            got = [r[m] for r in sub if m in r]
            if not got:
                cells.append(f"{'-':>17s} {'-':>7s} {'-':>6s} {'-':>8s} {'-':>6s}")
                continue
            proved = sum(g["optimal"] for g in got)
            at = sum(g["above"] == 0 for g in got)
            above = sum(g["above"] for g in got)
            med = statistics.median(g["time"] for g in got)
            top = max(g["time"] for g in got)
            cells.append(f"{f'{proved}/{len(got)}':>17s} {at:7d} {f'+{above}':>6s} {med:8.2f} "
                         f"{top:6.2f}")
        lines.append(f"{cls:14s} {len(sub):3d} " + " ".join(cells))
    return "\n".join(lines)


def run_bpp(args) -> str:
    from _textbook import binpack_textbook

    from fastsched.solver import binpack
    from fastsched.solver.binpack.heuristics import first_fit_decreasing

    rows = []
    methods = ["fastsched", "ffd"] + (["textbook"] if args.textbook else [])
    folder = DATA / "bpp-train" if args.train else args.bpp
    names = None
    if args.train:
        names = stratified(json.loads((folder / "optima.json").read_text()), args.sample,
                           args.seed)
        print(f"bpp-train: {len(names)} instances, stratified, seed {args.seed}", flush=True)
    for name, cls, sizes, cap, opt in load_bpp(folder, names):
        if args.only and args.only not in name:
            continue
        row = {"name": name, "class": cls}
        res = binpack(sizes, cap, time_limit=args.time_limit, workers=args.workers)
        _check(name, res, sizes, cap, opt)
        row["fastsched"] = {"optimal": res.optimal, "above": res.bins - opt,
                            "time": res.wall_time}
        t = time.monotonic()
        ffd_bins, _ = first_fit_decreasing(sizes, cap)
        row["ffd"] = {"optimal": False, "above": ffd_bins - opt, "time": time.monotonic() - t}
        line = (f"{name:22s} {cls:13s} opt {opt:4d}  fastsched {res.bins - opt:+d} "
                f"{'proved' if res.optimal else 'open  '} {res.wall_time:6.2f}s "
                f"{res.method:24s} ffd {ffd_bins - opt:+d}")
        if args.textbook:
            tb = binpack_textbook(sizes, cap, time_limit=args.time_limit, workers=args.workers)
            _check(name, tb, sizes, cap, opt)
            row["textbook"] = {"optimal": tb.optimal, "above": tb.bins - opt,
                               "time": tb.wall_time}
            line += f"  textbook {tb.bins - opt:+d} {'proved' if tb.optimal else 'open'} " \
                    f"{tb.wall_time:.2f}s"
        print(line, flush=True)
        rows.append(row)
    return _summary(rows, methods)


def run_vbp(args) -> str:
    from fastsched.solver import binpack_vector

    rows = []
    hit = total = 0
    for name, cls, sizes, cap, opt in load_vbp(args.vbp):
        if args.only and args.only not in name:
            continue
        total += 1
        if (sizes < 0).any():
            # Some triplet-class files carry a negative size (a generator
            # artefact); the API rejects negative sizes, so these count as misses.
            print(f"{name:22s} {cls:8s} opt {opt:4d}  skipped: negative size in the file",
                  flush=True)
            rows.append({"name": name, "class": cls,
                         "fastsched": {"optimal": False, "above": 0, "time": 0.0}})
            continue
        res = binpack_vector(sizes, cap, time_limit=args.time_limit, workers=args.workers)
        _check(name, res, sizes, cap, opt)
        hit += res.bins == opt
        rows.append({"name": name, "class": cls,
                     "fastsched": {"optimal": res.optimal, "above": res.bins - opt,
                                   "time": res.wall_time}})
        print(f"{name:22s} {cls:8s} opt {opt:4d}  fastsched {res.bins - opt:+d} "
              f"{'proved' if res.optimal else 'open  '} {res.wall_time:6.2f}s {res.method}",
              flush=True)
    return _summary(rows, ["fastsched"]) + f"\nat the known optimum: {hit}/{total}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--time-limit", type=float, default=10.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--bpp", type=Path, default=DATA / "bpp")
    p.add_argument("--vbp", nargs="?", type=Path, const=DATA / "vbp", default=None,
                   help="also run the vector instances (default folder shared/data/vbp)")
    p.add_argument("--no-textbook", dest="textbook", action="store_false",
                   default=os.environ.get("FASTSCHED_BENCH_TEXTBOOK", "1") not in ("0", ""))
    p.add_argument("--no-bpp", dest="run_bpp", action="store_false")
    p.add_argument("--only", default="")
    p.add_argument("--train", action="store_true",
                   help="a stratified random sample of shared/data/bpp-train instead")
    p.add_argument("--sample", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    print(f"time limit {args.time_limit} s, workers {args.workers}, "
          f"textbook baseline {'on' if args.textbook else 'off'}", flush=True)
    if args.run_bpp:
        print("\n" + run_bpp(args), flush=True)
    if args.vbp is not None:
        print("\n" + run_vbp(args), flush=True)
    return 0


def test_binpack_smoke():
    """Under pytest: two small instances reach their optimum."""
    import pytest

    from fastsched.solver import binpack

    folder = DATA / "bpp"
    if not (folder / "optima.json").exists():
        pytest.skip(f"{folder} is not here")
    for name, _, sizes, cap, opt in load_bpp(folder):
        if name in ("N1C1W1_A", "Falkenauer_t60_00"):
            assert binpack(sizes, cap, time_limit=10, workers=2).bins == opt



def test_textbook_smoke():
    """Under pytest: the textbook baseline (bench/_textbook.py) still imports and runs."""
    from _textbook import binpack_textbook

    res = binpack_textbook([4, 4, 3, 3, 2], 8, time_limit=5, workers=1)
    assert res.bins == 2 and res.optimal


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
