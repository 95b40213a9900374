"""Hashing Python keys, and the node choosers that need no ring: jump consistent
hash (Lamping & Veach 2014), rendezvous / highest random weight (weighted with
the -ln(u)/w race) and Maglev (Eisenbud et al., NSDI 2016).

Every array argument has the dtype, length and contiguity the caller
(fastsched.hashing) gave it; nothing here checks.
"""

from libc.math cimport INFINITY, ceil, log
from libc.stdlib cimport free, malloc

from fastsched._kernels.common cimport i32, i64, u8, u64
from fastsched._kernels.hashes cimport (HASH_FAST, HASH_KETAMA, HASH_MD5_128, KEY_BAD_TYPE,
                                        KEY_VALUE, MD5_LANES, MD5_SHORT, NORM_COMPAT,
                                        NORM_CSTRING, NORM_INT, NORM_RAW, fmix64, gather_key,
                                        hash_bytes, key_position, md5_position,
                                        md5_short_lanes, u32)

# The codes of hashes.pxd, for the Python side.
HASHES = {"ketama": HASH_KETAMA, "md5": HASH_MD5_128, "fast": HASH_FAST}
NORMS = {"compat": NORM_COMPAT, "raw": NORM_RAW, "cstring": NORM_CSTRING, "int": NORM_INT}

cdef enum:
    CHUNK = 1024            # keys gathered under the GIL, then hashed without it
    JUMP_LANES = 8          # keys jumped in lockstep

cdef double TWO_M53 = 1.0 / 9007199254740992.0     # 2**-53


def hash_keys(list keys, int kind, int norm, u64[::1] hi, u64[::1] lo):
    """Hash every key of ``keys`` (HASH_* ``kind``, NORM_* ``norm``) into
    ``hi[i]`` (and ``lo[i]`` when ``lo`` is not None).

    Returns -1, or the index of the first key that has an unsupported type or is a
    str UTF-8 cannot encode (the caller raises; the outputs are then partial).
    """
    cdef Py_ssize_t n = len(keys), start, stop, i, j
    cdef const char* ptrs[CHUNK]
    cdef Py_ssize_t sizes[CHUNK]
    cdef u64 values[CHUNK]
    cdef u8 direct[CHUNK]
    cdef u64 spare
    cdef u64* lop = NULL
    cdef list keep, chunk
    cdef int code, lanes
    cdef const u8* lane_data[MD5_LANES]
    cdef Py_ssize_t lane_size[MD5_LANES]
    cdef Py_ssize_t lane_key[MD5_LANES]
    if n == 0:
        return -1
    if lo is not None:
        lop = &lo[0]
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        # The chunk's own references keep its keys alive while the GIL is released
        # (another thread may change ``keys``), and ``keep`` the temporary str(key).
        chunk = keys[start:stop]
        keep = []
        for i in range(start, stop):
            j = i - start
            code = gather_key(chunk[j], norm, &ptrs[j], &sizes[j], &values[j], keep)
            if code >= KEY_BAD_TYPE:
                return i
            direct[j] = code == KEY_VALUE
        with nogil:
            lanes = 0
            for i in range(start, stop):
                j = i - start
                if direct[j]:
                    hi[i] = values[j]
                    if lop != NULL:
                        lop[i] = 0
                elif kind != HASH_FAST and sizes[j] <= MD5_SHORT:
                    # short keys wait for a full set of MD5 lanes
                    lane_data[lanes] = <const u8*>ptrs[j]
                    lane_size[lanes] = sizes[j]
                    lane_key[lanes] = i
                    lanes += 1
                    if lanes == MD5_LANES:
                        _md5_flush(kind, lane_data, lane_size, lane_key, lanes, &hi[0], lop)
                        lanes = 0
                else:
                    hash_bytes(kind, <const u8*>ptrs[j], sizes[j], &hi[i],
                               lop + i if lop != NULL else &spare)
            if lanes:
                _md5_flush(kind, lane_data, lane_size, lane_key, lanes, &hi[0], lop)
    return -1


