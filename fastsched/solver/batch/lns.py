"""Large-neighbourhood search for "min_nodes": empty a few opened nodes at a time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .cpsat import _Model
from .evaluate import _domain_counts, _domains_ok, _evaluate
from .options import BatchOptions
from .problem import _Limit, _Problem, _SpreadGroup
from .symmetry import _canonical, _symmetry_classes

_LNS_SIZE = 15             # nodes in use drawn into a neighbourhood at first (it adapts)
_LNS_SIZES = (8, 200)      # ... within these
_LNS_VICTIMS = 2           # opened nodes a neighbourhood tries to empty
_LNS_EMPTY = 3             # empty nodes it may open instead
_LNS_STEP = 0.15           # seconds per neighbourhood search (one CP-SAT worker)
_LNS_NOISE = 0.3           # random share of the victims' ranking
_LNS_THREADS = 8           # neighbourhoods searched at once, at most (one per worker)


def _subproblem(p: _Problem, X: np.ndarray, rows: np.ndarray) -> _Problem:
    """Re-placing the batch pods that ``X`` puts on ``rows`` among ``rows`` alone, every
    other node keeping its pods: the limits and spreads count what the others keep."""
    count = X[:, rows].sum(axis=1)
    outside = X.copy()
    outside[:, rows] = 0
    cap = np.minimum(p.cap[:, rows], count[:, None])
    limits = []
    for lim in p.limits:
        if lim.dom is None:
            limits.append(_Limit(lim.shapes, None, lim.left[rows]))
            continue
        per_node = outside[lim.shapes].sum(axis=0)
        keyed = lim.dom >= 0
        taken = np.bincount(lim.dom[keyed], weights=per_node[keyed],
                            minlength=len(lim.left)).astype(np.int64)
        left = np.maximum(lim.left - taken, 0)
        dom = lim.dom[rows]
        keyed = dom >= 0
        for s in lim.shapes:
            cap[s, keyed] = np.minimum(cap[s, keyed], left[dom[keyed]])
        limits.append(_Limit(lim.shapes, dom, left))
    spreads = [_SpreadGroup(g.shapes, g.dom[rows], _domain_counts(g, outside), g.eligible,
                            g.skew) for g in p.spreads]
    return _Problem(n=len(rows), cols=p.cols, A=p.A, count=count, weight=p.weight,
                    priority=p.priority, alloc=p.alloc[rows], req=p.req[rows],
                    rem=p.rem[rows], cap=cap, fixed_used=p.fixed_used[rows], free=p.free[rows],
                    limits=limits,
                    spreads=spreads, gangs=[], balance_cols=p.balance_cols,
                    pod_shape=np.zeros(0, np.int64), pods_col=p.pods_col,
                    node_names=tuple(p.node_names[r] for r in rows.tolist()))


class _Lns:
    """Large-neighbourhood search for "min_nodes": empty a few opened nodes.

    A neighbourhood takes *victims*, the opened nodes least filled (with seeded noise),
    and draws other nodes in use, and a few empty ones, by how much of the victims'
    pods they could take; CP-SAT then re-places every batch pod of those nodes among
    them (the same pods of each shape, so placed weight and gangs are unchanged) for
    the fewest nodes in use, then the least left on the victims, from the current
    plan. A plan using no more nodes replaces the current one, so the victims drain
    over steps even when none closes at once. Each round searches one disjoint
    neighbourhood per thread; a neighbourhood solved to optimality grows the next one,
    a timed-out one shrinks it.
    """

    def __init__(self, p: _Problem, X: np.ndarray, options: BatchOptions,
                 threads: int) -> None:
        self.p = p
        self.threads = max(1, min(threads, _LNS_THREADS))
        self.X = X.copy()
        self.value = _evaluate(p, X)["nodes"]
        self.seed = options.seed
        self.rng = np.random.default_rng(options.seed)
        self.size = float(_LNS_SIZE)
        cols = p.cols
        scale = np.maximum(p.rem[:, cols].max(axis=0), 1).astype(np.float64)
        # a pod's size: its largest request relative to the largest free room, in 1..100
        self.pod_size = np.maximum(np.ceil(100 * (p.A[:, cols] / scale).max(axis=1)),
                                   1).astype(np.int64) if p.S else np.zeros(0, np.int64)
        self.stats: dict[str, Any] = {"objective": "lns", "status": "FEASIBLE", "steps": 0, "closed": 0,
                                      "optimal_steps": 0, "conflicts": 0, "branches": 0,
                                      "wall_time": 0.0}

    def takes(self, rows: np.ndarray, free: np.ndarray, moving: np.ndarray) -> np.ndarray:
        """Per row, the size of the moving pods it could take in ``free`` room."""
        p = self.p
        out = np.zeros(len(rows), np.float64)
        for s in np.flatnonzero(moving).tolist():
            need = np.flatnonzero(p.A[s] > 0)
            k = (free[:, need] // p.A[s, need]).min(axis=1)
            k = np.minimum(np.minimum(k, p.cap[s, rows]), moving[s])
            out += np.maximum(k, 0) * self.pod_size[s]
        return out

    def neighbourhood(self, taken: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, victims), both sorted, avoiding the ``taken`` rows (bool[n])."""
        p, X, rng = self.p, self.X, self.rng
        cols = p.cols
        in_use = p.fixed_used | (X.sum(axis=0) > 0)
        opened = np.flatnonzero(in_use & ~p.fixed_used & ~taken)
        if not len(opened):
            return opened, opened
        filled = ((X[:, opened].T @ p.A[:, cols])
                  / np.maximum(p.rem[np.ix_(opened, cols)], 1)).max(axis=1)
        ranked = np.argsort(filled + _LNS_NOISE * rng.random(len(opened)), kind="stable")
        victims = np.sort(opened[ranked[:_LNS_VICTIMS]])
        moving = X[:, victims].sum(axis=1)

        def draw(pool: np.ndarray, k: int, free: np.ndarray) -> np.ndarray:
            if not len(pool) or k <= 0:
                return pool[:0]
            w = self.takes(pool, free, moving) + 1.0
            return rng.choice(pool, size=min(k, len(pool)), replace=False, p=w / w.sum())

        pool = in_use & p.eligible & ~taken
        pool[victims] = False
        pool = np.flatnonzero(pool)
        partners = draw(pool, int(self.size), p.rem[pool] - X[:, pool].T @ p.A)
        empty = np.flatnonzero(~in_use & p.eligible & ~taken)
        spare = draw(empty, _LNS_EMPTY, p.rem[empty])
        return np.unique(np.concatenate([victims, partners, spare])), victims

    def prepare(self, rows: np.ndarray, victims: np.ndarray) -> _Model:
        """The model of re-placing the pods of ``rows``, hinted with the current plan."""
        sub = _subproblem(self.p, self.X, rows)
        classes = _symmetry_classes(sub)
        model = _Model(sub, "min_nodes", classes)
        cp, m = model.cp, model.model
        for var, c in zip(model.placed, sub.count.tolist()):
            m.add(var == c)
        # fewest nodes first, then the least left on the victims
        js = [j for v in np.searchsorted(rows, victims).tolist() for j in model.by_node[v]]
        shapes = model.pairs[js, 0]
        sizes = self.pod_size[shapes]
        heavy = 1 + int(sizes @ sub.cap[shapes, model.pairs[js, 1]]) if js else 1
        m.minimize(heavy * cp.LinearExpr.sum(list(model.used.values()))
                   + cp.LinearExpr.weighted_sum([model.x[j] for j in js], sizes.tolist()))
        model.hint(_canonical(self.X[:, rows], classes))
        return model

    @staticmethod
    def solve(model: _Model, seconds: float, seed: int) -> tuple[str, np.ndarray | None,
                                                                 int, int]:
        """CP-SAT on one neighbourhood: status, plan, conflicts, branches (runs in a
        thread: CP-SAT releases the GIL while it searches)."""
        solver = model.cp.CpSolver()
        params = solver.parameters
        params.max_time_in_seconds = max(seconds, 0.01)
        params.num_workers = 1            # small models: more steps beat more threads
        params.random_seed = seed % (1 << 31)
        name = solver.status_name(solver.solve(model.model))
        response = solver.response_proto
        plan = model.plan(response.solution) if name in ("OPTIMAL", "FEASIBLE") else None
        return name, plan, int(response.num_conflicts), int(response.num_branches)

    def round(self, pool: Any, seconds: float) -> bool:
        """One neighbourhood per thread, disjoint, searched at once, then merged one by
        one where the plan stays valid and uses no more nodes; True if it improved."""
        p = self.p
        taken = np.zeros(p.n, np.bool_)
        jobs = []
        for _ in range(self.threads):
            rows, victims = self.neighbourhood(taken)
            if not len(victims):
                break
            taken[rows] = True
            seed = self.seed + self.stats["steps"]
            self.stats["steps"] += 1
            model = self.prepare(rows, victims)
            jobs.append((rows, pool.submit(self.solve, model, seconds, seed)))
        before = self.value
        for rows, job in jobs:
            name, plan, conflicts, branches = job.result()
            self.stats["conflicts"] += conflicts
            self.stats["branches"] += branches
            if name == "OPTIMAL":
                self.stats["optimal_steps"] += 1
                self.size = min(self.size * 1.2, _LNS_SIZES[1])
            else:
                self.size = max(self.size / 1.2, _LNS_SIZES[0])
            if plan is None:
                continue
            Y = self.X.copy()
            Y[:, rows] = plan
            value = _evaluate(p, Y)["nodes"]
            # neighbourhoods share per-domain limits and spreads: check them together
            if value <= self.value and (len(jobs) == 1 or _domains_ok(p, Y)):
                self.X, self.value = Y, value
        self.stats["closed"] += before - self.value
        return self.value < before

    def run(self, deadline: float, bound: int,
            on_improve: Callable[[int], Any] | None = None) -> np.ndarray:
        """Rounds until ``deadline`` (perf_counter seconds) or the plan meets ``bound``."""
        from concurrent.futures import ThreadPoolExecutor
        start = time.perf_counter()
        with ThreadPoolExecutor(self.threads) as pool:
            while self.value > bound:
                left = deadline - time.perf_counter()
                if left < 0.02:
                    break
                if self.round(pool, min(_LNS_STEP, left)) and on_improve is not None:
                    on_improve(self.value)
        self.stats["wall_time"] = time.perf_counter() - start
        return self.X
