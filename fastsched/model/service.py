"""A Kubernetes Service as a value: the pods it selects, and its ports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._validation import (
    EMPTY,
    check_choice,
    check_int,
    check_str,
    coerce_list,
    from_k8s,
    label_map,
    set_field,
)
from ..errors import ValidationError
from ._objects import (
    _DNS1035_LABEL,
    _PORT_NAME,
    DEFAULT_NAMESPACE,
    _check_namespace,
    _mapping_at,
    _moved,
    _remap,
    _required_name,
)
from .pod import Pod

__all__ = ["Service", "ServicePort"]

_SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
_PROTOCOLS = ("TCP", "UDP", "SCTP")
_SERVICE_FIELDS = {"name": "metadata.name", "namespace": "metadata.namespace",
                   "selector": "spec.selector", "ports": "spec.ports", "type": "spec.type"}

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
            fields: dict[str, Any] = dict(
                name=_required_name(meta), namespace=meta.get("namespace") or DEFAULT_NAMESPACE,
                selector=spec.get("selector"), ports=spec.get("ports"),
                type=spec.get("type") or "ClusterIP")
            return cls(**fields)
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
