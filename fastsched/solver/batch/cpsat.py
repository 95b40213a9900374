"""The CP-SAT model of a problem, its progress reports, and one search phase."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .evaluate import _domain_counts, _peak
from .options import BatchOptions
from .problem import PERMILLE, _Problem

_LINK_LIMIT = 20_000      # per-variable links x <= cap * used only up to this many x


class _Model:
    """The CP-SAT model of one problem (kept inside this package: no cp_model object
    leaves it)."""

    def __init__(self, p: _Problem, objective: str, classes: list[np.ndarray]) -> None:
        from ortools.sat.python import cp_model
        self.cp = cp_model
        self.p = p
        m = self.model = cp_model.CpModel()
        S, n = p.S, p.n
        LinearExpr = cp_model.LinearExpr

        # variables: pods of each shape on each node, pods placed per shape, nodes used
        self.pairs = np.argwhere(p.cap > 0)                    # (shape, node), by shape
        caps = p.cap[self.pairs[:, 0], self.pairs[:, 1]].tolist()
        self.x = [m.new_int_var(0, c, "") for c in caps]
        self.x_index = np.array([v.index for v in self.x], np.int64)
        by_node: list[list[int]] = [[] for _ in range(n)]
        by_shape: list[list[int]] = [[] for _ in range(S)]
        for j, (s, node) in enumerate(self.pairs.tolist()):
            by_node[node].append(j)
            by_shape[s].append(j)
        self.by_node = by_node
        self.placed = [m.new_int_var(0, int(p.count[s]), "") for s in range(S)]
        for s in range(S):
            m.add(LinearExpr.sum([self.x[j] for j in by_shape[s]]) == self.placed[s])
        self.weighted = LinearExpr.weighted_sum(self.placed, p.weight.tolist())
        self.used: dict[int, Any] = {}
        if objective == "min_nodes":
            for node in range(n):
                if by_node[node] and not p.fixed_used[node]:
                    self.used[node] = m.new_bool_var("")

        # capacity of every node, per resource; an empty node only if it is used
        shapes: np.ndarray | set[int]
        for node in range(n):
            js = by_node[node]
            if not js:
                continue
            shapes = self.pairs[js, 0]
            xs = [self.x[j] for j in js]
            caps_n = p.cap[shapes, node]
            used = self.used.get(node)
            for r in p.cols.tolist():
                coef = p.A[shapes, r]
                if not coef.any():
                    continue
                room = int(p.rem[node, r])
                if int(coef @ caps_n) <= room and (used is None or r != p.cols[0]):
                    continue                          # cannot bind: redundant
                expr = LinearExpr.weighted_sum(xs, coef.tolist())
                m.add(expr <= room * used if used is not None else expr <= room)
            if used is not None:
                most = int(min(caps_n.sum(), p.rem[node, p.pods_col]))
                m.add(LinearExpr.sum(xs) <= most * used)
                if len(self.x) <= _LINK_LIMIT:
                    # stronger LP: a shape that fits c times needs a node per c pods
                    for var, c in zip(xs, caps_n.tolist()):
                        if c < most:
                            m.add(var <= c * used)

        # anti-affinity and host ports
        for lim in p.limits:
            shapes = set(lim.shapes)
            if lim.dom is None:
                for node in range(n):
                    js = [j for j in by_node[node] if self.pairs[j, 0] in shapes]
                    if len(js) > 1 and sum(caps[j] for j in js) > lim.left[node]:
                        m.add(LinearExpr.sum([self.x[j] for j in js]) <= int(lim.left[node]))
            else:
                groups: dict[int, list[int]] = {}
                for j, (s, node) in enumerate(self.pairs.tolist()):
                    if s in shapes and lim.dom[node] >= 0:
                        groups.setdefault(int(lim.dom[node]), []).append(j)
                for d, js in groups.items():
                    if sum(caps[j] for j in js) > lim.left[d]:
                        m.add(LinearExpr.sum([self.x[j] for j in js]) <= int(lim.left[d]))

        # spread: every domain's count between lo and hi, hi - lo <= maxSkew
        self.spread_vars: list[tuple[cp_model.IntVar, cp_model.IntVar] | None] = []
        for g in p.spreads:
            if not g.eligible.any():
                self.spread_vars.append(None)
                continue
            shapes = set(g.shapes)
            top = int(g.existing.max() + p.count[g.shapes].sum())
            lo, hi = m.new_int_var(0, top, ""), m.new_int_var(0, top, "")
            members: dict[int, list[int]] = {int(d): [] for d in np.flatnonzero(g.eligible)}
            for j, (s, node) in enumerate(self.pairs.tolist()):
                if s in shapes:
                    members[int(g.dom[node])].append(j)
            for d, js in members.items():
                cnt = LinearExpr.sum([self.x[j] for j in js]) + int(g.existing[d])
                m.add(cnt >= lo)
                m.add(cnt <= hi)
            m.add(hi - lo <= g.skew)
            self.spread_vars.append((lo, hi))

        # gangs: none, or at least min_member
        self.gang_vars = []
        for gang in p.gangs:
            on = m.new_bool_var("")
            total = LinearExpr.sum([self.placed[s] for s in gang.shapes])
            m.add(total >= gang.min_member * on)
            m.add(total <= gang.size * on)
            self.gang_vars.append(on)

        # symmetry: interchangeable empty nodes in use first, fuller first
        for cls in classes:
            nodes = [int(v) for v in cls]
            for a, b in zip(nodes, nodes[1:]):
                if a in self.used and b in self.used:
                    m.add(self.used[a] >= self.used[b])
                m.add(LinearExpr.sum([self.x[j] for j in by_node[a]])
                      >= LinearExpr.sum([self.x[j] for j in by_node[b]]))

        # balance: peak >= utilization of every receiving node, in permille
        self.peak = None
        if objective == "balance":
            top = max(PERMILLE, _peak(p, np.zeros_like(p.cap)))
            self.peak = m.new_int_var(0, top, "")
            for node in range(n):
                js = by_node[node]
                if not js:
                    continue
                shapes = self.pairs[js, 0]
                xs = [self.x[j] for j in js]
                for r in p.balance_cols.tolist():
                    a = int(p.alloc[node, r])
                    if a <= 0:
                        continue
                    coef = (PERMILLE * p.A[shapes, r]).tolist()
                    m.add(LinearExpr.weighted_sum(xs, coef) + PERMILLE * int(p.req[node, r])
                          <= a * self.peak)

    def hint(self, X: np.ndarray) -> None:
        m, p = self.model, self.p
        m.clear_hints()
        values = X[self.pairs[:, 0], self.pairs[:, 1]].tolist()
        for var, value in zip(self.x, values):
            m.add_hint(var, value)
        per_shape = X.sum(axis=1).tolist()
        for var, value in zip(self.placed, per_shape):
            m.add_hint(var, value)
        load = X.sum(axis=0)
        for node, var in self.used.items():
            m.add_hint(var, bool(load[node] > 0))
        for g, pair in zip(p.spreads, self.spread_vars):
            if pair is not None:
                cnt = _domain_counts(g, X)[g.eligible]
                m.add_hint(pair[0], int(cnt.min()))
                m.add_hint(pair[1], int(cnt.max()))
        for gang, on in zip(p.gangs, self.gang_vars):
            m.add_hint(on, bool(X[gang.shapes].sum() > 0))
        if self.peak is not None:
            m.add_hint(self.peak, _peak(p, X))

    def plan(self, solution: Sequence[int]) -> np.ndarray:
        X = np.zeros_like(self.p.cap)
        values = np.asarray(solution, np.int64)[self.x_index] if len(self.x_index) \
            else np.zeros(0, np.int64)
        X[self.pairs[:, 0], self.pairs[:, 1]] = values
        return X


class _Progress:
    """Turns CP-SAT's incumbents and bounds into the caller's terms and reports them
    when they improve."""

    def __init__(self, report: Callable[[int, int], Any] | None, to_user: Callable[[float], int],
                 own_bound: int, maximize: bool, incumbent: int | None) -> None:
        self.report = report
        self.to_user = to_user
        self.own = own_bound
        self.maximize = maximize
        self.incumbent = incumbent
        self.bound = own_bound
        self.error: BaseException | None = None
        self.solutions = 0
        self.last: tuple | None = None

    def tighten(self, solver_bound: float) -> None:
        value = self.to_user(solver_bound)
        self.bound = min(self.bound, value) if self.maximize else max(self.bound, value)

    def emit(self) -> None:
        if self.report is None or self.incumbent is None:
            return
        now = (self.incumbent, self.bound)
        if now != self.last:
            self.last = now
            try:
                self.report(*now)
            except BaseException as err:      # raised again once the solver returns
                self.error = self.error or err


def _solve_phase(model: _Model, budget: float, options: BatchOptions, workers: int,
                 progress: _Progress) -> dict[str, Any]:
    """One CP-SAT search; returns status name, plan, objective, bound, statistics."""
    cp = model.cp
    solver = cp.CpSolver()
    params = solver.parameters
    params.max_time_in_seconds = max(budget, 0.01)
    params.num_workers = workers
    params.random_seed = options.seed % (1 << 31)
    params.log_search_progress = False

    # a base class reached through a module-valued attribute: mypy cannot follow it
    class Callback(cp.CpSolverSolutionCallback):  # type: ignore[name-defined]
        def on_solution_callback(self) -> None:
            progress.solutions += 1
            progress.incumbent = progress.to_user(self.objective_value)
            progress.tighten(self.best_objective_bound)
            progress.emit()
            if progress.error is not None:
                self.stop_search()

    def on_bound(bound: float) -> None:
        progress.tighten(bound)
        progress.emit()

    try:
        solver.best_bound_callback = on_bound
    except AttributeError:   # older OR-Tools: bounds arrive with solutions only
        pass
    code = solver.solve(model.model, Callback())
    name = solver.status_name(code)
    response = solver.response_proto
    out = {"status": name, "plan": None, "value": None, "bound": None,
           "stats": {"conflicts": int(response.num_conflicts),
                     "branches": int(response.num_branches),
                     "wall_time": float(response.wall_time),
                     "deterministic_time": float(response.deterministic_time),
                     "solutions": progress.solutions}}
    if name in ("OPTIMAL", "FEASIBLE"):
        out["plan"] = model.plan(response.solution)
        out["value"] = solver.objective_value
        out["bound"] = solver.best_objective_bound
    if progress.error is not None:
        raise progress.error
    return out
