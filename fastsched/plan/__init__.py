"""Capacity planning: instance catalogs, what-if edits, provisioning and consolidation."""

from .catalog import CAPACITY_TYPES, Catalog, CatalogError, NodeType
from .consolidate import ConsolidationPlan, consolidate
from .provision import ProvisionPlan, provision
from .whatif import WhatIf, utilization, whatif

__all__ = ["Catalog", "CatalogError", "NodeType", "CAPACITY_TYPES", "provision", "ProvisionPlan",
           "consolidate", "ConsolidationPlan", "whatif", "WhatIf", "utilization"]
