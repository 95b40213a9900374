# A small, fast generator for kernels that randomize choices inside nogil loops.
from fastsched._kernels.common cimport u64


cdef inline u64 xorshift_next(u64 *state) noexcept nogil:
    """xorshift64* (Vigna 2016): the next value; ``state`` must not be 0."""
    cdef u64 x = state[0]
    x ^= x >> 12
    x ^= x << 25
    x ^= x >> 27
    state[0] = x
    return x * <u64>2685821657736338717
