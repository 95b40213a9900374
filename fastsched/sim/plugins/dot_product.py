"""DotProd: the node whose free resources align least with the task's demand.

``dot_product_score.go`` with ``dimExtMethod: merge`` and ``normMethod: max`` (the
paper's setting): with the node's free cpu and total free GPU milli and the task's
cpu and ``num_gpu × gpu_milli``, each divided by 128,000 (cpu) and 8,000 (GPU),
``score = int(100 × (1 − (free · demand) / 2))``. A GPU share takes the best-fit
device.
"""

NAME = "DotProd"
KIND = "Score"
DEVICE = "best"
