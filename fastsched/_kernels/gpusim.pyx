"""Trace replay on GPU nodes: filter, score, select and bind every task in one call.

The policies are those of Weng et al., "Beware of Fragmentation" (USENIX ATC'23),
as its simulator (hkust-adsl/kubernetes-scheduler-simulator) scores them with
kube-scheduler's framework; ``fastsched/sim/plugins/`` documents each one and
``tests/_gpu_reference.py`` is the plain Python they are tested against.

State is columns owned by the caller and updated in place: cpu and memory left
(``i64[n]``), free milli per device (``i32[n, 8]``), per-node counts of the GPU
"affinity" tags of bound tasks (``i32[n, 9]``: 0 a GPU share, k a task of k whole
GPUs). FGD's node scores are cached per (task shape, node) and recomputed only for
nodes whose state changed since, so a replay costs about one evaluation per node
per distinct shape plus one per bind and shape.
"""

from libc.math cimport exp
from libc.stdlib cimport free, malloc

from fastsched._kernels.common cimport i32, i64, u64

DEF NDEV = 8
DEF NTAG = 9

cdef enum:
    P_RANDOM = 0
    P_DOTPROD = 1
    P_CLUSTERING = 2
    P_PACKING = 3
    P_BESTFIT = 4
    P_FGD = 5

cdef double MAX_SPEC_CPU = 128000.0     # the simulator's normalizers (MaxSpecCpu, MaxSpecGpu)
cdef double MAX_SPEC_GPU = 8000.0

POLICIES = {"Random": P_RANDOM, "DotProd": P_DOTPROD, "GpuClustering": P_CLUSTERING,
            "GpuPacking": P_PACKING, "BestFit": P_BESTFIT, "FGD": P_FGD}


cdef inline u64 _splitmix(u64* state) noexcept nogil:
    state[0] += <u64>0x9E3779B97F4A7C15
    cdef u64 z = state[0]
    z = (z ^ (z >> 30)) * <u64>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <u64>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef inline bint _accessible(i32 model, u64 spec) noexcept nogil:
    # IsNodeAccessibleToPodByType: no constraint passes; a GPU-less node never does
    if spec == 0:
        return True
    if model < 0:
        return False
    return (spec >> model) & 1


cdef inline int _fitting(const i32* g, int ng, i32 milli) noexcept nogil:
    cdef int d, c = 0
    for d in range(ng):
        c += g[d] >= milli
    return c


cdef double _frag(const i32* g, int ng, i64 cpu_left, i32 model,
                  const i64[::1] tcpu, const i32[::1] tnum, const i32[::1] tmilli,
                  const u64[::1] tspec, const double[::1] tp) noexcept nogil:
    """FGD's fragmentation of one node against the target shapes: for each shape,
    the free milli on devices too small for it when the node could host it
    (kube's "Q3", frag.go's NodeGpuShareFragAmount), else all free milli."""
    cdef int d, m
    cdef i64 total = 0, small
    cdef double out = 0.0
    for d in range(ng):
        total += g[d]
    if total == 0:
        return 0.0
    for m in range(tcpu.shape[0]):
        if (tmilli[m] > 0 and _accessible(model, tspec[m]) and cpu_left >= tcpu[m]
                and _fitting(g, ng, tmilli[m]) >= tnum[m]):
            small = 0
            for d in range(ng):
                if g[d] < tmilli[m]:
                    small += g[d]
            out += tp[m] * <double>small
        else:
            out += tp[m] * <double>total
    return out


cdef inline i32 _best_fit_device(const i32* g, int ng, i32 milli) noexcept nogil:
    # the device with the least free milli that fits; the first such on ties
    cdef int d, best = -1
    for d in range(ng):
        if g[d] >= milli and (best < 0 or g[d] < g[best]):
            best = d
    return best


cdef inline u64 _whole_devices(const i32* g, int ng, int num) noexcept nogil:
    # AllocateExclusiveGpuId: the first ``num`` fully free devices
    cdef int d
    cdef u64 mask = 0
    for d in range(ng):
        if num == 0:
            break
        if g[d] == 1000:
            mask |= (<u64>1) << d
            num -= 1
    return mask


