"""Vector bin packing kernels: tabu search on overflow into a fixed number of
bins, and vector first fit (at the end of this file).

Every item is assigned to one of ``nbins`` bins, capacities may be exceeded, and
the search minimizes the total overflow Σ_b Σ_j max(0, load[b, j] − cap[j]) / cap[j].
Overflow zero is a packing. Each step takes the best move that involves an item
of an overflowing bin: relocate it to another bin, or swap it with an item of
another bin. A moved item may not return to the bin it left for a few steps
(tabu), unless that reaches a new best overflow (aspiration); ties are broken at
random. This is the classic penalty-based search for packing feasibility
(cf. Buljubašić & Vasquez 2016, who pair it with bin elimination, as the caller
does).

The caller validates: sizes non-negative and each fitting the capacity,
``assign`` in [0, nbins), arrays contiguous; the state (``assign``, ``tabu``)
persists between calls so the search can run in slices.
"""

from libc.math cimport INFINITY
from cython.view cimport array as cvarray

from fastsched._kernels.clock cimport past
from fastsched._kernels.common cimport i64, u64
from fastsched._kernels.rng cimport xorshift_next as _next_rng


# Items of overflowing bins whose moves one step evaluates at most (scanned from
# a random start): bounds a step's cost on large instances; small ones never
# have this many.
cdef enum:
    _MAX_CANDIDATES = 256

# Tree nodes one first-fit search may visit once the deadline has passed.
cdef enum:
    _LATE_VISITS = 64


cdef inline u64 _mix(u64 x) noexcept nogil:
    """splitmix64's finalizer: a well-spread, never-stuck xorshift seed."""
    x = (x ^ (x >> 30)) * <u64>0xBF58476D1CE4E5B9
    x = (x ^ (x >> 27)) * <u64>0x94D049BB133111EB
    x = x ^ (x >> 31)
    return x if x != 0 else <u64>0x9E3779B97F4A7C15


cdef inline double _overflow(const i64* load, const i64* out_size, const i64* in_size,
                             const i64* cap, const double* weight, Py_ssize_t d) noexcept nogil:
    """Overflow of a bin of ``load`` after removing ``out_size`` and adding
    ``in_size`` (either may be NULL)."""
    cdef Py_ssize_t j
    cdef i64 e
    cdef double f = 0.0
    for j in range(d):
        e = load[j] - cap[j]
        if out_size != NULL:
            e -= out_size[j]
        if in_size != NULL:
            e += in_size[j]
        if e > 0:
            f += e * weight[j]
    return f


