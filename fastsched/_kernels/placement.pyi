from typing import Any

import numpy as np
import numpy.typing as npt

SIMD: bool

class Batch:
    """Arrays for one kernel call (set by fastsched.scheduler.compiler and the
    plugins' compile steps; see placement.pyx for each field)."""

    def __getattr__(self, name: str) -> Any: ...
    def __setattr__(self, name: str, value: Any) -> None: ...

def place(
    batch: Batch,
    pod_spec: npt.NDArray[np.int64],
    out_row: npt.NDArray[np.int64],
    out_score: npt.NDArray[np.int64],
    hist_width: int,
    tree_slot: npt.NDArray[np.int64],
    trees: npt.NDArray[np.int64],
    cursor: npt.NDArray[np.int64],
    rng: npt.NDArray[np.uint64],
    ports: bool,
    fit: bool,
    random: bool,
    to_find: int,
) -> tuple[int, npt.NDArray[np.int64]]: ...
def place_kept(
    batch: Batch,
    s: int,
    tree: npt.NDArray[np.int64],
    built: bool,
    dirty: npt.NDArray[np.int64],
    ports: bool,
    fit: bool,
    out: npt.NDArray[np.int64],
) -> int: ...
def explain(
    batch: Batch, s: int, out_code: npt.NDArray[np.uint8], out_bits: npt.NDArray[np.uint64]
) -> int: ...
def score_feasible(
    batch: Batch, s: int, rows: npt.NDArray[np.int64], out: npt.NDArray[np.int64]
) -> None: ...
