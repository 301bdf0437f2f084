// SPDX-License-Identifier: MIT
#include "mlpcore/build_info.hpp"

#include "mlpcore/precision.hpp"

#include <Eigen/Core>
#include <string>

#ifndef MLPCORE_VERSION
#define MLPCORE_VERSION "unknown"
#endif

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
  if (bf16_engine() != Bf16Engine::None) b.bf16 = to_string(bf16_engine());
  return b;
}

}  // namespace mlpcore
