// SPDX-License-Identifier: MIT
#include "mlpcore/build_info.hpp"

#include <Eigen/Core>
#include <atomic>
#include <stdexcept>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef MLPCORE_VERSION
#define MLPCORE_VERSION "unknown"
#endif

#include "threads.hpp"

namespace mlpcore {

BuildInfo build_info() {
  BuildInfo b;
  b.version = MLPCORE_VERSION;
  b.eigen_version = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                    std::to_string(EIGEN_MINOR_VERSION);
#if defined(__clang__)
  b.compiler = "Clang " __clang_version__;
#elif defined(__GNUC__)
  b.compiler = "GCC " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
               std::to_string(__GNUC_PATCHLEVEL__);
#else
  b.compiler = "unknown";
#endif
  b.isa = Eigen::SimdInstructionSetsInUse();
#ifdef MLPCORE_NATIVE_BUILD
  b.native = true;
#endif
#ifdef _OPENMP
  b.openmp = true;
#endif
  b.max_threads = get_num_threads();
  return b;
}

namespace {
#ifdef _OPENMP
// OpenMP's default, read before the engine changes any thread's setting.
const int g_default_threads = omp_get_max_threads();
#else
const int g_default_threads = 1;
#endif
std::atomic<int> g_threads{0};  // 0: not set
std::atomic<std::uint64_t> g_regions{0};
}  // namespace

namespace detail {
int engine_threads() {
  const int n = g_threads.load(std::memory_order_relaxed);
  const int wanted = n > 0 ? n : g_default_threads;
#ifdef _OPENMP
  // The calling thread's OpenMP limit caps the count: OMP_NUM_THREADS, and
  // threadpoolctl.threadpool_limits (which calls omp_set_num_threads of this libgomp), so
  // nested parallelism (joblib, Dask, MPI ranks) never oversubscribes the cores.
  const int limit = omp_get_max_threads();
  return wanted < limit ? wanted : limit;
#else
  return wanted;
#endif
}
void note_parallel_region() { g_regions.fetch_add(1, std::memory_order_relaxed); }
}  // namespace detail

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("number of threads must be >= 1, got " + std::to_string(n));
#ifndef _OPENMP
  n = 1;
#endif
  g_threads.store(n, std::memory_order_relaxed);
}

int get_num_threads() { return detail::engine_threads(); }

std::uint64_t parallel_regions() { return g_regions.load(std::memory_order_relaxed); }

}  // namespace mlpcore
