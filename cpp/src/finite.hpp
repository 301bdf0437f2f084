// SPDX-License-Identifier: MIT
// Internal: finding NaN and infinity at memory speed, in inputs (training and prediction refuse
// them) and in a prediction's outputs (a finite input near the dtype's limit, 1e38 in float32,
// can overflow inside the network; the caller gets an error, never NaN probabilities).
#pragma once
#include <atomic>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "mlpcore/types.hpp"
#include "parallel.hpp"

namespace mlpcore::detail {

/// The first of `rows` rows (each `cols` values, row starts `stride` apart) holding NaN or
/// infinity, or -1. A value is not finite exactly when all its exponent bits are set. Testing
/// the bits with integer operations lets the compiler vectorise the scan (a floating-point test
/// would be a scalar loop), so it runs at memory speed.
template <class S>
Index first_non_finite_row(const S* data, Index rows, Index cols, Index stride) {
  using Bits = std::conditional_t<sizeof(S) == 4, std::uint32_t, std::uint64_t>;
  constexpr Bits exponent = sizeof(S) == 4 ? Bits(0x7f800000u) : Bits(0x7ff0000000000000ull);
  for (Index r = 0; r < rows; ++r) {
    const S* row = data + r * stride;
    Bits bad = 0;
    for (Index c = 0; c < cols; ++c) {
      Bits b;
      std::memcpy(&b, row + c, sizeof(S));
      bad |= Bits((b & exponent) == exponent);
    }
    if (bad) return r;
  }
  return -1;
}

/// The same for a matrix (any outer stride); a large one is scanned in parts shared between the
/// engine's threads (a scan of a whole training set runs before its first epoch).
template <class S>
Index first_non_finite_row(const MatrixCRef<S>& X) {
  const Index rows = X.rows(), cols = X.cols();
  const double values = double(rows) * double(cols);
  const int threads = values >= kParallelWork ? engine_threads() : 1;
  if (threads <= 1) return first_non_finite_row<S>(X.data(), rows, cols, X.outerStride());
  std::atomic<Index> first{rows};
  for_parts(rows, threads, threads * kPiecesPerThread, [&](Index begin, Index end) {
    if (begin >= first.load(std::memory_order_relaxed)) return;  // an earlier row is already bad
    const Index bad = first_non_finite_row<S>(X.data() + begin * X.outerStride(), end - begin, cols, X.outerStride());
    if (bad < 0) return;
    Index seen = first.load(std::memory_order_relaxed);
    while (begin + bad < seen && !first.compare_exchange_weak(seen, begin + bad, std::memory_order_relaxed)) {
    }
  });
  const Index found = first.load();
  return found < rows ? found : -1;
}

/// Rows of a prediction whose outputs are not finite: how many, and the first few row numbers.
struct NonFiniteRows {
  static constexpr int kNamed = 3;
  Index count = 0;
  Index named[kNamed] = {};

  /// Scans `rows` output rows (as first_non_finite_row) numbered from `first_row`.
  template <class S>
  void scan(const S* Z, Index rows, Index cols, Index stride, Index first_row) {
    Index r = 0;
    while (r < rows) {
      const Index bad = first_non_finite_row<S>(Z + r * stride, rows - r, cols, stride);
      if (bad < 0) return;
      if (count < kNamed) named[count] = first_row + r + bad;
      ++count;
      r += bad + 1;
    }
  }

  /// Throws std::invalid_argument naming the rows, out of `total` rows predicted, when any were
  /// found. The cause is the model's `params` when they hold NaN or infinity, else the inputs.
  template <class S>
  void throw_if_any(Index total, const Vector<S>& params) const {
    if (count == 0) return;
    const bool params_finite = first_non_finite_row<S>(params.data(), 1, params.size(), 0) < 0;
    std::string m = "the network's outputs are NaN or infinite for row";
    if (count > 1) m += "s";
    for (Index i = 0; i < count && i < kNamed; ++i) m += (i ? ", " : " ") + std::to_string(named[i]);
    if (count > kNamed) m += " and " + std::to_string(count - kNamed) + " more";
    m += " (" + std::to_string(count) + " of " + std::to_string(total) + " rows): ";
    m += params_finite ? "the inputs overflowed the network; scale them (e.g. standardize each feature to "
                         "mean 0 and variance 1) before predicting"
                       : "the model's parameters contain NaN or infinity";
    throw std::invalid_argument(m);
  }
};

}  // namespace mlpcore::detail
