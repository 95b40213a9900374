# Hash primitives shared by the hashing kernels, all inline (nogil, except the key
# gathering, which reads Python objects):
# * MD5 (RFC 1321), for ketama and uhashring compatibility;
# * MurmurHash3 x64_128 (Austin Appleby's public-domain design, as described in
#   SMHasher), fastsched's "fast" 64-bit hash: its first 64-bit half for keys and
#   ring points, both halves for Maglev's offset and skip;
# * the 64-bit finalizer fmix64, to mix a key hash with a node hash (rendezvous);
# * key gathering: turning one Python key into the byte range that is hashed.
#
# Multi-byte words are assembled from bytes explicitly (little-endian, as both
# algorithms define them); gcc turns each of those into a single load.

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.exc cimport PyErr_Clear
from libc.stdint cimport uint32_t
from libc.string cimport memchr, memcpy, memset

from fastsched._kernels.common cimport u8, u64

ctypedef uint32_t u32

cdef extern from "Python.h":
    # Returns NULL (with an exception set) when the str cannot be encoded, e.g. a
    # lone surrogate; the caller clears it and reports the key.
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size)
    unsigned long long PyLong_AsUnsignedLongLongMask(object value) except? <unsigned long long>-1

# How a Python key becomes bytes (see fastsched.hashing for the rules).
cdef enum:
    NORM_COMPAT = 0     # uhashring: str(key).encode(): b"ab" is hashed as "b'ab'"
    NORM_RAW = 1        # str as UTF-8, bytes as they are, int as str(key)
    NORM_CSTRING = 2    # NORM_RAW cut at the first NUL byte (libketama's C strings)
    NORM_INT = 3        # NORM_RAW, except that an int is its value modulo 2**64 (jump)

# What a key's bytes are hashed into.
cdef enum:
    HASH_KETAMA = 0     # LE32 of MD5 bytes 0..3, as the top half of a u64 ring position
    HASH_MD5_128 = 1    # MD5 as a 128-bit big-endian integer: hi, lo
    HASH_FAST = 2       # MurmurHash3 x64_128, seed 0: hi = first half, lo = second half

# Results of gathering a key.
cdef enum:
    KEY_BYTES = 0       # ptr/size point at the bytes to hash
    KEY_VALUE = 1       # NORM_INT and an int: the value itself is the hash
    KEY_BAD_TYPE = 2
    KEY_BAD_TEXT = 3    # a str that UTF-8 cannot encode


# -- MD5 (RFC 1321) -------------------------------------------------------------------

cdef inline u32 _rotl32(u32 x, int s) noexcept nogil:
    return (x << s) | (x >> (32 - s))


cdef inline u32 _md5_f(u32 a, u32 b, u32 c, u32 d, u32 x, int s, u32 t) noexcept nogil:
    return b + _rotl32(a + ((b & c) | (~b & d)) + x + t, s)


cdef inline u32 _md5_g(u32 a, u32 b, u32 c, u32 d, u32 x, int s, u32 t) noexcept nogil:
    return b + _rotl32(a + ((b & d) | (c & ~d)) + x + t, s)


cdef inline u32 _md5_h(u32 a, u32 b, u32 c, u32 d, u32 x, int s, u32 t) noexcept nogil:
    return b + _rotl32(a + (b ^ c ^ d) + x + t, s)


cdef inline u32 _md5_i(u32 a, u32 b, u32 c, u32 d, u32 x, int s, u32 t) noexcept nogil:
    return b + _rotl32(a + (c ^ (b | ~d)) + x + t, s)


cdef inline u32 load_le32(const u8* p) noexcept nogil:
    return <u32>p[0] | (<u32>p[1] << 8) | (<u32>p[2] << 16) | (<u32>p[3] << 24)


cdef inline u64 load_le64(const u8* p) noexcept nogil:
    return <u64>load_le32(p) | (<u64>load_le32(p + 4) << 32)


cdef inline u32 bswap32(u32 v) noexcept nogil:
    return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24)


