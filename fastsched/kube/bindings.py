"""Bindings out: placements as ``v1 Binding`` objects, and as YAML or JSON text."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from .._validation import check_choice, check_str
from ..cluster.cluster import Cluster
from ..errors import ValidationError
from ..model._objects import DEFAULT_NAMESPACE
from ..model.pod import Pod

__all__ = ["to_bindings", "dump_bindings"]

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

def to_bindings(assignments: Any, *, new_only: bool = False) -> list[dict[str, Any]]:
    """``v1 Binding`` objects (plain dicts) for pod placements.

    ``assignments`` is a :class:`~fastsched.Cluster` (every pod bound in it), a
    mapping of pod to node name, or an iterable of ``(pod, node_name)`` pairs; a pod
    is a :class:`~fastsched.Pod` or a ``"namespace/name"`` string. With
    ``new_only``, pods whose spec already named their node (as loaded from a
    snapshot) are left out: the API server would refuse to bind them again.
    """
    if isinstance(assignments, Cluster):
        pairs: Iterable[Any] = assignments.bindings()
    elif isinstance(assignments, Mapping):
        pairs = assignments.items()
    elif isinstance(assignments, Iterable) and not isinstance(assignments, (str, bytes)):
        pairs = assignments
    else:
        raise ValidationError("expected a Cluster, a mapping of pod to node name or "
                              f"(pod, node name) pairs, got {type(assignments).__name__}",
                              "assignments")
    out = []
    for i, pair in enumerate(pairs):
        where = f"assignments[{i}]"
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ValidationError(f"expected a (pod, node name) pair, got {pair!r}", where)
        pod, node = pair
        if isinstance(pod, Pod):
            if new_only and pod.node_name:
                continue
            namespace, name = pod.namespace, pod.name
        elif isinstance(pod, str) and pod:
            namespace, _, name = pod.rpartition("/")
            namespace = namespace or DEFAULT_NAMESPACE
        else:
            raise ValidationError(f"expected a Pod or a 'namespace/name' string, got {pod!r}",
                                  f"{where}[0]")
        check_str(node, f"{where}[1]", allow_empty=False)
        out.append({
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name, "namespace": namespace},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        })
    return out


def dump_bindings(bindings: Iterable[Mapping[str, Any]], format: str = "yaml") -> str:
    """Bindings as text: a multi-document YAML stream (``---`` before each), or JSON
    (a ``v1 List``), for ``kubectl create -f``."""
    check_choice(format, "format", ("yaml", "json"))
    items = [dict(b) for b in bindings]
    if format == "json":
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=2) + "\n"
    if not items:
        return ""
    return yaml.dump_all(items, Dumper=_DUMPER, explicit_start=True, sort_keys=False,
                         default_flow_style=False)
