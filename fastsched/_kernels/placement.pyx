"""The placement loop: filter, score, select and commit pods over node columns.

One ``Batch`` holds the cluster's columns (shared with the ``Cluster``: a commit
writes the requested columns in place), the compiled profile and the compiled pod
specs. ``place`` runs a whole pod sequence in one ``nogil`` call; ``explain`` and
``score_feasible`` serve the single-pod ``filter``/``score`` API.

Static failure bits (per node, computed once per spec by the Python side):
bit 0 NodeUnschedulable, 1 NodeName, 2 TaintToleration, 3 NodeAffinity's
scheduler-enforced affinity, 4 NodeAffinity (selector and required terms),
5 outside NodeAffinity's PreFilter result (reported before any filter).
Dynamic filters: NodePorts (occupancy columns) and NodeResourcesFit.
"""

from libc.math cimport fabs, sqrt
from libc.stdlib cimport free, malloc

from fastsched._kernels.common cimport i64, u8, u64

# Filter plugin codes, in the order a profile lists them.
cdef enum:
    F_UNSCHEDULABLE = 0
    F_NODE_NAME = 1
    F_TAINTS = 2
    F_AFFINITY = 3
    F_PORTS = 4
    F_FIT = 5

# Reason buckets of the histogram / per-node explanation.
cdef enum:
    R_UNSCHEDULABLE = 0
    R_NODE_NAME = 1
    R_TAINTS = 2
    R_ADDED_AFFINITY = 3
    R_AFFINITY = 4
    R_PORTS = 5
    R_PREFILTER = 6      # excluded by NodeAffinity's PreFilter (metadata.name In)
    R_RESOURCE0 = 7      # + resource column (the pods column means "Too many pods")

cdef enum:
    LEAST_ALLOCATED = 0
    MOST_ALLOCATED = 1
    REQUESTED_TO_CAPACITY_RATIO = 2

DEF MAX_BALANCED = 16
cdef i64 LOW32 = 0xFFFFFFFF


cdef struct Plan:
    Py_ssize_t n, R, pods_col
    i64* alloc
    i64* req
    i64* nonzero
    # profile
    Py_ssize_t nfilters
    i64* filters
    int strategy
    Py_ssize_t K
    i64* fit_col
    i64* fit_w
    i64* fit_nz
    u8* fit_scalar
    Py_ssize_t nshape
    i64* shape_u
    i64* shape_s
    Py_ssize_t B
    i64* ba_col
    u8* ba_scalar
    i64 w_fit, w_ba, w_tt, w_na, w_il
    # pod specs
    i64* spec_req
    i64* spec_filter
    i64* spec_nz
    u8* spec_missing
    u8* spec_ba_skip
    i64* spec_mask
    u8* masks
    i64* spec_tt
    i64* tt_raw
    i64* spec_na
    i64* na_raw
    i64* spec_il
    i64* il_score
    # host ports: occupancy columns, and per spec the columns to check / to set
    Py_ssize_t T
    u8* occ
    i64* chk_off
    i64* chk
    i64* set_off
    i64* set_col


