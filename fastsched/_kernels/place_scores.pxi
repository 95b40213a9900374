# Scores: NodeResourcesFit's strategies, BalancedAllocation, the normalized taint and node-affinity scores, and the commit.
# Included by placement.pyx (one compilation unit: the C compiler inlines across).

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


cdef inline i64 floor_div(i64 x, i64 a, double inv) noexcept nogil:
    """x // a for 0 <= x, 0 < a, without an integer division: a float estimate off by
    at most one (x // a <= 10^4 here), then corrected exactly in integers."""
    cdef i64 q = <i64>(<double>x * inv)
    if q * a > x:
        q -= 1
    elif (q + 1) * a <= x:
        q += 1
    return q


cdef struct Term:
    i64* alloc               # allocatable column (stride R)
    double* inv              # 1 / allocatable column (stride R)
    i64* used                # requested column: real (stride R) or scoring variant (stride 2)
    Py_ssize_t stride
    i64 want                 # the pod's amount
    i64 weight


# One spec's scoring inputs, resolved to column pointers once per kernel call.
cdef struct View:
    Py_ssize_t R
    Term fit[MAX_TERMS]
    Py_ssize_t nfit
    i64 wsum                 # the mean's denominator when no resource is skipped
    double inv_wsum
    Term ba[MAX_TERMS]
    Py_ssize_t nba
    bint ba_skip
    bint fast                # cpu/memory only, LeastAllocated or MostAllocated: see fast_total
    i64 want_cpu, want_mem, nz_cpu, nz_mem, w_cpu, w_mem
    bint ba_cpu, ba_mem
    i64* tt                  # raw TaintToleration row, or NULL
    i64* na                  # raw NodeAffinity row, or NULL
    i64* il                  # ImageLocality row, or NULL


cdef void make_view(Plan* p, Py_ssize_t s, View* v) noexcept nogil:
    cdef Py_ssize_t k, nz
    cdef i64 col, want
    cdef Term* t
    v.R = p.R
    v.nfit = 0
    v.wsum = 0
    for k in range(p.K):
        col = p.fit_col[k]
        if col < 0 or v.nfit >= MAX_TERMS:
            continue          # no node offers it: always skipped
        nz = p.fit_nz[k]
        want = p.spec_nz[s * 2 + nz] if nz >= 0 else p.spec_req[s * p.R + col]
        if nz < 0 and p.fit_scalar[k] and want == 0:
            continue          # a scalar resource the pod does not use (spec §4)
        t = &v.fit[v.nfit]
        t.alloc = p.alloc + col
        t.inv = p.inv_alloc + col
        # cpu and memory score with the scoring variant (100m / 200Mi defaults)
        t.used = p.nonzero + nz if nz >= 0 else p.req + col
        t.stride = 2 if nz >= 0 else p.R
        t.want = want
        t.weight = p.fit_w[k]
        v.wsum += t.weight
        v.nfit += 1
    v.inv_wsum = p.inv_den[v.wsum]
    v.nba = 0
    v.ba_skip = p.spec_ba_skip[s]
    for k in range(p.B):
        col = p.ba_col[k]
        if col < 0 or v.nba >= MAX_TERMS:
            continue
        want = p.spec_req[s * p.R + col]
        if p.ba_scalar[k] and want == 0:
            continue
        t = &v.ba[v.nba]
        t.alloc = p.alloc + col
        t.used = p.req + col
        t.stride = p.R
        t.want = want
        v.nba += 1
    _fast_view(p, s, v)
    v.tt = p.tt_raw + p.spec_tt[s] * p.n if p.w_tt and p.spec_tt[s] >= 0 else NULL
    v.na = p.na_raw + p.spec_na[s] * p.n if p.w_na and p.spec_na[s] >= 0 else NULL
    v.il = p.il_score + p.spec_il[s] * p.n if p.w_il and p.spec_il[s] >= 0 else NULL


cdef void _fast_view(Plan* p, Py_ssize_t s, View* v) noexcept nogil:
    """Whether node i's local score can take the straight-line path of fast_total:
    the resource score and BalancedAllocation read only cpu (column 0) and memory
    (column 1), the strategy is LeastAllocated or MostAllocated, and allocatable
    cpu/memory stay below 2^46 (so that 100 * allocatable is exact in a double)."""
    cdef Py_ssize_t k
    v.fast = p.small_alloc and p.strategy != REQUESTED_TO_CAPACITY_RATIO
    v.w_cpu = v.w_mem = 0
    v.nz_cpu = p.spec_nz[s * 2]
    v.nz_mem = p.spec_nz[s * 2 + 1]
    v.want_cpu = p.spec_req[s * p.R]
    v.want_mem = p.spec_req[s * p.R + 1]
    for k in range(v.nfit):
        if v.fit[k].used == p.nonzero:
            v.w_cpu += v.fit[k].weight
        elif v.fit[k].used == p.nonzero + 1:
            v.w_mem += v.fit[k].weight
        else:
            v.fast = False
    v.ba_cpu = v.ba_mem = False
    for k in range(v.nba):
        if v.ba[k].used == p.req:
            v.ba_cpu = True
        elif v.ba[k].used == p.req + 1:
            v.ba_mem = True
        else:
            v.fast = False
    if v.nba != <Py_ssize_t>v.ba_cpu + <Py_ssize_t>v.ba_mem:
        v.fast = False


