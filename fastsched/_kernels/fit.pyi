import numpy as np
import numpy.typing as npt

def fit_reasons(
    allocatable: npt.NDArray[np.int64],
    requested: npt.NDArray[np.int64],
    request: npt.NDArray[np.int64],
    out: npt.NDArray[np.uint64],
) -> int: ...
