"""``fastsched sweep``: a grid of trace experiments on Dask.

Wired in ``fastsched/cli/__init__.py`` with ``add_sweep_parser(subparsers)``; the
parser sets ``run=cmd_sweep``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any

from ._common import REPORT_API, emit, integer_arg, number_arg, print_error
from ._progress import count_progress

__all__ = ["add_sweep_parser", "cmd_sweep"]

_EPILOG = """\
The grid is every --pods workload x --variant x --policies x --inflate x --seeds;
each experiment is one 'fastsched simulate'. It runs on an embedded Dask cluster (one
worker process per CPU; --workers N to choose) or, with --scheduler-address, on a Dask
cluster you run. With --out, each result is written as it finishes, and experiments
already in the file are skipped, so an interrupted sweep resumes where it stopped.

variants: none (the cluster as loaded), without:MODEL[,MODEL...] (drop those GPU
models' nodes), add:COUNT:NODE (COUNT more nodes like NODE), joined with '+'.

--out FILE.csv: the paper's layout (workload, sc_policy, tune, seed, total_gpus, 0 ...
130: the GPU allocation curve), and FILE.frag.csv with the fragmentation curve;
--out FILE.parquet (pyarrow): a long table with every metric.

output (-o): table (default): mean final GPU allocation per workload and policy;
json/yaml: a fastsched.io/v1 SweepReport (version 1) with one entry per experiment.

exit status:
  0    every experiment ran
  2    usage error, or a file that cannot be read
  130  interrupted (Ctrl-C): what finished is in --out
