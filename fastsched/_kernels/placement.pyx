"""The placement loop: filter, score, select and commit pods over node columns.

One ``Batch`` holds the cluster's columns (shared with the ``Cluster``: a commit
writes the requested columns in place), the compiled profile and the compiled pod
specs. ``place`` runs a whole pod sequence in one ``nogil`` call; ``explain`` and
``score_feasible`` serve the single-pod ``filter``/``score`` API.

Static failure bits (per node, computed once per spec by the plugins' compile
steps, ``StaticBit`` in common.pxd): NodeUnschedulable, NodeName, TaintToleration,
NodeAffinity's scheduler-enforced affinity, NodeAffinity (selector and required
terms), and outside NodeAffinity's PreFilter result (reported before any filter).
Dynamic filters: NodePorts (occupancy columns), NodeResourcesFit, and the topology
checks. Every code the Python side shares with this kernel is in common.pxd.

The loop is split into includes per concern (place_*.pxi), compiled as one unit.
"""

import numpy as np

from libc.math cimport INFINITY, fabs, log, round, sqrt
from libc.stdint cimport INT64_MAX, INT64_MIN
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memset

from fastsched._kernels.common cimport *     # the typedefs and the shared codes
from fastsched._kernels.resources cimport exceeds, lacks

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
    """Arrays for one kernel call. Attributes are set by ``fastsched.scheduler.compiler``
    and the plugins' compile steps, which guarantee dtypes, C-contiguity and shapes;
    the kernel trusts them."""

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
    cdef bint bound_once

    cdef Plan* kept(self) except NULL:
        """The plan bound on first use and reused (``place_kept``): binding costs
        about as much as placing one pod with a kept tree. Fields set after the
        first call are not seen, so a kept batch is never changed."""
        if not self.bound_once:
            self.bind()
            self.bound_once = True
        self.plan.aff_free = False
        self.plan.mark_gen = 0
        return &self.plan

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


include "place_filters.pxi"
include "place_scores.pxi"
include "place_select.pxi"
include "place_topology.pxi"
include "place_scan.pxi"
include "place_tree.pxi"


# -- entry points --------------------------------------------------------------------

def place(Batch batch, const i64[::1] pod_spec, i64[::1] out_row, i64[::1] out_score,
          Py_ssize_t hist_width, const i64[::1] tree_slot, i64[:, ::1] trees,
          i64[::1] cursor, u64[::1] rng, bint ports, bint fit, bint random,
          Py_ssize_t to_find):
    """Place the pods in order. ``pod_spec[t]`` is pod t's spec; results go to
    ``out_row`` (-1 unschedulable) and ``out_score``. For an unschedulable pod,
    ``out_score[t]`` is instead the row of its reason counts (``hist_width`` each)
    in the returned histogram array: pods of one spec failing with nothing placed
    in between share a row (nothing changed, so neither did the answer), and are
    not scanned again. Specs with ``tree_slot[s] >= 0`` use the tournament tree
    ``trees[slot]`` (only valid with full scoring and first-row ties).
    ``cursor[0]`` is the round-robin start index (in/out). Returns
    ``(pods placed, histograms)``."""
    cdef Plan* p = batch.bind()
    cdef Py_ssize_t n = p.n, P = pod_spec.shape[0], S = tree_slot.shape[0]
    cdef Py_ssize_t t, s, u, best, placed = 0, W = hist_width, nh = 0, hcap = 0
    cdef i64* hbuf = NULL
    cdef i64* grown
    cdef i64* fail_at = <i64*>malloc(max(S, 1) * sizeof(i64))
    cdef i64* fail_row = <i64*>malloc(max(S, 1) * sizeof(i64))
    cdef bint oom = False
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
            or extra == NULL or dtable == NULL or fail_at == NULL or fail_row == NULL):
        free(tr); free(views); free(cand); free(mark); free(tmask); free(extra); free(dtable)
        free(fail_at); free(fail_row)
        raise MemoryError()
    for s in range(S):
        fail_at[s] = -1
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
            elif fail_at[s] == placed:
                best = -1           # failed before with nothing placed since: fails again
            else:
                best = scan(p, &views[s], &sc, s, &total)
            if best < 0:
                out_row[t] = -1
                if fail_at[s] != placed:
                    if nh == hcap:
                        hcap = max(2 * hcap, 16)
                        grown = <i64*>realloc(hbuf, hcap * max(W, 1) * sizeof(i64))
                        if grown == NULL:
                            oom = True
                            break
                        hbuf = grown
                    _histogram(p, s, hbuf + nh * W, W)
                    fail_at[s] = placed
                    fail_row[s] = nh
                    nh += 1
                out_score[t] = fail_row[s]
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
    free(fail_at); free(fail_row)
    hist = np.zeros((nh, W), np.int64)
    cdef i64[:, ::1] hview = hist
    if nh and W:
        memcpy(&hview[0, 0], hbuf, nh * W * sizeof(i64))
    free(hbuf)
    if oom:
        raise MemoryError()
    return placed, hist


