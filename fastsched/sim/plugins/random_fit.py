"""Random: one feasible node, uniformly at random (seeded).

``random_score.go`` picks a node in PreScore and scores it 100, every other 0; a
GPU share takes a uniformly random fitting device (``gpuSelMethod: random``).
"""

NAME = "Random"
KIND = "Score"
DEVICE = "random"