cdef i64 _fgd_score(const i32* g, int ng, i64 cpu_left, i32 model, i64 cpu, int num,
                    i32 milli, double before, i32* device,
                    const i64[::1] tcpu, const i32[::1] tnum, const i32[::1] tmilli,
                    const u64[::1] tspec, const double[::1] tp) noexcept nogil:
    """int(100 × sigmoid((frag before − frag after) / 1000)), and for a GPU share the
    device giving the highest such score (the first on ties)."""
    cdef i32 h[NDEV]
    cdef int d, k, left
    cdef i64 score = -1, s
    cdef double after
    for d in range(ng):
        h[d] = g[d]
    device[0] = -1
    if num == 1 and milli < 1000:
        for d in range(ng):
            if g[d] >= milli:
                h[d] = g[d] - milli
                after = _frag(h, ng, cpu_left - cpu, model, tcpu, tnum, tmilli, tspec, tp)
                h[d] = g[d]
                s = <i64>((1.0 / (1.0 + exp(-(before - after) / 1000.0))) * 100.0)
                if device[0] < 0 or s > score:
                    score, device[0] = s, d
        return score
    # whole GPUs (or none): the simulator's NodeResource.Sub takes the fitting devices
    # with the least free first; for whole GPUs those are all fully free, so which
    # ones does not change the fragmentation
    left = num
    for k in range(ng):
        if left == 0:
            break
        if h[k] >= milli and milli > 0:
            h[k] -= milli
            left -= 1
    after = _frag(h, ng, cpu_left - cpu, model, tcpu, tnum, tmilli, tspec, tp)
    return <i64>((1.0 / (1.0 + exp(-(before - after) / 1000.0))) * 100.0)


cdef i64 _packing_score(const i32* g, int ng, int num, i32 milli) noexcept nogil:
    """gpu_packing_score.go: prefer GPUs already in use, then partly used nodes,
    then idle ones."""
    cdef int d, full = 0, need = num, full_used = 0, i, j, t
    cdef int order[NDEV]
    cdef i64 ratio = 0, s
    if num == 0:
        return 0
    for d in range(ng):
        full += g[d] == 1000
    if full == ng:
        s = 100 // 3 - full
        return s if s > full else full
    # devices by free milli ascending, stable (SortedMilliGpuLeftIndexList)
    for d in range(ng):
        order[d] = d
    for i in range(1, ng):
        t = order[i]
        j = i - 1
        while j >= 0 and g[order[j]] > g[t]:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = t
    for i in range(ng):
        if need == 0:
            break
        d = order[i]
        if milli <= g[d]:
            need -= 1
            if g[d] == 1000:
                full_used += 1
            ratio += <i64>g[d] * 100 // 1000
    if full_used > 0:
        s = 100 // 2 - full_used
        return s if s > 100 // 3 else 100 // 3
    s = 100 - ratio // 10
    return s if s > 100 // 2 else 100 // 2


cdef i64 _clustering_score(const i32* g, int ng, const i32* tags, int num, i32 milli) noexcept nogil:
    """gpu_clustering_score.go: tasks of one GPU shape together, in four bands."""
    cdef int t, kinds = 0, tag
    cdef i64 left = 0, base
    if num == 0:
        return 0
    tag = 0 if milli < 1000 else num
    for t in range(NTAG):
        kinds += tags[t] > 0
    for t in range(ng):
        left += g[t]
    if tags[tag] > 0:
        base = 75 if kinds == 1 else 50
    else:
        base = 25 if kinds == 0 else 0
    return 25 * (8000 - left) // 8000 + base


cdef i64 _dotprod_score(i64 cpu_left, i64 gpu_left, i64 cpu, i64 gpu) noexcept nogil:
    # dot_product_score.go with dimExtMethod merge, normMethod max: the smaller the
    # dot product of the free and requested vectors, the higher the score
    cdef double dot = (<double>cpu_left / MAX_SPEC_CPU) * (<double>cpu / MAX_SPEC_CPU) \
        + (<double>gpu_left / MAX_SPEC_GPU) * (<double>gpu / MAX_SPEC_GPU)
    return <i64>(100.0 * (1.0 - dot / 2.0))


