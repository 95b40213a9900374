"""The lint and type configuration in pyproject.toml holds: ruff (pycodestyle,
pyflakes, import order) on the package, tests and benches, and mypy on the package.
Both are in the test extra; the checks skip where they are not installed."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*argv):
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff():
    pytest.importorskip("ruff")
    out = run(sys.executable, "-m", "ruff", "check", "fastsched", "tests", "bench")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy():
    pytest.importorskip("mypy")
    out = run(sys.executable, "-m", "mypy")        # files and options: [tool.mypy]
    assert out.returncode == 0, out.stdout + out.stderr
