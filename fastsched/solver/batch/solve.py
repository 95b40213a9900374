"""``solve_batch``: validate the input once, build the problem, then search it
level by level (greedy plan, CP-SAT on the whole model, large-neighbourhood
search) and report.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..._validation import FrozenMap
from ...cluster.cluster import Cluster
from ...errors import ValidationError
from ...model.pod import Pod
from ..status import Status, gap
from .bounds import _least_demand, _nodes_bound, _peak_bound, _placed_bound
from .cpsat import _Model, _Progress, _solve_phase
from .evaluate import _evaluate, _spread_ok
from .greedy import _greedy
from .groups import AntiAffinity, Gang, Spread, _group_list
from .lns import _Lns
from .options import BatchOptions
from .problem import _final_pods, _names, _Problem, _problem
from .result import BatchResult
from .symmetry import _canonical, _symmetry_classes

_PHASE1_SHARE = 0.5        # of the search time, when the most pods placed needs proving
_REPORT_RESERVE = 0.05     # seconds kept back for reading the solution and the report
_REPORT_PER_VAR = 2e-6     # ... plus this much per variable
_WHOLE_SHARE = 0.15        # of the "min_nodes" search time for the whole model, before LNS
_GREEDY_SHARE = 0.5        # of the time limit at most for the greedy plan's slow passes
_BUILD_PER_VAR = 2e-5      # seconds to build the model, per (shape, node) variable


def solve_batch(cluster: Cluster, pods: Iterable[Pod], *, objective: str = "min_nodes",
                time_limit: float = 10.0, workers: int | None = None, seed: int = 0,
                gangs: Any = None, spread: Any = None, anti_affinity: Any = None,
                hint: str | None = "greedy",
                progress: Callable[[int, int], Any] | None = None) -> BatchResult:
    """Place ``pods`` on ``cluster`` at once, optimizing ``objective``; see the module
    docstring for what is respected and how objectives are ranked.

    ``time_limit`` bounds the whole call (it returns within about a second more);
    ``workers`` is CP-SAT's number of search workers (default: the CPU count), and the
    number of neighbourhoods the large-neighbourhood search explores at once;
    ``seed`` its random seed. ``gangs``, ``anti_affinity``, ``spread``: one group, a
    list, or a mapping of name to group (``Gang``, ``AntiAffinity``, ``Spread``, a
    dict of their fields or a tuple of them). ``hint="greedy"`` starts the search
    from a greedy plan, also returned if the search finds nothing better; ``None``
    searches from scratch. ``progress(incumbent, bound)`` is called as either
    improves, in the objective's terms. A pod object given several times stands for
    replicas, named ``<name>-<position in pods>``; other pods need unique keys not
    bound in the cluster. Nothing changes in the cluster: see ``BatchResult.apply``.
    """
    start = time.perf_counter()
    # data: validate everything once
    if not isinstance(cluster, Cluster):
        raise ValidationError(f"expected a Cluster, got {type(cluster).__name__}", "cluster")
    options = BatchOptions(objective, time_limit, workers, seed, hint)
    if progress is not None and not callable(progress):
        raise ValidationError(f"expected a callable or None, got {type(progress).__name__}",
                              "progress")
    if isinstance(pods, (str, bytes, Pod)) or not isinstance(pods, Iterable):
        raise ValidationError(f"expected a list of Pods, got {type(pods).__name__}", "pods")
    pods = list(pods)
    n_workers = options.workers or os.cpu_count() or 1
    objects, of = _names(cluster, pods)
    groups = (_group_list(gangs, Gang, "gangs"),
              _group_list(anti_affinity, AntiAffinity, "anti_affinity"),
              _group_list(spread, Spread, "spread"))
    final = _final_pods(cluster, pods, objects, of)
    p = _problem(cluster, pods, objects, of, *groups, objective=options.objective)
    return _search(p, final, options, n_workers, progress, start)


def _reserve(model: _Model) -> float:
    """Seconds to keep back after a search: reading the plan and the report."""
    return _REPORT_RESERVE + _REPORT_PER_VAR * len(model.x)


def _aggregate_room(model: _Model, target: int) -> None:
    """A redundant cut for "min_nodes" with every pod placed: per resource, the free
    room of the empty nodes opened covers what the nodes in use cannot hold."""
    p, m = model.p, model.model
    if not model.used:
        return
    rows = sorted(model.used)
    demand = _least_demand(p, target)
    in_use = p.eligible & p.fixed_used
    for r in p.cols.tolist():
        rest = int(math.ceil(demand[r] - 1e-9)) - int(p.rem[in_use, r].sum())
        if rest > 0:
            m.add(model.cp.LinearExpr.weighted_sum(
                [model.used[i] for i in rows], p.rem[rows, r].tolist()) >= rest)


def _assign(p: _Problem, X: np.ndarray | None, count: int) -> list[str | None]:
    """Node per pod: within a shape, pods in input order to nodes in row order."""
    out: list[str | None] = [None] * count
    if X is None:
        return out
    names = p.node_names
    for s in range(p.S):
        rows = np.flatnonzero(X[s])
        if not len(rows):
            continue
        targets = np.repeat(rows, X[s, rows]).tolist()
        positions = np.flatnonzero(p.pod_shape == s).tolist()
        for t, row in zip(positions, targets):
            out[t] = names[row]
    return out


def _search(p: _Problem, final: list[Pod], options: BatchOptions, workers: int,
            progress: Callable[[int, int], Any] | None, start: float) -> BatchResult:
    objective = options.objective
    deadline = start + options.time_limit
    fixed = int(np.count_nonzero(p.fixed_used)) - p.offset
    total_weight = int((p.count * p.weight).sum())
    classes = _symmetry_classes(p)
    stats: dict[str, Any] = {"shapes": p.S, "nodes": p.n, "pods": len(final),
                             "symmetry_classes": len(classes),
                             "symmetric_nodes": int(sum(len(c) for c in classes)),
                             "num_variables": 0, "num_constraints": 0, "phases": []}

    # the greedy plan: the search's hint, and the fallback
    best = None
    if options.hint == "greedy":
        # The greedy plan gets part of the budget; past it, its slow passes give way.
        # (At least a quarter second: small batches keep the whole greedy plan even at
        # time_limit=0, whose answer is that plan.)
        greedy_until = start + max(_GREEDY_SHARE * options.time_limit, 0.25)
        X = _canonical(_greedy(p, objective, greedy_until), classes)
        if _spread_ok(p, X):           # only fails when running pods already break a spread
            best = X
            stats["greedy"] = _evaluate(p, X)
    stats["greedy_time"] = time.perf_counter() - start
    searching = options.time_limit > 0 and p.S > 0 and p.n > 0
    model: _Model | None = None

    def build() -> _Model:
        t = time.perf_counter()
        built = _Model(p, objective, classes)
        stats["build_time"] = time.perf_counter() - t
        stats["num_variables"] = len(built.model.proto.variables)
        stats["num_constraints"] = len(built.model.proto.constraints)
        return built

    def room_to_build() -> bool:
        """Whether building the model (Python per variable) and a short search fit in
        the time left; else the greedy plan is the answer, with its bound."""
        if model is not None:
            return True
        variables = int(np.count_nonzero(p.cap > 0))
        cost, left = _BUILD_PER_VAR * variables, deadline - time.perf_counter()
        if left > 2 * cost:
            return True
        stats.setdefault("skipped", []).append(
            f"search: building {variables} variables would take about {cost:.1f} s of the "
            f"{max(left, 0):.1f} s left")
        return False

    def budget(share: float = 1.0) -> float:
        assert model is not None
        return (deadline - time.perf_counter() - _reserve(model)) * share

    # level 1: the most weight placed (free when the greedy plan places every pod)
    level1 = _evaluate(p, best)["placed_weight"] if best is not None else None
    level1_bound = _placed_bound(p)
    stats["own_placed_bound"] = level1_bound
    infeasible = False
    value: int | None
    if searching and (level1 is None or level1 < level1_bound) and room_to_build():
        model = build()
        seconds = budget(1.0 if objective == "max_placed" else _PHASE1_SHARE)
        if seconds > 0.01:
            model.model.maximize(model.weighted)
            if best is not None:
                model.hint(best)
            tracker = _Progress(progress if objective == "max_placed" else None,
                                lambda v: int(round(v)), level1_bound, True, level1)
            tracker.emit()
            out = _solve_phase(model, seconds, options, workers, tracker)
            stats["phases"].append({"objective": "max_placed", "status": out["status"],
                                    **out["stats"]})
            if out["status"] == "INFEASIBLE":
                infeasible, best, level1 = True, None, None
            elif out["plan"] is not None:
                candidate = _canonical(out["plan"], classes)
                value = _evaluate(p, candidate)["placed_weight"]
                if level1 is None or value > level1:
                    best, level1 = candidate, value
                level1_bound = min(level1_bound, int(math.floor(out["bound"] + 1e-6)))
                if out["status"] == "OPTIMAL":
                    level1_bound = level1
    level1_proved = level1 is not None and level1 >= level1_bound
    if level1_proved:
        assert level1 is not None
        level1_bound = level1

    # level 2: fewest nodes in use or lowest peak, among plans placing as much
    value = bound = None
    proved = False
    if objective == "max_placed":
        value, bound, proved = level1, level1_bound, level1_proved
    elif best is not None:
        target = level1
        assert target is not None
        evaluate = (lambda X: _evaluate(p, X)["nodes"]) if objective == "min_nodes" \
            else (lambda X: _evaluate(p, X)["peak"])
        own = _nodes_bound(p, target) if objective == "min_nodes" else _peak_bound(p, target)
        stats["own_bound"] = own
        value, bound = evaluate(best), own
        if progress is not None:
            _Progress(progress, int, bound, False, value).emit()
        if searching and value > bound and time.perf_counter() < deadline and room_to_build():
            model = model or build()
            m = model.model
            if target >= total_weight:
                for var, c in zip(model.placed, p.count.tolist()):
                    m.add(var == c)
                if objective == "min_nodes":
                    _aggregate_room(model, target)
            else:
                m.add(model.weighted >= target)
            if objective == "min_nodes":
                m.minimize(sum(model.used.values()) + fixed)
            else:
                assert model.peak is not None       # built for the "balance" objective
                m.minimize(model.peak)
            model.hint(best)
            # for "min_nodes" the whole model mostly proves the bound; LNS then packs
            lns = objective == "min_nodes"
            seconds = budget(_WHOLE_SHARE if lns else 1.0)
            tracker = _Progress(progress, lambda v: int(round(v)), own, False, value)
            if seconds > 0.01:
                out = _solve_phase(model, seconds, options, workers, tracker)
                stats["phases"].append({"objective": objective, "status": out["status"],
                                        **out["stats"]})
                if out["plan"] is not None:
                    candidate = _canonical(out["plan"], classes)
                    v = evaluate(candidate)
                    if v <= value and _evaluate(p, candidate)["placed_weight"] >= target:
                        best, value = candidate, v
                    bound = max(bound, int(math.ceil(out["bound"] - 1e-6)))
                    if out["status"] == "OPTIMAL":
                        bound = max(bound, value)
            if lns and value > bound:
                search = _Lns(p, best, options, workers)

                def improved(v: int) -> None:
                    assert bound is not None        # set above, before the search
                    tracker.incumbent, tracker.bound = v, bound
                    tracker.emit()
                    if tracker.error is not None:
                        raise tracker.error

                candidate = _canonical(search.run(deadline - _reserve(model), bound,
                                                  improved), classes)
                search.stats["status"] = "OPTIMAL" if search.value <= bound else "FEASIBLE"
                stats["phases"].append(search.stats)
                if evaluate(candidate) <= value:
                    best, value = candidate, evaluate(candidate)
        bound = min(bound, value)           # a bound never passes what a plan achieves
        proved = bound >= value

    # report
    if infeasible:
        status, value, bound = Status.INFEASIBLE, None, None
    elif best is None:
        status, value = Status.UNKNOWN, None
        bound = level1_bound if objective == "max_placed" else None
    else:
        status = Status.OPTIMAL if level1_proved and proved else Status.FEASIBLE
    evaluation = _evaluate(p, best) if best is not None else \
        {"placed_weight": 0, "placed": 0, "nodes": fixed, "peak": 0}
    stats["conflicts"] = sum(ph["conflicts"] for ph in stats["phases"])
    stats["branches"] = sum(ph["branches"] for ph in stats["phases"])
    stats["peak_permille"] = evaluation["peak"]
    return BatchResult(
        status=status, objective=objective, pods=tuple(final),
        nodes=tuple(_assign(p, best, len(final))), objective_value=value,
        best_bound=bound, gap=gap(value, bound), placed=evaluation["placed"],
        placed_weight=evaluation["placed_weight"], placed_bound=level1_bound,
        nodes_before=fixed, nodes_after=evaluation["nodes"],
        wall_time=time.perf_counter() - start, workers=workers, options=options,
        stats=FrozenMap(stats))
