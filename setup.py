"""Build glue for `pip install .`: the extension xiaoxiang._core is built by
CMake (target xiaoxiang_python only, Release, ccache when present) and copied
where setuptools packs it. Metadata lives in pyproject.toml.

Environment: XIAOXIANG_PIP_BUILD_DIR (CMake build directory, default
build/pip, kept between installs so rebuilds are incremental),
XIAOXIANG_PIP_JOBS (parallel jobs, default 2).
"""
import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent
BUILD = pathlib.Path(os.environ.get("XIAOXIANG_PIP_BUILD_DIR", ROOT / "build" / "pip")).resolve()


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        # The interpreter the venv was made from: same ABI, and its path stays
        # the same across venvs, so the CMake cache stays valid.
        python = getattr(sys, "_base_executable", None) or sys.executable
        configure = [
            "cmake", "-S", str(ROOT), "-B", str(BUILD),
            "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython_EXECUTABLE={python}",
            "-DXIAOXIANG_BUILD_PYTHON=ON",
            "-DXIAOXIANG_BUILD_TESTS=OFF",
            "-DXIAOXIANG_BUILD_BENCHMARKS=OFF",
            "-DXIAOXIANG_BUILD_EXAMPLES=OFF",
            "-DXIAOXIANG_INSTALL=OFF",
            f"-DXIAOXIANG_PYTHON_PACKAGE_DIR={BUILD / 'python' / 'xiaoxiang'}",
        ]
        if not (BUILD / "CMakeCache.txt").exists() and shutil.which("ninja"):
            configure += ["-G", "Ninja"]
        subprocess.check_call(configure)
        jobs = os.environ.get("XIAOXIANG_PIP_JOBS", "2")
        subprocess.check_call(["cmake", "--build", str(BUILD), "--target", "xiaoxiang_python", "-j", jobs])
        built = sorted((BUILD / "python" / "xiaoxiang").glob("_core*.so"))
        if not built:
            raise RuntimeError(f"CMake built no xiaoxiang/_core*.so under {BUILD}")
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)


setup(
    ext_modules=[CMakeExtension("xiaoxiang._core")],
    cmdclass={"build_ext": CMakeBuild},
    # Keep setuptools' own files out of the source tree.
    options={"build": {"build_base": str(BUILD / "setuptools")},
             "egg_info": {"egg_base": str(BUILD)}},
)
