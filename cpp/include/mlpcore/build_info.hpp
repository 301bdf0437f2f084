// SPDX-License-Identifier: MIT
/// How this copy of the core was built (the thread setting is in threads.hpp).
#pragma once
#include <string>

#include "threads.hpp"

namespace mlpcore {

struct BuildInfo {
  std::string version;        ///< mlpcore version
  std::string eigen_version;  ///< e.g. "3.4.1"
  std::string compiler;       ///< e.g. "GCC 12.2.0"
  std::string isa;            ///< instruction sets Eigen vectorises with, e.g. "AVX512 FMA AVX2"
  bool native = false;        ///< built with the host's instruction set (-march=native)
  bool openmp = false;        ///< large products may use OpenMP threads
  int max_threads = 1;        ///< threads matrix products use now
  std::string bf16;           ///< bf16 product engine now: "amx", "avx512_bf16", or "" (none)
};

BuildInfo build_info();

}  // namespace mlpcore
