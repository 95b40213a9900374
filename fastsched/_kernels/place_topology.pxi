# PodTopologySpread and InterPodAffinity scores and masks over candidate nodes.
# Included by placement.pyx (one compilation unit: the C compiler inlines across).

cdef void topo_scores(Plan* p, Py_ssize_t s, const i64* cand, Py_ssize_t m, i64* spread,
                      i64* interpod, i64* mark) noexcept nogil:
    """Normalized PodTopologySpread and InterPodAffinity scores of the candidate rows
    (spec §5.4, §5.5). ``mark`` is scratch, one entry per domain of every counter."""
    cdef Py_ssize_t k, e, n = p.n, i, c
    cdef i64 d, low, high, size, raw
    cdef const i64* row
    cdef double total
    cdef double weight[MAX_TERMS]
    cdef bint lacking, nonempty
    cdef i64 gen
    cdef Py_ssize_t e0 = p.tsoft_off[s], e1 = p.tsoft_off[s + 1]
    cdef Py_ssize_t a0 = p.taff_off[s], a1 = p.taff_off[s + 1]
    # PodTopologySpread: the weight of each constraint from the candidates' domains.
    # Per constraint: its domain column, its counts and its maxSkew - 1, in locals.
    cdef const i32* edom[MAX_TERMS]
    cdef const i64* ecount[MAX_TERMS]
    cdef double eskew[MAX_TERMS]
    cdef bint erequired[MAX_TERMS]
    cdef bint ehost[MAX_TERMS]
    cdef Py_ssize_t ne = min(e1 - e0, MAX_TERMS), q
    if ne == 1 and p.tsoft[4 * e0 + 3] == 0:
        _spread_by_domain(p, e0, cand, m, spread, mark)
    elif ne > 0:
        for q in range(ne):
            row = p.tsoft + 4 * (e0 + q)
            edom[q] = p.ctr_dom + row[0] * n
            ecount[q] = p.ctr_counts + p.ctr_off[row[0]]
            eskew[q] = <double>(row[1] - 1)
            erequired[q] = row[2] != 0
            ehost[q] = row[3] != 0
        # ignored nodes (lacking a required key) are marked -1 now, scored 0 at the end
        for k in range(m):
            i = cand[k]
            spread[k] = 0
            for q in range(ne):
                if erequired[q] and edom[q][i] < 0:
                    spread[k] = -1
                    break
        for q in range(ne):
            size = 0
            lacking = False
            p.mark_gen += 1
            gen = p.mark_gen
            c = p.tsoft[4 * (e0 + q)]
            for k in range(m):
                if spread[k] < 0:
                    continue
                d = edom[q][cand[k]]
                if ehost[q]:
                    size += 1                     # hostname: one domain per node
                elif d < 0:
                    lacking = True                # counted once, as the empty value
                elif mark[p.ctr_off[c] + d] != gen:
                    mark[p.ctr_off[c] + d] = gen
                    size += 1
            weight[q] = log(<double>(size + lacking + 2))
        low, high = INT64_MAX, 0
        for k in range(m):
            if spread[k] < 0:
                continue
            i = cand[k]
            total = 0.0
            for q in range(ne):
                d = edom[q][i]
                if d >= 0:
                    total += <double>ecount[q][d] * weight[q] + eskew[q]
            raw = go_round(total)
            spread[k] = raw
            if raw < low:
                low = raw
            if raw > high:
                high = raw
        for k in range(m):
            if spread[k] < 0:
                spread[k] = 0                     # ignored nodes score 0
            elif high == 0:
                spread[k] = 100
            else:
                spread[k] = 100 * (high + low - spread[k]) // high
    else:
        for k in range(m):
            spread[k] = 0
    # InterPodAffinity: signed counts per term, scaled between the extremes
    nonempty = False
    for e in range(a0, a1):
        if p.ctr_total[p.taff[2 * e]] > 0:
            nonempty = True
    if not nonempty:
        memset(interpod, 0, m * sizeof(i64))
        return
    low, high = INT64_MAX, INT64_MIN
    for k in range(m):
        i = cand[k]
        raw = 0
        for e in range(a0, a1):
            c = p.taff[2 * e]
            d = p.ctr_dom[c * n + i]
            if d >= 0:
                raw += p.taff[2 * e + 1] * p.ctr_counts[p.ctr_off[c] + d]
        interpod[k] = raw
        if raw < low:
            low = raw
        if raw > high:
            high = raw
    for k in range(m):
        if high > low:
            # Go's order: 100 * ((raw - min) / (max - min)), truncated
            interpod[k] = <i64>(100.0 * (<double>(interpod[k] - low) / <double>(high - low)))
        else:
            interpod[k] = 0


