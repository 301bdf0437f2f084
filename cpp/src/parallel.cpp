// SPDX-License-Identifier: MIT
// The engine's thread count and its cap (see parallel.hpp for when threads are used at all).
#include <atomic>
#include <stdexcept>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "mlpcore/threads.hpp"
#include "parallel.hpp"

namespace mlpcore {

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
