"""Capacity planning: instance catalogs, provisioning and consolidation (what-if edits
and ``fastsched plan`` to come)."""

from .catalog import CAPACITY_TYPES, Catalog, CatalogError, NodeType
from .consolidate import ConsolidationPlan, consolidate
from .provision import ProvisionPlan, provision

__all__ = ["Catalog", "CatalogError", "NodeType", "CAPACITY_TYPES", "provision", "ProvisionPlan",
           "consolidate", "ConsolidationPlan"]
