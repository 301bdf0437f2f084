"""The C++ core on its own: a plain CMake build of the repository with no Python module, its
CTest suite (cpp/tests), and proof that Eigen comes from the cmeel-eigen package, not the system.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CPP_TESTS = ("test_gradients", "test_optimizer", "test_model_io", "test_no_alloc", "test_perceptron")


def _tool(name: str, module: str, attr: str) -> str:
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


def _cmeel_prefix() -> Path:
    """<site-packages>/cmeel.prefix of the cmeel-eigen installed for this interpreter."""
    dist = importlib.metadata.distribution("cmeel-eigen")
    prefix = Path(str(dist.locate_file("cmeel.prefix"))).resolve()
    assert (prefix / "share" / "eigen3" / "cmake" / "Eigen3Config.cmake").is_file(), prefix
    return prefix


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # Nothing from the caller's environment may point CMake at another Eigen.
    for key in list(env):
        if key == "CMAKE_PREFIX_PATH" or key.upper().startswith("EIGEN3"):
            del env[key]
    return subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _tail(text: str, lines: int = 80) -> str:
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class CppBuild:
    build_dir: Path
    prefix: Path
    configure_log: str
    ctest: str


@pytest.fixture(scope="session")
def cpp_build(tmp_path_factory: pytest.TempPathFactory) -> CppBuild:
    cmake = _tool("cmake", "cmake", "CMAKE_BIN_DIR")
    ctest = str(Path(cmake).with_name("ctest"))
    ninja = _tool("ninja", "ninja", "BIN_DIR")
    prefix = _cmeel_prefix()
    build_dir = tmp_path_factory.mktemp("cpp") / "build"
    configure = _run([
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
    assert configure.returncode == 0, "cmake configure failed:\n" + _tail(configure.stdout)
    build = _run([cmake, "--build", str(build_dir), "--parallel", str(os.cpu_count() or 2)])
    assert build.returncode == 0, "cmake build failed:\n" + _tail(build.stdout)
    return CppBuild(build_dir=build_dir, prefix=prefix, configure_log=configure.stdout, ctest=ctest)


def test_eigen_comes_from_cmeel_prefix(cpp_build: CppBuild) -> None:
    found = re.search(r"mlpcore: Eigen (\S+) from (.+)", cpp_build.configure_log)
    assert found, "the configure log does not say where Eigen came from:\n" + _tail(cpp_build.configure_log)
    version, eigen_dir = found.group(1), Path(found.group(2).strip()).resolve()
    assert eigen_dir.is_relative_to(cpp_build.prefix), f"Eigen from {eigen_dir}, not {cpp_build.prefix}"
    assert version.split(".")[:3] == importlib.metadata.version("cmeel-eigen").split(".")[:3]

    cache = (cpp_build.build_dir / "CMakeCache.txt").read_text()
    cached = re.search(r"^Eigen3_DIR:PATH=(.*)$", cache, re.MULTILINE)
    assert cached and Path(cached.group(1)).resolve() == eigen_dir
    assert re.search(r"^CMAKE_IGNORE_PREFIX_PATH:\w+=/usr$", cache, re.MULTILINE)

    # Every compile sees the cmeel headers, and no other include folder holds Eigen.
    commands = json.loads((cpp_build.build_dir / "compile_commands.json").read_text())
    assert len(commands) >= len(CPP_TESTS)
    cmeel_include = cpp_build.prefix / "include" / "eigen3"
    for entry in commands:
        args = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
        includes = [Path(a[2:]) for a in args if a.startswith("-I") and len(a) > 2]
        includes += [Path(b) for a, b in zip(args, args[1:]) if a in ("-I", "-isystem")]
        resolved = {p.resolve() for p in includes}
        assert cmeel_include in resolved, (entry["file"], includes)
        others = [p for p in resolved if p != cmeel_include and (p / "Eigen" / "Core").is_file()]
        assert not others, (entry["file"], others)


def test_build_is_pure_cpp(cpp_build: CppBuild) -> None:
    cache = (cpp_build.build_dir / "CMakeCache.txt").read_text()
    assert re.search(r"^MLPCORE_BUILD_PYTHON:BOOL=OFF$", cache, re.MULTILINE)
    assert not re.search(r"^pybind11_DIR:", cache, re.MULTILINE)
    assert not any(cpp_build.build_dir.rglob("_core*.so")), "a Python extension was built"
    for name in CPP_TESTS:
        assert (cpp_build.build_dir / "cpp" / "tests" / name).is_file(), name


def test_ctest_passes(cpp_build: CppBuild) -> None:
    result = _run([cpp_build.ctest, "--output-on-failure", "--no-tests=error"], cwd=cpp_build.build_dir)
    assert result.returncode == 0, "ctest failed:\n" + _tail(result.stdout, 200)
    for name in CPP_TESTS:
        assert re.search(rf"Test\s+#\d+: {name} \.+\s+Passed", result.stdout), name
    # "100% tests passed, 0 tests failed out of 4" (CMake 3) or "100% tests passed out of 4" (CMake 4).
    assert re.search(rf"100% tests passed.* out of {len(CPP_TESTS)}\b", result.stdout), _tail(result.stdout)
