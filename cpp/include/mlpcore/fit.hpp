// SPDX-License-Identifier: MIT
/// Whole training runs from C++: the epoch loop of Python's Trainer.fit (without validation,
/// schedules or progress), on the same engine (train_epoch), so the same seed, data, optimizer
/// settings and thread count give the same weights as `Trainer(..., shuffle, seed).fit(X, y)`.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "epoch.hpp"

namespace mlpcore {

namespace detail {
/// Keeps S out of template argument deduction, so fit(net, adam, X, y) deduces S from the
/// model alone and X or y may be any matrix that converts to the Ref.
template <class T>
struct NoDeduce {
  using type = T;
};
}  // namespace detail

/// Options of fit().
struct FitOptions {
  Index epochs = 100;        ///< ≥ 1
  Index batch_size = 128;    ///< ≥ 1; a larger value is clamped to the row count
  bool shuffle = true;
  std::uint64_t seed = 0;    ///< epoch e shuffles with (seed, e), as Python's Trainer
  /// Called after every epoch with its index (0-based) and result; returning true stops
  /// training after that epoch. May be empty.
  std::function<bool(Index epoch, const EpochResult& result)> on_epoch;
};

/// Trains `net` with `opt` on X (n × n_inputs) and integer class labels y (n values in
/// [0, n_outputs), or 0/1 for a single sigmoid output), minimising the loss that matches the
/// model's output kind (softmax → cross_entropy, sigmoid → binary_cross_entropy). Optional
/// sample weights: n values ≥ 0 with a positive sum. Returns one EpochResult per epoch run.
/// Throws std::invalid_argument for bad shapes or values (before any update), and
/// std::domain_error when an epoch's loss becomes NaN or infinite; the model then keeps the
/// weights it had before that epoch.
template <class S>
std::vector<EpochResult> fit(BasicMlp<S>& net, Optimizer<S>& opt, const MatrixCRef<typename detail::NoDeduce<S>::type>& X,
                             const LabelCRef& y, const FitOptions& options = {},
                             const typename detail::NoDeduce<S>::type* sample_weights = nullptr);

/// As above with dense targets T (n × n_outputs): probabilities for softmax, 0/1 (or soft)
/// targets for sigmoid, regression values for an identity output (mse).
template <class S>
std::vector<EpochResult> fit(BasicMlp<S>& net, Optimizer<S>& opt, const MatrixCRef<typename detail::NoDeduce<S>::type>& X,
                             const MatrixCRef<typename detail::NoDeduce<S>::type>& T, const FitOptions& options = {},
                             const typename detail::NoDeduce<S>::type* sample_weights = nullptr);

}  // namespace mlpcore
