// SPDX-License-Identifier: MIT
// Predictions for embedding programs, on top of BasicMlp::forward. Batches run in chunks of
// kPredictChunk rows so that a Predictor's workspace stays small whatever the batch size; the
// single-sample calls reuse a one-row slice of the same workspace and so never allocate.
#include "mlpcore/predict.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "finite.hpp"

namespace mlpcore {
namespace {

// Same messages as BasicMlp's own checks, but with row numbers of the whole batch (the chunks
// would otherwise report rows relative to themselves).
template <class S>
void check_batch(const S* X, Index rows, Index cols, Index n_inputs, const void* out) {
  if (rows < 1) throw std::invalid_argument("X is empty (" + std::to_string(rows) + " rows)");
  if (cols != n_inputs)
    throw std::invalid_argument("X has " + std::to_string(cols) + " columns, model expects " +
                                std::to_string(n_inputs));
  if (!X) throw std::invalid_argument("X is a null pointer");
  if (!out) throw std::invalid_argument("the output is a null pointer");
  const Index bad = detail::first_non_finite_row<S>(X, rows, cols, cols);
  if (bad >= 0) throw std::invalid_argument("X contains NaN or infinity at row " + std::to_string(bad));
}

template <class S>
std::int32_t label_of(Output output, const S* z, Index n_outputs) {
  if (output == Output::Sigmoid) return z[0] > S(0) ? 1 : 0;
  // The first of equal maxima, as numpy.argmax.
  Index best = 0;
  for (Index j = 1; j < n_outputs; ++j)
    if (z[j] > z[best]) best = j;
  return static_cast<std::int32_t>(best);
}

std::string join_doubles(const std::vector<double>& v) {
  std::string s;
  char buf[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.6g", i ? ", " : "", v[i]);
    s += buf;
  }
  return s;
}

}  // namespace

bool predicts_labels(const MlpSpec& spec) {
  return spec.output == Output::Softmax || (spec.output == Output::Sigmoid && spec.n_outputs() == 1);
}

template <class S>
std::string describe(const BasicMlp<S>& net) {
  const MlpSpec& spec = net.spec();
  const ModelMeta& meta = net.meta();
  std::ostringstream o;
  o << "mlpcore model, " << (sizeof(S) == 4 ? "float32" : "float64") << ", " << net.n_params() << " parameters\n";
  o << "  sizes:         ";
  for (std::size_t i = 0; i < spec.sizes.size(); ++i) o << (i ? "-" : "") << spec.sizes[i];
  o << "\n  activations:   ";
  if (spec.activations.empty()) o << "(no hidden layer)";
  bool leaky = false, elu = false, maxout = false;
  for (std::size_t i = 0; i < spec.activations.size(); ++i) {
    o << (i ? ", " : "") << to_string(spec.activations[i]);
    leaky = leaky || spec.activations[i] == Activation::LeakyRelu;
    elu = elu || spec.activations[i] == Activation::Elu;
    maxout = maxout || spec.activations[i] == Activation::Maxout;
  }
  if (leaky) o << "; leaky_relu slope " << spec.leaky_relu_slope;
  if (elu) o << "; elu alpha " << spec.elu_alpha;
  if (maxout) o << "; maxout pieces " << spec.maxout_pieces;
  o << "\n  output:        " << to_string(spec.output) << " (trained with " << to_string(default_loss(spec.output))
    << ")\n  classes:       ";
  if (meta.classes.empty()) {
    o << "none stored (labels are output indices)";
  } else {
    for (std::size_t i = 0; i < meta.classes.size(); ++i) o << (i ? ", " : "") << meta.classes[i];
    o << " (" << meta.classes_kind << ")";
  }
  o << "\n  input scaling: ";
  if (meta.input_mean.empty()) {
    o << "none";
  } else if (meta.input_mean.size() <= 8) {
    o << "x' = (x - mean) / scale, mean [" << join_doubles(meta.input_mean) << "], scale ["
      << join_doubles(meta.input_scale) << "]";
  } else {
    o << "x' = (x - mean) / scale over " << meta.input_mean.size() << " inputs";
  }
  for (const auto& kv : meta.extra) o << "\n  " << kv.first << ": " << kv.second;
  o << "\n";
  return o.str();
}

template <class S>
std::string class_name(const BasicMlp<S>& net, Index index) {
  const MlpSpec& spec = net.spec();
  const Index count = spec.output == Output::Sigmoid && spec.n_outputs() == 1 ? 2 : spec.n_outputs();
  if (index < 0 || index >= count)
    throw std::invalid_argument("class index " + std::to_string(index) + " is outside [0, " +
                                std::to_string(count) + ")");
  const auto& classes = net.meta().classes;
  return classes.empty() ? std::to_string(index) : classes[static_cast<std::size_t>(index)];
}

template <class S>
Predictor<S>::Predictor(const BasicMlp<S>& net, Index max_rows) : m_net(&net) {
  if (max_rows < 1) throw std::invalid_argument("max_rows must be >= 1, got " + std::to_string(max_rows));
  m_ws.reserve(net.spec(), std::min(max_rows, kPredictChunk));
}

template <class S>
template <class Use>
void Predictor<S>::each_chunk(const S* X, Index rows, Index cols, const Use& use) {
  const Index C = n_outputs();
  detail::NonFiniteRows bad;
  for (Index r0 = 0; r0 < rows; r0 += kPredictChunk) {
    const Index n = std::min(kPredictChunk, rows - r0);
    const MatrixMap<S> z = m_net->forward(MatrixCMap<S>(X + r0 * cols, n, cols), m_ws);
    // After a bad row, the remaining chunks are only scanned, so the error counts them all.
    bad.scan<S>(z.data(), n, C, C, r0);
    if (bad.count == 0) use(z, r0);
  }
  bad.throw_if_any<S>(rows, m_net->params());
}

template <class S>
void Predictor<S>::require_labels() const {
  const MlpSpec& spec = m_net->spec();
  if (predicts_labels(spec)) return;
  if (spec.output == Output::Sigmoid)
    throw std::invalid_argument("labels need one class per sample, but this model has " +
                                std::to_string(spec.n_outputs()) +
                                " independent sigmoid outputs; use decisions() or probabilities()");
  throw std::invalid_argument("labels need output 'softmax' or 'sigmoid'; this model's output is '" +
                              std::string(to_string(spec.output)) + "' (a regression: use logits())");
}

template <class S>
void Predictor<S>::require_probabilities() const {
  const Output o = m_net->spec().output;
  if (o == Output::Identity || o == Output::Exp)
    throw std::invalid_argument(std::string("probabilities need output 'softmax' or 'sigmoid'; this model's output is '") +
                                to_string(o) + "' (a regression: use logits())");
}

template <class S>
void Predictor<S>::logits(const S* X, Index rows, Index cols, S* out) {
  check_batch(X, rows, cols, n_inputs(), out);
  const Index C = n_outputs();
  each_chunk(X, rows, cols, [&](const MatrixMap<S>& z, Index r0) { MatrixMap<S>(out + r0 * C, z.rows(), C) = z; });
}

template <class S>
void Predictor<S>::probabilities(const S* X, Index rows, Index cols, S* out) {
  require_probabilities();
  logits(X, rows, cols, out);
  output_transform<S>(m_net->spec().output, MatrixMap<S>(out, rows, n_outputs()));
}

template <class S>
void Predictor<S>::labels(const S* X, Index rows, Index cols, std::int32_t* out) {
  require_labels();
  check_batch(X, rows, cols, n_inputs(), out);
  const Index C = n_outputs();
  const Output output = m_net->spec().output;
  each_chunk(X, rows, cols, [&](const MatrixMap<S>& z, Index r0) {
    for (Index r = 0; r < z.rows(); ++r) out[r0 + r] = label_of(output, z.data() + r * C, C);
  });
}

template <class S>
void Predictor<S>::decisions(const S* X, Index rows, Index cols, std::int32_t* out) {
  if (m_net->spec().output != Output::Sigmoid)
    throw std::invalid_argument("decisions need output 'sigmoid'; this model's output is '" +
                                std::string(to_string(m_net->spec().output)) + "'");
  check_batch(X, rows, cols, n_inputs(), out);
  const Index C = n_outputs();
  each_chunk(X, rows, cols, [&](const MatrixMap<S>& z, Index r0) {
    for (Index i = 0; i < z.size(); ++i) out[r0 * C + i] = z.data()[i] > S(0) ? 1 : 0;
  });
}

template <class S>
RowMatrix<S> Predictor<S>::logits(const MatrixCRef<S>& X) {
  RowMatrix<S> out(X.rows(), n_outputs());
  if (X.outerStride() == X.cols()) {
    logits(X.data(), X.rows(), X.cols(), out.data());
  } else {
    const RowMatrix<S> packed = X;  // rows padded in memory: pack once
    logits(packed.data(), packed.rows(), packed.cols(), out.data());
  }
  return out;
}

template <class S>
RowMatrix<S> Predictor<S>::probabilities(const MatrixCRef<S>& X) {
  require_probabilities();
  RowMatrix<S> out = logits(X);
  output_transform<S>(m_net->spec().output, out);
  return out;
}

template <class S>
LabelVector Predictor<S>::labels(const MatrixCRef<S>& X) {
  require_labels();
  LabelVector out(X.rows());
  if (X.outerStride() == X.cols()) {
    labels(X.data(), X.rows(), X.cols(), out.data());
  } else {
    const RowMatrix<S> packed = X;
    labels(packed.data(), packed.rows(), packed.cols(), out.data());
  }
  return out;
}

template <class S>
void Predictor<S>::logits_one(const S* x, S* out) {
  if (!x || !out) throw std::invalid_argument("logits_one: null pointer");
  each_chunk(x, 1, n_inputs(), [&](const MatrixMap<S>& z, Index) { std::copy(z.data(), z.data() + z.size(), out); });
}

template <class S>
void Predictor<S>::probabilities_one(const S* x, S* out) {
  require_probabilities();
  logits_one(x, out);
  output_transform<S>(m_net->spec().output, MatrixMap<S>(out, 1, n_outputs()));
}

template <class S>
std::int32_t Predictor<S>::label_one(const S* x) {
  require_labels();
  if (!x) throw std::invalid_argument("label_one: null pointer");
  std::int32_t label = 0;
  each_chunk(x, 1, n_inputs(), [&](const MatrixMap<S>& z, Index) { label = label_of(m_net->spec().output, z.data(), z.cols()); });
  return label;
}

template std::string describe<float>(const BasicMlp<float>&);
template std::string describe<double>(const BasicMlp<double>&);
template std::string class_name<float>(const BasicMlp<float>&, Index);
template std::string class_name<double>(const BasicMlp<double>&, Index);
template class Predictor<float>;
template class Predictor<double>;

}  // namespace mlpcore
