"""``fastsched plot RESULTS.csv -o FIG.png``: the figures of a sweep.

Wired in ``fastsched/cli/__init__.py`` with ``add_plot_parser(subparsers)``; the
parser sets ``run=cmd_plot``.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_plot_parser", "cmd_plot"]


def add_plot_parser(commands: Any) -> argparse.ArgumentParser:
    """Declare ``fastsched plot`` on the subparsers ``commands``."""
    parser = commands.add_parser(
        "plot", help="draw a sweep's results (allocation, fragmentation, final bars)",
        description="Draw the figures of a 'fastsched sweep --out RESULTS.csv': GPU allocation "
                    "against arrived demand per policy (mean and a band over seeds), the "
                    "fragmentation ratio (from RESULTS.frag.csv), and the final allocation "
                    "of every workload and policy.",
        epilog="exit status: 0 drawn; 2 usage error, a file that cannot be read, or no "
               "matplotlib (pip install 'fastsched[plot]').")
    parser.add_argument("results", metavar="RESULTS.csv")
    parser.add_argument("-o", "--output", required=True, metavar="FIG.png",
                        help="the image to write (.png, .svg, .pdf)")
    parser.add_argument("--workload", metavar="NAME",
                        help="the workload of the curves (default: default, else the first)")
    parser.set_defaults(run=cmd_plot)
    return parser


def cmd_plot(args: argparse.Namespace) -> int:
    """Run ``fastsched plot``."""
    from ..sim.plots import plot_sweep
    plot_sweep(args.results, args.output, args.workload)
    print(f"wrote {args.output}")
    return 0
