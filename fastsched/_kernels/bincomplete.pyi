import numpy as np
import numpy.typing as npt

def complete_bins(
    sizes: npt.NDArray[np.int64],
    capacity: int,
    k: int,
    bin_of: npt.NDArray[np.int64],
    deadline: float,
    seed: int,
    node_limit: int,
    restarts: int,
    max_completions: int,
    spread: float,
) -> tuple[bool, bool, int]: ...