cdef class Batch:
    """Arrays for one kernel call. Attributes are set by ``fastsched.scheduler``,
    which guarantees dtypes, C-contiguity and shapes; the kernel trusts them."""

    cdef public object alloc, req, nonzero
    cdef public object filters, fit_col, fit_w, fit_nz, fit_scalar, shape_u, shape_s
    cdef public object ba_col, ba_scalar
    cdef public i64 strategy, w_fit, w_ba, w_tt, w_na, w_il, pods_col
    cdef public object spec_req, spec_filter, spec_nz, spec_missing, spec_ba_skip
    cdef public object spec_mask, masks, spec_tt, tt_raw, spec_na, na_raw, spec_il, il_score
    cdef public object occ, chk_off, chk, set_off, set_col
    cdef Plan plan

    cdef Plan* bind(self) except NULL:
        cdef i64[:, ::1] alloc = self.alloc
        cdef i64[:, ::1] req = self.req
        cdef i64[:, ::1] nonzero = self.nonzero
        cdef Plan* p = &self.plan
        p.n = alloc.shape[0]
        p.R = alloc.shape[1]
        p.pods_col = self.pods_col
        p.alloc = _p64(self.alloc)
        p.req = _p64(self.req)
        p.nonzero = _p64(self.nonzero)
        p.nfilters = len(self.filters)
        p.filters = _p64(self.filters)
        p.strategy = <int>self.strategy
        p.K = len(self.fit_col)
        p.fit_col = _p64(self.fit_col)
        p.fit_w = _p64(self.fit_w)
        p.fit_nz = _p64(self.fit_nz)
        p.fit_scalar = _p8(self.fit_scalar)
        p.nshape = len(self.shape_u)
        p.shape_u = _p64(self.shape_u)
        p.shape_s = _p64(self.shape_s)
        p.B = min(len(self.ba_col), MAX_BALANCED)
        p.ba_col = _p64(self.ba_col)
        p.ba_scalar = _p8(self.ba_scalar)
        p.w_fit, p.w_ba, p.w_tt = self.w_fit, self.w_ba, self.w_tt
        p.w_na, p.w_il = self.w_na, self.w_il
        p.spec_req = _p64(self.spec_req)
        p.spec_filter = _p64(self.spec_filter)
        p.spec_nz = _p64(self.spec_nz)
        p.spec_missing = _p8(self.spec_missing)
        p.spec_ba_skip = _p8(self.spec_ba_skip)
        p.spec_mask = _p64(self.spec_mask)
        p.masks = _p8(self.masks)
        p.spec_tt = _p64(self.spec_tt)
        p.tt_raw = _p64(self.tt_raw)
        p.spec_na = _p64(self.spec_na)
        p.na_raw = _p64(self.na_raw)
        p.spec_il = _p64(self.spec_il)
        p.il_score = _p64(self.il_score)
        p.T = self.occ.shape[1]
        p.occ = _p8(self.occ)
        p.chk_off = _p64(self.chk_off)
        p.chk = _p64(self.chk)
        p.set_off = _p64(self.set_off)
        p.set_col = _p64(self.set_col)
        return p


cdef i64* _p64(object array) except NULL:
    """The data pointer of a C-contiguous int64 array (at least one element)."""
    cdef i64[::1] flat = array.reshape(-1)
    return &flat[0]


cdef u8* _p8(object array) except NULL:
    cdef u8[::1] flat = array.reshape(-1).view("uint8")
    return &flat[0]


# -- filters -------------------------------------------------------------------------

cdef inline bint ports_free(Plan* p, Py_ssize_t s, Py_ssize_t i) noexcept nogil:
    cdef i64 j
    for j in range(p.chk_off[s], p.chk_off[s + 1]):
        if p.occ[i * p.T + p.chk[j]]:
            return False
    return True


cdef inline u64 fit_bits(Plan* p, Py_ssize_t s, Py_ssize_t i) noexcept nogil:
    """Bit r set when node i lacks resource column r; bit 63 for a resource no node has."""
    cdef Py_ssize_t r, R = p.R
    cdef i64 want
    cdef u64 bits = 0
    cdef i64* a = p.alloc + i * R
    cdef i64* u = p.req + i * R
    cdef i64* q = p.spec_filter + s * R
    for r in range(R):
        want = q[r]
        # A resource the pod does not request never fails (spec §3.7).
        if want > 0 and want > a[r] - u[r]:
            bits |= (<u64>1) << r
    if p.spec_missing[s]:
        bits |= (<u64>1) << 63
    return bits


cdef inline bint feasible(Plan* p, Py_ssize_t s, Py_ssize_t i, bint ports, bint fit) noexcept nogil:
    cdef i64 m = p.spec_mask[s]
    if m >= 0 and p.masks[m * p.n + i]:
        return False
    if ports and not ports_free(p, s, i):
        return False
    return not fit or fit_bits(p, s, i) == 0


cdef int first_failure(Plan* p, Py_ssize_t s, Py_ssize_t i, u64* bits) noexcept nogil:
    """The reason bucket of the first filter (in profile order) that rejects node i,
    or -1; for NodeResourcesFit ``bits`` gets the failing resource bits."""
    cdef i64 m = p.spec_mask[s]
    cdef u8 static = p.masks[m * p.n + i] if m >= 0 else 0
    cdef Py_ssize_t f
    cdef i64 code
    cdef u64 b
    if static & 32:
        return R_PREFILTER
    for f in range(p.nfilters):
        code = p.filters[f]
        if code == F_UNSCHEDULABLE and static & 1:
            return R_UNSCHEDULABLE
        if code == F_NODE_NAME and static & 2:
            return R_NODE_NAME
        if code == F_TAINTS and static & 4:
            return R_TAINTS
        if code == F_AFFINITY and static & 8:
            return R_ADDED_AFFINITY
        if code == F_AFFINITY and static & 16:
            return R_AFFINITY
        if code == F_PORTS and not ports_free(p, s, i):
            return R_PORTS
        if code == F_FIT:
            b = fit_bits(p, s, i)
            if b:
                bits[0] = b
                return R_RESOURCE0
    return -1


