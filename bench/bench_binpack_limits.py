"""Bounded work on large inputs: wall time against ``time_limit`` and peak memory.

    python bench/bench_binpack_limits.py                   # every case, time limits 1 and 10 s
    python bench/bench_binpack_limits.py --only distinct --time-limits 10
    python bench/bench_binpack_limits.py --code ../main    # the same cases on another checkout

Each case runs in a fresh subprocess (so the peak RSS, from getrusage, is the
case's own; the wall time is the solver call's, imports excluded) with one
worker. A case passes when the call returns within ``time_limit`` + 10% and
under 2 GiB. ``--code`` imports fastsched from another checkout (e.g. main
before this bench existed) under the same time-out and an address-space limit,
to show the two side by side.

Cases (seeded): ``distinct`` 30,000 distinct sizes below a capacity of 10^6;
``million`` 10^6 items of sizes 1..1,000, capacity 1,000; ``million-wide`` 10^6
items below 10^9, capacity 10^9 (nearly every size distinct); ``vector``
100,000 × 3 items of sizes 1..1,000, capacities 1,000.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GIB = 2 ** 30

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    sys.path.insert(0, {code!r})
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    import numpy as np
    import scipy.optimize  # noqa: F401  (imported before the clock starts)
    from fastsched.solver import binpack, binpack_vector
    rng = np.random.default_rng(0)
    case, tl = {case!r}, {tl!r}
    if case == "distinct":
        cap = 10 ** 6
        sizes = rng.permutation(np.arange(1, cap))[:30_000]
    elif case == "million":
        cap = 1000
        sizes = rng.integers(1, cap + 1, 10 ** 6)
    elif case == "million-wide":
        cap = 10 ** 9
        sizes = rng.integers(1, cap, 10 ** 6)
    else:
        cap = np.array([1000, 1000, 1000])
        sizes = rng.integers(1, 1001, (100_000, 3))
    solve = binpack_vector if case == "vector" else binpack
    t = time.monotonic()
    res = solve(sizes, cap, time_limit=tl, workers=1)
    wall = time.monotonic() - t
    print(json.dumps({{"wall": wall, "bins": res.bins, "bound": res.lower_bound,
                      "method": res.method, "skipped": res.stats.get("skipped", []),
                      "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}))
""")

CASES = ("distinct", "million", "million-wide", "vector")


def run_case(code: Path, case: str, tl: float, timeout: float, limit: int) -> dict:
    script = CHILD.format(code=str(code), case=case, tl=tl, limit=limit)
    try:
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"no answer in {timeout:.0f} s (killed)"}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {out.returncode}: {last[:80]}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--code", type=Path, default=ROOT, help="checkout to import fastsched from")
    p.add_argument("--only", default="", help="cases whose name contains this")
    p.add_argument("--time-limits", type=float, nargs="+", default=[1.0, 10.0])
    p.add_argument("--timeout", type=float, default=120.0,
                   help="seconds before a case is killed (default 120)")
    p.add_argument("--memory-limit", type=float, default=8.0,
                   help="address-space limit of a case in GiB (default 8)")
    args = p.parse_args(argv)
    print(f"code {args.code.resolve()}, 1 worker, pass: wall <= 1.1 × time_limit and "
          f"peak RSS < 2 GiB", flush=True)
    print(f"{'case':13s} {'limit':>6s} {'wall s':>7s} {'RSS MB':>7s} {'bins':>8s} "
          f"{'bound':>8s}  result", flush=True)
    failed = 0
    for case in CASES:
        if args.only not in case:
            continue
        for tl in args.time_limits:
            r = run_case(args.code, case, tl, args.timeout, int(args.memory_limit * GIB))
            if "error" in r:
                failed += 1
                print(f"{case:13s} {tl:6.1f} {'-':>7s} {'-':>7s} {'-':>8s} {'-':>8s}  "
                      f"FAIL {r['error']}", flush=True)
                continue
            ok = r["wall"] <= 1.1 * tl and r["rss"] < 2 * GIB
            failed += not ok
            note = "; ".join(r["skipped"])[:70]
            print(f"{case:13s} {tl:6.1f} {r['wall']:7.2f} {r['rss'] / 2 ** 20:7.0f} "
                  f"{r['bins']:8d} {r['bound']:8d}  {'ok' if ok else 'FAIL'} {r['method']}"
                  f"{'  (' + note + ')' if note else ''}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
