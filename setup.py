"""Build the Cython kernels: every fastsched/_kernels/*.pyx, with shared directives.

FASTSCHED_DEBUG=1 builds with bounds and wraparound checks on, at -O0 -g.
"""

import os
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("FASTSCHED_DEBUG", "") not in ("", "0")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}
# No fused multiply-add: scores must round exactly as Go's float64 arithmetic does.
flags = (["-O0", "-g"] if DEBUG else ["-O3"]) + ["-ffp-contract=off"]

extensions = [
    Extension(
        f"fastsched._kernels.{pyx.stem}",
        [str(pyx)],
        extra_compile_args=flags,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for pyx in sorted(Path("fastsched/_kernels").glob("*.pyx"))
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        # A debug build must not reuse C files generated with checks off.
        force=DEBUG,
    ),
)
