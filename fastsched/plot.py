"""Pictures of a cluster, drawn with matplotlib (the optional ``plot`` extra).

``plot_cluster(cluster, path)`` saves a figure of every node's cpu and memory
utilization (requested / allocatable): one panel per zone, and in each panel the
nodes grouped by shape (instance type), fullest first. matplotlib is imported
only when a figure is drawn, so ``import fastsched`` never needs it; without it
``plot_cluster`` raises ``ImportError`` saying how to install it.

``label_column`` and ``natural_key`` are the small helpers the figure (and the
``fastsched`` command) group nodes with.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from os import PathLike
from typing import Any, cast

import numpy as np

from .cluster.cluster import Cluster
from .errors import ValidationError

__all__ = ["plot_cluster", "label_column", "natural_key", "ZONE_LABELS",
           "INSTANCE_TYPE_LABELS", "INSTALL_HINT"]

# Well-known node labels, current name first (the beta names are still set by some
# cloud providers).
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
INSTALL_HINT = "pip install 'fastsched[plot]'"
NO_ZONE = "(no zone)"
NO_SHAPE = "(no instance type)"
CPU_COLOR = "#1f77b4"
MEMORY_COLOR = "#d62728"


def label_column(cluster: Cluster, keys: Sequence[str]) -> np.ndarray:
    """``object[nodes]``: each node's value of the first label of ``keys`` it has
    (None where it has none). Read from the label codes, one pass per key."""
    table = cluster.label_table
    codes = cluster.label_codes
    out = np.full(len(cluster), None, dtype=object)
    for key in reversed(keys):          # earlier keys overwrite later ones
        k = table.key_index.get(key)
        if k is None:
            continue
        column = codes[:, k]
        present = column >= 0
        values = np.array(table.values[k], dtype=object)
        out[present] = values[column[present]]
    return out


def natural_key(text: str) -> tuple:
    """Sort key that orders embedded numbers by value: ``standard-4`` < ``standard-16``."""
    return tuple(int(part) if part.isdigit() else part
                 for part in re.split(r"(\d+)", text))


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError(f"plot_cluster needs matplotlib: {INSTALL_HINT}") from err
    matplotlib.use("Agg")   # files only: never open a window or need a display
    import matplotlib.pyplot as plt
    return plt


def _utilization(cluster: Cluster, resource: str) -> np.ndarray:
    """requested / allocatable of ``resource`` per node, in percent (NaN where the
    node has none of it)."""
    out = np.full(len(cluster), np.nan)
    if resource not in cluster.resources:
        return out
    col = cluster.resources.index(resource)
    alloc = cluster.allocatable[:, col].astype(np.float64)
    req = cluster.requested[:, col].astype(np.float64)
    np.divide(100.0 * req, alloc, out=out, where=alloc > 0)
    return out


def plot_cluster(cluster: Cluster, path: str | PathLike, *, title: str | None = None,
                 dpi: int = 110) -> None:
    """Save a figure of per-node cpu and memory utilization to ``path``.

    One panel per zone (label ``topology.kubernetes.io/zone``); in each, the nodes
    are grouped by shape (``node.kubernetes.io/instance-type``) in natural order
    and sorted by cpu utilization within a group, so a panel reads as one
    utilization profile per shape. cpu is the filled area, memory the dots. The
    format follows the file name (``.png``, ``.svg``, ``.pdf``...).
    """
    if not isinstance(cluster, Cluster):
        raise ValidationError(f"expected a Cluster, got {type(cluster).__name__}", "cluster")
    plt = _pyplot()
    # data: utilization and the groups of every node
    cpu = _utilization(cluster, "cpu")
    memory = _utilization(cluster, "memory")
    zones = np.array([z or NO_ZONE for z in label_column(cluster, ZONE_LABELS)], dtype=object)
    shapes = np.array([s or NO_SHAPE for s in label_column(cluster, INSTANCE_TYPE_LABELS)],
                      dtype=object)
    zone_names = sorted(set(zones.tolist()), key=natural_key) or [NO_ZONE]
    top = max(100.0, float(np.nanmax(np.concatenate([cpu, memory, [0.0]]))) * 1.05)
    widest = max(int(np.count_nonzero(zones == z)) for z in zone_names) if len(zones) else 1
    dot = float(np.clip(2000 / widest, 3, 30))   # marker area: smaller when nodes are many

    # figure: one row per zone, the same y axis everywhere
    fig, axes = plt.subplots(len(zone_names), 1, squeeze=False, sharey=True,
                             figsize=(12, 1.2 + 2.6 * len(zone_names)))
    order: list[int] | np.ndarray
    for ax, zone in zip(axes[:, 0], zone_names):
        in_zone = np.flatnonzero(zones == zone)
        order = sorted(in_zone.tolist(), key=lambda r: (
            natural_key(cast(str, shapes[r])), -np.nan_to_num(cpu[r]), -np.nan_to_num(memory[r])))
        order = np.array(order, dtype=np.int64)
        x = np.arange(len(order))
        edges = np.arange(len(order) + 1) - 0.5
        ax.stairs(np.nan_to_num(cpu[order]), edges, fill=True, color=CPU_COLOR, alpha=0.55,
                  label="cpu requested / allocatable")
        ax.scatter(x, memory[order], s=dot,
                   color=MEMORY_COLOR, linewidths=0, label="memory requested / allocatable",
                   zorder=3)
        _shape_bands(ax, shapes[order], top)
        ax.set_xlim(-0.5, max(len(order), 1) - 0.5)
        ax.set_ylim(0, top * 1.12)
        ax.set_ylabel("utilization (%)")
        ax.set_title(f"{zone}: {len(order):,} nodes, {_share(cluster, 'cpu', order)} of the cpu "
                     f"and {_share(cluster, 'memory', order)} of the memory requested",
                     loc="left", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[-1, 0].set_xlabel("nodes, grouped by instance type, fullest cpu first")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    # the title on the first line, the legend under it, then the panels
    height = fig.get_figheight()
    fig.suptitle(title or f"Requested / allocatable per node ({len(cluster):,} nodes)",
                 x=0.01, y=1 - 0.08 / height, ha="left", va="top", fontsize=12)
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.005, 1 - 0.4 / height),
               ncol=2, frameon=False, fontsize=9, markerscale=max(1.0, (30 / dot) ** 0.5))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.6 / height))
    try:
        fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)


def _share(cluster: Cluster, resource: str, rows: np.ndarray) -> str:
    """Requested / allocatable of ``resource`` summed over ``rows``, as a percentage."""
    if resource not in cluster.resources:
        return "-"
    col = cluster.resources.index(resource)
    alloc = int(cluster.allocatable[rows, col].sum())
    return f"{100 * int(cluster.requested[rows, col].sum()) / alloc:.1f}%" if alloc else "-"


def _shape_bands(ax: Any, shapes: np.ndarray, top: float) -> None:
    """Shade every other shape group and name each group above its nodes."""
    if not len(shapes):
        return
    starts = np.flatnonzero(np.r_[True, shapes[1:] != shapes[:-1]])
    ends = np.r_[starts[1:], len(shapes)]
    for i, (lo, hi) in enumerate(zip(starts.tolist(), ends.tolist())):
        if i % 2:
            ax.axvspan(lo - 0.5, hi - 0.5, color="0.92", zorder=0, linewidth=0)
        narrow = (hi - lo) < 0.08 * len(shapes)
        ax.text((lo + hi - 1) / 2, top * 1.02, f"{shapes[lo]} ({hi - lo:,})",
                ha="center", va="bottom", fontsize=7 if narrow else 8, color="0.25",
                rotation=0, clip_on=True)