cdef inline void _md5_block(u32* state, const u8* p) noexcept nogil:
    # One 64-byte block: four rounds of sixteen steps. Step i adds
    # T[i] = floor(2**32 * |sin(i + 1)|) and the message word the RFC lists for it.
    cdef u32 x[16]
    cdef int i
    for i in range(16):
        x[i] = load_le32(p + 4 * i)
    cdef u32 a = state[0], b = state[1], c = state[2], d = state[3]
    a = _md5_f(a, b, c, d, x[0], 7, 0xd76aa478)
    d = _md5_f(d, a, b, c, x[1], 12, 0xe8c7b756)
    c = _md5_f(c, d, a, b, x[2], 17, 0x242070db)
    b = _md5_f(b, c, d, a, x[3], 22, 0xc1bdceee)
    a = _md5_f(a, b, c, d, x[4], 7, 0xf57c0faf)
    d = _md5_f(d, a, b, c, x[5], 12, 0x4787c62a)
    c = _md5_f(c, d, a, b, x[6], 17, 0xa8304613)
    b = _md5_f(b, c, d, a, x[7], 22, 0xfd469501)
    a = _md5_f(a, b, c, d, x[8], 7, 0x698098d8)
    d = _md5_f(d, a, b, c, x[9], 12, 0x8b44f7af)
    c = _md5_f(c, d, a, b, x[10], 17, 0xffff5bb1)
    b = _md5_f(b, c, d, a, x[11], 22, 0x895cd7be)
    a = _md5_f(a, b, c, d, x[12], 7, 0x6b901122)
    d = _md5_f(d, a, b, c, x[13], 12, 0xfd987193)
    c = _md5_f(c, d, a, b, x[14], 17, 0xa679438e)
    b = _md5_f(b, c, d, a, x[15], 22, 0x49b40821)
    a = _md5_g(a, b, c, d, x[1], 5, 0xf61e2562)
    d = _md5_g(d, a, b, c, x[6], 9, 0xc040b340)
    c = _md5_g(c, d, a, b, x[11], 14, 0x265e5a51)
    b = _md5_g(b, c, d, a, x[0], 20, 0xe9b6c7aa)
    a = _md5_g(a, b, c, d, x[5], 5, 0xd62f105d)
    d = _md5_g(d, a, b, c, x[10], 9, 0x02441453)
    c = _md5_g(c, d, a, b, x[15], 14, 0xd8a1e681)
    b = _md5_g(b, c, d, a, x[4], 20, 0xe7d3fbc8)
    a = _md5_g(a, b, c, d, x[9], 5, 0x21e1cde6)
    d = _md5_g(d, a, b, c, x[14], 9, 0xc33707d6)
    c = _md5_g(c, d, a, b, x[3], 14, 0xf4d50d87)
    b = _md5_g(b, c, d, a, x[8], 20, 0x455a14ed)
    a = _md5_g(a, b, c, d, x[13], 5, 0xa9e3e905)
    d = _md5_g(d, a, b, c, x[2], 9, 0xfcefa3f8)
    c = _md5_g(c, d, a, b, x[7], 14, 0x676f02d9)
    b = _md5_g(b, c, d, a, x[12], 20, 0x8d2a4c8a)
    a = _md5_h(a, b, c, d, x[5], 4, 0xfffa3942)
    d = _md5_h(d, a, b, c, x[8], 11, 0x8771f681)
    c = _md5_h(c, d, a, b, x[11], 16, 0x6d9d6122)
    b = _md5_h(b, c, d, a, x[14], 23, 0xfde5380c)
    a = _md5_h(a, b, c, d, x[1], 4, 0xa4beea44)
    d = _md5_h(d, a, b, c, x[4], 11, 0x4bdecfa9)
    c = _md5_h(c, d, a, b, x[7], 16, 0xf6bb4b60)
    b = _md5_h(b, c, d, a, x[10], 23, 0xbebfbc70)
    a = _md5_h(a, b, c, d, x[13], 4, 0x289b7ec6)
    d = _md5_h(d, a, b, c, x[0], 11, 0xeaa127fa)
    c = _md5_h(c, d, a, b, x[3], 16, 0xd4ef3085)
    b = _md5_h(b, c, d, a, x[6], 23, 0x04881d05)
    a = _md5_h(a, b, c, d, x[9], 4, 0xd9d4d039)
    d = _md5_h(d, a, b, c, x[12], 11, 0xe6db99e5)
    c = _md5_h(c, d, a, b, x[15], 16, 0x1fa27cf8)
    b = _md5_h(b, c, d, a, x[2], 23, 0xc4ac5665)
    a = _md5_i(a, b, c, d, x[0], 6, 0xf4292244)
    d = _md5_i(d, a, b, c, x[7], 10, 0x432aff97)
    c = _md5_i(c, d, a, b, x[14], 15, 0xab9423a7)
    b = _md5_i(b, c, d, a, x[5], 21, 0xfc93a039)
    a = _md5_i(a, b, c, d, x[12], 6, 0x655b59c3)
    d = _md5_i(d, a, b, c, x[3], 10, 0x8f0ccc92)
    c = _md5_i(c, d, a, b, x[10], 15, 0xffeff47d)
    b = _md5_i(b, c, d, a, x[1], 21, 0x85845dd1)
    a = _md5_i(a, b, c, d, x[8], 6, 0x6fa87e4f)
    d = _md5_i(d, a, b, c, x[15], 10, 0xfe2ce6e0)
    c = _md5_i(c, d, a, b, x[6], 15, 0xa3014314)
    b = _md5_i(b, c, d, a, x[13], 21, 0x4e0811a1)
    a = _md5_i(a, b, c, d, x[4], 6, 0xf7537e82)
    d = _md5_i(d, a, b, c, x[11], 10, 0xbd3af235)
    c = _md5_i(c, d, a, b, x[2], 15, 0x2ad7d2bb)
    b = _md5_i(b, c, d, a, x[9], 21, 0xeb86d391)
    state[0] += a
    state[1] += b
    state[2] += c
    state[3] += d


