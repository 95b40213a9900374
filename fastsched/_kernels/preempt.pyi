import numpy as np
import numpy.typing as npt

def reprieve(
    free: npt.NDArray[np.int64],
    req: npt.NDArray[np.int64],
    offsets: npt.NDArray[np.int64],
    need: npt.NDArray[np.int64],
    victim: npt.NDArray[np.uint8],
) -> None: ...
