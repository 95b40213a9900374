"""The GPU plugins of the trace simulator, one module each, as kube-scheduler
plugins: ``gpu_fit`` (Filter, and the device assignment at bind) and the paper's
six Score policies. Each module names its policy, states its rule and where the
paper's simulator defines it; the rules run in ``_kernels/gpusim.pyx``.
"""

from . import best_fit, dot_product, fgd, gpu_clustering, gpu_fit, gpu_packing, random_fit

PLUGINS = {m.NAME: m for m in (random_fit, dot_product, gpu_clustering, gpu_packing, best_fit,
                               fgd)}
"""Policy name -> its module."""

__all__ = ["PLUGINS", "gpu_fit", "random_fit", "dot_product", "gpu_clustering", "gpu_packing",
           "best_fit", "fgd"]
