"""The portable build: one engine per instruction set, chosen for the CPU at import.

Builds the Python extensions with MLPCORE_NATIVE=OFF (baseline x86-64, AVX2 + FMA, AVX-512, plus
the CPU probe), lays them out beside a copy of the Python package, and checks in fresh
interpreters that each engine loads only when asked for or chosen, is compiled for what it says
(AVX-512 registers in the AVX-512 engine only), and computes the same training step as the
others. Also checks MLPCORE_ISA's errors in the installed (native) build.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pybind11
import pytest

from cmake_support import REPO, cmeel_prefix, run, tail, tool

CHECK = r"""
import json, sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()]
import numpy as np, mlpcore
info = mlpcore.build_info()
net = mlpcore.MLP([5, 32, 3], "tanh", dtype="float64", seed=0)
rng = np.random.default_rng(0)
X, y = rng.normal(size=(64, 5)), rng.integers(0, 3, 64)
loss = net.train_step(X, y, mlpcore.Adam(lr=1e-2))
print(json.dumps({"engine": info["engine"], "isa": info["isa"], "module": mlpcore._core.__name__,
                  "file": mlpcore.__file__, "loss": loss, "params": net.parameters.tolist(),
                  "engines_loaded": sorted({sys.modules[m].__name__ for m in sys.modules if m.startswith("mlpcore._core")})}))
"""


# 30 Adam steps of a float32 net with bf16 products, and of the same net in float32, or the
# engine's refusal of bf16.
CHECK_BF16 = r"""
import json, sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()]
import numpy as np, mlpcore
rng = np.random.default_rng(0)
X, y = rng.normal(size=(256, 64)).astype(np.float32), rng.integers(0, 10, 256)
out = {"engine": mlpcore.build_info()["engine"], "bf16_engine": mlpcore.build_info()["bf16"], "losses": {}}
for precision in ("bf16", "float32"):
    try:
        net = mlpcore.MLP([64, 128, 10], "relu", seed=0, precision=precision)
    except ValueError as e:
        out["refused"] = str(e)
        continue
    opt = mlpcore.Adam(lr=1e-3)
    out["losses"][precision] = [net.train_step(X, y, opt) for _ in range(30)]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def portable(tmp_path_factory):
    root = tmp_path_factory.mktemp("portable")
    build = root / "build"
    cmake = tool("cmake", "cmake", "CMAKE_BIN_DIR")
    ninja = tool("ninja", "ninja", "BIN_DIR")
    configure = run([cmake, "-S", str(REPO), "-B", str(build), "-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}",
                     "-DCMAKE_BUILD_TYPE=Release", "-DMLPCORE_NATIVE=OFF", "-DMLPCORE_BUILD_PYTHON=ON",
                     "-DMLPCORE_BUILD_TESTS=OFF", "-DMLPCORE_INSTALL=OFF", f"-DPython_EXECUTABLE={sys.executable}",
                     f"-Dpybind11_DIR={pybind11.get_cmake_dir()}", f"-DCMAKE_PREFIX_PATH={cmeel_prefix()}",
                     "-DCMAKE_IGNORE_PREFIX_PATH=/usr"])
    assert configure.returncode == 0, tail(configure.stdout)
    built = run([cmake, "--build", str(build), "--parallel", "2"])
    assert built.returncode == 0, tail(built.stdout)
    site = root / "site"
    shutil.copytree(REPO / "python" / "mlpcore", site / "mlpcore")
    modules = sorted(p.name for p in (build / "python").glob("_*.so"))
    for name in modules:
        shutil.copy2(build / "python" / name, site / "mlpcore" / name)
    return site, modules


def engine_run(site, isa=None):
    env = dict(os.environ, PYTHONPATH=str(site))
    env.pop("MLPCORE_ISA", None)
    if isa:
        env["MLPCORE_ISA"] = isa
    proc = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True)
    return proc


def cpu_flags():
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return set(next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []))


def test_portable_build_has_one_engine_per_instruction_set(portable):
    site, modules = portable
    stems = sorted(name.split(".")[0] for name in modules)
    assert stems == ["_core", "_core_avx2", "_core_avx512", "_cpu"]
    objdump = shutil.which("objdump")
    if objdump:  # binutils: count AVX-512 (zmm) and AVX (ymm) registers in each engine
        def count(stem, reg):
            path = next(site.glob(f"mlpcore/{stem}.*.so"))
            return subprocess.run([objdump, "-d", str(path)], capture_output=True, text=True).stdout.count(reg)
        assert count("_core", "%zmm") == 0 and count("_core", "%ymm") == 0
        assert count("_core_avx2", "%zmm") == 0 and count("_core_avx2", "%ymm") > 100
        assert count("_core_avx512", "%zmm") > 100


