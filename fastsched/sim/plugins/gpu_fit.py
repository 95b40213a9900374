"""GpuFit: the Filter every policy shares, and which devices a bind takes.

A node passes when it has the task's cpu and memory left and, for a GPU task, GPUs
of a model ``gpu_spec`` allows (no constraint: any model; a node without GPUs never
passes) with ``num_gpu`` devices of at least ``gpu_milli`` free each
(``open_gpu_share.go``'s Filter, over kube's NodeResourcesFit).

At bind, whole GPUs are the first fully free devices by index
(``AllocateExclusiveGpuId``); a GPU share goes to the device the policy names:
FGD's own choice, a uniformly random fitting device for Random, and otherwise the
fitting device with the least free milli, the first on ties (``gpuSelMethod:
best``).
"""

NAME = "GpuFit"
KIND = "Filter"
REASON = "Insufficient GPU"