# -- scores --------------------------------------------------------------------------

cdef inline i64 shape_at(Plan* p, i64 util) noexcept nogil:
    """RequestedToCapacityRatio's broken-linear function (scores already ×10)."""
    cdef Py_ssize_t j
    if util <= p.shape_u[0]:
        return p.shape_s[0]
    for j in range(1, p.nshape):
        if util <= p.shape_u[j]:
            return p.shape_s[j - 1] + ((p.shape_s[j] - p.shape_s[j - 1])
                                       * (util - p.shape_u[j - 1])) // (p.shape_u[j] - p.shape_u[j - 1])
    return p.shape_s[p.nshape - 1]


cdef inline i64 fit_score(Plan* p, Py_ssize_t s, Py_ssize_t i) noexcept nogil:
    """NodeResourcesFit score (spec §4.1–4.3) of node i for spec s."""
    cdef Py_ssize_t k
    cdef i64 col, nz, want, a, q, score, util, num = 0, den = 0
    for k in range(p.K):
        col = p.fit_col[k]
        if col < 0:
            continue
        nz = p.fit_nz[k]
        if nz >= 0:       # cpu and memory: the scoring variant with defaults
            want = p.spec_nz[s * 2 + nz]
            q = p.nonzero[i * 2 + nz] + want
        else:
            want = p.spec_req[s * p.R + col]
            if p.fit_scalar[k] and want == 0:
                continue
            q = p.req[i * p.R + col] + want
        a = p.alloc[i * p.R + col]
        if a == 0:
            continue
        if p.strategy == LEAST_ALLOCATED:
            score = 0 if q > a else ((a - q) * 100) // a
        elif p.strategy == MOST_ALLOCATED:
            score = ((q if q < a else a) * 100) // a
        else:
            util = 100 if q > a else (q * 100) // a
            score = shape_at(p, util)
            if score <= 0:
                continue      # only positive scores enter the weighted mean
        num += score * p.fit_w[k]
        den += p.fit_w[k]
    if den == 0:
        return 0
    if p.strategy == REQUESTED_TO_CAPACITY_RATIO:
        return (2 * num + den) // (2 * den)       # round half away from zero
    return num // den


cdef inline i64 balanced_score(Plan* p, Py_ssize_t s, Py_ssize_t i) noexcept nogil:
    """NodeResourcesBalancedAllocation (≤ v1.35), in Go's float64 order of operations."""
    cdef double fr[MAX_BALANCED]
    cdef double f, total = 0.0, mean, acc, std = 0.0
    cdef Py_ssize_t b, cnt = 0
    cdef i64 col, want, a
    if p.spec_ba_skip[s]:
        return 0
    for b in range(p.B):
        col = p.ba_col[b]
        if col < 0:
            continue
        want = p.spec_req[s * p.R + col]
        if p.ba_scalar[b] and want == 0:
            continue
        a = p.alloc[i * p.R + col]
        if a == 0:
            continue
        f = <double>(p.req[i * p.R + col] + want) / <double>a
        if f > 1.0:
            f = 1.0
        fr[cnt] = f
        total += f
        cnt += 1
    if cnt == 2:
        std = fabs((fr[0] - fr[1]) / 2.0)
    elif cnt > 2:
        mean = total / <double>cnt
        acc = 0.0
        for b in range(cnt):
            acc = acc + (fr[b] - mean) * (fr[b] - mean)
        std = sqrt(acc / <double>cnt)
    return <i64>((1.0 - std) * 100.0)


