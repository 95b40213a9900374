"""GpuClustering: tasks of the same GPU shape together.

``gpu_clustering_score.go``: a task's tag is "share" (a GPU share) or "k-gpu"; a
node's tags are those of the tasks bound to it. Score ``25 × (8000 − free GPU
milli) // 8000`` plus 75 when the node holds only the task's tag, 50 when it holds
it among others, 25 when it holds none, 0 when it holds only others. CPU-only tasks
score 0 everywhere. A GPU share takes the best-fit device.
"""

NAME = "GpuClustering"
KIND = "Score"
DEVICE = "best"
