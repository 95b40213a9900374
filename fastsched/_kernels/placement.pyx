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

from libc.math cimport INFINITY, fabs, log, round, sqrt
from libc.stdint cimport INT64_MAX, INT64_MIN
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from fastsched._kernels.common cimport i32, i64, u8, u64

cdef extern from "simd_scan.h":
    ctypedef struct fs_columns:
        const double* a0
        const double* a1
        const double* f0
        const double* f1
        const double* f2
        const double* f3
        const double* u0
        const double* u1
        const double* z0
        const double* z1
        const u8* mask
        const double* extra
        const i32* extra_dom
        const double* extra_table
    ctypedef struct fs_spec:
        double d0, d1, d2, d3, want_cpu, want_mem, nz_cpu, nz_mem
        double w_cpu, w_mem, w_fit, w_ba, base
        int ba_skip, ba_two
    int fs_simd_available() nogil
    i64 fs_simd_best(i64 n, const fs_columns* c, const fs_spec* s, double* best_total) nogil

SIMD = bool(fs_simd_available())

# Filter plugin codes, in the order a profile lists them.
cdef enum:
    F_UNSCHEDULABLE = 0
    F_NODE_NAME = 1
    F_TAINTS = 2
    F_AFFINITY = 3
    F_PORTS = 4
    F_FIT = 5
    F_SPREAD = 6
    F_INTERPOD = 7

# Reason buckets of the histogram / per-node explanation.
cdef enum:
    R_UNSCHEDULABLE = 0
    R_NODE_NAME = 1
    R_TAINTS = 2
    R_ADDED_AFFINITY = 3
    R_AFFINITY = 4
    R_PORTS = 5
    R_PREFILTER = 6      # excluded by NodeAffinity's PreFilter (metadata.name In)
    R_SPREAD_LABEL = 7   # PodTopologySpread: the node lacks a topology key
    R_SPREAD = 8         # PodTopologySpread: skew above maxSkew
    R_POD_AFFINITY = 9   # InterPodAffinity, in its order: the pod's affinity,
    R_POD_ANTI = 10      # the pod's anti-affinity,
    R_EXISTING_ANTI = 11 # existing pods' anti-affinity
    R_RESOURCE0 = 12     # + resource column (the pods column means "Too many pods")

# Topology checks of a spec (rows of Plan.tchk: kind, counter, a, b, c).
cdef enum:
    T_SPREAD = 0         # a = maxSkew, b = minDomains, c = 1 if the pod matches itself
    T_AFFINITY = 1
    T_ANTI = 2
    T_EXISTING = 3

cdef enum:
    LEAST_ALLOCATED = 0
    MOST_ALLOCATED = 1
    REQUESTED_TO_CAPACITY_RATIO = 2

DEF MAX_TERMS = 16
cdef i64 LOW32 = 0xFFFFFFFF


cdef struct Plan:
    Py_ssize_t n, R, pods_col
    i64* alloc
    i64* req
    i64* nonzero
    double* inv_alloc        # 1 / allocatable (0 where allocatable is 0)
    double* inv_den          # 1 / d for d = 0 .. sum of fit weights
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
    bint small_alloc         # every allocatable cpu and memory below 2^46
    double* soa              # float64 copies for the AVX2 scan (see simd_scan.h), or NULL
    # pod specs
    i64* spec_req
    i64* spec_filter
    i64* fcol_off            # per spec: the columns it requests (> 0) for the fit filter
    i64* fcol
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
    # topology counters: pods matching a selector (or carrying a term) per domain
    Py_ssize_t C
    const i32* ctr_dom       # C x n: domain of each node (-1: lacks the key)
    const u8* ctr_elig       # C x n: whether the node's pods count
    const i64* ctr_off       # C + 1: offsets into ctr_counts
    i64* ctr_counts
    i64* ctr_total           # C: sum of the counts
    const u8* ctr_dmask      # per domain: it has an eligible node
    const u8* ctr_inc        # S x C: a pod of spec s adds to counter c
    const i64* tchk_off      # S + 1
    const i64* tchk          # K x 5: kind, counter, a, b, c
    const u8* aff_self       # S: the pod matches all its own required affinity terms
    const i64* tsoft_off     # S + 1: PodTopologySpread score constraints
    const i64* tsoft         # x 4: counter, maxSkew, key required (else ignored), hostname
    const i64* taff_off      # S + 1: InterPodAffinity score terms
    const i64* taff          # x 2: counter, signed weight
    i64 w_pts, w_ipa
    i64* gmin                # K scratch: PodTopologySpread's global minimum per check
    bint aff_free            # current spec: "first pod of its group" rule applies
    i64 mark_gen             # generation of the scratch marks (see topo_scores)
    bint topo_on             # any spec has topology checks or scores


