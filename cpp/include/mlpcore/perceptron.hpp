// SPDX-License-Identifier: MIT
/// The perceptron of Rosenblatt (1958): threshold units z = w·x + b that fire (1) when z > 0,
/// trained one sample at a time by the perceptron learning rule
///     w += eta · (t − o) · x,   b += eta · (t − o)        (t the target, o the output, in {0, 1})
/// so weights move only on mistakes: excitatory (+) towards inputs that should fire, inhibitory
/// (−) away from inputs that should not. K units learn K classes one-vs-rest (one unit for a
/// binary problem).
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "types.hpp"

namespace mlpcore {

/// Weight penalty (scikit-learn's `penalty`): none, L2 shrinkage w *= 1 − eta·alpha before each
/// presentation, or L1 by the cumulative truncated gradient of Tsuruoka, Tsujii & Ananiadou (2009).
enum class PerceptronPenalty { None, L2, L1 };

/// Hyper-parameters; validate() throws std::invalid_argument naming the bad field.
struct PerceptronConfig {
  double eta0 = 1.0;  ///< step size, > 0
  PerceptronPenalty penalty = PerceptronPenalty::None;
  double alpha = 1e-4;  ///< penalty strength, >= 0
  bool fit_intercept = true;
  void validate() const;
};

/// What one epoch did.
struct PerceptronEpoch {
  std::vector<double> loss;  ///< per unit: Σ over presentations of max(0, −y·z), y = ±1, z before the update
  double presentations = 0;  ///< Σ sample weights: how many presentations the epoch made
  Index updates = 0;         ///< mistakes corrected, over all units
};

/// K perceptron units over F features. Invariant: weights() is K × F, bias() has K entries.
template <class S>
class BasicPerceptron {
 public:
  /// Zero weights and biases. Throws std::invalid_argument for K < 1, F < 1 or a bad config.
  BasicPerceptron(Index n_units, Index n_features, const PerceptronConfig& config);

  Index n_units() const { return m_w.rows(); }
  Index n_features() const { return m_w.cols(); }
  const PerceptronConfig& config() const { return m_config; }
  /// Weights, K × F (row k is unit k); writable, e.g. to continue from earlier weights.
  RowMatrix<S>& weights() { return m_w; }
  const RowMatrix<S>& weights() const { return m_w; }
  /// Biases, K.
  Vector<S>& bias() { return m_b; }
  const Vector<S>& bias() const { return m_b; }

  /// One epoch over X (n × F) with class indices `labels` (n). Unit k's target is
  /// `labels[i] == k`, or `labels[i] == 1` when there is a single unit. A sample of weight w
  /// (`sample_weight`, null for all ones) is presented floor(w) times in a row, then once with
  /// its step scaled by the fractional part, so an integer weight is exactly that many copies of
  /// the sample; weight 0 skips it. Unit k's step is further scaled by `positive_weight[k]` or
  /// `negative_weight[k]` (class weights) by its target. Units with `active[k] == 0` are left
  /// alone (null: all active). With `shuffle`, samples are visited in an order drawn from
  /// (seed, epoch) and each row's content key (`row_keys`, n values from row_keys(); null
  /// computes them), so the order of rows in X, and duplicated rows versus weights, do not
  /// change the result; otherwise in row order.
  /// Throws std::invalid_argument on shape mismatches, labels out of range, NaN/inf, negative weights.
  PerceptronEpoch train_epoch(const MatrixCRef<S>& X, const std::int32_t* labels, const S* sample_weight,
                              const double* positive_weight, const double* negative_weight,
                              const std::uint8_t* active, bool shuffle, std::uint64_t seed,
                              std::uint64_t epoch, const std::uint64_t* row_keys = nullptr);

  /// A 64-bit key per row of X (n × F) and its label: equal rows get equal keys. Computing them
  /// once per data set saves train_epoch from hashing every row every epoch.
  static std::vector<std::uint64_t> row_keys(const MatrixCRef<S>& X, const std::int32_t* labels);

 private:
  // One presentation of row x to unit k with target t (0/1) and step scale `scale`; returns the
  // loss max(0, −y·z) times the scale and whether the unit's output was right.
  bool present(Index k, const S* x, int t, double step, double scale, double& loss);

  RowMatrix<S> m_w;
  Vector<S> m_b;
  PerceptronConfig m_config;
  std::vector<double> m_u;    // L1: total penalty each weight could have received so far, per unit
  RowMatrix<double> m_q;      // L1: penalty each weight actually received (K × F)
  std::vector<Index> m_order;  // visiting order, reused across epochs
  std::vector<std::pair<std::uint64_t, Index>> m_sort;  // (epoch key, row) while shuffling
};

using Perceptron = BasicPerceptron<float>;

}  // namespace mlpcore
