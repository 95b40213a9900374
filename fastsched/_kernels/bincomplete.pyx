"""Bin completion: a search for a packing into a given number of bins with
little or no waste (one dimension).

The caller (``fastsched.solver.binpack.heuristics``) validates: sizes positive,
decreasing and at most the capacity; the tables fit memory.
"""

from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

from fastsched._kernels.clock cimport past
from fastsched._kernels.common cimport i64, u64
from fastsched._kernels.rng cimport xorshift_next as _next_rng


# Depth-first, a bin at a time. The bin opened next is that of the item above
# half the capacity with the fewest completions left (subsets of the unused
# items up to half the capacity that fill it within the waste still allowed,
# k·capacity − total, 0 for a perfect packing), counted by a subset-sum DP and
# divided by a weight that grows with the dead ends the item caused (dom/wdeg);
# an item with no completion left is a dead end. Completions are tried fewest
# items first, then largest items first (on restarts after the first, perturbed
# by up to `spread` places among those of as many items; measured on random
# samples of the training set's AI instances: 21 of 32 found in 6 s, against
# 14 largest items first and none most items first). Backtracking jumps over
# bins that did not cause the dead end (conflict-directed backjumping, the
# culprits estimated as the bins holding an item that alone would give the dead
# item a completion). Restarts after `node_limit` bins opened keep the weights.
# A run that fails having skipped nothing (no jump, no limit, no completion
# left untried) has searched everything: no packing exists.

# Above this much waste allowed, counting completions over the window of sums
# costs more than it tells: bins open largest item first, without dead ends.
DEF _MAX_WINDOW = 64


cdef struct _Fill:
    const i64 *s            # sizes, decreasing
    i64 n, cap, k, half
    unsigned char *used
    i64 *bin_of
    i64 nbins, left, waste
    i64 words, cwords       # bits of a subset-sum row, of a conflict set (a bin each)
    i64 nodes, node_limit
    double deadline
    bint stop
    bint partial            # completions were skipped (a backjump, a full buffer)
    u64 rng
    double spread           # order perturbation among completions of as many items
    i64 max_comp
    i64 *chosen             # the completion being enumerated
    i64 *suffix             # sum of unused items from each index on
    u64 *sreach             # per index j: subset sums <= the need of unused items >= j
    i64 swords              # words per row of sreach
    unsigned int *count     # per sum <= capacity: subsets of unused small items (saturated)
    double *weight          # per item: dead ends it caused, plus 1 (kept across restarts)


cdef inline bint _reachable(_Fill *f, i64 j, i64 lo, i64 hi) noexcept nogil:
    # Some subset of the unused items from j on sums into [lo, hi].
    cdef const u64 *row = f.sreach + j * f.swords
    cdef i64 t
    if lo < 0:
        lo = 0
    t = hi
    while t >= lo:
        if (row[t >> 6] >> (t & 63)) & 1:
            return True
        t -= 1
    return False


cdef void _suffix_reach(_Fill *f, i64 start, i64 need) noexcept nogil:
    # Rows start..n of sreach: the subset sums <= need of unused items >= j.
    cdef i64 words = need // 64 + 1, j, w, ws, bs
    cdef u64 sh
    cdef u64 *row
    cdef u64 *nxt
    f.swords = words
    row = f.sreach + f.n * words
    memset(row, 0, words * sizeof(u64))
    row[0] = 1
    for j in range(f.n - 1, start - 1, -1):
        row = f.sreach + j * words
        nxt = row + words
        memcpy(row, nxt, words * sizeof(u64))
        if f.used[j] or f.s[j] > need:
            continue
        ws = f.s[j] >> 6
        bs = f.s[j] & 63
        for w in range(words - 1, ws - 1, -1):
            sh = nxt[w - ws] << bs
            if bs and w - ws - 1 >= 0:
                sh |= nxt[w - ws - 1] >> (64 - bs)
            row[w] |= sh


cdef void _enum(_Fill *f, i64 start, i64 depth, i64 lo, i64 hi, i64 *buf, i64 *count,
                i64 stride) noexcept nogil:
    # Subsets of unused items from `start` on with sum in [lo, hi] (the needs left),
    # each written to buf as its items then -1.
    cdef i64 j, last = -1, c
    if lo <= 0:
        # Maximal ones only: stop when nothing further fits.
        for j in range(start, f.n):
            if not f.used[j] and f.s[j] <= hi:
                break
        else:
            j = f.n
        if j == f.n or lo == hi:
            if count[0] < f.max_comp:
                for c in range(depth):
                    buf[count[0] * stride + c] = f.chosen[c]
                buf[count[0] * stride + depth] = -1
                count[0] += 1
            return
    for j in range(start, f.n):
        if count[0] >= f.max_comp:
            return
        if f.suffix[j] < lo or not _reachable(f, j, lo, hi):
            return
        if f.used[j] or f.s[j] > hi or f.s[j] == last:
            continue
        last = f.s[j]
        f.used[j] = 1
        f.chosen[depth] = j
        _enum(f, j + 1, depth + 1, lo - f.s[j], hi - f.s[j], buf, count, stride)
        f.used[j] = 0


