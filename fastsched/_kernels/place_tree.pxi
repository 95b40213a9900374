# The tournament tree that lets repeated specs skip the full scan.
# Included by placement.pyx (one compilation unit: the C compiler inlines across).

# -- the tournament tree for repeated specs ------------------------------------------

cdef struct Tree:
    Py_ssize_t leaves
    Py_ssize_t spec          # -1 until built
    i64* key                 # 2 * leaves; key = total << 32 | (2^32 - 1 - row), -1 infeasible
    i64 tt_top, na_top       # the normalizing maxima over the feasible nodes,
    i64 tt_cnt, na_cnt       # and how many feasible nodes have them


cdef inline i64 leaf_key(Plan* p, View* v, Tree* t, Py_ssize_t i, bint ports, bint fit) noexcept nogil:
    if not feasible(p, t.spec, i, ports, fit):
        return -1
    return (total_score(p, v, i, t.tt_top, t.na_top) << 32) | (LOW32 - i)


cdef void tree_build(Plan* p, View* v, Tree* t, bint ports, bint fit) noexcept nogil:
    cdef Py_ssize_t i, j, n = p.n
    cdef i64 a, b
    t.tt_top = t.na_top = t.tt_cnt = t.na_cnt = 0
    if v.tt != NULL or v.na != NULL:
        for i in range(n):
            if feasible(p, t.spec, i, ports, fit):
                if v.tt != NULL:
                    if v.tt[i] > t.tt_top:
                        t.tt_top, t.tt_cnt = v.tt[i], 1
                    elif v.tt[i] == t.tt_top:
                        t.tt_cnt += 1
                if v.na != NULL:
                    if v.na[i] > t.na_top:
                        t.na_top, t.na_cnt = v.na[i], 1
                    elif v.na[i] == t.na_top:
                        t.na_cnt += 1
    for i in range(t.leaves):
        t.key[t.leaves + i] = leaf_key(p, v, t, i, ports, fit) if i < n else -1
    for j in range(t.leaves - 1, 0, -1):
        a = t.key[2 * j]
        b = t.key[2 * j + 1]
        t.key[j] = a if a > b else b


cdef void tree_update(Plan* p, View* v, Tree* t, Py_ssize_t i, bint ports, bint fit) noexcept nogil:
    # In a tree that is up to date a feasible node's key is >= 0 and an infeasible
    # one's -1; feasibility itself is asked of the filters, since a node rejoining
    # with a count above the old maximum would score below zero until the rebuild.
    cdef i64 old = t.key[t.leaves + i], a, b
    cdef Py_ssize_t j
    cdef bint drop = False, now = feasible(p, t.spec, i, ports, fit)
    if not now and old >= 0:
        # The node left the feasible set: a normalizing maximum drops when it was
        # the last feasible node holding it (every score then changes).
        if v.tt != NULL and v.tt[i] == t.tt_top:
            t.tt_cnt -= 1
            drop = t.tt_top > 0 and t.tt_cnt == 0
        if v.na != NULL and v.na[i] == t.na_top:
            t.na_cnt -= 1
            drop = drop or (t.na_top > 0 and t.na_cnt == 0)
    elif now and old < 0:
        # It joined (requests were freed): a maximum may grow.
        if (v.tt != NULL and v.tt[i] > t.tt_top) or (v.na != NULL and v.na[i] > t.na_top):
            drop = True
        else:
            if v.tt != NULL and v.tt[i] == t.tt_top:
                t.tt_cnt += 1
            if v.na != NULL and v.na[i] == t.na_top:
                t.na_cnt += 1
    if drop:
        tree_build(p, v, t, ports, fit)
        return
    t.key[t.leaves + i] = ((total_score(p, v, i, t.tt_top, t.na_top) << 32) | (LOW32 - i)
                           if now else -1)
    j = (t.leaves + i) >> 1
    while j >= 1:
        a = t.key[2 * j]
        b = t.key[2 * j + 1]
        t.key[j] = a if a > b else b
        j >>= 1