"""


def _seeds(text: str) -> tuple[int, ...]:
    out: list[int] = []
    for part in text.split(","):
        lo, dash, hi = part.strip().partition("-")
        try:
            a = int(lo)
            b = int(hi) if dash else a
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected N, N-M or a list of them, got {text!r}") \
                from None
        if a < 0 or b < a or b - a > 100_000:
            raise argparse.ArgumentTypeError(f"bad seed range {part!r}")
        out += range(a, b + 1)
    return tuple(dict.fromkeys(out))


def _floats(text: str) -> tuple[float, ...]:
    one = number_arg(0, 100)
    return tuple(one(x) for x in text.split(","))


def add_sweep_parser(commands: Any) -> argparse.ArgumentParser:
    """Declare ``fastsched sweep`` on the subparsers ``commands``."""
    from ..sim import POLICIES
    parser = commands.add_parser(
        "sweep", help="run a grid of trace experiments (workloads x policies x seeds) on Dask",
        description="Run every experiment of a grid of GPU-trace simulations on Dask.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", required=True, metavar="NODES.csv", help="node list")
    parser.add_argument("--pods", required=True, action="append", metavar="PODS.csv",
                        help="a workload's task list (repeatable)")
    parser.add_argument("--policies", default="all", metavar="LIST",
                        help=f"comma-separated, or all ({', '.join(POLICIES)})")
    parser.add_argument("--seeds", type=_seeds, default=tuple(range(42, 52)), metavar="LIST",
                        help="e.g. 42-51 (the default) or 1,2,3")
    parser.add_argument("--inflate", type=_floats, default=(1.3,), metavar="LIST",
                        help="GPU demand to reach, x the cluster's GPUs (default 1.3)")
    parser.add_argument("--variant", action="append", metavar="SPEC",
                        help="a cluster variant (repeatable; default: none)")
    parser.add_argument("--scheduler-address", metavar="tcp://HOST:PORT",
                        help="run on this Dask scheduler instead of an embedded cluster")
    parser.add_argument("--workers", type=integer_arg(1, 1024), metavar="N",
                        help="worker processes of the embedded cluster (default: one per CPU)")
    parser.add_argument("--out", metavar="FILE", help="results file (.csv or .parquet)")
    parser.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table",
                        metavar="FORMAT", help="table (default), json or yaml")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=cmd_sweep)
    return parser


def _policies(text: str) -> tuple[str, ...]:
    from ..sim import POLICIES
    if text == "all":
        return POLICIES
    by_lower = {p.lower(): p for p in POLICIES}
    out = []
    for name in text.split(","):
        if name.strip().lower() not in by_lower:
            raise ValueError(f"--policies: {name.strip()!r} is not one of {', '.join(POLICIES)}")
        out.append(by_lower[name.strip().lower()])
    return tuple(dict.fromkeys(out))


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run ``fastsched sweep``."""
    from ..sim.results import CsvWriter, done_keys, write_parquet
    from ..sim.sweep import grid_from_files, parse_variant, sweep
    try:
        policies = _policies(args.policies)
    except ValueError as err:
        return print_error(str(err))
    if args.out and not args.out.endswith((".csv", ".parquet")):
        return print_error(f"--out: {args.out!r}: the name must end in .csv or .parquet")
    variants = tuple(parse_variant(v) for v in (args.variant or ["none"]))
    grid = grid_from_files(args.nodes, args.pods, policies=policies, seeds=args.seeds,
                           inflate=args.inflate, variants=variants)
    skip = done_keys(args.out) if args.out else set()
    writer = CsvWriter(args.out) if args.out and args.out.endswith(".csv") else None
    finished: list = []
    total = sum(1 for e in grid.experiments() if e.key not in skip)
    bar = count_progress(sys.stderr, total, label="experiments", unit="runs", quiet=args.quiet)

    def on_result(exp: Any, result: Any) -> None:
        finished.append((exp, result))
        if writer is not None:
            writer.write(exp, result)
        bar.update(1)

    try:
        sweep(grid, address=args.scheduler_address, workers=args.workers, skip=skip,
              on_result=on_result)
    except KeyboardInterrupt:
        print(f"fastsched: interrupted after {len(finished)} of {total} experiments"
              + (f"; they are in {args.out}" if args.out else ""), file=sys.stderr)
        return 130
    finally:
        bar.close()
        if writer is not None:
            writer.close()
        if args.out and args.out.endswith(".parquet") and finished:
            write_parquet(args.out, finished)
    finals = [(e.key[0], e.policy, r.gpu_alloc_ratio) for e, r in finished]
    if skip:
        print(f"fastsched: {len(grid) - total} experiments already in {args.out}, skipped",
              file=sys.stderr)
        if args.out.endswith(".csv"):     # the table covers the whole grid, old runs too
            from ..sim.results import read_curves
            wanted = {e.key: e.policy for e in grid.experiments() if e.key in skip}
            for row in read_curves(args.out):
                key = (row["workload"], row["sc_policy"], row["tune"], row["seed"])
                known = [v for v in row["curve"] if v == v]
                if key in wanted and known:
                    finals.append((key[0], wanted.pop(key), known[-1]))
    _report(finished, finals, args.output)
    return 0


def _report(pairs: list, finals: list, fmt: str) -> None:
    if fmt != "table":
        emit({"apiVersion": REPORT_API, "kind": "SweepReport", "version": 1,
              "experiments": [{"workload": e.workload, "variant": e.variant, **r.to_dict()}
                              for e, r in sorted(pairs, key=lambda p: p[0])]},
             fmt, sys.stdout)
        return
    from ..sim import POLICIES
    cells: dict[tuple[str, str], list[float]] = {}
    for label, policy, final in finals:
        cells.setdefault((label, policy), []).append(final)
    workloads = sorted({w for w, _ in cells})
    policies = [p for p in POLICIES if any(q == p for _, q in cells)]
    width = max([len("workload"), *map(len, workloads)])
    print(f"{'workload':<{width}}  " + "  ".join(f"{p:>13}" for p in policies))
    for w in workloads:
        row = []
        for p in policies:
            v = cells.get((w, p))
            row.append(f"{statistics.fmean(v):13.2f}" if v else f"{'-':>13}")
        print(f"{w:<{width}}  " + "  ".join(row))
    print(f"(mean final GPU allocation %, {len(finals)} experiments)")
