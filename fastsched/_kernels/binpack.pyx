"""One-dimensional bin-packing kernels: FFD/BFD, minimum bin slack, bounded knapsack.

The callers (``fastsched.solver``) validate and coerce; these kernels trust their
inputs: sizes are positive, no size exceeds the capacity, arrays are contiguous.
"""

from libc.stdlib cimport free, malloc
from libc.string cimport memset
from cython.view cimport array as cvarray

from fastsched._kernels.clock cimport past
from fastsched._kernels.common cimport i64, u64, u8


# First fit and best fit in O(n log n). Both give exactly the packing of the
# textbook scans (lowest-numbered bin that fits; fullest bin that fits, lowest
# number on ties), which tests/test_binpack.py keeps as the reference.

cdef i64 _first_fit(const i64[::1] sizes, i64 capacity, i64[::1] bin_of,
                    i64 *tree) noexcept nogil:
    """First fit in the given item order; returns the number of bins opened.

    ``tree`` is a max-tree over n bins' residual capacities (2 * leaves slots,
    leaves a power of two >= n): unopened bins count as empty, so the leftmost
    bin with room is the first fit, and it is the next new bin when no open one
    fits (every size fits an empty bin). Padding leaves hold -1.
    """
    cdef Py_ssize_t n = sizes.shape[0], i, leaves = 1, node
    cdef i64 s, nbins = 0, b
    while leaves < n:
        leaves *= 2
    for node in range(leaves):
        tree[leaves + node] = capacity if node < n else -1
    for node in range(leaves - 1, 0, -1):
        tree[node] = tree[2 * node] if tree[2 * node] >= tree[2 * node + 1] else tree[2 * node + 1]
    for i in range(n):
        s = sizes[i]
        node = 1
        while node < leaves:
            node = 2 * node if tree[2 * node] >= s else 2 * node + 1
        b = node - leaves
        if b == nbins:
            nbins += 1
        tree[node] -= s
        node //= 2
        while node >= 1:
            tree[node] = tree[2 * node] if tree[2 * node] >= tree[2 * node + 1] else tree[2 * node + 1]
            node //= 2
        bin_of[i] = b
    return nbins


# Best fit keeps the open bins in a treap ordered by (residual, bin number): the
# fullest bin that fits is the first at or after (size, -inf). Node i is bin i.

cdef struct _Treap:
    i64 *res
    i64 *left
    i64 *right
    u64 *prio
    i64 root


cdef inline bint _before(const i64 *res, i64 a, i64 b) noexcept nogil:
    return res[a] < res[b] or (res[a] == res[b] and a < b)


cdef void _split(_Treap *t, i64 node, i64 key, i64 *lo, i64 *hi) noexcept nogil:
    """Split the subtree at ``node`` into the bins before ``key`` and the rest."""
    if node < 0:
        lo[0] = -1
        hi[0] = -1
    elif _before(t.res, node, key):
        lo[0] = node
        _split(t, t.right[node], key, &t.right[node], hi)
    else:
        hi[0] = node
        _split(t, t.left[node], key, lo, &t.left[node])


cdef i64 _merge(_Treap *t, i64 a, i64 b) noexcept nogil:
    """Join two treaps, every bin of ``a`` before every bin of ``b``."""
    if a < 0:
        return b
    if b < 0:
        return a
    if t.prio[a] > t.prio[b]:
        t.right[a] = _merge(t, t.right[a], b)
        return a
    t.left[b] = _merge(t, a, t.left[b])
    return b


cdef void _insert(_Treap *t, i64 x) noexcept nogil:
    cdef i64 lo, hi
    t.left[x] = -1
    t.right[x] = -1
    _split(t, t.root, x, &lo, &hi)
    t.root = _merge(t, _merge(t, lo, x), hi)


cdef i64 _erase(_Treap *t, i64 node, i64 x) noexcept nogil:
    """The subtree at ``node`` without bin ``x`` (which it holds)."""
    if node == x:
        return _merge(t, t.left[node], t.right[node])
    if _before(t.res, x, node):
        t.left[node] = _erase(t, t.left[node], x)
    else:
        t.right[node] = _erase(t, t.right[node], x)
    return node


cdef i64 _best_fit(const i64[::1] sizes, i64 capacity, i64[::1] bin_of,
                   _Treap *t) noexcept nogil:
    """Best fit (fullest bin that still fits; lowest index on ties) in the given order."""
    cdef Py_ssize_t n = sizes.shape[0], i
    cdef i64 s, b, node, nbins = 0
    cdef u64 rng = 0x9E3779B97F4A7C15
    t.root = -1
    for i in range(n):
        s = sizes[i]
        b = -1
        node = t.root
        while node >= 0:
            if t.res[node] >= s:
                b = node
                node = t.left[node]
            else:
                node = t.right[node]
        if b < 0:
            b = nbins
            nbins += 1
            # xorshift64: priorities only shape the tree, never the packing
            rng ^= rng << 13
            rng ^= rng >> 7
            rng ^= rng << 17
            t.prio[b] = rng
            t.res[b] = capacity - s
        else:
            t.root = _erase(t, t.root, b)
            t.res[b] -= s
        _insert(t, b)
        bin_of[i] = b
    return nbins


def first_fit(const i64[::1] sizes, i64 capacity, i64[::1] bin_of):
    """First fit over ``sizes`` in the given order (sort them first for FFD).

    Writes the bin of each item into ``bin_of``; returns the number of bins.
    O(n log n) time, 16-32 bytes per item of scratch.
    """
    cdef Py_ssize_t n = sizes.shape[0], leaves = 1
    cdef i64 nbins
    while leaves < n:
        leaves *= 2
    cdef i64 *tree = <i64 *> malloc(2 * leaves * sizeof(i64))
    if not tree:
        raise MemoryError()
    with nogil:
        nbins = _first_fit(sizes, capacity, bin_of, tree)
    free(tree)
    return nbins


def best_fit(const i64[::1] sizes, i64 capacity, i64[::1] bin_of):
    """Best fit over ``sizes`` in the given order (sort them first for BFD).

    O(n log n) expected time, 32 bytes per item of scratch.
    """
    cdef Py_ssize_t n = max(sizes.shape[0], 1)
    cdef i64 nbins
    cdef _Treap t
    t.res = <i64 *> malloc(n * sizeof(i64))
    t.left = <i64 *> malloc(n * sizeof(i64))
    t.right = <i64 *> malloc(n * sizeof(i64))
    t.prio = <u64 *> malloc(n * sizeof(u64))
    if not t.res or not t.left or not t.right or not t.prio:
        free(t.res); free(t.left); free(t.right); free(t.prio)
        raise MemoryError()
    with nogil:
        nbins = _best_fit(sizes, capacity, bin_of, &t)
    free(t.res); free(t.left); free(t.right); free(t.prio)
    return nbins


# ----------------------------------------------------------------------------
# Minimum bin slack (Gupta & Ho 1999; the MBS' variant of Fleszar & Hindi 2002):
# fill one bin at a time with the subset of the remaining items that leaves the
# least slack, the largest remaining item fixed in it; a depth-first search over
# the remaining items in priority order, with a node budget per bin.

cdef struct _MbsState:
    const i64 *size        # size of item at priority position p
    u8 *used               # 1 once the item at position p is packed
    Py_ssize_t n
    i64 *cur               # positions in the bin being built
    i64 ncur
    i64 *best
    i64 nbest
    i64 best_slack
    i64 stop_slack         # stop as soon as the slack is <= this
    i64 nodes
    i64 node_limit
    i64 scanned            # positions looked at, for the clock checks
    double deadline        # <= 0: none
    bint late              # the deadline passed: stop searching


cdef void _mbs_search(_MbsState *s, Py_ssize_t start, i64 room) noexcept nogil:
    cdef Py_ssize_t p
    cdef i64 last_tried = -1, k
    if room < s.best_slack:
        s.best_slack = room
        s.nbest = s.ncur
        for k in range(s.ncur):
            s.best[k] = s.cur[k]
    if s.best_slack <= s.stop_slack or s.nodes >= s.node_limit or s.late:
        return
    for p in range(start, s.n):
        # A node may scan every item left: read the clock every 64k positions.
        s.scanned += 1
        if (s.scanned & 0xFFFF) == 0 and past(s.deadline):
            s.late = True
            return
        if s.used[p] or s.size[p] > room:
            continue
        # Equal sizes are interchangeable: at one depth try each size once.
        if s.size[p] == last_tried:
            continue
        last_tried = s.size[p]
        s.nodes += 1
        s.used[p] = 1
        s.cur[s.ncur] = p
        s.ncur += 1
        _mbs_search(s, p + 1, room - s.size[p])
        s.ncur -= 1
        s.used[p] = 0
        if s.best_slack <= s.stop_slack or s.nodes >= s.node_limit or s.late:
            return


def min_bin_slack(const i64[::1] sizes, const i64[::1] order, i64 capacity,
                  i64[::1] bin_of, i64 node_limit, i64 stop_slack, double deadline=0.0):
    """MBS' packing. ``order`` lists item indices by priority (the search tries
    them in that order; the first unpacked one is fixed in each new bin).

    Writes bins into ``bin_of`` (indexed by item); returns the number of bins.
    Within a bin the search stops at slack <= ``stop_slack`` or after
    ``node_limit`` nodes, keeping the best subset found. Once ``deadline``
    (time.monotonic() seconds; <= 0: none) passes, the bin being filled is
    closed with the best subset found so far and no further bin is opened:
    the items left get bin -1 (the caller packs them some cheaper way).
    """
    cdef Py_ssize_t n = sizes.shape[0], p, k, first
    cdef _MbsState s
    cdef i64 nbins = 0
    cdef i64 *size = <i64 *> malloc(max(n, 1) * sizeof(i64))
    cdef i64 *cur = <i64 *> malloc(max(n, 1) * sizeof(i64))
    cdef i64 *best = <i64 *> malloc(max(n, 1) * sizeof(i64))
    cdef u8 *used = <u8 *> malloc(max(n, 1))
    if not size or not cur or not best or not used:
        free(size); free(cur); free(best); free(used)
        raise MemoryError()
    with nogil:
        for p in range(n):
            size[p] = sizes[order[p]]
        memset(used, 0, n)
        s.size = size
        s.used = used
        s.n = n
        s.cur = cur
        s.best = best
        s.stop_slack = stop_slack
        s.node_limit = node_limit
        s.scanned = 0
        s.deadline = deadline
        s.late = False
        for p in range(n):
            bin_of[p] = -1
        first = 0
        while True:
            while first < n and used[first]:
                first += 1
            if first >= n or s.late or ((nbins & 63) == 0 and past(deadline)):
                break
            used[first] = 1
            s.ncur = 0
            s.nbest = 0
            s.nodes = 0
            s.best_slack = capacity - size[first] + 1
            _mbs_search(&s, first + 1, capacity - size[first])
            bin_of[order[first]] = nbins
            for k in range(s.nbest):
                used[best[k]] = 1
                bin_of[order[best[k]]] = nbins
            nbins += 1
    free(size); free(cur); free(best); free(used)
    return nbins


# ----------------------------------------------------------------------------
# Bounded knapsack over item types: the pricing problem of column generation.

