import numpy as np
import numpy.typing as npt

def first_fit(sizes: npt.NDArray[np.int64], capacity: int, bin_of: npt.NDArray[np.int64]) -> int: ...
def best_fit(sizes: npt.NDArray[np.int64], capacity: int, bin_of: npt.NDArray[np.int64]) -> int: ...
def min_bin_slack(
    sizes: npt.NDArray[np.int64],
    order: npt.NDArray[np.int64],
    capacity: int,
    bin_of: npt.NDArray[np.int64],
    node_limit: int,
    stop_slack: int,
    deadline: float = ...,
) -> int: ...
def bounded_knapsack(
    weights: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    bounds: npt.NDArray[np.int64],
    capacity: int,
    count_out: npt.NDArray[np.int64],
) -> float: ...
def knapsack_columns(
    weights: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    bounds: npt.NDArray[np.int64],
    capacity: int,
    count_out: npt.NDArray[np.int64],
    value_out: npt.NDArray[np.float64],
    min_value: float,
    deadline: float = ...,
) -> int: ...
