// SPDX-License-Identifier: MIT
/// The multi-layer perceptron: flat parameters, forward, backward, one training step.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "activation.hpp"
#include "loss.hpp"
#include "optimizer.hpp"
#include "spec.hpp"
#include "types.hpp"

namespace mlpcore {

/// Where each layer's W (dense_out × in, row-major, torch.nn.Linear's layout) and b (dense_out)
/// sit in the flat buffer. Invariant: offsets increase, layer after layer, W before b, and the
/// last bias ends at n_params().
struct ParamLayout {
  std::vector<Index> weight_offset, bias_offset, rows, cols;
  Index n_params = 0;
  explicit ParamLayout(const MlpSpec& spec = MlpSpec{});
};

/// Per-call buffers sized for a batch of up to `capacity()` rows: the scaled input, each
/// layer's activations, maxout pre-activations and winners, the deltas dL_dZ, and the
/// training loop's gather buffers. Grows only when a larger batch arrives; a short batch uses
/// the top rows. One workspace per thread: a model is shared, a workspace is not.
template <class S>
class Workspace {
 public:
  /// Sizes every buffer for `rows` rows of `spec`'s network. No-op if already big enough.
  void reserve(const MlpSpec& spec, Index rows);
  /// Also sizes the dropout buffers (row_keys, mask, kept) for the layers of `spec` that drop,
  /// to the current capacity; training calls it after reserve(), inference never does.
  void reserve_dropout(const MlpSpec& spec);
  Index capacity() const { return m_capacity; }

  // Storage, each a flat row-major block of capacity × width.
  Vector<S> input;                                  ///< scaled input (when the model scales)
  std::vector<Vector<S>> act;                       ///< layer outputs A_l (n × units)
  std::vector<Vector<S>> pre;                       ///< maxout pre-activations (n × units·k)
  std::vector<std::vector<std::int32_t>> winner;    ///< maxout argmax (n × units)
  std::vector<Vector<S>> delta;                     ///< dL_dZ_l (n × dense_out)
  Vector<S> scratch;                                ///< dL_dA for maxout layers
  Vector<S> transposed;                             ///< a transposed weight (small-layer kernels)
  std::vector<Vector<S>> mask;                      ///< dropout multipliers M_l, 0 or 1/(1−p) (n × units)
  std::vector<Vector<S>> kept;                      ///< A_l ⊙ M_l, the next layer's input in training
  std::vector<std::uint64_t> row_keys;              ///< each input row's content hash (n), for the masks
  // Gather buffers for the training loop.
  Vector<S> batch_x, batch_t, batch_w;
  std::vector<std::int32_t> batch_y;

 private:
  Index m_capacity = 0;
  std::vector<Index> m_widths;  // the layer widths the buffers were sized for
};

/// Input standardisation and class labels stored with a model (used by predictions on raw
/// inputs and by the Python layer). Empty vectors mean "none".
struct ModelMeta {
  std::vector<double> input_mean;     ///< n_inputs values or empty
  std::vector<double> input_scale;    ///< n_inputs positive values or empty
  std::vector<std::string> classes;   ///< class labels as text, or empty
  std::string classes_kind;           ///< "int" or "str" (how Python restores them), or ""
  std::map<std::string, std::string> extra;  ///< free-form string metadata
  /// Checks sizes against the spec and values for finiteness; throws std::invalid_argument.
  void validate(const MlpSpec& spec) const;
};

/// A multi-layer perceptron in scalar type S (float or double).
/// Layer l computes Z_l = A_{l-1}·W_lᵀ + b_l and A_l = f_l(Z_l); the last layer emits logits.
/// Inference is const and uses a caller's Workspace, so threads may predict concurrently on one
/// model with one workspace each. Training mutates the model and is single-threaded per model.
template <class S>
class BasicMlp {
 public:
  /// Zero parameters. Throws std::invalid_argument if spec is invalid.
  explicit BasicMlp(const MlpSpec& spec);
  /// Parameters drawn by `init` from Rng(seed); `scale` is the std of Init::Random.
  BasicMlp(const MlpSpec& spec, Init init, std::uint64_t seed, double scale = 0.01);

