# The full scans: masked (topology), per-domain spread, and the general one.
# Included by placement.pyx (one compilation unit: the C compiler inlines across).

cdef inline bint _native_demands(Plan* p, Py_ssize_t s, bint fit) noexcept nogil:
    """The spec demands no column past the native four (what the AVX2 scan checks)."""
    cdef Filter g = make_filter(p, s, fit)
    return g.native


cdef Py_ssize_t _scan_domain_spread(Plan* p, View* v, Scan* sc, Py_ssize_t s, Filter* gp,
                                    Fast* fp, i64* best_total) noexcept nogil:
    """scan_masked when the only normalized score is one spread constraint on a key
    other than the hostname (the mask is ready in sc.tmask): its score depends on the
    node's domain alone, so one pass finds the domains holding feasible nodes, the
    normalized score is computed per domain, and the AVX2 pass gathers it per node."""
    cdef Py_ssize_t n = p.n, R = p.R, i, k4, best = -1, e = p.tsoft_off[s]
    cdef const i64* row = p.tsoft + 4 * e
    cdef Py_ssize_t c = row[0]
    cdef const i32* dom = p.ctr_dom + c * n
    cdef const i64* count = p.ctr_counts + p.ctr_off[c]
    cdef Py_ssize_t width = p.ctr_off[c + 1] - p.ctr_off[c], d
    cdef u8* present = sc.dtable                 # index dom + 1
    cdef double* table = sc.extra                # index dom + 1 (n + 1 >= width + 1 here)
    cdef bint required = row[2] != 0, lacking
    cdef i64 size = 0, raw, low = INT64_MAX, high = 0, best_key = -1, total
    cdef double weight, skew = <double>(row[1] - 1)
    cdef Filter g = gp[0]
    cdef u8* tm = sc.tmask
    memset(present, 0, width + 1)
    for i in range(n):
        if not tm[i] and passes(g, i):
            present[dom[i] + 1] = 1
    lacking = present[0] and not required     # counts once, as the empty value
    for d in range(width):
        size += present[d + 1]
    weight = log(<double>(size + lacking + 2))
    if lacking:
        low = 0
    for d in range(width):
        if present[d + 1]:
            raw = go_round(<double>count[d] * weight + skew)
            if raw < low:
                low = raw
            if raw > high:
                high = raw
    for d in range(width):
        raw = go_round(<double>count[d] * weight + skew)
        table[d + 1] = <double>(p.w_pts * (100 if high == 0 else 100 * (high + low - raw) // high))
    # nodes without the key: ignored (0) when it is required, else raw 0
    table[0] = 0.0 if required else <double>(p.w_pts * (100 if high == 0 else
                                                          100 * (high + low) // high))
    g.mask = tm
    k4 = n - n % 4
    best = simd_best(p, fp, &g, k4, &best_key, NULL, True, dom, table)
    for i in range(k4, n):
        if tm[i] or not passes(g, i):
            continue
        total = fast_total(fp[0], g.alloc + i * R, g.req + i * R, p.nonzero + 2 * i) + 100 * p.w_tt
        total += <i64>table[dom[i] + 1]
        if total > best_key:
            best_key, best = total, i
    best_total[0] = best_key
    return best


cdef Py_ssize_t scan_masked(Plan* p, View* v, Scan* sc, Py_ssize_t s,
                            i64* best_total) noexcept nogil:
    """A full scan (every node, rows in order) through the AVX2 kernel for a spec
    whose local scores take fast_total but that also has topology checks or scores
    normalized over the feasible nodes: one scalar pass folds the static and topology
    failures into a mask and, when needed, computes the normalized scores of the
    feasible nodes; the AVX2 pass adds them and picks the best."""
    cdef Py_ssize_t n = p.n, R = p.R, k, i, found = 0, best = -1, k4
    cdef Filter g = make_filter(p, s, sc.fit)
    cdef Fast f = fast_params(p, v)
    cdef bint checks = p.tchk_off[s + 1] > p.tchk_off[s]
    cdef bint topo = has_topology(p, s)
    cdef bint topo_scored = (p.tsoft_off[s + 1] > p.tsoft_off[s]
                             or p.taff_off[s + 1] > p.taff_off[s])
    cdef bint norm = topo_scored or v.tt != NULL or v.na != NULL or v.il != NULL
    cdef i64 tt_top = 0, na_top = 0, best_key = -1, total
    cdef u8* tm = sc.tmask
    cdef double* ex = sc.extra
    cdef const u8* static = g.mask
    if g.ncols < 0:
        best_total[0] = -1
        return -1
    if topo:
        topo_prepare(p, s)
    if static != NULL:
        for i in range(n):
            tm[i] = static[i] != 0
    else:
        memset(tm, 0, n)
    if checks:
        topo_mask(p, s, tm)
    cdef const i64* tt = v.tt
    cdef const i64* na = v.na
    cdef const i64* il = v.il
    cdef i64* cand = sc.cand
    cdef i64* spread = sc.spread
    cdef i64* interpod = sc.interpod
    cdef i64 w_tt = p.w_tt, w_na = p.w_na, w_il = p.w_il, w_pts = p.w_pts, w_ipa = p.w_ipa
    if (norm and v.tt == NULL and v.na == NULL and v.il == NULL
            and p.taff_off[s + 1] == p.taff_off[s]
            and p.tsoft_off[s + 1] - p.tsoft_off[s] == 1 and p.tsoft[4 * p.tsoft_off[s] + 3] == 0):
        return _scan_domain_spread(p, v, sc, s, &g, &f, best_total)
    for i in range(n if norm else 0):
        if not tm[i] and passes(g, i):
            cand[found] = i
            found += 1
            if tt != NULL and tt[i] > tt_top:
                tt_top = tt[i]
            if na != NULL and na[i] > na_top:
                na_top = na[i]
    if norm:
        if topo_scored:
            topo_scores(p, s, cand, found, spread, interpod, sc.mark)
        for k in range(found):
            i = cand[k]
            total = w_tt * taint_norm(v, i, tt_top) + w_na * affinity_norm(v, i, na_top)
            if il != NULL:
                total += w_il * il[i]
            if topo_scored:
                total += w_pts * spread[k] + w_ipa * interpod[k]
            ex[i] = <double>total
    g.mask = tm
    k4 = n - n % 4
    best = simd_best(p, &f, &g, k4, &best_key, ex if norm else NULL, not norm)
    for i in range(k4, n):
        if tm[i] or not passes(g, i):
            continue
        total = fast_total(f, g.alloc + i * R, g.req + i * R, p.nonzero + 2 * i)
        total += <i64>ex[i] if norm else 100 * p.w_tt
        if total > best_key:
            best_key, best = total, i
    best_total[0] = best_key
    return best


cdef Py_ssize_t scan(Plan* p, View* v, Scan* sc, Py_ssize_t s, i64* best_total) noexcept nogil:
    """Filter (from sc.start, round-robin, until sc.to_find nodes pass), score the
    feasible ones and pick the best. Returns the row or -1."""
    cdef Py_ssize_t n = p.n, k, i, found = 0, visited = 0, best = -1
    cdef i64 tt_top = 0, na_top = 0, best_key = -1, ties = 0, total
    cdef bint topo = has_topology(p, s)
    cdef bint ports_here = sc.ports and p.chk_off[s + 1] > p.chk_off[s]
    if v.fast and not ports_here:
        if topo or v.tt != NULL or v.na != NULL or v.il != NULL:
            if (p.soa != NULL and sc.to_find >= n and not sc.random
                    and p.strategy == LEAST_ALLOCATED and p.R >= 4
                    and _native_demands(p, s, sc.fit)):
                return scan_masked(p, v, sc, s, best_total)
        if not topo:
            return scan_fast(p, v, sc, s, best_total)
    cdef Filter g = make_filter(p, s, sc.fit)
    cdef bint ports = sc.ports and p.chk_off[s + 1] > p.chk_off[s]
    cdef bint checks = p.tchk_off[s + 1] > p.tchk_off[s]
    cdef Fast f
    if topo:
        topo_prepare(p, s)
    # Filter first (the normalizing maxima need every feasible node), then score.
    for k in range(n):
        i = sc.start + k
        if i >= n:
            i -= n
        visited += 1
        if not passes(g, i):
            continue
        if ports and not ports_free(p, s, i):
            continue
        if checks and topo_failure(p, s, i, True, True) >= 0:
            continue
        sc.cand[found] = i
        found += 1
        if v.tt != NULL and v.tt[i] > tt_top:
            tt_top = v.tt[i]
        if v.na != NULL and v.na[i] > na_top:
            na_top = v.na[i]
        if found >= sc.to_find:
            break
    if topo:
        topo_scores(p, s, sc.cand, found, sc.spread, sc.interpod, sc.mark)
    if v.fast:
        f = fast_params(p, v)
    for k in range(found):
        i = sc.cand[k]
        if v.fast:
            total = fast_total(f, p.alloc + i * p.R, p.req + i * p.R, p.nonzero + 2 * i)
            if v.il != NULL:
                total += p.w_il * v.il[i]
        else:
            total = local_total(p, v, i)
        total += p.w_tt * taint_norm(v, i, tt_top) + p.w_na * affinity_norm(v, i, na_top)
        if topo:
            total += p.w_pts * sc.spread[k] + p.w_ipa * sc.interpod[k]
        consider(sc, i, total, &best_key, &best, &ties)
    if n:
        sc.start = (sc.start + visited) % n
    best_total[0] = best_key
    return best