cdef i64 _bestfit_raw(i64 cpu_left, i64 gpu_left, i64 cpu, i64 gpu) noexcept nogil:
    # best_fit_score.go before NormalizeScore: 100 × (1 − what would be left, weighted)
    cdef double left = (<double>(cpu_left - cpu)) / MAX_SPEC_CPU * 0.5 \
        + (<double>(gpu_left - gpu)) / MAX_SPEC_GPU * 0.5
    return <i64>((1.0 - left) * 100.0)


cdef class _Sim:
    """A replay's state: the caller's columns (updated in place), the target shapes,
    and the caches; ``select``, ``bind`` and ``unbind`` run without the GIL."""

    cdef int policy
    cdef Py_ssize_t n
    cdef u64 rng
    cdef double cluster_frag
    cdef const i64[::1] cpu_cap
    cdef const i32[::1] ngpu
    cdef const i32[::1] model
    cdef const i64[::1] rank
    cdef i64[::1] cpu_left
    cdef i64[::1] mem_left
    cdef i32[:, ::1] gfree
    cdef i32[:, ::1] tags
    cdef const i64[::1] cpu
    cdef const i64[::1] mem
    cdef const i32[::1] num
    cdef const i32[::1] milli
    cdef const u64[::1] spec
    cdef const i32[::1] shape
    cdef const i64[::1] tcpu
    cdef const i32[::1] tnum
    cdef const i32[::1] tmilli
    cdef const u64[::1] tspec
    cdef const double[::1] tp
    cdef i64* scores
    cdef i32* devs
    cdef char* fit
    # each node's fragmentation (kept current), and FGD's (shape, node) score and device
    cdef double* frag
    cdef i64* version
    cdef i64* cache_score
    cdef i32* cache_dev
    cdef i64* cache_version

    def __cinit__(self, int policy, u64 rng, const i64[::1] cpu_cap, const i32[::1] ngpu,
                  const i32[::1] model, const i64[::1] rank, i64[::1] cpu_left,
                  i64[::1] mem_left, i32[:, ::1] gfree, i32[:, ::1] tags,
                  const i64[::1] cpu, const i64[::1] mem, const i32[::1] num,
                  const i32[::1] milli, const u64[::1] spec, const i32[::1] shape, int nshapes,
                  const i64[::1] tcpu, const i32[::1] tnum, const i32[::1] tmilli,
                  const u64[::1] tspec, const double[::1] tp):
        cdef Py_ssize_t i, n = cpu_cap.shape[0]
        self.policy, self.n, self.rng = policy, n, rng
        self.cpu_cap, self.ngpu, self.model, self.rank = cpu_cap, ngpu, model, rank
        self.cpu_left, self.mem_left, self.gfree, self.tags = cpu_left, mem_left, gfree, tags
        self.cpu, self.mem, self.num, self.milli, self.spec, self.shape = cpu, mem, num, milli, spec, shape
        self.tcpu, self.tnum, self.tmilli, self.tspec, self.tp = tcpu, tnum, tmilli, tspec, tp
        cdef Py_ssize_t cache_n = n * nshapes if policy == P_FGD else 1
        self.scores = <i64*>malloc(n * sizeof(i64))
        self.devs = <i32*>malloc(n * sizeof(i32))
        self.fit = <char*>malloc(n)
        self.frag = <double*>malloc(n * sizeof(double))
        self.version = <i64*>malloc(n * sizeof(i64))
        self.cache_score = <i64*>malloc(cache_n * sizeof(i64))
        self.cache_dev = <i32*>malloc(cache_n * sizeof(i32))
        self.cache_version = <i64*>malloc(cache_n * sizeof(i64))
        if not (self.scores and self.devs and self.fit and self.frag and self.version
                and self.cache_score and self.cache_dev and self.cache_version):
            raise MemoryError()
        self.cluster_frag = 0.0
        for i in range(n):
            self.version[i] = 0
            self.frag[i] = _frag(&gfree[i, 0], ngpu[i], cpu_left[i], model[i], tcpu, tnum,
                                 tmilli, tspec, tp)
            self.cluster_frag += self.frag[i]
        for i in range(cache_n):
            self.cache_version[i] = -1

    def __dealloc__(self):
        free(self.scores); free(self.devs); free(self.fit); free(self.frag)
        free(self.version); free(self.cache_score); free(self.cache_dev)
        free(self.cache_version)

    cdef Py_ssize_t select(self, Py_ssize_t t, i32* device) noexcept nogil:
        """The node task ``t`` goes to under the policy (-1: none fits), and in
        ``device`` the device of a GPU share."""
        cdef Py_ssize_t i, best = -1, n = self.n
        cdef int d, ng, feasible = 0, pick, k
        cdef i64 score, best_score = 0, lo = 1 << 62, hi = -(1 << 62), gl
        cdef i64 req = <i64>self.num[t] * self.milli[t]
        cdef i32 dev
        cdef i32* g
        cdef bint ok, share = self.num[t] == 1 and self.milli[t] < 1000
        for i in range(n):
            ok = self.cpu_left[i] >= self.cpu[t] and self.mem_left[i] >= self.mem[t]
            if ok and self.num[t] > 0:
                ok = (self.ngpu[i] > 0 and _accessible(self.model[i], self.spec[t])
                      and _fitting(&self.gfree[i, 0], self.ngpu[i], self.milli[t]) >= self.num[t])
            self.fit[i] = ok
            feasible += ok
        device[0] = -1
        if feasible == 0:
            return -1
        if self.policy == P_RANDOM:
            # random_score.go's PreScore: one feasible node uniformly at random
            pick = <int>(_splitmix(&self.rng) % <u64>feasible)
            for i in range(n):
                if self.fit[i]:
                    if pick == 0:
                        best = i
                        break
                    pick -= 1
            if share:
                # open_gpu_share.go's random device: uniform over fitting devices
                k = 0
                g = &self.gfree[best, 0]
                for d in range(self.ngpu[best]):
                    if g[d] >= self.milli[t]:
                        k += 1
                        if _splitmix(&self.rng) % <u64>k == 0:
                            device[0] = d
            return best
        for i in range(n):
            if not self.fit[i]:
                continue
            g = &self.gfree[i, 0]
            ng = self.ngpu[i]
            dev = -1
            if self.policy == P_FGD:
                k = self.shape[t] * n + i
                if self.cache_version[k] == self.version[i]:
                    score, dev = self.cache_score[k], self.cache_dev[k]
                else:
                    score = _fgd_score(g, ng, self.cpu_left[i], self.model[i], self.cpu[t],
                                       self.num[t], self.milli[t], self.frag[i], &dev,
                                       self.tcpu, self.tnum, self.tmilli, self.tspec, self.tp)
                    self.cache_score[k], self.cache_dev[k] = score, dev
                    self.cache_version[k] = self.version[i]
            else:
                gl = 0
                for d in range(ng):
                    gl += g[d]
                if self.policy == P_DOTPROD:
                    score = _dotprod_score(self.cpu_left[i], gl, self.cpu[t], req)
                elif self.policy == P_CLUSTERING:
                    score = _clustering_score(g, ng, &self.tags[i, 0], self.num[t], self.milli[t])
                elif self.policy == P_PACKING:
                    score = _packing_score(g, ng, self.num[t], self.milli[t])
                else:
                    score = _bestfit_raw(self.cpu_left[i], gl, self.cpu[t], req)
            self.scores[i] = score
            self.devs[i] = dev
            if score < lo:
                lo = score
            if score > hi:
                hi = score
        if self.policy == P_BESTFIT:
            # NormalizeScore: min-max to [0, 100] over the feasible nodes
            for i in range(n):
                if self.fit[i]:
                    self.scores[i] = (self.scores[i] - lo) * 100 // (hi - lo) if hi > lo else 0
        for i in range(n):
            if self.fit[i] and (best < 0 or self.scores[i] > best_score or (
                    self.scores[i] == best_score and self.rank[i] < self.rank[best])):
                best, best_score = i, self.scores[i]
        device[0] = self.devs[best]
        if share and self.policy != P_FGD:
            device[0] = _best_fit_device(&self.gfree[best, 0], self.ngpu[best], self.milli[t])
        return best

    cdef void _refresh(self, Py_ssize_t i) noexcept nogil:
        self.version[i] += 1
        self.cluster_frag -= self.frag[i]
        self.frag[i] = _frag(&self.gfree[i, 0], self.ngpu[i], self.cpu_left[i], self.model[i],
                             self.tcpu, self.tnum, self.tmilli, self.tspec, self.tp)
        self.cluster_frag += self.frag[i]

    cdef u64 bind(self, Py_ssize_t t, Py_ssize_t i, i32 device) noexcept nogil:
        """Bind task ``t`` to node ``i``; returns the bitmask of its devices."""
        cdef i32* g = &self.gfree[i, 0]
        cdef u64 mask = 0
        cdef int d
        if self.num[t] == 1 and self.milli[t] < 1000:
            mask = (<u64>1) << device
            g[device] -= self.milli[t]
            self.tags[i, 0] += 1
        elif self.num[t] > 0:
            mask = _whole_devices(g, self.ngpu[i], self.num[t])
            for d in range(self.ngpu[i]):
                if (mask >> d) & 1:
                    g[d] -= 1000
            self.tags[i, self.num[t]] += 1
        self.cpu_left[i] -= self.cpu[t]
        self.mem_left[i] -= self.mem[t]
        self._refresh(i)
        return mask

    cdef void unbind(self, Py_ssize_t t, Py_ssize_t i, u64 mask) noexcept nogil:
        """Undo ``bind(t, i, ...)`` that returned ``mask``."""
        cdef i32* g = &self.gfree[i, 0]
        cdef int d
        for d in range(self.ngpu[i]):
            if (mask >> d) & 1:
                g[d] += self.milli[t]
        if self.num[t] > 0:
            self.tags[i, 0 if self.milli[t] < 1000 else self.num[t]] -= 1
        self.cpu_left[i] += self.cpu[t]
        self.mem_left[i] += self.mem[t]
        self._refresh(i)

    cdef bint fits_on(self, Py_ssize_t t, Py_ssize_t i) noexcept nogil:
        if self.cpu_left[i] < self.cpu[t] or self.mem_left[i] < self.mem[t]:
            return False
        if self.num[t] == 0:
            return True
        return (self.ngpu[i] > 0 and _accessible(self.model[i], self.spec[t])
                and _fitting(&self.gfree[i, 0], self.ngpu[i], self.milli[t]) >= self.num[t])

    cdef i32 device_on(self, Py_ssize_t t, Py_ssize_t i) noexcept nogil:
        """The device a GPU share of task ``t`` takes on node ``i`` under the policy."""
        cdef i32 dev = -1
        cdef int d, k = 0
        cdef i32* g = &self.gfree[i, 0]
        if not (self.num[t] == 1 and self.milli[t] < 1000):
            return -1
        if self.policy == P_FGD:
            _fgd_score(g, self.ngpu[i], self.cpu_left[i], self.model[i], self.cpu[t],
                       self.num[t], self.milli[t], self.frag[i], &dev, self.tcpu, self.tnum,
                       self.tmilli, self.tspec, self.tp)
            return dev
        if self.policy == P_RANDOM:
            for d in range(self.ngpu[i]):
                if g[d] >= self.milli[t]:
                    k += 1
                    if _splitmix(&self.rng) % <u64>k == 0:
                        dev = d
            return dev
        return _best_fit_device(g, self.ngpu[i], self.milli[t])