  const MlpSpec& spec() const { return m_spec; }
  const ParamLayout& layout() const { return m_layout; }
  Index n_params() const { return m_layout.n_params; }

  /// Flat parameters and gradients (same layout). Live views: stable until the model dies.
  Vector<S>& params() { return m_params; }
  const Vector<S>& params() const { return m_params; }
  Vector<S>& grads() { return m_grads; }
  const Vector<S>& grads() const { return m_grads; }
  /// Layer l's weight (dense_out × in) and bias (dense_out), views into params().
  MatrixMap<S> weight(Index l);
  MatrixCMap<S> weight(Index l) const;
  VectorMap<S> bias(Index l);
  VectorCMap<S> bias(Index l) const;

  /// Re-draws all weights (biases zero). Throws for scale ≤ 0 with Init::Random.
  void initialize(Init init, std::uint64_t seed, double scale = 0.01);

  /// Dropout (spec().dropout) acts in training only: train_step, train_epoch(_sharded), and
  /// loss_and_grad / forward when given a dropout step. Unit j of hidden layer l for input row
  /// x is kept with probability 1 − p_l, decided by a hash of (dropout seed, step, l, key(x), j)
  /// where key(x) hashes the row's n_inputs values (as float64 bit patterns, −0 as +0). A mask
  /// depends on nothing else: not on the row's position, the other rows of the batch, the thread
  /// count or the split of a batch across processes. So two equal input rows in one step share
  /// a mask (they are the same sample), and a row of sample weight 2 trains exactly like the row
  /// given twice. Kept units are scaled by 1/(1 − p_l) (inverted dropout), so inference uses the
  /// weights as they are.
  /// The step counter advances by one with every applied optimizer step. The seeded constructor
  /// sets the seed to its `seed` (initialize() leaves it); a loaded model starts at seed 0,
  /// step 0. Neither is saved in model files. p = 0 everywhere costs nothing: no mask is drawn.
  std::uint64_t dropout_seed() const { return m_dropout_seed; }
  void set_dropout_seed(std::uint64_t seed) { m_dropout_seed = seed; }
  std::uint64_t dropout_step() const { return m_dropout_step; }
  void set_dropout_step(std::uint64_t step) { m_dropout_step = step; }
  /// The multipliers (0 or 1/(1 − p)) that training step `step` applies to hidden layer
  /// `layer`'s outputs for the input rows X (n × n_inputs, as given to training: before the
  /// model's input scaling) into out (n × units of that layer). All ones when the layer does not
  /// drop. Throws std::invalid_argument for a layer out of range, X with other than n_inputs
  /// columns, or out of another shape.
  void dropout_mask(Index layer, std::uint64_t step, const MatrixCRef<S>& X, MatrixRef<S> out) const;

  ModelMeta& meta() { return m_meta; }
  const ModelMeta& meta() const { return m_meta; }
  /// Sets (or, with empty vectors, clears) the input standardisation x' = (x − mean) / scale,
  /// applied by forward, train_step and train_epoch. Throws on wrong size or non-positive scale.
  void set_input_scaling(const std::vector<double>& mean, const std::vector<double>& scale);
  bool scales_input() const { return m_mean.size() != 0; }

  /// Precision of the matrix products (not saved in model files). Bf16 rounds the operands of
  /// every product to bfloat16 and accumulates in float32 on AMX or AVX512-BF16; weights,
  /// gradients, optimizer state, loss and softmax stay float32. Throws std::invalid_argument for
  /// Bf16 on a float64 model or where bf16_engine() is None (the message names what is missing).
  void set_precision(Precision p);
  Precision precision() const { return m_precision; }

