// SPDX-License-Identifier: MIT
// Internal: the small numeric pieces that several kernels share, each written once: values
// processed in fixed-size aligned blocks, the overflow-free logistic sigmoid, and the sum of a
// batch's sample weights.
#pragma once
#include <algorithm>

#include "mlpcore/types.hpp"

namespace mlpcore::detail {

/// Values per block of the element-wise transforms below.
constexpr Index kBlock = 16;
template <class S>
using Block = Eigen::Array<S, kBlock, 1>;

/// Applies f(Block&) to the `count` values at p, kBlock at a time, through an aligned local
/// copy (the last block padded with zeros). Eigen vectorises an expression over an unaligned or
/// odd-sized range by computing its head and tail with scalar code (std::exp) and the middle with
/// SIMD code (its own exp), which differ in the last bit; which values fall where depends on the
/// address, so results changed from call to call and with a row's place in the batch. A
/// fixed-size aligned block takes one path for every value: each result depends on its input
/// alone. 16 values fill whole SIMD registers of either type with SSE, AVX or AVX-512.
template <class S, class F>
void in_blocks(S* p, Index count, const F& f) {
  Block<S> block;
  for (Index i = 0; i < count; i += kBlock) {
    const Index m = std::min(kBlock, count - i);
    if (m < kBlock) block.setZero();
    std::copy(p + i, p + i + m, block.data());
    f(block);
    std::copy(block.data(), block.data() + m, p + i);
  }
}

/// The rows of Z (rows × cols, row-major): all values in one range when rows are contiguous,
/// else row by row.
template <class S, class F>
void in_blocks(MatrixRef<S> Z, const F& f) {
  if (Z.outerStride() == Z.cols()) {
    in_blocks<S>(Z.data(), Z.size(), f);
  } else {
    for (Index i = 0; i < Z.rows(); ++i) in_blocks<S>(Z.row(i).data(), Z.cols(), f);
  }
}

/// b ← σ(b) = 1/(1+e^−b) for b ≥ 0 and e^b/(1+e^b) below: e = e^−|b| never overflows, so the
/// result is exact to rounding for every finite input.
template <class S>
void sigmoid_block(Block<S>& b) {
  const Block<S> e = (-b.abs()).exp();
  b = (b >= S(0)).select(Block<S>::Ones(), e) / (S(1) + e);
}

/// Σ weights[0, n) in double, or n when weights is null (every row weighs 1).
template <class S>
double weight_sum(Index n, const S* weights) {
  if (!weights) return double(n);
  double sum = 0;
  for (Index i = 0; i < n; ++i) sum += double(weights[i]);
  return sum;
}

}  // namespace mlpcore::detail
