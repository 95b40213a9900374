"""Instance catalogs: the node types a planner may add, with their price.

A catalog is YAML (``apiVersion: fastsched.io/v1``, ``kind: NodeCatalog``, ``types:``)
or CSV with the same fields as columns. Each type has a ``name``, a ``capacity``
(cpu, memory, pods, ephemeral-storage, GPUs as ``nvidia.com/gpu``) and either its
``allocatable`` or an ``overhead`` (kube/system reserved and eviction threshold,
subtracted from the capacity), a ``price`` per hour, a ``capacityType``
(``on-demand`` or ``spot``), the ``zones`` it is offered in, the ``labels`` and
``taints`` its nodes get, an optional ``gpuModel`` and an optional ``limit`` on how
many may be added. Nodes of a type are labelled as Karpenter labels them:
``node.kubernetes.io/instance-type``, ``karpenter.sh/capacity-type``,
``topology.kubernetes.io/zone`` (and ``nvidia.com/gpu.product`` for the GPU model).

Everything is checked on load: a bad entry raises :class:`CatalogError` naming the
file, the entry (``types[3] (m5.large)``) and the field.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._validation import coerce
from ..errors import ValidationError
from ..model.quantity import parse_quantity
from ..model.taints import Taint

__all__ = ["Catalog", "CatalogError", "NodeType", "CAPACITY_TYPES"]

CAPACITY_TYPES = ("on-demand", "spot")
_FIELDS = {"name", "capacity", "allocatable", "overhead", "price", "capacityType", "zones",
           "labels", "taints", "limit", "gpuModel"}
_CSV_RESOURCES = {"cpu": "cpu", "memory": "memory", "pods": "pods", "gpu": "nvidia.com/gpu",
                  "ephemeral-storage": "ephemeral-storage"}


class CatalogError(ValidationError):
    """A catalog that cannot be used: ``source`` is the file, ``entry`` the type."""

    def __init__(self, message: str, source: str, entry: str = "", field: str = "") -> None:
        self.source, self.entry = source, entry
        where = source + (f": {entry}" if entry else "")
        super().__init__(message, f"{where}: {field}" if field else where)


@dataclass(frozen=True, repr=False)
class NodeType:
    """One node type of a catalog; resources in scheduler units (millicores, bytes,
    counts)."""

    name: str
    capacity: Mapping[str, int]
    allocatable: Mapping[str, int]
    price: float
    capacity_type: str = "on-demand"
    zones: tuple[str, ...] = ()
    labels: Mapping[str, str] | None = None
    taints: tuple[Taint, ...] = ()
    limit: int | None = None
    gpu_model: str = ""

    def __repr__(self) -> str:
        cpu = self.allocatable.get("cpu", 0) / 1000
        mem = self.allocatable.get("memory", 0) / 2**30
        gpu = self.allocatable.get("nvidia.com/gpu", 0)
        return (f"NodeType({self.name}: {cpu:g} cpu, {mem:.1f}Gi"
                + (f", {gpu} {self.gpu_model or 'GPU'}" if gpu else "")
                + f", ${self.price:g}/h {self.capacity_type})")

    def node_labels(self, zone: str | None = None) -> dict[str, str]:
        """The labels a node of this type gets in ``zone`` (default: its first)."""
        out = {"node.kubernetes.io/instance-type": self.name,
               "karpenter.sh/capacity-type": self.capacity_type}
        zone = zone if zone is not None else (self.zones[0] if self.zones else None)
        if zone:
            out["topology.kubernetes.io/zone"] = zone
        if self.gpu_model:
            out["nvidia.com/gpu.product"] = self.gpu_model
        out.update(self.labels or {})
        return out


class Catalog:
    """Node types by name (see the module's docstring). ``Catalog.load(path)`` reads
    a file; ``Catalog.from_dict(doc)`` a parsed document."""

    def __init__(self, types: Sequence[NodeType], source: str = "<catalog>") -> None:
        self.types = tuple(types)
        self.source = source
        self._by_name = {t.name: t for t in self.types}

    def __repr__(self) -> str:
        shown = ", ".join(t.name for t in self.types[:4])
        more = f", … {len(self.types) - 4} more" if len(self.types) > 4 else ""
        return f"Catalog({len(self.types)} types: {shown}{more})"

    def __len__(self) -> int:
        return len(self.types)

    def __iter__(self) -> Iterator[NodeType]:
        return iter(self.types)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> NodeType:
        try:
            return self._by_name[name]
        except KeyError:
            raise ValidationError(f"no node type {name!r} in {self.source}", "type") from None

    @classmethod
    def coerce(cls, value: "Catalog | str | os.PathLike[str] | Mapping[str, Any]") -> "Catalog":
        """A catalog, a path to one, or a parsed document."""
        if isinstance(value, Catalog):
            return value
        if isinstance(value, Mapping):
            return cls.from_dict(value)
        return cls.load(value)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Catalog":
        """Read a YAML (or JSON) or CSV catalog file."""
        source = os.fspath(path)
        if not os.path.isfile(source):
            raise CatalogError("no such file", source)
        with open(source, encoding="utf-8") as f:
            text = f.read()
        if source.endswith(".csv"):
            return cls._from_csv(text, source)
        try:
            import yaml
            doc = yaml.safe_load(text)
        except ImportError:                    # pragma: no cover - PyYAML is a dependency
            doc = json.loads(text)
        except Exception as exc:               # yaml.YAMLError and friends
            raise CatalogError(f"not YAML: {exc}", source) from None
        if not isinstance(doc, Mapping):
            raise CatalogError("expected a NodeCatalog document", source)
        return cls.from_dict(doc, source)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], source: str = "<catalog>") -> "Catalog":
        """A catalog from a parsed ``NodeCatalog`` document."""
        if doc.get("kind", "NodeCatalog") != "NodeCatalog":
            raise CatalogError(f"kind must be NodeCatalog, got {doc.get('kind')!r}", source,
                               field="kind")
        api = doc.get("apiVersion", "fastsched.io/v1")
        if api != "fastsched.io/v1":
            raise CatalogError(f"apiVersion must be fastsched.io/v1, got {api!r}", source,
                               field="apiVersion")
        types = doc.get("types")
        if not isinstance(types, list) or not types:
            raise CatalogError("expected a non-empty list", source, field="types")
        out: list[NodeType] = []
        seen: dict[str, int] = {}
        for i, entry in enumerate(types):
            label = f"types[{i}]"
            if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
                label += f" ({entry['name']})"
            node_type = _node_type(entry, source, label)
            if node_type.name in seen:
                raise CatalogError(f"the name is also types[{seen[node_type.name]}]", source,
                                   label, "name")
            seen[node_type.name] = i
            out.append(node_type)
        return cls(out, source)

    @classmethod
    def _from_csv(cls, text: str, source: str) -> "Catalog":
        rows = list(csv.DictReader(io.StringIO(text)))
        types = []
        for row in rows:
            entry: dict[str, Any] = {"capacity": {}, "overhead": {}}
            for key, value in row.items():
                value = (value or "").strip()
                if key is None or value == "":
                    continue
                if key in _CSV_RESOURCES:
                    entry["capacity"][_CSV_RESOURCES[key]] = value
                elif key.startswith("overhead-") and key[9:] in _CSV_RESOURCES:
                    entry["overhead"][_CSV_RESOURCES[key[9:]]] = value
                elif key == "zones":
                    entry["zones"] = [z for z in value.split("|") if z]
                elif key in ("name", "price", "capacityType", "limit", "gpuModel"):
                    entry[key] = value
                else:
                    raise CatalogError(f"unknown column {key!r}", source)
            types.append(entry)
        return cls.from_dict({"types": types}, source)


def _resources(value: Any, source: str, entry: str, field: str) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise CatalogError("expected a map of resource quantities", source, entry, field)
    out = {}
    for name, quantity in value.items():
        path = f"{field}.{name}"
        try:
            amount = parse_quantity(quantity, str(name))
        except ValidationError as err:
            raise CatalogError(err.message, source, entry, path) from None
        if amount < 0:
            raise CatalogError(f"must not be negative, got {quantity!r}", source, entry, path)
        out[str(name)] = amount
    return out


def _node_type(entry: Any, source: str, label: str) -> NodeType:
    if not isinstance(entry, Mapping):
        raise CatalogError("expected a map", source, label)
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise CatalogError(f"unknown field (known: {', '.join(sorted(_FIELDS))})", source, label,
                           str(unknown[0]))
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise CatalogError("a non-empty string is required", source, label, "name")
    if "price" not in entry:
        raise CatalogError("required (per hour)", source, label, "price")
    try:
        price = float(entry["price"])
    except (TypeError, ValueError):
        price = math.nan
    if not math.isfinite(price) or price < 0:
        raise CatalogError(f"must be a non-negative number, got {entry['price']!r}", source,
                           label, "price")
    capacity = _resources(entry.get("capacity"), source, label, "capacity")
    for required in ("cpu", "memory"):
        if required not in capacity:
            raise CatalogError("required", source, label, f"capacity.{required}")
    capacity.setdefault("pods", 110)
    if "allocatable" in entry and "overhead" in entry:
        raise CatalogError("give allocatable or overhead, not both", source, label,
                           "allocatable")
    if "allocatable" in entry:
        allocatable = _resources(entry["allocatable"], source, label, "allocatable")
        for res in capacity:
            allocatable.setdefault(res, capacity[res])
    else:
        overhead = _resources(entry.get("overhead", {}), source, label, "overhead")
        allocatable = {res: capacity[res] - overhead.get(res, 0) for res in capacity}
        for res, amount in allocatable.items():
            if amount < 0:
                raise CatalogError(f"the overhead exceeds the capacity of {res}", source, label,
                                   f"overhead.{res}")
    for res, amount in allocatable.items():
        if amount > capacity.get(res, 0):
            raise CatalogError(f"exceeds the capacity ({amount:,} > {capacity.get(res, 0):,})",
                               source, label, f"allocatable.{res}")
    capacity_type = entry.get("capacityType", "on-demand")
    if capacity_type not in CAPACITY_TYPES:
        raise CatalogError(f"must be one of {', '.join(CAPACITY_TYPES)}, got {capacity_type!r}",
                           source, label, "capacityType")
    zones = entry.get("zones", [])
    if not isinstance(zones, list) or not all(isinstance(z, str) and z for z in zones):
        raise CatalogError("expected a list of zone names", source, label, "zones")
    labels = entry.get("labels", {}) or {}
    if not isinstance(labels, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise CatalogError("expected a map of strings", source, label, "labels")
    taints = []
    for j, taint in enumerate(entry.get("taints", []) or []):
        try:
            taints.append(coerce(Taint, taint, ""))
        except ValidationError as err:
            raise CatalogError(err.message, source, label,
                               f"taints[{j}]" + (f".{err.field}" if err.field else "")) from None
    limit = entry.get("limit")
    if limit is not None and (isinstance(limit, bool) or not str(limit).isdigit()):
        raise CatalogError(f"must be a non-negative integer, got {limit!r}", source, label,
                           "limit")
    gpu_model = entry.get("gpuModel", "") or ""
    if not isinstance(gpu_model, str):
        raise CatalogError("expected a string", source, label, "gpuModel")
    return NodeType(name, capacity, allocatable, price, capacity_type, tuple(zones),
                    dict(labels), tuple(taints), int(limit) if limit is not None else None,
                    gpu_model)
