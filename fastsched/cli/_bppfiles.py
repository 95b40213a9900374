"""Readers for the bin-packing instance files ``fastsched binpack`` accepts.

Four layouts, all whitespace-separated integers, blank lines ignored:

``bpplib``          BPPLIB's BPP format: the item count n, the capacity, then n
                    sizes, one per line.
``weight-count``    BPPLIB's CSP format: the number m of distinct weights, the
                    capacity, then m lines ``weight count``.
``vbp``             VPSolver's vector layout: the dimension d, a line of d
                    capacities, the number m of item types, then m lines of d
                    sizes followed by a count (d = 1 reads as a scalar instance).
``capacity-first``  the capacity (one number, or d numbers for vector packing)
                    on the first line, then one item per line.

:func:`detect_format` chooses among them from the file's shape; every reader
reports a malformed file as ``FILE:LINE: what was expected`` in a ValueError.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["FORMATS", "Instance", "InstanceFormatError", "detect_format", "parse_instance",
           "read_instance"]

FORMATS = ("bpplib", "capacity-first", "weight-count", "vbp")

# A count line expands into that many items: refuse totals the solver could not
# hold anyway (binpack's default 2 GiB budget at ~128 bytes per item is 2**24 items)
# before allocating them.
MAX_ITEMS = 1 << 24
# The solvers' largest capacity; anything above it could not be packed anyway.
MAX_VALUE = 1 << 62


class InstanceFormatError(ValueError):
    """A malformed instance file; the message starts with ``FILE:LINE:`` or ``FILE:``."""


class Instance(NamedTuple):
    """A parsed instance: ``sizes`` is ``int64[n]`` (or ``int64[n, d]`` for a vector
    instance), ``capacity`` an int (or ``int64[d]``), ``format`` the layout read."""

    sizes: np.ndarray
    capacity: int | np.ndarray
    format: str

    @property
    def vector(self) -> bool:
        """True for a multi-dimensional instance (solved by ``binpack_vector``)."""
        return self.sizes.ndim == 2


Line = tuple[int, list[int]]      # (line number, the integers on it)


def _tokenize(text: str, name: str) -> list[Line]:
    lines: list[Line] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        values = []
        for token in raw.split():
            shown = token if len(token) <= 30 else token[:20] + "..."
            try:
                if len(token.lstrip("+-")) > 30:        # beyond any int64; keep the error short
                    raise ValueError(token)
                value = int(token)
            except ValueError:
                raise InstanceFormatError(f"{name}:{lineno}: expected integers, got {shown!r}") \
                    from None
            if abs(value) > MAX_VALUE:
                raise InstanceFormatError(f"{name}:{lineno}: expected integers of at most 2**62, "
                                          f"got {shown}")
            values.append(value)
        if values:
            lines.append((lineno, values))
    return lines


def detect_format(lines: list[Line], name: str = "") -> str:
    """The layout whose shape ``lines`` have; see :func:`parse_instance`."""
    if name.lower().endswith(".vbp"):
        return "vbp"
    if not lines:
        return "capacity-first"
    first = lines[0][1]
    widths = [len(v) for _, v in lines]
    if len(first) > 1:
        return "capacity-first"
    if len(lines) >= 3 and widths[2] == 1 and widths[1] == first[0] >= 1:
        d, m = first[0], lines[2][1][0]
        if m >= 1 and len(lines) == 3 + m and all(w == d + 1 for w in widths[3:]):
            return "vbp"
    if len(lines) >= 2 and widths[1] == 1 and len(lines) - 2 == first[0] \
            and len(lines) > 2 and all(w == 2 for w in widths[2:]):
        return "weight-count"
    if all(w == 1 for w in widths):
        values = [v[0] for _, v in lines]
        # BPPLIB's count heads the file, then a capacity no item exceeds. A
        # capacity-first file matches only if its capacity is exactly n - 1 and
        # its first size fills a bin: --format capacity-first reads it as meant.
        if len(values) >= 2 and values[0] == len(values) - 2 \
                and values[1] >= max(values[2:], default=0):
            return "bpplib"
        # The capacity of a capacity-first file is at least its first size; a
        # larger second number is a count/capacity header with the wrong count.
        if len(values) >= 2 and values[1] > values[0]:
            return "bpplib"
        return "capacity-first"
    if len(lines) >= 2 and widths[1] == 1:
        return "weight-count"
    return "capacity-first"


def parse_instance(text: str, name: str = "<stdin>", fmt: str = "auto") -> Instance:
    """Parse an instance file's ``text`` (``name`` is used in error messages).

    ``fmt`` is one of :data:`FORMATS`, or ``"auto"``: a ``.vbp`` name is VPSolver's
    layout; a first line of several numbers is capacity-first vector packing;
    a count, a line of that many capacities, a count m and m lines of d + 1
    numbers is ``vbp``; a count m, a capacity and m lines of two numbers is
    ``weight-count``; single numbers whose first equals the number of lines after
    the second, with the second at least every later one, are ``bpplib``;
    anything else is ``capacity-first``.
    """
    lines = _tokenize(text, name)
    if fmt == "auto":
        fmt = detect_format(lines, name)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)} or auto")
    if not lines:
        raise InstanceFormatError(f"{name}: empty file, expected a {fmt} instance")
    reader = {"bpplib": _bpplib, "capacity-first": _capacity_first,
              "weight-count": _weight_count, "vbp": _vbp}[fmt]
    sizes, capacity = reader(lines, name)
    return Instance(sizes, capacity, fmt)


def _single(line: Line, name: str, what: str, low: int = 0) -> int:
    lineno, values = line
    if len(values) != 1:
        raise InstanceFormatError(f"{name}:{lineno}: expected {what} (one integer), "
                                  f"got {len(values)} numbers")
    if values[0] < low:
        raise InstanceFormatError(f"{name}:{lineno}: expected {what} of at least {low}, "
                                  f"got {values[0]}")
    return values[0]


def _header(lines: list[Line], name: str, count: str) -> tuple[int, int, list[Line]]:
    """The (count, capacity) header of BPPLIB's two layouts, and the lines after it."""
    n = _single(lines[0], name, count)
    if len(lines) < 2:
        raise InstanceFormatError(f"{name}:{lines[0][0]}: expected the capacity on the "
                                  f"line after the {count}, found the end of the file")
    capacity = _single(lines[1], name, "the capacity", low=1)
    body = lines[2:]
    if len(body) != n:
        where = f"{name}:{body[n][0]}" if len(body) > n else name
        raise InstanceFormatError(f"{where}: line {lines[0][0]} gives {n} as the {count}, "
                                  f"but {len(body)} lines follow the capacity")
    return n, capacity, body