cdef inline void md5_words(const u8* data, Py_ssize_t size, u32* out) noexcept nogil:
    """MD5 of ``data[:size]`` as four little-endian words: the digest's bytes are
    out[0]'s four bytes (least significant first), then out[1]'s, and so on."""
    out[0] = 0x67452301
    out[1] = 0xefcdab89
    out[2] = 0x98badcfe
    out[3] = 0x10325476
    cdef Py_ssize_t done = 0
    while size - done >= 64:
        _md5_block(out, data + done)
        done += 64
    # Padding: 0x80, zeros up to 56 mod 64, then the bit length (little-endian).
    cdef u8 tail[128]
    cdef Py_ssize_t rest = size - done, end = 64 if rest < 56 else 128
    cdef u64 bits = (<u64>size) << 3
    cdef int i
    memset(tail, 0, end)
    memcpy(tail, data + done, rest)
    tail[rest] = 0x80
    for i in range(8):
        tail[end - 8 + i] = <u8>(bits >> (8 * i))
    _md5_block(out, tail)
    if end == 128:
        _md5_block(out, tail + 64)


# -- MD5 of several short messages at once ----------------------------------------------
#
# One MD5 is a chain of 64 dependent steps, so a single message keeps few of the
# core's ALUs busy. MD5_LANES messages of at most 55 bytes (one block each) are
# hashed side by side instead: every step is a loop over the lanes, which the
# compiler turns into SIMD instructions (SSE2 at least). The same step functions
# as _md5_block, per lane.

cdef enum:
    MD5_LANES = 8
    MD5_SHORT = 55          # longest message that fits in one block with its padding


