"""GpuPacking: partly used GPUs first, then partly used nodes, then idle ones.

``gpu_packing_score.go``: on an idle node (every GPU fully free, F of them)
``max(33 − F, F)``; else, with the devices the task would take (fitting devices by
free milli ascending), ``max(50 − W, 33)`` when W > 0 of them are fully free, else
``max(100 − (Σ free% of those devices) // 10, 50)``. CPU-only tasks score 0. A GPU
share takes the best-fit device.
"""

NAME = "GpuPacking"
KIND = "Score"
DEVICE = "best"