def replay(int policy, u64 seed,
           const i64[::1] cpu_cap, const i32[::1] ngpu, const i32[::1] model,
           const i64[::1] rank,
           i64[::1] cpu_left, i64[::1] mem_left, i32[:, ::1] gfree, i32[:, ::1] tags,
           const i64[::1] cpu, const i64[::1] mem, const i32[::1] num, const i32[::1] milli,
           const u64[::1] spec, const i32[::1] shape, int nshapes,
           const i64[::1] tcpu, const i32[::1] tnum, const i32[::1] tmilli,
           const u64[::1] tspec, const double[::1] tp,
           i32[::1] out_node, u64[::1] out_devices, i64[::1] out_used,
           double[::1] out_frag, i64 start, i64 stop, i64 used0, u64 rng_state):
    """Schedule tasks ``start``..``stop`` in order under ``policy``.

    ``out_node[t]``: the node row (-1: no node fits), ``out_devices[t]``: a bitmask
    of the devices it got, ``out_used[t]``: milli-GPU allocated in the cluster after
    it, ``out_frag[t]``: the cluster's fragmentation (milli) against the target
    shapes after it. ``rank`` breaks ties (lowest wins). ``used0`` is the milli
    allocated before ``start``; ``rng_state`` the random state, returned with the
    new ``used``, so a replay can be cut into pieces that give the same answer as
    one call.
    """
    cdef _Sim sim = _Sim(policy, rng_state, cpu_cap, ngpu, model, rank, cpu_left, mem_left,
                         gfree, tags, cpu, mem, num, milli, spec, shape, nshapes, tcpu, tnum,
                         tmilli, tspec, tp)
    cdef Py_ssize_t t, best
    cdef i64 used = used0
    cdef i32 dev
    with nogil:
        for t in range(start, stop):
            best = sim.select(t, &dev)
            if best < 0:
                out_node[t] = -1
                out_devices[t] = 0
            else:
                out_devices[t] = sim.bind(t, best, dev)
                out_node[t] = <i32>best
                used += <i64>num[t] * milli[t]
            out_used[t] = used
            out_frag[t] = sim.cluster_frag
    return used, sim.rng


