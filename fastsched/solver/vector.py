"""Vector (multi-dimensional) bin packing: ``binpack_vector``.

An item fits a bin when it fits in every dimension. Pipeline, stopping when a
packing meets the bound:
  1. per-dimension bounds (L1, L2: the max over dimensions bounds the vector
     problem); FFD and vector MBS' under several size measures;
  2. when the items fill exactly ``bound`` bins in every dimension (triplet
     classes), an exact cover by exact-fill item sets (CP-SAT);
  3. a short CP-SAT run on the assignment model (symmetry broken by item order,
     hinted with the best packing, Σ used >= bound): it proves many greedy
     packings optimal;
  4. MBS' with perturbed priorities, then a bin-emptying local search;
  5. CP-SAT again from the best packing for the time left.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .binpack import PackResult, _validate_run, validate_sizes
from .bounds import l1_bound, l2_bound

__all__ = ["binpack_vector", "vector_lower_bound", "vector_first_fit",
           "vector_min_bin_slack", "vector_reduce_bins"]

# Depth-first nodes vector MBS' may spend on one bin (pure Python: ~1 ms each
# thousand), enough for the exact-fill triplets.
_VMBS_NODE_LIMIT = 400
# Share of the time left that the perturbed MBS' may use.
_PERTURB_SHARE = 0.45
# Exact-fill sets enumerated at most (triplet classes have a few hundred).
_EXACT_PATTERN_LIMIT = 50_000
# Penalty step (times its weight) of an item that could not be placed.
_PEN_STEP = 0.3
# Share of the time left that the bin-emptying local search may use after it.
_LOCAL_SHARE = 0.7
# The first, short CP-SAT run (seconds, and at most this share of the time).
_FIRST_CPSAT_SECONDS = 1.5
_FIRST_CPSAT_SHARE = 0.15
# Bins kept from the greedy packings for the covering MIP, and its time cap.
_POOL_LIMIT = 5000
_POOL_MIP_SECONDS = 2.0


def vector_lower_bound(sizes: np.ndarray, capacity: np.ndarray) -> int:
    """max over dimensions of max(L1, L2) of that dimension."""
    if sizes.shape[0] == 0:
        return 0
    return max(max(l1_bound(sizes[:, j], int(capacity[j])), l2_bound(sizes[:, j], int(capacity[j])))
               for j in range(sizes.shape[1]))


def vector_first_fit(sizes: np.ndarray, capacity: np.ndarray, order: np.ndarray
                     ) -> tuple[int, np.ndarray]:
    """First fit in ``order``: each item into the lowest-numbered bin it fits in
    every dimension. Bins are numbered by first use."""
    n, d = sizes.shape
    loads = np.zeros((n, d), dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    nbins = 0
    for i in order:
        fits = np.all(loads[:nbins] + sizes[i] <= capacity, axis=1)
        hit = np.flatnonzero(fits)
        b = int(hit[0]) if hit.size else nbins
        if b == nbins:
            nbins += 1
        loads[b] += sizes[i]
        out[i] = b
    return nbins, out


def vector_min_bin_slack(sizes: np.ndarray, capacity: np.ndarray, order: np.ndarray,
                         node_limit: int = _VMBS_NODE_LIMIT) -> tuple[int, np.ndarray]:
    """MBS' for vectors: bin by bin, the first unpacked item in ``order`` plus the
    subset of the others (searched depth first in ``order``, ``node_limit``
    nodes per bin) that fills the bin most, filling measured as the sum over
    dimensions of load / capacity. A bin filled exactly in every dimension
    stops the search (the triplet classes)."""
    n, d = sizes.shape
    cap = [int(c) for c in capacity]
    rows = [tuple(int(v) for v in sizes[i]) for i in order]
    weight = [float(np.sum(sizes[i] / capacity)) for i in order]
    full = float(d)
    used = [False] * n
    # Exact completion: the positions of each size vector, to close a bin whose
    # room is exactly one remaining item in one lookup.
    where: dict[tuple, list[int]] = {}
    for p, r in enumerate(rows):
        where.setdefault(r, []).append(p)
    out = np.empty(n, dtype=np.int64)
    nbins = 0
    first = 0
    while True:
        while first < n and used[first]:
            first += 1
        if first >= n:
            break
        used[first] = True
        room0 = [c - v for c, v in zip(cap, rows[first])]
        best_fill, best_set = weight[first], []
        cur: list[int] = []
        nodes = 0

        def search(start: int, room: list[int], fill: float) -> bool:
            nonlocal best_fill, best_set, nodes
            if fill > best_fill + 1e-12:
                best_fill, best_set = fill, list(cur)
                if fill >= full - 1e-9:
                    return True
            for p in where.get(tuple(room), ()):
                if not used[p] and p > first:
                    best_fill, best_set = full, cur + [p]
                    return True
            for p in range(start, n):
                if used[p]:
                    continue
                r = rows[p]
                if any(v > q for v, q in zip(r, room)):
                    continue
                nodes += 1
                if nodes > node_limit:
                    return True
                used[p] = True
                cur.append(p)
                stop = search(p + 1, [q - v for q, v in zip(room, r)], fill + weight[p])
                cur.pop()
                used[p] = False
                if stop:
                    return True
            return False

        search(first + 1, room0, weight[first])
        out[order[first]] = nbins
        for p in best_set:
            used[p] = True
            out[order[p]] = nbins
        nbins += 1
    return nbins, out


def vector_reduce_bins(sizes: np.ndarray, capacity: np.ndarray, assign: np.ndarray,
                       nbins: int, *, deadline: float, seed: int = 0
                       ) -> tuple[int, np.ndarray] | None:
    """Try to pack into ``nbins − 1`` bins, in the spirit of the consistent
    neighbourhood search of Buljubašić & Vasquez (2016): empty the least filled
    bin, then put its items back one at a time; an item that fits nowhere may
    evict one or two items of a bin whose penalties sum to less than its own.
    An item that cannot move has its penalty raised (so it eventually wins),
    and an evicted item may not return to its bin for a few steps (tabu).
    Returns the packing (bins renumbered 0..nbins−2) or None by ``deadline``."""
    n, d = sizes.shape
    if nbins <= 1:
        return None
    rng = np.random.default_rng(seed)
    cap = capacity
    rel = sizes / cap
    wt = (rel ** 2).sum(axis=1) + 1e-9       # tight dimensions count more
    pen = wt.copy()
    bins = assign.copy()
    loads = np.zeros((nbins, d), dtype=np.int64)
    np.add.at(loads, bins, sizes)
    drop = int(np.argmin((loads / cap).sum(axis=1)))
    pending = [int(i) for i in np.flatnonzero(bins == drop)]
    loads[drop] = cap + 1                    # closed: nothing fits
    bins[pending] = -1
    members = [list(np.flatnonzero(bins == b).tolist()) for b in range(nbins)]
    tabu: dict[tuple[int, int], int] = {}
    it = 0
    while pending:
        it += 1
        if it % 32 == 0 and time.monotonic() >= deadline:
            return None
        k = int(rng.integers(len(pending)))
        u = pending[k]
        su = sizes[u]
        fits = np.flatnonzero(np.all(loads + su <= cap, axis=1))
        if fits.size:
            b = int(fits[np.argmax((loads[fits] / cap).sum(axis=1))])
            pending.pop(k)
            loads[b] += su
            members[b].append(u)
            bins[u] = b
            continue
        # Every one- or two-item eviction that makes room for u, vectorized.
        over_all = loads + su - cap
        banned = {b for b in range(nbins) if tabu.get((u, b), 0) > it}
        banned.add(drop)
        one = np.flatnonzero(bins >= 0)
        one = one[[int(bins[i]) not in banned for i in one]] if banned else one
        best = None
        if one.size:
            ok = np.all(sizes[one] >= over_all[bins[one]], axis=1)
            if ok.any():
                cand = one[ok]
                i = int(cand[np.argmin(pen[cand])])
                best = (pen[i], int(bins[i]), (i,))
        pi, pj = [], []
        for b in range(nbins):
            if b in banned:
                continue
            mem = members[b]
            for x in range(len(mem)):
                for y in range(x + 1, len(mem)):
                    pi.append(mem[x])
                    pj.append(mem[y])
        if pi:
            pi_a, pj_a = np.array(pi), np.array(pj)
            ok = np.all(sizes[pi_a] + sizes[pj_a] >= over_all[bins[pi_a]], axis=1)
            if ok.any():
                c = pen[pi_a] + pen[pj_a]
                c[~ok] = np.inf
                k2 = int(np.argmin(c))
                if best is None or c[k2] < best[0]:
                    best = (c[k2], int(bins[pi_a[k2]]), (int(pi_a[k2]), int(pj_a[k2])))
        if best is None or best[0] >= pen[u]:
            pen[u] += _PEN_STEP * wt[u]
            continue
        _, b, out = best
        pending.pop(k)
        for i in out:
            loads[b] -= sizes[i]
            members[b].remove(i)
            bins[i] = -1
            tabu[(i, b)] = it + 3 + int(rng.integers(4))
            pending.append(i)
        loads[b] += su
        members[b].append(u)
        bins[u] = b
    bins[bins > drop] -= 1
    return nbins - 1, bins


def _exact_fill_patterns(sizes: np.ndarray, capacity: np.ndarray, limit: int,
                         deadline: float) -> list[tuple[int, ...]] | None:
    """Every set of items that fills a bin exactly in every dimension (depth first,
    items in index order, the last one found by lookup), or None past ``limit``
    sets or ``deadline``."""
    n = sizes.shape[0]
    rows = [tuple(int(v) for v in r) for r in sizes]
    where: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        where.setdefault(r, []).append(i)
    cap = tuple(int(c) for c in capacity)
    out: list[tuple[int, ...]] = []
    cur: list[int] = []
    nodes = 0

    def go(start: int, room: tuple) -> bool:
        nonlocal nodes
        nodes += 1
        if nodes % 4096 == 0 and time.monotonic() >= deadline:
            return False
        for i in where.get(room, ()):
            if i >= start:
                out.append(tuple(cur) + (i,))
        if len(out) > limit:
            return False
        for i in range(start, n):
            r = rows[i]
            nxt = tuple(q - v for q, v in zip(room, r))
            if min(nxt) < 0 or not any(nxt):
                continue
            cur.append(i)
            ok = go(i + 1, nxt)
            cur.pop()
            if not ok:
                return False
        return True

    for first in range(n):
        cur.append(first)
        room = tuple(q - v for q, v in zip(cap, rows[first]))
        ok = go(first + 1, room) if any(room) else (out.append((first,)) or True)
        cur.pop()
        if not ok:
            return None
    return out


def _exact_cover(sizes, capacity, target, time_limit, workers, seed):
    """When the items' total equals ``target`` full bins in every dimension, every
    bin of a ``target``-bin packing is exactly full: choose disjoint exact-fill
    sets covering all items (CP-SAT). The assignment, or None."""
    t0 = time.monotonic()
    pats = _exact_fill_patterns(sizes, capacity, _EXACT_PATTERN_LIMIT,
                                t0 + 0.5 * time_limit)
    if not pats:
        return None
    from ortools.sat.python import cp_model

    # Model and variables: one boolean per exact-fill set.
    model = cp_model.CpModel()
    x = [model.new_bool_var("") for _ in pats]
    # Constraints: every item in exactly one chosen set.
    cover: list[list] = [[] for _ in range(sizes.shape[0])]
    for v, p in zip(x, pats):
        for i in p:
            cover[i].append(v)
    if any(not c for c in cover):
        return None
    for c in cover:
        model.add_exactly_one(c)
    # Solve.
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.1, time_limit - (time.monotonic() - t0))
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    status = solver.solve(model)
    # Report.
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    assign = np.empty(sizes.shape[0], dtype=np.int64)
    b = 0
    for v, p in zip(x, pats):
        if solver.value(v):
            assign[list(p)] = b
            b += 1
    return b, assign


def _pool_cover(pool: dict, n: int, best: int, seconds: float
                ) -> tuple[int, np.ndarray] | None:
    """Fewest bins of the pool (bins seen in greedy packings) that cover every item,
    by HiGHS's MIP: a cover is a packing, as any subset of a feasible bin is
    feasible. The packing if it beats ``best``, else None."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csc_matrix

    cols = list(pool)
    rows = [i for p in cols for i in p]
    at = [j for j, p in enumerate(cols) for _ in p]
    a = csc_matrix((np.ones(len(rows)), (rows, at)), shape=(n, len(cols)))
    res = milp(np.ones(len(cols)), constraints=LinearConstraint(a, lb=1),
               integrality=np.ones(len(cols)), bounds=Bounds(0, 1),
               options={"time_limit": seconds})
    if res.x is None or round(res.fun) >= best:
        return None
    assign = np.full(n, -1, dtype=np.int64)
    b = 0
    for j in np.flatnonzero(res.x > 0.5).tolist():
        free = [i for i in cols[j] if assign[i] < 0]
        if free:
            assign[free] = b
            b += 1
    return (b, assign) if b < best else None


