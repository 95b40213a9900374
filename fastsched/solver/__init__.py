"""Optimization solvers: batch placement of pods (``batch``) and bin packing (one- and
multi-dimensional) with its bounds (``binpack``).

OR-Tools and SciPy are imported lazily inside the functions that solve; nothing
of either escapes.
"""

from .batch import AntiAffinity, BatchOptions, BatchResult, Gang, Spread, solve_batch

# ``binpack`` is both the subpackage and, once imported here, the function: the
# attribute fastsched.solver.binpack is the function, as it was when binpack was a
# module; its modules are reached as fastsched.solver.binpack.<module> imports.
from .binpack import PackResult, binpack, binpack_vector, l1_bound, l2_bound

__all__ = ["PackResult", "binpack", "binpack_vector", "l1_bound", "l2_bound",
           "solve_batch", "BatchResult", "BatchOptions", "Gang", "AntiAffinity", "Spread"]