def _check_item(line: Line, values: list[int], capacity: list[int], name: str) -> None:
    lineno = line[0]
    for j, (v, c) in enumerate(zip(values, capacity)):
        if v < 0:
            raise InstanceFormatError(f"{name}:{lineno}: expected non-negative sizes, got {v}")
        if v > c:
            dim = f" in dimension {j}" if len(capacity) > 1 else ""
            raise InstanceFormatError(f"{name}:{lineno}: item of size {v} is larger than the "
                                      f"capacity {c}{dim}")


def _bpplib(lines: list[Line], name: str) -> tuple[np.ndarray, int]:
    _, capacity, body = _header(lines, name, "item count")
    sizes = [_single(line, name, "an item size") for line in body]
    for line, s in zip(body, sizes):
        _check_item(line, [s], [capacity], name)
    return np.array(sizes, dtype=np.int64), capacity


def _expand(rows: list[list[int]], counts: list[int], dims: int, name: str) -> np.ndarray:
    total = sum(counts)
    if total > MAX_ITEMS:
        raise InstanceFormatError(f"{name}: the counts add up to {total:,} items, more than the "
                                  f"{MAX_ITEMS:,} binpack handles")
    table = np.array(rows, dtype=np.int64).reshape(len(rows), dims)
    return np.repeat(table, np.array(counts, dtype=np.int64), axis=0)


