# SPDX-License-Identifier: MIT
"""The machine and the build under test: CPU, instruction sets, load from other processes, thread
control, library versions, git state."""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import platform
import resource
import subprocess
import sys
import time

import mlpcore

# Average number of cores other processes may keep busy before a measurement is flagged.
FOREIGN_WARN = 0.1
# The instruction-set flags of /proc/cpuinfo worth recording for dense float32 arithmetic.
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512bw", "avx512vl",
             "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "neon", "asimd")
OMP_ENV = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _cpuinfo() -> dict:
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "flags", "Features") and key not in info:
                    info[key] = value.strip()
    except OSError:
        pass
    return info


def cpu() -> dict:
    """CPU model, logical CPUs, CPUs this process may use, and the SIMD flags that matter here."""
    info = _cpuinfo()
    flags = set((info.get("flags") or info.get("Features") or "").split())
    return {
        "model": info.get("model name") or platform.processor() or "unknown",
        "logical_cpus": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "isa_flags": [f for f in ISA_FLAGS if f in flags],
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def loadavg():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


# /proc/stat counts in clock ticks (10 ms): shorter windows say nothing about the load.
MIN_LOAD_WINDOW = 0.25


class ForeignLoad:
    """Average number of cores other processes kept busy between start() and stop(): the machine's
    busy time from /proc/stat minus this process's own CPU time, over the wall time. stop() gives
    None where /proc/stat is missing or the window was shorter than MIN_LOAD_WINDOW seconds."""

    def start(self):
        self._wall, self._busy0, self._own0 = time.perf_counter(), self._machine_busy(), self._own()
        return self

    def stop(self):
        busy = self._machine_busy()
        wall = time.perf_counter() - self._wall
        if busy is None or self._busy0 is None or wall < MIN_LOAD_WINDOW:
            return None
        cores = ((busy - self._busy0) - (self._own() - self._own0)) / wall
        return min(max(0.0, cores), float(os.cpu_count() or 1))

    @staticmethod
    def _machine_busy():
        try:
            with open("/proc/stat") as f:
                ticks = [int(v) for v in f.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        # user nice system idle iowait irq softirq steal: all but idle and iowait count as busy.
        return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own():
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime


def sample_load(seconds: float) -> dict:
    """The load average and the cores other processes use over the next `seconds`."""
    probe = ForeignLoad().start()
    time.sleep(seconds)
    cores = probe.stop()
    return {"loadavg": loadavg(), "foreign_cores": None if cores is None else round(cores, 3),
            "sampled_seconds": seconds}


def wait_quiet(limit_seconds: float, window: float = 3.0, say=print) -> bool:
    """Wait at most `limit_seconds` until two successive windows see other processes use fewer
    than FOREIGN_WARN cores; True if that happened."""
    start = time.monotonic()
    calm, told = 0, False
    while time.monotonic() < start + limit_seconds:
        probe = ForeignLoad().start()
        time.sleep(window)
        cores = probe.stop()
        if cores is None:
            return False
        calm = calm + 1 if cores < FOREIGN_WARN else 0
        if calm >= 2:
            if told:
                say(f"idle after {time.monotonic() - start:.0f} s")
            return True
        if not calm and not told:
            say(f"waiting for idle CPUs: other processes use {cores:.2f} cores")
            told = True
    say(f"still busy after {limit_seconds:.0f} s; starting anyway")
    return False


# -- libraries ----------------------------------------------------------------------------------------
def optional(name):
    """The module if it imports, else None."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _extension() -> dict:
    """The compiled engine that was measured: with an editable install or modified files the
    commit alone does not identify it."""
    core = sys.modules.get("mlpcore._core")
    path = getattr(core, "__file__", None)
    if not path or not os.path.exists(path):
        return {"path": path}
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    st = os.stat(path)
    return {"path": path, "bytes": st.st_size, "sha256": digest[:16],
            "mtime": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(st.st_mtime))}


def _cmake_flags() -> dict:
    """Compiler flags from the CMake cache of the build that produced the extension, when that
    build folder is still around (source and editable installs); {} otherwise."""
    wanted = ("CMAKE_BUILD_TYPE", "CMAKE_CXX_FLAGS", "CMAKE_CXX_FLAGS_RELEASE", "MLPCORE_NATIVE")
    package = os.path.dirname(os.path.abspath(mlpcore.__file__))  # python/mlpcore in a source tree
    roots = [os.path.join(package, os.pardir, os.pardir, "build")]
    for root in roots:
        if not os.path.isdir(root):
            continue
        for tag in sorted(os.listdir(root)):
            cache = os.path.join(root, tag, "CMakeCache.txt")
            if not os.path.isfile(cache):
                continue
            found = {}
            with open(cache, errors="replace") as f:
                for line in f:
                    name, _, value = line.partition("=")
                    key = name.split(":")[0]
                    if key in wanted:
                        found[key] = value.strip()
            if found:
                found["cache"] = os.path.normpath(cache)
                return found
    return {}


def build() -> dict:
    """mlpcore.build_info() plus the extension file and, when found, the CMake flags."""
    info = dict(mlpcore.build_info())
    ext = _extension()
    info["extension"] = ext
    info["cmake"] = _cmake_flags()
    return info


def openmp_runtimes():
    """The OpenMP runtime libraries mapped into this process (mlpcore and PyTorch share one)."""
    try:
        with open("/proc/self/maps") as f:
            return sorted({line.split()[-1] for line in f if "omp" in line.rsplit("/", 1)[-1]})
    except OSError:
        return None


def git() -> dict:
    here = os.path.dirname(os.path.abspath(__file__))

    def run(*args):
        try:
            done = subprocess.run(["git", *args], cwd=here, capture_output=True, text=True, timeout=10)
            return done.stdout.rstrip() if done.returncode == 0 else ""
        except (OSError, subprocess.SubprocessError):
            return ""
    commit = run("rev-parse", "HEAD")
    return {"commit": commit or None,
            "modified_files": run("status", "--porcelain", "--untracked-files=no").splitlines() if commit else []}


def environment() -> dict:
    return {k: os.environ[k] for k in OMP_ENV if k in os.environ}


# -- threads --------------------------------------------------------------------------------------------
class Threads:
    """Sets every engine to n threads: mlpcore.set_num_threads, torch.set_num_threads, and
    threadpoolctl for the BLAS and OpenMP libraries NumPy and scikit-learn use."""

    def __init__(self, torch_module):
        self.torch = torch_module
        tpc = optional("threadpoolctl")
        self.controller = tpc.ThreadpoolController() if tpc is not None else None
        self.threadpoolctl = getattr(tpc, "__version__", None)

    @contextlib.contextmanager
    def __call__(self, n: int):
        old_mine = mlpcore.get_num_threads()
        old_torch = self.torch.get_num_threads() if self.torch is not None else None
        # limit() applies the limits at once (not on entering the with block).
        limits = self.controller.limit(limits=n) if self.controller is not None else contextlib.nullcontext()
        try:
            with limits:
                # After threadpoolctl, which also sets the OpenMP runtimes' default.
                mlpcore.set_num_threads(n)
                if self.torch is not None:
                    self.torch.set_num_threads(n)
                yield
        finally:
            # After threadpoolctl restored its libraries (that may reset the OpenMP default).
            mlpcore.set_num_threads(old_mine)
            if self.torch is not None:
                self.torch.set_num_threads(old_torch)

    def state(self, n: int) -> dict:
        """The counts actually in force when n threads are asked for."""
        with self(n):
            out = {"requested": n, "mlpcore": mlpcore.get_num_threads(),
                   "torch": self.torch.get_num_threads() if self.torch is not None else None}
            if self.controller is not None:
                out["threadpoolctl"] = [{"prefix": p.prefix, "user_api": p.user_api, "num_threads": p.num_threads}
                                        for p in self.controller.lib_controllers]
            else:
                out["threadpoolctl"] = None
        return out
