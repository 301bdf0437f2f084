// SPDX-License-Identifier: MIT
/// The training loop in C++: one call runs a whole epoch of shuffled mini-batches.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "mlp.hpp"

namespace mlpcore {

/// Options of one epoch.
struct EpochOptions {
  Index batch_size = 128;
  bool shuffle = true;
  std::uint64_t seed = 0;        ///< shuffle order = f(seed, epoch): reproducible, no carried state
  std::uint64_t epoch = 0;
  /// Seconds between calls of should_stop (the Python layer checks Ctrl-C there).
  double check_interval = 0.005;
  /// Scan X for NaN and infinity before the epoch (one vectorised pass over the data). A caller
  /// that runs many epochs on the same, unchanged array may check it once and pass false.
  bool check_finite = true;
};

/// What an epoch did.
struct EpochResult {
  double loss = 0.0;           ///< sample-weighted mean of the batch losses
  Index batches = 0;           ///< batches whose update was applied
  Index samples = 0;
  Index correct = 0;           ///< correct predictions on each batch before its update
  Index counted = 0;           ///< their denominator (0 for mse), see count_correct
  bool stopped = false;        ///< should_stop returned true; the model is usable
  bool non_finite = false;     ///< a batch loss was NaN/inf; that batch was not applied
  Index bad_batch = -1;        ///< index of that batch within the epoch
};

/// Trains `net` for one epoch on X (n × n_inputs) and targets, gathering each mini-batch
/// (shuffled by seed and epoch) into the workspace, then forward, backward and update.
/// Validates all inputs once up front (throws std::invalid_argument). `should_stop` is called
/// between batches at most every check_interval seconds; when it returns true the epoch ends
/// after the current batch. Allocates nothing after the first epoch at a given batch size.
template <class S>
EpochResult train_epoch(BasicMlp<S>& net, Optimizer<S>& opt, const MatrixCRef<S>& X,
                        const TargetView<S>& targets, const S* weights, Loss loss,
                        const EpochOptions& options, Workspace<S>& ws,
                        std::vector<Index>& order,
                        const std::function<bool()>& should_stop = {});

}  // namespace mlpcore
