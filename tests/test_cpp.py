"""The C++ core on its own: a plain CMake build of the repository with no Python module, its
CTest suite (cpp/tests: the C++ tests and a short fuzz run of the model reader), and proof that
Eigen comes from the cmeel-eigen package, not the system. The build is shared with test_embed.py
(the session fixture in conftest.py).
"""
from __future__ import annotations

import importlib.metadata
import json
import re
import shlex
from pathlib import Path

from cmake_support import CppBuild, run, tail

# Every CTest test the plain build registers: the C++ tests, and a short run of the model-file
# fuzz driver (cpp/tests/fuzz; the long campaign and the libFuzzer build are documented there).
CPP_TESTS = ("test_gradients", "test_optimizer", "test_model_io", "test_no_alloc", "test_predict", "test_perceptron",
             "test_threads", "test_estimator_fit", "test_bf16", "test_sgemm", "test_dense", "test_sgemm_avx2",
             "test_sgemm_avx512")
CTESTS = CPP_TESTS + ("fuzz_model_io_short",)


def test_eigen_comes_from_cmeel_prefix(cpp_build: CppBuild) -> None:
    found = re.search(r"mlpcore: Eigen (\S+) from (.+)", cpp_build.configure_log)
    assert found, "the configure log does not say where Eigen came from:\n" + tail(cpp_build.configure_log)
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


def _cpu_runs(name: str) -> bool:
    """Whether this CPU has the instructions a `test_sgemm_<isa>` test needs (others: always)."""
    needs = {"test_sgemm_avx2": {"avx2", "fma"}, "test_sgemm_avx512": {"avx512f", "avx512dq", "avx512bw", "avx512vl"}}
    if name not in needs:
        return True
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True
    flags = set(re.search(r"^flags\s*:(.*)$", text, re.MULTILINE).group(1).split())
    return needs[name] <= flags


def test_ctest_passes(cpp_build: CppBuild) -> None:
    result = run([cpp_build.ctest, "--output-on-failure", "--no-tests=error"], cwd=cpp_build.build_dir)
    assert result.returncode == 0, "ctest failed:\n" + tail(result.stdout, 200)
    for name in CTESTS:
        # The per-instruction-set GEMM tests exit with CTest's skip code on a CPU without the set.
        status = "Passed" if _cpu_runs(name) else r"\*+Skipped"
        assert re.search(rf"Test\s+#\d+: {name} \.+\s*{status}", result.stdout), name
    # "100% tests passed, 0 tests failed out of 6" (CMake 3) or "100% tests passed out of 6" (CMake 4).
    assert re.search(rf"100% tests passed.* out of {len(CTESTS)}\b", result.stdout), tail(result.stdout)
