# The one resource-fit rule every kernel shares (spec §3.7): a node lacks a
# resource when the request exceeds what is left of its allocatable. alloc - used
# cannot overflow: both are >= 0 in the columns.
from fastsched._kernels.common cimport i64


cdef inline bint exceeds(i64 want, i64 alloc, i64 used) noexcept nogil:
    return want > alloc - used


cdef inline bint lacks(i64 want, i64 alloc, i64 used) noexcept nogil:
    """A resource the pod does not request never fails, even on an overcommitted node."""
    return want > 0 and exceeds(want, alloc, used)
