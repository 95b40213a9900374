"""Instance catalogs: the shipped ones load; bad entries are named with file, entry
and field."""

from __future__ import annotations

from pathlib import Path

import pytest

import fastsched
from fastsched.plan import Catalog, CatalogError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_the_shipped_catalogs_load():
    aws = fastsched.Catalog.load(EXAMPLES / "catalog-aws.yaml")
    assert len(aws) == 32 and "m5.large" in aws
    m5 = aws["m5.large"]
    # 2 vCPU less 70m kube-reserved; 8 GiB less 1465Mi reserved and 100Mi eviction
    assert m5.allocatable["cpu"] == 1930
    assert m5.allocatable["memory"] == 8 * 2**30 - 1565 * 2**20
    assert (m5.price, m5.zones) == (0.096, ("us-east-1a", "us-east-1b", "us-east-1c"))
    gpu = aws["p3.8xlarge"]
    assert gpu.allocatable["nvidia.com/gpu"] == 4 and gpu.gpu_model.startswith("Tesla-V100")
    assert gpu.node_labels("us-east-1b")["topology.kubernetes.io/zone"] == "us-east-1b"
    small = Catalog.coerce(str(EXAMPLES / "catalog-small.yaml"))
    assert small["large-spot"].limit == 4 and small["large-spot"].capacity_type == "spot"
    assert small["gpu"].taints[0].key == "nvidia.com/gpu"
    assert "32 types" in repr(aws) and len(repr(aws)) < 120


def test_a_parsed_document_and_csv_give_the_same_type(tmp_path):
    doc = {"types": [{"name": "a", "capacity": {"cpu": "4", "memory": "16Gi"},
                      "overhead": {"cpu": "100m"}, "price": 0.2, "zones": ["z1"]}]}
    path = tmp_path / "c.csv"
    path.write_text("name,cpu,memory,overhead-cpu,price,zones\na,4,16Gi,100m,0.2,z1\n")
    assert Catalog.coerce(doc)["a"] == Catalog.load(path)["a"]
    assert Catalog.load(path)["a"].allocatable["cpu"] == 3900


BASE = "apiVersion: fastsched.io/v1\nkind: NodeCatalog\ntypes:\n"
OK = "- {name: ok, capacity: {cpu: '2', memory: 4Gi}, price: 0.1}\n"


@pytest.mark.parametrize("entry, where", [
    ("- {name: m, capacity: {cpu: '2', memory: 4Gi}}\n", "types[1] (m): price: required"),
    ("- {name: m, capacity: {cpu: '-2', memory: 4Gi}, price: 1}\n",
     "types[1] (m): capacity.cpu: must not be negative"),
    ("- {name: m, capacity: {cpu: '2', memory: 4Gi}, allocatable: {cpu: '3'}, price: 1}\n",
     "types[1] (m): allocatable.cpu: exceeds the capacity"),
    ("- {name: ok, capacity: {cpu: '4', memory: 4Gi}, price: 1}\n",
     "types[1] (ok): name: the name is also types[0]"),
    ("- {name: m, capacity: {cpu: '2', memory: 4Gi}, price: cheap}\n",
     "types[1] (m): price: must be a non-negative number"),
    ("- {name: m, capacity: {cpu: '2'}, price: 1}\n", "types[1] (m): capacity.memory: required"),
    ("- {name: m, capacity: {cpu: '2', memory: 4Gi}, overhead: {memory: 5Gi}, price: 1}\n",
     "types[1] (m): overhead.memory: the overhead exceeds the capacity"),
    ("- {name: m, capacity: {cpu: '2', memory: 4Gi}, price: 1, capacityType: reserved}\n",
     "types[1] (m): capacityType: must be one of on-demand, spot"),
    ("- {name: m, capacity: {cpu: '2', memory: 4Gi}, price: 1, cost: 2}\n",
     "types[1] (m): cost: unknown field"),
    ("- {name: m, capacity: {cpu: 2x, memory: 4Gi}, price: 1}\n", "types[1] (m): capacity.cpu:"),
    ("- {name: m, capacity: {cpu: '2', memory: 4Gi}, price: 1, taints: [{key: k, effect: Nope}]}\n",
     "types[1] (m): taints[0].effect: must be one of"),
])
def test_bad_catalogs_name_file_entry_and_field(tmp_path, entry, where):
    path = tmp_path / "catalog.yaml"
    path.write_text(BASE + OK + entry)
    with pytest.raises(CatalogError) as err:
        Catalog.load(path)
    assert str(err.value).startswith(f"{path}: {where}"), str(err.value)
    assert isinstance(err.value, ValueError)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(CatalogError, match="no such file"):
        Catalog.load(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("types: [1, 2")
    with pytest.raises(CatalogError, match="not YAML"):
        Catalog.load(tmp_path / "bad.yaml")
    (tmp_path / "empty.yaml").write_text("kind: NodeCatalog\ntypes: []\n")
    with pytest.raises(CatalogError, match="types: expected a non-empty list"):
        Catalog.load(tmp_path / "empty.yaml")
