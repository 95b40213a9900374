from typing import Any

import numpy as np
import numpy.typing as npt

HASHES: dict[str, int]
NORMS: dict[str, int]

def hash_keys(
    keys: list[Any],
    kind: int,
    norm: int,
    hi: npt.NDArray[np.uint64],
    lo: npt.NDArray[np.uint64] | None,
) -> int: ...
def hash_key(key: object, kind: int, norm: int) -> tuple[int, int] | None: ...
def jump(keys: npt.NDArray[np.uint64], buckets: int, out: npt.NDArray[np.int32]) -> None: ...
def jump_key(key: object, buckets: int) -> int: ...
def rendezvous(
    keys: npt.NDArray[np.uint64],
    nodes: npt.NDArray[np.uint64],
    inv_weight: npt.NDArray[np.float64] | None,
    out: npt.NDArray[np.int32],
) -> None: ...
def rendezvous_top(
    keys: npt.NDArray[np.uint64],
    nodes: npt.NDArray[np.uint64],
    inv_weight: npt.NDArray[np.float64] | None,
    out: npt.NDArray[np.int32],
) -> None: ...
def maglev_populate(
    offset: npt.NDArray[np.uint64],
    skip: npt.NDArray[np.uint64],
    weight: npt.NDArray[np.float64] | None,
    entry: npt.NDArray[np.int32],
    taken: npt.NDArray[np.int64],
) -> None: ...
def maglev_lookup(
    keys: npt.NDArray[np.uint64], entry: npt.NDArray[np.int32], out: npt.NDArray[np.int32]
) -> None: ...
