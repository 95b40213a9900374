"""Text for the reports of ``inspect``, ``schedule`` and ``demo``: aligned tables,
amounts for people (cores, binary bytes), durations, rates, plurals, shares.

Pure functions of their arguments (no output), so each command composes its
report as lists of lines and prints them once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..cluster.cluster import Cluster
from ..model.quantity import format_quantity

__all__ = ["first_label", "duration", "pod_rate", "plural", "percent", "column_share",
           "cluster_total", "human_amount", "binary_bytes", "table_lines"]

_BINARY = ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei")


def first_label(labels: Any, keys: Sequence[str]) -> str | None:
    """The value of the first of ``keys`` present in ``labels`` (None if none is)."""
    return next((labels[k] for k in keys if k in labels), None)


def duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def pod_rate(pods: int, seconds: float) -> str:
    return f"{pods / seconds:,.0f} pods/s" if pods and seconds > 0 else "- pods/s"


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def column_share(cluster: Cluster, resource: str, rows: Any = slice(None)) -> str:
    """Requested / allocatable of ``resource`` over ``rows`` of the cluster."""
    if resource not in cluster.resources:
        return "-"
    col = cluster.resources.index(resource)
    return percent(int(cluster.requested[rows, col].sum()),
                   int(cluster.allocatable[rows, col].sum()))


def cluster_total(amount: int, resource: str) -> str:
    """A cluster-wide amount for people: cores, binary bytes, or a count."""
    if resource == "cpu":
        return f"{amount / 1000:,.1f}"
    binary = resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-")
    return binary_bytes(amount) if binary and abs(amount) >= 1024 else f"{amount:,}"


def human_amount(amount: int, resource: str) -> str:
    """An amount for people: cpu in cores, bytes in binary units, counts as they are."""
    if resource == "cpu":
        cores, millis = divmod(abs(amount), 1000)
        text = f"{cores}.{millis:03d}".rstrip("0").rstrip(".")
        return f"-{text}" if amount < 0 else text
    exact = format_quantity(amount, resource)
    binary = resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-")
    return exact if not binary or len(exact) <= 7 else binary_bytes(amount)


def binary_bytes(amount: int) -> str:
    """Bytes in the largest binary unit below 1024 of it, one decimal: ``170.2Ti``."""
    value, unit = float(amount), ""
    for prefix in _BINARY:
        if abs(value) < 1024:
            break
        value, unit = value / 1024, prefix
    return f"{value:.1f}{unit}"


def table_lines(rows: Sequence[tuple[str, ...]], right: Sequence[int] = ()) -> list[str]:
    """``rows`` (the first is the header) as aligned lines indented by two spaces;
    the columns in ``right`` are right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.rjust(w) if i in right else cell.ljust(w)
                 for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines
