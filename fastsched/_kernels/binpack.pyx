"""One-dimensional bin-packing kernels: FFD/BFD, minimum bin slack, bounded knapsack.

The callers (``fastsched.solver``) validate and coerce; these kernels trust their
inputs: sizes are positive, no size exceeds the capacity, arrays are contiguous.
"""

from libc.stdlib cimport free, malloc
from libc.string cimport memset
from cython.view cimport array as cvarray

from fastsched._kernels.common cimport i64, u8


cdef i64 _first_fit(const i64[::1] sizes, i64 capacity, i64[::1] bin_of,
                    i64[::1] load) noexcept nogil:
    """First fit in the given item order; returns the number of bins opened."""
    cdef Py_ssize_t n = sizes.shape[0], i
    cdef i64 b, nbins = 0
    for i in range(n):
        b = 0
        while b < nbins and load[b] + sizes[i] > capacity:
            b += 1
        if b == nbins:
            load[b] = 0
            nbins += 1
        load[b] += sizes[i]
        bin_of[i] = b
    return nbins


cdef i64 _best_fit(const i64[::1] sizes, i64 capacity, i64[::1] bin_of,
                   i64[::1] load) noexcept nogil:
    """Best fit (fullest bin that still fits; lowest index on ties) in the given order."""
    cdef Py_ssize_t n = sizes.shape[0], i
    cdef i64 b, best, best_load, nbins = 0
    for i in range(n):
        best = -1
        best_load = -1
        for b in range(nbins):
            if load[b] + sizes[i] <= capacity and load[b] > best_load:
                best = b
                best_load = load[b]
        if best < 0:
            best = nbins
            load[best] = 0
            nbins += 1
        load[best] += sizes[i]
        bin_of[i] = best
    return nbins


def first_fit(const i64[::1] sizes, i64 capacity, i64[::1] bin_of):
    """First fit over ``sizes`` in the given order (sort them first for FFD).

    Writes the bin of each item into ``bin_of``; returns the number of bins.
    """
    cdef i64[::1] load = bin_of.copy()
    with nogil:
        nbins = _first_fit(sizes, capacity, bin_of, load)
    return nbins


def best_fit(const i64[::1] sizes, i64 capacity, i64[::1] bin_of):
    """Best fit over ``sizes`` in the given order (sort them first for BFD)."""
    cdef i64[::1] load = bin_of.copy()
    with nogil:
        nbins = _best_fit(sizes, capacity, bin_of, load)
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


cdef void _mbs_search(_MbsState *s, Py_ssize_t start, i64 room) noexcept nogil:
    cdef Py_ssize_t p
    cdef i64 last_tried = -1, k
    if room < s.best_slack:
        s.best_slack = room
        s.nbest = s.ncur
        for k in range(s.ncur):
            s.best[k] = s.cur[k]
    if s.best_slack <= s.stop_slack or s.nodes >= s.node_limit:
        return
    for p in range(start, s.n):
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
        if s.best_slack <= s.stop_slack or s.nodes >= s.node_limit:
            return


def min_bin_slack(const i64[::1] sizes, const i64[::1] order, i64 capacity,
                  i64[::1] bin_of, i64 node_limit, i64 stop_slack):
    """MBS' packing. ``order`` lists item indices by priority (the search tries
    them in that order; the first unpacked one is fixed in each new bin).

    Writes bins into ``bin_of`` (indexed by item); returns the number of bins.
    Within a bin the search stops at slack <= ``stop_slack`` or after
    ``node_limit`` nodes, keeping the best subset found.
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
        first = 0
        while True:
            while first < n and used[first]:
                first += 1
            if first >= n:
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
                     double[::1] value_out, double min_value):
    """Bounded knapsack by dynamic programming over capacities (copies of a type
    split in binary: 1, 2, 4, ...; types with value <= 0 skipped).

    Row 0 of ``count_out`` gets an optimal solution (its value in ``value_out[0]``,
    returned count >= 1 always). Further rows get the optima for ever smaller
    capacities (each below the weight of the previous one: distinct solutions)
    while their value exceeds ``min_value`` — extra columns for column generation.
    Returns the number of rows written. O(capacity * sum(log bounds)) time, one
    byte per (piece, capacity) of memory.
    """
    cdef Py_ssize_t m = weights.shape[0], t, j, npieces = 0, c, row = 0
    cdef Py_ssize_t rows = count_out.shape[0]
    cdef i64 c0, used
    cdef i64 left, take, w
    cdef double v, cand
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
        while row < rows and c0 >= 0:
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
    return row
