"""What the solvers report about a result: its ``Status`` and its ``gap``.

Shared by ``BatchResult`` (``solve_batch``) and ``PackResult`` (``binpack``,
``binpack_vector``), so both speak the same terms.
"""

from __future__ import annotations

from enum import Enum
from typing import overload

__all__ = ["Status", "STATUSES", "gap"]


class Status(str, Enum):
    """How good a result is known to be.

    A ``str`` enum whose values are the names, so ``result.status == "OPTIMAL"``,
    ``in ("OPTIMAL", "FEASIBLE")``, dict keys and JSON keep working with plain
    strings, and printing or formatting a status gives its name.
    """

    OPTIMAL = "OPTIMAL"        # proved: no better result exists
    FEASIBLE = "FEASIBLE"      # a valid result, not proved optimal
    INFEASIBLE = "INFEASIBLE"  # proved: no valid result exists (batch placement only)
    UNKNOWN = "UNKNOWN"        # no result found in time (batch placement only)

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        # str(), f-strings and format() give the name on every Python version
        return format(self.value, spec)


STATUSES = tuple(s.value for s in Status)


@overload
def gap(objective: int, bound: int) -> float: ...
@overload
def gap(objective: int | None, bound: int | None) -> float | None: ...
def gap(objective: int | None, bound: int | None) -> float | None:
    """``|objective - bound| / max(1, |objective|)``: how far a result may be from
    the optimum, relative to it; None when either is unknown.

    For bin packing (``objective`` = bins, ``bound`` = the proven lower bound, never
    above the bins) this is ``(bins - lower_bound) / bins``, 0.0 when optimal or
    when there are no items, the value ``PackResult.gap`` always had.
    """
    if objective is None or bound is None:
        return None
    return abs(objective - bound) / max(1, abs(objective))
