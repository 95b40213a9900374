"""Capacity planning: instance catalogs (and, as they land, what-if edits,
provisioning and consolidation)."""

from .catalog import CAPACITY_TYPES, Catalog, CatalogError, NodeType
from .provision import ProvisionPlan, provision

__all__ = ["Catalog", "CatalogError", "NodeType", "CAPACITY_TYPES", "provision", "ProvisionPlan"]
