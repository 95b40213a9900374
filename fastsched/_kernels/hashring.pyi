import numpy as np
import numpy.typing as npt

class RingIndex:
    """The lookup structure over one ring's distinct sorted points."""

    positions: npt.NDArray[np.uint64]
    lows: npt.NDArray[np.uint64] | None
    owners: npt.NDArray[np.int32]
    table: npt.NDArray[np.uint32]
    bits: int
    def __init__(
        self,
        positions: npt.NDArray[np.uint64],
        lows: npt.NDArray[np.uint64] | None,
        owners: npt.NDArray[np.int32],
        left: bool,
    ) -> None: ...
    def __len__(self) -> int: ...
    def find_key(self, key: object, kind: int, norm: int) -> int: ...

def lookup(
    ring: RingIndex,
    hi: npt.NDArray[np.uint64],
    lo: npt.NDArray[np.uint64] | None,
    out: npt.NDArray[np.int32],
) -> None: ...
def walk_distinct(
    ring: RingIndex,
    hi: npt.NDArray[np.uint64],
    lo: npt.NDArray[np.uint64] | None,
    seen: npt.NDArray[np.int32],
    out: npt.NDArray[np.int32],
) -> None: ...
def assign_bounded(
    ring: RingIndex,
    hi: npt.NDArray[np.uint64],
    lo: npt.NDArray[np.uint64] | None,
    cap: npt.NDArray[np.int64],
    load: npt.NDArray[np.int64],
    out: npt.NDArray[np.int32],
) -> int: ...
def ring_points(
    names: bytes,
    offsets: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    kind: int,
    hi: npt.NDArray[np.uint64],
    lo: npt.NDArray[np.uint64] | None,
) -> int: ...
