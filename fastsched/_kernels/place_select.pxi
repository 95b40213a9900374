# Selection: the scan state, the per-spec filter inputs, the AVX2 and scalar fast scans.
# Included by placement.pyx (one compilation unit: the C compiler inlines across).

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
    i64* spread              # scratch, n entries: topology scores of the candidates
    i64* interpod
    i64* mark                # scratch, one per counter domain
    u8* tmask                # scratch, n entries: static or topology failures this pod
    u8* dtable               # scratch, one per counter domain + 1
    double* extra            # scratch, n entries: normalized scores this pod
    u64 rng


cdef inline void consider(Scan* sc, Py_ssize_t i, i64 total, i64* best_key,
                          Py_ssize_t* best, i64* ties) noexcept nogil:
    """Keep the best total; ties go to the lowest row, or (random) to a uniform pick
    by reservoir sampling: the c-th maximum replaces the choice with probability 1/c."""
    if total > best_key[0]:
        best_key[0], best[0], ties[0] = total, i, 1
    elif total == best_key[0]:
        if sc.random:
            ties[0] += 1
            if next_random(&sc.rng) % <u64>ties[0] == 0:
                best[0] = i
        elif i < best[0]:
            best[0] = i       # rotation can visit a lower row later: keep the lowest


# The filter inputs of one spec, by value (see Fast): static bits, resource demands.
cdef struct Filter:
    const u8* mask           # static failure bits, or NULL when there are none
    const i64* alloc
    const i64* req
    Py_ssize_t R
    i64 w0, w1, w2, w3       # demands on columns 0-3; INT64_MIN where not requested
    bint native              # every demanded column is one of 0-3
    const i64* want
    const i64* cols
    Py_ssize_t ncols         # -1: a resource no node has, nothing fits


cdef inline Filter make_filter(Plan* p, Py_ssize_t s, bint fit) noexcept nogil:
    cdef Filter g
    cdef Py_ssize_t j
    cdef i64 c
    g.mask = p.masks + p.spec_mask[s] * p.n if p.spec_mask[s] >= 0 else NULL
    g.alloc, g.req, g.R = p.alloc, p.req, p.R
    g.want = p.spec_filter + s * p.R
    g.cols = p.fcol + p.fcol_off[s]
    g.ncols = p.fcol_off[s + 1] - p.fcol_off[s] if fit else 0
    if fit and p.spec_missing[s]:
        g.ncols = -1
    g.w0 = g.w1 = g.w2 = g.w3 = INT64_MIN
    g.native = p.R >= 4
    for j in range(max(g.ncols, 0)):
        c = g.cols[j]
        # A column the pod does not request never fails, even when overcommitted.
        if c == 0:
            g.w0 = g.want[0]
        elif c == 1:
            g.w1 = g.want[1]
        elif c == 2:
            g.w2 = g.want[2]
        elif c == 3:
            g.w3 = g.want[3]
        else:
            g.native = False
    return g


cdef inline bint passes(const Filter g, Py_ssize_t i) noexcept nogil:
    cdef const i64* a
    cdef const i64* u
    cdef Py_ssize_t j
    cdef i64 c
    if g.mask != NULL and g.mask[i]:
        return False
    if g.ncols < 0:
        return False
    a = g.alloc + i * g.R
    u = g.req + i * g.R
    if g.native:
        return not (exceeds(g.w0, a[0], u[0]) or exceeds(g.w1, a[1], u[1])
                    or exceeds(g.w2, a[2], u[2]) or exceeds(g.w3, a[3], u[3]))
    for j in range(g.ncols):
        c = g.cols[j]
        if exceeds(g.want[c], a[c], u[c]):
            return False
    return True