  /// L2 penalty on the weights, not the biases (scikit-learn's `alpha`). With alpha > 0 the
  /// training objective of loss(), loss_and_grad(), train_step() and train_epoch() becomes
  ///   data loss + alpha / (2·Σw) · Σ_l ‖W_l‖²
  /// where Σw is the batch's sum of sample weights (its row count without weights), and each
  /// weight gradient gains alpha / Σw · W_l. evaluate() reports the data loss alone. The
  /// setting belongs to this object: it is not written to model files. Throws
  /// std::invalid_argument for a negative or non-finite alpha.
  void set_weight_penalty(double alpha);
  double weight_penalty() const { return m_penalty; }
  /// The penalty's value alpha / (2·weight_sum) · Σ_l ‖W_l‖² at the current weights, for a batch
  /// whose sample weights sum to weight_sum (> 0); 0 when the penalty is off.
  double penalty_for(double weight_sum) const;

  /// Logits for X (n × n_inputs) written to the workspace; returns a view of them
  /// (n × n_outputs) valid until the workspace is used again. Throws on a wrong column count,
  /// n = 0, or non-finite X. The building block of the losses: the logits are returned as
  /// computed, NaN or infinite where finite inputs overflowed the network; outputs() checks.
  MatrixMap<S> forward(const MatrixCRef<S>& X, Workspace<S>& ws) const;
  /// forward() as training step `dropout_step` sees it: hidden outputs multiplied by that
  /// step's dropout masks for X's rows. Equals forward() when the model has no dropout.
  MatrixMap<S> forward(const MatrixCRef<S>& X, Workspace<S>& ws, std::uint64_t dropout_step) const;
  /// Logits (or, with probabilities = true, the output kind's probabilities) into out (n × C).
  /// Throws like forward(), and std::invalid_argument when the logits of some rows are NaN or
  /// infinite (finite inputs too large for the network, e.g. 1e38 in float32): the message names
  /// the first rows and their count. out is left unchanged then. (Class labels: Predictor.)
  void outputs(const MatrixCRef<S>& X, Workspace<S>& ws, MatrixRef<S> out, bool probabilities) const;
  /// The old name of outputs(): it never returned labels, as "predict" does in Python.
  [[deprecated("use outputs(); class labels come from Predictor::labels")]] void predict(
      const MatrixCRef<S>& X, Workspace<S>& ws, MatrixRef<S> out, bool probabilities) const {
    outputs(X, ws, out, probabilities);
  }

  /// Loss of the current parameters on a batch and its gradient into grads().
  /// Validates X and the targets. Uses ws as the forward pass left it. With a dropout step the
  /// loss and gradient are training's, with that step's dropout masks (a fixed mask: the same
  /// step gives the same function of the parameters); without one, no unit is dropped.
  double loss_and_grad(const MatrixCRef<S>& X, const TargetView<S>& t, const S* weights,
                       Loss loss, Workspace<S>& ws, std::optional<std::uint64_t> dropout_step = std::nullopt);
  /// Loss only (no gradient), validated like loss_and_grad.
  double loss(const MatrixCRef<S>& X, const TargetView<S>& t, const S* weights, Loss loss,
              Workspace<S>& ws) const;
  /// Loss and accuracy counts on a data set in one forward pass per chunk of `chunk` rows
  /// (bounding the workspace), validated like loss().
  Evaluation evaluate(const MatrixCRef<S>& X, const TargetView<S>& t, const S* weights, Loss loss,
                      Workspace<S>& ws, Index chunk = 4096) const;
  /// One step: forward, loss, backward, optimizer update. Allocates nothing once ws has seen
  /// this batch size and the optimizer has taken its first step. Returns the batch loss (before
  /// the update). If the loss is not finite the parameters are left unchanged and a
  /// std::domain_error is thrown.
  double train_step(const MatrixCRef<S>& X, const TargetView<S>& t, const S* weights, Loss loss,
                    Optimizer<S>& opt, Workspace<S>& ws);

