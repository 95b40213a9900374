# The monotonic clock for kernels that honour a deadline inside a nogil loop.
# CLOCK_MONOTONIC is the clock behind Python's time.monotonic() on Linux, so a
# deadline computed in Python as time.monotonic() + seconds means the same here.
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec


cdef inline double monotonic() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <double>ts.tv_sec + 1e-9 * <double>ts.tv_nsec


cdef inline bint past(double deadline) noexcept nogil:
    """True once ``deadline`` (seconds on the monotonic clock) has passed; a
    deadline <= 0 means none."""
    return deadline > 0.0 and monotonic() >= deadline