cdef inline bint _before(i64 ta, char ka, i64 xa, i64 tb, char kb, i64 xb) noexcept nogil:
    return ta < tb or (ta == tb and (ka < kb or (ka == kb and xa < xb)))


cdef void _push(i64* ht, char* hk, i64* hx, Py_ssize_t* hn, i64 t, char k, i64 x) noexcept nogil:
    cdef Py_ssize_t i = hn[0], parent
    hn[0] += 1
    while i > 0:
        parent = (i - 1) // 2
        if not _before(t, k, x, ht[parent], hk[parent], hx[parent]):
            break
        ht[i], hk[i], hx[i] = ht[parent], hk[parent], hx[parent]
        i = parent
    ht[i], hk[i], hx[i] = t, k, x


cdef void _pop(i64* ht, char* hk, i64* hx, Py_ssize_t* hn) noexcept nogil:
    cdef Py_ssize_t i = 0, c, n
    hn[0] -= 1
    n = hn[0]
    cdef i64 t = ht[n], x = hx[n]
    cdef char k = hk[n]
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and _before(ht[c + 1], hk[c + 1], hx[c + 1], ht[c], hk[c], hx[c]):
            c += 1
        if not _before(ht[c], hk[c], hx[c], t, k, x):
            break
        ht[i], hk[i], hx[i] = ht[c], hk[c], hx[c]
        i = c
    ht[i], hk[i], hx[i] = t, k, x


