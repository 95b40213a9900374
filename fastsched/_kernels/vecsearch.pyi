import numpy as np
import numpy.typing as npt

def overflow_tabu(
    sizes: npt.NDArray[np.int64],
    cap: npt.NDArray[np.int64],
    assign: npt.NDArray[np.int64],
    nbins: int,
    tabu: npt.NDArray[np.int64],
    weight: npt.NDArray[np.float64],
    first_step: int,
    steps: int,
    seed: int,
    bump: float,
) -> tuple[int, int]: ...
def vector_first_fit(
    sizes: npt.NDArray[np.int64],
    cap: npt.NDArray[np.int64],
    order: npt.NDArray[np.int64],
    bin_of: npt.NDArray[np.int64],
    deadline: float = ...,
) -> int: ...
