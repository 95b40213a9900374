"""NodeResourcesFit over every node: which resources each node lacks for a request."""

from fastsched._kernels.common cimport i64, u64
from fastsched._kernels.resources cimport lacks


cdef Py_ssize_t _fit_reasons(const i64[:, ::1] allocatable, const i64[:, ::1] requested,
                             const i64[::1] request, u64[::1] out) noexcept nogil:
    cdef Py_ssize_t n = allocatable.shape[0], r = allocatable.shape[1]
    cdef Py_ssize_t i, j, fitting = 0
    cdef u64 bits
    for i in range(n):
        bits = 0
        for j in range(r):
            if lacks(request[j], allocatable[i, j], requested[i, j]):
                bits |= (<u64>1) << j
        out[i] = bits
        fitting += bits == 0
    return fitting


def fit_reasons(const i64[:, ::1] allocatable, const i64[:, ::1] requested,
                const i64[::1] request, u64[::1] out):
    """Bit j of ``out[i]`` is set when node i lacks resource column j for ``request``.

    ``request`` includes the pod-count column (1 per pod), so "Too many pods" is one
    more resource. Returns the number of nodes that fit. At most 64 columns.
    """
    with nogil:
        fitting = _fit_reasons(allocatable, requested, request, out)
    return fitting
