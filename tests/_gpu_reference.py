"""A plain Python replay of GPU tasks, the reference ``_kernels/gpusim.pyx`` is tested
against. Obviously right rather than fast: lists of free milli per device, the
paper simulator's formulas written out (hkust-adsl/kubernetes-scheduler-simulator,
``pkg/simulator/plugin/*_score.go``, ``pkg/utils/frag.go``).
"""

from __future__ import annotations

import math

MASK64 = (1 << 64) - 1


def splitmix(state: int) -> tuple[int, int]:
    """(new state, output) of SplitMix64, the kernel's generator."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def accessible(model: int, spec: int) -> bool:
    if spec == 0:
        return True
    return model >= 0 and bool((spec >> model) & 1)


def frag(free: list[int], cpu_left: int, model: int, shapes: list[tuple]) -> float:
    """Σ_m p_m × (free milli on devices smaller than m's share if the node can host
    m, else all free milli); shapes are (cpu, num_gpu, milli, spec, p)."""
    total = sum(free)
    if total == 0:
        return 0.0
    out = 0.0
    for cpu, num, milli, spec, p in shapes:
        hosts = (milli > 0 and accessible(model, spec) and cpu_left >= cpu
                 and sum(f >= milli for f in free) >= num)
        out += p * (sum(f for f in free if f < milli) if hosts else total)
    return out


def sigmoid_score(before: float, after: float) -> int:
    return int(1.0 / (1.0 + math.exp(-(before - after) / 1000.0)) * 100.0)


def fgd(free, cpu_left, model, task, shapes):
    cpu, _, num, milli, _ = task
    before = frag(free, cpu_left, model, shapes)
    if num == 1 and milli < 1000:
        best, dev = None, -1
        for d, f in enumerate(free):
            if f >= milli:
                after_free = list(free)
                after_free[d] -= milli
                s = sigmoid_score(before, frag(after_free, cpu_left - cpu, model, shapes))
                if best is None or s > best:
                    best, dev = s, d
        return best, dev
    after_free = list(free)
    left = num
    for d in sorted(range(len(free)), key=lambda d: free[d]):
        if left and milli and after_free[d] >= milli:
            after_free[d] -= milli
            left -= 1
    return sigmoid_score(before, frag(after_free, cpu_left - cpu, model, shapes)), -1


def packing(free, num, milli):
    if num == 0:
        return 0
    full = sum(f == 1000 for f in free)
    if full == len(free):
        return max(33 - full, full)
    use = [d for d in sorted(range(len(free)), key=lambda d: free[d]) if free[d] >= milli][:num]
    whole = sum(free[d] == 1000 for d in use)
    if whole:
        return max(50 - whole, 33)
    return max(100 - sum(free[d] * 100 // 1000 for d in use) // 10, 50)


def clustering(free, tags, num, milli):
    if num == 0:
        return 0
    tag = 0 if milli < 1000 else num
    kinds = sum(1 for c in tags if c > 0)
    base = (75 if kinds == 1 else 50) if tags[tag] > 0 else (25 if kinds == 0 else 0)
    return 25 * (8000 - sum(free)) // 8000 + base


def dotprod(cpu_left, free, cpu, req):
    dot = cpu_left / 128000 * (cpu / 128000) + sum(free) / 8000 * (req / 8000)
    return int(100.0 * (1.0 - dot / 2.0))


def bestfit_raw(cpu_left, free, cpu, req):
    return int((1.0 - ((cpu_left - cpu) / 128000 * 0.5 + (sum(free) - req) / 8000 * 0.5)) * 100.0)


def best_fit_device(free, milli):
    best = -1
    for d, f in enumerate(free):
        if f >= milli and (best < 0 or f < free[best]):
            best = d
    return best


def replay(policy: str, nodes: list[dict], tasks: list[tuple], shapes: list[tuple],
           rank: list[int], rng_state: int = 0):
    """Place ``tasks`` (cpu, mem, num_gpu, milli, spec) in order on ``nodes`` (dicts
    of cpu, mem, model, free: list of device milli; changed in place). Returns
    [(node or -1, device list)] and the milli allocated after each task."""
    tags = [[0] * 9 for _ in nodes]
    out, used_after, used = [], [], 0
    for task in tasks:
        cpu, mem, num, milli, spec = task
        share = num == 1 and milli < 1000
        fit = [n["cpu"] >= cpu and n["mem"] >= mem and (
            num == 0 or (len(n["free"]) > 0 and accessible(n["model"], spec)
                         and sum(f >= milli for f in n["free"]) >= num)) for n in nodes]
        rows = [i for i, ok in enumerate(fit) if ok]
        if not rows:
            out.append((-1, []))
            used_after.append(used)
            continue
        dev = -1
        if policy == "Random":
            rng_state, x = splitmix(rng_state)
            best = rows[x % len(rows)]
            if share:
                k = 0
                for d, f in enumerate(nodes[best]["free"]):
                    if f >= milli:
                        k += 1
                        rng_state, x = splitmix(rng_state)
                        if x % k == 0:
                            dev = d
        else:
            scores, devs = {}, {}
            for i in rows:
                n = nodes[i]
                devs[i] = -1
                if policy == "FGD":
                    scores[i], devs[i] = fgd(n["free"], n["cpu"], n["model"], task, shapes)
                elif policy == "DotProd":
                    scores[i] = dotprod(n["cpu"], n["free"], cpu, num * milli)
                elif policy == "GpuClustering":
                    scores[i] = clustering(n["free"], tags[i], num, milli)
                elif policy == "GpuPacking":
                    scores[i] = packing(n["free"], num, milli)
                else:
                    scores[i] = bestfit_raw(n["cpu"], n["free"], cpu, num * milli)
            if policy == "BestFit":
                lo, hi = min(scores.values()), max(scores.values())
                scores = {i: ((s - lo) * 100 // (hi - lo) if hi > lo else 0) for i, s in scores.items()}
            top = max(scores.values())
            best = min((i for i in rows if scores[i] == top), key=lambda i: rank[i])
            dev = devs[best] if policy == "FGD" else best_fit_device(nodes[best]["free"], milli)
        n = nodes[best]
        if num == 0:
            got = []
        elif share:
            got = [dev]
            tags[best][0] += 1
        else:
            got = [d for d, f in enumerate(n["free"]) if f == 1000][:num]
            tags[best][num] += 1
        for d in got:
            n["free"][d] -= milli
        n["cpu"] -= cpu
        n["mem"] -= mem
        used += num * milli
        out.append((best, got))
        used_after.append(used)
    return out, used_after