cdef void _spread_by_domain(Plan* p, Py_ssize_t e, const i64* cand, Py_ssize_t m,
                            i64* spread, i64* mark) noexcept nogil:
    """PodTopologySpread's score for one constraint on a key other than the hostname:
    a node's raw score depends on its domain only, so it is computed once per domain
    (cached in ``mark`` as -(raw + 1)), with the same arithmetic as topo_scores."""
    cdef const i64* row = p.tsoft + 4 * e
    cdef Py_ssize_t n = p.n, k, c = row[0]
    cdef const i32* dom = p.ctr_dom + c * n
    cdef const i64* count = p.ctr_counts + p.ctr_off[c]
    cdef i64* seen = mark + p.ctr_off[c]
    cdef bint required = row[2] != 0, lacking = False
    cdef i64 d, size = 0, gen, raw, low = INT64_MAX, high = 0
    cdef double weight, skew = <double>(row[1] - 1)
    p.mark_gen += 1
    gen = p.mark_gen
    for k in range(m):
        d = dom[cand[k]]
        if d < 0:
            lacking = True
        elif seen[d] != gen:
            seen[d] = gen
            size += 1
    # A node lacking a required key is ignored; otherwise it counts once as the
    # empty value for the size, and its raw score is 0.
    lacking = lacking and not required
    weight = log(<double>(size + lacking + 2))
    if lacking:
        low = 0
    for k in range(m):
        d = dom[cand[k]]
        if d >= 0 and seen[d] == gen:
            raw = go_round(<double>count[d] * weight + skew)
            seen[d] = -(raw + 1)
            if raw < low:
                low = raw
            if raw > high:
                high = raw
    for k in range(m):
        d = dom[cand[k]]
        if d < 0 and required:
            spread[k] = 0                         # ignored
            continue
        raw = -seen[d] - 1 if d >= 0 else 0
        spread[k] = 100 if high == 0 else 100 * (high + low - raw) // high


cdef inline i64 go_round(double x) noexcept nogil:
    """Round half away from zero (Go's math.Round) for |x| < 2^52, without libm."""
    cdef i64 t = <i64>x                  # truncation toward zero
    cdef double rest = x - <double>t     # exact for such x
    if rest >= 0.5:
        return t + 1
    if rest <= -0.5:
        return t - 1
    return t


cdef void topo_mask(Plan* p, Py_ssize_t s, u8* tm) noexcept nogil:
    """Set tm[i] where a topology check rejects node i: the same verdicts as
    topo_failure, one check at a time over all nodes."""
    cdef Py_ssize_t k, i, n = p.n
    cdef const i64* row
    cdef const i32* dom
    cdef const i64* counts
    cdef i64 d, limit
    cdef bint free
    for k in range(p.tchk_off[s], p.tchk_off[s + 1]):
        row = p.tchk + 5 * k
        counts = p.ctr_counts + p.ctr_off[row[1]]
        dom = p.ctr_dom + row[1] * n
        if row[0] == T_SPREAD:
            limit = row[2] + p.gmin[k] - row[4]      # fails when count > limit
            for i in range(n):
                d = dom[i]
                tm[i] |= d < 0 or counts[d if d >= 0 else 0] > limit
        elif row[0] == T_AFFINITY:
            free = p.aff_free
            for i in range(n):
                d = dom[i]
                tm[i] |= d < 0 or (counts[d if d >= 0 else 0] <= 0 and not free)
        else:                       # the pod's or existing pods' anti-affinity
            for i in range(n):
                d = dom[i]
                tm[i] |= d >= 0 and counts[d if d >= 0 else 0] > 0