cdef inline void md5_short_lanes(const u8** data, const Py_ssize_t* size, int count,
                                 u32* out) noexcept nogil:
    """MD5 of ``count`` (<= MD5_LANES) messages of at most MD5_SHORT bytes each:
    message i's four little-endian words go to ``out[4 * i .. 4 * i + 3]``."""
    cdef u8 block[64]
    cdef u32 x[16 * MD5_LANES]
    cdef u32 a[MD5_LANES]
    cdef u32 b[MD5_LANES]
    cdef u32 c[MD5_LANES]
    cdef u32 d[MD5_LANES]
    cdef int l, k
    cdef u64 bits
    # Pad each message into its block and store the words transposed: word k of
    # lane l at x[k * MD5_LANES + l]. Unused lanes hash an empty block.
    for l in range(MD5_LANES):
        memset(block, 0, 64)
        if l < count:
            memcpy(block, data[l], size[l])
            block[size[l]] = 0x80
            bits = (<u64>size[l]) << 3
            for k in range(8):
                block[56 + k] = <u8>(bits >> (8 * k))
        for k in range(16):
            x[k * MD5_LANES + l] = load_le32(block + 4 * k)
        a[l] = 0x67452301
        b[l] = 0xefcdab89
        c[l] = 0x98badcfe
        d[l] = 0x10325476
    for l in range(MD5_LANES):
        a[l] = _md5_f(a[l], b[l], c[l], d[l], x[0 * MD5_LANES + l], 7, 0xd76aa478)
    for l in range(MD5_LANES):
        d[l] = _md5_f(d[l], a[l], b[l], c[l], x[1 * MD5_LANES + l], 12, 0xe8c7b756)
    for l in range(MD5_LANES):
        c[l] = _md5_f(c[l], d[l], a[l], b[l], x[2 * MD5_LANES + l], 17, 0x242070db)
    for l in range(MD5_LANES):
        b[l] = _md5_f(b[l], c[l], d[l], a[l], x[3 * MD5_LANES + l], 22, 0xc1bdceee)
    for l in range(MD5_LANES):
        a[l] = _md5_f(a[l], b[l], c[l], d[l], x[4 * MD5_LANES + l], 7, 0xf57c0faf)
    for l in range(MD5_LANES):
        d[l] = _md5_f(d[l], a[l], b[l], c[l], x[5 * MD5_LANES + l], 12, 0x4787c62a)
    for l in range(MD5_LANES):
        c[l] = _md5_f(c[l], d[l], a[l], b[l], x[6 * MD5_LANES + l], 17, 0xa8304613)
    for l in range(MD5_LANES):
        b[l] = _md5_f(b[l], c[l], d[l], a[l], x[7 * MD5_LANES + l], 22, 0xfd469501)
    for l in range(MD5_LANES):
        a[l] = _md5_f(a[l], b[l], c[l], d[l], x[8 * MD5_LANES + l], 7, 0x698098d8)
    for l in range(MD5_LANES):
        d[l] = _md5_f(d[l], a[l], b[l], c[l], x[9 * MD5_LANES + l], 12, 0x8b44f7af)
    for l in range(MD5_LANES):
        c[l] = _md5_f(c[l], d[l], a[l], b[l], x[10 * MD5_LANES + l], 17, 0xffff5bb1)
    for l in range(MD5_LANES):
        b[l] = _md5_f(b[l], c[l], d[l], a[l], x[11 * MD5_LANES + l], 22, 0x895cd7be)
    for l in range(MD5_LANES):
        a[l] = _md5_f(a[l], b[l], c[l], d[l], x[12 * MD5_LANES + l], 7, 0x6b901122)
    for l in range(MD5_LANES):
        d[l] = _md5_f(d[l], a[l], b[l], c[l], x[13 * MD5_LANES + l], 12, 0xfd987193)
    for l in range(MD5_LANES):
        c[l] = _md5_f(c[l], d[l], a[l], b[l], x[14 * MD5_LANES + l], 17, 0xa679438e)
    for l in range(MD5_LANES):
        b[l] = _md5_f(b[l], c[l], d[l], a[l], x[15 * MD5_LANES + l], 22, 0x49b40821)
    for l in range(MD5_LANES):
        a[l] = _md5_g(a[l], b[l], c[l], d[l], x[1 * MD5_LANES + l], 5, 0xf61e2562)
    for l in range(MD5_LANES):
        d[l] = _md5_g(d[l], a[l], b[l], c[l], x[6 * MD5_LANES + l], 9, 0xc040b340)
    for l in range(MD5_LANES):
        c[l] = _md5_g(c[l], d[l], a[l], b[l], x[11 * MD5_LANES + l], 14, 0x265e5a51)
    for l in range(MD5_LANES):
        b[l] = _md5_g(b[l], c[l], d[l], a[l], x[0 * MD5_LANES + l], 20, 0xe9b6c7aa)
    for l in range(MD5_LANES):
        a[l] = _md5_g(a[l], b[l], c[l], d[l], x[5 * MD5_LANES + l], 5, 0xd62f105d)
    for l in range(MD5_LANES):
        d[l] = _md5_g(d[l], a[l], b[l], c[l], x[10 * MD5_LANES + l], 9, 0x02441453)
    for l in range(MD5_LANES):
        c[l] = _md5_g(c[l], d[l], a[l], b[l], x[15 * MD5_LANES + l], 14, 0xd8a1e681)
    for l in range(MD5_LANES):
        b[l] = _md5_g(b[l], c[l], d[l], a[l], x[4 * MD5_LANES + l], 20, 0xe7d3fbc8)
    for l in range(MD5_LANES):
        a[l] = _md5_g(a[l], b[l], c[l], d[l], x[9 * MD5_LANES + l], 5, 0x21e1cde6)
    for l in range(MD5_LANES):
        d[l] = _md5_g(d[l], a[l], b[l], c[l], x[14 * MD5_LANES + l], 9, 0xc33707d6)
    for l in range(MD5_LANES):
        c[l] = _md5_g(c[l], d[l], a[l], b[l], x[3 * MD5_LANES + l], 14, 0xf4d50d87)
    for l in range(MD5_LANES):
        b[l] = _md5_g(b[l], c[l], d[l], a[l], x[8 * MD5_LANES + l], 20, 0x455a14ed)
    for l in range(MD5_LANES):
        a[l] = _md5_g(a[l], b[l], c[l], d[l], x[13 * MD5_LANES + l], 5, 0xa9e3e905)
    for l in range(MD5_LANES):
        d[l] = _md5_g(d[l], a[l], b[l], c[l], x[2 * MD5_LANES + l], 9, 0xfcefa3f8)
    for l in range(MD5_LANES):
        c[l] = _md5_g(c[l], d[l], a[l], b[l], x[7 * MD5_LANES + l], 14, 0x676f02d9)
    for l in range(MD5_LANES):
        b[l] = _md5_g(b[l], c[l], d[l], a[l], x[12 * MD5_LANES + l], 20, 0x8d2a4c8a)
    for l in range(MD5_LANES):
        a[l] = _md5_h(a[l], b[l], c[l], d[l], x[5 * MD5_LANES + l], 4, 0xfffa3942)
    for l in range(MD5_LANES):
        d[l] = _md5_h(d[l], a[l], b[l], c[l], x[8 * MD5_LANES + l], 11, 0x8771f681)
    for l in range(MD5_LANES):
        c[l] = _md5_h(c[l], d[l], a[l], b[l], x[11 * MD5_LANES + l], 16, 0x6d9d6122)
    for l in range(MD5_LANES):
        b[l] = _md5_h(b[l], c[l], d[l], a[l], x[14 * MD5_LANES + l], 23, 0xfde5380c)
    for l in range(MD5_LANES):
        a[l] = _md5_h(a[l], b[l], c[l], d[l], x[1 * MD5_LANES + l], 4, 0xa4beea44)
    for l in range(MD5_LANES):
        d[l] = _md5_h(d[l], a[l], b[l], c[l], x[4 * MD5_LANES + l], 11, 0x4bdecfa9)
    for l in range(MD5_LANES):
        c[l] = _md5_h(c[l], d[l], a[l], b[l], x[7 * MD5_LANES + l], 16, 0xf6bb4b60)
    for l in range(MD5_LANES):
        b[l] = _md5_h(b[l], c[l], d[l], a[l], x[10 * MD5_LANES + l], 23, 0xbebfbc70)
    for l in range(MD5_LANES):
        a[l] = _md5_h(a[l], b[l], c[l], d[l], x[13 * MD5_LANES + l], 4, 0x289b7ec6)
    for l in range(MD5_LANES):
        d[l] = _md5_h(d[l], a[l], b[l], c[l], x[0 * MD5_LANES + l], 11, 0xeaa127fa)
    for l in range(MD5_LANES):
        c[l] = _md5_h(c[l], d[l], a[l], b[l], x[3 * MD5_LANES + l], 16, 0xd4ef3085)
    for l in range(MD5_LANES):
        b[l] = _md5_h(b[l], c[l], d[l], a[l], x[6 * MD5_LANES + l], 23, 0x04881d05)
    for l in range(MD5_LANES):
        a[l] = _md5_h(a[l], b[l], c[l], d[l], x[9 * MD5_LANES + l], 4, 0xd9d4d039)
    for l in range(MD5_LANES):
        d[l] = _md5_h(d[l], a[l], b[l], c[l], x[12 * MD5_LANES + l], 11, 0xe6db99e5)
    for l in range(MD5_LANES):
        c[l] = _md5_h(c[l], d[l], a[l], b[l], x[15 * MD5_LANES + l], 16, 0x1fa27cf8)
    for l in range(MD5_LANES):
        b[l] = _md5_h(b[l], c[l], d[l], a[l], x[2 * MD5_LANES + l], 23, 0xc4ac5665)
    for l in range(MD5_LANES):
        a[l] = _md5_i(a[l], b[l], c[l], d[l], x[0 * MD5_LANES + l], 6, 0xf4292244)
    for l in range(MD5_LANES):
        d[l] = _md5_i(d[l], a[l], b[l], c[l], x[7 * MD5_LANES + l], 10, 0x432aff97)
    for l in range(MD5_LANES):
        c[l] = _md5_i(c[l], d[l], a[l], b[l], x[14 * MD5_LANES + l], 15, 0xab9423a7)
    for l in range(MD5_LANES):
        b[l] = _md5_i(b[l], c[l], d[l], a[l], x[5 * MD5_LANES + l], 21, 0xfc93a039)
    for l in range(MD5_LANES):
        a[l] = _md5_i(a[l], b[l], c[l], d[l], x[12 * MD5_LANES + l], 6, 0x655b59c3)
    for l in range(MD5_LANES):
        d[l] = _md5_i(d[l], a[l], b[l], c[l], x[3 * MD5_LANES + l], 10, 0x8f0ccc92)
    for l in range(MD5_LANES):
        c[l] = _md5_i(c[l], d[l], a[l], b[l], x[10 * MD5_LANES + l], 15, 0xffeff47d)
    for l in range(MD5_LANES):
        b[l] = _md5_i(b[l], c[l], d[l], a[l], x[1 * MD5_LANES + l], 21, 0x85845dd1)
    for l in range(MD5_LANES):
        a[l] = _md5_i(a[l], b[l], c[l], d[l], x[8 * MD5_LANES + l], 6, 0x6fa87e4f)
    for l in range(MD5_LANES):
        d[l] = _md5_i(d[l], a[l], b[l], c[l], x[15 * MD5_LANES + l], 10, 0xfe2ce6e0)
    for l in range(MD5_LANES):
        c[l] = _md5_i(c[l], d[l], a[l], b[l], x[6 * MD5_LANES + l], 15, 0xa3014314)
    for l in range(MD5_LANES):
        b[l] = _md5_i(b[l], c[l], d[l], a[l], x[13 * MD5_LANES + l], 21, 0x4e0811a1)
    for l in range(MD5_LANES):
        a[l] = _md5_i(a[l], b[l], c[l], d[l], x[4 * MD5_LANES + l], 6, 0xf7537e82)
    for l in range(MD5_LANES):
        d[l] = _md5_i(d[l], a[l], b[l], c[l], x[11 * MD5_LANES + l], 10, 0xbd3af235)
    for l in range(MD5_LANES):
        c[l] = _md5_i(c[l], d[l], a[l], b[l], x[2 * MD5_LANES + l], 15, 0x2ad7d2bb)
    for l in range(MD5_LANES):
        b[l] = _md5_i(b[l], c[l], d[l], a[l], x[9 * MD5_LANES + l], 21, 0xeb86d391)
    for l in range(count):
        out[4 * l] = a[l] + <u32>0x67452301
        out[4 * l + 1] = b[l] + <u32>0xefcdab89
        out[4 * l + 2] = c[l] + <u32>0x98badcfe
        out[4 * l + 3] = d[l] + <u32>0x10325476


