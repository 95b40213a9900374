"""Preemption's victim choice on many candidate nodes in one nogil call."""

from fastsched._kernels.common cimport i64, u8


def reprieve(const i64[:, ::1] free, const i64[:, ::1] req, const i64[::1] offsets,
             const i64[::1] need, u8[::1] victim):
    """For candidate node j, pods offsets[j]..offsets[j+1] (most important first) are
    evicted, then each is re-admitted if ``free[j]`` plus what is still evicted
    leaves ``need``; ``victim[k]`` says who stays evicted. Columns: only those the
    preemptor requests."""
    cdef Py_ssize_t m = free.shape[0], c = free.shape[1], j, k, r
    cdef i64 room[64]
    cdef bint fits
    with nogil:
        for j in range(m):
            for r in range(c):
                room[r] = free[j, r]
            for k in range(offsets[j], offsets[j + 1]):
                for r in range(c):
                    room[r] += req[k, r]
            for k in range(offsets[j], offsets[j + 1]):
                fits = True
                for r in range(c):
                    if room[r] - req[k, r] < need[r]:
                        fits = False
                        break
                if fits:
                    for r in range(c):
                        room[r] -= req[k, r]
                    victim[k] = 0
                else:
                    victim[k] = 1
