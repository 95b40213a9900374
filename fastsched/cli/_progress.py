"""Live progress lines on stderr for the commands that take a while, drawn by tqdm.

Two shapes:

* :class:`SearchProgress` for a search with a time limit (``solve``, ``binpack``):
  ``solving ▕███▏ 3.1/10 s  incumbent 12  bound 11  gap 8.33%``. A solver reports only
  when its incumbent or bound improves, so a ticker thread redraws the clock twice a
  second: a long search never looks frozen.
* :func:`count_progress` for work counted in items (``demo``'s pods): tqdm's bar with
  its count, rate and ETA.

Both are off when the stream is not a terminal or with ``quiet``; they write nothing
then, so the commands' stdout and stderr stay clean in pipes and in CI logs.
"""

from __future__ import annotations

import threading
import time
from typing import Any, TextIO

from tqdm import tqdm

__all__ = ["SearchProgress", "count_progress", "wants_progress"]

TICK_SECONDS = 0.5


def wants_progress(stream: TextIO, quiet: bool = False) -> bool:
    """True when ``stream`` is a terminal and the user did not ask for quiet."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty()) and not quiet


class SearchProgress:
    """Elapsed / limit, incumbent, bound and gap of a running search.

    Call it as ``progress(incumbent, bound)`` whenever either improves (the
    ``progress=`` callback of ``solve_batch`` and ``binpack``), and ``close()`` at
    the end (a context manager does). ``minimize`` says which way the gap runs.
    """

    def __init__(self, stream: TextIO, limit: float, *, label: str = "solving",
                 unit: str = "", quiet: bool = False) -> None:
        self.limit = float(limit)
        self.unit = unit
        self.start = time.perf_counter()
        self.enabled = wants_progress(stream, quiet)
        self.last: tuple[int, int] | None = None
        self._done = threading.Event()
        self._bar: Any = None
        if not self.enabled:
            return
        self._bar = _StatusBar(total=max(self.limit, 1e-9), file=stream, desc=label,
                               leave=False, bar_format="{desc} |{bar:20}| {status}",
                               dynamic_ncols=True, mininterval=0.0)
        self._ticker = threading.Thread(target=self._tick, name="fastsched-progress",
                                        daemon=True)
        self._ticker.start()

    def __call__(self, incumbent: int, bound: int) -> None:
        self.last = (int(incumbent), int(bound))
        self._draw()

    def __enter__(self) -> SearchProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def text(self) -> str:
        """The status after the bar: ``3.1/10 s  incumbent 12  bound 11  gap 8.33%``."""
        elapsed = time.perf_counter() - self.start
        parts = [f"{elapsed:.1f}/{self.limit:g} s"]
        if self.last is not None:
            incumbent, bound = self.last
            gap = abs(incumbent - bound) / max(1, abs(incumbent))
            unit = f" {self.unit}" if self.unit else ""
            parts.append(f"incumbent {incumbent:,}{unit}  bound {bound:,}  gap {gap:.2%}")
        return "  ".join(parts)

    def _tick(self) -> None:
        while not self._done.wait(TICK_SECONDS):
            self._draw()

    def _draw(self) -> None:
        bar = self._bar
        if bar is None or self._done.is_set():
            return
        with bar.get_lock():
            if self._done.is_set():
                return
            bar.n = min(time.perf_counter() - self.start, bar.total)
            bar.status = self.text()
            bar.refresh(nolock=True)

    def close(self) -> None:
        """Stop the ticker and clear the line."""
        if self._done.is_set():
            return
        self._done.set()
        if self._bar is not None:
            self._ticker.join()
            self._bar.close()


class _StatusBar(tqdm):
    """tqdm with a ``{status}`` field for ``bar_format`` (its ``{postfix}`` starts
    with a comma)."""

    status = ""

    @property
    def format_dict(self) -> dict[str, Any]:
        return {**super().format_dict, "status": self.status}


def count_progress(stream: TextIO, total: int, *, label: str, unit: str,
                   quiet: bool = False) -> Any:
    """A tqdm bar over ``total`` items (``update(n)``, ``close()``); a bar that draws
    nothing when the stream is not a terminal or ``quiet``."""
    return tqdm(total=total, file=stream, desc=label, unit=f" {unit}", unit_scale=True,
                bar_format="{desc} {percentage:3.0f}%|{bar}| {n}/{total}{unit} "
                           "[{elapsed}<{remaining}, {rate_fmt}]",
                disable=not wants_progress(stream, quiet), leave=False, dynamic_ncols=True,
                mininterval=0.2)
