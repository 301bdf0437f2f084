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

/// Checks an epoch's inputs as train_epoch does before its first batch (columns, batch size,
/// NaN/inf in X when options.check_finite, targets and weights); throws std::invalid_argument.
/// Data-parallel callers run it first and agree on the outcome, so no process leaves a
/// collective call that the others enter.
template <class S>
void validate_epoch(const BasicMlp<S>& net, const MatrixCRef<S>& X, const TargetView<S>& targets,
                    const S* weights, Loss loss, const EpochOptions& options);

/// Sums a data-parallel step adds up across processes, as doubles in one small array.
enum StepTotal : Index {
  kLossSum = 0,    ///< Σ_i w_i ℓ_i over the part (NaN/inf if the part's loss is not finite)
  kWeightSum,      ///< Σ_i w_i (the row count without sample weights)
  kCorrect,        ///< correct predictions before the update (see count_correct)
  kCounted,        ///< their denominator
  kStopVotes,      ///< parts whose should_stop has returned true so far in the epoch
  kStepTotals      ///< the array's length
};

/// The reduction of a data-parallel step, supplied by the caller (the Python layer implements
/// it with MPI; the core knows no communication library). Every process calls the same methods
/// in the same order with the same sizes, whatever its data, so collective operations match.
template <class S>
class StepReducer {
 public:
  virtual ~StepReducer() = default;
  /// Layer `layer`'s gradient sums, grads()[offset, offset + size), are final for this step:
  /// called during backward, last layer first, so a reducer may start sending them while the
  /// earlier layers are still being computed. The slice must not be written until reduce().
  virtual void layer_ready(Index layer, Index offset, Index size) {
    (void)layer, (void)offset, (void)size;
  }
  /// Replaces the local sums by the sums over all processes, in place: grads (n values, the
  /// whole flat gradient) and totals (kStepTotals values, see StepTotal). Every process must
  /// receive the same result.
  virtual void reduce(S* grads, Index n, double* totals) = 0;
};

/// One epoch of data-parallel training. batch_size is the *global* batch: every process draws
/// the same (seed, epoch) order and takes part `rank` of `parts` of each global batch of `rows`
/// rows, rows [rows·rank/parts, rows·(rank+1)/parts) (possibly none). Each step computes the
/// part's gradient and loss sums (BasicMlp::grad_sums), has `reducer` add them up over all
/// parts, then every process takes the same decisions from the same totals: stop with
/// non_finite if the summed loss is not finite (no update), skip the update if the global Σw is
/// 0, else BasicMlp::apply_sums; and end the epoch after the step if any part voted to stop
/// (`should_stop`, polled every check_interval seconds). With reducer == nullptr all `parts`
/// parts run here, one after the other, and are added in part order, elementwise: the
/// single-process reference that a reducer adding parts in rank order reproduces bit for bit
/// (same dtype, engine and thread count). Inputs are validated as by validate_epoch.
template <class S>
EpochResult train_epoch_sharded(BasicMlp<S>& net, Optimizer<S>& opt, const MatrixCRef<S>& X,
                                const TargetView<S>& targets, const S* weights, Loss loss,
                                const EpochOptions& options, Index rank, Index parts,
                                StepReducer<S>* reducer, Workspace<S>& ws, std::vector<Index>& order,
                                const std::function<bool()>& should_stop = {});

}  // namespace mlpcore