def _measures(sizes: np.ndarray, capacity: np.ndarray) -> list[tuple[str, np.ndarray]]:
    rel = sizes / capacity
    return [("sum", rel.sum(axis=1)), ("max", rel.max(axis=1)),
            ("sumsq", (rel ** 2).sum(axis=1)), ("prod", np.prod(1e-9 + rel, axis=1))]


def _cpsat(sizes, capacity, lb, hint, hint_bins, time_limit, workers, seed):
    """Assignment model: x[i, b] for b <= min(i, ub - 1) in decreasing-measure
    order, y[b] >= y[b+1], capacities per dimension, min Σ y, Σ y >= lb.
    Returns (bins, assignment or None, proved_bound, optimal)."""
    from ortools.sat.python import cp_model

    n, d = sizes.shape
    ub = hint_bins
    # Model and variables.
    model = cp_model.CpModel()
    y = [model.new_bool_var("") for _ in range(ub)]
    x = [[model.new_bool_var("") for _ in range(min(i + 1, ub))] for i in range(n)]

    # Constraints: every item in one bin (only bins <= its rank: symmetry), capacity.
    for i in range(n):
        model.add_exactly_one(x[i])
        for b, v in enumerate(x[i]):
            model.add_implication(v, y[b])
    for b in range(ub):
        members = [(i, x[i][b]) for i in range(b, n)]
        for j in range(d):
            model.add(sum(int(sizes[i, j]) * v for i, v in members if sizes[i, j])
                      <= int(capacity[j]) * y[b])
        if b + 1 < ub:
            model.add(y[b] >= y[b + 1])
        # Bin b opens with item b or a later one; item b alone may open it.
    model.add(sum(y) >= lb)

    # Objective and hint (the greedy packing, bins renumbered by first item).
    model.minimize(sum(y))
    for i in range(n):
        for b, v in enumerate(x[i]):
            model.add_hint(v, int(hint[i] == b))
    for b in range(ub):
        model.add_hint(y[b], 1)

    # Solve.
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    status = solver.solve(model)

    # Report.
    bound = int(np.ceil(solver.best_objective_bound - 1e-6)) if status in (
        cp_model.OPTIMAL, cp_model.FEASIBLE) else lb
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, None, max(lb, bound), False
    assign = np.array([next(b for b, v in enumerate(x[i]) if solver.value(v))
                       for i in range(n)], dtype=np.int64)
    bins = int(round(solver.objective_value))
    return bins, assign, max(lb, bound), status == cp_model.OPTIMAL