def place_kept(Batch batch, Py_ssize_t s, i64[::1] tree, bint built, const i64[::1] dirty,
               bint ports, bint fit, i64[::1] out):
    """Place one pod of spec ``s`` with a tournament tree kept across calls.

    ``tree`` holds ``2 * leaves`` keys and then the two normalizing maxima and
    their counts; with ``built``, it was right except on node rows ``dirty``
    (requests changed since), which are brought up to date first. The pod is
    committed to the best node and the tree updated for it. ``out`` gets the row
    (-1: no node fits, nothing changed) and the total score; returns the row.
    Valid only with every node scored and first-row ties, like ``place``'s trees."""
    cdef Plan* p = batch.kept()
    cdef View v
    cdef Tree t
    cdef Py_ssize_t leaves = (tree.shape[0] - 4) // 2, k, i, best = -1
    cdef i64 root, total = 0
    cdef i64* extra = &tree[2 * leaves]
    with nogil:
        make_view(p, s, &v)
        t.leaves = leaves
        t.spec = s
        t.key = &tree[0]
        if built:
            t.tt_top, t.na_top, t.tt_cnt, t.na_cnt = extra[0], extra[1], extra[2], extra[3]
            for k in range(dirty.shape[0]):
                i = dirty[k]
                if 0 <= i < p.n:
                    tree_update(p, &v, &t, i, ports, fit)
        else:
            tree_build(p, &v, &t, ports, fit)
        root = t.key[1]
        if root >= 0:
            best = LOW32 - (root & LOW32)
            total = root >> 32
            commit(p, s, best)
            tree_update(p, &v, &t, best, ports, fit)
        extra[0], extra[1], extra[2], extra[3] = t.tt_top, t.na_top, t.tt_cnt, t.na_cnt
    out[0] = best
    out[1] = total
    return best


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
    """Per node: the reason bucket of its first failing filter (PASSES = 255) and, for
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
            out_code[i] = PASSES if code < 0 else code
            out_bits[i] = bits
            ok += code < 0
    return ok


def score_feasible(Batch batch, Py_ssize_t s, const i64[::1] rows, i64[:, ::1] out):
    """Normalized, unweighted scores of spec s on the given (feasible) rows, one row
    of ``out`` per score plugin (the ``ScoreRow`` codes of common.pxd)."""
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
            out[<Py_ssize_t>SC_TAINTS, k] = taint_norm(&v, i, tt_top)
            out[<Py_ssize_t>SC_AFFINITY, k] = affinity_norm(&v, i, na_top)
            out[<Py_ssize_t>SC_FIT, k] = fit_score(p, &v, i)
            out[<Py_ssize_t>SC_BALANCED, k] = balanced_score(&v, i)
            out[<Py_ssize_t>SC_IMAGES, k] = v.il[i] if v.il != NULL else 0
        if m:
            topo_scores(p, s, &rows[0], m, &out[<Py_ssize_t>SC_SPREAD, 0],
                        &out[<Py_ssize_t>SC_INTERPOD, 0], mark)
    free(mark)

