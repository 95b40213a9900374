"""Manifest loading: what the limits of ``fastsched._documents`` cost on a large
ordinary manifest, and how fast hostile documents are refused.

    python bench/bench_manifests.py [--nodes 2000] [--pods 10000] [--rounds 3]
    pytest bench/bench_manifests.py          # a smoke test on a small manifest

The manifest is 2,000 Nodes and 10,000 Pods (half bound, each with labels, a
container with requests and limits, a toleration and a node-affinity preference),
written once as a multi-document YAML stream and once as a JSON ``List``. Side by
side in one run, best of ``--rounds`` in CPU seconds (``time.process_time``, steadier
than wall time on a shared machine):

* parsing alone, the old way (PyYAML's ``CSafeLoader``, ``json.loads``) against
  ``parse_documents`` (the same parsers plus duplicate-key, depth, alias and integer
  checks);
* the whole ``load_manifests``;
* refusing a 1 KB nested-alias bomb that stands for 10**9 pods, a JSON array 5,000
  deep and a 5,000-digit integer.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import yaml

from fastsched import ValidationError, load_manifests
from fastsched._documents import parse_documents

_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def node(i: int) -> dict:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": f"node-{i}",
                         "labels": {"topology.kubernetes.io/zone": f"z{i % 3}",
                                    "kubernetes.io/hostname": f"node-{i}",
                                    "node.kubernetes.io/instance-type": "m5.xlarge"}},
            "spec": {"taints": [{"key": "spot", "value": "true", "effect": "NoSchedule"}]
                     if i % 7 == 0 else []},
            "status": {"allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "110"},
                       "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"}}}


def pod(i: int, nodes: int) -> dict:
    container = {"name": "main", "image": f"registry/app-{i % 50}:1.0",
                 "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                               "limits": {"cpu": "200m", "memory": "256Mi"}},
                 "env": [{"name": "A", "value": "1"}]}
    zone = {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["z0", "z1"]}
    spec: dict = {"containers": [container],
                  "tolerations": [{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}],
                  "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                      {"weight": 10, "preference": {"matchExpressions": [zone]}}]}}}
    if i % 2:
        spec["nodeName"] = f"node-{i % nodes}"
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"pod-{i}", "labels": {"app": f"app-{i % 50}", "tier": "web"}},
            "spec": spec}


def manifests(nodes: int, pods: int) -> tuple[str, str]:
    """The manifest as YAML and as JSON text."""
    docs = [node(i) for i in range(nodes)] + [pod(i, nodes) for i in range(pods)]
    as_yaml = yaml.dump_all(docs, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
                            explicit_start=True, sort_keys=False)
    return as_yaml, json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})


def bomb(levels: int = 9, width: int = 10) -> str:
    lines = ["apiVersion: v1", "kind: List", "items:",
             "- &p0 {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: "
             "[{name: c}]}}"]
    lines += [f"- &p{k} {{apiVersion: v1, kind: List, items: "
              f"[{', '.join([f'*p{k - 1}'] * width)}]}}" for k in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def best(call, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return min(times)


def refused(text: str) -> float:
    start = time.process_time()
    try:
        load_manifests(text)
    except ValidationError:
        return time.process_time() - start
    raise AssertionError("not refused")


def run(nodes: int, pods: int, rounds: int) -> list[str]:
    as_yaml, as_json = manifests(nodes, pods)
    warnings.simplefilter("ignore")
    plain_yaml = lambda: list(yaml.load_all(as_yaml, Loader=_BASE_LOADER))  # noqa: E731
    plain_json = lambda: json.loads(as_json)  # noqa: E731
    checked_yaml = lambda: list(parse_documents(as_yaml, "y"))  # noqa: E731
    checked_json = lambda: list(parse_documents(as_json, "j"))  # noqa: E731
    lines = [f"manifest: {nodes:,} nodes + {pods:,} pods; YAML {len(as_yaml) / 1e6:.1f} MB, "
             f"JSON {len(as_json) / 1e6:.1f} MB; CPU seconds, best of {rounds}"]
    for name, plain, checked, text in (("YAML", plain_yaml, checked_yaml, as_yaml),
                                       ("JSON", plain_json, checked_json, as_json)):
        # interleaved, so that a busy machine slows both alike
        a = min(best(plain, 1) for _ in range(rounds))
        b = min(best(checked, 1) for _ in range(rounds))
        whole = best(lambda: load_manifests(text), rounds)
        lines.append(f"  {name}: parse {a:.3f} s plain, {b:.3f} s checked "
                     f"({100 * (b / a - 1):+.0f}%); load_manifests {whole:.3f} s (the checks: "
                     f"{100 * (b - a) / whole:.1f}% of it)")
    deep, digits = "[" * 5000 + "]" * 5000, "kind: Node\nx: " + "9" * 5000 + "\n"
    lines.append(f"  refused: alias bomb ({len(bomb())} bytes, 10^10 values) in "
                 f"{refused(bomb()):.4f} s; JSON 5,000 deep in {refused(deep):.4f} s; "
                 f"a 5,000-digit integer in {refused(digits):.4f} s")
    return lines


def test_manifests_smoke():
    lines = run(20, 100, 1)
    assert len(lines) == 4 and "refused" in lines[-1]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("\n".join(run(args.nodes, args.pods, args.rounds)))
