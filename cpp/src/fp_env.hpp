// SPDX-License-Identifier: MIT
// Flush-to-zero for training. Subnormal floats (|x| < 1.2e-38 in float32) take a slow microcode
// path on x86, about 100 times slower per operation. Training produces them on its own: an L2
// penalty or weight decay shrinks the weights of dead ReLU units, and Adam's moments for them,
// geometrically towards zero; an epoch can then run ten times slower. Treating subnormals as
// zero (FTZ for results, DAZ for inputs) changes values below 1.2e-38 only, far under the
// precision of anything training computes, as deep-learning frameworks commonly do.
#pragma once

#if defined(__SSE__) || defined(_M_X64)
#include <xmmintrin.h>
#define MLPCORE_HAS_MXCSR 1
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

#include "threads.hpp"

namespace mlpcore::detail {

/// Sets FTZ and DAZ for its lifetime and restores the previous mode afterwards, on the calling
/// thread, and with all_threads also on the OpenMP worker threads that run the matrix products.
class FlushSubnormals {
 public:
  explicit FlushSubnormals(bool all_threads) : m_all(all_threads) {
#ifdef MLPCORE_HAS_MXCSR
    m_saved = _mm_getcsr();
    _mm_setcsr(m_saved | kBits);
#ifdef _OPENMP
    if (m_all && engine_threads() > 1 && !omp_in_parallel()) {
      note_parallel_region();
#pragma omp parallel num_threads(engine_threads())
      {
        if (omp_get_thread_num() != 0) {
          worker_saved() = _mm_getcsr();
          _mm_setcsr(worker_saved() | kBits);
        }
      }
    }
#endif
#endif
  }
  ~FlushSubnormals() {
#ifdef MLPCORE_HAS_MXCSR
#ifdef _OPENMP
    if (m_all && engine_threads() > 1 && !omp_in_parallel()) {
      note_parallel_region();
#pragma omp parallel num_threads(engine_threads())
      {
        if (omp_get_thread_num() != 0 && worker_saved() != kUnset) {
          _mm_setcsr(worker_saved());
          worker_saved() = kUnset;
        }
      }
    }
#endif
    _mm_setcsr(m_saved);
#endif
  }
  FlushSubnormals(const FlushSubnormals&) = delete;
  FlushSubnormals& operator=(const FlushSubnormals&) = delete;

 private:
#ifdef MLPCORE_HAS_MXCSR
  static constexpr unsigned kBits = 0x8040u;  // FTZ (bit 15) | DAZ (bit 6)
  static constexpr unsigned kUnset = ~0u;
  static unsigned& worker_saved() {
    thread_local unsigned saved = kUnset;
    return saved;
  }
  unsigned m_saved = 0;
#endif
  bool m_all;
};

}  // namespace mlpcore::detail
