# The tournament tree that lets repeated specs skip the full scan.
# Included by placement.pyx (one compilation unit: the C compiler inlines across).

# -- the tournament tree for repeated specs ------------------------------------------

cdef struct Tree:
    Py_ssize_t leaves
    Py_ssize_t spec          # -1 until built
    i64* key                 # 2 * leaves; key = total << 32 | (2^32 - 1 - row), -1 infeasible
    i64 tt_top, na_top


cdef inline i64 leaf_key(Plan* p, View* v, Tree* t, Py_ssize_t i, bint ports, bint fit) noexcept nogil:
    if not feasible(p, t.spec, i, ports, fit):
        return -1
    return (total_score(p, v, i, t.tt_top, t.na_top) << 32) | (LOW32 - i)


cdef void tree_build(Plan* p, View* v, Tree* t, bint ports, bint fit) noexcept nogil:
    cdef Py_ssize_t i, j, n = p.n
    cdef i64 a, b
    t.tt_top = 0
    t.na_top = 0
    if v.tt != NULL or v.na != NULL:
        for i in range(n):
            if feasible(p, t.spec, i, ports, fit):
                if v.tt != NULL and v.tt[i] > t.tt_top:
                    t.tt_top = v.tt[i]
                if v.na != NULL and v.na[i] > t.na_top:
                    t.na_top = v.na[i]
    for i in range(t.leaves):
        t.key[t.leaves + i] = leaf_key(p, v, t, i, ports, fit) if i < n else -1
    for j in range(t.leaves - 1, 0, -1):
        a = t.key[2 * j]
        b = t.key[2 * j + 1]
        t.key[j] = a if a > b else b


cdef void tree_update(Plan* p, View* v, Tree* t, Py_ssize_t i, bint ports, bint fit) noexcept nogil:
    cdef i64 old = t.key[t.leaves + i], new, a, b
    cdef Py_ssize_t j
    new = leaf_key(p, v, t, i, ports, fit)
    if new < 0 and old >= 0 and (
            (v.tt != NULL and t.tt_top > 0 and v.tt[i] == t.tt_top)
            or (v.na != NULL and t.na_top > 0 and v.na[i] == t.na_top)):
        tree_build(p, v, t, ports, fit)     # a normalizing maximum may have dropped
        return
    t.key[t.leaves + i] = new
    j = (t.leaves + i) >> 1
    while j >= 1:
        a = t.key[2 * j]
        b = t.key[2 * j + 1]
        t.key[j] = a if a > b else b
        j >>= 1


