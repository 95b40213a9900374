"""Compiled kernels (Cython, nogil). Private: the public modules validate input
and call these with arrays of the right dtype, shape and contiguity."""
