// SPDX-License-Identifier: MIT
/// The engine's thread setting (implemented with the threading policy in src/parallel.cpp).
#pragma once
#include <cstdint>

namespace mlpcore {

/// Threads used by large matrix products and optimizer steps (OpenMP). Products under about two
/// million multiply-adds always run on the calling thread, so small networks never start threads.
/// n ≥ 1; throws std::invalid_argument otherwise.
void set_num_threads(int n);
/// The count in use on the calling thread: set_num_threads' value (default: OpenMP's at load),
/// capped by the thread's OpenMP limit omp_get_max_threads() (OMP_NUM_THREADS,
/// omp_set_num_threads, threadpoolctl), read at each call.
int get_num_threads();
/// OpenMP parallel regions the engine has entered in this process so far (a diagnostic for tests
/// and benchmarks: a small network should never enter one). Thread-safe; never reset.
std::uint64_t parallel_regions();

}  // namespace mlpcore