def bounded_knapsack(const i64[::1] weights, const double[::1] values,
                     const i64[::1] bounds, i64 capacity, i64[::1] count_out):
    """Maximize sum(values[t] * count[t]) with sum(weights[t] * count[t]) <= capacity
    and 0 <= count[t] <= bounds[t]; see ``knapsack_columns``. Returns the best value."""
    cdef Py_ssize_t t
    cdef i64[:, ::1] out = cvarray((1, max(count_out.shape[0], 1)), sizeof(i64), "q")
    cdef double[::1] vals = cvarray((1,), sizeof(double), "d")
    knapsack_columns(weights, values, bounds, capacity, out, vals, 0.0)
    for t in range(count_out.shape[0]):
        count_out[t] = out[0, t]
    return vals[0]


def knapsack_columns(const i64[::1] weights, const double[::1] values,
                     const i64[::1] bounds, i64 capacity, i64[:, ::1] count_out,
                     double[::1] value_out, double min_value, double deadline=0.0):
    """Bounded knapsack by dynamic programming over capacities (copies of a type
    split in binary: 1, 2, 4, ...; types with value <= 0 skipped).

    Row 0 of ``count_out`` gets an optimal solution (its value in ``value_out[0]``,
    returned count >= 1 always). Further rows get the optima for ever smaller
    capacities (each below the weight of the previous one: distinct solutions)
    while their value exceeds ``min_value`` — extra columns for column generation.
    Returns the number of rows written, or -1 when ``deadline``
    (time.monotonic() seconds; <= 0: none) passed first. O(capacity *
    sum(log bounds)) time, one byte per (piece, capacity) of memory: the caller
    keeps that within its budget (``bounds.knapsack_bytes``).
    """
    cdef Py_ssize_t m = weights.shape[0], t, j, npieces = 0, c, row = 0
    cdef Py_ssize_t rows = count_out.shape[0]
    cdef i64 c0, used
    cdef i64 left, take, w
    cdef double v, cand
    cdef bint late = False
    # Pieces: (type, multiplicity).
    cdef i64 *ptype = <i64 *> malloc(max(64 * m, 1) * sizeof(i64))
    cdef i64 *pmult = <i64 *> malloc(max(64 * m, 1) * sizeof(i64))
    cdef double *best = <double *> malloc((capacity + 1) * sizeof(double))
    cdef u8 *keep = NULL
    if not ptype or not pmult or not best:
        free(ptype); free(pmult); free(best)
        raise MemoryError()
    for t in range(m):
        if values[t] <= 0 or weights[t] > capacity:
            continue
        left = min(bounds[t], capacity // weights[t])
        take = 1
        while left > 0:
            if take > left:
                take = left
            ptype[npieces] = t
            pmult[npieces] = take
            npieces += 1
            left -= take
            take *= 2
    keep = <u8 *> malloc(max(npieces * (capacity + 1), 1))
    if not keep:
        free(ptype); free(pmult); free(best)
        raise MemoryError()
    with nogil:
        for c in range(capacity + 1):
            best[c] = 0.0
        for j in range(npieces):
            # A piece costs `capacity` steps: read the clock every 16 pieces.
            if (j & 15) == 0 and past(deadline):
                late = True
                break
            w = weights[ptype[j]] * pmult[j]
            v = values[ptype[j]] * pmult[j]
            memset(keep + j * (capacity + 1), 0, capacity + 1)
            c = capacity
            while c >= w:
                cand = best[c - w] + v
                if cand > best[c]:
                    best[c] = cand
                    keep[j * (capacity + 1) + c] = 1
                c -= 1
        c0 = capacity
        while not late and row < rows and c0 >= 0:
            if row > 0 and best[c0] <= min_value:
                break
            for t in range(m):
                count_out[row, t] = 0
            c = c0
            used = 0
            j = npieces - 1
            while j >= 0:
                if keep[j * (capacity + 1) + c]:
                    count_out[row, ptype[j]] += pmult[j]
                    c -= weights[ptype[j]] * pmult[j]
                    used += weights[ptype[j]] * pmult[j]
                j -= 1
            value_out[row] = best[c0]
            row += 1
            c0 = used - 1
    free(ptype); free(pmult); free(best); free(keep)
    return -1 if late else row
