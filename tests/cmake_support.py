"""Shared helpers for the tests that drive CMake: locating the tools and Eigen, running commands
with a clean environment, and one build of the C++ tree per test session (see conftest.py)."""
from __future__ import annotations

import importlib
import importlib.metadata
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def tool(name: str, module: str, attr: str) -> str:
    """The executable shipped by a PyPI package of the running interpreter, else from PATH."""
    try:
        folder = getattr(importlib.import_module(module), attr)
        candidate = Path(folder) / name
        if candidate.is_file():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: install the '{module}' package (a test dependency)")
    return found


def cmeel_prefix() -> Path:
    """<site-packages>/cmeel.prefix of the cmeel-eigen installed for this interpreter."""
    dist = importlib.metadata.distribution("cmeel-eigen")
    prefix = Path(str(dist.locate_file("cmeel.prefix"))).resolve()
    assert (prefix / "share" / "eigen3" / "cmake" / "Eigen3Config.cmake").is_file(), prefix
    return prefix


def run(cmd: list[str], cwd: Path | None = None, env_extra: dict[str, str] | None = None,
        stderr_to_stdout: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # Nothing from the caller's environment may point CMake at another Eigen or mlpcore.
    for key in list(env):
        if key == "CMAKE_PREFIX_PATH" or key.upper().startswith(("EIGEN3", "MLPCORE_DIR")):
            del env[key]
    env.update(env_extra or {})
    return subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT if stderr_to_stdout else subprocess.PIPE, text=True)


def tail(text: str, lines: int = 80) -> str:
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class CppBuild:
    build_dir: Path
    prefix: Path          # cmeel-eigen's prefix, the only Eigen the build may see
    configure_log: str
    cmake: str
    ctest: str
    ninja: str


def build_cpp_tree(build_dir: Path) -> CppBuild:
    """Configure and build the repository as a C++-only project (core + C++ tests)."""
    cmake = tool("cmake", "cmake", "CMAKE_BIN_DIR")
    ctest = str(Path(cmake).with_name("ctest"))
    ninja = tool("ninja", "ninja", "BIN_DIR")
    prefix = cmeel_prefix()
    configure = run([
        cmake, "-S", str(REPO), "-B", str(build_dir), "-G", "Ninja",
        f"-DCMAKE_MAKE_PROGRAM={ninja}",
        "-DMLPCORE_BUILD_PYTHON=OFF",
        "-DMLPCORE_BUILD_TESTS=ON",
        # The flags the package ships with. -O1 was measured to save only ~15 % of the build
        # (most of it is the core's own sources), not worth testing other code than users run.
        "-DCMAKE_BUILD_TYPE=Release",
        f"-DCMAKE_PREFIX_PATH={prefix}",
        # Hide /usr from every find_package search: a system Eigen cannot be picked up.
        "-DCMAKE_IGNORE_PREFIX_PATH=/usr",
        "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON",
    ])
    assert configure.returncode == 0, "cmake configure failed:\n" + tail(configure.stdout)
    build = run([cmake, "--build", str(build_dir), "--parallel", str(min(os.cpu_count() or 2, 2))])
    assert build.returncode == 0, "cmake build failed:\n" + tail(build.stdout)
    return CppBuild(build_dir=build_dir, prefix=prefix, configure_log=configure.stdout, cmake=cmake, ctest=ctest,
                    ninja=ninja)
