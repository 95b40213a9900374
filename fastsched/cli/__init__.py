"""The ``fastsched`` command.

::

    fastsched --version
    fastsched inspect FILES...      summary of the cluster the manifests describe
    fastsched schedule FILES...     schedule the pending pods of the manifests, write Bindings
    fastsched demo                  schedule 10,000 pods on a synthetic 5,000-node cluster
    fastsched solve FILES...        place all pending pods at once with CP-SAT (batch)
    fastsched route FILES... --service NAME --keys FILE|-   route client keys to endpoints
    fastsched binpack FILE          solve a BPPLIB bin-packing instance (bound, optimality)
    fastsched replica --id N --peers HOST:PORT,... --data DIR --secret-file F
                                    run a Paxos replica (--recover after lost state)

Each subcommand lives in its own module, ``fastsched.cli.<name>``, as a pair:
``add_<name>_parser(commands)`` declares its arguments and sets
``run=cmd_<name>``; ``cmd_<name>(args) -> int`` does the work and returns the
exit status. What they share (reading manifests, error messages, writing
Bindings) is in ``fastsched.cli._common``, report formatting in
``fastsched.cli._text``; neither imports this package, so the command modules
never import it back. This module holds only the top-level parser and ``main``.

Bad input (a manifest that cannot be read, a missing file, a mistyped option —
with the option it most likely meant) prints ``fastsched: error: <message>`` on
stderr and exits with status 2. Unschedulable pods are not an error: as for
kube-scheduler they are an outcome, reported with their reasons; ``schedule`` and
``solve`` exit with status 3 then (0 with ``--allow-unschedulable``), so a pipeline
can gate on it.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from .. import __version__
from ..errors import FastschedError
from ._common import describe_error, print_error
from .binpack import add_binpack_parser
from .demo import add_demo_parser, cmd_demo, demo_workload
from .inspect import add_inspect_parser, cmd_inspect
from .plan import add_plan_parser
from .plot import add_plot_parser
from .replica import add_replica_parser
from .route import add_route_parser
from .schedule import add_schedule_parser, cmd_schedule
from .simulate import add_simulate_parser
from .solve import add_solve_parser
from .sweep import add_sweep_parser

# cmd_inspect, cmd_schedule, cmd_demo and demo_workload stay importable from here,
# where they lived before each command had its own module.
__all__ = ["main", "build_parser", "cmd_inspect", "cmd_schedule", "cmd_demo", "demo_workload"]


class _Parser(argparse.ArgumentParser):
    """argparse, with "did you mean" for a mistyped option, command or choice
    (Python 3.11's argparse has no suggestions of its own)."""

    def error(self, message: str) -> NoReturn:
        found = re.match(r"unrecognized arguments: (.*)", message)
        if found:
            options = sorted(_options(self))
            hints = []
            for word in found.group(1).split():
                flag = word.split("=", 1)[0]
                if flag.startswith("-"):
                    close = difflib.get_close_matches(flag, options, n=1, cutoff=0.6)
                    if close:
                        hints.append(f"{flag}: did you mean {close[0]}?")
            if hints:
                message += " (" + "; ".join(hints) + ")"
        choice = re.match(r"argument .*: invalid choice: '([^']*)' \(choose from (.*)\)",
                          message)
        if choice:
            names = re.findall(r"'([^']*)'", choice.group(2))
            close = difflib.get_close_matches(choice.group(1), names, n=1, cutoff=0.6)
            if close:
                message += f" (did you mean {close[0]!r}?)"
        super().error(message)


def _options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of ``parser`` and of its subcommands."""
    out: set[str] = set()
    for action in parser._actions:
        out.update(o for o in action.option_strings if o.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out |= _options(sub)
    return out


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(
        prog="fastsched",
        description="A scheduling core with Kubernetes semantics.")
    parser.add_argument("--version", action="version", version=f"fastsched {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_inspect_parser(commands)
    add_schedule_parser(commands)
    add_demo_parser(commands)
    add_solve_parser(commands)
    add_route_parser(commands)
    add_binpack_parser(commands)
    add_simulate_parser(commands)
    add_sweep_parser(commands)
    add_plan_parser(commands)
    add_plot_parser(commands)
    add_replica_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a usage error (already printed)
        return done.code if isinstance(done.code, int) else 0
    if args.command is None:
        parser.print_usage(sys.stderr)
        return print_error("a command is required (see fastsched --help)")
    try:
        return args.run(args)
    except BrokenPipeError:  # output piped into a reader that stopped (| head): not an error
        _silence_stdout()
        return 141           # 128 + SIGPIPE, as a shell reports it
    except (FastschedError, OSError) as err:
        return print_error(describe_error(err))


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):   # not a real file (e.g. under a test)
        pass


if __name__ == "__main__":
    sys.exit(main())
