"""Synthetic clusters and workloads for demos, tests and benchmarks (not part of the
scheduling core)."""