# Loop-invariant inputs of fast_total, passed by value: the compiler may keep them in
# registers (writes through i64 pointers could alias fields read through a pointer).
cdef struct Fast:
    int strategy
    i64 nz_cpu, nz_mem, want_cpu, want_mem, w_cpu, w_mem, w_fit, w_ba, w_il
    bint ba_two, ba_skip
    i64 wsum
    u64 magic                # ceil(2^40 / wsum): x // wsum == (x * magic) >> 40 here


cdef inline Fast fast_params(Plan* p, View* v) noexcept nogil:
    cdef Fast f
    f.strategy = p.strategy
    f.nz_cpu, f.nz_mem = v.nz_cpu, v.nz_mem
    f.want_cpu, f.want_mem = v.want_cpu, v.want_mem
    f.w_cpu, f.w_mem = v.w_cpu, v.w_mem
    f.w_fit, f.w_ba, f.w_il = p.w_fit, p.w_ba, p.w_il
    f.ba_two = v.ba_cpu and v.ba_mem
    f.ba_skip = v.ba_skip
    f.wsum = v.w_cpu + v.w_mem
    f.magic = ((<u64>1 << 40) + <u64>f.wsum - 1) // <u64>f.wsum if f.wsum > 0 else 0
    return f


cdef inline i64 pct(i64 x, i64 a) noexcept nogil:
    """x * 100 // a for 0 <= x <= a. An integer division: the float divider is busy
    with BalancedAllocation's fractions, and the two units work in parallel
    (measured: faster than a float division or a reciprocal with correction)."""
    return (x * 100) // a


cdef inline i64 fast_total(const Fast f, const i64* a, const i64* u,
                           const i64* nz) noexcept nogil:
    """``local_total`` for the common case (see _fast_view), straight-line, for one
    node's rows of allocatable ``a``, requested ``u`` and scoring-requested ``nz``."""
    cdef i64 ac = a[0], am = a[1], qc, qm, sc = 0, sm = 0, den, fit = 0, ba = 100
    cdef double fc, fm
    qc = nz[0] + f.nz_cpu
    qm = nz[1] + f.nz_mem
    if ac > 0:
        if f.strategy == LEAST_ALLOCATED:
            sc = pct(ac - qc, ac) if qc <= ac else 0
        else:
            sc = pct(qc if qc < ac else ac, ac)
    if am > 0:
        if f.strategy == LEAST_ALLOCATED:
            sm = pct(am - qm, am) if qm <= am else 0
        else:
            sm = pct(qm if qm < am else am, am)
    if ac > 0 and am > 0:
        # x // wsum as a multiply: exact for x < 2^40 / wsum (x <= 100 * wsum here)
        fit = <i64>((<u64>(sc * f.w_cpu + sm * f.w_mem) * f.magic) >> 40)
    else:
        den = (f.w_cpu if ac > 0 else 0) + (f.w_mem if am > 0 else 0)
        if den:
            fit = (sc * f.w_cpu * (ac > 0) + sm * f.w_mem * (am > 0)) // den
    if f.ba_skip:
        ba = 0
    elif f.ba_two and ac > 0 and am > 0:
        fc = <double>(u[0] + f.want_cpu) / <double>ac
        fm = <double>(u[1] + f.want_mem) / <double>am
        if fc > 1.0:
            fc = 1.0
        if fm > 1.0:
            fm = 1.0
        ba = <i64>((1.0 - fabs((fc - fm) / 2.0)) * 100.0)
    return f.w_fit * fit + f.w_ba * ba