cdef inline void _md5_flush(int kind, const u8** data, const Py_ssize_t* size,
                            const Py_ssize_t* key, int count, u64* hi, u64* lo) noexcept nogil:
    cdef u32 words[4 * MD5_LANES]
    cdef u64 spare
    cdef int l
    md5_short_lanes(data, size, count, words)
    for l in range(count):
        md5_position(kind, &words[4 * l], &hi[key[l]], &lo[key[l]] if lo != NULL else &spare)


# -- jump consistent hash --------------------------------------------------------------

cdef inline i32 _jump(u64 key, i64 buckets) noexcept nogil:
    # The paper's loop: a 64-bit LCG step, then the next bucket the key would jump
    # to, computed in double precision exactly as the reference code does.
    cdef i64 b = -1, j = 0
    while j < buckets:
        b = j
        key = key * 2862933555777941757ULL + 1
        j = <i64>((b + 1) * (<double>(1LL << 31) / <double>((key >> 33) + 1)))
    return <i32>b


def jump(const u64[::1] keys, i64 buckets, i32[::1] out):
    """``out[i]`` = jump consistent hash of ``keys[i]`` over ``buckets`` buckets."""
    cdef Py_ssize_t i, base = 0, m = keys.shape[0]
    cdef int lane
    cdef bint live
    cdef u64 k[JUMP_LANES]
    cdef u64 step
    cdef i64 b[JUMP_LANES]
    cdef i64 j[JUMP_LANES]
    cdef i64 at, nxt
    with nogil:
        # JUMP_LANES keys in lockstep: one key's loop is a chain of dependent
        # divisions ending in a mispredicted exit; interleaved, the divisions
        # overlap and the lanes share the exits. Each lane computes exactly
        # _jump's sequence; a finished lane's extra steps are discarded.
        while base + JUMP_LANES <= m:
            for lane in range(JUMP_LANES):
                k[lane] = keys[base + lane]
                b[lane] = -1
                j[lane] = 0
            live = True
            while live:
                live = False
                for lane in range(JUMP_LANES):
                    at = j[lane] if j[lane] < buckets else 0
                    step = k[lane] * 2862933555777941757ULL + 1
                    nxt = <i64>((at + 1) * (<double>(1LL << 31) / <double>((step >> 33) + 1)))
                    if j[lane] < buckets:
                        b[lane] = at
                        k[lane] = step
                        j[lane] = nxt
                    live = live | (j[lane] < buckets)
            for lane in range(JUMP_LANES):
                out[base + lane] = <i32>b[lane]
            base += JUMP_LANES
        for i in range(base, m):
            out[i] = _jump(keys[i], buckets)


def jump_key(object key, i64 buckets):
    """The bucket of one key (int: its value mod 2**64; str/bytes: the fast
    hash), or -1 when the key has an unsupported type or cannot be encoded."""
    cdef u64 value, spare
    if not key_position(key, HASH_FAST, NORM_INT, &value, &spare):
        return -1
    return _jump(value, buckets)


def hash_key(object key, int kind, int norm):
    """``(hi, lo)`` of one key, or None when it has an unsupported type or cannot
    be encoded."""
    cdef u64 hi, lo
    if not key_position(key, kind, norm, &hi, &lo):
        return None
    return hi, lo


# -- rendezvous (HRW) ------------------------------------------------------------------

cdef inline double _exp_score(u64 mixed, double inv_weight) noexcept nogil:
    # u in (0, 1) from the top 53 bits plus half a step; -ln(u) is an Exp(1)
    # variate, divided by the weight an Exp(w) one: the smallest wins with
    # probability w / sum(w).
    return -log(((mixed >> 11) + 0.5) * TWO_M53) * inv_weight