def replay_timed(int policy, u64 seed,
                 const i64[::1] cpu_cap, const i32[::1] ngpu, const i32[::1] model,
                 const i64[::1] rank,
                 i64[::1] cpu_left, i64[::1] mem_left, i32[:, ::1] gfree, i32[:, ::1] tags,
                 const i64[::1] cpu, const i64[::1] mem, const i32[::1] num,
                 const i32[::1] milli, const u64[::1] spec, const i32[::1] shape, int nshapes,
                 const i64[::1] tcpu, const i32[::1] tnum, const i32[::1] tmilli,
                 const u64[::1] tspec, const double[::1] tp,
                 const i64[::1] arrival, const i64[::1] runtime, const i64[::1] deadline,
                 const i32[::1] prio,
                 i32[::1] out_node, i64[::1] out_start,
                 i64[::1] ev_time, i64[::1] ev_gpu, i64[::1] ev_cpu, i32[::1] ev_queue):
    """Replay tasks in time: task t arrives at ``arrival[t]`` (non-decreasing), runs
    ``runtime[t]`` seconds (-1: forever) from when it starts, and gives up waiting at
    ``deadline[t]`` (-1: never). A task that fits nowhere waits in a queue ordered
    by ``prio`` (higher first), then arrival; when a task leaves node i, the queue is
    tried in that order on node i (no other node changed since each waiting task last
    found nothing). Departures at a time come before arrivals at that time.

    ``out_node``/``out_start``: where and when each task ran (-1: never);
    ``ev_*``: the time, GPU milli and cpu allocated, and the queue length after each
    event. Returns the number of events.
    """
    cdef _Sim sim = _Sim(policy, seed, cpu_cap, ngpu, model, rank, cpu_left, mem_left,
                         gfree, tags, cpu, mem, num, milli, spec, shape, nshapes, tcpu, tnum,
                         tmilli, tspec, tp)
    cdef Py_ssize_t m = arrival.shape[0], cap = 2 * m + 1, hn = 0, qn = 0, ne = 0
    cdef Py_ssize_t a = 0, t, w, j, lo, hi, mid, node
    cdef i64 now, gpu_used = 0, cpu_used = 0
    cdef char kind
    cdef i32 dev
    cdef i64* ht = <i64*>malloc(cap * sizeof(i64))
    cdef char* hk = <char*>malloc(cap)
    cdef i64* hx = <i64*>malloc(cap * sizeof(i64))
    cdef i64* queue = <i64*>malloc((m + 1) * sizeof(i64))
    cdef char* waiting = <char*>malloc(m + 1)
    cdef u64* mask = <u64*>malloc((m + 1) * sizeof(u64))
    if not (ht and hk and hx and queue and waiting and mask):
        free(ht); free(hk); free(hx); free(queue); free(waiting); free(mask)
        raise MemoryError()
    with nogil:
        for t in range(m):
            out_node[t] = -1
            out_start[t] = -1
            waiting[t] = 0
        while a < m or hn > 0:
            if hn > 0 and (a >= m or ht[0] <= arrival[a]):
                now, kind, t = ht[0], hk[0], hx[0]
                _pop(ht, hk, hx, &hn)
                if kind == 0:                                   # t leaves its node
                    node = out_node[t]
                    sim.unbind(t, node, mask[t])
                    gpu_used -= <i64>num[t] * milli[t]
                    cpu_used -= cpu[t]
                    j = 0
                    while j < qn:
                        w = queue[j]
                        if sim.fits_on(w, node):
                            dev = sim.device_on(w, node)
                            mask[w] = sim.bind(w, node, dev)
                            out_node[w], out_start[w], waiting[w] = <i32>node, now, 0
                            gpu_used += <i64>num[w] * milli[w]
                            cpu_used += cpu[w]
                            if runtime[w] >= 0:
                                _push(ht, hk, hx, &hn, now + runtime[w], 0, w)
                            qn -= 1
                            for mid in range(j, qn):
                                queue[mid] = queue[mid + 1]
                        else:
                            j += 1
                elif waiting[t]:                                # t gives up waiting
                    waiting[t] = 0
                    for j in range(qn):
                        if queue[j] == t:
                            qn -= 1
                            for mid in range(j, qn):
                                queue[mid] = queue[mid + 1]
                            break
            else:                                               # task a arrives
                t = a
                a += 1
                now = arrival[t]
                node = sim.select(t, &dev)
                if node >= 0:
                    mask[t] = sim.bind(t, node, dev)
                    out_node[t], out_start[t] = <i32>node, now
                    gpu_used += <i64>num[t] * milli[t]
                    cpu_used += cpu[t]
                    if runtime[t] >= 0:
                        _push(ht, hk, hx, &hn, now + runtime[t], 0, t)
                else:
                    # insert by (higher priority, earlier arrival)
                    lo, hi = 0, qn
                    while lo < hi:
                        mid = (lo + hi) // 2
                        w = queue[mid]
                        if prio[w] > prio[t] or (prio[w] == prio[t] and w < t):
                            lo = mid + 1
                        else:
                            hi = mid
                    for mid in range(qn, lo, -1):
                        queue[mid] = queue[mid - 1]
                    queue[lo] = t
                    qn += 1
                    waiting[t] = 1
                    if deadline[t] >= 0:
                        _push(ht, hk, hx, &hn, deadline[t] if deadline[t] > now else now, 1, t)
            ev_time[ne], ev_gpu[ne], ev_cpu[ne], ev_queue[ne] = now, gpu_used, cpu_used, <i32>qn
            ne += 1
    free(ht); free(hk); free(hx); free(queue); free(waiting); free(mask)
    return ne


def node_frag(const i64[::1] cpu_left, const i32[::1] ngpu, const i32[::1] model,
              const i32[:, ::1] gfree, const i64[::1] tcpu, const i32[::1] tnum,
              const i32[::1] tmilli, const u64[::1] tspec, const double[::1] tp,
              double[::1] out):
    """FGD's fragmentation (milli-GPU) of every node against the target shapes."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(cpu_left.shape[0]):
            out[i] = _frag(&gfree[i, 0], ngpu[i], cpu_left[i], model[i], tcpu, tnum, tmilli,
                           tspec, tp)
