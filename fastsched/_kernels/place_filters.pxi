# Filters: NodePorts, NodeResourcesFit, the topology checks, and the first failing filter.
# Included by placement.pyx (one compilation unit: the C compiler inlines across).

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
        if lacks(want, a[r], u[r]):
            bits |= (<u64>1) << r
    if p.spec_missing[s]:
        bits |= (<u64>1) << 63
    return bits


cdef inline bint fits(Plan* p, Py_ssize_t s, Py_ssize_t i) noexcept nogil:
    """NodeResourcesFit's verdict alone: only the columns the spec requests."""
    cdef i64 j, c
    cdef i64* a = p.alloc + i * p.R
    cdef i64* u = p.req + i * p.R
    cdef i64* q = p.spec_filter + s * p.R
    if p.spec_missing[s]:
        return False
    for j in range(p.fcol_off[s], p.fcol_off[s + 1]):
        c = p.fcol[j]
        if exceeds(q[c], a[c], u[c]):
            return False
    return True


cdef inline bint has_topology(Plan* p, Py_ssize_t s) noexcept nogil:
    return p.topo_on and (p.tchk_off[s + 1] > p.tchk_off[s] or p.tsoft_off[s + 1] > p.tsoft_off[s]
                          or p.taff_off[s + 1] > p.taff_off[s])


cdef void topo_prepare(Plan* p, Py_ssize_t s) noexcept nogil:
    """Per pod, before its filters run: PodTopologySpread's global minimum per hard
    constraint, and whether InterPodAffinity's first-pod rule applies."""
    cdef Py_ssize_t k, d, c
    cdef i64 low, domains, count
    cdef const i64* row
    cdef bint none_match = True
    for k in range(p.tchk_off[s], p.tchk_off[s + 1]):
        row = p.tchk + 5 * k
        c = row[1]
        if row[0] == T_SPREAD:
            low = 2147483647
            domains = 0
            for d in range(p.ctr_off[c], p.ctr_off[c + 1]):
                if p.ctr_dmask[d]:
                    domains += 1
                    count = p.ctr_counts[d]
                    if count < low:
                        low = count
            if domains < (row[3] if row[3] > 0 else 1):
                low = 0              # fewer domains than minDomains (unset: 1)
            p.gmin[k] = low
        elif row[0] == T_AFFINITY and p.ctr_total[c] > 0:
            none_match = False
    # No pod anywhere matches the pod's affinity terms, and it matches them itself:
    # it may be the first of its group.
    p.aff_free = none_match and p.aff_self[s]


cdef inline int topo_failure(Plan* p, Py_ssize_t s, Py_ssize_t i, bint spread,
                             bint interpod) noexcept nogil:
    """The reason of the first failing PodTopologySpread / InterPodAffinity check of
    node i (in that order unless only one is asked for), or -1."""
    cdef Py_ssize_t k, n = p.n
    cdef i64 c, d
    cdef const i64* row
    cdef bint satisfied = True
    if spread:
        for k in range(p.tchk_off[s], p.tchk_off[s + 1]):
            row = p.tchk + 5 * k
            if row[0] != T_SPREAD:
                continue
            d = p.ctr_dom[row[1] * n + i]
            if d < 0:
                return R_SPREAD_LABEL
            if p.ctr_counts[p.ctr_off[row[1]] + d] + row[4] - p.gmin[k] > row[2]:
                return R_SPREAD
    if interpod:
        for k in range(p.tchk_off[s], p.tchk_off[s + 1]):
            row = p.tchk + 5 * k
            if row[0] == T_AFFINITY:
                d = p.ctr_dom[row[1] * n + i]
                if d < 0:
                    return R_POD_AFFINITY     # every topology key must be on the node
                if p.ctr_counts[p.ctr_off[row[1]] + d] <= 0:
                    satisfied = False
        if not satisfied and not p.aff_free:
            return R_POD_AFFINITY
        for k in range(p.tchk_off[s], p.tchk_off[s + 1]):
            row = p.tchk + 5 * k
            if row[0] == T_ANTI:
                d = p.ctr_dom[row[1] * n + i]
                if d >= 0 and p.ctr_counts[p.ctr_off[row[1]] + d] > 0:
                    return R_POD_ANTI
        for k in range(p.tchk_off[s], p.tchk_off[s + 1]):
            row = p.tchk + 5 * k
            if row[0] == T_EXISTING:
                d = p.ctr_dom[row[1] * n + i]
                if d >= 0 and p.ctr_counts[p.ctr_off[row[1]] + d] > 0:
                    return R_EXISTING_ANTI
    return -1


cdef inline bint feasible(Plan* p, Py_ssize_t s, Py_ssize_t i, bint ports, bint fit) noexcept nogil:
    cdef i64 m = p.spec_mask[s]
    if m >= 0 and p.masks[m * p.n + i]:
        return False
    if ports and not ports_free(p, s, i):
        return False
    if fit and not fits(p, s, i):
        return False
    return p.tchk_off[s + 1] == p.tchk_off[s] or topo_failure(p, s, i, True, True) < 0


cdef int first_failure(Plan* p, Py_ssize_t s, Py_ssize_t i, u64* bits) noexcept nogil:
    """The reason bucket of the first filter (in profile order) that rejects node i,
    or -1; for NodeResourcesFit ``bits`` gets the failing resource bits."""
    cdef i64 m = p.spec_mask[s]
    cdef u8 static = p.masks[m * p.n + i] if m >= 0 else 0
    cdef Py_ssize_t f
    cdef i64 code
    cdef int topo
    cdef u64 b
    if static & S_PREFILTER:
        return R_PREFILTER
    for f in range(p.nfilters):
        code = p.filters[f]
        if code == F_UNSCHEDULABLE and static & S_UNSCHEDULABLE:
            return R_UNSCHEDULABLE
        if code == F_NODE_NAME and static & S_NODE_NAME:
            return R_NODE_NAME
        if code == F_TAINTS and static & S_TAINTS:
            return R_TAINTS
        if code == F_AFFINITY and static & S_ADDED_AFFINITY:
            return R_ADDED_AFFINITY
        if code == F_AFFINITY and static & S_AFFINITY:
            return R_AFFINITY
        if code == F_PORTS and not ports_free(p, s, i):
            return R_PORTS
        if code == F_FIT:
            b = fit_bits(p, s, i)
            if b:
                bits[0] = b
                return R_RESOURCE0
        if code == F_SPREAD or code == F_INTERPOD:
            topo = topo_failure(p, s, i, code == F_SPREAD, code == F_INTERPOD)
            if topo >= 0:
                return topo
    return -1


