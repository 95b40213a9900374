# What every kernel shares with the others and with Python: fixed-width types, and
# the codes the placement kernel shares with the Python side that compiles its inputs.
# The codes are cpdef enums: ``fastsched._kernels.common`` exports each as a Python
# IntEnum, so no Python module numbers them by hand.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t

ctypedef int64_t i64
ctypedef int32_t i32
ctypedef uint64_t u64
ctypedef uint8_t u8

cpdef enum FilterCode:
    F_UNSCHEDULABLE = 0
    F_NODE_NAME = 1
    F_TAINTS = 2
    F_AFFINITY = 3
    F_PORTS = 4
    F_FIT = 5
    F_SPREAD = 6
    F_INTERPOD = 7

# Reason buckets of the histogram / per-node explanation, in upstream's order.
cpdef enum ReasonCode:
    R_UNSCHEDULABLE = 0
    R_NODE_NAME = 1
    R_TAINTS = 2
    R_ADDED_AFFINITY = 3
    R_AFFINITY = 4
    R_PORTS = 5
    R_PREFILTER = 6      # excluded by NodeAffinity's PreFilter (metadata.name In)
    R_SPREAD_LABEL = 7   # PodTopologySpread: the node lacks a topology key
    R_SPREAD = 8         # PodTopologySpread: skew above maxSkew
    R_POD_AFFINITY = 9   # InterPodAffinity, in its order: the pod's affinity,
    R_POD_ANTI = 10      # the pod's anti-affinity,
    R_EXISTING_ANTI = 11 # existing pods' anti-affinity
    R_RESOURCE0 = 12     # + resource column (the pods column means "Too many pods")

# Rows of score_feasible's output: each score plugin's normalized, unweighted score.
cpdef enum ScoreRow:
    SC_TAINTS = 0
    SC_AFFINITY = 1
    SC_FIT = 2
    SC_BALANCED = 3
    SC_IMAGES = 4
    SC_SPREAD = 5
    SC_INTERPOD = 6
    SCORE_ROWS = 7

# Static failure bits: per node, computed once per spec by the plugins' compile
# steps (a node passes the static filters when its byte is 0).
cpdef enum StaticBit:
    S_UNSCHEDULABLE = 1
    S_NODE_NAME = 2
    S_TAINTS = 4
    S_ADDED_AFFINITY = 8   # NodeAffinity: the profile's addedAffinity
    S_AFFINITY = 16        # NodeAffinity: nodeSelector and required terms
    S_PREFILTER = 32       # NodeAffinity's PreFilter result (reported before any filter)

# Topology checks of a spec (rows of Plan.tchk: kind, counter, a, b, c).
cpdef enum CheckKind:
    T_SPREAD = 0         # a = maxSkew, b = minDomains, c = 1 if the pod matches itself
    T_AFFINITY = 1
    T_ANTI = 2
    T_EXISTING = 3

# NodeResourcesFit's scoring strategies.
cpdef enum Strategy:
    LEAST_ALLOCATED = 0
    MOST_ALLOCATED = 1
    REQUESTED_TO_CAPACITY_RATIO = 2

# The code of a node that passes every filter.
cpdef enum:
    PASSES = 255