# -- MurmurHash3 x64_128 --------------------------------------------------------------

cdef inline u64 _rotl64(u64 x, int r) noexcept nogil:
    return (x << r) | (x >> (64 - r))


cdef inline u64 fmix64(u64 k) noexcept nogil:
    """MurmurHash3's finalizer: a bijection on u64 in which every input bit
    affects every output bit."""
    k ^= k >> 33
    k *= 0xff51afd7ed558ccdULL
    k ^= k >> 33
    k *= 0xc4ceb9fe1a85ec53ULL
    k ^= k >> 33
    return k


cdef inline void murmur3_128(const u8* data, Py_ssize_t size, u64 seed,
                             u64* out1, u64* out2) noexcept nogil:
    cdef u64 c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL
    cdef u64 h1 = seed, h2 = seed, k1, k2
    cdef Py_ssize_t blocks = size >> 4, i
    cdef const u8* p
    for i in range(blocks):
        p = data + 16 * i
        k1 = load_le64(p)
        k2 = load_le64(p + 8)
        k1 *= c1
        k1 = _rotl64(k1, 31)
        k1 *= c2
        h1 ^= k1
        h1 = _rotl64(h1, 27)
        h1 += h2
        h1 = h1 * 5 + 0x52dce729
        k2 *= c2
        k2 = _rotl64(k2, 33)
        k2 *= c1
        h2 ^= k2
        h2 = _rotl64(h2, 31)
        h2 += h1
        h2 = h2 * 5 + 0x38495ab5
    # The last size % 16 bytes: up to 8 into k1, the rest into k2, little-endian.
    p = data + 16 * blocks
    cdef Py_ssize_t rest = size & 15
    k1 = 0
    k2 = 0
    for i in range(rest - 1, 7, -1):
        k2 = (k2 << 8) | p[i]
    for i in range(rest - 1 if rest < 8 else 7, -1, -1):
        k1 = (k1 << 8) | p[i]
    if rest > 8:
        k2 *= c2
        k2 = _rotl64(k2, 33)
        k2 *= c1
        h2 ^= k2
    if rest > 0:
        k1 *= c1
        k1 = _rotl64(k1, 31)
        k1 *= c2
        h1 ^= k1
    h1 ^= <u64>size
    h2 ^= <u64>size
    h1 += h2
    h2 += h1
    h1 = fmix64(h1)
    h2 = fmix64(h2)
    h1 += h2
    h2 += h1
    out1[0] = h1
    out2[0] = h2


