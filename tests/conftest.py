"""Shared by the test modules: the import path, set once here.

``tests/`` holds helpers the tests import by module name (``_reference``, the
plain-Python kube-scheduler the engine is checked against, and test modules
reused by others, such as ``test_binpack``); ``bench/`` holds the benchmarks'
NumPy baselines (``_numpy_baseline``, ``_numpy_topology``), which tests check
against the scheduler so that the benchmarks compare like with like. Both go on
``sys.path`` before any test module is imported, instead of a
``sys.path.insert`` at the top of each file. ``bench/conftest.py`` does the same
for ``bench/`` when the benchmarks run on their own.
"""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
BENCH = TESTS.parent / "bench"

for folder in (str(TESTS), str(BENCH)):
    if folder not in sys.path:
        sys.path.insert(0, folder)
