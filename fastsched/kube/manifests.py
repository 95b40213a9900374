"""Kubernetes manifests in.

:func:`load_manifests` reads Kubernetes objects (YAML or JSON files or text,
multi-document streams, ``kind: List``, or dicts that are already parsed) into a
fresh :class:`~fastsched.Cluster`, the pods still to be scheduled and the Services:

* ``v1 Node``: a node with ``status.allocatable`` (``status.capacity`` when there
  is no allocatable), ``metadata.labels``, ``spec.taints``, ``spec.unschedulable``
  and the images it holds (``status.images``, for ImageLocality);
* ``v1 Pod``: bound to ``spec.nodeName`` when it names a node, pending otherwise;
* ``apps/v1 Deployment``, ``ReplicaSet``, ``StatefulSet`` and
  ``v1 ReplicationController``: ``spec.replicas`` pending pods from ``spec.template``;
  ``batch/v1 Job``: ``spec.parallelism`` of them (fewer if ``spec.completions`` is
  smaller);
* ``v1 Service``: a :class:`Service` with its selector and ports;
* ``policy/v1 PodDisruptionBudget``: a :class:`PodDisruptionBudget` with the
  disruptions it allows (``status.disruptionsAllowed``, else computed from
  ``minAvailable`` or ``maxUnavailable`` over the pods it selects, percentages
  rounded up as the disruption controller rounds them);
* ``scheduling.k8s.io/v1 PriorityClass``: resolves ``priorityClassName`` (and the
  global default) for pods without ``spec.priority``, as admission does
  (``fastsched.kube.priority``).

A pod whose controller reference (``ownerReferences``, ``controller: true``) names a
ReplicaSet, StatefulSet or ReplicationController of the manifests gets that
controller's selector as ``owner_selector``, which PodTopologySpread's default
constraints spread by (with the Services that select the pod).

Other kinds are skipped with a :class:`ManifestWarning`. A document that cannot be
read raises :class:`~fastsched.errors.ManifestError` naming the source, the
document's index in it (from 0), the object's ``kind/name`` and the field path
inside the document, for example
``nodes.yaml: document 0 (Node/n1): items[2].status.allocatable.cpu: invalid quantity 'x'``.

Hostile input is bounded: :mod:`fastsched.kube.documents` refuses duplicate keys,
nesting deeper than ``MAX_DEPTH`` (200), YAML aliases that expand a document more
than tenfold (beyond 10,000 values) and integers of more than 30 digits; a workload
expands into at most :data:`MAX_REPLICAS` pods and one load creates at most
:data:`MAX_PODS`, so the work and memory of a load stay proportional to its text.

``fastsched.kube.bindings`` turns placements into ``v1 Binding`` objects.
"""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .._documents import check_structure, parse_documents
from .._validation import check_int, check_str, coerce, label_map
from ..cluster import Cluster
from ..errors import ManifestError, ManifestWarning, ValidationError
from ..model._objects import (
    DEFAULT_NAMESPACE,
    _at,
    _check_namespace,
    _check_object_name,
    _list_at,
    _mapping_at,
    _remap,
    _required_name,
)
from ..model.labels import LabelSelector
from ..model.pod import Pod, pod_from_k8s
from ..model.service import Service
from ..scheduler.preemption import PodDisruptionBudget
from .priority import PriorityClass, priority_class_from_k8s, resolve_priority

__all__ = ["Manifests", "Workload", "ManifestWarning", "load_manifests", "MAX_REPLICAS",
           "MAX_PODS"]

MAX_REPLICAS = 1_000_000
"""The most pods one workload is expanded into (the API allows any int32; a
billion pod objects would exhaust memory rather than fail with a message)."""

MAX_PODS = 1_000_000
"""The most pods one :func:`load_manifests` call creates, bound and pending, workloads
expanded: a million replicas take about 10 s and 600 MB, and a few lines of YAML
could otherwise ask for any multiple of that."""

