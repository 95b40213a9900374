"""The documented schemas of the reports ``-o json|yaml`` writes, as JSON Schema.

Every report starts with ``apiVersion: fastsched.io/v1``, a ``kind`` and a
``version`` (an integer). The contract: fields are only ever added; a field never
changes meaning or type without ``version`` changing. ``SCHEMAS[kind]`` is the
schema of one kind (JSON Schema, draft 2020-12 vocabulary: ``type``, ``required``,
``properties``, ``items``, ``enum``, ``const``, ``additionalProperties``); readers
should ignore fields they do not know, which is why ``additionalProperties`` is
never false.

=================  =========================  ==================================
kind               command                    holds
=================  =========================  ==================================
ScheduleReport     ``fastsched schedule``     placements, unschedulable pods with
                                              kube-scheduler's message, evictions
InspectReport      ``fastsched inspect``      nodes, bound and pending pods
SolveReport        ``fastsched solve``        the plan, its bound and gap, the
                                              unplaced pods and why, the online
                                              scheduler's answer
RouteReport        ``fastsched route``        the endpoint of each key
BinPackReport      ``fastsched binpack``      bins, proven bound, assignment
SimulateReport     ``fastsched simulate``     one trace experiment: the GPU
                                              allocation curve, final ratios
SweepReport        ``fastsched sweep``        every experiment of a grid
TimedReport        ``simulate --timed``       a time-based replay's summary
                                              and timeline
PlanReport         ``fastsched plan``         a what-if's edits, outcome,
                                              utilization before and after, the
                                              nodes to add for what does not fit
=================  =========================  ==================================
"""

from __future__ import annotations

from typing import Any

__all__ = ["SCHEMAS", "API_VERSION"]

API_VERSION = "fastsched.io/v1"

_INT = {"type": "integer"}
_NUM = {"type": "number"}
_STR = {"type": "string"}
_BOOL = {"type": "boolean"}
_KEY = {"type": "string", "description": "NAMESPACE/NAME"}


def _obj(required: dict[str, Any], **optional: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(required),
            "properties": {**required, **optional}}


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


