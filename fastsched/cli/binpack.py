"""``fastsched binpack FILE``: solve a BPPLIB bin-packing instance.

File format (BPPLIB "binpack" text, as in shared/data/bpp): the bin capacity on
the first line, then one integer item size per line. Blank lines are ignored.

Wired in ``fastsched/cli/__init__.py`` with ``add_binpack_parser(subparsers)``;
the parser sets ``run=cmd_binpack``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ._common import integer_arg, print_error

__all__ = ["add_binpack_parser", "cmd_binpack", "read_bpplib"]


class _FormatError(ValueError):
    pass


def read_bpplib(path: str | Path) -> tuple[np.ndarray, int]:
    """(sizes, capacity) from a BPPLIB text file; ValueError on a malformed one."""
    text = Path(path).read_text()
    tokens = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            tokens.append(int(line))
        except ValueError:
            raise _FormatError(f"{path}:{lineno}: expected one integer per line, "
                               f"got {line!r}") from None
    if not tokens:
        raise _FormatError(f"{path}: empty file, expected the capacity then item sizes")
    return np.array(tokens[1:], dtype=np.int64), tokens[0]


def add_binpack_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "binpack", help="solve a one-dimensional bin-packing instance (BPPLIB file)",
        description="Pack the items of a BPPLIB instance (capacity on the first line, "
                    "one size per line) into the fewest bins; prints bins, lower bound, "
                    "whether optimality is proved, and time.")
    p.add_argument("file", help="BPPLIB instance file")
    p.add_argument("--time-limit", type=float, default=10.0, metavar="SECONDS",
                   help="time limit in seconds (default 10)")
    p.add_argument("--workers", type=integer_arg(1, 256), default=None, metavar="N",
                   help="CP-SAT workers, 1 to 256 (default: CPUs, at most 8)")
    p.add_argument("--seed", type=integer_arg(0, (1 << 31) - 1), default=0, metavar="N",
                   help="random seed (default 0)")
    p.add_argument("--assignment", action="store_true",
                   help="also print the bin of each item, one per line")
    p.set_defaults(run=cmd_binpack)
    return p


def cmd_binpack(args: argparse.Namespace) -> int:
    from ..solver import binpack

    try:
        sizes, capacity = read_bpplib(args.file)
    except OSError as exc:
        return print_error(f"{args.file}: {exc.strerror or exc}")
    except ValueError as exc:
        return print_error(str(exc))
    try:
        res = binpack(sizes, capacity, time_limit=args.time_limit, workers=args.workers,
                      seed=args.seed)
    except (ValueError, TypeError) as exc:
        return print_error(f"{args.file}: {exc}")
    print(f"items: {sizes.size}  capacity: {capacity}")
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
