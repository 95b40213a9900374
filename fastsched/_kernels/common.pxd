# Fixed-width types shared by every kernel.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t

ctypedef int64_t i64
ctypedef int32_t i32
ctypedef uint64_t u64
ctypedef uint8_t u8
