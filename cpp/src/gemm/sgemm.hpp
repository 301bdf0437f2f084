// SPDX-License-Identifier: MIT
// Internal: the engine's own float32 matrix product, C = A·B (+ bias), for the dense layers'
// three products (dense.hpp). Where the build targets AVX-512 or AVX2 + FMA (the native build, or
// the portable build's avx512 / avx2 engines), a register-blocked micro-kernel computes C in
// tiles; without either, kEnabled is false and dense.hpp keeps Eigen's product.
//
// Layout (the Goto / BLIS scheme, written for row-major C): B, the operand read as vectors, is
// packed per block of KC rows × NC columns into panels of NR columns (zero-padded), kept in L2;
// each micro-kernel call multiplies MR rows of A (a row-major A read in place, a transposed one
// packed per MC × KC block) by one KC × NR panel kept in L1, holding the MR × NR tile of C in
// registers. See sgemm.cpp for the sizes and why.
//
// Threads: the threads first pack B (and a transposed A) once, over the whole depth, into the
// caller's buffer; then C is cut into near-square tiles of whole NR-column panels and MR-row
// blocks, handed out from a shared counter (parallel.hpp), so a worker that loses its core holds
// back one tile at most. Each element of C sums its k terms in the same blocks, in the same
// order, whatever the thread count and whoever computes it: results repeat bit for bit.
#pragma once

#include "mlpcore/types.hpp"

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#define MLPCORE_SGEMM 1
#endif

namespace mlpcore::detail::gemm {

#ifdef MLPCORE_SGEMM
constexpr bool kEnabled = true;
#else
constexpr bool kEnabled = false;
#endif

/// Called once per finished block of C, with the block's first row, rows, first column and
/// columns, on the thread that computed it, while the block is still in cache (a fused
/// activation, say). Blocks do not overlap and together cover C once.
using Epilogue = void (*)(const void* context, Index row, Index rows, Index col, Index cols);

/// One product C (m × n, row stride ldc) = A (m × k) · B (k × n) [+ bias broadcast over rows].
/// A's element (i, p) is a[i·a_row + p·a_col] and B's (p, j) is b[p·b_row + j·b_col]; one stride
/// of each must be 1 (a row-major or a transposed operand). bias (n values) may be null.
/// C must not overlap A, B or bias.
struct Product {
  Index m = 0, n = 0, k = 0;
  const float* a = nullptr;
  Index a_row = 0, a_col = 1;
  const float* b = nullptr;
  Index b_row = 0, b_col = 1;
  float* c = nullptr;
  Index ldc = 0;
  const float* bias = nullptr;
  Epilogue epilogue = nullptr;
  const void* epilogue_context = nullptr;
};

/// Computes p on up to `threads` threads (one when the product is too small to pay for more:
/// under kParallelWork multiply-adds, parallel.hpp). Throws std::invalid_argument when neither
/// stride of A or of B is 1. Defined only where kEnabled (declared always, so that code behind
/// `if constexpr (kEnabled)` compiles everywhere).
void sgemm(const Product& p, int threads);

}  // namespace mlpcore::detail::gemm