cdef class Batch:
    """Arrays for one kernel call. Attributes are set by ``fastsched.scheduler``,
    which guarantees dtypes, C-contiguity and shapes; the kernel trusts them."""

    cdef public object alloc, req, nonzero, inv_alloc, inv_den, fcol_off, fcol, soa
    cdef public object filters, fit_col, fit_w, fit_nz, fit_scalar, shape_u, shape_s
    cdef public object ba_col, ba_scalar
    cdef public i64 strategy, w_fit, w_ba, w_tt, w_na, w_il, pods_col, small_alloc
    cdef public object spec_req, spec_filter, spec_nz, spec_missing, spec_ba_skip
    cdef public object spec_mask, masks, spec_tt, tt_raw, spec_na, na_raw, spec_il, il_score
    cdef public object occ, chk_off, chk, set_off, set_col
    cdef public object ctr_dom, ctr_elig, ctr_off, ctr_counts, ctr_total, ctr_dmask, ctr_inc
    cdef public object tchk_off, tchk, aff_self, tsoft_off, tsoft, taff_off, taff, gmin
    cdef public i64 w_pts, w_ipa
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
        p.inv_alloc = _pf64(self.inv_alloc)
        p.inv_den = _pf64(self.inv_den)
        p.fcol_off = _p64(self.fcol_off)
        p.fcol = _p64(self.fcol)
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
        p.B = len(self.ba_col)
        p.ba_col = _p64(self.ba_col)
        p.ba_scalar = _p8(self.ba_scalar)
        p.w_fit, p.w_ba, p.w_tt = self.w_fit, self.w_ba, self.w_tt
        p.w_na, p.w_il = self.w_na, self.w_il
        p.small_alloc = self.small_alloc
        p.soa = _pf64(self.soa) if self.soa is not None else NULL
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
        p.C = len(self.ctr_total)
        p.ctr_dom = _p32(self.ctr_dom)
        p.ctr_elig = _p8(self.ctr_elig)
        p.ctr_off = _p64(self.ctr_off)
        p.ctr_counts = _p64(self.ctr_counts)
        p.ctr_total = _p64(self.ctr_total)
        p.ctr_dmask = _p8(self.ctr_dmask)
        p.ctr_inc = _p8(self.ctr_inc)
        p.tchk_off = _p64(self.tchk_off)
        p.tchk = _p64(self.tchk)
        p.aff_self = _p8(self.aff_self)
        p.tsoft_off = _p64(self.tsoft_off)
        p.tsoft = _p64(self.tsoft)
        p.taff_off = _p64(self.taff_off)
        p.taff = _p64(self.taff)
        p.gmin = _p64(self.gmin)
        p.w_pts, p.w_ipa = self.w_pts, self.w_ipa
        p.aff_free = False
        p.mark_gen = 0
        p.topo_on = self.tchk_off[-1] > 0 or self.tsoft_off[-1] > 0 or self.taff_off[-1] > 0
        return p


cdef i64* _p64(object array) except NULL:
    """The data pointer of a C-contiguous int64 array (at least one element)."""
    cdef i64[::1] flat = array.reshape(-1)
    return &flat[0]


cdef i32* _p32(object array) except NULL:
    cdef i32[::1] flat = array.reshape(-1)
    return &flat[0]