cdef inline i64 _first_unused(_Fill *f) noexcept nogil:
    cdef i64 i = 0
    while f.used[i]:
        i += 1
    return i


cdef inline void _all_before(_Fill *f, u64 *cs) noexcept nogil:
    # Conflict with every bin opened so far (chronological backtracking).
    cdef i64 d
    for d in range(f.nbins):
        cs[d >> 6] |= (<u64>1) << (d & 63)


cdef i64 _most_constrained(_Fill *f, u64 *cs) noexcept nogil:
    # The unused item above half the capacity whose bin has the fewest
    # completions (subsets of unused items up to half the capacity filling it
    # within the waste allowed), the count divided by the item's weight; without
    # such items (or with much waste allowed) the largest unused item. -1 when
    # an item has no completion left: `cs` then gets the bins holding an item
    # that would give it one (each alone), or every bin when none does alone.
    cdef i64 i, t, lo, x, top, best = -1
    cdef unsigned long long c
    cdef double score, fewest = 0.0
    cdef unsigned int v, limit = 1 << 30
    cdef bint named
    if f.waste > _MAX_WINDOW:
        return _first_unused(f)
    # Only sums up to the largest need matter: capacity less the smallest big item.
    top = 0
    for i in range(f.n):
        if not f.used[i] and f.s[i] > f.half:
            top = f.cap - f.s[i]
    memset(f.count, 0, (top + 1) * sizeof(unsigned int))
    f.count[0] = 1
    for i in range(f.n):
        if f.used[i] or f.s[i] > top:
            continue
        for t in range(top, f.s[i] - 1, -1):
            v = f.count[t] + f.count[t - f.s[i]]
            f.count[t] = v if v < limit else limit
    for i in range(f.n):
        if f.used[i] or f.s[i] <= f.half:
            continue
        t = f.cap - f.s[i]
        lo = t - f.waste if t - f.waste > 0 else 0
        c = 0
        while t >= lo:
            c += f.count[t]
            t -= 1
        if c == 0:
            f.weight[i] += 1.0
            named = False
            for x in range(f.n):
                if not f.used[x] or f.s[x] > f.cap - f.s[i]:
                    continue
                t = f.cap - f.s[i] - f.s[x]
                while t >= 0 and t >= lo - f.s[x]:
                    if f.count[t]:
                        cs[f.bin_of[x] >> 6] |= (<u64>1) << (f.bin_of[x] & 63)
                        named = True
                        break
                    t -= 1
            if not named:
                _all_before(f, cs)
            return -1
        score = <double>c / f.weight[i]
        if best < 0 or score < fewest:
            best = i
            fewest = score
    return best if best >= 0 else _first_unused(f)


cdef bint _fill(_Fill *f, u64 *cs) noexcept nogil:
    # Packs the unused items into bins nbins.. and returns True, or returns
    # False with `cs` (zeroed here) naming the earlier bins the failure depends
    # on: a caller whose own bin is not among them jumps back over it.
    cdef i64 i0, j, c, r, total, count = 0, stride, e, x, t, w, depth = f.nbins
    cdef i64 *buf
    cdef double *key
    cdef i64 *order
    cdef u64 *child
    cdef bint found = False
    memset(cs, 0, f.cwords * sizeof(u64))
    if f.left == 0:
        return True
    if f.nbins == f.k:
        _all_before(f, cs)
        return False
    f.nodes += 1
    # A bin opened costs a subset-sum DP (n · capacity steps): the clock is cheap beside it.
    if f.nodes > f.node_limit or past(f.deadline):
        f.stop = True
        return False
    i0 = _most_constrained(f, cs)
    if i0 < 0:
        return False
    r = f.cap - f.s[i0]
    f.used[i0] = 1
    total = 0
    for j in range(f.n - 1, -1, -1):
        if not f.used[j]:
            total += f.s[j]
        f.suffix[j] = total
    # One completion per row of `stride` slots: at most as many items as the
    # smallest unused ones that fit together, then -1.
    stride = 1
    e = 0
    for j in range(f.n - 1, i0, -1):
        if not f.used[j]:
            e += f.s[j]
            if e > r:
                break
            stride += 1
    buf = <i64 *>malloc(f.max_comp * stride * sizeof(i64))
    key = <double *>malloc(f.max_comp * sizeof(double))
    order = <i64 *>malloc(f.max_comp * sizeof(i64))
    child = <u64 *>malloc(f.cwords * sizeof(u64))
    if buf == NULL or key == NULL or order == NULL or child == NULL:
        free(buf); free(key); free(order); free(child)
        f.stop = True
        f.used[i0] = 0
        return False
    _suffix_reach(f, i0 + 1, r)
    _enum(f, i0 + 1, 0, r - f.waste, r, buf, &count, stride)
    if count == 0:
        _all_before(f, cs)
    if count == f.max_comp:
        f.partial = True
    for c in range(count):
        order[c] = c
        key[c] = c + f.spread * <double>(_next_rng(&f.rng) >> 11) / 9007199254740992.0
        # Fewest items first (small items left are what later bins fit with),
        # then in enumeration order: largest items first.
        j = 0
        while buf[c * stride + j] >= 0:
            j += 1
        key[c] += j * (count + f.spread + 1.0)
    # Insertion sort by key (a few hundred completions at most).
    for c in range(1, count):
        x = order[c]
        j = c - 1
        while j >= 0 and key[order[j]] > key[x]:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = x
    for c in range(count):
        e = r
        j = 0
        while buf[order[c] * stride + j] >= 0:
            x = buf[order[c] * stride + j]
            f.used[x] = 1
            f.bin_of[x] = depth
            e -= f.s[x]
            j += 1
        f.bin_of[i0] = depth
        f.nbins += 1
        f.waste -= e
        f.left -= j + 1
        if _fill(f, child):
            found = True
            break
        f.nbins -= 1
        f.waste += e
        f.left += j + 1
        for t in range(j):
            f.used[buf[order[c] * stride + t]] = 0
        if f.stop:
            break
        if not (child[depth >> 6] >> (depth & 63)) & 1:
            # This bin is not to blame: no other completion of it can help.
            memcpy(cs, child, f.cwords * sizeof(u64))
            f.partial = f.partial or c + 1 < count
            break
        child[depth >> 6] &= ~((<u64>1) << (depth & 63))
        for w in range(f.cwords):
            cs[w] |= child[w]
    free(buf); free(key); free(order); free(child)
    if not found:
        f.used[i0] = 0
    return found


