"""Quality on a stratified sample of the training set: bins above optimum and
instances proved optimal, per class, under one time limit.

    python bench/bench_binpack_sample.py                      # 10 per class, 5 s, 1 worker
    python bench/bench_binpack_sample.py --per-class 10 --time-limit 5 --json out.json
    python bench/bench_binpack_sample.py --compare before.json after.json

The sample is drawn per class of ``shared/data/bpp-train/optima.json`` with a
fixed seed (every instance of a class smaller than ``--per-class``), so two runs
on two versions of the code see the same instances; ``--compare`` prints them
side by side. Nothing here is tuned to the sample: it only measures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT.parent / "shared" / "data" / "bpp-train"


def sample(folder: Path, per_class: int, seed: int) -> list[str]:
    """Instance names, ``per_class`` drawn at random (seeded) from each class."""
    optima = json.loads((folder / "optima.json").read_text())
    by_class: dict[str, list[str]] = {}
    for name in sorted(optima):
        by_class.setdefault(optima[name]["class"], []).append(name)
    rng = np.random.default_rng(seed)
    out: list[str] = []
    for cls in sorted(by_class):
        names = by_class[cls]
        pick = rng.choice(len(names), size=min(per_class, len(names)), replace=False)
        out.extend(names[i] for i in sorted(pick))
    return out


def run(args) -> dict:
    from fastsched.solver import binpack

    optima = json.loads((args.folder / "optima.json").read_text())
    rows = {}
    for name in sample(args.folder, args.per_class, args.seed):
        tokens = [int(t) for t in (args.folder / f"{name}.txt").read_text().split()]
        sizes, cap, opt = np.array(tokens[1:], dtype=np.int64), tokens[0], optima[name]["optimum"]
        t = time.monotonic()
        res = binpack(sizes, cap, time_limit=args.time_limit, workers=args.workers)
        wall = time.monotonic() - t
        for b in range(res.bins):
            if sizes[res.assignment == b].sum() > cap:
                raise SystemExit(f"{name}: bin {b} overfull: a bug")
        if res.bins < opt or res.lower_bound > opt:
            raise SystemExit(f"{name}: {res.bins} bins / bound {res.lower_bound} against "
                             f"the optimum {opt}: a bug")
        rows[name] = {"class": optima[name]["class"], "above": res.bins - opt,
                      "optimal": bool(res.optimal), "time": wall, "method": res.method}
        print(f"{name:24s} {rows[name]['class']:13s} {res.bins - opt:+d} "
              f"{'proved' if res.optimal else 'open  '} {wall:6.2f}s {res.method}", flush=True)
    return rows


def summary(runs: list[tuple[str, dict]]) -> str:
    classes = sorted({r["class"] for _, rows in runs for r in rows.values()})
    head = f"{'class':14s} {'n':>3s} " + " ".join(f"{label + ' proved':>18s} {'+bins':>6s} "
                                                  f"{'max s':>6s}" for label, _ in runs)
    lines = [head, "-" * len(head)]
    for cls in classes + ["ALL"]:
        cells, n = [], 0
        for _, rows in runs:
            sub = [r for r in rows.values() if cls == "ALL" or r["class"] == cls]
            n = len(sub)
            proved = f"{sum(r['optimal'] for r in sub)}/{n}"
            above = "+" + str(sum(r["above"] for r in sub))
            slowest = max((r["time"] for r in sub), default=0.0)
            cells.append(f"{proved:>18s} {above:>6s} {slowest:6.2f}")
        lines.append(f"{cls:14s} {n:3d} " + " ".join(cells))
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--folder", type=Path, default=TRAIN)
    p.add_argument("--per-class", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--time-limit", type=float, default=5.0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--json", type=Path, default=None, help="write the per-instance rows here")
    p.add_argument("--compare", nargs="+", type=Path, default=None,
                   help="print the summaries of earlier --json files side by side")
    args = p.parse_args(argv)
    if args.compare:
        print(summary([(f.stem, json.loads(f.read_text())) for f in args.compare]))
        return 0
    print(f"time limit {args.time_limit} s, workers {args.workers}, "
          f"{args.per_class} per class (seed {args.seed})", flush=True)
    rows = run(args)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1))
    print("\n" + summary([("run", rows)]))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