  /// The body of train_step and loss_and_grad, for the training loop (inputs already validated,
  /// X packed: n contiguous rows): forward, loss, backward, and with an optimizer its step.
  /// With opt, a non-finite loss returns at once and leaves the parameters unchanged.
  /// Training mode: with opt the masks of dropout_step() (which then advances), without opt
  /// those of `dropout_step` if given, else none.
  double step_unchecked(const S* X, Index n, const TargetView<S>& t, const S* weights, Loss loss,
                        Optimizer<S>* opt, Workspace<S>& ws,
                        std::optional<std::uint64_t> dropout_step = std::nullopt);

  /// Data-parallel pieces of a step (see train_epoch_sharded; inputs already validated).
  /// grad_sums: forward and backward on n ≥ 1 rows, leaving in grads() the gradient of the
  /// *summed* loss Σ_i w_i ℓ_i (no division, no weight penalty) and returning that sum.
  /// layer_ready(l) is called as soon as layer l's slice of grads() is final, last layer first.
  /// The backward pass runs even when the sum is not finite, so every process makes the same
  /// calls. Dropout uses the masks of dropout_step() for these rows, so any split of the global
  /// batch draws the masks of the whole.
  double grad_sums(const S* X, Index n, const TargetView<S>& t, const S* weights, Loss loss,
                   Workspace<S>& ws, const std::function<void(Index)>& layer_ready);
  /// apply_sums: given in grads() the gradient sums over a whole batch whose sample weights sum
  /// to weight_sum > 0, adds the weight penalty's gradient once, divides by weight_sum and takes
  /// the optimizer step (and advances dropout_step()). Returns the penalty's value (before the
  /// update).
  double apply_sums(double weight_sum, Optimizer<S>& opt);

 private:
  /// Training passes carry the dropout step and each input row's content key (n values).
  struct DropoutPass {
    std::uint64_t step;
    const std::uint64_t* row_keys;
  };
  void forward_rows(const S* X, Index n, Workspace<S>& ws, const DropoutPass* drop = nullptr) const;
  void backward_rows(const S* X, Index n, Workspace<S>& ws,
                     const std::function<void(Index)>& layer_ready = {}, bool dropped = false);
  /// The dropout pass of a training step at `step` on the n rows of X, or null when the model
  /// drops nothing (then training runs exactly the inference forward pass). Sizes ws's dropout
  /// buffers and fills ws.row_keys with X's row keys, once for every layer.
  const DropoutPass* dropout_pass(DropoutPass& storage, std::uint64_t step, const S* X, Index n,
                                  Workspace<S>& ws) const;
  const S* scaled_input(const S* X, Index n, Workspace<S>& ws) const;
  void check_input(const MatrixCRef<S>& X, const char* what) const;
  /// check_input, ws sized for X's rows, and X's rows contiguous (X itself or a packed copy).
  const S* packed_batch(const MatrixCRef<S>& X, Workspace<S>& ws) const;
  /// The weight penalty's value for a batch of n rows (weights may be null); 0 when it is off.
  double penalty_value(Index n, const S* weights) const;
  /// grads() += c·W.
  void add_penalty_grad(S c);
  /// The same value, also adding the penalty's gradient to grads().
  double penalty_with_grad(Index n, const S* weights);

  MlpSpec m_spec;
  ParamLayout m_layout;
  Vector<S> m_params, m_grads;
  Vector<S> m_mean, m_inv_scale;  // cached in S for the hot path
  ModelMeta m_meta;
  double m_penalty = 0.0;
  std::uint64_t m_dropout_seed = 0, m_dropout_step = 0;
  Precision m_precision = Precision::Float32;
};

using Mlp = BasicMlp<float>;
using Mlp64 = BasicMlp<double>;

}  // namespace mlpcore
