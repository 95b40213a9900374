"""The live progress lines (fastsched.cli._progress): they tick on a terminal, say
elapsed / limit, incumbent, bound and gap, and write nothing otherwise."""

from __future__ import annotations

import io
import time

from fastsched.cli._progress import SearchProgress, count_progress, wants_progress


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _wait_for(stream: io.StringIO, predicate, seconds: float = 10.0) -> None:
    until = time.perf_counter() + seconds
    while not predicate(stream.getvalue()) and time.perf_counter() < until:
        time.sleep(0.05)


def test_the_search_line_ticks_while_the_solver_is_quiet():
    stream = TTY()
    with SearchProgress(stream, 10.0) as live:
        # No improvement is reported: the clock still moves (polled, not timed).
        _wait_for(stream, lambda text: text.count("solving") >= 3)
        shown = stream.getvalue()
    assert shown.count("solving") >= 3 and "/10 s" in shown
    assert "incumbent" not in shown
    assert not live._ticker.is_alive()


def test_the_search_line_shows_incumbent_bound_and_gap():
    stream = TTY()
    live = SearchProgress(stream, 5.0, unit="nodes")
    live(12, 9)
    assert live.text().endswith("incumbent 12 nodes  bound 9  gap 25.00%")
    _wait_for(stream, lambda text: "gap 25.00%" in text)
    live.close()
    live.close()                                   # twice is harmless
    assert "incumbent 12 nodes  bound 9  gap 25.00%" in stream.getvalue()


def test_nothing_is_written_off_a_terminal_or_when_quiet():
    plain = io.StringIO()
    with SearchProgress(plain, 1.0) as live:
        live(3, 3)
    quiet = TTY()
    with SearchProgress(quiet, 1.0, quiet=True) as live:
        live(3, 3)
    assert plain.getvalue() == "" and quiet.getvalue() == ""
    assert not wants_progress(plain) and wants_progress(TTY()) and not wants_progress(TTY(), True)
    bar = count_progress(plain, 100, label="Scheduling", unit="pods")
    bar.update(100)
    bar.close()
    assert plain.getvalue() == ""


def test_the_count_bar_shows_the_count_on_a_terminal():
    stream = TTY()
    bar = count_progress(stream, 1000, label="Scheduling", unit="pods")
    bar.update(400)
    bar.refresh()
    assert "400/1000 pods" in stream.getvalue() and "Scheduling" in stream.getvalue()
    bar.close()