_EXTENSIONS = (".yaml", ".yml", ".json")

# Kinds fastsched reads, with the API group that serves them ("" is the core group).
_GROUPS = {"Node": ("",), "Pod": ("",), "Service": ("",), "ReplicationController": ("",),
           "Deployment": ("apps", "extensions"), "ReplicaSet": ("apps", "extensions"),
           "StatefulSet": ("apps",), "Job": ("batch",), "PriorityClass": ("scheduling.k8s.io",),
           "PodDisruptionBudget": ("policy",)}
_WORKLOADS = ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController", "Job")


@dataclass(frozen=True)
class Workload:
    """A controller read from the manifests and the pods it was expanded into."""

    kind: str
    name: str
    namespace: str
    pods: tuple[Pod, ...]

    @property
    def key(self) -> str:
        """``Kind/namespace/name``."""
        return f"{self.kind}/{self.namespace}/{self.name}"


@dataclass(frozen=True, eq=False)
class Manifests:
    """What :func:`load_manifests` read.

    ``cluster`` holds the nodes and the pods that named a node; ``pending`` the
    pods still to be scheduled, in document order; ``services`` the Services;
    ``workloads`` the controllers that were expanded into pods; ``skipped`` the
    ``kind/name`` of documents that were not loaded: kinds fastsched does not read,
    pods that have finished, and controllers whose pods (or ReplicaSets) the
    manifests list themselves. ``owners`` maps ``Kind/namespace/name`` of each pod
    and controller with a controller reference to its controller's
    (``Pod/prod/web-5d8f7c9b4-4kq9z`` → ``ReplicaSet/prod/web-5d8f7c9b4`` →
    ``Deployment/prod/web``; a workload's expanded pods → the workload);
    ``do_not_disrupt`` holds the keys of the pods annotated
    ``karpenter.sh/do-not-disrupt: "true"`` (directly or by their template);
    ``pdbs`` the PodDisruptionBudgets.
    """

    cluster: Cluster
    pending: tuple[Pod, ...] = ()
    services: tuple[Service, ...] = ()
    workloads: tuple[Workload, ...] = ()
    skipped: tuple[str, ...] = ()
    owners: Mapping[str, str] = field(default_factory=dict)
    do_not_disrupt: frozenset[str] = frozenset()
    pdbs: tuple[PodDisruptionBudget, ...] = ()

    def owner(self, pod: Pod | str) -> str:
        """``Kind/namespace/name`` of the controller of a pod (or any object key), or
        "" when it has none."""
        key = pod if isinstance(pod, str) else f"Pod/{pod.key}"
        return self.owners.get(key if key.count("/") == 2 else f"Pod/{key}", "")

    @property
    def bound(self) -> tuple[Pod, ...]:
        """The pods bound to a node, in binding order."""
        return tuple(self.cluster.pods.values())

    def service(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> Service:
        """The Service ``name`` in ``namespace`` (``"namespace/name"`` also works)."""
        if "/" in name:
            namespace, name = name.split("/", 1)
        for service in self.services:
            if service.name == name and service.namespace == namespace:
                return service
        raise KeyError(f"no Service {namespace}/{name}")

    def service_pods(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> tuple[Pod, ...]:
        """The pods a Service selects: bound ones first, then pending ones."""
        service = self.service(name, namespace)
        return tuple(p for p in (*self.bound, *self.pending) if service.matches(p))


# -- reading documents ----------------------------------------------------------------


@dataclass(frozen=True)
class _Doc:
    """One Kubernetes object and where it came from (``path`` is ``items[i]`` inside
    a List)."""

    source: str
    index: int
    path: str
    kind: str
    data: Mapping[str, Any]

    @property
    def name(self) -> str:
        meta = self.data.get("metadata")
        name = meta.get("name") if isinstance(meta, Mapping) else None
        return name if isinstance(name, str) else ""

    @property
    def obj(self) -> str:
        return f"{self.kind}/{self.name}" if self.name else self.kind

    def error(self, message: str, field: str = "") -> ManifestError:
        return ManifestError(message, source=self.source, index=self.index, obj=self.obj,
                             field=_at(self.path, field))

    def wrap(self, err: ValidationError) -> ManifestError:
        return self.error(err.message, err.field)


def _source_documents(source: Any, position: int, many: bool) -> Iterator[tuple[str, int, Any]]:
    """``(source label, index, document)`` for each document of one source."""
    suffix = f" #{position}" if many else ""
    if isinstance(source, Mapping):
        check_structure(source, f"<dict{suffix}>", 0, origin="python")
        yield f"<dict{suffix}>", 0, source
        return
    if isinstance(source, (list, tuple)):
        for i, item in enumerate(source):
            check_structure(item, f"<list{suffix}>", i, origin="python")
            yield f"<list{suffix}>", i, item
        return
    if hasattr(source, "read") and not isinstance(source, (str, bytes, os.PathLike)):
        # A stream (sys.stdin for "-"): read whole, named as it names itself.
        text = source.read()
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        yield from parse_documents(text, getattr(source, "name", None) or f"<stream{suffix}>")
        return
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ManifestError(f"not UTF-8 text (byte {err.start})",
                                source=f"<bytes{suffix}>") from None
    if isinstance(source, str) and _looks_like_text(source):
        yield from parse_documents(source, f"<text{suffix}>")
        return
    if isinstance(source, (str, os.PathLike)):
        label = os.fsdecode(source)
        if not os.path.exists(source):
            raise FileNotFoundError(2, "no such manifest file (a str source is a path, or "
                                       "YAML/JSON text with a newline)", label)
        if os.path.isdir(source):  # like kubectl -f DIR: its manifest files, by name
            paths = sorted(os.path.join(label, f) for f in os.listdir(label)
                           if f.endswith(_EXTENSIONS))
        else:
            paths = [label]
        for path in paths:
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except UnicodeDecodeError as err:
                raise ManifestError(f"not UTF-8 text (byte {err.start})", source=path) from None
            yield from parse_documents(text, path)
        return
    raise ValidationError(f"expected a file path, YAML/JSON text, a dict or a list of dicts, "
                          f"got {type(source).__name__}", f"sources[{position}]")


def _looks_like_text(text: str) -> bool:
    head = text.lstrip()
    return "\n" in text or head.startswith(("{", "[", "---", "apiVersion", "kind"))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while manifests are read.

    A large snapshot is hundreds of thousands of young objects (parsed documents,
    then pods) that all survive, so the collector keeps rescanning them to no
    avail: a 5 MB ``kind: List`` of nodes and pods loads two to three times faster
    without it. Reading creates no reference cycles that need it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _objects(source: str, index: int, path: str, data: Any, list_kind: str = "",
             list_api: Any = None) -> Iterator[_Doc]:
    """The Kubernetes objects of one document, ``*List`` kinds expanded."""
    def fail(message: str, field: str = "") -> ManifestError:
        return ManifestError(message, source=source, index=index, field=_at(path, field))

    if not isinstance(data, Mapping):
        raise fail("expected a Kubernetes object (a mapping with apiVersion and kind), got "
                   f"{type(data).__name__}")
    kind = data.get("kind")
    api = data.get("apiVersion")
    if kind is None and list_kind:
        kind, api = list_kind, list_api  # items of a typed list (PodList) may omit them
    if kind is None:
        raise fail("missing: every object needs apiVersion and kind", "kind")
    if not isinstance(kind, str) or not kind:
        raise fail(f"expected a kind such as 'Node' or 'Pod', got {kind!r}", "kind")
    if kind == "List" or kind.endswith("List") and "items" in data:
        items = data.get("items")
        if items is None:
            items = []
        if not isinstance(items, list):
            raise fail(f"expected a list, got {type(items).__name__}", "items")
        element = kind[: -len("List")]
        for i, item in enumerate(items):
            yield from _objects(source, index, _at(path, f"items[{i}]"), item, element, api)
        return
    doc = _Doc(source, index, path, kind, data)
    groups = _GROUPS.get(kind)
    if groups is not None and api is not None:
        if not isinstance(api, str) or not api:
            raise doc.error(f"expected a string such as 'v1', got {api!r}", "apiVersion")
        group = api.rpartition("/")[0]
        if group not in groups:
            served = f"{groups[0]}/v1" if groups[0] else "v1"
            raise doc.error(f"kind {kind} is served by apiVersion {served!r}, not {api!r}",
                            "apiVersion")
    yield doc


# -- fields ---------------------------------------------------------------------------


_NODE_FIELDS = {"name": "metadata.name", "labels": "metadata.labels", "taints": "spec.taints",
                "unschedulable": "spec.unschedulable"}
# -- loading --------------------------------------------------------------------------


def load_manifests(*sources: Any) -> Manifests:
    """Read Kubernetes manifests into a new cluster, the pending pods and the Services.

    Each source is a path (``str`` or ``os.PathLike``) to a YAML or JSON file, YAML
    or JSON text (a ``str`` with a newline, or starting with ``{``, ``[``, ``---``,
    ``apiVersion`` or ``kind``), a dict, or a list of dicts. Files may hold several
    documents; ``kind: List`` and typed lists (``NodeList``) are expanded.

    All nodes are added first, so the order of sources does not matter. Pods that
    name a node in ``spec.nodeName`` are bound to it with ``force=True`` (a snapshot
    of a real cluster may be overcommitted); pods that have finished
    (``status.phase`` Succeeded or Failed) hold no resources and are skipped.
    Workloads are expanded into pending pods named ``<name>-<i>`` (StatefulSet:
    ``<name>-<ordinal>``), unless another object lists one of them as its owner
    (then the manifests hold its ReplicaSets or pods, which are read instead).

    Raises :class:`~fastsched.errors.ManifestError` for a document that cannot be
    read, ``FileNotFoundError`` for a missing file and ``ValidationError`` for a
    source of the wrong type. Nothing is changed outside the returned value, so a
    failed load leaves nothing half-done.
    """
    with _collector_paused():
        manifests, notes = _load(sources)
    for note in notes:  # only once everything loaded: a failed load has no side effects
        warnings.warn(note, ManifestWarning, stacklevel=2)
    return manifests


def _load(sources: tuple[Any, ...]) -> tuple[Manifests, list[str]]:
    """The manifests, and the warnings to give about skipped documents."""
    many = len(sources) > 1
    objects: list[_Doc] = []
    for position, source in enumerate(sources):
        for label, index, data in _source_documents(source, position, many):
            if data is not None:  # an empty document
                objects.extend(_objects(label, index, "", data))

    notes: list[str] = []
    skipped: list[tuple[int, str]] = []  # (position, kind/name): reported in document order
    for position, doc in enumerate(objects):
        if doc.kind not in _GROUPS:
            skipped.append((position, doc.obj))
            notes.append(f"{doc.source}: document {doc.index}"
                         f"{' ' + doc.path if doc.path else ''}: skipping unsupported kind "
                         f"{doc.kind!r} ({doc.name or 'unnamed'})")

    # Nodes first: pods in any source may name them.
    cluster = Cluster()
    node_origin: dict[str, _Doc] = {}
    for doc in objects:
        if doc.kind == "Node":
            _add_node(cluster, doc, node_origin)

    classes: dict[str, PriorityClass] = {}
    for doc in objects:
        if doc.kind == "PriorityClass":
            try:
                pc = priority_class_from_k8s(doc.data)
            except ValidationError as err:
                raise doc.wrap(err) from None
            if pc.name in classes:
                raise doc.error(f"PriorityClass {pc.name!r} is defined twice", "metadata.name")
            classes[pc.name] = pc
    controllers = _controller_selectors(objects)
    owned = _owners(objects)
    pod_origin: dict[str, str] = {}
    owners: dict[str, str] = {}
    calm: set[str] = set()          # karpenter.sh/do-not-disrupt
    pending: list[Pod] = []
    workloads: list[Workload] = []
    made = 0                        # pods created so far, against MAX_PODS
    for position, doc in enumerate(objects):
        if doc.kind == "Pod":
            if _finished(doc):
                skipped.append((position, doc.obj))
                continue
            made += 1
            if made > MAX_PODS:
                raise doc.error(f"the manifests hold more than {MAX_PODS:,} pods, the most "
                                "one load creates")
            try:
                pod = pod_from_k8s(doc.data)
                pod = resolve_priority(pod, _mapping_at(doc.data, "spec"), classes)
            except ValidationError as err:
                raise doc.wrap(err) from None
            pod = _with_owner(doc, pod, controllers)
            _place(cluster, doc, pod, "spec.nodeName", pod_origin, pending)
            _note_owner(doc, f"Pod/{pod.key}", owners)
            if _do_not_disrupt(doc.data):
                calm.add(pod.key)
        elif doc.kind in _WORKLOADS:
            namespace = _namespace_of(doc)
            if (doc.kind, namespace, doc.name) in owned or _uid(doc) in owned:
                skipped.append((position, doc.obj))
                continue
            pods = _expand(doc, namespace, MAX_PODS - made, classes)
            made += len(pods)
            calm_template = _do_not_disrupt(_mapping_at(doc.data, "spec").get("template"))
            for i, pod in enumerate(pods):
                _place(cluster, doc, pod, "spec.template.spec.nodeName", pod_origin, pending,
                       replica=i)
                owners[f"Pod/{pod.key}"] = f"{doc.kind}/{namespace}/{doc.name}"
                if calm_template:
                    calm.add(pod.key)
            workloads.append(Workload(doc.kind, doc.name, namespace, pods))

    services: list[Service] = []
    seen_services: dict[str, _Doc] = {}
    for doc in objects:
        if doc.kind == "Service":
            try:
                service = Service.from_dict(doc.data)
            except ValidationError as err:
                raise doc.wrap(err) from None
            first = seen_services.get(service.key)
            if first is not None:
                raise doc.error(f"Service {service.key} is defined twice (first in "
                                f"{first.source} document {first.index})", "metadata.name")
            seen_services[service.key] = doc
            services.append(service)

    for doc in objects:
        if doc.kind in _WORKLOADS:
            _note_owner(doc, f"{doc.kind}/{_namespace_of(doc)}/{doc.name}", owners)
    pdbs = tuple(_budget(doc, cluster, pending) for doc in objects
                 if doc.kind == "PodDisruptionBudget")
    return Manifests(cluster=cluster, pending=tuple(pending), services=tuple(services),
                     workloads=tuple(workloads),
                     skipped=tuple(obj for _, obj in sorted(skipped)), owners=owners,
                     do_not_disrupt=frozenset(calm), pdbs=pdbs), notes


def _budget(doc: _Doc, cluster: Cluster, pending: list[Pod]) -> PodDisruptionBudget:
    """A PodDisruptionBudget and the disruptions it allows now: its status's, or
    computed as the disruption controller does (healthy: the selected pods bound to a
    node; expected: all selected pods)."""
    try:
        meta = _mapping_at(doc.data, "metadata")
        spec = _mapping_at(doc.data, "spec")
        status = _mapping_at(doc.data, "status")
        name = _required_name(meta)
        namespace = _namespace_of(doc)
        selector = coerce(LabelSelector, spec.get("selector") or {}, "spec.selector")
        if status.get("disruptionsAllowed") is not None:
            allowed = check_int(status["disruptionsAllowed"], "status.disruptionsAllowed", lo=0)
        else:
            chosen = [p for p in (*cluster.pods.values(), *pending)
                      if p.namespace == namespace and selector.matches(p.labels)]
            expected = len(chosen)
            healthy = sum(p.key in cluster.pods for p in chosen)
            if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
                raise ValidationError("give minAvailable or maxUnavailable, not both",
                                      "spec.maxUnavailable")
            if spec.get("maxUnavailable") is not None:
                most = _scaled(spec["maxUnavailable"], expected, "spec.maxUnavailable")
                allowed = max(0, healthy - (expected - most))
            else:
                least = _scaled(spec.get("minAvailable", 1), expected, "spec.minAvailable")
                allowed = max(0, healthy - least)
        return PodDisruptionBudget(name, selector, allowed, namespace)
    except ValidationError as err:
        raise doc.wrap(err) from None


def _scaled(value: Any, total: int, field: str) -> int:
    """An int-or-percent of ``total``, a percentage rounded up (intstr's
    GetScaledValueFromIntOrPercent with roundUp)."""
    if isinstance(value, str) and value.endswith("%"):
        digits = value[:-1]
        if not (digits.isascii() and digits.isdigit()) or int(digits) > 100:
            raise ValidationError(f"expected an integer or a percentage up to 100%, got "
                                  f"{value!r}", field)
        return -(-int(digits) * total // 100)
    return check_int(value, field, lo=0)


def _note_owner(doc: _Doc, key: str, owners: dict[str, str]) -> None:
    """Record the controller of ``key`` (the ownerReference with ``controller: true``)."""
    meta = doc.data.get("metadata")
    refs = meta.get("ownerReferences") if isinstance(meta, Mapping) else None
    if not isinstance(refs, list):
        return
    for ref in refs:
        if isinstance(ref, Mapping) and ref.get("controller") is True and \
                isinstance(ref.get("kind"), str) and isinstance(ref.get("name"), str):
            owners[key] = f"{ref['kind']}/{_namespace_of(doc)}/{ref['name']}"
            return


def _do_not_disrupt(data: Any) -> bool:
    """Whether an object (a pod, or a pod template) carries Karpenter's
    ``karpenter.sh/do-not-disrupt: "true"`` annotation."""
    meta = data.get("metadata") if isinstance(data, Mapping) else None
    notes = meta.get("annotations") if isinstance(meta, Mapping) else None
    return isinstance(notes, Mapping) and notes.get("karpenter.sh/do-not-disrupt") == "true"


def _add_node(cluster: Cluster, doc: _Doc, origin: dict[str, _Doc]) -> None:
    data = doc.data
    try:
        meta = _mapping_at(data, "metadata")
        spec = _mapping_at(data, "spec")
        status = _mapping_at(data, "status")
        name = _required_name(meta)
    except ValidationError as err:
        raise doc.wrap(err) from None
    first = origin.get(name)
    if first is not None:
        raise doc.error(f"node {name!r} is defined twice (first in {first.source} document "
                        f"{first.index})", "metadata.name")
    if status.get("allocatable") is not None:
        allocatable, where = status["allocatable"], "status.allocatable"
    elif status.get("capacity") is not None:
        allocatable, where = status["capacity"], "status.capacity"
    else:
        raise doc.error("missing: a node needs status.allocatable (or status.capacity)",
                        "status.allocatable")
    unschedulable = spec.get("unschedulable")
    try:
        images = _node_images(status)
    except ValidationError as err:
        raise doc.wrap(err) from None
    extra = {"images": images} if images else {}
    try:
        cluster.add_node(name, allocatable, labels=meta.get("labels"),
                         taints=spec.get("taints") or (),
                         unschedulable=False if unschedulable is None else unschedulable,
                         **extra)
    except ValidationError as err:
        raise doc.error(err.message,
                        _remap(err.field, {**_NODE_FIELDS, "allocatable": where})) from None
    origin[name] = doc


def _node_images(status: Mapping[str, Any]) -> dict[str, int]:
    """``status.images`` (each entry: ``names`` and ``sizeBytes``) as image → bytes."""
    images: dict[str, int] = {}
    for i, entry in enumerate(_list_at(status, "images", "status")):
        where = f"status.images[{i}]"
        if not isinstance(entry, Mapping):
            raise ValidationError(f"expected a mapping, got {type(entry).__name__}", where)
        size = check_int(entry.get("sizeBytes", 0), f"{where}.sizeBytes", lo=0)
        for j, image in enumerate(_list_at(entry, "names", where)):
            images[check_str(image, f"{where}.names[{j}]", allow_empty=False)] = size
    return images


def _finished(doc: _Doc) -> bool:
    status = doc.data.get("status")
    return isinstance(status, Mapping) and status.get("phase") in ("Succeeded", "Failed")


def _namespace_of(doc: _Doc) -> str:
    meta = doc.data.get("metadata")
    namespace = meta.get("namespace") if isinstance(meta, Mapping) else None
    return namespace if isinstance(namespace, str) and namespace else DEFAULT_NAMESPACE


def _uid(doc: _Doc) -> Any:
    meta = doc.data.get("metadata")
    uid = meta.get("uid") if isinstance(meta, Mapping) else None
    return ("uid", uid) if isinstance(uid, str) and uid else None


def _owners(objects: list[_Doc]) -> set[Any]:
    """The controllers some object names as its owner: ``(kind, namespace, name)``
    and ``("uid", uid)``. Their ReplicaSets or pods are in the manifests already, so
    expanding them as well would count their pods twice."""
    owned: set[Any] = set()
    for doc in objects:
        meta = doc.data.get("metadata")
        refs = meta.get("ownerReferences") if isinstance(meta, Mapping) else None
        if not isinstance(refs, list):
            continue
        namespace = _namespace_of(doc)
        for ref in refs:
            if isinstance(ref, Mapping):
                owned.add((ref.get("kind"), namespace, ref.get("name")))
                if isinstance(ref.get("uid"), str):
                    owned.add(("uid", ref["uid"]))
    return owned


def _controller_selectors(objects: list[_Doc]) -> dict[Any, LabelSelector]:
    """The selectors of the ReplicaSets, StatefulSets and ReplicationControllers in the
    manifests, by ``(kind, namespace, name)`` and ``("uid", uid)``: default spreading
    takes a pod's selector from its controller (upstream's helper.DefaultSelector)."""
    out: dict[Any, LabelSelector] = {}
    for doc in objects:
        if doc.kind not in ("ReplicaSet", "StatefulSet", "ReplicationController"):
            continue
        spec = doc.data.get("spec")
        selector = spec.get("selector") if isinstance(spec, Mapping) else None
        if selector is None:
            continue
        try:
            if doc.kind == "ReplicationController":
                selector = LabelSelector(match_labels=label_map(selector, "spec.selector"))
            else:
                selector = coerce(LabelSelector, selector, "spec.selector")
        except ValidationError as err:
            raise doc.wrap(err) from None
        out[(doc.kind, _namespace_of(doc), doc.name)] = selector
        uid = _uid(doc)
        if uid is not None:
            out[uid] = selector
    return out


def _with_owner(doc: _Doc, pod: Pod, controllers: Mapping[Any, LabelSelector]) -> Pod:
    """``pod`` with its controller's selector as ``owner_selector``, when the pod's
    controller reference (``ownerReferences`` with ``controller: true``) names a
    ReplicaSet, StatefulSet or ReplicationController of the manifests."""
    meta = doc.data.get("metadata")
    refs = meta.get("ownerReferences") if isinstance(meta, Mapping) else None
    if pod.owner_selector is not None or not isinstance(refs, list):
        return pod
    for ref in refs:
        if not isinstance(ref, Mapping) or ref.get("controller") is not True:
            continue
        uid = ref.get("uid")
        found = controllers.get(("uid", uid)) if isinstance(uid, str) else None
        if found is None:
            found = controllers.get((ref.get("kind"), pod.namespace, ref.get("name")))
        if found is not None:
            return pod.replica(pod.name, owner_selector=found)
    return pod


def _expand(doc: _Doc, namespace: str, room: int,
            classes: Mapping[str, PriorityClass]) -> tuple[Pod, ...]:
    """The pods of a Deployment, ReplicaSet, StatefulSet, ReplicationController or Job
    (at most ``room`` of them: the rest of MAX_PODS)."""
    try:
        meta = _mapping_at(doc.data, "metadata")
        spec = _mapping_at(doc.data, "spec")
        name = _check_object_name(_required_name(meta), "metadata.name")
        _check_namespace(namespace, "metadata.namespace")
        if doc.kind == "Job":
            field, count = "spec.parallelism", _count(spec, "parallelism")
            if spec.get("completions") is not None:
                count = min(count, _count(spec, "completions"))
        else:
            field, count = "spec.replicas", _count(spec, "replicas")
        if count > room:
            raise ValidationError(f"{count:,} pods would bring the manifests past "
                                  f"{MAX_PODS:,} pods, the most one load creates", field)
        first = 0
        if doc.kind == "StatefulSet":
            ordinals = _mapping_at(spec, "ordinals", "spec")
            if ordinals.get("start") is not None:
                first = check_int(ordinals["start"], "spec.ordinals.start", lo=0)
        template = spec.get("template")
        if template is None:
            raise ValidationError("missing: a workload needs a pod template", "spec.template")
        try:
            template_pod = pod_from_k8s(template, name=name, namespace=namespace)
            template_pod = resolve_priority(template_pod, _mapping_at(template, "spec"),
                                            classes)
        except ValidationError as err:
            raise err.prefixed("spec.template") from None
        owner = _check_selector(doc.kind, spec.get("selector"), template_pod)
        if doc.kind != "Job":       # the apps controllers: their selector spreads pods
            template_pod = template_pod.replica(template_pod.name, owner_selector=owner or
                                                LabelSelector(template_pod.labels))
    except ValidationError as err:
        raise doc.wrap(err) from None
    # The template is parsed and checked once; replicas share its containers and terms.
    return tuple(template_pod.replica(f"{name}-{first + i}") for i in range(count))


def _count(spec: Mapping[str, Any], key: str) -> int:
    value = spec.get(key)
    if value is None:
        return 1
    value = check_int(value, f"spec.{key}", lo=0)
    if value > MAX_REPLICAS:
        raise ValidationError(f"fastsched expands at most {MAX_REPLICAS} pods per workload, "
                              f"got {value}", f"spec.{key}")
    return value


def _check_selector(kind: str, selector: Any, pod: Pod) -> LabelSelector | None:
    """The workload's selector; the API server refuses one that does not match the
    template's labels."""
    if selector is None:
        return None
    if kind == "ReplicationController":  # a plain label map
        selector = LabelSelector(match_labels=label_map(selector, "spec.selector"))
    else:
        selector = coerce(LabelSelector, selector, "spec.selector")
    if not selector.matches(pod.labels):
        raise ValidationError("does not match the pod template's labels "
                              f"{dict(pod.labels)!r}", "spec.selector")
    return selector


def _place(cluster: Cluster, doc: _Doc, pod: Pod, node_field: str, origin: dict[str, str],
           pending: list[Pod], replica: int | None = None) -> None:
    """Bind a pod that names its node, or add it to the pending pods."""
    which = f"pod {pod.key}" + ("" if replica is None else f" (replica {replica})")
    first = origin.get(pod.key)
    if first is not None:
        raise doc.error(f"{which} is defined twice (first by {first})", "metadata.name")
    if pod.node_name:
        if pod.node_name not in cluster:
            raise doc.error(f"no node named {pod.node_name!r} in the manifests ({which})",
                            node_field)
        try:
            cluster.bind(pod, pod.node_name, force=True)
        except ValidationError as err:
            raise doc.error(f"{which}: {err}") from None
    else:
        pending.append(pod)
    origin[pod.key] = f"{doc.obj} in {doc.source} document {doc.index}"


