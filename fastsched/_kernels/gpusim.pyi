import numpy as np
import numpy.typing as npt

POLICIES: dict[str, int]

def replay(
    policy: int, seed: int,
    cpu_cap: npt.NDArray[np.int64], ngpu: npt.NDArray[np.int32], model: npt.NDArray[np.int32],
    rank: npt.NDArray[np.int64],
    cpu_left: npt.NDArray[np.int64], mem_left: npt.NDArray[np.int64],
    gfree: npt.NDArray[np.int32], tags: npt.NDArray[np.int32],
    cpu: npt.NDArray[np.int64], mem: npt.NDArray[np.int64], num: npt.NDArray[np.int32],
    milli: npt.NDArray[np.int32], spec: npt.NDArray[np.uint64], shape: npt.NDArray[np.int32],
    nshapes: int,
    tcpu: npt.NDArray[np.int64], tnum: npt.NDArray[np.int32], tmilli: npt.NDArray[np.int32],
    tspec: npt.NDArray[np.uint64], tp: npt.NDArray[np.float64],
    out_node: npt.NDArray[np.int32], out_devices: npt.NDArray[np.uint64],
    out_used: npt.NDArray[np.int64], out_frag: npt.NDArray[np.float64],
    start: int, stop: int, used0: int, rng_state: int,
) -> tuple[int, int]: ...

def node_frag(
    cpu_left: npt.NDArray[np.int64], ngpu: npt.NDArray[np.int32], model: npt.NDArray[np.int32],
    gfree: npt.NDArray[np.int32], tcpu: npt.NDArray[np.int64], tnum: npt.NDArray[np.int32],
    tmilli: npt.NDArray[np.int32], tspec: npt.NDArray[np.uint64], tp: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
) -> None: ...

def replay_timed(
    policy: int, seed: int,
    cpu_cap: npt.NDArray[np.int64], ngpu: npt.NDArray[np.int32], model: npt.NDArray[np.int32],
    rank: npt.NDArray[np.int64],
    cpu_left: npt.NDArray[np.int64], mem_left: npt.NDArray[np.int64],
    gfree: npt.NDArray[np.int32], tags: npt.NDArray[np.int32],
    cpu: npt.NDArray[np.int64], mem: npt.NDArray[np.int64], num: npt.NDArray[np.int32],
    milli: npt.NDArray[np.int32], spec: npt.NDArray[np.uint64], shape: npt.NDArray[np.int32],
    nshapes: int,
    tcpu: npt.NDArray[np.int64], tnum: npt.NDArray[np.int32], tmilli: npt.NDArray[np.int32],
    tspec: npt.NDArray[np.uint64], tp: npt.NDArray[np.float64],
    arrival: npt.NDArray[np.int64], runtime: npt.NDArray[np.int64],
    deadline: npt.NDArray[np.int64], prio: npt.NDArray[np.int32],
    out_node: npt.NDArray[np.int32], out_start: npt.NDArray[np.int64],
    ev_time: npt.NDArray[np.int64], ev_gpu: npt.NDArray[np.int64],
    ev_cpu: npt.NDArray[np.int64], ev_queue: npt.NDArray[np.int32],
) -> int: ...
