// SPDX-License-Identifier: MIT
/// How this copy of the core was built and the thread setting it runs with.
#pragma once
#include <cstdint>
#include <string>

namespace mlpcore {

struct BuildInfo {
  std::string version;        ///< mlpcore version
  std::string eigen_version;  ///< e.g. "3.4.1"
  std::string compiler;       ///< e.g. "GCC 12.2.0"
  std::string isa;            ///< instruction sets Eigen vectorises with, e.g. "AVX512 FMA AVX2"
  bool native = false;        ///< built with the host's instruction set (-march=native)
  bool openmp = false;        ///< large products may use OpenMP threads
  int max_threads = 1;        ///< threads matrix products use now
};

BuildInfo build_info();
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
