"""The package's shape, checked on its source: layers without import cycles (imports
inside functions count), no reach into a Cluster's private fields from outside
``fastsched/cluster/``, small files, and few modules at the top."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "fastsched"
MAX_LINES = 800
MAX_TOP_MODULES = 12


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


SOURCES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def imports(name: str, path: Path) -> set[str]:
    """Every fastsched module that ``name`` imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                head = ".".join(base + ([node.module] if node.module else []))
            else:
                head = node.module or ""
            # ``from pkg import module`` imports that module
            targets = [f"{head}.{a.name}" if f"{head}.{a.name}" in SOURCES else head
                       for a in node.names]
        else:
            continue
        found.update(t for t in targets if t in SOURCES and t != name)
    return found


GRAPH = {name: imports(name, path) for name, path in SOURCES.items()}


def test_no_import_cycles():
    # A package's __init__ imports its children; a child importing its own package
    # back is the only parent edge that would close a loop, and it is counted.
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def cluster_private_fields() -> set[str]:
    tree = ast.parse((ROOT / "cluster" / "cluster.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Cluster")
    names = set()
    for node in ast.walk(cls):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "self" and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            names.add(node.attr)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("_") \
                and not node.name.startswith("__"):
            names.add(node.name)
    return names


def test_no_private_cluster_fields_outside_cluster_package():
    private = cluster_private_fields()
    assert {"_alloc", "_req", "_rows", "_store"} <= private
    offenders = []
    for name, path in SOURCES.items():
        if name.startswith("fastsched.cluster"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Attribute) and node.attr in private):
                continue
            base = node.value
            label = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
            # cluster, self.cluster, m.cluster, c (the conventional short name)
            if "cluster" in label.lower() or label == "c":
                offenders.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} .{node.attr}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_files_are_small(name):
    lines = SOURCES[name].read_text().count("\n")
    assert lines <= MAX_LINES, f"{SOURCES[name]} has {lines} lines"


def test_few_modules_at_the_top():
    top = sorted(p.name for p in ROOT.glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top
