"""``fastsched binpack FILE``: solve a bin-packing instance file.

The file may be in any of BPPLIB's layouts (item count, capacity, sizes; or
distinct weights with counts), VPSolver's vector ``.vbp`` layout, or
capacity-first; the layout is detected from the file's shape (see
``fastsched.cli._bppfiles``) unless ``--format`` names it. A vector instance is
solved with ``binpack_vector``, a one-dimensional one with ``binpack``.

Wired in ``fastsched/cli/__init__.py`` with ``add_binpack_parser(subparsers)``;
the parser sets ``run=cmd_binpack``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ._bppfiles import FORMATS, Instance, parse_instance, read_instance
from ._common import REPORT_API, emit, integer_arg, print_error
from ._progress import SearchProgress

__all__ = ["add_binpack_parser", "cmd_binpack", "read_bpplib", "read_instance"]

_EPILOG = """\
file formats (--format auto picks one from the file's shape):
  bpplib          BPPLIB's BPP files: item count n, capacity, then n sizes, one per line
  weight-count    BPPLIB's CSP files: number of weights m, capacity, then m lines 'weight count'
  vbp             VPSolver's .vbp: dimensions d, d capacities on one line, number of item
                  types m, then m lines of d sizes and a count (vector packing when d > 1)
  capacity-first  the capacity (or d capacities on one line), then one item per line
auto: a .vbp name, or the vbp shape, is vbp; several numbers on the first line are
capacity-first vector packing; a count, a capacity and that many 'weight count' lines is
weight-count; single numbers whose first equals the number of sizes after the second
(which no size exceeds) are bpplib; anything else is capacity-first. The format read is
printed; a capacity-first file whose capacity happens to equal its item count minus one
reads as bpplib, so name the format when in doubt.

output (-o): table (default) prints the lines below; json and yaml write a
fastsched.io/v1 BinPackReport (version 1): format, items, dimensions, capacity, bins,
lowerBound, optimal, gap, method, seconds, and assignment (the bin of each item).

exit status:
  0    a packing was found (optimal or not: see the 'optimal:' line)
  2    usage error, or a file that cannot be read or is malformed (FILE:LINE: why)
  141  the output pipe was closed
"""


def read_bpplib(path: str | Path, fmt: str = "auto") -> tuple[np.ndarray, int]:
    """(sizes, capacity) of a one-dimensional instance file in any layout
    (:func:`read_instance` also reads vector ones); ValueError on a malformed file."""
    inst = read_instance(path, fmt)
    if inst.vector:
        raise ValueError(f"{path}: a {inst.sizes.shape[1]}-dimensional instance; "
                         f"use read_instance for vector packing")
    return inst.sizes, int(inst.capacity)


def add_binpack_parser(subparsers) -> argparse.ArgumentParser:
    """Declare ``fastsched binpack``'s arguments."""
    p = subparsers.add_parser(
        "binpack", help="solve a bin-packing instance (BPPLIB, .vbp or capacity-first file)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Pack the items of a bin-packing instance into the fewest bins; prints "
                    "bins, lower bound, whether optimality is proved, and time.",
        epilog=_EPILOG)
    p.add_argument("file", help="instance file, or - for stdin")
    p.add_argument("--format", choices=("auto",) + FORMATS, default="auto",
                   help="layout of the file (default: auto, detected as below)")
    p.add_argument("--time-limit", type=float, default=10.0, metavar="SECONDS",
                   help="time limit in seconds (default 10)")
    p.add_argument("--workers", type=integer_arg(1, 256), default=None, metavar="N",
                   help="CP-SAT workers, 1 to 256 (default: CPUs, at most 8)")
    p.add_argument("--seed", type=integer_arg(0, (1 << 31) - 1), default=0, metavar="N",
                   help="random seed (default 0)")
    p.add_argument("--assignment", action="store_true",
                   help="also print the bin of each item, one per line (always in json/yaml)")
    p.add_argument("-o", "--output", type=_output, default="table", metavar="FORMAT",
                   help="table (default), json or yaml (a BinPackReport)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no live line on stderr (there is none off a terminal)")
    p.set_defaults(run=cmd_binpack)
    return p


def _output(text: str) -> str:
    if text == "wide":
        return "table"
    if text in ("table", "json", "yaml"):
        return text
    raise argparse.ArgumentTypeError(f"invalid choice {text!r} (choose from table, json, "
                                     f"yaml)")


def _load(path: str, fmt: str) -> Instance:
    if path == "-":
        return parse_instance(sys.stdin.read(), "<stdin>", fmt)
    return read_instance(path, fmt)


def cmd_binpack(args: argparse.Namespace) -> int:
    """Run ``fastsched binpack``; returns the exit status."""
    from ..solver import binpack, binpack_vector

    fmt = getattr(args, "format", "auto")
    try:
        inst = _load(args.file, fmt)
    except OSError as exc:
        return print_error(f"{args.file}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        return print_error(f"{args.file}: not a text file")
    except ValueError as exc:
        return print_error(str(exc))
    solve = binpack_vector if inst.vector else binpack
    try:
        with SearchProgress(sys.stderr, args.time_limit, label="packing", unit="bins",
                            quiet=getattr(args, "quiet", False)) as live:
            res = solve(inst.sizes, inst.capacity, time_limit=args.time_limit,
                        workers=args.workers, seed=args.seed, progress=live)
    except (ValueError, TypeError) as exc:
        return print_error(f"{args.file}: {exc}")
    how = "detected" if fmt == "auto" else "given"
    output = getattr(args, "output", "table")
    if output != "table":
        emit(report_document(inst, res, how), output, sys.stdout)
        return 0
    print(f"format: {inst.format} ({how})")
    if inst.vector:
        capacity = " ".join(map(str, np.asarray(inst.capacity).tolist()))
        print(f"items: {inst.sizes.shape[0]}  dimensions: {inst.sizes.shape[1]}  "
              f"capacity: {capacity}")
    else:
        print(f"items: {inst.sizes.size}  capacity: {inst.capacity}")
    print(f"bins: {res.bins}")
    print(f"lower bound: {res.lower_bound}")
    if res.optimal:
        print("optimal: yes (proved)")
    else:
        print(f"optimal: not proved (gap {res.gap:.2%})")
    print(f"method: {res.method}")
    print(f"time: {res.wall_time:.2f} s")
    if args.assignment:
        for b in res.assignment.tolist():
            print(b)
    return 0


def report_document(inst: Instance, res: Any, how: str = "detected") -> dict[str, Any]:
    """The ``-o json|yaml`` report of ``fastsched binpack`` (fields are only ever
    added; ``version`` changes if one changes meaning)."""
    capacity = np.asarray(inst.capacity).tolist()
    return {
        "apiVersion": REPORT_API, "kind": "BinPackReport", "version": 1,
        "format": inst.format, "formatSource": how,
        "items": int(inst.sizes.shape[0]),
        "dimensions": int(inst.sizes.shape[1]) if inst.vector else 1,
        "capacity": capacity, "bins": int(res.bins), "lowerBound": int(res.lower_bound),
        "optimal": bool(res.optimal), "gap": float(res.gap), "status": str(res.status.value),
        "method": res.method, "seconds": round(float(res.wall_time), 6),
        "assignment": res.assignment.tolist(),
    }
