"""Shared by the benchmark suites: the bench directory on ``sys.path`` (for the
baselines, such as ``_numpy_baseline``) and a pods/s summary after the run.

A benchmark records its throughput with the ``record_rate`` fixture; when any
did, the terminal summary lists pods/s per group, each row with its speed-up
over the group's baseline.
"""

import sys
from pathlib import Path

import pytest

BENCH = str(Path(__file__).resolve().parent)
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)

_RATES = pytest.StashKey[list]()


@pytest.fixture
def record_rate(request):
    """``record_rate(group, label, pods_per_s, baseline=False)`` adds a summary row."""
    rows = request.config.stash.setdefault(_RATES, [])

    def record(group: str, label: str, pods_per_s: float, baseline: bool = False) -> None:
        rows.append((group, label, pods_per_s, baseline))

    return record


@pytest.hookimpl(trylast=True)         # after pytest-benchmark's tables
def pytest_terminal_summary(terminalreporter, config):
    rows = config.stash.get(_RATES, [])
    if not rows:
        return
    terminalreporter.section("pods/s (median round)")
    groups: dict[str, list] = {}
    for group, label, rate, baseline in rows:
        groups.setdefault(group, []).append((label, rate, baseline))
    width = max(len(label) for _, label, _, _ in rows)
    for group, entries in groups.items():
        terminalreporter.write_line(group)
        base = next((rate for _, rate, baseline in entries if baseline), None)
        for label, rate, _ in entries:
            ratio = f"{rate / base:10.1f}x" if base else ""
            terminalreporter.write_line(f"  {label:<{width}} {rate:>14,.0f} {ratio}")
