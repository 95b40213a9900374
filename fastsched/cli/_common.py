"""What every ``fastsched`` command shares: reading manifests, reporting errors,
writing Bindings, and argument types.

A command reads its manifests with :func:`read_manifests` (skipped documents
become warnings on stderr, the same wording for every command), reports bad
input as ``fastsched: error: <message>`` with exit status 2, and writes new
placements with :func:`write_bindings`. The command modules import this one;
it imports none of them, nor the ``fastsched.cli`` package itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import FastschedError
from ..kube.bindings import dump_bindings, to_bindings
from ..kube.manifests import Manifests, ManifestWarning, load_manifests

__all__ = ["read_manifests", "describe_error", "print_error", "write_bindings", "integer_arg"]


def add_manifest_args(parser: argparse.ArgumentParser) -> None:
    """Manifest files as positional arguments (``-`` for stdin) and as kubectl's
    repeatable ``-f/--filename``."""
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="YAML or JSON manifest files (or directories of them); - for "
                             "stdin")
    parser.add_argument("-f", "--filename", action="append", default=[], metavar="FILE",
                        help="a manifest file, as kubectl takes it (repeatable)")


def manifest_files(args: argparse.Namespace) -> list[str]:
    """The files of ``add_manifest_args``, at least one."""
    files = [*args.files, *args.filename]
    if not files:
        raise FastschedError("no manifests: give FILE arguments, -f FILE, or - for stdin")
    return files


def read_manifests(paths: Sequence[str]) -> Manifests:
    """Load manifests, printing skipped documents as warnings on stderr."""
    if list(paths).count("-") > 1:
        raise FastschedError("'-' (stdin) can be given once")
    for path in paths:
        if path != "-" and not os.path.isfile(path):
            what = "a directory, not a file" if os.path.isdir(path) else "no such file"
            raise FastschedError(f"{path}: {what}")
    sources = [_Stdin() if p == "-" else p for p in paths]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ManifestWarning)
        manifests = load_manifests(*sources)
    for warning in caught:
        if issubclass(warning.category, ManifestWarning):
            print(f"fastsched: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename,
                                 warning.lineno)
    return manifests


class _Stdin:
    """Standard input as a manifest source, named as errors should name it."""

    name = "<stdin>"

    def read(self) -> str:
        return sys.stdin.read()


def describe_error(err: Exception) -> str:
    """The message of an error for ``fastsched: error:``: an OSError names its file."""
    if isinstance(err, OSError) and err.filename is not None:
        return f"{err.filename}: {err.strerror}"
    return str(err)


def print_error(message: str) -> int:
    """Print ``fastsched: error: <message>`` on stderr; returns 2, the bad-input status."""
    print(f"fastsched: error: {message}", file=sys.stderr)
    return 2


def write_bindings(path: str, pairs: Iterable[Any]) -> None:
    """Write a v1 Binding for each newly placed ``(pod, node)`` pair: a JSON v1 List
    if ``path`` ends in .json, else multi-document YAML; ``-`` is stdout (YAML)."""
    bindings = to_bindings(pairs, new_only=True)
    fmt = "json" if path.lower().endswith(".json") else "yaml"
    text = dump_bindings(bindings, fmt)
    if path == "-":
        sys.stdout.write(text)
    else:
        Path(path).write_text(text, encoding="utf-8")


OUTPUTS = ("table", "wide", "json", "yaml", "name")
REPORT_API = "fastsched.io/v1"


def output_arg(text: str) -> str:
    """An argparse type for kubectl's ``-o``: one of OUTPUTS (a file name is the
    mistake of old habits: say where it goes now)."""
    if text in OUTPUTS:
        return text
    hint = "; Bindings are written with --bindings FILE" if "." in text or "/" in text else ""
    raise argparse.ArgumentTypeError(f"invalid choice {text!r} (choose from "
                                     f"{', '.join(OUTPUTS)}){hint}")


def emit(document: Any, fmt: str, out: Any) -> None:
    """Write a report document as JSON or YAML (block style, keys in order)."""
    if fmt == "json":
        json.dump(document, out, indent=2)
        out.write("\n")
    else:
        import yaml
        yaml.safe_dump(document, out, sort_keys=False, default_flow_style=False)


def number_arg(low: float, high: float) -> Any:
    """An argparse type: a finite number in [low, high]."""
    def number(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
        if not low <= value <= high:          # NaN fails both
            raise argparse.ArgumentTypeError(f"must be in [{low:g}, {high:g}], got {text[:40]}")
        return value
    return number


def integer_arg(low: int | None = None, high: int | None = None) -> Any:
    """An argparse type: an integer in [low, high] (bounds written with thousands
    separators in the message, so that a limit reads at a glance)."""
    def integer(text: str) -> int:
        shown = text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"
        try:
            if len(text.strip().lstrip("+-")) > 40:    # int() of 5,000 digits: an internal error
                raise ValueError(text)
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {shown!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"in [{low:,}, {high:,}]" if high is not None and low is not None else \
                f"at most {high:,}" if high is not None else f"at least {low:,}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {value:,}")
        return value
    return integer