def _renumber(assign: np.ndarray) -> np.ndarray:
    """Bins numbered by first appearance (so in rank order bin <= item rank)."""
    _, first = np.unique(assign, return_index=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(np.argsort(first))] = np.arange(first.size)
    mapping = dict(zip(np.unique(assign).tolist(), rank.tolist()))
    return np.array([mapping[b] for b in assign.tolist()], dtype=np.int64)


def binpack_vector(sizes: Any, capacity: Any, *, time_limit: float = 10.0,
                   workers: int | None = None, seed: int = 0) -> PackResult:
    """Pack items of integer size vectors ``sizes[n, d]`` into the fewest bins of
    integer ``capacity[d]`` (an item fits when it fits in every dimension).

    Returns a :class:`PackResult`; ``optimal`` only when proved (the packing
    meets the per-dimension bound, or CP-SAT proves it). Raises ValueError for
    negative, NaN or fractional sizes, non-positive capacities, mismatched
    dimensions, or an item larger than the capacity in some dimension.
    """
    t0 = time.monotonic()
    s = validate_sizes(sizes, "sizes", ndim=2)
    cap = validate_sizes(capacity, "capacity", ndim=1)
    if cap.size == 0 or (cap <= 0).any():
        raise ValueError(f"capacity: expected positive integers in every dimension, got "
                         f"{np.asarray(capacity).tolist()!r}")
    if s.shape[0] and s.shape[1] != cap.size:
        raise ValueError(f"sizes: expected {cap.size} columns (one per capacity "
                         f"dimension), got {s.shape[1]}")
    tl, nworkers = _validate_run(time_limit, workers)
    over = np.argwhere(s > cap)
    if over.size:
        i, j = (int(v) for v in over[0])
        raise ValueError(f"sizes[{i}, {j}]: item {i} needs {int(s[i, j])} in dimension "
                         f"{j}, more than the capacity {int(cap[j])}")
    deadline = t0 + tl
    stats: dict[str, Any] = {}

    def done(bins, assign_nz, lb, method):
        assignment = np.zeros(s.shape[0], dtype=np.int64)
        assignment[nz] = assign_nz
        optimal = bins == lb
        return PackResult(bins, assignment, lb, optimal, "OPTIMAL" if optimal else "FEASIBLE",
                          time.monotonic() - t0, method,
                          0.0 if optimal else (bins - lb) / bins, nworkers, stats)

    nz = np.flatnonzero(s.sum(axis=1) > 0) if s.shape[0] else np.zeros(0, dtype=np.int64)
    if nz.size == 0:
        nb = 1 if s.shape[0] else 0
        return PackResult(nb, np.zeros(s.shape[0], dtype=np.int64), nb, True, "OPTIMAL",
                          time.monotonic() - t0, "trivial", 0.0, nworkers, stats)
    w = s[nz]

    # Bounds and greedy packings (FFD, vector MBS') under several size measures.
    lb = vector_lower_bound(w, cap)
    best, best_by, best_order = None, "", None
    measures = _measures(w, cap)
    pool: dict[tuple[int, ...], None] = {}        # bins seen, for the covering MIP

    def remember(packing) -> None:
        nb, assign = packing
        if len(pool) < _POOL_LIMIT:
            members = np.argsort(assign, kind="stable")
            cuts = np.searchsorted(assign[members], np.arange(1, nb))
            pool.update(dict.fromkeys(tuple(g.tolist()) for g in np.split(members, cuts)))

    for name, key in measures:
        order = np.argsort(-key, kind="stable")
        for algo, fn in (("ffd", vector_first_fit), ("mbs'", vector_min_bin_slack)):
            cand = fn(w, cap, order)
            remember(cand)
            if best is None or cand[0] < best[0]:
                best, best_by, best_order = cand, f"{algo}-{name}", order
            if best[0] == lb:
                return done(best[0], best[1], lb, f"{best_by}=l2")

    def cpsat(seconds: float):
        """CP-SAT on the assignment model, items in the best packing's order, hinted
        with it; updates the best packing and the bound."""
        nonlocal best, best_by, lb
        order = best_order
        hint = _renumber(best[1][order])
        bins, assign, bound, proved = _cpsat(w[order], cap, lb, hint, best[0], seconds,
                                             nworkers, seed)
        stats.setdefault("cpsat_bound", []).append(bound)
        lb = max(lb, bound)
        if bins is not None and bins <= best[0]:
            if proved:
                lb = bins
            if bins < best[0]:
                unranked = np.empty_like(assign)
                unranked[order] = assign
                best, best_by = (bins, unranked), "cpsat"

    # Total volume of exactly `lb` full bins: an exact cover by exact-fill sets.
    if (w.sum(axis=0) == lb * cap).all():
        t_x = time.monotonic()
        found = _exact_cover(w, cap, lb, 0.4 * (deadline - t_x), nworkers, seed)
        stats["exact_cover_seconds"] = time.monotonic() - t_x
        if found is not None and found[0] == lb:
            return done(found[0], found[1], lb, "exact-cover=bound")

    # A short CP-SAT run first: it often proves the greedy packing optimal.
    first = min(_FIRST_CPSAT_SECONDS, _FIRST_CPSAT_SHARE * (deadline - time.monotonic()))
    if first > 0.1:
        cpsat(first)
        if best[0] == lb:
            return done(best[0], best[1], lb, f"{best_by}=bound")

    # MBS' with perturbed priorities (a random measure, sizes times a random
    # factor in [1 − ε, 1 + ε]), for a share of the time.
    rng = np.random.default_rng(seed)
    t_p = time.monotonic()
    stop = t_p + _PERTURB_SHARE * (deadline - t_p)
    tries = 0
    while time.monotonic() < stop:
        tries += 1
        eps = min(0.3, 0.02 + 0.005 * tries)
        _, key = measures[int(rng.integers(len(measures)))]
        order = np.argsort(-key * rng.uniform(1.0 - eps, 1.0 + eps, key.size), kind="stable")
        cand = vector_min_bin_slack(w, cap, order)
        remember(cand)
        if cand[0] < best[0]:
            best, best_by, best_order = cand, "perturbed-mbs'", order
            if best[0] == lb:
                return done(best[0], best[1], lb, f"{best_by}=bound")
    stats["perturbed_tries"] = tries

    # The fewest pool bins that cover every item (HiGHS MIP, capped in time).
    seconds = min(_POOL_MIP_SECONDS, 0.3 * (deadline - time.monotonic()))
    if best[0] > lb and seconds > 0.1:
        t_c = time.monotonic()
        cand = _pool_cover(pool, w.shape[0], best[0], seconds)
        stats["pool_bins"], stats["pool_seconds"] = len(pool), time.monotonic() - t_c
        if cand is not None:
            best, best_by = cand, "pool-cover"
            if best[0] == lb:
                return done(best[0], best[1], lb, f"{best_by}=bound")

    # Bin-emptying local search from the best packing, one bin at a time.
    t_l = time.monotonic()
    stop = t_l + _LOCAL_SHARE * (deadline - t_l)
    rounds = 0
    while best[0] > lb and time.monotonic() < stop:
        rounds += 1
        cand = vector_reduce_bins(w, cap, best[1], best[0], deadline=stop, seed=seed + rounds)
        if cand is None:
            break
        best, best_by = cand, "local-search"
    stats["local_search_seconds"] = time.monotonic() - t_l
    if best[0] == lb:
        return done(best[0], best[1], lb, f"{best_by}=bound")

    # CP-SAT again for the time left, from the best packing.
    left = deadline - time.monotonic() - 0.2
    if left > 0.1:
        cpsat(left)
    return done(best[0], best[1], lb, f"{best_by}=bound" if best[0] == lb else best_by)
