"""Pods and nodes as JSON values, for commands and snapshots of the replicated log.

A pod becomes a ``v1 Pod`` dict (what :func:`fastsched.model.pod.pod_from_dict`
reads back), with requests written as Kubernetes quantities so the round trip is
exact; the one field a Pod manifest cannot carry, ``owner_selector``, rides
beside it. A node is its decoded :class:`~fastsched.NodeInfo` minus its pods, with
allocatable in scheduler units.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from .._validation import camel
from ..cluster.cluster import Cluster, NodeInfo
from ..errors import ValidationError
from ..model.pod import DEFAULT_SCHEDULER, Container, Pod, pod_from_dict
from ..model.quantity import format_quantity

__all__ = ["pod_to_json", "pod_from_json", "node_to_json", "add_node_from_json"]


def _plain(value: Any) -> Any:
    """A fastsched dataclass as the camelCase dict its ``from_dict`` reads, fields at
    their defaults left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            if not f.init:
                continue
            v = getattr(value, f.name)
            if f.default is not dataclasses.MISSING and v == f.default:
                continue
            out[camel(f.name)] = _plain(v)
        return out
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _quantities(amounts: Mapping[str, int]) -> dict[str, str]:
    return {r: format_quantity(v, r) for r, v in amounts.items()}


def _container(c: Container) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.name}
    if c.image:
        out["image"] = c.image
    if c.requests:
        out["resources"] = {"requests": _quantities(c.requests)}
    if c.ports:
        out["ports"] = _plain(c.ports)
    if c.restart_policy:
        out["restartPolicy"] = c.restart_policy
    return out


def _rfc3339(seconds: float) -> str:
    # Microseconds keep every float read from an API timestamp exactly.
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat().replace("+00:00", "Z")


def pod_to_json(pod: Pod) -> dict[str, Any]:
    """``{"manifest": <v1 Pod dict>}`` plus ``ownerSelector`` when the pod has one."""
    if not isinstance(pod, Pod):
        raise ValidationError(f"expected a Pod, got {type(pod).__name__}", "pod")
    meta: dict[str, Any] = {"name": pod.name, "namespace": pod.namespace}
    if pod.labels:
        meta["labels"] = dict(pod.labels)
    spec: dict[str, Any] = {"containers": [_container(c) for c in pod.containers]}
    if pod.init_containers:
        spec["initContainers"] = [_container(c) for c in pod.init_containers]
    if pod.overhead:
        spec["overhead"] = _quantities(pod.overhead)
    if pod.pod_requests:
        # Already defaulted: requests alone read back to the same pod-level requests.
        spec["resources"] = {"requests": _quantities(pod.pod_requests)}
    if pod.node_name:
        spec["nodeName"] = pod.node_name
    if pod.node_selector:
        spec["nodeSelector"] = dict(pod.node_selector)
    affinity = {key: _plain(value) for key, value in (
        ("nodeAffinity", pod.node_affinity), ("podAffinity", pod.pod_affinity),
        ("podAntiAffinity", pod.pod_anti_affinity)) if value is not None}
    if affinity:
        spec["affinity"] = affinity
    if pod.tolerations:
        spec["tolerations"] = _plain(pod.tolerations)
    if pod.topology_spread_constraints:
        spec["topologySpreadConstraints"] = _plain(pod.topology_spread_constraints)
    if pod.priority:
        spec["priority"] = pod.priority
    for key, value, default in (("schedulerName", pod.scheduler_name, DEFAULT_SCHEDULER),
                                ("priorityClassName", pod.priority_class_name, ""),
                                ("preemptionPolicy", pod.preemption_policy,
                                 "PreemptLowerPriority")):
        if value != default:
            spec[key] = value
    if pod.creation_timestamp is not None:
        meta["creationTimestamp"] = _rfc3339(pod.creation_timestamp)
    if pod.terminating:
        meta["deletionTimestamp"] = _rfc3339(pod.creation_timestamp or 0.0)
    manifest: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                                "spec": spec}
    if pod.nominated_node_name:
        manifest["status"] = {"nominatedNodeName": pod.nominated_node_name}
    out: dict[str, Any] = {"manifest": manifest}
    if pod.owner_selector is not None:
        out["ownerSelector"] = _plain(pod.owner_selector)
    return out


def pod_from_json(data: Any) -> Pod:
    """The pod written by :func:`pod_to_json`; raises ``ValidationError`` (a
    ``ManifestError`` for the manifest part) when it is malformed."""
    if not isinstance(data, Mapping) or "manifest" not in data \
            or not set(data) <= {"manifest", "ownerSelector"}:
        raise ValidationError("expected {'manifest': <v1 Pod>, 'ownerSelector'?: ...}", "pod")
    # Replicas differ only in their name: parse each template once, then rename.
    manifest = data["manifest"]
    meta = manifest.get("metadata") if isinstance(manifest, Mapping) else None
    name = meta.get("name") if isinstance(meta, Mapping) else None
    key = None
    if isinstance(name, str) and name:
        assert meta is not None                 # name came from it
        try:
            key = json.dumps({**data, "manifest": {**manifest, "metadata": {
                **meta, "name": ""}}}, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):
            key = None
        template = _templates.get(key) if key is not None else None
        if template is not None:
            return template.replica(name)
    pod = pod_from_dict(manifest)
    if "ownerSelector" in data:
        pod = dataclasses.replace(pod, owner_selector=data["ownerSelector"])
    if key is not None:
        if len(_templates) >= 1024:
            _templates.clear()
        _templates[key] = pod
    return pod


_templates: dict[str, Pod] = {}         # pod_from_json's parsed templates, by content


def node_to_json(info: NodeInfo) -> dict[str, Any]:
    """A node's definition (not its pods): allocatable in scheduler units."""
    out: dict[str, Any] = {"name": info.name, "allocatable": dict(info.allocatable),
                           "labels": dict(info.labels)}
    if info.taints:
        out["taints"] = [{"key": t.key, "value": t.value, "effect": t.effect}
                         for t in info.taints]
    if info.unschedulable:
        out["unschedulable"] = True
    if info.images:
        out["images"] = dict(info.images)
    return out


def add_node_from_json(cluster: Cluster, data: Any) -> None:
    """Add the node :func:`node_to_json` wrote (the cluster validates everything)."""
    if not isinstance(data, Mapping) or "name" not in data or "allocatable" not in data:
        raise ValidationError("expected a node with name and allocatable", "node")
    unknown = set(data) - {"name", "allocatable", "labels", "taints", "unschedulable", "images"}
    if unknown:
        raise ValidationError("unknown field", f"node.{sorted(unknown)[0]}")
    cluster.add_node(data["name"], data["allocatable"], labels=data.get("labels"),
                     taints=data.get("taints") or (),
                     unschedulable=data.get("unschedulable", False),
                     images=data.get("images"))
