// SPDX-License-Identifier: MIT
// Internal: C = A·B with bfloat16 operands and float32 accumulation, on AMX tiles or with
// AVX512-BF16 dot products. Both engines read the same packed operands:
//   A (M × K) in tiles of 16 rows × 32 k, each row 32 consecutive bf16 of K (64 bytes);
//   B (K × N) in tiles of 16 k-pairs × 16 columns, each 32-bit word holding (B[2r][j], B[2r+1][j])
//   — the "VNNI" pair layout that tdpbf16ps and vdpbf16ps multiply.
// Padding rows, columns and k are zero, so they add nothing to the sums.
#pragma once
#include <cstddef>

#include "mlpcore/precision.hpp"

namespace mlpcore::bf16 {

using Index = std::ptrdiff_t;

/// A float32 operand in memory: element (i, k) is p[i·ld + k], or p[k·ld + i] when transposed.
struct View {
  const float* p;
  Index ld;
  bool transposed;
};

/// C (M × N, row stride ldc) = A (M × K) · B (K × N), every operand rounded to bf16 (nearest,
/// ties to even) when packed, products summed in float32. M, N, K ≥ 1. `engine` must be Amx or
/// Avx512Bf16 and supported (bf16_engine()); throws std::runtime_error otherwise. C must not
/// overlap A or B. Packs into the calling thread's buffers (grown, never shrunk); from 2 ×
/// kParallelWork multiply-adds on, the packing and then tiles of C are shared between the
/// engine's threads (parallel.hpp), with the same result whatever the thread count. Every call
/// of a kernel loads the AMX tile configuration on the thread that runs it, so any thread may
/// call this.
void gemm(Bf16Engine engine, View a, View b, Index M, Index N, Index K, float* C, Index ldc);

/// x rounded to the nearest bfloat16 (ties to even), returned as float; the reference rounding
/// of the packers, for tests.
float round_to_bf16(float x);

}  // namespace mlpcore::bf16
