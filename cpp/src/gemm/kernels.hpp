// SPDX-License-Identifier: MIT
// Internal: the micro-kernels of sgemm.cpp. Each computes one tile of C, M ≤ kMr rows × up to kNr
// columns, from kc steps: per step one row of the packed B panel (kNr floats, two vector loads)
// and M values of A, each broadcast and multiplied into a row of accumulators. The tile stays in
// registers for all kc steps (AVX-512: 12 × 2 of the 32 zmm registers; AVX2: 6 × 2 of the 16
// ymm), so each loaded value feeds 2·M or M fused multiply-adds (FMAs).
//
// With KContig, A's row i is read in place at a + i·lda (step p at +p); otherwise step p's M
// values sit together at a + p·lda (a transposed operand such as dL_dZᵀ in dL_dW = dL_dZᵀ·A,
// which sgemm.cpp packs first, lda = kMr).
// Columns past nr are computed from B's zero padding and never stored (masked loads/stores).
#pragma once

#include <immintrin.h>

#include "mlpcore/types.hpp"

namespace mlpcore::detail::gemm {

/// How a kernel starts its accumulators: zero, the bias row, or the current C (later k blocks).
enum class Start { Zero, Bias, Load };

#if defined(__AVX512F__)
constexpr int kMr = 12, kNr = 32;

template <int M, bool KContig>
void kernel(Index kc, const float* __restrict a, Index lda, const float* __restrict bp, float* __restrict c,
            Index ldc, Index nr, Start start, const float* __restrict bias) {
  const __mmask16 m0 = nr >= 16 ? __mmask16(0xffff) : __mmask16((1u << nr) - 1);
  const __mmask16 m1 = nr >= 32 ? __mmask16(0xffff) : nr > 16 ? __mmask16((1u << (nr - 16)) - 1) : __mmask16(0);
  __m512 c0[M], c1[M];
  if (start == Start::Load) {
#pragma GCC unroll 12
    for (int i = 0; i < M; ++i) {
      c0[i] = _mm512_maskz_loadu_ps(m0, c + i * ldc);
      c1[i] = _mm512_maskz_loadu_ps(m1, c + i * ldc + 16);
    }
  } else {
    const __m512 b0 = start == Start::Bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    const __m512 b1 = start == Start::Bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
    for (int i = 0; i < M; ++i) {
      c0[i] = b0;
      c1[i] = b1;
    }
  }
  for (Index p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
    bp += kNr;
#pragma GCC unroll 12
    for (int i = 0; i < M; ++i) {
      const __m512 ai = _mm512_set1_ps(KContig ? a[i * lda + p] : a[p * lda + i]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < M; ++i) {
    _mm512_mask_storeu_ps(c + i * ldc, m0, c0[i]);
    _mm512_mask_storeu_ps(c + i * ldc + 16, m1, c1[i]);
  }
}

#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kMr = 6, kNr = 16;

template <int M, bool KContig>
void kernel(Index kc, const float* __restrict a, Index lda, const float* __restrict bp, float* __restrict c,
            Index ldc, Index nr, Start start, const float* __restrict bias) {
  // Lane j of mask h is all ones when column 8h + j < nr.
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(nr)), lane);
  const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(nr) - 8), lane);
  __m256 c0[M], c1[M];
  if (start == Start::Load) {
#pragma GCC unroll 6
    for (int i = 0; i < M; ++i) {
      c0[i] = _mm256_maskload_ps(c + i * ldc, m0);
      c1[i] = _mm256_maskload_ps(c + i * ldc + 8, m1);
    }
  } else {
    const __m256 b0 = start == Start::Bias ? _mm256_maskload_ps(bias, m0) : _mm256_setzero_ps();
    const __m256 b1 = start == Start::Bias ? _mm256_maskload_ps(bias + 8, m1) : _mm256_setzero_ps();
#pragma GCC unroll 6
    for (int i = 0; i < M; ++i) {
      c0[i] = b0;
      c1[i] = b1;
    }
  }
  for (Index p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
    bp += kNr;
#pragma GCC unroll 6
    for (int i = 0; i < M; ++i) {
      const __m256 ai = _mm256_broadcast_ss(KContig ? a + i * lda + p : a + p * lda + i);
      c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < M; ++i) {
    _mm256_maskstore_ps(c + i * ldc, m0, c0[i]);
    _mm256_maskstore_ps(c + i * ldc + 8, m1, c1[i]);
  }
}
#endif

}  // namespace mlpcore::detail::gemm
