"""Optimization solvers: batch placement of pods (``batch``) and bin packing (one- and
multi-dimensional) with its bounds.

OR-Tools and SciPy are imported lazily inside the functions that solve; nothing
of either escapes.
"""

from .batch import AntiAffinity, BatchOptions, BatchResult, Gang, Spread, solve_batch
from .binpack import PackResult, binpack
from .bounds import l1_bound, l2_bound
from .vector import binpack_vector

__all__ = ["PackResult", "binpack", "binpack_vector", "l1_bound", "l2_bound",
           "solve_batch", "BatchResult", "BatchOptions", "Gang", "AntiAffinity", "Spread"]
