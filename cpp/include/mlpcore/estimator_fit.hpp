// SPDX-License-Identifier: MIT
/// A whole stochastic `fit` of scikit-learn's MLP estimators in one call: the epochs, the
/// stopping rules (tol / n_iter_no_change on the training loss or on a validation score), the
/// learning-rate schedules, early stopping with the best-weights restore, and the bookkeeping
/// (loss curve, validation scores, t, n_iter), following scikit-learn's
/// `BaseMultilayerPerceptron._fit_stochastic` step by step.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "mlp.hpp"

namespace mlpcore {

/// NumPy's legacy MT19937 (numpy.random.RandomState): same state, same draws. With it the epoch
/// orders are the ones scikit-learn's `shuffle(sample_idx, random_state=...)` draws.
/// Invariant: 0 <= pos <= 624.
struct NumpyMt19937 {
  std::array<std::uint32_t, 624> key{};
  int pos = 624;
  /// The next 32-bit output (tempered), refilling the state every 624 draws.
  std::uint32_t next32();
  /// A uniform integer in [0, max]: NumPy's masked rejection sampling (`random_interval`).
  std::uint64_t interval(std::uint64_t max);
  /// Shuffles v in place as RandomState.shuffle does a 1-D array (Fisher-Yates from the end).
  void shuffle(std::vector<Index>& v);
};

/// scikit-learn's `learning_rate` schedules (SGD only).
enum class LrSchedule { Constant, InvScaling, Adaptive };

/// The validation score of early stopping: accuracy (classifiers) or R² (regressors).
enum class ValidationScore { Accuracy, R2 };

/// The rules of one fit call.
struct EstimatorFitOptions {
  Index batch_size = 200;       ///< already clipped to [1, n]
  bool shuffle = true;          ///< shuffle the row order before every epoch (NumpyMt19937)
  Index max_iter = 200;         ///< epochs this call may run (1 for partial_fit)
  double tol = 1e-4;
  double n_iter_no_change = 10; ///< may be +infinity (never stop on it)
  bool sgd = false;             ///< SGD's schedules and adaptive stopping apply (else Adam's rules)
  LrSchedule schedule = LrSchedule::Constant;
  double lr_init = 1e-3;        ///< scikit-learn's learning_rate_init
  double power_t = 0.5;
  /// k: the engine's gradient is k times the reported objective's, so the optimizer runs at
  /// rate lr / k (SGD) and a reported loss is engine / k.
  double grad_factor = 1;
  /// The engine's data loss is data_factor times the reported data loss (differs from
  /// grad_factor only for squared error with several outputs, where it is 2).
  double data_factor = 1;
  double loss_offset = 0;       ///< added to every reported loss (Poisson: the terms in y alone)
  bool early_stopping = false;
  ValidationScore score = ValidationScore::Accuracy;
  double check_interval = 0.005;  ///< seconds between calls of should_stop
};

/// State carried from call to call (warm_start, partial_fit); read and updated by fit_estimator.
struct EstimatorFitState {
  std::int64_t n_iter = 0;      ///< epochs of this call (reset to 0 at the start of each call)
  std::int64_t t = 0;           ///< samples seen, over all calls
  double lr = 1e-3;             ///< scikit-learn's current learning rate (SGD schedules)
  double best_loss = std::numeric_limits<double>::infinity();
  double best_validation_score = -std::numeric_limits<double>::infinity();
  std::int64_t no_improvement_count = 0;
  double loss = std::numeric_limits<double>::quiet_NaN();  ///< the last epoch's reported loss
  std::vector<double> loss_curve;          ///< this call's epochs (the caller appends them)
  std::vector<double> validation_scores;   ///< this call's scores (early stopping only)
};

/// How a fit call ended.
struct EstimatorFitResult {
  bool converged = false;    ///< a stopping rule ended it
  bool interrupted = false;  ///< should_stop returned true (Ctrl-C); the model is usable
  bool diverged = false;     ///< a batch loss was not finite
};

/// The validation split (early stopping): X (rows × n_inputs, contiguous), and either class
/// indices (softmax outputs), or targets rows × n_outputs (0/1 for logistic outputs, values for
/// R²), sample weights or null.
template <class S>
struct ValidationSet {
  const S* X = nullptr;
  Index rows = 0;
  const std::int32_t* labels = nullptr;
  const double* y = nullptr;
  const double* weights = nullptr;
};

/// The validation score of `net` on `val` as scikit-learn computes it: accuracy (the argmax
/// class for softmax outputs, every output's probability > 0.5 matching the 0/1 target for
/// logistic ones) or R² averaged over outputs (a constant target scores 1 if predicted exactly,
/// else 0), weighted by the sample weights. NaN when the network's outputs are not finite.
template <class S>
double validation_score(const BasicMlp<S>& net, const ValidationSet<S>& val, ValidationScore kind,
                        Workspace<S>& ws);

/// Runs up to options.max_iter epochs of mini-batch training on X (n × n_inputs) and targets,
/// as scikit-learn's estimators do (see the file comment). Each epoch shuffles `order` (a row
/// permutation carried over epochs, the identity at the start of the call) with `rng`, then
/// steps through the batches. After each epoch: the reported loss, the stopping counters,
/// the schedule (the optimizer's rate is state.lr / grad_factor; an SGD momentum buffer is
/// rescaled by old / new rate so its updates stay scikit-learn's velocity updates), and the
/// verbose lines through `log` (may be empty). With early stopping `val` is scored every
/// epoch and the best parameters are kept in best_params (n_params values) and put back at
/// the end. A non-finite batch loss ends the call without early stopping (diverged); with it,
/// the remaining epochs are recorded as scikit-learn records them after divergence (loss and
/// score NaN, which never count as no improvement), and the best parameters are put back.
/// should_stop is polled between batches every check_interval seconds. Inputs are validated
/// as by validate_epoch (X's finiteness is the caller's); throws std::invalid_argument.
template <class S>
EstimatorFitResult fit_estimator(BasicMlp<S>& net, Optimizer<S>& opt, const MatrixCRef<S>& X,
                                 const TargetView<S>& targets, const S* weights, Loss loss,
                                 const EstimatorFitOptions& options, const ValidationSet<S>* val,
                                 NumpyMt19937& rng, VectorMap<S> best_params, EstimatorFitState& state,
                                 const std::function<void(const std::string&)>& log = {},
                                 const std::function<bool()>& should_stop = {});

}  // namespace mlpcore
