# SPDX-License-Identifier: MIT
"""The arithmetic peak of one core, measured two ways.

``fma``   A tiny C++ program, compiled on the spot for this host (``-O2 -march=native``), runs 16
          independent chains of vector multiply-adds (``acc = acc * a + b`` on the widest SIMD
          vectors the compiler targets: 16 floats with AVX-512) held in registers, and counts
          2 × lanes × chains FLOPs per iteration; best of several timed runs. This is the core's
          FMA instruction throughput at the clock it runs now. Needs a C++ compiler (``$CXX``,
          ``c++``, ``g++`` or ``clang++``); without one it is reported as unavailable.
``gemm``  The best rate of a large float32 matrix product (N × N by N × N, 2·N³ FLOPs) on one
          thread, through PyTorch and through NumPy's BLAS: the practical peak of a tuned kernel
          that must also load and pack its operands.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time

import numpy as np

FMA_SOURCE = r"""
#include <chrono>
#include <cstdio>
#include <cstdlib>
#if defined(__AVX512F__)
#define LANES 16
#elif defined(__AVX__) || defined(__ARM_FEATURE_SVE)
#define LANES 8
#else
#define LANES 4
#endif
typedef float vec __attribute__((vector_size(LANES * 4)));
#define CHAINS 16
int main(int argc, char** argv) {
  long iters = argc > 1 ? std::atol(argv[1]) : 1000000L;
  int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  vec acc[CHAINS], a, b;
  for (int k = 0; k < LANES; ++k) { a[k] = 0.999f; b[k] = 0.001f; }
  for (int j = 0; j < CHAINS; ++j) acc[j] = a * (float)j;
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 16
      for (int j = 0; j < CHAINS; ++j) acc[j] = acc[j] * a + b;
      __asm__ volatile("" : "+v"(a), "+v"(b));  /* keep a and b in registers, opaque */
    }
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (dt < best) best = dt;
  }
  float s = 0;
  for (int j = 0; j < CHAINS; ++j) for (int k = 0; k < LANES; ++k) s += acc[j][k];
  std::printf("%d %d %.9f %g\n", LANES, CHAINS, best, (double)s);
  return 0;
}
"""


def _compiler():
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def fma_peak(iters: int, reps: int = 5) -> dict:
    """One core's FMA throughput in GFLOP/s from the compiled probe, or the reason it is missing."""
    cxx = _compiler()
    out = {"method": "C++ probe: 16 register-resident chains of vector FMAs, -O2 -march=native, "
                     "best of %d runs" % reps, "gflops": None}
    if cxx is None:
        out["error"] = "no C++ compiler found"
        return out
    with tempfile.TemporaryDirectory(prefix="mlpcore-bench-") as tmp:
        src, exe = os.path.join(tmp, "fma.cpp"), os.path.join(tmp, "fma")
        with open(src, "w") as f:
            f.write(FMA_SOURCE)
        cmd = [cxx, "-O2", "-march=native", "-ffp-contract=fast", "-o", exe, src]
        try:
            subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
            done = subprocess.run([exe, str(iters), str(reps)], capture_output=True, text=True, timeout=120,
                                  check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            out["error"] = f"probe failed: {exc}"
            return out
    lanes, chains, seconds, _ = done.stdout.split()
    lanes, chains, seconds = int(lanes), int(chains), float(seconds)
    out.update(gflops=2.0 * lanes * chains * iters / seconds / 1e9, lanes=lanes, chains=chains,
               iterations=iters, compiler=cxx)
    return out


def gemm_peak(n: int, reps: int, torch_module, threads) -> dict:
    """Best one-thread float32 N×N matrix-product rate through PyTorch and NumPy."""
    rates = {}
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    candidates = [("numpy", lambda: a @ b)]
    if torch_module is not None:
        ta, tb = torch_module.from_numpy(a), torch_module.from_numpy(b)
        candidates.append(("torch", lambda: ta @ tb))
    with threads(1):
        for name, product in candidates:
            product()  # warm-up
            best = float("inf")
            for _ in range(reps):
                t0 = time.perf_counter()
                product()
                best = min(best, time.perf_counter() - t0)
            rates[name] = 2.0 * n ** 3 / best / 1e9
    best_name = max(rates, key=rates.get)
    return {"method": f"float32 {n}x{n} matrix product on 1 thread, best of {reps} runs, best library",
            "gflops": rates[best_name], "library": best_name, "by_library": rates, "n": n}


def measure(quick_level: int, torch_module, threads) -> dict:
    """Both peaks; quick_level 0 = full, 1 = quick, 2 = smoke (shorter runs)."""
    iters = (20_000_000, 4_000_000, 500_000)[quick_level]
    n = (2048, 1024, 256)[quick_level]
    return {"fma": fma_peak(iters), "gemm": gemm_peak(n, (5, 3, 2)[quick_level], torch_module, threads)}
