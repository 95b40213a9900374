"""``BatchOptions``: how ``solve_batch`` searches, validated once."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..._validation import check_choice, check_int
from ...errors import ValidationError

OBJECTIVES = ("max_placed", "min_nodes", "balance")
HINTS = ("greedy", "none")


@dataclass(frozen=True)
class BatchOptions:
    """How ``solve_batch`` searches: see its docstring."""

    objective: str = "min_nodes"
    time_limit: float = 10.0
    workers: int | None = None
    seed: int = 0
    hint: str | None = "greedy"

    def __post_init__(self) -> None:
        check_choice(self.objective, "objective", OBJECTIVES)
        limit = self.time_limit
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) \
                or not math.isfinite(limit) or limit < 0:
            raise ValidationError(f"must be a finite number of seconds >= 0, got {limit!r}",
                                  "time_limit")
        object.__setattr__(self, "time_limit", float(limit))
        object.__setattr__(self, "workers",
                           check_int(self.workers, "workers", lo=1, hi=256, allow_none=True))
        object.__setattr__(self, "seed", check_int(self.seed, "seed", lo=0, hi=(1 << 31) - 1))
        object.__setattr__(self, "hint", check_choice(
            "none" if self.hint is None else self.hint, "hint", HINTS))