def complete_bins(const i64[::1] sizes, i64 capacity, i64 k, i64[::1] bin_of,
                  double deadline, u64 seed, i64 node_limit, i64 restarts,
                  i64 max_completions, double spread):
    """Search for a packing of ``sizes`` (decreasing, at least one) into at most
    ``k`` bins; ``bin_of`` receives it. At most ``restarts`` runs of at most
    ``node_limit`` bins opened each, with at most ``max_completions`` tried per
    bin; runs after the first perturb the order of completions by up to
    ``spread`` places. Stops past ``deadline`` (time.monotonic(); <= 0: none).
    Returns (found, exhausted, bins opened): ``exhausted`` when a run ended
    without a packing having skipped nothing (no backjump, no completion left
    untried, no limit reached), which proves that none exists."""
    cdef Py_ssize_t n = sizes.shape[0]
    cdef _Fill f
    cdef i64 total = 0, i, attempt, nodes = 0
    cdef bint found = False, exhausted = False
    cdef u64 *cs
    for i in range(n):
        total += sizes[i]
    if total > k * capacity:
        return False, True, 0
    f.s = &sizes[0]
    f.n = n
    f.cap = capacity
    f.k = k
    f.half = capacity // 2
    f.words = capacity // 64 + 1
    f.bin_of = &bin_of[0]
    f.deadline = deadline
    f.max_comp = max_completions
    f.cwords = k // 64 + 1
    f.rng = seed * <u64>6364136223846793005 + <u64>1442695040888963407
    if f.rng == 0:
        f.rng = 1
    f.used = <unsigned char *>malloc(n)
    cs = <u64 *>malloc(f.cwords * sizeof(u64))
    f.chosen = <i64 *>malloc((n + 1) * sizeof(i64))
    f.suffix = <i64 *>malloc((n + 1) * sizeof(i64))
    f.sreach = <u64 *>malloc((n + 1) * f.words * sizeof(u64))
    f.count = <unsigned int *>malloc((capacity + 1) * sizeof(unsigned int))
    f.weight = <double *>malloc(n * sizeof(double))
    if not (f.used and cs and f.chosen and f.suffix and f.sreach and f.count and f.weight):
        free(f.used); free(cs); free(f.chosen); free(f.suffix); free(f.sreach)
        free(f.count); free(f.weight)
        raise MemoryError()
    with nogil:
        for i in range(n):
            f.weight[i] = 1.0
        for attempt in range(restarts):
            memset(f.used, 0, n)
            f.nbins = 0
            f.left = n
            f.waste = k * capacity - total
            f.nodes = 0
            f.node_limit = node_limit
            f.stop = False
            f.partial = False
            f.spread = 0.0 if attempt == 0 else spread
            found = _fill(&f, cs)
            nodes += f.nodes
            # A run that ended on its own, skipping nothing, searched everything.
            exhausted = not (found or f.stop or f.partial)
            if found or exhausted or past(deadline):
                break
    free(f.used); free(cs); free(f.chosen); free(f.suffix); free(f.sreach)
    free(f.count); free(f.weight)
    return found, exhausted, nodes
