// SPDX-License-Identifier: MIT
// Flush-to-zero for training. Subnormal floats (|x| < 1.2e-38 in float32) take a slow microcode
// path on x86, about 100 times slower per operation. Training produces them on its own: an L2
// penalty or weight decay shrinks the weights of dead ReLU units, and Adam's moments for them,
// geometrically towards zero; an epoch can then run ten times slower. Treating subnormals as
// zero (FTZ for results, DAZ for inputs) changes values below 1.2e-38 only, far under the
// precision of anything training computes, as deep-learning frameworks commonly do.
//
// The mode is a per-thread register (MXCSR). Training sets it on the calling thread only; the
// OpenMP workers of a large product adopt the caller's mode for the length of that product's
// parallel region (parallel.hpp), so no region is ever opened just to change a register.
#pragma once

#if defined(__SSE__) || defined(_M_X64)
#include <xmmintrin.h>
#define MLPCORE_HAS_MXCSR 1
#endif

namespace mlpcore::detail {

/// The calling thread's floating-point control word (rounding, FTZ/DAZ, exception masks), or 0
/// where there is none to read.
inline unsigned fp_mode() {
#ifdef MLPCORE_HAS_MXCSR
  return _mm_getcsr();
#else
  return 0;
#endif
}

/// Sets the calling thread's floating-point control word to `mode` for its lifetime, then
/// restores the previous one.
class ScopedFpMode {
 public:
  explicit ScopedFpMode(unsigned mode) : m_saved(fp_mode()) {
#ifdef MLPCORE_HAS_MXCSR
    if (mode != m_saved) _mm_setcsr(mode);
#else
    (void)mode;
#endif
  }
  ~ScopedFpMode() {
#ifdef MLPCORE_HAS_MXCSR
    if (fp_mode() != m_saved) _mm_setcsr(m_saved);
#endif
  }
  ScopedFpMode(const ScopedFpMode&) = delete;
  ScopedFpMode& operator=(const ScopedFpMode&) = delete;

 private:
  unsigned m_saved;
};

/// FTZ (bit 15) and DAZ (bit 6) of MXCSR.
constexpr unsigned kFlushBits = 0x8040u;

/// Flushes subnormals to zero on the calling thread for its lifetime and restores the caller's
/// mode afterwards. Worker threads of parallel products follow the caller's mode (parallel.hpp).
class FlushSubnormals : public ScopedFpMode {
 public:
  FlushSubnormals() : ScopedFpMode(fp_mode() | kFlushBits) {}
};

}  // namespace mlpcore::detail
