import enum

class FilterCode(enum.IntEnum):
    F_UNSCHEDULABLE = 0
    F_NODE_NAME = 1
    F_TAINTS = 2
    F_AFFINITY = 3
    F_PORTS = 4
    F_FIT = 5
    F_SPREAD = 6
    F_INTERPOD = 7

class ReasonCode(enum.IntEnum):
    R_UNSCHEDULABLE = 0
    R_NODE_NAME = 1
    R_TAINTS = 2
    R_ADDED_AFFINITY = 3
    R_AFFINITY = 4
    R_PORTS = 5
    R_PREFILTER = 6
    R_SPREAD_LABEL = 7
    R_SPREAD = 8
    R_POD_AFFINITY = 9
    R_POD_ANTI = 10
    R_EXISTING_ANTI = 11
    R_RESOURCE0 = 12

class ScoreRow(enum.IntEnum):
    SC_TAINTS = 0
    SC_AFFINITY = 1
    SC_FIT = 2
    SC_BALANCED = 3
    SC_IMAGES = 4
    SC_SPREAD = 5
    SC_INTERPOD = 6
    SCORE_ROWS = 7

class StaticBit(enum.IntEnum):
    S_UNSCHEDULABLE = 1
    S_NODE_NAME = 2
    S_TAINTS = 4
    S_ADDED_AFFINITY = 8
    S_AFFINITY = 16
    S_PREFILTER = 32

class CheckKind(enum.IntEnum):
    T_SPREAD = 0
    T_AFFINITY = 1
    T_ANTI = 2
    T_EXISTING = 3

class Strategy(enum.IntEnum):
    LEAST_ALLOCATED = 0
    MOST_ALLOCATED = 1
    REQUESTED_TO_CAPACITY_RATIO = 2

PASSES: int