def overflow_tabu(const i64[:, ::1] sizes, const i64[::1] cap, i64[::1] assign,
                  Py_ssize_t nbins, i64[:, ::1] tabu, double[:, ::1] weight,
                  i64 first_step, i64 steps, u64 seed, double bump):
    """Run up to ``steps`` steps (numbered from ``first_step``, so tabu tenures
    carry over between calls) from ``assign``, updated in place; stop at overflow
    zero. Returns (overflowing bins left, steps taken). Raises ValueError for
    fewer than two bins, mismatched shapes or an assignment out of range."""
    cdef Py_ssize_t n = sizes.shape[0], d = sizes.shape[1]
    cdef Py_ssize_t i, k, a, b, j, bi, best_i, best_k, best_b, over_bins, scan, start, seen
    cdef i64 it, last = first_step + steps, tenure
    cdef double total = 0.0, best_total, delta, best_delta, fa, fb, max_f
    # Each slice draws its own stream: mix the step number into the seed.
    cdef u64 rng = _mix(seed ^ _mix(<u64>first_step))
    cdef u64 ties
    if nbins < 2:
        raise ValueError("overflow_tabu: needs at least two bins")
    if (cap.shape[0] != d or assign.shape[0] != n or tabu.shape[0] != n
            or tabu.shape[1] != nbins or weight.shape[0] != nbins or weight.shape[1] != d):
        raise ValueError("overflow_tabu: shapes of cap, assign, tabu, weight do not match")
    for i in range(n):
        if assign[i] < 0 or assign[i] >= nbins:
            raise ValueError(f"overflow_tabu: assign[{i}] = {assign[i]} is not a bin")
    cdef i64[:, ::1] loads = cvarray(shape=(max(nbins, 1), max(d, 1)), itemsize=8, format="q")
    cdef double[::1] f = cvarray(shape=(max(nbins, 1),), itemsize=8, format="d")
    with nogil:
        for b in range(nbins):
            for j in range(d):
                loads[b, j] = 0
        for i in range(n):
            for j in range(d):
                loads[assign[i], j] += sizes[i, j]
        over_bins = 0
        for b in range(nbins):
            f[b] = _overflow(&loads[b, 0], NULL, NULL, &cap[0], &weight[b, 0], d)
            total += f[b]
            if f[b] > 0.0:
                over_bins += 1
        best_total = total
        it = first_step
        while it < last and over_bins > 0:
            best_delta = INFINITY
            best_i = best_k = best_b = -1
            ties = 0
            max_f = 0.0
            for b in range(nbins):
                if f[b] > max_f:
                    max_f = f[b]
            start = <Py_ssize_t>(_next_rng(&rng) % <u64>n)
            seen = 0
            for scan in range(n):
                i = start + scan
                if i >= n:
                    i -= n
                a = assign[i]
                if f[a] <= 0.0:
                    continue
                seen += 1
                if seen > _MAX_CANDIDATES:
                    break
                # Relocate i from a to b.
                fa = _overflow(&loads[a, 0], &sizes[i, 0], NULL, &cap[0], &weight[a, 0], d)
                for b in range(nbins):
                    # Adding i never lowers bin b's overflow: skip hopeless moves.
                    if b == a or fa - f[a] > best_delta + 1e-12:
                        continue
                    fb = _overflow(&loads[b, 0], NULL, &sizes[i, 0], &cap[0], &weight[b, 0], d)
                    delta = fa + fb - f[a] - f[b]
                    if tabu[i, b] > it and total + delta >= best_total - 1e-12:
                        continue
                    if delta < best_delta - 1e-12:
                        best_delta, best_i, best_k, best_b, ties = delta, i, -1, b, 1
                    elif delta <= best_delta + 1e-12:
                        ties += 1
                        if _next_rng(&rng) % ties == 0:
                            best_i, best_k, best_b = i, -1, b
                # Swap i (in a) with k (in b): adding k to a costs at least nothing,
                # and no bin's overflow can drop by more than the largest one.
                if fa - f[a] - max_f > best_delta + 1e-12:
                    continue
                for k in range(n):
                    b = assign[k]
                    if b == a:
                        continue
                    fa = _overflow(&loads[a, 0], &sizes[i, 0], &sizes[k, 0], &cap[0],
                                   &weight[a, 0], d)
                    # Bin b's overflow cannot drop below zero: skip hopeless swaps.
                    if fa - f[a] - f[b] > best_delta + 1e-12:
                        continue
                    fb = _overflow(&loads[b, 0], &sizes[k, 0], &sizes[i, 0], &cap[0],
                                   &weight[b, 0], d)
                    delta = fa + fb - f[a] - f[b]
                    if ((tabu[i, b] > it or tabu[k, a] > it)
                            and total + delta >= best_total - 1e-12):
                        continue
                    if delta < best_delta - 1e-12:
                        best_delta, best_i, best_k, best_b, ties = delta, i, k, b, 1
                    elif delta <= best_delta + 1e-12:
                        ties += 1
                        if _next_rng(&rng) % ties == 0:
                            best_i, best_k, best_b = i, k, b
            if best_i < 0:
                # Everything tabu: a random relocation of an item of an overflowing
                # bin (the first one from a random start; one exists).
                best_i = <Py_ssize_t>(_next_rng(&rng) % <u64>n)
                while f[assign[best_i]] <= 0.0:
                    best_i = best_i + 1 if best_i + 1 < n else 0
                best_b = <Py_ssize_t>(_next_rng(&rng) % <u64>(nbins - 1))
                if best_b >= assign[best_i]:
                    best_b += 1
                best_k = -1
            # At a local minimum, weigh the overflows that persist more (breakout).
            if bump > 0.0 and best_delta >= -1e-12:
                total = 0.0
                for bi in range(nbins):
                    if f[bi] > 0.0:
                        for j in range(d):
                            if loads[bi, j] > cap[j]:
                                weight[bi, j] += bump / cap[j]
                        f[bi] = _overflow(&loads[bi, 0], NULL, NULL, &cap[0], &weight[bi, 0], d)
                    total += f[bi]
                best_total = total
            # Apply the move.
            a = assign[best_i]
            b = best_b
            tenure = 1 + <i64>(_next_rng(&rng) % 10) + over_bins
            for j in range(d):
                loads[a, j] -= sizes[best_i, j]
                loads[b, j] += sizes[best_i, j]
            assign[best_i] = b
            tabu[best_i, a] = it + tenure
            if best_k >= 0:
                for j in range(d):
                    loads[b, j] -= sizes[best_k, j]
                    loads[a, j] += sizes[best_k, j]
                assign[best_k] = a
                tabu[best_k, b] = it + tenure
            total -= f[a] + f[b]
            f[a] = _overflow(&loads[a, 0], NULL, NULL, &cap[0], &weight[a, 0], d)
            f[b] = _overflow(&loads[b, 0], NULL, NULL, &cap[0], &weight[b, 0], d)
            total += f[a] + f[b]
            if total < best_total:
                best_total = total
            over_bins = 0
            for bi in range(nbins):
                if f[bi] > 0.0:
                    over_bins += 1
            it += 1
    return over_bins, it - first_step