def rendezvous(const u64[::1] keys, const u64[::1] nodes, const double[::1] inv_weight,
               i32[::1] out):
    """``out[i]``: the node with the highest random weight for ``keys[i]``.

    The score of node j is fmix64(key ^ nodes[j]); unweighted, the largest wins;
    weighted (``inv_weight`` = 1 / w), the smallest ``-ln(u) / w``. Ties go to the
    node listed first.
    """
    cdef Py_ssize_t i, j, n = nodes.shape[0], best
    cdef u64 k, x, top
    cdef double s, low
    with nogil:
        for i in range(keys.shape[0]):
            k = keys[i]
            best = 0
            if inv_weight is None:
                top = fmix64(k ^ nodes[0])
                for j in range(1, n):
                    x = fmix64(k ^ nodes[j])
                    if x > top:
                        top = x
                        best = j
            else:
                low = _exp_score(fmix64(k ^ nodes[0]), inv_weight[0])
                for j in range(1, n):
                    s = _exp_score(fmix64(k ^ nodes[j]), inv_weight[j])
                    if s < low:
                        low = s
                        best = j
            out[i] = <i32>best


def rendezvous_top(const u64[::1] keys, const u64[::1] nodes,
                   const double[::1] inv_weight, i32[:, ::1] out):
    """``out[i, :]``: the ``out.shape[1]`` best nodes for ``keys[i]``, best first
    (the same order and ties as ``rendezvous``; column 0 is its answer)."""
    cdef Py_ssize_t i, j, r, n = nodes.shape[0], want = out.shape[1], have
    cdef u64 k, x
    cdef double s
    cdef double* score = <double*>malloc(max(want, 1) * sizeof(double))
    cdef u64* raw = <u64*>malloc(max(want, 1) * sizeof(u64))
    if score == NULL or raw == NULL:
        free(score)
        free(raw)
        raise MemoryError()
    with nogil:
        for i in range(keys.shape[0]):
            k = keys[i]
            have = 0
            for j in range(n):
                # Insertion into the sorted best-so-far list; an equal score stays
                # behind the earlier node.
                if inv_weight is None:
                    x = fmix64(k ^ nodes[j])
                    r = have
                    while r > 0 and x > raw[r - 1]:
                        r -= 1
                    if r >= want:
                        continue
                    _shift(raw, r, have, want)
                    raw[r] = x
                else:
                    s = _exp_score(fmix64(k ^ nodes[j]), inv_weight[j])
                    r = have
                    while r > 0 and s < score[r - 1]:
                        r -= 1
                    if r >= want:
                        continue
                    _shift(score, r, have, want)
                    score[r] = s
                _shift(&out[i, 0], r, have, want)
                out[i, r] = <i32>j
                if have < want:
                    have += 1
    free(score)
    free(raw)


# Make room at r in a best-first list of ``have`` (at most ``want``) entries; when
# it is full, the last one falls off.

ctypedef fused _ranked:
    u64
    double
    i32


cdef inline void _shift(_ranked* a, Py_ssize_t r, Py_ssize_t have,
                        Py_ssize_t want) noexcept nogil:
    cdef Py_ssize_t t = have if have < want else want - 1
    while t > r:
        a[t] = a[t - 1]
        t -= 1


# -- Maglev ----------------------------------------------------------------------------

cdef inline Py_ssize_t _claim(i32[::1] entry, u64* cursor, const u64[::1] skip,
                              Py_ssize_t j, Py_ssize_t m) noexcept nogil:
    """Backend j takes its next preferred free slot."""
    cdef Py_ssize_t c = <Py_ssize_t>cursor[j]
    while entry[c] >= 0:
        c += <Py_ssize_t>skip[j]
        if c >= m:
            c -= m
    entry[c] = <i32>j
    c += <Py_ssize_t>skip[j]
    if c >= m:
        c -= m
    cursor[j] = <u64>c
    return c


cdef inline double _next_round(i64 taken, double wmax, double w, double rnd,
                               double m) noexcept nogil:
    """The first round after ``rnd`` in which a backend holding ``taken`` slots may
    take another: the least r > rnd with not ((taken + 1) * wmax > r * w), found with
    that same floating-point test. The heaviest backend takes a slot every round, so
    a round more than M ahead never comes: INFINITY (which also keeps r small enough
    for r + 1 to be exact)."""
    cdef double need = (taken + 1) * wmax
    cdef double r
    if w <= 0 or need / w > rnd + m + 2:
        return INFINITY
    r = ceil(need / w)
    if r <= rnd:
        r = rnd + 1
    while need > r * w:
        r += 1
    while r - 1 > rnd and not (need > (r - 1) * w):
        r -= 1
    return r