cdef inline i64 local_total(Plan* p, Py_ssize_t s, Py_ssize_t i) noexcept nogil:
    """The weighted scores that depend on node i alone (no normalization)."""
    cdef i64 total = 0
    if p.w_fit:
        total += p.w_fit * fit_score(p, s, i)
    if p.w_ba:
        total += p.w_ba * balanced_score(p, s, i)
    if p.w_il and p.spec_il[s] >= 0:
        total += p.w_il * p.il_score[p.spec_il[s] * p.n + i]
    return total


cdef inline i64 taint_norm(Plan* p, Py_ssize_t s, Py_ssize_t i, i64 top) noexcept nogil:
    """TaintToleration, reverse default-normalized against the feasible maximum."""
    if top <= 0:
        return 100
    return 100 - (100 * p.tt_raw[p.spec_tt[s] * p.n + i]) // top


cdef inline i64 affinity_norm(Plan* p, Py_ssize_t s, Py_ssize_t i, i64 top) noexcept nogil:
    if top <= 0:
        return 0
    return (100 * p.na_raw[p.spec_na[s] * p.n + i]) // top


cdef inline i64 total_score(Plan* p, Py_ssize_t s, Py_ssize_t i, i64 tt_top, i64 na_top) noexcept nogil:
    cdef i64 total = local_total(p, s, i)
    if p.w_tt:
        total += p.w_tt * (taint_norm(p, s, i, tt_top) if p.spec_tt[s] >= 0 else 100)
    if p.w_na and p.spec_na[s] >= 0:
        total += p.w_na * affinity_norm(p, s, i, na_top)
    return total