cdef double* _pf64(object array) except NULL:
    cdef double[::1] flat = array.reshape(-1)
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
        if q[c] > a[c] - u[c]:
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
        if code == F_SPREAD or code == F_INTERPOD:
            topo = topo_failure(p, s, i, code == F_SPREAD, code == F_INTERPOD)
            if topo >= 0:
                return topo
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
    p.nonzero[i * 2] += p.spec_nz[s * 2]
    p.nonzero[i * 2 + 1] += p.spec_nz[s * 2 + 1]
    for j in range(p.set_off[s], p.set_off[s + 1]):
        p.occ[i * p.T + p.set_col[j]] = 1
    if p.topo_on:
        for c in range(p.C):
            if p.ctr_inc[s * p.C + c] and p.ctr_elig[c * n + i]:
                d = p.ctr_dom[c * n + i]
                if d >= 0:
                    p.ctr_counts[p.ctr_off[c] + d] += 1
                    p.ctr_total[c] += 1


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
        return not (g.w0 > a[0] - u[0] or g.w1 > a[1] - u[1] or g.w2 > a[2] - u[2]
                    or g.w3 > a[3] - u[3])
    for j in range(g.ncols):
        c = g.cols[j]
        if g.want[c] > a[c] - u[c]:
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
    cdef Py_ssize_t n = p.n, P = pod_spec.shape[0], S = tree_slot.shape[0]
    cdef Py_ssize_t t, s, u, best, placed = 0
    cdef Py_ssize_t nslots = trees.shape[0], leaves = trees.shape[1] // 2
    cdef i64 total = 0, root
    cdef Scan sc
    cdef Tree* tr = <Tree*>malloc(max(nslots, 1) * sizeof(Tree))
    cdef View* views = <View*>malloc(max(S, 1) * sizeof(View))
    cdef i64* cand = <i64*>malloc(max(n, 1) * sizeof(i64) * 3)
    cdef u8* tmask = <u8*>malloc(max(n, 1))
    cdef u8* dtable = <u8*>malloc(max(p.ctr_off[p.C] if p.C else 0, 1) + 1)
    cdef double* extra = <double*>malloc(
        (max(n, p.ctr_off[p.C] if p.C else 0) + 1) * sizeof(double))
    cdef i64 marks = p.ctr_off[p.C] if p.C else 0
    cdef i64* mark = <i64*>malloc(max(marks, 1) * sizeof(i64))
    if (tr == NULL or views == NULL or cand == NULL or mark == NULL or tmask == NULL
            or extra == NULL or dtable == NULL):
        free(tr); free(views); free(cand); free(mark); free(tmask); free(extra); free(dtable)
        raise MemoryError()
    for t in range(marks):
        mark[t] = -1
    sc.ports, sc.fit, sc.random = ports, fit, random
    sc.to_find = to_find
    sc.start = cursor[0]
    sc.cand = cand
    sc.spread = cand + max(n, 1)
    sc.interpod = cand + 2 * max(n, 1)
    sc.mark = mark
    sc.tmask = tmask
    sc.dtable = dtable
    sc.extra = extra
    sc.rng = rng[0]
    with nogil:
        for s in range(S):
            make_view(p, s, &views[s])
        for u in range(nslots):
            tr[u].spec = -1
            tr[u].leaves = leaves
            tr[u].key = &trees[u, 0]
        for t in range(P):
            s = pod_spec[t]
            u = tree_slot[s]
            if u >= 0:
                if tr[u].spec < 0:
                    tr[u].spec = s
                    tree_build(p, &views[s], &tr[u], ports, fit)
                root = tr[u].key[1]
                if root < 0:
                    best = -1
                else:
                    best = LOW32 - (root & LOW32)
                    total = root >> 32
            else:
                best = scan(p, &views[s], &sc, s, &total)
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
                if tr[u].spec >= 0:
                    tree_update(p, &views[tr[u].spec], &tr[u], best, ports, fit)
    cursor[0] = sc.start
    rng[0] = sc.rng
    free(tr); free(views); free(cand); free(mark); free(tmask); free(extra); free(dtable)
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
        topo_prepare(p, s)
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
    out[3] BalancedAllocation, out[4] ImageLocality, out[5] PodTopologySpread,
    out[6] InterPodAffinity."""
    cdef Plan* p = batch.bind()
    cdef Py_ssize_t k, i, m = rows.shape[0]
    cdef i64 tt_top = 0, na_top = 0
    cdef View v
    cdef i64 marks = p.ctr_off[p.C] if p.C else 0
    cdef i64* mark = <i64*>malloc(max(marks, 1) * sizeof(i64))
    if mark == NULL:
        raise MemoryError()
    with nogil:
        for k in range(marks):
            mark[k] = -1
        make_view(p, s, &v)
        # Report every plugin, whatever its weight in the profile.
        v.tt = p.tt_raw + p.spec_tt[s] * p.n if p.spec_tt[s] >= 0 else NULL
        v.na = p.na_raw + p.spec_na[s] * p.n if p.spec_na[s] >= 0 else NULL
        v.il = p.il_score + p.spec_il[s] * p.n if p.spec_il[s] >= 0 else NULL
        for k in range(m):
            i = rows[k]
            if v.tt != NULL and v.tt[i] > tt_top:
                tt_top = v.tt[i]
            if v.na != NULL and v.na[i] > na_top:
                na_top = v.na[i]
        for k in range(m):
            i = rows[k]
            out[0, k] = taint_norm(&v, i, tt_top)
            out[1, k] = affinity_norm(&v, i, na_top)
            out[2, k] = fit_score(p, &v, i)
            out[3, k] = balanced_score(&v, i)
            out[4, k] = v.il[i] if v.il != NULL else 0
        if m:
            topo_scores(p, s, &rows[0], m, &out[5, 0], &out[6, 0], mark)
    free(mark)
