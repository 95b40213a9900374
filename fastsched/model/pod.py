"""Pods and the parts of their spec the scheduler reads.

Every structured field takes either fastsched's own dataclasses or the Kubernetes
API's dict shape (camelCase keys, as written in a manifest)::

    Pod(name="p", requests={"cpu": "500m"},
        tolerations=[{"key": "spot", "operator": "Exists"}])

A pod's effective request (spec §1.2) is computed once, at construction, into
``pod.requests``; the scoring variant with the 100m / 200Mi defaults of §1.3 is
``pod.scoring_requests``. Both follow upstream's ``PodRequests`` with the
PodLevelResources feature on (beta, default on since v1.34): pod-level requests
(``spec.resources.requests``, the ``pod_requests`` field) replace what the
containers add up to for cpu, memory and hugepages.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .._validation import (
    EMPTY,
    FrozenMap,
    check_choice,
    check_int,
    check_label_key,
    check_str,
    coerce,
    coerce_list,
    from_k8s,
    label_map,
    set_field,
    str_tuple,
)
from ..errors import ManifestError, ValidationError
from ._objects import (
    DEFAULT_NAMESPACE,
    _check_namespace,
    _check_object_name,
    _list_at,
    _mapping_at,
    _moved,
    _remap,
    _required_name,
)
from .labels import LabelSelector, NodeSelectorTerm
from .quantity import INT64_MAX
from .resources import CPU, MEMORY, resource_dict, resource_map
from .taints import Toleration

__all__ = ["Pod", "Container", "ContainerPort", "NodeAffinity", "PreferredSchedulingTerm",
           "PodAffinityTerm", "WeightedPodAffinityTerm", "PodAffinity",
           "TopologySpreadConstraint", "DEFAULT_CPU_REQUEST", "DEFAULT_MEMORY_REQUEST",
           "pod_from_dict", "pod_from_k8s", "replica_name", "family", "renamed",
           "timestamp", "DEFAULT_SCHEDULER", "PREEMPTION_POLICIES", "pod_level_resource",
           "default_pod_requests"]

DEFAULT_SCHEDULER = "default-scheduler"
PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")

DEFAULT_CPU_REQUEST = 100            # millicores, spec §1.3
DEFAULT_MEMORY_REQUEST = 200 << 20   # 200Mi


@dataclass(frozen=True)
class ContainerPort:
    """A container port; only ``host_port > 0`` matters to scheduling (NodePorts)."""

    container_port: int = 0
    host_port: int = 0
    protocol: str = "TCP"
    host_ip: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        set_field(self, "container_port", check_int(self.container_port, "containerPort",
                                                    lo=0, hi=65535))
        set_field(self, "host_port", check_int(self.host_port or 0, "hostPort", lo=0, hi=65535))
        set_field(self, "protocol", check_choice(self.protocol or "TCP", "protocol",
                                                 ("TCP", "UDP", "SCTP")))
        set_field(self, "host_ip", check_str(self.host_ip, "hostIP"))
        set_field(self, "name", check_str(self.name, "name"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ContainerPort":
        return from_k8s(cls, data, renames={"hostIP": "host_ip"})


@dataclass(frozen=True)
class Container:
    """A container: its resource requests (resource → int), image and ports.

    An init container with ``restart_policy="Always"`` is a sidecar.
    """

    name: str = ""
    image: str = ""
    requests: Mapping[str, int] = EMPTY
    ports: tuple[ContainerPort, ...] = ()
    restart_policy: str = ""

    def __post_init__(self) -> None:
        set_field(self, "name", check_str(self.name, "name"))
        set_field(self, "image", check_str(self.image, "image"))
        if not isinstance(self.requests, FrozenMap) or self.requests and not all(
                type(v) is int for v in self.requests.values()):
            set_field(self, "requests", resource_map(self.requests, "requests"))
        set_field(self, "ports", coerce_list(ContainerPort, self.ports, "ports"))
        set_field(self, "restart_policy", check_str(self.restart_policy, "restartPolicy"))
        if self.restart_policy:
            check_choice(self.restart_policy, "restartPolicy", ("Always",))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Container":
        """From a Kubernetes container; requests default to limits (API defaulting)."""
        resources = data.get("resources") or {}
        if not isinstance(resources, Mapping):
            raise ValidationError("expected a mapping", "resources")
        limits = resources.get("limits") or {}
        requests = resources.get("requests") or {}
        merged = {**resource_map(limits, "resources.limits"),
                  **resource_map(requests, "resources.requests")}
        return cls(name=data.get("name", ""), image=data.get("image", ""), requests=FrozenMap(merged),
                   ports=data.get("ports") or (), restart_policy=data.get("restartPolicy", ""))


def _container(value: Any, path: str) -> Container:
    return coerce(Container, value, path, strict=False)


@dataclass(frozen=True)
class PreferredSchedulingTerm:
    """A weighted node selector term of preferred node affinity (weight 1–100).

    A preference upstream cannot parse (an invalid label value, a non-integer Gt/Lt
    value) is refused here: NodeAffinity's PreScore would fail every attempt to
    schedule the pod with that parse error.
    """

    weight: int
    preference: NodeSelectorTerm

    def __post_init__(self) -> None:
        set_field(self, "weight", check_int(self.weight, "weight", lo=1, hi=100))
        set_field(self, "preference", coerce(NodeSelectorTerm, self.preference, "preference"))
        for i, req in enumerate(self.preference.match_expressions):
            if req.parse_error:
                raise ValidationError(req.parse_error,
                                      f"preference.matchExpressions[{i}].values")


def _preferred_node_term(value: Any, path: str) -> PreferredSchedulingTerm:
    if isinstance(value, tuple) and len(value) == 2:
        value = PreferredSchedulingTerm(*value) if not isinstance(value[1], Mapping) else \
            {"weight": value[0], "preference": value[1]}
    return coerce(PreferredSchedulingTerm, value, path)


@dataclass(frozen=True)
class NodeAffinity:
    """Node affinity. ``required`` is a list of ORed terms, or None for no requirement
    (an empty list matches no node); ``preferred`` holds weighted terms (or
    ``(weight, term)`` pairs)."""

    required: tuple[NodeSelectorTerm, ...] | None = None
    preferred: tuple[PreferredSchedulingTerm, ...] = ()

    def __post_init__(self) -> None:
        if self.required is not None:
            set_field(self, "required", coerce_list(NodeSelectorTerm, self.required, "required"))
        set_field(self, "preferred", coerce_list(PreferredSchedulingTerm, self.preferred,
                                                 "preferred", convert=_preferred_node_term))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "NodeAffinity":
        unknown = set(data) - {"requiredDuringSchedulingIgnoredDuringExecution",
                               "preferredDuringSchedulingIgnoredDuringExecution",
                               "required", "preferred"}
        if unknown:
            raise ValidationError("unknown field", sorted(unknown)[0])
        required = data.get("required")
        path = "required"
        if "requiredDuringSchedulingIgnoredDuringExecution" in data:
            selector = data["requiredDuringSchedulingIgnoredDuringExecution"]
            path = "requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
            if selector is None:
                required = None
            elif not isinstance(selector, Mapping):
                raise ValidationError("expected a mapping with nodeSelectorTerms",
                                      "requiredDuringSchedulingIgnoredDuringExecution")
            else:
                required = selector.get("nodeSelectorTerms") or []
        preferred = data.get("preferredDuringSchedulingIgnoredDuringExecution",
                             data.get("preferred"))
        try:
            req = None if required is None else coerce_list(NodeSelectorTerm, required, path)
        except ValidationError as err:
            raise err from None
        pref_path = ("preferredDuringSchedulingIgnoredDuringExecution"
                     if "preferredDuringSchedulingIgnoredDuringExecution" in data else "preferred")
        return cls(required=req, preferred=coerce_list(
            PreferredSchedulingTerm, preferred, pref_path, convert=_preferred_node_term))

    def required_matches(self, labels: Mapping[str, str], node_name: str) -> bool:
        """Whether a node passes the required terms (True when there are none)."""
        return self.required is None or any(t.matches(labels, node_name)
                                            for t in self.required)


@dataclass(frozen=True)
class PodAffinityTerm:
    """Pods matching ``label_selector`` (in ``namespaces`` / ``namespace_selector``;
    the pod's own namespace when both are empty) within the same ``topology_key``
    domain."""

    topology_key: str
    label_selector: LabelSelector | None = None
    namespaces: tuple[str, ...] = ()
    namespace_selector: LabelSelector | None = None
    match_label_keys: tuple[str, ...] = ()
    mismatch_label_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        set_field(self, "topology_key", check_label_key(self.topology_key, "topologyKey"))
        for name, path in (("label_selector", "labelSelector"),
                           ("namespace_selector", "namespaceSelector")):
            value = getattr(self, name)
            if value is not None:
                set_field(self, name, coerce(LabelSelector, value, path))
        set_field(self, "namespaces", str_tuple(self.namespaces, "namespaces"))
        set_field(self, "match_label_keys", str_tuple(self.match_label_keys, "matchLabelKeys"))
        set_field(self, "mismatch_label_keys",
                  str_tuple(self.mismatch_label_keys, "mismatchLabelKeys"))


@dataclass(frozen=True)
class WeightedPodAffinityTerm:
    """A preferred pod (anti-)affinity term with weight 1–100."""

    weight: int
    pod_affinity_term: PodAffinityTerm

    def __post_init__(self) -> None:
        set_field(self, "weight", check_int(self.weight, "weight", lo=1, hi=100))
        set_field(self, "pod_affinity_term",
                  coerce(PodAffinityTerm, self.pod_affinity_term, "podAffinityTerm"))


@dataclass(frozen=True)
class PodAffinity:
    """Pod affinity or anti-affinity: required and preferred (weighted) terms."""

    required: tuple[PodAffinityTerm, ...] = ()
    preferred: tuple[WeightedPodAffinityTerm, ...] = ()

    def __post_init__(self) -> None:
        set_field(self, "required", coerce_list(PodAffinityTerm, self.required, "required"))
        set_field(self, "preferred",
                  coerce_list(WeightedPodAffinityTerm, self.preferred, "preferred"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PodAffinity":
        return from_k8s(cls, data, renames={
            "requiredDuringSchedulingIgnoredDuringExecution": "required",
            "preferredDuringSchedulingIgnoredDuringExecution": "preferred"})


@dataclass(frozen=True)
class TopologySpreadConstraint:
    """A topology spread constraint (``DoNotSchedule`` is hard, ``ScheduleAnyway`` soft)."""

    max_skew: int
    topology_key: str
    when_unsatisfiable: str = "DoNotSchedule"
    label_selector: LabelSelector | None = None
    min_domains: int | None = None
    node_affinity_policy: str = "Honor"
    node_taints_policy: str = "Ignore"
    match_label_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        set_field(self, "max_skew", check_int(self.max_skew, "maxSkew", lo=1))
        set_field(self, "topology_key", check_label_key(self.topology_key, "topologyKey"))
        check_choice(self.when_unsatisfiable, "whenUnsatisfiable",
                     ("DoNotSchedule", "ScheduleAnyway"))
        if self.label_selector is not None:
            set_field(self, "label_selector",
                      coerce(LabelSelector, self.label_selector, "labelSelector"))
        set_field(self, "min_domains",
                  check_int(self.min_domains, "minDomains", lo=1, allow_none=True))
        if self.min_domains is not None and self.when_unsatisfiable != "DoNotSchedule":
            raise ValidationError("may only be set with whenUnsatisfiable DoNotSchedule",
                                  "minDomains")
        for name, path in (("node_affinity_policy", "nodeAffinityPolicy"),
                           ("node_taints_policy", "nodeTaintsPolicy")):
            check_choice(getattr(self, name), path, ("Honor", "Ignore"))
        set_field(self, "match_label_keys", str_tuple(self.match_label_keys, "matchLabelKeys"))


def _effective(containers: Iterable[Container], init: Iterable[Container],
               overhead: Mapping[str, int], defaults: bool) -> FrozenMap:
    """A pod's request per resource (spec §1.2); with ``defaults``, containers that do
    not mention cpu or memory count 100m / 200Mi (the §1.3 scoring variant)."""

    def req(c: Container) -> Mapping[str, int]:
        if not defaults:
            return c.requests
        out = dict(c.requests)
        out.setdefault(CPU, DEFAULT_CPU_REQUEST)
        out.setdefault(MEMORY, DEFAULT_MEMORY_REQUEST)
        return out

    run: dict[str, int] = {}
    for c in containers:
        for r, v in req(c).items():
            run[r] = run.get(r, 0) + v
    peak: dict[str, int] = {}
    sidecars: dict[str, int] = {}
    for c in init:
        mine = req(c)
        if c.restart_policy == "Always":
            for r, v in mine.items():
                sidecars[r] = sidecars.get(r, 0) + v
                run[r] = run.get(r, 0) + v
            during = sidecars
        else:
            during = {r: mine.get(r, 0) + sidecars.get(r, 0) for r in {*mine, *sidecars}}
        for r, v in during.items():
            peak[r] = max(peak.get(r, 0), v)
    total = {r: max(run.get(r, 0), peak.get(r, 0)) for r in {*run, *peak}}
    for r, v in overhead.items():
        total[r] = total.get(r, 0) + v
    if defaults:
        total = {r: v for r, v in total.items() if r in (CPU, MEMORY)}
    return FrozenMap(sorted(total.items()))


def pod_level_resource(name: str) -> bool:
    """Whether pod-level resources may set ``name``: cpu, memory and hugepages
    (upstream's ``IsSupportedPodLevelResource``)."""
    return name in (CPU, MEMORY) or name.startswith("hugepages-")


def _with_pod_level(aggregate: Mapping[str, int], pod_requests: Mapping[str, int],
                    overhead: Mapping[str, int]) -> dict[str, int]:
    """PodRequests: the containers' aggregate, each pod-level request replacing its
    resource's value, then the overhead added."""
    total = {**aggregate, **pod_requests}
    for r, v in overhead.items():
        total[r] = total.get(r, 0) + v
    return total


def _requests_of(containers: tuple[Container, ...], init: tuple[Container, ...],
                 overhead: Mapping[str, int], pod_requests: Mapping[str, int]
                 ) -> tuple[FrozenMap, FrozenMap]:
    """The effective request and the cpu/memory scoring request (spec §1.2, §1.3):
    upstream's ``PodRequests`` without and with the non-zero container defaults.

    The scoring request is the incoming pod's (``calculatePodResourceRequest``: every
    container without cpu or memory counts 100m / 200Mi, then pod-level requests
    replace the totals). fastsched uses it for bound pods as well; upstream's
    ``PodInfo.CalculateResource`` differs only for a pod with pod-level requests that
    leave cpu or memory to containers of which some, not all, set it (it then counts
    no default for that resource).
    """
    if not pod_requests:    # the common case, kept as cheap as before pod-level requests
        return (_effective(containers, init, overhead, False),
                _effective(containers, init, overhead, True))
    real = _with_pod_level(_effective(containers, init, EMPTY, False), pod_requests, overhead)
    nonzero = _with_pod_level(_effective(containers, init, EMPTY, True), pod_requests,
                              overhead)
    scoring = FrozenMap(sorted((r, nonzero[r]) for r in (CPU, MEMORY) if r in nonzero))
    return FrozenMap(sorted(real.items())), scoring


def _pod_requests(value: Any, path: str) -> FrozenMap:
    """Pod-level requests: only cpu, memory and hugepages, as API validation requires."""
    amounts = value if isinstance(value, FrozenMap) and all(
        type(v) is int for v in value.values()) else resource_map(value, path)
    for name in amounts:
        if not pod_level_resource(name):
            raise ValidationError(f"unsupported pod-level resource {name!r}: only cpu, memory "
                                  "and hugepages-<size>", f"{path}.{name}")
    return amounts


def default_pod_requests(requests: Mapping[str, int], limits: Mapping[str, int],
                         containers: tuple[Container, ...],
                         init: tuple[Container, ...]) -> dict[str, int]:
    """Pod-level requests after the API server's defaulting (PodLevelResources on):
    ``defaultHugePagePodLimits`` then ``defaultPodRequests``.

    When the pod level sets anything, a hugepage size that containers use and the pod
    level neither requests nor limits gets the containers' aggregate as its pod limit.
    Then, only if there are pod-level limits: a cpu or memory request the pod level
    lacks takes the containers' aggregate when some container sets it, and every
    other supported resource with a pod-level limit takes that limit as its request.
    (Containers' hugepage requests stand for their limits, which validation makes
    equal.)
    """
    if not requests and not limits:
        return {}
    aggregate = _effective(containers, init, EMPTY, False)
    limits = dict(limits)
    for name, amount in aggregate.items():
        if name.startswith("hugepages-") and name not in requests and name not in limits:
            limits[name] = amount
    out = dict(requests)
    if not limits:
        return out
    for name, amount in aggregate.items():
        if name in (CPU, MEMORY) and name not in out:
            out[name] = amount
    for name, amount in limits.items():
        if name not in out and pod_level_resource(name):
            out[name] = amount
    return out


def replica_name(name: str, suffix: str) -> str:
    """``name + suffix`` (``suffix`` like ``"-7"``), the name cut short so the result is
    still a valid pod name of at most 253 characters (as generateName truncates)."""
    if len(name) + len(suffix) <= 253:
        return name + suffix
    return name[: 253 - len(suffix)].rstrip("-.") + suffix


def renamed(pod: "Pod", name: str) -> "Pod":
    """``pod.replica(name)`` for a name known to be valid (one ``replica_name``
    made from a valid name): the name is not checked again."""
    family(pod)
    twin = object.__new__(Pod)
    twin.__dict__.update(pod.__dict__)
    twin.__dict__["name"] = name
    return twin


def family(pod: "Pod") -> object:
    """A token that a pod shares with its replicas (``Pod.replica`` with only a new
    name): pods with the same token differ in their name alone, so a cluster stores
    what they share once. Compared by identity; never equal across families."""
    token = pod.__dict__.get("_family")
    if token is None:
        token = pod.__dict__["_family"] = object()
    return token


def _check_host_ports(containers: tuple[Container, ...], path: str) -> None:
    """A host port (protocol, host IP, port) appears once among a pod's containers,
    as the API server's AccumulateUniqueHostPorts requires."""
    seen: set[tuple[str, str, int]] = set()
    for ci, c in enumerate(containers):
        for pi, p in enumerate(c.ports):
            if p.host_port:
                key = (p.protocol, p.host_ip, p.host_port)
                if key in seen:
                    raise ValidationError(f"duplicate host port {p.protocol}/{p.host_ip}/"
                                          f"{p.host_port}", f"{path}[{ci}].ports[{pi}].hostPort")
                seen.add(key)


@dataclass(frozen=True, repr=False)
class Pod:
    """A pod as the scheduler sees it.

    Give either ``containers`` (and ``init_containers``) or the flat ``requests=``
    shortcut, which stands for one container with those requests. After
    construction ``requests`` holds the pod's effective request (resource → int,
    spec §1.2, overhead included) and ``scoring_requests`` the cpu/memory
    variant used by the resource scores (§1.3). ``pod_requests`` are the pod-level
    requests (``spec.resources.requests``; cpu, memory, hugepages): each replaces the
    containers' total for its resource in both. ``owner_selector`` is the label
    selector of the ReplicaSet, StatefulSet or ReplicationController that owns the
    pod (set by ``load_manifests``); PodTopologySpread's default constraints use it.
    """

    name: str
    namespace: str = "default"
    labels: Mapping[str, str] = EMPTY
    # None: computed from the containers; after construction, always the effective request.
    requests: Mapping[str, Any] = None  # type: ignore[assignment]
    containers: tuple[Container, ...] = ()
    init_containers: tuple[Container, ...] = ()
    overhead: Mapping[str, Any] = EMPTY
    node_name: str = ""
    node_selector: Mapping[str, str] = EMPTY
    node_affinity: NodeAffinity | None = None
    pod_affinity: PodAffinity | None = None
    pod_anti_affinity: PodAffinity | None = None
    tolerations: tuple[Toleration, ...] = ()
    topology_spread_constraints: tuple[TopologySpreadConstraint, ...] = ()
    priority: int = 0
    owner_selector: LabelSelector | None = None
    scheduler_name: str = DEFAULT_SCHEDULER
    priority_class_name: str = ""
    preemption_policy: str = "PreemptLowerPriority"
    creation_timestamp: float | None = None     # seconds since the epoch (the queue's order)
    terminating: bool = False                   # metadata.deletionTimestamp is set
    nominated_node_name: str = ""
    # spec.resources.requests (cpu, memory, hugepages-*), after the API's defaulting.
    pod_requests: Mapping[str, Any] = EMPTY
    scoring_requests: Mapping[str, int] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Names are keys ("namespace/name"): a '/' or an over-long name would collide.
        set_field(self, "name", _check_object_name(check_str(self.name, "name",
                                                             allow_empty=False), "name"))
        set_field(self, "namespace", _check_namespace(self.namespace, "namespace"))
        set_field(self, "labels", label_map(self.labels, "labels"))
        set_field(self, "containers", coerce_list(Container, self.containers, "containers",
                                                  convert=_container))
        set_field(self, "init_containers", coerce_list(
            Container, self.init_containers, "initContainers", convert=_container))
        overhead = self.overhead
        if not (isinstance(overhead, FrozenMap) and all(type(v) is int
                                                        for v in overhead.values())):
            overhead = resource_map(overhead, "overhead")
        set_field(self, "overhead", overhead)
        pod_requests = _pod_requests(self.pod_requests, "podRequests") \
            if self.pod_requests else EMPTY
        set_field(self, "pod_requests", pod_requests)
        shortcut = (self.requests is not None and not self.containers
                    and not self.init_containers)
        if shortcut:
            set_field(self, "containers", (Container(requests=resource_map(
                self.requests, "requests")),))
        effective, scoring = _requests_of(self.containers, self.init_containers, overhead,
                                          pod_requests)
        if self.requests is not None and not shortcut and self.requests != effective:
            # dataclasses.replace passes the effective request back in: allow that.
            raise ValidationError("give requests= or containers=, not both (requests= "
                                  "is a shortcut for a single container)", "requests")
        for r, v in (*effective.items(), *scoring.items()):
            if v > INT64_MAX:
                raise ValidationError(f"the pod's total request of {r} ({v}) exceeds int64",
                                      f"requests.{r}")
        _check_host_ports(self.containers, "containers")
        _check_host_ports(self.init_containers, "initContainers")
        set_field(self, "requests", effective)
        set_field(self, "scoring_requests", scoring)
        set_field(self, "node_name", check_str(self.node_name, "nodeName"))
        set_field(self, "node_selector", label_map(self.node_selector, "nodeSelector"))
        for name, cls, path in (("node_affinity", NodeAffinity, "nodeAffinity"),
                                ("pod_affinity", PodAffinity, "podAffinity"),
                                ("pod_anti_affinity", PodAffinity, "podAntiAffinity")):
            value = getattr(self, name)
            if value is not None:
                set_field(self, name, coerce(cls, value, path))
        set_field(self, "tolerations", coerce_list(Toleration, self.tolerations, "tolerations"))
        set_field(self, "topology_spread_constraints", coerce_list(
            TopologySpreadConstraint, self.topology_spread_constraints,
            "topologySpreadConstraints"))
        set_field(self, "priority", check_int(self.priority, "priority",
                                              lo=-(1 << 31), hi=(1 << 31) - 1))
        if self.owner_selector is not None:
            set_field(self, "owner_selector",
                      coerce(LabelSelector, self.owner_selector, "ownerSelector"))
        set_field(self, "scheduler_name", check_str(self.scheduler_name or DEFAULT_SCHEDULER,
                                                    "schedulerName"))
        set_field(self, "priority_class_name", check_str(self.priority_class_name,
                                                         "priorityClassName"))
        if self.preemption_policy not in PREEMPTION_POLICIES:
            raise ValidationError(f"must be one of {', '.join(PREEMPTION_POLICIES)}, got "
                                  f"{self.preemption_policy!r}", "preemptionPolicy")
        stamp = self.creation_timestamp
        if stamp is not None:
            if isinstance(stamp, bool) or not isinstance(stamp, (int, float)) \
                    or not math.isfinite(stamp):
                raise ValidationError(f"expected seconds since the epoch, got {stamp!r}",
                                      "creationTimestamp")
            set_field(self, "creation_timestamp", float(stamp))
        if not isinstance(self.terminating, bool):
            raise ValidationError(f"expected a bool, got {self.terminating!r}", "terminating")
        set_field(self, "nominated_node_name", check_str(self.nominated_node_name,
                                                         "nominatedNodeName"))

    def __repr__(self) -> str:
        # Only what differs from the defaults: pods carry many empty fields.
        parts = [repr(self.key)]
        for f in dataclasses.fields(self):
            if f.name in ("name", "namespace") or not f.repr:
                continue
            value = getattr(self, f.name)
            if f.name == "containers" and len(value) == 1 and not (
                    value[0].name or value[0].image or value[0].ports):
                continue        # the requests= shortcut: requests says it all
            default = f.default if f.default is not dataclasses.MISSING else None
            if value != default and value not in ((), {}, None, ""):
                parts.append(f"{f.name}={value!r}")
        return f"Pod({', '.join(parts)})"

    @property
    def key(self) -> str:
        """``namespace/name``, the pod's identity in a cluster."""
        return f"{self.namespace}/{self.name}"

    @property
    def images(self) -> tuple[str, ...]:
        """Images of the init and regular containers, in order (repeats kept)."""
        return tuple(c.image for c in (*self.init_containers, *self.containers) if c.image)

    @property
    def host_ports(self) -> tuple[tuple[str, str, int], ...]:
        """``(host_ip or '0.0.0.0', protocol, host_port)`` of every host port the pod holds
        while it runs: those of sidecar (``restartPolicy: Always``) init containers, then
        of regular containers (upstream's ``schedutil.GetHostPorts``, which NodePorts
        reads for the incoming pod and the node's pods alike). An init container that
        runs to completion holds no port."""
        return tuple((p.host_ip or "0.0.0.0", p.protocol, p.host_port)
                     for c in (*(i for i in self.init_containers if i.restart_policy == "Always"),
                               *self.containers)
                     for p in c.ports if p.host_port > 0)

    def replica(self, name: str, **changes: Any) -> "Pod":
        """A copy with another name (and any other changed fields).

        With only a new name, the copy shares every other (immutable) field and
        skips re-validation, so making many replicas is cheap.
        """
        if changes:
            return dataclasses.replace(self, name=name, **changes)
        family(self)            # the twin shares it: a cluster stores the pair once
        twin = object.__new__(Pod)
        twin.__dict__.update(self.__dict__)
        twin.__dict__["name"] = _check_object_name(check_str(name, "name", allow_empty=False),
                                                   "name")
        return twin

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> "Pod":
        """A pod from a ``v1 Pod`` object (or a pod template: metadata + spec)."""
        return pod_from_dict(data)

    @classmethod
    def from_k8s(cls, data: Mapping[str, Any], *, name: str | None = None,
                 namespace: str | None = None) -> "Pod":
        """A pod from a ``v1 Pod`` dict or a pod template (see :func:`pod_from_dict`)."""
        return pod_from_dict(data, name=name, namespace=namespace)


_POD_FIELDS = {
    "name": "metadata.name", "namespace": "metadata.namespace", "labels": "metadata.labels",
    "containers": "spec.containers", "initContainers": "spec.initContainers",
    "overhead": "spec.overhead", "nodeName": "spec.nodeName",
    "nodeSelector": "spec.nodeSelector", "nodeAffinity": "spec.affinity.nodeAffinity",
    "podAffinity": "spec.affinity.podAffinity",
    "podAntiAffinity": "spec.affinity.podAntiAffinity", "tolerations": "spec.tolerations",
    "topologySpreadConstraints": "spec.topologySpreadConstraints", "priority": "spec.priority",
    "schedulerName": "spec.schedulerName", "priorityClassName": "spec.priorityClassName",
    "preemptionPolicy": "spec.preemptionPolicy",
    "creationTimestamp": "metadata.creationTimestamp",
    "nominatedNodeName": "status.nominatedNodeName",
    "podRequests": "spec.resources.requests", "podLimits": "spec.resources.limits",
}
_POD_AFFINITY_TERMS = re.compile(r"(spec\.affinity\.pod(?:Anti)?Affinity)\.(required|preferred)"
                                 r"(?=$|[.\[])")


# -- from Kubernetes objects ----------------------------------------------------------

def pod_from_k8s(data: Any, *, name: str | None = None, namespace: str | None = None) -> Pod:
    """A Pod from a v1 Pod or a pod template; a ``ValidationError`` names the field
    inside ``data``."""
    if not isinstance(data, Mapping):
        raise ValidationError("expected a pod (a mapping with metadata and spec), got "
                              f"{type(data).__name__}")
    meta = _mapping_at(data, "metadata")
    spec = _mapping_at(data, "spec")
    affinity = _mapping_at(spec, "affinity", "spec")
    if name is None:
        name = _check_object_name(_required_name(meta), "metadata.name")
    if namespace is None:
        namespace = meta.get("namespace") or DEFAULT_NAMESPACE
    priority = spec.get("priority")
    try:
        # The constructor takes the API's dict shapes for every structured field.
        fields: dict[str, Any] = dict(
            name=name,
            namespace=_check_namespace(namespace, "namespace"),
            labels=meta.get("labels"),
            containers=_list_at(spec, "containers", ""),
            init_containers=_list_at(spec, "initContainers", ""),
            overhead=spec.get("overhead"),
            node_name=spec.get("nodeName"),
            node_selector=spec.get("nodeSelector"),
            node_affinity=affinity.get("nodeAffinity"),
            pod_affinity=affinity.get("podAffinity"),
            pod_anti_affinity=affinity.get("podAntiAffinity"),
            tolerations=_list_at(spec, "tolerations", ""),
            topology_spread_constraints=_list_at(spec, "topologySpreadConstraints", ""),
            priority=0 if priority is None else priority,
            scheduler_name=spec.get("schedulerName") or DEFAULT_SCHEDULER,
            priority_class_name=spec.get("priorityClassName") or "",
            preemption_policy=spec.get("preemptionPolicy") or "PreemptLowerPriority",
            creation_timestamp=timestamp(meta.get("creationTimestamp"), "creationTimestamp"),
            terminating=meta.get("deletionTimestamp") is not None,
            nominated_node_name=_mapping_at(data, "status").get("nominatedNodeName") or "",
        )
        resources = _mapping_at(spec, "resources", "spec")
        if resources:
            requests = resource_dict(resources.get("requests"), "podRequests")
            limits = resource_dict(resources.get("limits"), "podLimits")
            # Pod-level requests as the API server stores them (requests from limits).
            containers = coerce_list(Container, fields["containers"], "containers",
                                     convert=_container)
            init = coerce_list(Container, fields["init_containers"], "initContainers",
                               convert=_container)
            fields.update(containers=containers, init_containers=init,
                          pod_requests=default_pod_requests(requests, limits, containers, init))
        return Pod(**fields)
    except ValidationError as err:
        raise _moved(err, _pod_field(err.field, affinity)) from None


def timestamp(value: Any, field: str) -> float | None:
    """An RFC 3339 time (as the API writes it, or a ``datetime`` as YAML reads it) in
    seconds since the epoch; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValidationError(f"expected an RFC 3339 time, got {value!r}", field) from None
    if not isinstance(value, datetime):
        raise ValidationError(f"expected an RFC 3339 time, got {value!r}", field)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def _pod_field(field: str, affinity: Mapping[str, Any]) -> str:
    """Where a ``Pod`` constructor error sits in the pod object."""
    field = _remap(field, _POD_FIELDS)

    def long_name(m: re.Match[str]) -> str:
        # PodAffinity reports its own field names; give the API's if the object used them.
        term = m.group(2) + "DuringSchedulingIgnoredDuringExecution"
        which = m.group(1).rpartition(".")[2]
        used = affinity.get(which)
        return f"{m.group(1)}.{term}" if isinstance(used, Mapping) and term in used else m.group()

    return _POD_AFFINITY_TERMS.sub(long_name, field, count=1)


def pod_from_dict(data: Mapping[str, Any], *, name: str | None = None,
                  namespace: str | None = None) -> Pod:
    """A :class:`~fastsched.Pod` from a ``v1 Pod`` dict or a pod template
    (``metadata`` + ``spec``).

    Read: ``metadata.name``, ``namespace`` (default ``"default"``) and ``labels``;
    ``spec.containers``, ``initContainers`` (requests default to limits),
    ``overhead``, ``resources`` (pod-level requests, defaulted from its limits as the
    API server does), ``nodeName``, ``nodeSelector``, ``affinity``, ``tolerations``,
    ``topologySpreadConstraints`` and ``priority``. Other fields (volumes, env, …)
    do not matter to scheduling and are ignored. ``name`` and ``namespace``
    override the metadata. Raises :class:`~fastsched.errors.ManifestError` naming
    the field path, e.g. ``spec.containers[0].resources.requests.cpu``.
    """
    try:
        return pod_from_k8s(data, name=name, namespace=namespace)
    except ValidationError as err:
        meta = data.get("metadata") if isinstance(data, Mapping) else None
        own = name or (meta.get("name") if isinstance(meta, Mapping) else None)
        obj = f"Pod/{own}" if isinstance(own, str) and own else "Pod"
        raise ManifestError(err.message, source="<dict>", obj=obj, field=err.field) from None