# -- one key's hash -------------------------------------------------------------------

cdef inline void md5_position(int kind, const u32* w, u64* hi, u64* lo) noexcept nogil:
    """An MD5 digest (as md5_words gives it) as a ring position: HASH_KETAMA, the
    first word in the top half of ``hi``; HASH_MD5_128, the digest as a 128-bit
    big-endian integer ``hi:lo``."""
    if kind == HASH_KETAMA:
        hi[0] = (<u64>w[0]) << 32
        lo[0] = 0
    else:
        hi[0] = ((<u64>bswap32(w[0])) << 32) | bswap32(w[1])
        lo[0] = ((<u64>bswap32(w[2])) << 32) | bswap32(w[3])


cdef inline void hash_bytes(int kind, const u8* data, Py_ssize_t size,
                            u64* hi, u64* lo) noexcept nogil:
    """The hash ``kind`` of ``data[:size]`` as a ring position ``hi`` (and ``lo``)."""
    cdef u32 w[4]
    if kind == HASH_FAST:
        murmur3_128(data, size, 0, hi, lo)
        return
    md5_words(data, size, w)
    md5_position(kind, w, hi, lo)


# -- Python key -> bytes (holds the GIL) -----------------------------------------------

cdef inline void _cut_at_nul(const char* ptr, Py_ssize_t* size) noexcept nogil:
    cdef const void* nul = memchr(ptr, 0, size[0])
    if nul != NULL:
        size[0] = <const char*>nul - ptr