# Above this max(w) / mean(w), the weighted rounds are run from a heap.
cdef double _SCAN_SKEW = 16


cdef inline bint _before(double ra, Py_ssize_t ja, double rb, Py_ssize_t jb) noexcept nogil:
    return ra < rb or (ra == rb and ja < jb)


cdef void _sift_down(double* key, Py_ssize_t* who, Py_ssize_t size, Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t child
    cdef double k = key[i]
    cdef Py_ssize_t w = who[i]
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and _before(key[child + 1], who[child + 1], key[child], who[child]):
            child += 1
        if not _before(key[child], who[child], k, w):
            break
        key[i], who[i] = key[child], who[child]
        i = child
    key[i], who[i] = k, w


def maglev_populate(const u64[::1] offset, const u64[::1] skip, const double[::1] weight,
                    i32[::1] entry, i64[::1] taken):
    """Fill the lookup table ``entry`` (its length M is prime) as Maglev does.

    Backend j prefers slots ``(offset[j] + t * skip[j]) mod M`` for t = 0, 1, ...;
    backends take turns claiming their next preferred free slot until every slot
    is taken. Unweighted (``weight`` None) every backend takes one turn per round;
    weighted, backend j takes a turn in round r when it has fewer than
    r * w[j] / max(w) slots, and always in round 1, so each gets one.
    ``taken[j]`` receives backend j's slot count.

    Scanning every backend every round costs about M * max(w) / mean(w) steps:
    fine for weights of one order, O(M n) for weights far apart (one heavy backend
    among light ones). Then the turns are kept in a heap by (round, backend) instead,
    so a round costs only the backends that take a turn in it: O(M log n).
    """
    cdef Py_ssize_t m = entry.shape[0], n = offset.shape[0], c, j, filled = 0, size
    cdef double wmax = 0, wsum = 0, rnd
    cdef u64* cursor = <u64*>malloc(max(n, 1) * sizeof(u64))
    cdef double* key = <double*>malloc(max(n, 1) * sizeof(double))
    cdef Py_ssize_t* who = <Py_ssize_t*>malloc(max(n, 1) * sizeof(Py_ssize_t))
    if cursor == NULL or key == NULL or who == NULL:
        free(cursor)
        free(key)
        free(who)
        raise MemoryError()
    with nogil:
        for c in range(m):
            entry[c] = -1
        for j in range(n):
            cursor[j] = offset[j]
            taken[j] = 0
            if weight is not None:
                wsum += weight[j]
                if weight[j] > wmax:
                    wmax = weight[j]
        if weight is None or wmax * n <= _SCAN_SKEW * wsum:
            rnd = 0
            while filled < m:
                rnd += 1
                for j in range(n):
                    if (weight is not None and taken[j] > 0
                            and (taken[j] + 1) * wmax > rnd * weight[j]):
                        continue
                    _claim(entry, cursor, skip, j, m)
                    taken[j] += 1
                    filled += 1
                    if filled == m:
                        break
        else:
            # Round 1: every backend, in order (a backend with no slot never skips).
            for j in range(n):
                if filled == m:
                    break
                _claim(entry, cursor, skip, j, m)
                taken[j] = 1
                filled += 1
            size = 0
            for j in range(n):
                key[size] = _next_round(1, wmax, weight[j], 1, m)
                who[size] = j
                size += 1
            for c in range(size // 2 - 1, -1, -1):
                _sift_down(key, who, size, c)
            while filled < m and size > 0 and key[0] != INFINITY:
                j = who[0]
                rnd = key[0]
                _claim(entry, cursor, skip, j, m)
                taken[j] += 1
                filled += 1
                key[0] = _next_round(taken[j], wmax, weight[j], rnd, m)
                _sift_down(key, who, size, 0)
    free(cursor)
    free(key)
    free(who)


def maglev_lookup(const u64[::1] keys, const i32[::1] entry, i32[::1] out):
    """``out[i] = entry[keys[i] mod M]``."""
    cdef Py_ssize_t i
    cdef u64 m = entry.shape[0]
    with nogil:
        for i in range(keys.shape[0]):
            out[i] = entry[keys[i] % m]
