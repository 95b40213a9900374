"""Build the Cython kernels: every fastsched/_kernels/*.pyx, with shared directives.

FASTSCHED_DEBUG=1 builds with bounds and wraparound checks on, at -O0 -g.

The kernels compile in parallel (Cython on every CPU, then one C compiler per
CPU), and each compiled kernel is kept in ``build/kernels/``: a later build with
the same sources, flags, Python and NumPy copies it instead of compiling again,
so ``pip install -e '.[test]'`` right after ``pip install -e .`` takes seconds,
not minutes. ``rm -rf build`` forces a full rebuild.
"""

import hashlib
import os
import shutil
import sys
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("FASTSCHED_DEBUG", "") not in ("", "0")
KERNELS = Path("fastsched/_kernels")
CPUS = os.cpu_count() or 1

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
    for pyx in sorted(KERNELS.glob("*.pyx"))
]


class CachedBuildExt(build_ext):
    """build_ext in parallel, reusing kernels compiled by an earlier build.

    pip builds every install in a fresh temporary directory, so setuptools' own
    up-to-date check never sees the previous build's objects; the cache lives in
    the source tree instead. Its key covers what the binary depends on besides
    its sources: the flags, this file, the interpreter's ABI and NumPy's version
    (the kernels compile against its headers).
    """

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:
            self.parallel = CPUS

    def _cache_path(self, ext) -> Path:
        key = hashlib.sha256(repr((flags, sys.version, numpy.__version__,
                                   Path(__file__).read_bytes())).encode()).hexdigest()[:16]
        return Path("build", "kernels", key, Path(self.get_ext_filename(ext.name)).name)

    def build_extension(self, ext):
        target = Path(self.get_ext_fullpath(ext.name))
        cached = self._cache_path(ext)
        # Every header, .pxd and .pxi counts for every kernel: cheap to check, never stale.
        inputs = [Path(s) for s in ext.sources] + [p for p in KERNELS.iterdir()
                                                   if p.suffix in (".h", ".pxd", ".pxi")]
        if cached.exists() and all(p.stat().st_mtime <= cached.stat().st_mtime for p in inputs):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(cached, target)
            print(f"fastsched: reusing {cached} for {ext.name}")
            return
        super().build_extension(ext)
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target, cached)


setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        nthreads=CPUS,
        # A debug build must not reuse C files generated with checks off.
        force=DEBUG,
    ),
    cmdclass={"build_ext": CachedBuildExt},
)
