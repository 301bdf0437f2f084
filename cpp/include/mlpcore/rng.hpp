// SPDX-License-Identifier: MIT
/// mlpcore's own seeded random generator. The standard library's distributions differ between
/// implementations; this one gives the same numbers everywhere, so "same seed, same model" holds.
#pragma once
#include <cstdint>

namespace mlpcore {

/// xoshiro256** (Blackman & Vigna) seeded through splitmix64, with its own conversions to
/// uniform and normal variates. Not thread-safe; cheap to copy.
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0);
  /// Next raw 64-bit output.
  std::uint64_t next();
  /// Uniform double in [0, 1) with 53 random bits.
  double uniform();
  /// Uniform double in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Standard normal N(0, 1) by the Box–Muller transform (both outputs used).
  double normal();
  /// Uniform integer in [0, n), unbiased (Lemire's multiply-and-reject). n must be > 0.
  std::uint64_t below(std::uint64_t n);
  /// A seed derived from (seed, stream), e.g. one shuffle stream per epoch.
  static std::uint64_t derive(std::uint64_t seed, std::uint64_t stream);
  /// splitmix64's finaliser: a bijective 64-bit mixer whose every output bit depends on every
  /// input bit (used to seed the generator and to hash values).
  static std::uint64_t mix(std::uint64_t z);

 private:
  std::uint64_t m_s[4];
  double m_spare = 0.0;
  bool m_has_spare = false;
};

}  // namespace mlpcore
