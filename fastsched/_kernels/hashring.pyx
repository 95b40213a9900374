"""The hash ring: point generation, a prefix-table index over the sorted points,
vectorized lookups, clockwise walks for replicas, and bounded-load assignment.

Ring positions are u64 (``hi``), plus a second u64 (``lo``) for 128-bit rings
(uhashring's default MD5 integers), compared as the pair (hi, lo). A 32-bit ketama
point p is stored as ``p << 32``: for any u64 position h, the first point
``> h`` (or ``>= h``) is then the same as in the 32-bit ring for ``h >> 32``.

The index: the top ``bits`` bits of a position select a bucket, and
``table[b] .. table[b + 1]`` are the points in bucket b (about one per bucket),
so a lookup reads two table entries and scans a point or two, instead of the
~17 dependent cache misses of a binary search over 160,000 points.
"""

import numpy as np

from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from fastsched._kernels.common cimport i32, i64, u8, u64
from fastsched._kernels.hashes cimport (HASH_FAST, HASH_KETAMA, MD5_LANES, MD5_SHORT,
                                        hash_bytes, key_position, md5_position,
                                        md5_short_lanes, md5_words, u32)


cdef struct Ring:
    const u64* pos          # sorted, distinct (hi, lo) positions
    const u64* lo           # NULL for a 64-bit ring
    const i32* owner        # node index of each position
    const u32* table        # (1 << bits) + 1 bucket starts
    Py_ssize_t n
    int shift               # 64 - bits
    bint left               # first point >= h (libketama) instead of > h


cdef class RingIndex:
    """The lookup structure over one ring's distinct sorted points.

    ``positions`` (u64), ``lows`` (u64 or None) and ``owners`` (int32) are kept
    as given; ``left`` selects bisect_left (libketama) over bisect_right.
    """

    cdef Ring r
    cdef readonly object positions, lows, owners, table
    cdef readonly int bits

    def __init__(self, positions, lows, owners, bint left):
        cdef const u64[::1] pos = positions
        cdef const i32[::1] own = owners
        cdef const u64[::1] low
        cdef Py_ssize_t n = pos.shape[0]
        self.positions, self.lows, self.owners = positions, lows, owners
        # About one point per bucket: 2**bits is between n and 2n.
        self.bits = max(1, min(28, int(n).bit_length()))
        self.table = np.empty((1 << self.bits) + 1, np.uint32)
        cdef u32[::1] tab = self.table
        self.r.pos = &pos[0]
        self.r.owner = &own[0]
        self.r.lo = NULL
        if lows is not None:
            low = lows
            self.r.lo = &low[0]
        self.r.table = &tab[0]
        self.r.n = n
        self.r.shift = 64 - self.bits
        self.r.left = left
        with nogil:
            _fill_table(&pos[0], n, self.r.shift, &tab[0], (<Py_ssize_t>1) << self.bits)

    def __len__(self):
        return self.r.n

    def find_key(self, object key, int kind, int norm):
        """The owner of one key (hashed with HASH_* ``kind`` after NORM_* ``norm``),
        or -1 when the key has an unsupported type or cannot be encoded."""
        cdef u64 hi, lo
        if not key_position(key, kind, norm, &hi, &lo):
            return -1
        return self.r.owner[_find(&self.r, hi, lo)]


cdef void _fill_table(const u64* pos, Py_ssize_t n, int shift, u32* table,
                      Py_ssize_t buckets) noexcept nogil:
    cdef Py_ssize_t b, j = 0
    for b in range(buckets):
        while j < n and <Py_ssize_t>(pos[j] >> shift) < b:
            j += 1
        table[b] = <u32>j
    table[buckets] = <u32>n


cdef inline Py_ssize_t _find(const Ring* r, u64 h, u64 hl) noexcept nogil:
    """Index of the first point after position (h, hl) clockwise (wrapping to 0)."""
    cdef Py_ssize_t b = <Py_ssize_t>(h >> r.shift)
    cdef Py_ssize_t i = r.table[b], end = r.table[b + 1]
    # Points of earlier buckets are all below h, those of later ones all above.
    if r.lo != NULL:
        while i < end and (r.pos[i] < h or (r.pos[i] == h and r.lo[i] <= hl)):
            i += 1
    elif r.left:
        while i < end and r.pos[i] < h:
            i += 1
    else:
        while i < end and r.pos[i] <= h:
            i += 1
    return 0 if i == r.n else i


def lookup(RingIndex ring, const u64[::1] hi, const u64[::1] lo, i32[::1] out):
    """``out[i]``: the owner of the first point clockwise from key i's position."""
    cdef const Ring* r = &ring.r
    cdef Py_ssize_t i, m = hi.shape[0]
    with nogil:
        if lo is None:
            for i in range(m):
                out[i] = r.owner[_find(r, hi[i], 0)]
        else:
            for i in range(m):
                out[i] = r.owner[_find(r, hi[i], lo[i])]