cdef inline i64 fit_score(Plan* p, View* v, Py_ssize_t i) noexcept nogil:
    """NodeResourcesFit score (spec §4.1–4.3) of node i."""
    cdef Py_ssize_t k
    cdef i64 a, q, score, util, num = 0, den = 0
    cdef Term* t
    for k in range(v.nfit):
        t = &v.fit[k]
        a = t.alloc[i * v.R]
        if a == 0:
            continue          # the node does not have it
        q = t.used[i * t.stride] + t.want
        if p.strategy == LEAST_ALLOCATED:
            score = 0 if q > a else floor_div((a - q) * 100, a, t.inv[i * v.R])
        elif p.strategy == MOST_ALLOCATED:
            score = floor_div((q if q < a else a) * 100, a, t.inv[i * v.R])
        else:
            util = 100 if q > a else floor_div(q * 100, a, t.inv[i * v.R])
            score = shape_at(p, util)
            if score <= 0:
                continue      # only positive scores enter the weighted mean
        num += score * t.weight
        den += t.weight
    if den == 0:
        return 0
    if p.strategy == REQUESTED_TO_CAPACITY_RATIO:
        return (2 * num + den) // (2 * den)       # round half away from zero
    if den == v.wsum:
        return floor_div(num, den, v.inv_wsum)
    return floor_div(num, den, p.inv_den[den])


cdef inline i64 balanced_score(View* v, Py_ssize_t i) noexcept nogil:
    """NodeResourcesBalancedAllocation (≤ v1.35), in Go's float64 order of operations."""
    cdef double fr[MAX_TERMS]
    cdef double f, total = 0.0, mean, acc, std = 0.0
    cdef Py_ssize_t k, cnt = 0
    cdef i64 a
    cdef Term* t
    if v.ba_skip:
        return 0
    for k in range(v.nba):
        t = &v.ba[k]
        a = t.alloc[i * v.R]
        if a == 0:
            continue
        f = <double>(t.used[i * v.R] + t.want) / <double>a
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
        for k in range(cnt):
            acc = acc + (fr[k] - mean) * (fr[k] - mean)
        std = sqrt(acc / <double>cnt)
    return <i64>((1.0 - std) * 100.0)


cdef inline i64 local_total(Plan* p, View* v, Py_ssize_t i) noexcept nogil:
    """The weighted scores that depend on node i alone (no normalization)."""
    cdef i64 total = 0
    if v.fast:
        return (fast_total(fast_params(p, v), p.alloc + i * p.R, p.req + i * p.R,
                           p.nonzero + 2 * i)
                + (p.w_il * v.il[i] if v.il != NULL else 0))
    if p.w_fit:
        total += p.w_fit * fit_score(p, v, i)
    if p.w_ba:
        total += p.w_ba * balanced_score(v, i)
    if v.il != NULL:
        total += p.w_il * v.il[i]
    return total


cdef inline i64 taint_norm(View* v, Py_ssize_t i, i64 top) noexcept nogil:
    """TaintToleration, reverse default-normalized against the feasible maximum."""
    if v.tt == NULL or top <= 0:
        return 100
    return 100 - (100 * v.tt[i]) // top


cdef inline i64 affinity_norm(View* v, Py_ssize_t i, i64 top) noexcept nogil:
    if v.na == NULL or top <= 0:
        return 0
    return (100 * v.na[i]) // top


cdef inline i64 total_score(Plan* p, View* v, Py_ssize_t i, i64 tt_top, i64 na_top) noexcept nogil:
    return (local_total(p, v, i) + p.w_tt * taint_norm(v, i, tt_top)
            + p.w_na * affinity_norm(v, i, na_top))


cdef inline void commit(Plan* p, Py_ssize_t s, Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t r, c, n = p.n
    cdef i64 j, d
    if p.soa != NULL:       # rows: a0 a1 | free 0-3 | requested cpu, mem | scoring cpu, mem
        for r in range(4):
            p.soa[(2 + r) * n + i] -= <double>p.spec_req[s * p.R + r]
        p.soa[6 * n + i] += <double>p.spec_req[s * p.R]
        p.soa[7 * n + i] += <double>p.spec_req[s * p.R + 1]
        p.soa[8 * n + i] += <double>p.spec_nz[s * 2]
        p.soa[9 * n + i] += <double>p.spec_nz[s * 2 + 1]
    for r in range(p.R):
        p.req[i * p.R + r] += p.spec_req[s * p.R + r]
    # The scoring sums saturate rather than wrap: a node overcommitted near 2^63 by
    # forced binds scores as full instead of going negative (upstream's int64 wraps).
    for r in range(2):
        if p.nonzero[i * 2 + r] <= INT64_MAX - p.spec_nz[s * 2 + r]:
            p.nonzero[i * 2 + r] += p.spec_nz[s * 2 + r]
        else:
            p.nonzero[i * 2 + r] = INT64_MAX
    for j in range(p.set_off[s], p.set_off[s + 1]):
        p.occ[i * p.T + p.set_col[j]] = 1
    if p.topo_on:
        for c in range(p.C):
            if p.ctr_inc[s * p.C + c] and p.ctr_elig[c * n + i]:
                d = p.ctr_dom[c * n + i]
                if d >= 0:
                    p.ctr_counts[p.ctr_off[c] + d] += 1
                    p.ctr_total[c] += 1