cdef Py_ssize_t simd_best(Plan* p, Fast* f, Filter* g, Py_ssize_t k, i64* best_key,
                          const double* extra=NULL, bint with_base=True,
                          const i32* extra_dom=NULL, const double* extra_table=NULL) noexcept nogil:
    """Rows [0, k) through the AVX2 scan (k a multiple of 4)."""
    cdef fs_columns c
    cdef fs_spec q
    cdef double top
    cdef Py_ssize_t n = p.n, best
    cdef double* soa = p.soa
    c.a0, c.a1 = soa, soa + n
    c.f0, c.f1, c.f2, c.f3 = soa + 2 * n, soa + 3 * n, soa + 4 * n, soa + 5 * n
    c.u0, c.u1, c.z0, c.z1 = soa + 6 * n, soa + 7 * n, soa + 8 * n, soa + 9 * n
    c.mask = g.mask
    c.extra = extra
    c.extra_dom = extra_dom
    c.extra_table = extra_table
    q.d0 = -INFINITY if g.w0 == INT64_MIN else <double>g.w0
    q.d1 = -INFINITY if g.w1 == INT64_MIN else <double>g.w1
    q.d2 = -INFINITY if g.w2 == INT64_MIN else <double>g.w2
    q.d3 = -INFINITY if g.w3 == INT64_MIN else <double>g.w3
    q.want_cpu, q.want_mem = <double>f.want_cpu, <double>f.want_mem
    q.nz_cpu, q.nz_mem = <double>f.nz_cpu, <double>f.nz_mem
    q.w_cpu, q.w_mem = <double>f.w_cpu, <double>f.w_mem
    q.w_fit, q.w_ba = <double>f.w_fit, <double>f.w_ba
    q.base = <double>(100 * p.w_tt) if with_base else 0.0
    q.ba_skip, q.ba_two = f.ba_skip, f.ba_two
    best = fs_simd_best(k, &c, &q, &top)
    best_key[0] = <i64>top if best >= 0 else -1
    return best


cdef Py_ssize_t scan_fast(Plan* p, View* v, Scan* sc, Py_ssize_t s, i64* best_total) noexcept nogil:
    """``scan`` for a spec whose local scores take fast_total, without host ports:
    everything loop-invariant lives in locals. TaintToleration and NodeAffinity,
    when they need normalizing, take a second pass over the feasible nodes."""
    cdef Py_ssize_t n = p.n, R = p.R, k, i, found = 0, visited = 0, best = -1
    cdef Py_ssize_t start = sc.start, to_find = sc.to_find
    cdef const i64* nz = p.nonzero
    cdef const i64* il = v.il
    cdef const i64* tt = v.tt
    cdef const i64* na = v.na
    cdef i64* cand = sc.cand
    cdef i64 w_il = p.w_il, w_tt = p.w_tt, w_na = p.w_na, base = 100 * p.w_tt
    cdef i64 best_key = -1, ties = 0, total, tt_top = 0, na_top = 0
    cdef bint random = sc.random, normalize = tt != NULL or na != NULL
    cdef Fast f = fast_params(p, v)
    cdef Filter g = make_filter(p, s, sc.fit)
    if g.ncols < 0:
        visited = n
    elif to_find >= n and not random and not normalize:
        # Every node is scored: visit rows in order, so the first maximum is the
        # lowest row, and nothing else needs counting.
        visited = n
        k = 0
        if (p.soa != NULL and g.native and il == NULL
                and f.strategy == LEAST_ALLOCATED):
            k = n - n % 4
            best = simd_best(p, &f, &g, k, &best_key)
        for i in range(k, n):
            if not passes(g, i):
                continue
            total = base + fast_total(f, g.alloc + i * R, g.req + i * R, nz + 2 * i)
            if il != NULL:
                total += w_il * il[i]
            if total > best_key:
                best_key, best = total, i
    else:
        for k in range(n):
            i = start + k
            if i >= n:
                i -= n
            visited += 1
            if not passes(g, i):
                continue
            cand[found] = i
            found += 1
            if tt != NULL and tt[i] > tt_top:
                tt_top = tt[i]
            if na != NULL and na[i] > na_top:
                na_top = na[i]
            if found >= to_find:
                break
        if not normalize:
            base = 100 * w_tt
        for k in range(found):
            i = cand[k]
            total = fast_total(f, g.alloc + i * R, g.req + i * R, nz + 2 * i)
            if il != NULL:
                total += w_il * il[i]
            if tt == NULL:
                total += base
            elif tt_top > 0:
                total += w_tt * (100 - (100 * tt[i]) // tt_top)
            else:
                total += 100 * w_tt
            if na != NULL and na_top > 0:
                total += w_na * ((100 * na[i]) // na_top)
            if total > best_key:
                best_key, best, ties = total, i, 1
            elif total == best_key:
                if random:
                    ties += 1
                    if next_random(&sc.rng) % <u64>ties == 0:
                        best = i
                elif i < best:
                    best = i
    if n:
        sc.start = (start + visited) % n
    best_total[0] = best_key
    return best

