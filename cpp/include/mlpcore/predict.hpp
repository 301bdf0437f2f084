// SPDX-License-Identifier: MIT
/// Predictions for programs that embed a trained model: logits, probabilities and labels for a
/// batch (an Eigen matrix, or a pointer and a shape) or for one sample without allocating, plus
/// a readable summary of a model and its class names.
///
/// Threads: a BasicMlp is never modified by prediction, so any number of threads may predict
/// with one loaded model at the same time, each through its own Predictor (a Predictor owns the
/// scratch buffers of its calls and is not itself thread-safe). Do not train or otherwise
/// modify a model while predictors use it.
#pragma once
#include <cstdint>
#include <string>

#include "mlp.hpp"

namespace mlpcore {

/// Rows per internal chunk of a batch prediction: a Predictor's buffers never grow past this
/// many rows, whatever the batch size.
constexpr Index kPredictChunk = 1024;

/// True when the model's predictions are one class per sample: softmax outputs (the class of
/// the largest logit), or a single sigmoid output (class 1 when its logit is > 0, i.e. p > 0.5).
bool predicts_labels(const MlpSpec& spec);

/// A multi-line, human-readable summary: scalar type, layer sizes, activations and their
/// parameters, output kind, parameter count, class names, input scaling, free-form metadata.
template <class S>
std::string describe(const BasicMlp<S>& net);

/// Text of class `index`: meta().classes[index] when the model stores class names, else the
/// index in decimal. Throws std::invalid_argument when index is outside [0, number of classes)
/// (n_outputs, or 2 for a single sigmoid output).
template <class S>
std::string class_name(const BasicMlp<S>& net, Index index);

/// Predictions from one model, with its own scratch buffers (a Workspace). Construct one per
/// thread; all of them may share the model. The model must outlive the predictor.
///
/// Inputs are raw features: the model applies its stored input scaling itself. Every input row
/// is checked (column count, finiteness) and a bad one throws std::invalid_argument naming the
/// problem and both shapes. Every output row is checked too: when finite inputs overflow the
/// network (1e38 in float32, say) and some logits come out NaN or infinite, every call throws
/// std::invalid_argument naming the first such rows and their count, and says to scale the
/// inputs; the output buffer's contents are then unspecified. Results equal BasicMlp::outputs's (and so Python's `MLP.forward`,
/// `predict_proba` and `predict`) up to float rounding: batches run in chunks of kPredictChunk
/// rows.
template <class S>
class Predictor {
 public:
  /// Binds to `net` and sizes the buffers for batches of up to `max_rows` rows (clamped to
  /// [1, kPredictChunk]), so that later calls allocate nothing. Throws for max_rows < 1.
  explicit Predictor(const BasicMlp<S>& net, Index max_rows = 1);

  const BasicMlp<S>& model() const { return *m_net; }
  Index n_inputs() const { return m_net->spec().n_inputs(); }
  Index n_outputs() const { return m_net->spec().n_outputs(); }

  // -- batches: X is rows × cols, row-major, contiguous; cols must equal n_inputs() ----------
  /// Logits into out (rows × n_outputs, row-major). out must not overlap X.
  void logits(const S* X, Index rows, Index cols, S* out);
  /// Probabilities into out (rows × n_outputs): softmax rows, or independent sigmoids.
  /// Throws std::invalid_argument for an identity (regression) output.
  void probabilities(const S* X, Index rows, Index cols, S* out);
  /// One class index per row into out (rows values), as predicts_labels describes. Throws
  /// std::invalid_argument when the model does not predict labels (identity output, or several
  /// sigmoid outputs: see decisions).
  void labels(const S* X, Index rows, Index cols, std::int32_t* out);
  /// Sigmoid outputs: 1 where a logit is > 0 (p > 0.5), else 0, into out (rows × n_outputs).
  /// Throws std::invalid_argument for other output kinds.
  void decisions(const S* X, Index rows, Index cols, std::int32_t* out);

  /// The same, for a matrix X (n × n_inputs); the result is allocated.
  RowMatrix<S> logits(const MatrixCRef<S>& X);
  RowMatrix<S> probabilities(const MatrixCRef<S>& X);
  LabelVector labels(const MatrixCRef<S>& X);

  // -- one sample: x holds n_inputs() values; nothing is allocated ----------------------------
  /// Logits of one sample into out (n_outputs values).
  void logits_one(const S* x, S* out);
  /// Probabilities of one sample into out (n_outputs values); throws like probabilities().
  void probabilities_one(const S* x, S* out);
  /// Class index of one sample; throws like labels().
  std::int32_t label_one(const S* x);

 private:
  /// Runs the forward pass over rows [0, rows) of X in chunks of kPredictChunk rows and hands
  /// each chunk's logits to use(z, first_row) (z is a view into the workspace) while all outputs
  /// are finite; throws std::invalid_argument naming the rows whose outputs are not.
  template <class Use>
  void each_chunk(const S* X, Index rows, Index cols, const Use& use);
  void require_labels() const;
  void require_probabilities() const;

  const BasicMlp<S>* m_net;
  Workspace<S> m_ws;
};

}  // namespace mlpcore
