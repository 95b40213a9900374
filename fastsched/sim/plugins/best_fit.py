"""BestFit: the node left with the least, cpu and GPU weighted equally.

``best_fit_score.go``: ``int(100 × (1 − ((cpu left after) / 128000 × 0.5 + (GPU
milli left after) / 8000 × 0.5)))``, then NormalizeScore rescales the feasible
nodes' scores to 0–100 (``(s − min) × 100 // (max − min)``, all 0 when equal). A
GPU share takes the best-fit device.
"""

NAME = "BestFit"
KIND = "Score"
DEVICE = "best"
