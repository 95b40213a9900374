"""Column-generation diving: a packing heuristic aimed at the LP bound.

When the Gilmore–Gomory LP bound is tight (IRUP: optimum = ⌈LP⌉, true of
nearly all classic instances), its fractional solution points at an optimal
packing. Diving (Vanderbeck 2000; "residual rounding" in the cutting-stock
literature) follows it: solve the master LP by column generation, fix the
column nearest to an integer >= 1 (or, in alternate dives, every column at its
value rounded down) or else the column with the largest value, subtract them
from the demand and re-solve on the residual. After every LP, MBS' on the
residual items tries to finish the packing within the bins left. A dive is
abandoned as soon as the fixed bins plus the residual's LP bound exceed the
target; the next dive breaks ties at random (seeded).

Works for any capacity (pricing is the bounded-knapsack DP); each residual LP
starts from the columns of the previous one, so a dive costs a few LP solves.
"""

from __future__ import annotations

import math
import time

import numpy as np

from . import heuristics
from .bounds import ItemTypes, lp_bound

__all__ = ["dive"]

# An LP value this close to an integer counts as that integer.
_INT_EPS = 1e-6


def _one_dive(w: np.ndarray, demand: np.ndarray, capacity: int, target: int,
              pool: list[np.ndarray], deadline: float, rng: np.random.Generator | None,
              one_at_a_time: bool, converge: bool, max_columns: int | None
              ) -> list[np.ndarray] | None:
    d = demand.copy()
    fixed: list[np.ndarray] = []
    while d.sum() > 0:
        if time.monotonic() >= deadline:
            return None
        active = np.flatnonzero(d > 0)
        sub = ItemTypes(weights=w[active], demand=d[active],
                        type_of=np.zeros(0, dtype=np.int64))
        init = [np.minimum(c[active], d[active]) for c in pool]
        init = [c for c in init if c.any()]
        lp = lp_bound(sub, capacity, initial=init or None, deadline=deadline,
                      converge=converge, max_columns=max_columns)
        if len(fixed) + math.ceil(lp.value - _INT_EPS) > target:
            return None
        # Completion: MBS' on the residual items often packs them into the
        # bins left once the fixed columns have taken the awkward items.
        done = _complete(w, d, capacity, target - len(fixed), deadline)
        if done is not None:
            return fixed + done
        pats, x = lp.patterns, lp.x
        if x.size != pats.shape[0]:
            return None
        # Back to full type indices for the pool and the fixed bins.
        full = np.zeros((pats.shape[0], w.size), dtype=np.int64)
        full[:, active] = pats
        pool = [full[j] for j in np.flatnonzero(x > _INT_EPS)] + \
            [full[j] for j in np.flatnonzero(x <= _INT_EPS)][:200]
        whole = np.floor(x + _INT_EPS).astype(np.int64)
        if one_at_a_time and whole.sum() > 0:
            # Fix a single copy of the column nearest to an integer >= 1.
            cand = np.flatnonzero(whole)
            j = cand[int(np.argmin((x[cand] - whole[cand])))]
            whole[:] = 0
            whole[j] = 1
        if whole.sum() == 0:
            score = x.copy()
            if rng is not None:
                score = score * rng.uniform(0.7, 1.0, score.size)
            whole[int(np.argmax(score))] = 1
        for j in np.flatnonzero(whole):
            for _ in range(int(whole[j])):
                take = np.minimum(full[j], d)
                if take.any():
                    fixed.append(take)
                    d -= take
        if len(fixed) > target:
            return None
    return fixed


def _complete(w: np.ndarray, d: np.ndarray, capacity: int, room: int, deadline: float
              ) -> list[np.ndarray] | None:
    type_of = np.repeat(np.arange(w.size), d)
    if type_of.size == 0:
        return []
    sizes = w[type_of]
    nb, assign = heuristics.min_bin_slack(sizes, capacity, deadline=deadline)
    if nb > room:
        return None
    out = np.zeros((nb, w.size), dtype=np.int64)
    np.add.at(out, (assign, type_of), 1)
    return list(out)


def dive(types: ItemTypes, capacity: int, target: int, *, pool: list[np.ndarray],
         deadline: float, seed: int = 0, converge: bool = False,
         max_columns: int | None = None) -> list[np.ndarray] | None:
    """A packing into at most ``target`` bins as item-type count vectors (one per
    bin, exact: they sum to the demand), or None by ``deadline``. ``converge``
    solves every residual LP to optimality (better guidance, worth it when
    pricing is cheap) instead of stopping once its bound is settled;
    ``max_columns`` caps each residual LP's pattern table (memory)."""
    rng = None
    tries = 0
    while time.monotonic() < deadline:
        # Dives alternate between fixing one column per LP (careful, more LPs)
        # and fixing every column at value >= 1 at once (fast); the first two
        # are deterministic, later ones break ties at random.
        found = _one_dive(types.weights, types.demand, capacity, target, list(pool),
                          deadline, rng, one_at_a_time=tries % 2 == 0, converge=converge,
                          max_columns=max_columns)
        if found is not None:
            return found
        tries += 1
        if tries >= 2:
            rng = np.random.default_rng(seed + tries)
    return None
