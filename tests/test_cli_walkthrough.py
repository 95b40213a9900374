"""Runs tests/cli/walkthrough.sh once and checks what a shell user would see.

The script drives every command through real processes (pipes, ``-`` for stdin,
``-f``, ``-o``); here each step's exit status is compared with the documented one,
every JSON report is validated against :data:`fastsched.cli.schemas.SCHEMAS` with a
small validator written for the vocabulary those schemas use, and no step may print
a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from fastsched.cli._bppfiles import FORMATS
from fastsched.cli.schemas import API_VERSION, SCHEMAS
from fastsched.routing import METHODS
from fastsched.sim import POLICIES
from fastsched.solver.batch.options import OBJECTIVES

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "cli" / "walkthrough.sh"
EXAMPLES = ROOT / "examples"

# step -> documented exit status: 0 all placed, 3 some pods unschedulable, 2 usage or
# input error (``fastsched --help`` lists them)
STATUS = {
    "demo": 0, "inspect-json": 0, "inspect-yaml": 0, "inspect-name": 0,
    "schedule-table": 0, "schedule-wide": 0, "schedule-json": 0, "schedule-name": 0,
    "solve-json": 0, "solve-table": 0, "route-table": 0, "route-json": 0,
    "binpack-table": 0, "binpack-json": 0, "simulate-json": 0, "simulate-table": 0,
    "sweep-json": 0, "timed-json": 0,
    "schedule-stdin": 0, "inspect-stdin": 0, "route-stdin": 0, "binpack-stdin": 0,
    "bindings-stdout": 0, "bindings-file": 0,
    "unschedulable": 3, "unschedulable-ok": 0, "solve-unplaced": 3,
    "solve-unplaced-ok": 0,
    "bad-missing-file": 2, "bad-yaml": 2, "bad-option": 2, "bad-output": 2,
    "bad-command": 2, "bad-no-manifests": 2, "bad-service": 2, "bad-binpack": 2,
    "bad-two-stdins": 2, "bad-sim-row": 2, "bad-sim-policy": 2,
    "plan-drain": 3, "plan-scale": 3, "plan-like": 0, "plan-bindings": 0,
    "bad-plan-node": 2, "bad-plan-scale": 2, "plan-consolidate": 0,
    "bad-plan-consolidate": 2,
}
JSON_KIND = {
    "inspect-json": "InspectReport", "inspect-stdin": "InspectReport",
    "schedule-json": "ScheduleReport", "schedule-stdin": "ScheduleReport",
    "unschedulable": "ScheduleReport", "solve-json": "SolveReport",
    "solve-unplaced": "SolveReport", "route-json": "RouteReport",
    "binpack-json": "BinPackReport", "simulate-json": "SimulateReport",
    "sweep-json": "SweepReport", "timed-json": "TimedReport", "plan-drain": "PlanReport",
    "plan-consolidate": "PlanReport",
}
YAML_KIND = {"inspect-yaml": "InspectReport", "binpack-stdin": "BinPackReport",
             "plan-scale": "PlanReport"}

_TYPES: dict[str, Any] = {
    "object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
    "number": (int, float), "integer": int,
}


def schema_errors(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """What in ``value`` breaks ``schema`` (type, const, enum, required, properties,
    items, additionalProperties): one line per error, empty when it conforms."""
    errors: list[str] = []
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        bool_ok = "boolean" in names
        if not any(isinstance(value, _TYPES[n]) for n in names) or (
                isinstance(value, bool) and not bool_ok):
            return [f"{path}: {value!r:.60} is not {'/'.join(names)}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: {value!r} != {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, dict):
        errors += [f"{path}: missing {k!r}" for k in schema.get("required", [])
                   if k not in value]
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for k, v in value.items():
            if k in props:
                errors += schema_errors(v, props[k], f"{path}.{k}")
            elif isinstance(extra, dict):
                errors += schema_errors(v, extra, f"{path}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            errors += schema_errors(v, schema["items"], f"{path}[{i}]")
    return errors


def test_the_validator_catches_what_it_should() -> None:
    schema = SCHEMAS["RouteReport"]
    good = {"apiVersion": API_VERSION, "kind": "RouteReport", "version": 1,
            "service": "d/s", "method": "maglev", "tableSize": None, "endpoints": [],
            "routes": [{"key": "k", "pod": "d/p", "node": "n", "endpoint": 0}]}
    assert schema_errors(good, schema) == []
    bad = dict(good, method="md5", version=2, routes=[{"key": 1, "pod": "d/p"}])
    del bad["service"]
    found = "\n".join(schema_errors(bad, schema))
    for part in ("$.method", "$.version", "missing 'service'", "$.routes[0].key",
                 "missing 'node'"):
        assert part in found
    assert schema_errors(True, {"type": "integer"})  # bool is not an integer here


def test_the_schemas_name_what_the_code_accepts() -> None:
    assert SCHEMAS["RouteReport"]["properties"]["method"]["enum"] == list(METHODS)
    assert set(SCHEMAS["BinPackReport"]["properties"]["format"]["enum"]) == set(FORMATS)
    assert SCHEMAS["SolveReport"]["properties"]["objective"]["enum"] == list(OBJECTIVES)
    assert SCHEMAS["SimulateReport"]["properties"]["policy"]["enum"] == list(POLICIES)
    for kind, schema in SCHEMAS.items():
        assert schema["properties"]["kind"] == {"const": kind}
        assert {"apiVersion", "kind", "version"} <= set(schema["required"])


def _fastsched() -> str:
    script = Path(sys.executable).with_name("fastsched")
    if script.exists():
        return str(script)
    return shutil.which("fastsched") or f"{sys.executable} -m fastsched"


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("bash") is None:
        pytest.skip("bash is not available")
    out = tmp_path_factory.mktemp("walkthrough")
    env = dict(os.environ, FASTSCHED=_fastsched(), PYTHONWARNINGS="ignore")
    subprocess.run(["bash", str(SCRIPT), str(EXAMPLES), str(out)], env=env,
                   check=True, timeout=600, stdin=subprocess.DEVNULL)
    return out


def _read(out: Path, name: str, part: str) -> str:
    return (out / f"{name}.{part}").read_text()


def test_every_step_ran_and_exited_as_documented(steps: Path) -> None:
    ran = {p.stem for p in steps.glob("*.rc")}
    assert ran == set(STATUS), "the walkthrough and this table must name the same steps"
    got = {name: int(_read(steps, name, "rc")) for name in STATUS}
    assert got == STATUS, {n: (_read(steps, n, "err")[-300:]) for n in STATUS
                           if got[n] != STATUS[n]}


def test_no_step_prints_a_traceback(steps: Path) -> None:
    for name in STATUS:
        for part in ("out", "err"):
            assert "Traceback" not in _read(steps, name, part), (name, part)


@pytest.mark.parametrize("name", sorted(JSON_KIND))
def test_json_reports_match_their_schema(steps: Path, name: str) -> None:
    report = json.loads(_read(steps, name, "out"))
    kind = JSON_KIND[name]
    assert report["kind"] == kind
    assert schema_errors(report, SCHEMAS[kind]) == []


@pytest.mark.parametrize("name", sorted(YAML_KIND))
def test_yaml_reports_match_their_schema(steps: Path, name: str) -> None:
    report = yaml.safe_load(_read(steps, name, "out"))
    assert schema_errors(report, SCHEMAS[YAML_KIND[name]]) == []


def test_stdin_gives_the_same_answer_as_files(steps: Path) -> None:
    from_files = json.loads(_read(steps, "schedule-json", "out"))
    from_stdin = json.loads(_read(steps, "schedule-stdin", "out"))
    assert from_stdin["placements"] == from_files["placements"]
    assert _read(steps, "route-stdin", "out") == _read(steps, "route-table", "out")
    piped = yaml.safe_load(_read(steps, "binpack-stdin", "out"))
    assert piped["bins"] == json.loads(_read(steps, "binpack-json", "out"))["bins"]


def test_the_reports_say_what_happened(steps: Path) -> None:
    stuck = json.loads(_read(steps, "unschedulable", "out"))
    assert [u["pod"] for u in stuck["unschedulable"]] == ["default/huge"]
    assert "Insufficient cpu" in stuck["unschedulable"][0]["message"]
    unplaced = json.loads(_read(steps, "solve-unplaced", "out"))
    assert unplaced["unplaced"] == ["default/huge"]
    assert unplaced["unplacedReasons"][0]["pod"] == "default/huge"
    # the BPPLIB instance 5 items of capacity 10: 6+4, 5+3+2 -> 2 bins, proven
    packed = json.loads(_read(steps, "binpack-json", "out"))
    assert (packed["bins"], packed["lowerBound"], packed["format"]) == (2, 2, "bpplib")
    names = _read(steps, "schedule-name", "out").split()
    placed = json.loads(_read(steps, "schedule-json", "out"))["placements"]
    assert len(names) == len(placed) and all(n.startswith("pod/") for n in names)


def test_bindings_go_to_stdout_or_a_file(steps: Path) -> None:
    docs = [d for d in yaml.safe_load_all(_read(steps, "bindings-stdout", "out")) if d]
    assert docs and all(d["kind"] == "Binding" for d in docs)
    saved = json.loads((steps / "bindings.json").read_text())
    items = saved["items"] if isinstance(saved, dict) else saved
    assert sorted(d["metadata"]["name"] for d in items) == sorted(
        d["metadata"]["name"] for d in docs)


def test_errors_are_one_clear_line(steps: Path) -> None:
    expect = {"bad-option": "did you mean --profile", "bad-command": "did you mean",
              "bad-missing-file": "no-such-file.yaml", "bad-yaml": "broken.yaml",
              "bad-binpack": "broken.txt", "bad-service": "nope",
              "bad-sim-row": "bad-pods.csv: row 1, column 'gpu_milli'",
              "bad-sim-policy": "Tetris", "bad-plan-node": "drain[0]: no node named 'worker-z'",
              "bad-plan-scale": "prod/nope", "bad-plan-consolidate": "needs --catalog"}
    for name, part in expect.items():
        err = _read(steps, name, "err")
        assert part in err, (name, err)
        assert _read(steps, name, "out") == "", name


def test_the_plans_answer_the_questions(steps: Path) -> None:
    drain = json.loads(_read(steps, "plan-drain", "out"))
    assert drain["edits"]["drained"] == ["worker-b"]        # the one node of eu-west-1b
    assert "prod/ledger-0" in drain["displaced"]           # its StatefulSet pod, pending again
    assert drain["after"]["cordoned"] == 1 and not drain["fits"]
    scale = yaml.safe_load(_read(steps, "plan-scale", "out"))
    assert scale["edits"]["scaled"] == {"prod/web": {"from": 6, "to": 500}}
    plan = scale["provision"]
    assert plan["newNodes"] and not plan["unplaceable"]
    assert len(plan["assignment"]) == scale["summary"]["unschedulable"]
    assert "everything fits" in _read(steps, "plan-like", "out")
    docs = [d for d in yaml.safe_load_all(_read(steps, "plan-bindings", "out")) if d]
    nodes = [d["metadata"]["name"] for d in docs if d["kind"] == "Node"]
    assert nodes == ["m5.xlarge-0", "m5.xlarge-1"]
    bound = {d["target"]["name"] for d in docs if d["kind"] == "Binding"}
    assert set(nodes) <= bound               # each new node gets at least its DaemonSet pod
    merged = json.loads(_read(steps, "plan-consolidate", "out"))["consolidation"]
    assert merged["removed"] and merged["savingPerHour"] > 0
    assert merged["costAfter"] >= merged["lowerBound"] - 1e-9
    assert not any(m["pod"].startswith("kube-system/kube-proxy") for m in merged["moved"])