cdef inline void commit(Plan* p, Py_ssize_t s, Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t r
    cdef i64 j
    for r in range(p.R):
        p.req[i * p.R + r] += p.spec_req[s * p.R + r]
    p.nonzero[i * 2] += p.spec_nz[s * 2]
    p.nonzero[i * 2 + 1] += p.spec_nz[s * 2 + 1]
    for j in range(p.set_off[s], p.set_off[s + 1]):
        p.occ[i * p.T + p.set_col[j]] = 1


# -- selection -----------------------------------------------------------------------

cdef inline u64 next_random(u64* state) noexcept nogil:
    """splitmix64: a small seeded generator for uniform tie-breaking."""
    state[0] += <u64>0x9E3779B97F4A7C15
    cdef u64 z = state[0]
    z = (z ^ (z >> 30)) * <u64>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <u64>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef struct Scan:
    bint ports, fit, random
    Py_ssize_t to_find       # feasible nodes to find before stopping (n = all)
    Py_ssize_t start         # round-robin start (in/out)
    i64* cand                # scratch, n entries
    u64 rng


cdef Py_ssize_t scan(Plan* p, Scan* sc, Py_ssize_t s, i64* best_total) noexcept nogil:
    """Filter (from sc.start, round-robin, until sc.to_find nodes pass), score the
    feasible ones and pick the best. Returns the row or -1."""
    cdef Py_ssize_t n = p.n, k, i, found = 0, visited = 0, best = -1
    cdef i64 tt_top = 0, na_top = 0, total, best_key = -1, ties = 0
    cdef bint has_tt = p.w_tt and p.spec_tt[s] >= 0
    cdef bint has_na = p.w_na and p.spec_na[s] >= 0
    for k in range(n):
        i = sc.start + k
        if i >= n:
            i -= n
        visited += 1
        if feasible(p, s, i, sc.ports, sc.fit):
            sc.cand[found] = i
            found += 1
            if has_tt and p.tt_raw[p.spec_tt[s] * n + i] > tt_top:
                tt_top = p.tt_raw[p.spec_tt[s] * n + i]
            if has_na and p.na_raw[p.spec_na[s] * n + i] > na_top:
                na_top = p.na_raw[p.spec_na[s] * n + i]
            if found >= sc.to_find:
                break
    if n:
        sc.start = (sc.start + visited) % n
    for k in range(found):
        i = sc.cand[k]
        total = total_score(p, s, i, tt_top, na_top)
        if total > best_key:
            best_key, best, ties = total, i, 1
        elif total == best_key and sc.random:
            # reservoir sampling: the c-th maximum replaces the choice with prob. 1/c
            ties += 1
            if next_random(&sc.rng) % <u64>ties == 0:
                best = i
        elif total == best_key and i < best:
            best = i        # rotation can visit a lower row later: keep the lowest
    best_total[0] = best_key
    return best


# -- the tournament tree for repeated specs ------------------------------------------

cdef struct Tree:
    Py_ssize_t leaves
    i64* key                # 2 * leaves; key = total << 32 | (2^32 - 1 - row), -1 infeasible
    i64 tt_top, na_top


cdef inline i64 leaf_key(Plan* p, Py_ssize_t s, Py_ssize_t i, Tree* t, bint ports, bint fit) noexcept nogil:
    if not feasible(p, s, i, ports, fit):
        return -1
    return (total_score(p, s, i, t.tt_top, t.na_top) << 32) | (LOW32 - i)


cdef void tree_build(Plan* p, Py_ssize_t s, Tree* t, bint ports, bint fit) noexcept nogil:
    cdef Py_ssize_t i, j, n = p.n
    cdef i64 a, b
    t.tt_top = 0
    t.na_top = 0
    for i in range(n):
        if feasible(p, s, i, ports, fit):
            if p.w_tt and p.spec_tt[s] >= 0 and p.tt_raw[p.spec_tt[s] * n + i] > t.tt_top:
                t.tt_top = p.tt_raw[p.spec_tt[s] * n + i]
            if p.w_na and p.spec_na[s] >= 0 and p.na_raw[p.spec_na[s] * n + i] > t.na_top:
                t.na_top = p.na_raw[p.spec_na[s] * n + i]
    for i in range(t.leaves):
        t.key[t.leaves + i] = leaf_key(p, s, i, t, ports, fit) if i < n else -1
    for j in range(t.leaves - 1, 0, -1):
        a = t.key[2 * j]
        b = t.key[2 * j + 1]
        t.key[j] = a if a > b else b


cdef void tree_update(Plan* p, Py_ssize_t s, Tree* t, Py_ssize_t i, bint ports, bint fit) noexcept nogil:
    cdef i64 old = t.key[t.leaves + i], new, a, b
    cdef Py_ssize_t j
    new = leaf_key(p, s, i, t, ports, fit)
    if new < 0 and old >= 0 and _top_may_drop(p, s, t, i):
        tree_build(p, s, t, ports, fit)     # a normalizing maximum may have changed
        return
    t.key[t.leaves + i] = new
    j = (t.leaves + i) >> 1
    while j >= 1:
        a = t.key[2 * j]
        b = t.key[2 * j + 1]
        t.key[j] = a if a > b else b
        j >>= 1


cdef inline bint _top_may_drop(Plan* p, Py_ssize_t s, Tree* t, Py_ssize_t i) noexcept nogil:
    if p.w_tt and p.spec_tt[s] >= 0 and t.tt_top > 0 and p.tt_raw[p.spec_tt[s] * p.n + i] == t.tt_top:
        return True
    return p.w_na and p.spec_na[s] >= 0 and t.na_top > 0 and p.na_raw[p.spec_na[s] * p.n + i] == t.na_top


# -- entry points --------------------------------------------------------------------

def place(Batch batch, const i64[::1] pod_spec, i64[::1] out_row, i64[::1] out_score,
          i64[:, ::1] out_hist, const i64[::1] tree_slot, i64[:, ::1] trees,
          i64[::1] cursor, u64[::1] rng, bint ports, bint fit, bint random,
          Py_ssize_t to_find):
    """Place the pods in order. ``pod_spec[t]`` is pod t's spec; results go to
    ``out_row`` (-1 unschedulable) and ``out_score``; an unschedulable pod's reason
    counts go to ``out_hist[t]``. Specs with ``tree_slot[s] >= 0`` use the tournament
    tree ``trees[slot]`` (only valid with full scoring and first-row ties).
    ``cursor[0]`` is the round-robin start index (in/out). Returns pods placed."""
    cdef Plan* p = batch.bind()
    cdef Py_ssize_t n = p.n, P = pod_spec.shape[0], t, s, u, i, best, placed = 0
    cdef Py_ssize_t nslots = trees.shape[0], leaves = trees.shape[1] // 2
    cdef i64 total, root
    cdef Scan sc
    cdef Tree* tr = <Tree*>malloc(max(nslots, 1) * sizeof(Tree))
    cdef u8* built = <u8*>malloc(max(nslots, 1))
    cdef i64* owner = <i64*>malloc(max(nslots, 1) * sizeof(i64))
    cdef i64* cand = <i64*>malloc(max(n, 1) * sizeof(i64))
    if tr == NULL or built == NULL or owner == NULL or cand == NULL:
        free(tr); free(built); free(owner); free(cand)
        raise MemoryError()
    sc.ports, sc.fit, sc.random = ports, fit, random
    sc.to_find = to_find
    sc.start = cursor[0]
    sc.cand = cand
    sc.rng = rng[0]
    with nogil:
        for u in range(nslots):
            built[u] = 0
            owner[u] = -1
            tr[u].leaves = leaves
            tr[u].key = &trees[u, 0]
        for t in range(P):
            s = pod_spec[t]
            u = tree_slot[s]
            if u >= 0:
                if not built[u]:
                    tree_build(p, s, &tr[u], ports, fit)
                    built[u] = 1
                    owner[u] = s
                root = tr[u].key[1]
                if root < 0:
                    best = -1
                else:
                    best = LOW32 - (root & LOW32)
                    total = root >> 32
            else:
                best = scan(p, &sc, s, &total)
            if best < 0:
                out_row[t] = -1
                out_score[t] = 0
                _histogram(p, s, &out_hist[t, 0], out_hist.shape[1])
                continue
            commit(p, s, best)
            placed += 1
            out_row[t] = best
            out_score[t] = total
            for u in range(nslots):
                if built[u]:
                    tree_update(p, owner[u], &tr[u], best, ports, fit)
    cursor[0] = sc.start
    rng[0] = sc.rng
    free(tr); free(built); free(owner); free(cand)
    return placed


cdef void _histogram(Plan* p, Py_ssize_t s, i64* hist, Py_ssize_t width) noexcept nogil:
    """Reason counts over all nodes for an unschedulable pod: each failing node adds
    one to each reason of its first failing filter."""
    cdef Py_ssize_t i, r
    cdef int code
    cdef u64 bits
    for r in range(width):
        hist[r] = 0
    for i in range(p.n):
        bits = 0
        code = first_failure(p, s, i, &bits)
        if code < 0:
            continue
        if code != R_RESOURCE0:
            hist[code] += 1
            continue
        for r in range(p.R):
            if bits & ((<u64>1) << r):
                hist[R_RESOURCE0 + r] += 1
        if bits & ((<u64>1) << 63):
            hist[width - 1] += 1


def explain(Batch batch, Py_ssize_t s, u8[::1] out_code, u64[::1] out_bits):
    """Per node: the reason bucket of its first failing filter (255 = passes) and, for
    NodeResourcesFit, the failing resource bits. Returns the number of feasible nodes."""
    cdef Plan* p = batch.bind()
    cdef Py_ssize_t i, ok = 0
    cdef int code
    cdef u64 bits
    with nogil:
        for i in range(p.n):
            bits = 0
            code = first_failure(p, s, i, &bits)
            out_code[i] = 255 if code < 0 else code
            out_bits[i] = bits
            ok += code < 0
    return ok


def score_feasible(Batch batch, Py_ssize_t s, const i64[::1] rows, i64[:, ::1] out):
    """Normalized, unweighted scores of spec s on the given (feasible) rows:
    out[0] TaintToleration, out[1] NodeAffinity, out[2] NodeResourcesFit,
    out[3] BalancedAllocation, out[4] ImageLocality."""
    cdef Plan* p = batch.bind()
    cdef Py_ssize_t k, i, m = rows.shape[0]
    cdef i64 tt_top = 0, na_top = 0
    with nogil:
        for k in range(m):
            i = rows[k]
            if p.spec_tt[s] >= 0 and p.tt_raw[p.spec_tt[s] * p.n + i] > tt_top:
                tt_top = p.tt_raw[p.spec_tt[s] * p.n + i]
            if p.spec_na[s] >= 0 and p.na_raw[p.spec_na[s] * p.n + i] > na_top:
                na_top = p.na_raw[p.spec_na[s] * p.n + i]
        for k in range(m):
            i = rows[k]
            out[0, k] = taint_norm(p, s, i, tt_top) if p.spec_tt[s] >= 0 else 100
            out[1, k] = affinity_norm(p, s, i, na_top) if p.spec_na[s] >= 0 else 0
            out[2, k] = fit_score(p, s, i)
            out[3, k] = balanced_score(p, s, i)
            out[4, k] = p.il_score[p.spec_il[s] * p.n + i] if p.spec_il[s] >= 0 else 0