def walk_distinct(RingIndex ring, const u64[::1] hi, const u64[::1] lo, i32[::1] seen,
                  i32[:, ::1] out):
    """``out[i, :]``: the first ``out.shape[1]`` distinct owners met walking
    clockwise from key i's position; -1 pads when fewer nodes own points.

    ``seen`` has one int32 per node, all -1 on entry (it stamps the key number).
    """
    cdef const Ring* r = &ring.r
    cdef Py_ssize_t t, p, steps, got, want = out.shape[1]
    cdef i32 o
    with nogil:
        for t in range(hi.shape[0]):
            p = _find(r, hi[t], 0 if lo is None else lo[t])
            got = 0
            steps = 0
            while got < want and steps < r.n:
                o = r.owner[p]
                if seen[o] != t:
                    seen[o] = <i32>t
                    out[t, got] = o
                    got += 1
                p += 1
                if p == r.n:
                    p = 0
                steps += 1
            while got < want:
                out[t, got] = -1
                got += 1


def assign_bounded(RingIndex ring, const u64[::1] hi, const u64[::1] lo,
                   const i64[::1] cap, i64[::1] load, i32[::1] out):
    """Consistent hashing with bounded loads, keys taken in order: each goes to
    the first node clockwise whose ``load`` is below its ``cap``.

    The caller guarantees that the nodes owning points have room for every key.
    Returns how many keys did not get their first choice.
    """
    cdef const Ring* r = &ring.r
    cdef Py_ssize_t t, p, moved = 0
    cdef i32 o, first
    with nogil:
        for t in range(hi.shape[0]):
            p = _find(r, hi[t], 0 if lo is None else lo[t])
            first = o = r.owner[p]
            while load[o] >= cap[o]:
                p += 1
                if p == r.n:
                    p = 0
                o = r.owner[p]
            load[o] += 1
            out[t] = o
            moved += o != first
    return moved


# -- ring points ----------------------------------------------------------------------

cdef inline Py_ssize_t _write_decimal(u8* out, i64 value) noexcept nogil:
    cdef u8 digits[24]
    cdef Py_ssize_t t = 0, i
    while True:
        digits[t] = <u8>(48 + value % 10)
        value //= 10
        t += 1
        if value == 0:
            break
    for i in range(t):
        out[i] = digits[t - 1 - i]
    return t


def ring_points(bytes names, const i64[::1] offsets, const i64[::1] starts,
                const i64[::1] counts, int kind, u64[::1] hi, u64[::1] lo):
    """The ring points of several nodes, node after node, in generation order.

    Node j's name is ``names[offsets[j]:offsets[j + 1]]`` (UTF-8); its hashes are of
    ``b"<name>-<k>"`` for ``k = starts[j] .. starts[j] + counts[j] - 1``. With
    HASH_KETAMA each digest gives 4 points (its four little-endian words, as
    ``word << 32``), otherwise one (``lo`` receives the second half when given).
    """
    cdef Py_ssize_t nodes = counts.shape[0], j, k, size, at = 0, longest = 0, name_size
    cdef const u8* text = <const u8*>(<char*>names)
    cdef int per = 4 if kind == HASH_KETAMA else 1, lanes = 0, l
    cdef u64 first, second
    cdef u32 words[4]
    cdef u64* lop = NULL if lo is None else &lo[0]
    cdef u8* slot
    cdef const u8* lane_data[MD5_LANES]
    cdef Py_ssize_t lane_size[MD5_LANES]
    cdef Py_ssize_t lane_at[MD5_LANES]
    for j in range(nodes):
        longest = max(longest, offsets[j + 1] - offsets[j])
    cdef Py_ssize_t stride = longest + 32
    # One message buffer per MD5 lane; short messages are hashed MD5_LANES at once.
    cdef u8* buf = <u8*>malloc(stride * MD5_LANES)
    if buf == NULL:
        raise MemoryError()
    with nogil:
        for j in range(nodes):
            name_size = offsets[j + 1] - offsets[j]
            for k in range(starts[j], starts[j] + counts[j]):
                slot = buf + stride * lanes
                memcpy(slot, text + offsets[j], name_size)
                slot[name_size] = 45     # '-'
                size = name_size + 1 + _write_decimal(slot + name_size + 1, k)
                if kind == HASH_KETAMA and size > MD5_SHORT:
                    md5_words(slot, size, words)
                    for l in range(4):
                        hi[at + l] = (<u64>words[l]) << 32
                elif kind == HASH_FAST or size > MD5_SHORT:
                    hash_bytes(kind, slot, size, &first, &second)
                    _put(kind, first, second, &hi[0], lop, at)
                else:
                    lane_data[lanes] = slot
                    lane_size[lanes] = size
                    lane_at[lanes] = at
                    lanes += 1
                    if lanes == MD5_LANES:
                        _flush_points(kind, lane_data, lane_size, lane_at, lanes, &hi[0], lop)
                        lanes = 0
                at += per
        if lanes:
            _flush_points(kind, lane_data, lane_size, lane_at, lanes, &hi[0], lop)
    free(buf)
    return at


cdef inline void _put(int kind, u64 first, u64 second, u64* hi, u64* lo,
                      Py_ssize_t at) noexcept nogil:
    hi[at] = first
    if lo != NULL:
        lo[at] = second


cdef void _flush_points(int kind, const u8** data, const Py_ssize_t* size,
                        const Py_ssize_t* at, int count, u64* hi, u64* lo) noexcept nogil:
    cdef u32 words[4 * MD5_LANES]
    cdef int l, r
    cdef u64 first, second
    md5_short_lanes(data, size, count, words)
    for l in range(count):
        if kind == HASH_KETAMA:
            for r in range(4):
                hi[at[l] + r] = (<u64>words[4 * l + r]) << 32
        else:
            md5_position(kind, &words[4 * l], &first, &second)
            _put(kind, first, second, hi, lo, at[l])
