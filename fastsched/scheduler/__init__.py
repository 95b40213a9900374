"""The online scheduler: a profile compiled into a plan, pods compiled into specs,
the kernels' placements turned into results; preemption and gangs."""

from .preemption import PodDisruptionBudget, Preemption
from .queue import QueueResult
from .scheduler import (
                        FilterResult,
                        Placement,
                        Scheduler,
                        ScheduleResult,
                        ScoreResult,
                        Unschedulable,
                        num_nodes_to_find,
)

__all__ = ["Scheduler", "Placement", "Unschedulable", "FilterResult", "ScoreResult",
           "ScheduleResult", "Preemption", "PodDisruptionBudget", "QueueResult",
           "num_nodes_to_find"]