cdef inline int gather_key(object key, int norm, const char** ptr, Py_ssize_t* size,
                           u64* value, list keep):
    """Point ``ptr``/``size`` at the bytes key ``key`` is hashed from (a temporary
    str goes into ``keep`` to stay alive). Returns a KEY_* code; never raises."""
    cdef object text
    if isinstance(key, str):
        text = key
    elif isinstance(key, bytes):
        if norm == NORM_COMPAT:
            text = str(key)
            keep.append(text)
        else:
            ptr[0] = PyBytes_AS_STRING(key)
            size[0] = PyBytes_GET_SIZE(key)
            if norm == NORM_CSTRING:
                _cut_at_nul(ptr[0], size)
            return KEY_BYTES
    elif isinstance(key, int) and not isinstance(key, bool):
        if norm == NORM_INT:
            value[0] = PyLong_AsUnsignedLongLongMask(key)
            return KEY_VALUE
        text = str(key)
        keep.append(text)
    else:
        return KEY_BAD_TYPE
    ptr[0] = PyUnicode_AsUTF8AndSize(text, size)
    if ptr[0] == NULL:
        PyErr_Clear()
        return KEY_BAD_TEXT
    if norm == NORM_CSTRING:
        _cut_at_nul(ptr[0], size)
    return KEY_BYTES


cdef inline bint key_position(object key, int kind, int norm, u64* hi, u64* lo):
    """The ring position of one Python key (an integer key under NORM_INT is its
    own ``hi``); False when it has an unsupported type or cannot be encoded."""
    cdef const char* ptr = NULL
    cdef Py_ssize_t size = 0
    cdef list keep = []
    cdef int code
    hi[0] = 0
    lo[0] = 0
    code = gather_key(key, norm, &ptr, &size, hi, keep)
    if code >= KEY_BAD_TYPE:
        return False
    if code != KEY_VALUE:
        hash_bytes(kind, <const u8*>ptr, size, hi, lo)
    return True
