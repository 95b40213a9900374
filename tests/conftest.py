"""Shared by the test modules: the import path, set once here.

``tests/`` holds helpers the tests import by module name (``_reference``, the
plain-Python kube-scheduler the engine is checked against; ``_helpers`` and
``_topology_helpers``, the builders the reference tests share; and test modules
reused by others, such as ``test_binpack``); ``tests/plugins/`` holds one test
module per plugin of ``fastsched/plugins/``, whose tables ``test_scheduler`` runs
through the kernels; ``bench/`` holds the benchmarks' NumPy baselines
(``_numpy_baseline``, ``_numpy_topology``), which tests check against the
scheduler so that the benchmarks compare like with like. All three go on
``sys.path`` before any test module is imported, instead of a
``sys.path.insert`` at the top of each file. Test modules are imported by their
bare name (pytest's default "prepend" import mode; no ``__init__.py``), so a
module name must not repeat across these folders. ``bench/conftest.py`` does the same
for ``bench/`` when the benchmarks run on their own.
"""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
PLUGINS = TESTS / "plugins"
BENCH = TESTS.parent / "bench"

for folder in (str(TESTS), str(PLUGINS), str(BENCH)):
    if folder not in sys.path:
        sys.path.insert(0, folder)
