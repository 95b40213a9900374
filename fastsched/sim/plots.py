"""Figures of simulations (matplotlib, the ``plot`` extra): sweep results as a paper
shows them, and a time-based replay's utilization and queue."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ValidationError
from .results import frag_path, read_curves
from .timed import TimedResult

__all__ = ["plot_curve", "plot_sweep", "plot_timed"]

_DAY = 86400.0


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ValidationError("plots need matplotlib: pip install 'fastsched[plot]'",
                              "plot") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _policy_order(labels: Sequence[str]) -> list[str]:
    return sorted(set(labels))             # "01-Random" ... "06-FGD": the paper's order


def plot_curve(result: Any, out: str | os.PathLike[str]) -> None:
    """One experiment's GPU allocation and fragmentation ratio against arrived demand."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(range(len(result.gpu_alloc_curve)), result.gpu_alloc_curve, linewidth=1.6,
            label=f"GPU allocated ({result.gpu_alloc_ratio:.2f}% at the end)")
    ax.plot(range(len(result.frag_curve)), result.frag_curve, linewidth=1.2, linestyle="--",
            label="fragmented / idle GPU")
    ax.set(xlim=(0, 130), ylim=(0, 100), xlabel="arrived GPU demand (% of GPUs)",
           ylabel="%", title=f"{result.policy}, seed {result.seed}, inflate {result.inflate:g}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _band(ax: Any, rows: list[dict], label: str, color: Any = None) -> float:
    curves = np.array([r["curve"] for r in rows], dtype=np.float64)
    x = np.arange(curves.shape[1])
    with warnings.catch_warnings():              # points past what arrived are NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(curves, axis=0)
        lo, hi = np.nanmin(curves, axis=0), np.nanmax(curves, axis=0)
    line, = ax.plot(x, mean, linewidth=1.6, label=label, color=color)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    known = mean[~np.isnan(mean)]
    return float(known[-1]) if len(known) else float("nan")


def plot_sweep(results_csv: str | os.PathLike[str], out: str | os.PathLike[str],
               workload: str | None = None) -> None:
    """Three panels from a sweep's CSV: allocation against arrived demand per policy
    (mean, band over seeds) for ``workload`` (default: ``default`` if present, else
    the first), the fragmentation ratio likewise (from ``*.frag.csv`` when present),
    and the mean final allocation of every workload × policy."""
    plt = _pyplot()
    rows = read_curves(results_csv)
    if not rows:
        raise ValidationError("no experiments in the file", os.fspath(results_csv))
    workloads = sorted({r["workload"] for r in rows})
    chosen = workload or ("default" if "default" in workloads else workloads[0])
    if chosen not in workloads:
        raise ValidationError(f"no workload {chosen!r} (the file has {', '.join(workloads)})",
                              "workload")
    fpath = frag_path(results_csv)
    frags = read_curves(fpath) if fpath.exists() else []
    policies = _policy_order([r["sc_policy"] for r in rows])
    palette = plt.get_cmap("tab10")
    color = {p: palette(k % 10) for k, p in enumerate(policies)}   # one colour per policy
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6),
                             gridspec_kw={"width_ratios": [1, 1, 1.4]})
    alloc_ax, frag_ax, bar_ax = axes
    for p in reversed(policies):
        mine = [r for r in rows if r["workload"] == chosen and r["sc_policy"] == p]
        if mine:
            finals_of = [next((v for v in reversed(r["curve"]) if v == v), np.nan) for r in mine]
            _band(alloc_ax, mine, f"{p.split('-', 1)[-1]} ({np.nanmean(finals_of):.2f}%)",
                  color[p])
        theirs = [r for r in frags if r["workload"] == chosen and r["sc_policy"] == p]
        if theirs:
            _band(frag_ax, theirs, p.split("-", 1)[-1], color[p])
    alloc_ax.set(xlim=(0, 130), ylim=(0, 100), xlabel="arrived GPU demand (% of GPUs)",
                 ylabel="GPU allocated (%)", title=f"{chosen}: allocation (band: seeds)")
    inset = alloc_ax.inset_axes([0.45, 0.08, 0.52, 0.45])
    for line in alloc_ax.lines:
        inset.plot(line.get_xdata(), line.get_ydata(), color=line.get_color(), linewidth=1.2)
    finals = [ln.get_ydata()[~np.isnan(ln.get_ydata())][-1] for ln in alloc_ax.lines]
    inset.set(xlim=(85, 130), ylim=(min(finals) - 2, max(finals) + 1.5))
    inset.tick_params(labelsize=7)
    alloc_ax.legend(loc="upper left", fontsize=8)
    frag_ax.set(xlim=(0, 130), ylim=(0, 100), xlabel="arrived GPU demand (% of GPUs)",
                ylabel="fragmented / idle GPU (%)", title=f"{chosen}: fragmentation ratio")
    if not frags:
        frag_ax.text(0.5, 0.5, f"no {fpath.name}", ha="center", transform=frag_ax.transAxes)
    width = 0.8 / max(len(policies), 1)
    x = np.arange(len(workloads))
    for k, p in enumerate(policies):
        means = []
        for w in workloads:
            vals = [next((v for v in reversed(r["curve"]) if v == v), np.nan)
                    for r in rows if r["workload"] == w and r["sc_policy"] == p]
            means.append(np.nanmean(vals) if vals else np.nan)
        bar_ax.bar(x + (k - (len(policies) - 1) / 2) * width, means, width,
                   label=p.split("-", 1)[-1], color=color[p])
    low = np.nanmin([b.get_height() for b in bar_ax.patches] or [0])
    bar_ax.set(xticks=x, ylim=(max(0, low - 5), 100), ylabel="final GPU allocated (%)",
               title="final allocation by workload and policy")
    bar_ax.set_xticklabels(workloads, rotation=45, ha="right", fontsize=8)
    bar_ax.legend(fontsize=7, ncol=3, loc="upper left")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_timed(results: Sequence[TimedResult], out: str | os.PathLike[str]) -> None:
    """GPU allocation and queue length over time (days), one line per result."""
    plt = _pyplot()
    if not results:
        raise ValidationError("nothing to plot", "results")
    fig, (util, queue) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    t0 = min(float(r.time[0]) for r in results if len(r.time))
    # the window that matters: arrivals, and the queue draining after them
    end = max(max(r.arrival_end, int(r.start.max(initial=0))) for r in results) - t0
    span = max(end * 1.05, 1.0)
    unit, scale = next((u, s) for u, s in (("seconds", 1.0), ("minutes", 60.0),
                                           ("hours", 3600.0), ("days", _DAY))
                       if span / s < 200 or u == "days")
    for r in results:
        x = (r.time - t0) / scale
        label = f"{r.policy} (mean {r.mean_gpu_util():.1f}%, {r.never_ran} never ran)"
        util.step(x, r.gpu_util, where="post", linewidth=1.0, label=label)
        queue.step(x, r.queue, where="post", linewidth=1.0, label=r.policy)
    util.set_xlim(0, span / scale)
    speed = results[0].speedup
    util.set(ylabel="GPU allocated (%)", ylim=(0, 100),
             title="time-based replay" + (f", arrivals {speed:g}x as dense" if speed != 1 else ""))
    queue.set(xlabel=f"{unit} since the first arrival", ylabel="tasks waiting")
    for ax in (util, queue):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
