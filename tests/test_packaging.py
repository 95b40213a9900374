"""What the package ships, checked on the source tree (building takes minutes, so
the sdist and wheel listings are checked by hand; see CONTRIBUTING.md)."""

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:                                   # pragma: no cover - 3.10 has no tomllib
    tomllib = pytest.importorskip("tomli")


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_file_matches_the_declared_license():
    project = pyproject()["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]


def test_sdist_carries_what_its_tests_read():
    manifest = (ROOT / "MANIFEST.in").read_text().split("\n")
    for line in ("graft examples", "graft tests", "include LICENSE README.md CHANGELOG.md "
                                                   "CONTRIBUTING.md setup.py"):
        assert line in manifest
    assert (ROOT / "tests" / "_reference.py").exists() and (ROOT / "tests" / "data").is_dir()


def test_wheel_leaves_out_generated_c():
    setuptools = pyproject()["tool"]["setuptools"]
    assert "_kernels/*.c" in setuptools["exclude-package-data"]["fastsched"]
    assert not any(p.endswith(".c") for p in setuptools["package-data"]["fastsched"])


def test_editable_install_is_a_static_path():
    # setuptools writes a plain .pth entry (which mypy follows) only for a root package dir.
    assert pyproject()["tool"]["setuptools"]["package-dir"] == {"": "."}
    assert (ROOT / "fastsched" / "py.typed").exists()


def test_readme_names_no_path_outside_the_repository():
    text = (ROOT / "README.md").read_text()
    assert "../shared" not in text
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if not re.match(r"[a-z]+://", target):
            assert (ROOT / target).exists(), target