def _maybe(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": [schema["type"], "null"]}


def _report(kind: str, **fields: Any) -> dict[str, Any]:
    schema = _obj({"apiVersion": {"const": API_VERSION}, "kind": {"const": kind},
                   "version": {"const": 1}, **fields})
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"{API_VERSION} {kind}"
    return schema


_AMOUNTS = {"type": "object", "additionalProperties": _INT,
            "description": "resource name -> integer amount (cpu in millicores, memory "
                           "and storage in bytes, counts as is)"}

SCHEMAS: dict[str, dict[str, Any]] = {
    "ScheduleReport": _report(
        "ScheduleReport",
        profiles=_list(_STR), seconds=_NUM,
        summary=_obj({"pending": _INT, "placed": _INT, "unschedulable": _INT,
                      "evicted": _INT, "notOurs": _INT}),
        placements=_list(_obj({"pod": _KEY, "node": _STR, "profile": _STR,
                               "score": _maybe(_INT)}, preempted=_list(_KEY))),
        unschedulable=_list(_obj({"pod": _KEY, "profile": _STR, "message": _STR,
                                  "reasons": {"type": "object",
                                              "additionalProperties": _INT}})),
        evictions=_list(_obj({"pod": _KEY, "node": _STR})),
        notOurs=_list(_obj({"pod": _KEY, "schedulerName": _STR}))),
    "InspectReport": _report(
        "InspectReport",
        nodes=_list(_obj({"name": _STR, "allocatable": _AMOUNTS, "requested": _AMOUNTS,
                          "labels": {"type": "object", "additionalProperties": _STR},
                          "taints": _list(_obj({"key": _STR, "value": _STR,
                                                "effect": _STR})),
                          "unschedulable": _BOOL})),
        pods=_obj({"bound": _list(_obj({"pod": _KEY, "node": _STR})),
                   "pending": _list(_KEY)}),
        services=_list(_KEY), skipped=_list(_STR)),
    "SolveReport": _report(
        "SolveReport",
        status={"enum": ["OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN"]},
        objective={"enum": ["max_placed", "min_nodes", "balance"]},
        objectiveValue=_maybe(_INT), bound=_maybe(_INT), gap=_maybe(_NUM), seconds=_NUM,
        workers=_INT,
        summary=_obj({"pending": _INT, "placed": _INT, "unplaced": _INT,
                      "nodesBefore": _INT, "nodesAfter": _INT}),
        placements=_list(_obj({"pod": _KEY, "node": _STR})),
        unplaced=_list(_KEY),
        unplacedReasons=_list(_obj({"pod": _KEY, "reason": _STR})),
        online=_obj({"placed": _INT, "nodesAfter": _INT, "seconds": _NUM})),
    "RouteReport": _report(
        "RouteReport",
        service=_KEY, method={"enum": ["maglev", "ketama", "rendezvous"]},
        tableSize=_maybe(_INT),
        endpoints=_list(_obj({"pod": _KEY, "node": _STR})),
        routes=_list(_obj({"key": _STR, "pod": _KEY, "node": _STR, "endpoint": _INT}))),
    "BinPackReport": _report(
        "BinPackReport",
        format={"enum": ["bpplib", "weight-count", "vbp", "capacity-first"]},
        formatSource={"enum": ["detected", "given"]},
        items=_INT, dimensions=_INT,
        capacity={"type": ["integer", "array"], "items": _INT},
        bins=_INT, lowerBound=_INT, optimal=_BOOL, gap=_NUM,
        status={"enum": ["OPTIMAL", "FEASIBLE"]}, method=_STR, seconds=_NUM,
        assignment=_list(_INT)),
    "SimulateReport": _report(
        "SimulateReport",
        policy={"enum": ["Random", "DotProd", "GpuClustering", "GpuPacking", "BestFit", "FGD"]},
        seed=_INT, inflate=_NUM, total_gpus=_INT,
        gpu_alloc_curve={"type": "array", "items": {"type": ["number", "null"]}},
        gpu_alloc_ratio=_NUM, frag_ratio=_NUM, cpu_alloc_ratio=_NUM, placed=_INT, failed=_INT,
        wall_s=_NUM, alloc_bound=_NUM, alloc_bound_status={"enum": [
            "lp", "milp-optimal", "milp-bound", "trivial"]}, headroom=_NUM,
        alloc_bound_curve={"type": "array", "items": {"type": ["number", "null"]}}),
}
_EXPERIMENT = {**SCHEMAS["SimulateReport"]["properties"], "workload": _STR, "variant": _STR}
for _k in ("apiVersion", "kind", "version"):
    del _EXPERIMENT[_k]
SCHEMAS["SweepReport"] = _report(
    "SweepReport", experiments=_list({"type": "object", "properties": _EXPERIMENT,
                                      "required": ["workload", "variant", "policy", "seed",
                                                   "gpu_alloc_curve", "gpu_alloc_ratio"]}))
SCHEMAS["TimedReport"] = _report(
    "TimedReport", policy=_STR, seed=_INT, speedup=_NUM, total_gpus=_INT, tasks=_INT, ran=_INT,
    never_ran=_INT, wait_s=_obj({"p50": _NUM, "p90": _NUM, "p99": _NUM, "max": _NUM}),
    mean_gpu_util=_NUM, peak_gpu_util=_NUM, peak_queue=_INT, wall_s=_NUM,
    timeline=_obj({"time": _list(_INT), "gpu_util": _list(_NUM), "queue": _list(_INT)}))
_SHARE = _obj({"requested": _INT, "allocatable": _INT, "share": _NUM})
_UTILIZATION = _obj({"nodes": _INT, "cordoned": _INT}, cpu=_SHARE, memory=_SHARE, pods=_SHARE,
                    pricePerHour=_NUM, unpriced=_INT)
_UTILIZATION["properties"]["types"] = {"type": "object", "additionalProperties": _UTILIZATION}
SCHEMAS["PlanReport"] = _report(
    "PlanReport", seconds=_NUM, fits=_BOOL,
    edits=_obj({"drained": _list(_STR), "removed": _list(_STR), "added": _list(_STR),
                "scaled": {"type": "object",
                           "additionalProperties": _obj({"from": _INT, "to": _INT})}}),
    summary=_obj({"pending": _INT, "placed": _INT, "unschedulable": _INT, "evicted": _INT,
                  "lost": _INT, "notOurs": _INT}),
    before=_UTILIZATION, after=_UTILIZATION,
    placements=_list(_obj({"pod": _KEY, "node": _STR})),
    unschedulable=_list(_obj({"pod": _KEY, "message": _STR})),
    evictions=_list(_obj({"pod": _KEY, "node": _STR})),
    lost=_list(_obj({"pod": _KEY, "reason": _STR})), gone=_list(_KEY), displaced=_list(_KEY),
    provision={"type": ["object", "null"], "properties": {
        "status": {"enum": ["OPTIMAL", "FEASIBLE", "INFEASIBLE"]},
        "newNodes": {"type": "object", "additionalProperties": _INT},
        "costPerHour": _NUM, "costPerMonth": _NUM, "lowerBound": _NUM, "gap": _NUM,
        "nodes": _list(_obj({"name": _STR, "type": _STR, "zone": _STR})),
        "assignment": {"type": "object", "additionalProperties": _STR},
        "unplaceable": _list(_obj({"pod": _KEY, "message": _STR}))}},
    consolidation=_obj({"status": {"enum": ["OPTIMAL", "FEASIBLE", "INFEASIBLE"]},
                        "removed": _list(_STR),
                        "added": _list(_obj({"name": _STR, "type": _STR, "zone": _STR})),
                        "moved": _list(_obj({"pod": _KEY, "from": _STR, "to": _STR})),
                        "costBefore": _NUM, "costAfter": _NUM, "savingPerHour": _NUM,
                        "savingPerMonth": _NUM, "lowerBound": _NUM, "gap": _NUM}))
# written only with ``fastsched plan --consolidate``
SCHEMAS["PlanReport"]["required"].remove("consolidation")
"""kind -> JSON Schema of the report."""
# written only with ``fastsched simulate --bound``
SCHEMAS["SimulateReport"]["required"] = [
    f for f in SCHEMAS["SimulateReport"]["required"] if not f.startswith(("alloc_bound", "headroom"))]
