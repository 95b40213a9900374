"""``PackResult``: the outcome of ``binpack`` and ``binpack_vector``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..status import Status

__all__ = ["PackResult"]


@dataclass(frozen=True)
class PackResult:
    """Outcome of a bin-packing run.

    ``assignment[i]`` is the bin (0..bins-1) of item i. ``lower_bound`` is proven;
    ``optimal`` is True only when ``bins == lower_bound`` (the bound proves the
    packing optimal). ``status`` is ``Status.OPTIMAL`` or ``Status.FEASIBLE``; ``gap``
    is ``(bins - lower_bound) / bins`` (0.0 when optimal or empty; ``status.gap``); ``method`` names
    what found the packing and what proved the bound, e.g. "mbs'=lp";
    ``workers`` the CP-SAT workers used (recorded whether or not CP-SAT ran);
    ``stats`` per-stage details (times, LP value, arc counts).
    """

    bins: int
    assignment: np.ndarray
    lower_bound: int
    optimal: bool
    status: Status
    wall_time: float
    method: str
    gap: float
    workers: int
    stats: dict[str, Any] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        return (f"PackResult({self.status.value}, {self.bins} bins, lower bound "
                f"{self.lower_bound}, {len(self.assignment)} items, method {self.method!r}, "
                f"{self.wall_time:.2f} s)")
