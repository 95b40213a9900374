"""Bin packing: ``binpack`` (one dimension, ``scalar``) and ``binpack_vector``
(vector bin packing, ``vector``), their result type ``PackResult`` and bounds.

The one-dimensional pipeline draws on ``bounds`` (L1, L2, the column-generation LP
bound), ``heuristics`` (FFD, BFD, MBS'), ``arcflow`` (the exact step),
``probing`` (LP probing on the arc-flow graph) and ``diving`` (on the LP).
"""

from .bounds import l1_bound, l2_bound
from .result import PackResult
from .scalar import binpack
from .validation import default_workers, validate_sizes
from .vector import binpack_vector

__all__ = ["PackResult", "binpack", "binpack_vector", "l1_bound", "l2_bound",
           "validate_sizes", "default_workers"]