def _counted(line: Line, name: str, width: int, what: str) -> tuple[list[int], int]:
    lineno, values = line
    if len(values) != width:
        raise InstanceFormatError(f"{name}:{lineno}: expected {what}, got {len(values)} numbers")
    if values[-1] < 0:
        raise InstanceFormatError(f"{name}:{lineno}: expected a non-negative count, "
                                  f"got {values[-1]}")
    return values[:-1], values[-1]


def _weight_count(lines: list[Line], name: str) -> tuple[np.ndarray, int]:
    _, capacity, body = _header(lines, name, "number of weights")
    rows, counts = [], []
    for line in body:
        size, count = _counted(line, name, 2, "'weight count' (two integers)")
        _check_item(line, size, [capacity], name)
        rows.append(size)
        counts.append(count)
    return _expand(rows, counts, 1, name).reshape(-1), capacity


def _vbp(lines: list[Line], name: str) -> tuple[np.ndarray, int | np.ndarray]:
    d = _single(lines[0], name, "the number of dimensions", low=1)
    if len(lines) < 3:
        raise InstanceFormatError(f"{name}: expected the dimensions, the capacities and the "
                                  f"number of item types, found {len(lines)} lines")
    lineno, capacity = lines[1]
    if len(capacity) != d:
        raise InstanceFormatError(f"{name}:{lineno}: expected {d} capacities (line "
                                  f"{lines[0][0]} gives {d} dimensions), got {len(capacity)}")
    if min(capacity) < 1:
        raise InstanceFormatError(f"{name}:{lineno}: expected positive capacities, "
                                  f"got {min(capacity)}")
    m = _single(lines[2], name, "the number of item types")
    body = lines[3:]
    if len(body) != m:
        where = f"{name}:{body[m][0]}" if len(body) > m else name
        raise InstanceFormatError(f"{where}: line {lines[2][0]} gives {m} item types, "
                                  f"but {len(body)} lines follow it")
    rows, counts = [], []
    for line in body:
        size, count = _counted(line, name, d + 1, f"{d} sizes and a count ({d + 1} integers)")
        _check_item(line, size, capacity, name)
        rows.append(size)
        counts.append(count)
    sizes = _expand(rows, counts, d, name)
    if d == 1:      # one dimension: the scalar solver's bounds and exact phase apply
        return sizes.reshape(-1), capacity[0]
    return sizes, np.array(capacity, dtype=np.int64)


def _capacity_first(lines: list[Line], name: str) -> tuple[np.ndarray, int | np.ndarray]:
    lineno, capacity = lines[0]
    if min(capacity) < 1:
        raise InstanceFormatError(f"{name}:{lineno}: expected a positive capacity, "
                                  f"got {min(capacity)}")
    d = len(capacity)
    for line in lines[1:]:
        if len(line[1]) != d:
            what = "one item size" if d == 1 else f"{d} sizes, one per capacity on line {lineno}"
            raise InstanceFormatError(f"{name}:{line[0]}: expected {what}, "
                                      f"got {len(line[1])} numbers")
        _check_item(line, line[1], capacity, name)
    sizes = np.array([v for _, v in lines[1:]], dtype=np.int64).reshape(len(lines) - 1, d)
    if d == 1:
        return sizes.reshape(-1), capacity[0]
    return sizes, np.array(capacity, dtype=np.int64)


def read_instance(path: str | Path, fmt: str = "auto") -> Instance:
    """:func:`parse_instance` of a file's text (OSError if it cannot be read)."""
    return parse_instance(Path(path).read_text(), str(path), fmt)