# ----------------------------------------------------------------------------
# Vector first fit: the lowest-numbered bin that fits the item in every
# dimension. A tree over the bins keeps, per node, the largest residual of each
# dimension below it; a subtree is entered only when each of its maxima covers
# the item, so a search visits few nodes when the bins' residuals are alike
# (and every bin in the worst case: fitting in d >= 2 dimensions at once does
# not decompose). Unopened bins count as empty, so the first fit is the next
# new bin when no open one fits.

cdef Py_ssize_t _vff_find(const i64 *tree, Py_ssize_t d, Py_ssize_t node, Py_ssize_t leaves,
                          const i64 *size, i64 *visits) noexcept nogil:
    """Leftmost leaf under ``node`` that covers ``size``: -1 for none, -2 once
    ``visits`` (counting down) runs out."""
    cdef Py_ssize_t j, found
    if visits[0] <= 0:
        return -2
    visits[0] -= 1
    for j in range(d):
        if tree[node * d + j] < size[j]:
            return -1
    if node >= leaves:
        return node - leaves
    found = _vff_find(tree, d, 2 * node, leaves, size, visits)
    if found != -1:
        return found
    return _vff_find(tree, d, 2 * node + 1, leaves, size, visits)


def vector_first_fit(const i64[:, ::1] sizes, const i64[::1] cap, const i64[::1] order,
                     i64[::1] bin_of, double deadline=0.0):
    """First fit of the items in ``order`` (every index once); writes each
    item's bin into ``bin_of`` (bins numbered by first use) and returns the
    number of bins: exactly the bins of the plain scan over the open bins.

    Once ``deadline`` (time.monotonic() seconds; <= 0: none) passes, which only
    the worst case above can make happen, each search may visit at most
    ``_LATE_VISITS`` tree nodes; an item whose search runs out goes by next fit
    (the last bin opened, else a new one): still a valid packing, in bounded
    time per item.
    Raises ValueError for mismatched shapes or an order entry out of range.
    """
    cdef Py_ssize_t n = sizes.shape[0], d = sizes.shape[1], leaves = 1, node, j, k, i, b
    # The tree keeps one more column: the residual summed over dimensions, a
    # second necessary condition that prunes subtrees whose maxima come from
    # different bins.
    cdef Py_ssize_t dd = d + 1
    cdef i64 nbins = 0, visits, a, c, total = 0
    cdef bint late = False
    if cap.shape[0] != d or order.shape[0] != n or bin_of.shape[0] != n:
        raise ValueError("vector_first_fit: shapes of cap, order, bin_of do not match")
    for k in range(n):
        if order[k] < 0 or order[k] >= n:
            raise ValueError(f"vector_first_fit: order[{k}] = {order[k]} is not an item")
    for j in range(d):
        total += cap[j]
    while leaves < n:
        leaves *= 2
    cdef i64[::1] tree = cvarray(shape=(2 * leaves * dd,), itemsize=8, format="q")
    cdef i64[::1] item = cvarray(shape=(dd,), itemsize=8, format="q")
    with nogil:
        for node in range(leaves):
            for j in range(d):
                tree[(leaves + node) * dd + j] = cap[j] if node < n else -1
            tree[(leaves + node) * dd + d] = total if node < n else -1
        for node in range(leaves - 1, 0, -1):
            for j in range(dd):
                a = tree[2 * node * dd + j]
                c = tree[(2 * node + 1) * dd + j]
                tree[node * dd + j] = a if a >= c else c
        for k in range(n):
            i = order[k]
            item[d] = 0
            for j in range(d):
                item[j] = sizes[i, j]
                item[d] += sizes[i, j]
            if not late and (k & 255) == 0 and past(deadline):
                late = True
            visits = _LATE_VISITS if late else n + leaves + 1
            b = _vff_find(&tree[0], dd, 1, leaves, &item[0], &visits)
            if b == -2:
                b = nbins - 1
                for j in range(d):
                    if tree[(leaves + b) * dd + j] < item[j]:
                        b = nbins
                        break
            if b == nbins:
                nbins += 1
            node = leaves + b
            for j in range(dd):
                tree[node * dd + j] -= item[j]
            node //= 2
            while node >= 1:
                for j in range(dd):
                    a = tree[2 * node * dd + j]
                    c = tree[(2 * node + 1) * dd + j]
                    tree[node * dd + j] = a if a >= c else c
                node //= 2
            bin_of[i] = b
    return nbins