def test_each_engine_loads_alone_and_agrees(portable):
    site, _ = portable
    flags = cpu_flags()
    runnable = ["baseline"]
    if {"avx2", "fma"} <= flags:
        runnable.append("avx2")
    if {"avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl"} <= flags:
        runnable.append("avx512")
    results = {}
    for isa in runnable:
        proc = engine_run(site, isa)
        assert proc.returncode == 0, proc.stderr
        results[isa] = json.loads(proc.stdout)
        assert results[isa]["file"].startswith(str(site))
        assert results[isa]["engine"] == isa
        assert results[isa]["engines_loaded"] == ["mlpcore._core" if isa == "baseline" else f"mlpcore._core_{isa}"]
    assert results["baseline"]["isa"] == "SSE, SSE2"
    if "avx512" in results:
        assert results["avx512"]["isa"].startswith("AVX512")
    base = results["baseline"]
    for isa, r in results.items():
        assert r["loss"] == pytest.approx(base["loss"], rel=1e-12)
        assert max(abs(a - b) for a, b in zip(r["params"], base["params"])) < 1e-12
    # Without MLPCORE_ISA the fastest engine the CPU runs is chosen.
    auto = engine_run(site)
    assert auto.returncode == 0, auto.stderr
    assert json.loads(auto.stdout)["engine"] == runnable[-1]


def test_isa_choice_errors(portable):
    site, _ = portable
    bad = engine_run(site, "sse9")
    assert bad.returncode != 0 and "MLPCORE_ISA must be baseline, avx2 or avx512" in bad.stderr


def test_native_build_refuses_engines_it_does_not_have():
    # The installed package is a native build: it has only mlpcore._core.
    code = "import mlpcore; print(mlpcore.build_info()['engine'])"
    env = dict(os.environ)
    env.pop("MLPCORE_ISA", None)
    ok = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.strip() in ("native", "avx512", "avx2", "baseline")
    if ok.stdout.strip() == "native":
        env["MLPCORE_ISA"] = "avx2"
        refused = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert refused.returncode != 0 and "this build has no avx2 engine" in refused.stderr
        env["MLPCORE_ISA"] = "baseline"
        assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True).stdout.strip() == "native"


def test_portable_engines_run_or_refuse_bf16(portable):
    # The AVX-512 engine of a portable wheel carries the bf16 kernels (per-function targets) and
    # trains with them where the CPU has AVX512-BF16; the others refuse bf16 by name.
    site, _ = portable
    flags = cpu_flags()
    env = dict(os.environ)
    env.pop("MLPCORE_ISA", None)
    installed = CHECK_BF16.replace("sys.meta_path[:] =", "_ =", 1)  # the installed (native) build
    native = subprocess.run([sys.executable, "-c", installed], env=env, capture_output=True, text=True)
    assert native.returncode == 0, native.stderr
    native = json.loads(native.stdout)
    for isa in ("baseline", "avx2", "avx512"):
        needs = {"baseline": set(), "avx2": {"avx2", "fma"},
                 "avx512": {"avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl"}}[isa]
        if not needs <= flags:
            continue
        env = dict(os.environ, PYTHONPATH=str(site), MLPCORE_ISA=isa)
        proc = subprocess.run([sys.executable, "-c", CHECK_BF16], env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        r = json.loads(proc.stdout)
        assert r["engine"] == isa
        if isa != "avx512" or "avx512_bf16" not in flags:
            assert r["bf16_engine"] is None and "bf16" in r["refused"] and "bf16" not in r["losses"]
            continue
        assert r["bf16_engine"] in ("amx", "avx512_bf16") and "refused" not in r
        bf16, fp32 = r["losses"]["bf16"], r["losses"]["float32"]
        # bf16 products really ran (the losses differ from float32's), trained (the loss fell),
        # and stayed within bf16's rounding of the float32 run.
        assert bf16 != fp32
        assert bf16[-1] < 0.8 * bf16[0]
        assert bf16[-1] == pytest.approx(fp32[-1], rel=0.05)
        # The native build (same kernels, its own instruction set) computes the same steps.
        if native["bf16_engine"] == r["bf16_engine"]:
            assert bf16 == pytest.approx(native["losses"]["bf16"], rel=1e-4)
