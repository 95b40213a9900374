"""Kubernetes manifests in, Bindings out.

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
* ``v1 Service``: a :class:`Service` with its selector and ports.

Other kinds are skipped with a :class:`ManifestWarning`. A document that cannot be
read raises :class:`~fastsched.errors.ManifestError` naming the source, the
document's index in it (from 0), the object's ``kind/name`` and the field path
inside the document, for example
``nodes.yaml: document 0 (Node/n1): items[2].status.allocatable.cpu: invalid quantity 'x'``.

:func:`to_bindings` turns placements into ``v1 Binding`` objects and
:func:`dump_bindings` writes them as YAML or JSON.
"""

from __future__ import annotations

import gc
import json
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import yaml

from ._model import (EMPTY, check_choice, check_int, check_str, coerce, coerce_list,
                     from_k8s, label_map, set_field)
from .cluster import Cluster
from .errors import ManifestError, ValidationError
from .labels import LabelSelector
from .pod import Pod

__all__ = ["Manifests", "Service", "ServicePort", "Workload", "ManifestWarning",
           "load_manifests", "pod_from_dict", "to_bindings", "dump_bindings", "MAX_REPLICAS"]

# The C loader and dumper are several times faster; PyYAML built without libyaml
# falls back to the pure-Python ones.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

MAX_REPLICAS = 1_000_000
"""The most pods one workload is expanded into (the API allows any int32; a
billion pod objects would exhaust memory rather than fail with a message)."""

DEFAULT_NAMESPACE = "default"

# metadata.name of most objects is a DNS-1123 subdomain; namespaces and Service
# names are DNS labels (a Service name must also start with a letter).
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_PORT_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_HEAD = re.compile(r"[^.\[]*")
_EXTENSIONS = (".yaml", ".yml", ".json")

# Kinds fastsched reads, with the API group that serves them ("" is the core group).
_GROUPS = {"Node": ("",), "Pod": ("",), "Service": ("",), "ReplicationController": ("",),
           "Deployment": ("apps", "extensions"), "ReplicaSet": ("apps", "extensions"),
           "StatefulSet": ("apps",), "Job": ("batch",)}
_WORKLOADS = ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController", "Job")
_SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
_PROTOCOLS = ("TCP", "UDP", "SCTP")


class ManifestWarning(UserWarning):
    """A manifest document that was skipped (a kind fastsched does not read)."""


# -- value types ----------------------------------------------------------------------


@dataclass(frozen=True)
class ServicePort:
    """One port of a Service: ``port`` on the Service, ``target_port`` on the pods
    (a number, or the name of a container port; the same as ``port`` by default)."""

    port: int
    target_port: int | str | None = None
    protocol: str = "TCP"
    name: str = ""

    def __post_init__(self) -> None:
        set_field(self, "port", check_int(self.port, "port", lo=1, hi=65535))
        target = self.target_port
        if target is None or target == 0 or target == "":
            target = self.port
        elif isinstance(target, str):
            if len(target) > 15 or not _PORT_NAME.fullmatch(target) or "--" in target:
                raise ValidationError(f"invalid port name {target!r}: at most 15 lowercase "
                                      "alphanumerics and '-'", "targetPort")
        else:
            target = check_int(target, "targetPort", lo=1, hi=65535)
        set_field(self, "target_port", target)
        set_field(self, "protocol", check_choice(self.protocol or "TCP", "protocol", _PROTOCOLS))
        set_field(self, "name", check_str(self.name, "name"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ServicePort":
        # nodePort and appProtocol do not matter here.
        return from_k8s(cls, data, strict=False)

    def __str__(self) -> str:
        return f"{self.port}->{self.target_port}/{self.protocol}"


@dataclass(frozen=True)
class Service:
    """A ``v1 Service``: the pods it selects, and its ports.

    A Service without a selector selects no pod (its endpoints are managed by hand).
    """

    name: str
    namespace: str = DEFAULT_NAMESPACE
    selector: Mapping[str, str] = EMPTY
    ports: tuple[ServicePort, ...] = ()
    type: str = "ClusterIP"

    def __post_init__(self) -> None:
        name = check_str(self.name, "name", allow_empty=False)
        if len(name) > 63 or not _DNS1035_LABEL.fullmatch(name):
            raise ValidationError(f"invalid Service name {name!r}: at most 63 lowercase "
                                  "alphanumerics and '-', starting with a letter", "name")
        set_field(self, "namespace", _check_namespace(self.namespace, "namespace"))
        set_field(self, "selector", label_map(self.selector, "selector"))
        set_field(self, "ports", coerce_list(ServicePort, self.ports, "ports"))
        set_field(self, "type", check_choice(self.type or "ClusterIP", "type", _SERVICE_TYPES))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Service":
        """From a ``v1 Service`` object; errors name the field in the object."""
        meta = _mapping_at(data, "metadata")
        spec = _mapping_at(data, "spec")
        try:
            return cls(name=_required_name(meta),
                       namespace=meta.get("namespace") or DEFAULT_NAMESPACE,
                       selector=spec.get("selector"), ports=spec.get("ports"),
                       type=spec.get("type") or "ClusterIP")
        except ValidationError as err:
            raise _moved(err, _remap(err.field, _SERVICE_FIELDS)) from None

    @property
    def key(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"

    def matches(self, pod: Pod) -> bool:
        """Whether the Service selects ``pod``: same namespace, every selector label."""
        return (bool(self.selector) and pod.namespace == self.namespace
                and all(pod.labels.get(k) == v for k, v in self.selector.items()))

    def endpoints(self, cluster: Any) -> Any:
        """The bound pods this Service selects, sorted by pod key (``fastsched.routing``)."""
        from .routing import endpoints
        return endpoints(self, cluster)

    def route(self, cluster: Any, client_keys: Any, method: str = "maglev", *,
              table_size: int = 65537) -> Any:
        """Map client keys to this Service's endpoints by consistent hashing."""
        from .routing import route
        return route(self, cluster, client_keys, method, table_size=table_size)


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
    manifests list themselves.
    """

    cluster: Cluster
    pending: tuple[Pod, ...] = ()
    services: tuple[Service, ...] = ()
    workloads: tuple[Workload, ...] = ()
    skipped: tuple[str, ...] = ()

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


def _at(prefix: str, field: str) -> str:
    if not prefix or not field:
        return prefix or field
    return prefix + field if field.startswith("[") else f"{prefix}.{field}"


def _source_documents(source: Any, position: int, many: bool) -> Iterator[tuple[str, int, Any]]:
    """``(source label, index, document)`` for each document of one source."""
    suffix = f" #{position}" if many else ""
    if isinstance(source, Mapping):
        yield f"<dict{suffix}>", 0, source
        return
    if isinstance(source, (list, tuple)):
        for i, item in enumerate(source):
            yield f"<list{suffix}>", i, item
        return
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ManifestError(f"not UTF-8 text (byte {err.start})",
                                source=f"<bytes{suffix}>") from None
    if isinstance(source, str) and _looks_like_text(source):
        yield from _parse_text(source, f"<text{suffix}>")
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
            yield from _parse_text(text, path)
        return
    raise ValidationError(f"expected a file path, YAML/JSON text, a dict or a list of dicts, "
                          f"got {type(source).__name__}", f"sources[{position}]")


def _looks_like_text(text: str) -> bool:
    head = text.lstrip()
    return "\n" in text or head.startswith(("{", "[", "---", "apiVersion", "kind"))


def _parse_text(text: str, label: str) -> Iterator[tuple[str, int, Any]]:
    if text.lstrip().startswith(("{", "[")):
        # JSON: the json module is faster, and accepts tabs that YAML refuses.
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            json_error = err
        else:
            yield label, 0, data
            return
        try:  # a YAML flow mapping such as "{kind: Node, ...}"
            docs = list(yaml.load_all(text, Loader=_LOADER))
        except yaml.YAMLError:
            raise ManifestError(f"invalid JSON at line {json_error.lineno}, column "
                                f"{json_error.colno}: {json_error.msg}", source=label) from None
        for i, doc in enumerate(docs):
            yield label, i, doc
        return
    index = 0
    try:
        for index, doc in enumerate(yaml.load_all(text, Loader=_LOADER)):
            yield label, index, doc
            index += 1
    except yaml.YAMLError as err:
        raise ManifestError(_yaml_message(err), source=label, index=index) from None


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


def _yaml_message(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"invalid YAML{where}: {problem}" + (f" ({context})" if context else "")


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


def _mapping_at(data: Mapping[str, Any], key: str, path: str = "") -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return EMPTY
    if not isinstance(value, Mapping):
        raise ValidationError(f"expected a mapping, got {type(value).__name__}",
                              _at(path, key))
    return value


def _list_at(data: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(f"expected a list, got {type(value).__name__}", _at(path, key))
    return value


def _required_name(meta: Mapping[str, Any]) -> str:
    name = meta.get("name")
    if name is None or name == "":
        raise ValidationError("missing: every object needs a name", "metadata.name")
    if not isinstance(name, str):
        raise ValidationError(f"expected a string, got {type(name).__name__}", "metadata.name")
    return name


def _check_object_name(name: str, field: str) -> str:
    if len(name) > 253 or not _SUBDOMAIN.fullmatch(name):
        raise ValidationError(f"invalid name {name!r}: lowercase alphanumerics, '-' and '.', "
                              "starting and ending alphanumeric, at most 253 characters", field)
    return name


def _check_namespace(namespace: Any, field: str) -> str:
    namespace = check_str(namespace, field, allow_empty=False)
    if len(namespace) > 63 or not _DNS_LABEL.fullmatch(namespace):
        raise ValidationError(f"invalid namespace {namespace!r}: at most 63 lowercase "
                              "alphanumerics and '-'", field)
    return namespace


def _remap(field: str, table: Mapping[str, str]) -> str:
    """``field`` with its first segment replaced by where it sits in the object."""
    head = _HEAD.match(field).group()
    return table[head] + field[len(head):] if head in table else field


def _moved(err: ValidationError, field: str) -> ValidationError:
    return ValidationError(err.message, field)


_SERVICE_FIELDS = {"name": "metadata.name", "namespace": "metadata.namespace",
                   "selector": "spec.selector", "ports": "spec.ports", "type": "spec.type"}
_NODE_FIELDS = {"name": "metadata.name", "labels": "metadata.labels", "taints": "spec.taints",
                "unschedulable": "spec.unschedulable"}
_POD_FIELDS = {
    "name": "metadata.name", "namespace": "metadata.namespace", "labels": "metadata.labels",
    "containers": "spec.containers", "initContainers": "spec.initContainers",
    "overhead": "spec.overhead", "nodeName": "spec.nodeName",
    "nodeSelector": "spec.nodeSelector", "nodeAffinity": "spec.affinity.nodeAffinity",
    "podAffinity": "spec.affinity.podAffinity",
    "podAntiAffinity": "spec.affinity.podAntiAffinity", "tolerations": "spec.tolerations",
    "topologySpreadConstraints": "spec.topologySpreadConstraints", "priority": "spec.priority",
}
_POD_AFFINITY_TERMS = re.compile(r"(spec\.affinity\.pod(?:Anti)?Affinity)\.(required|preferred)"
                                 r"(?=$|[.\[])")


# -- pods -----------------------------------------------------------------------------


def _pod(data: Any, *, name: str | None = None, namespace: str | None = None) -> Pod:
    """A Pod from a v1 Pod or a pod template; errors name the field inside ``data``."""
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
        return Pod(
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
        )
    except ValidationError as err:
        raise _moved(err, _pod_field(err.field, affinity)) from None


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
    ``overhead``, ``nodeName``, ``nodeSelector``, ``affinity``, ``tolerations``,
    ``topologySpreadConstraints`` and ``priority``. Other fields (volumes, env, …)
    do not matter to scheduling and are ignored. ``name`` and ``namespace``
    override the metadata. Raises :class:`~fastsched.errors.ManifestError` naming
    the field path, e.g. ``spec.containers[0].resources.requests.cpu``.
    """
    try:
        return _pod(data, name=name, namespace=namespace)
    except ValidationError as err:
        meta = data.get("metadata") if isinstance(data, Mapping) else None
        own = name or (meta.get("name") if isinstance(meta, Mapping) else None)
        obj = f"Pod/{own}" if isinstance(own, str) and own else "Pod"
        raise ManifestError(err.message, source="<dict>", obj=obj, field=err.field) from None


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

    owned = _owners(objects)
    pod_origin: dict[str, str] = {}
    pending: list[Pod] = []
    workloads: list[Workload] = []
    for position, doc in enumerate(objects):
        if doc.kind == "Pod":
            if _finished(doc):
                skipped.append((position, doc.obj))
                continue
            try:
                pod = _pod(doc.data)
            except ValidationError as err:
                raise doc.wrap(err) from None
            _place(cluster, doc, pod, "spec.nodeName", pod_origin, pending)
        elif doc.kind in _WORKLOADS:
            namespace = _namespace_of(doc)
            if (doc.kind, namespace, doc.name) in owned or _uid(doc) in owned:
                skipped.append((position, doc.obj))
                continue
            pods = _expand(doc, namespace)
            for i, pod in enumerate(pods):
                _place(cluster, doc, pod, "spec.template.spec.nodeName", pod_origin, pending,
                       replica=i)
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

    return Manifests(cluster=cluster, pending=tuple(pending), services=tuple(services),
                     workloads=tuple(workloads),
                     skipped=tuple(obj for _, obj in sorted(skipped))), notes


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


def _expand(doc: _Doc, namespace: str) -> tuple[Pod, ...]:
    """The pods of a Deployment, ReplicaSet, StatefulSet, ReplicationController or Job."""
    try:
        meta = _mapping_at(doc.data, "metadata")
        spec = _mapping_at(doc.data, "spec")
        name = _check_object_name(_required_name(meta), "metadata.name")
        _check_namespace(namespace, "metadata.namespace")
        if doc.kind == "Job":
            count = _count(spec, "parallelism")
            if spec.get("completions") is not None:
                count = min(count, _count(spec, "completions"))
        else:
            count = _count(spec, "replicas")
        first = 0
        if doc.kind == "StatefulSet":
            ordinals = _mapping_at(spec, "ordinals", "spec")
            if ordinals.get("start") is not None:
                first = check_int(ordinals["start"], "spec.ordinals.start", lo=0)
        template = spec.get("template")
        if template is None:
            raise ValidationError("missing: a workload needs a pod template", "spec.template")
        try:
            template_pod = _pod(template, name=name, namespace=namespace)
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


# -- bindings out ---------------------------------------------------------------------


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

