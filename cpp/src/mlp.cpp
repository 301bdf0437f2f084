// SPDX-License-Identifier: MIT
// Forward and backward passes over the flat parameter buffer.
//   forward:  Z_l = A_{l−1}·W_lᵀ + b_l,  A_l = f_l(Z_l)            (A_{−1} = X)
//   backward: dL_dZ_l = dL_dA_l ⊙ f_l'(A_l)
//             dL_dW_l = dL_dZ_lᵀ·A_{l−1},  dL_db_l = Σ_rows dL_dZ_l,  dL_dA_{l−1} = dL_dZ_l·W_l
// With dropout in training, hidden layer l's output becomes Ã_l = A_l ⊙ M_l (M_l: 0 or
// 1/(1−p_l) per unit), the next layer reads Ã_l, and dL_dA_l = dL_dÃ_l ⊙ M_l.
#include "mlpcore/mlp.hpp"

#include "bf16/dense_bf16.hpp"
#include "dense.hpp"
#include "finite.hpp"
#include "fp_env.hpp"
#include "math.hpp"
#include "mlpcore/rng.hpp"
#include "mlpcore/precision.hpp"

#include <cmath>
#include <cstring>
#include <sstream>
#include <type_traits>
#include <stdexcept>

namespace mlpcore {

ParamLayout::ParamLayout(const MlpSpec& spec) {
  if (spec.sizes.size() < 2) return;
  Index offset = 0;
  for (Index l = 0; l < spec.n_layers(); ++l) {
    rows.push_back(spec.dense_out(l));
    cols.push_back(spec.sizes[l]);
    weight_offset.push_back(offset);
    offset += rows.back() * cols.back();
    bias_offset.push_back(offset);
    offset += rows.back();
  }
  n_params = offset;
}

template <class S>
void Workspace<S>::reserve(const MlpSpec& spec, Index n) {
  // The buffers' shape depends on the sizes, the activations (maxout) and k. Compare without
  // building a temporary, so a warm call allocates nothing.
  const std::size_t count = spec.sizes.size() + 1 + spec.activations.size();
  bool same = m_widths.size() == count;
  for (std::size_t i = 0; same && i < spec.sizes.size(); ++i) same = m_widths[i] == spec.sizes[i];
  same = same && m_widths[spec.sizes.size()] == spec.maxout_pieces;
  for (std::size_t i = 0; same && i < spec.activations.size(); ++i)
    same = m_widths[spec.sizes.size() + 1 + i] == static_cast<Index>(spec.activations[i]);
  if (same && n <= m_capacity) return;
  std::vector<Index> widths(spec.sizes.begin(), spec.sizes.end());
  widths.push_back(spec.maxout_pieces);
  for (auto a : spec.activations) widths.push_back(static_cast<Index>(a));
  const Index cap = std::max(n, same ? m_capacity : Index(0));
  const Index L = spec.n_layers();
  input.resize(cap * spec.n_inputs());
  act.resize(L);
  pre.resize(L);
  winner.resize(L);
  delta.resize(L);
  Index widest = 0, largest_weight = 0;
  for (Index l = 0; l < L; ++l) {
    largest_weight = std::max(largest_weight, spec.sizes[l] * spec.dense_out(l));
    const Index units = spec.sizes[l + 1];
    const bool maxout = spec.activation(l) == Activation::Maxout;
    act[l].resize(cap * units);
    pre[l].resize(maxout ? cap * spec.dense_out(l) : 0);
    winner[l].resize(maxout ? static_cast<std::size_t>(cap * units) : 0);
    delta[l].resize(cap * spec.dense_out(l));
    widest = std::max(widest, units);
  }
  scratch.resize(cap * widest);
  transposed.resize(largest_weight);
  batch_x.resize(cap * spec.n_inputs());
  batch_t.resize(cap * spec.n_outputs());
  batch_w.resize(cap);
  batch_y.resize(static_cast<std::size_t>(cap));
  m_capacity = cap;
  m_widths = std::move(widths);
}

template <class S>
void Workspace<S>::reserve_dropout(const MlpSpec& spec) {
  const Index L = spec.n_layers();
  if (row_keys.size() < static_cast<std::size_t>(m_capacity)) row_keys.resize(static_cast<std::size_t>(m_capacity));
  mask.resize(static_cast<std::size_t>(L));
  kept.resize(static_cast<std::size_t>(L));
  for (Index l = 0; l + 1 < L; ++l) {
    if (!(spec.dropout_rate(l) > 0)) continue;
    const Index size = m_capacity * spec.sizes[static_cast<std::size_t>(l + 1)];
    if (mask[l].size() < size) mask[l].resize(size);
    if (kept[l].size() < size) kept[l].resize(size);
  }
}

namespace {

// The dropout stream's own key, so masks share no draws with the initializers or the shuffle.
constexpr std::uint64_t kDropoutStream = 0x64726f706f7574ULL;  // "dropout"

// splitmix64's finaliser (Rng::mix), here inline so the unit loop below vectorises (AVX-512 has
// 64-bit lane multiplies) instead of calling out once per unit.
inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The content key of each of the n rows of X (n × in): a wrapping sum over the row's values of
// mix64(bits_k + (k+1)·C), one independent hash per element and no serial chain between them,
// so the loop vectorises. A row's key depends on its values alone, never on its position: equal
// rows get equal keys. Values are widened to double first (exactly), so a float32 and a float64
// model key the same numbers alike, and −0 counts as +0 (an integer select: a float compare
// here would become a branch and stop the vectoriser). The full mixer is needed: one multiply
// and a shift per element leave float bit patterns (low mantissa bits zero) colliding often in
// the sum, e.g. on one-hot or small-integer rows.
template <class S>
void content_keys(const S* X, Index n, Index in, std::uint64_t* keys) {
  for (Index r = 0; r < n; ++r) {
    const S* __restrict x = X + r * in;
    std::uint64_t h = 0;
    for (Index k = 0; k < in; ++k) {
      const double v = static_cast<double>(x[k]);
      std::uint64_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      bits = (bits << 1) != 0 ? bits : 0;  // −0 → +0
      h += mix64(bits + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(k + 1));
    }
    keys[r] = h;
  }
}

// Multipliers of hidden layer `layer` at `step` for n rows with content keys `row_keys`: a
// counter-based hash of (seed, step, layer, row key, unit) rather than a sequential generator, so
// a row's mask is the same whichever thread, part or process computes it, wherever the row sits.
// Unit j of a row takes the top 32 bits of its hash as a uniform u and is dropped when u < p·2³²
// (probability p to within 2⁻³²). The select has no branch: a random 50 % branch would cost a
// misprediction per unit.
template <class S>
void fill_mask(S* out, Index n, Index units, double p, std::uint64_t seed, std::uint64_t step, Index layer,
               const std::uint64_t* row_keys) {
  const std::uint64_t layer_key =
      Rng::derive(Rng::derive(seed ^ kDropoutStream, step), static_cast<std::uint64_t>(layer));
  const std::uint64_t threshold = static_cast<std::uint64_t>(std::llround(p * 4294967296.0));
  const S scale = S(1) / static_cast<S>(1.0 - p);  // as torch: 1 / (1 − p) in the model's dtype
  for (Index r = 0; r < n; ++r) {
    const std::uint64_t row_key = Rng::mix(layer_key + row_keys[r]);
    S* __restrict o = out + r * units;
    for (Index j = 0; j < units; ++j) {
      const std::uint64_t h = mix64(row_key ^ (0xd1b54a32d192ed03ULL * static_cast<std::uint64_t>(j + 1)));
      o[j] = scale * static_cast<S>((h >> 32) >= threshold);
    }
  }
}

}  // namespace

void ModelMeta::validate(const MlpSpec& spec) const {
  const std::size_t in = static_cast<std::size_t>(spec.n_inputs());
  if (input_mean.size() != input_scale.size())
    throw std::invalid_argument("input_mean has " + std::to_string(input_mean.size()) +
                                " values but input_scale has " + std::to_string(input_scale.size()));
  if (!input_mean.empty() && input_mean.size() != in)
    throw std::invalid_argument("input scaling has " + std::to_string(input_mean.size()) +
                                " values, model has " + std::to_string(in) + " inputs");
  for (std::size_t i = 0; i < input_mean.size(); ++i) {
    if (!std::isfinite(input_mean[i]))
      throw std::invalid_argument("input_mean[" + std::to_string(i) + "] is not finite");
    if (!(std::isfinite(input_scale[i]) && input_scale[i] > 0))
      throw std::invalid_argument("input_scale[" + std::to_string(i) + "] must be finite and > 0");
  }
  if (!classes.empty()) {
    const std::size_t out = static_cast<std::size_t>(spec.n_outputs());
    const bool binary = spec.output == Output::Sigmoid && out == 1 && classes.size() == 2;
    if (classes.size() != out && !binary)
      throw std::invalid_argument("model has " + std::to_string(out) + " outputs but " +
                                  std::to_string(classes.size()) + " class labels");
    if (classes_kind != "int" && classes_kind != "str")
      throw std::invalid_argument("classes_kind must be 'int' or 'str', got '" + classes_kind + "'");
    if (classes_kind == "int")
      for (std::size_t i = 0; i < classes.size(); ++i) {
        const std::string& c = classes[i];
        const std::size_t d = !c.empty() && c[0] == '-' ? 1 : 0;
        if (c.size() == d || c.size() > 19 || c.find_first_not_of("0123456789", d) != std::string::npos)
          throw std::invalid_argument("classes[" + std::to_string(i) + "] = '" + c + "' is not an integer label");
      }
  }
}

template <class S>
BasicMlp<S>::BasicMlp(const MlpSpec& spec) : m_spec(spec) {
  m_spec.validate();
  m_layout = ParamLayout(m_spec);
  m_params = Vector<S>::Zero(m_layout.n_params);
  m_grads = Vector<S>::Zero(m_layout.n_params);
}

template <class S>
BasicMlp<S>::BasicMlp(const MlpSpec& spec, Init init, std::uint64_t seed, double scale) : BasicMlp(spec) {
  initialize(init, seed, scale);
  m_dropout_seed = seed;
}

template <class S>
void BasicMlp<S>::dropout_mask(Index layer, std::uint64_t step, const MatrixCRef<S>& X, MatrixRef<S> out) const {
  const Index hidden = m_spec.n_layers() - 1;
  if (layer < 0 || layer >= hidden)
    throw std::invalid_argument("dropout layer " + std::to_string(layer) + " is not a hidden layer (the model has " +
                                std::to_string(hidden) + ")");
  if (X.cols() != m_spec.n_inputs())
    throw std::invalid_argument("X has " + std::to_string(X.cols()) + " columns, model expects " +
                                std::to_string(m_spec.n_inputs()));
  const Index units = m_spec.sizes[static_cast<std::size_t>(layer + 1)];
  if (out.rows() != X.rows() || out.cols() != units)
    throw std::invalid_argument("out is " + std::to_string(out.rows()) + "x" + std::to_string(out.cols()) +
                                ", expected " + std::to_string(X.rows()) + "x" + std::to_string(units) +
                                " (X's rows × hidden layer " + std::to_string(layer) + "'s units)");
  const double p = m_spec.dropout_rate(layer);
  if (!(p > 0)) {
    out.setOnes();
    return;
  }
  const RowMatrix<S> x = X;  // contiguous rows
  std::vector<std::uint64_t> keys(static_cast<std::size_t>(X.rows()));
  content_keys<S>(x.data(), x.rows(), x.cols(), keys.data());
  RowMatrix<S> m(out.rows(), units);
  fill_mask<S>(m.data(), out.rows(), units, p, m_dropout_seed, step, layer, keys.data());
  out = m;
}

template <class S>
const typename BasicMlp<S>::DropoutPass* BasicMlp<S>::dropout_pass(DropoutPass& storage, std::uint64_t step,
                                                                    const S* X, Index n, Workspace<S>& ws) const {
  if (!m_spec.has_dropout()) return nullptr;
  ws.reserve_dropout(m_spec);
  // The raw rows, before input scaling: the key of a sample is the sample the caller gave.
  content_keys<S>(X, n, m_spec.n_inputs(), ws.row_keys.data());
  storage = DropoutPass{step, ws.row_keys.data()};
  return &storage;
}

template <class S>
MatrixMap<S> BasicMlp<S>::weight(Index l) {
  return MatrixMap<S>(m_params.data() + m_layout.weight_offset[l], m_layout.rows[l], m_layout.cols[l]);
}
template <class S>
MatrixCMap<S> BasicMlp<S>::weight(Index l) const {
  return MatrixCMap<S>(m_params.data() + m_layout.weight_offset[l], m_layout.rows[l], m_layout.cols[l]);
}
template <class S>
VectorMap<S> BasicMlp<S>::bias(Index l) {
  return VectorMap<S>(m_params.data() + m_layout.bias_offset[l], m_layout.rows[l]);
}
template <class S>
VectorCMap<S> BasicMlp<S>::bias(Index l) const {
  return VectorCMap<S>(m_params.data() + m_layout.bias_offset[l], m_layout.rows[l]);
}

template <class S>
void BasicMlp<S>::set_input_scaling(const std::vector<double>& mean, const std::vector<double>& scale) {
  ModelMeta probe = m_meta;
  probe.input_mean = mean;
  probe.input_scale = scale;
  probe.validate(m_spec);
  for (std::size_t i = 0; i < mean.size(); ++i) {
    if (!std::isfinite(static_cast<S>(mean[i])))
      throw std::invalid_argument("input_mean[" + std::to_string(i) + "] overflows the model's dtype");
    if (!std::isfinite(static_cast<S>(1.0 / scale[i])))
      throw std::invalid_argument("input_scale[" + std::to_string(i) + "] is too small for the model's dtype");
  }
  m_meta = std::move(probe);
  m_mean.resize(static_cast<Index>(mean.size()));
  m_inv_scale.resize(static_cast<Index>(scale.size()));
  for (std::size_t i = 0; i < mean.size(); ++i) {
    m_mean[static_cast<Index>(i)] = static_cast<S>(mean[i]);
    m_inv_scale[static_cast<Index>(i)] = static_cast<S>(1.0 / scale[i]);
  }
}

template <class S>
void BasicMlp<S>::check_input(const MatrixCRef<S>& X, const char* what) const {
  if (X.rows() == 0) throw std::invalid_argument(std::string(what) + " is empty (0 rows)");
  if (X.cols() != m_spec.n_inputs()) {
    std::ostringstream m;
    m << what << " has " << X.cols() << " columns, model expects " << m_spec.n_inputs();
    throw std::invalid_argument(m.str());
  }
  const Index bad = detail::first_non_finite_row<S>(X);
  if (bad >= 0) throw std::invalid_argument(std::string(what) + " contains NaN or infinity at row " + std::to_string(bad));
}

template <class S>
const S* BasicMlp<S>::scaled_input(const S* X, Index n, Workspace<S>& ws) const {
  if (!scales_input()) return X;
  const Index in = m_spec.n_inputs();
  MatrixCMap<S> x(X, n, in);
  MatrixMap<S> xs(ws.input.data(), n, in);
  xs = (x.rowwise() - m_mean.transpose()).array().rowwise() * m_inv_scale.transpose().array();
  return ws.input.data();
}

template <class S>
void BasicMlp<S>::forward_rows(const S* X, Index n, Workspace<S>& ws, const DropoutPass* drop) const {
  const ActivationParams ap{m_spec.leaky_relu_slope, m_spec.elu_alpha};
  const S* in_data = scaled_input(X, n, ws);
  for (Index l = 0; l < m_spec.n_layers(); ++l) {
    const Index units = m_spec.sizes[l + 1];
    const Activation a = m_spec.activation(l);
    const Index in = m_layout.cols[l], rows = m_layout.rows[l];
    const S* W = m_params.data() + m_layout.weight_offset[l];
    const S* b = m_params.data() + m_layout.bias_offset[l];
    if (a == Activation::Maxout) {
      bf16::layer_forward<S>(m_precision, in_data, n, in, W, b, rows, ws.pre[l].data(), ws.transposed.data(),
                               Activation::Identity, ap);
      maxout_forward<S>(MatrixCMap<S>(ws.pre[l].data(), n, rows), m_spec.maxout_pieces,
                        MatrixMap<S>(ws.act[l].data(), n, units), ws.winner[l].data());
    } else {
      bf16::layer_forward<S>(m_precision, in_data, n, in, W, b, rows, ws.act[l].data(), ws.transposed.data(), a, ap);
    }
    in_data = ws.act[l].data();
    const double p = drop ? m_spec.dropout_rate(l) : 0.0;
    if (p > 0) {
      // Ã_l = A_l ⊙ M_l; A_l stays for f'(A_l) in the backward pass.
      fill_mask<S>(ws.mask[l].data(), n, units, p, m_dropout_seed, drop->step, l, drop->row_keys);
      VectorMap<S>(ws.kept[l].data(), n * units) =
          VectorCMap<S>(ws.act[l].data(), n * units).cwiseProduct(VectorCMap<S>(ws.mask[l].data(), n * units));
      in_data = ws.kept[l].data();
    }
  }
}

template <class S>
void BasicMlp<S>::backward_rows(const S* X, Index n, Workspace<S>& ws,
                                const std::function<void(Index)>& layer_ready, bool dropped) {
  // Expects ws.delta[L−1] = dL_dZ of the output layer and the activations of forward_rows.
  const ActivationParams ap{m_spec.leaky_relu_slope, m_spec.elu_alpha};
  const S* input = scales_input() ? ws.input.data() : X;
  for (Index l = m_spec.n_layers() - 1; l >= 0; --l) {
    const Index rows = m_layout.rows[l], cols = m_layout.cols[l];
    const S* dL_dZ = ws.delta[l].data();
    const bool drop_prev = dropped && l > 0 && m_spec.dropout_rate(l - 1) > 0;
    const S* A_prev = l == 0 ? input : drop_prev ? ws.kept[l - 1].data() : ws.act[l - 1].data();
    const S* W = m_params.data() + m_layout.weight_offset[l];
    bf16::layer_weight_grad<S>(m_precision, dL_dZ, n, rows, A_prev, cols, m_grads.data() + m_layout.weight_offset[l],
                                 m_grads.data() + m_layout.bias_offset[l], ws.transposed.data());
    if (layer_ready) layer_ready(l);
    if (l == 0) break;  // no gradient with respect to the input
    const Activation a = m_spec.activation(l - 1);
    if (drop_prev) {
      // dL_dÃ = dL_dZ_l·W_l;  dL_dA = dL_dÃ ⊙ M;  then through the activation (or maxout).
      const VectorCMap<S> M(ws.mask[l - 1].data(), n * cols);
      if (a == Activation::Maxout) {
        bf16::layer_input_grad<S>(m_precision, dL_dZ, n, rows, W, cols, ws.scratch.data(), ws.act[l - 1].data(),
                                    Activation::Identity, ap);
        VectorMap<S>(ws.scratch.data(), n * cols).array() *= M.array();
        maxout_backward<S>(MatrixCMap<S>(ws.scratch.data(), n, cols), m_spec.maxout_pieces, ws.winner[l - 1].data(),
                           MatrixMap<S>(ws.delta[l - 1].data(), n, m_layout.rows[l - 1]));
      } else {
        S* dA = ws.delta[l - 1].data();
        bf16::layer_input_grad<S>(m_precision, dL_dZ, n, rows, W, cols, dA, ws.act[l - 1].data(), Activation::Identity, ap);
        VectorMap<S>(dA, n * cols).array() *= M.array();
        activation_backward<S>(a, ap, MatrixCMap<S>(ws.act[l - 1].data(), n, cols), MatrixMap<S>(dA, n, cols));
      }
    } else if (a == Activation::Maxout) {
      bf16::layer_input_grad<S>(m_precision, dL_dZ, n, rows, W, cols, ws.scratch.data(), ws.act[l - 1].data(),
                                  Activation::Identity, ap);
      maxout_backward<S>(MatrixCMap<S>(ws.scratch.data(), n, cols), m_spec.maxout_pieces, ws.winner[l - 1].data(),
                         MatrixMap<S>(ws.delta[l - 1].data(), n, m_layout.rows[l - 1]));
    } else {
      // dL_dZ_{l−1} = (dL_dZ_l·W_l) ⊙ f'(A_{l−1})
      bf16::layer_input_grad<S>(m_precision, dL_dZ, n, rows, W, cols, ws.delta[l - 1].data(),
                                ws.act[l - 1].data(), a, ap);
    }
  }
}

template <class S>
void BasicMlp<S>::set_precision(Precision p) {
  if (p == Precision::Bf16) {
    if (!std::is_same_v<S, float>)
      throw std::invalid_argument("precision 'bf16' needs a float32 model; this one is float64");
    const std::string why = bf16_unavailable_reason();
    if (!why.empty()) throw std::invalid_argument(why);
  }
  m_precision = p;
}

template <class S>
void BasicMlp<S>::set_weight_penalty(double alpha) {
  if (!std::isfinite(alpha) || alpha < 0)
    throw std::invalid_argument("weight penalty must be finite and >= 0, got " + std::to_string(alpha));
  m_penalty = alpha;
}


template <class S>
double BasicMlp<S>::penalty_value(Index n, const S* weights) const {
  if (m_penalty == 0) return 0.0;
  return penalty_for(detail::weight_sum(n, weights));
}

template <class S>
double BasicMlp<S>::penalty_for(double weight_sum) const {
  double sumsq = 0;
  for (Index l = 0; l < m_spec.n_layers(); ++l)
    sumsq += double(VectorCMap<S>(m_params.data() + m_layout.weight_offset[l], m_layout.rows[l] * m_layout.cols[l])
                        .squaredNorm());
  return 0.5 * m_penalty * sumsq / weight_sum;
}

template <class S>
void BasicMlp<S>::add_penalty_grad(S c) {
  for (Index l = 0; l < m_spec.n_layers(); ++l) {
    const Index size = m_layout.rows[l] * m_layout.cols[l], off = m_layout.weight_offset[l];
    VectorMap<S>(m_grads.data() + off, size) += c * VectorCMap<S>(m_params.data() + off, size);
  }
}

template <class S>
double BasicMlp<S>::penalty_with_grad(Index n, const S* weights) {
  if (m_penalty == 0) return 0.0;
  const double value = penalty_value(n, weights);
  add_penalty_grad(S(m_penalty / detail::weight_sum(n, weights)));
  return value;
}

template <class S>
const S* BasicMlp<S>::packed_batch(const MatrixCRef<S>& X, Workspace<S>& ws) const {
  check_input(X, "X");
  ws.reserve(m_spec, X.rows());
  // The Ref has unit inner stride; rows may still be padded (outer stride), so pack if needed.
  if (X.outerStride() == X.cols()) return X.data();
  MatrixMap<S>(ws.batch_x.data(), X.rows(), X.cols()) = X;
  return ws.batch_x.data();
}

template <class S>
MatrixMap<S> BasicMlp<S>::forward(const MatrixCRef<S>& X, Workspace<S>& ws) const {
  forward_rows(packed_batch(X, ws), X.rows(), ws);
  return MatrixMap<S>(ws.act.back().data(), X.rows(), m_spec.n_outputs());
}

template <class S>
MatrixMap<S> BasicMlp<S>::forward(const MatrixCRef<S>& X, Workspace<S>& ws, std::uint64_t dropout_step) const {
  const S* data = packed_batch(X, ws);
  DropoutPass storage{};
  forward_rows(data, X.rows(), ws, dropout_pass(storage, dropout_step, data, X.rows(), ws));
  return MatrixMap<S>(ws.act.back().data(), X.rows(), m_spec.n_outputs());
}

template <class S>
void BasicMlp<S>::outputs(const MatrixCRef<S>& X, Workspace<S>& ws, MatrixRef<S> out, bool probabilities) const {
  if (out.rows() != X.rows() || out.cols() != m_spec.n_outputs()) {
    std::ostringstream m;
    m << "out is " << out.rows() << "x" << out.cols() << ", expected " << X.rows() << "x" << m_spec.n_outputs();
    throw std::invalid_argument(m.str());
  }
  const MatrixMap<S> Z = forward(X, ws);
  detail::NonFiniteRows bad;
  bad.scan<S>(Z.data(), Z.rows(), Z.cols(), Z.cols(), 0);
  bad.throw_if_any<S>(X.rows(), m_params);
  out = Z;
  if (probabilities) output_transform<S>(m_spec.output, out);
}

template <class S>
double BasicMlp<S>::step_unchecked(const S* X, Index n, const TargetView<S>& t, const S* weights, Loss loss,
                                   Optimizer<S>* opt, Workspace<S>& ws, std::optional<std::uint64_t> dropout_step) {
  DropoutPass storage{};
  const DropoutPass* drop = nullptr;
  if (opt) drop = dropout_pass(storage, m_dropout_step, X, n, ws);
  else if (dropout_step) drop = dropout_pass(storage, *dropout_step, X, n, ws);
  forward_rows(X, n, ws, drop);
  const Index L = m_spec.n_layers();
  MatrixCMap<S> Z(ws.act[L - 1].data(), n, m_spec.n_outputs());
  const double value = mlpcore::loss_and_grad<S>(loss, Z, t, weights, ws.delta[L - 1].data());
  if (opt && !std::isfinite(value)) return value;  // caller decides; parameters untouched
  backward_rows(X, n, ws, {}, drop != nullptr);
  const double total = value + penalty_with_grad(n, weights);
  if (opt) {
    opt->step(VectorMap<S>(m_params.data(), m_params.size()), VectorCMap<S>(m_grads.data(), m_grads.size()));
    ++m_dropout_step;
  }
  return total;
}

template <class S>
double BasicMlp<S>::grad_sums(const S* X, Index n, const TargetView<S>& t, const S* weights, Loss loss,
                              Workspace<S>& ws, const std::function<void(Index)>& layer_ready) {
  DropoutPass storage{};
  const DropoutPass* drop = dropout_pass(storage, m_dropout_step, X, n, ws);
  forward_rows(X, n, ws, drop);
  const Index L = m_spec.n_layers();
  MatrixCMap<S> Z(ws.act[L - 1].data(), n, m_spec.n_outputs());
  // Divisor 1: dL_dZ holds w_i·dℓ_i/dz_i, so the products below give Σ_i of each row's gradient.
  const double sum = mlpcore::loss_and_grad_scaled<S>(loss, Z, t, weights, 1.0, ws.delta[L - 1].data());
  backward_rows(X, n, ws, layer_ready, drop != nullptr);
  return sum;
}

template <class S>
double BasicMlp<S>::apply_sums(double weight_sum, Optimizer<S>& opt) {
  // mean gradient = (Σ_i w_i·∇ℓ_i + alpha·W) / Σw: the penalty enters once, not once per part.
  double penalty = 0.0;
  if (m_penalty != 0) {
    penalty = penalty_for(weight_sum);
    add_penalty_grad(S(m_penalty));
  }
  m_grads /= S(weight_sum);
  opt.step(VectorMap<S>(m_params.data(), m_params.size()), VectorCMap<S>(m_grads.data(), m_grads.size()));
  ++m_dropout_step;
  return penalty;
}

template <class S>
double BasicMlp<S>::loss_and_grad(const MatrixCRef<S>& X, const TargetView<S>& t, const S* weights, Loss loss,
                                  Workspace<S>& ws, std::optional<std::uint64_t> dropout_step) {
  validate_targets<S>(loss, X.rows(), m_spec.n_outputs(), t, weights);
  return step_unchecked(packed_batch(X, ws), X.rows(), t, weights, loss, nullptr, ws, dropout_step);
}

template <class S>
double BasicMlp<S>::loss(const MatrixCRef<S>& X, const TargetView<S>& t, const S* weights, Loss loss,
                         Workspace<S>& ws) const {
  validate_targets<S>(loss, X.rows(), m_spec.n_outputs(), t, weights);
  MatrixMap<S> Z = forward(X, ws);
  return mlpcore::loss_and_grad<S>(loss, Z, t, weights, nullptr) + penalty_value(X.rows(), weights);
}

template <class S>
Evaluation BasicMlp<S>::evaluate(const MatrixCRef<S>& X, const TargetView<S>& t, const S* weights, Loss loss,
                                 Workspace<S>& ws, Index chunk) const {
  check_input(X, "X");
  validate_targets<S>(loss, X.rows(), m_spec.n_outputs(), t, weights);
  const Index n = X.rows(), C = m_spec.n_outputs();
  chunk = std::max<Index>(1, std::min(chunk, n));
  Evaluation e;
  double wsum = 0;
  for (Index start = 0; start < n; start += chunk) {
    const Index rows = std::min(chunk, n - start);
    TargetView<S> part = t;
    part.rows = rows;
    if (t.is_labels()) part.labels = t.labels + start;
    else part.dense = t.dense + start * C;
    const S* w = weights ? weights + start : nullptr;
    const double bw = detail::weight_sum(rows, w);
    MatrixMap<S> Z = forward(X.middleRows(start, rows), ws);
    if (bw > 0) {
      e.loss += mlpcore::loss_and_grad<S>(loss, Z, part, w, nullptr) * bw;
      wsum += bw;
    }
    Index counted = 0;
    e.correct += count_correct<S>(loss, Z, part, counted);
    e.counted += counted;
  }
  e.loss /= wsum;
  return e;
}

template <class S>
double BasicMlp<S>::train_step(const MatrixCRef<S>& X, const TargetView<S>& t, const S* weights, Loss loss,
                               Optimizer<S>& opt, Workspace<S>& ws) {
  validate_targets<S>(loss, X.rows(), m_spec.n_outputs(), t, weights);
  const S* data = packed_batch(X, ws);
  const detail::FlushSubnormals flush;
  const double value = step_unchecked(data, X.rows(), t, weights, loss, &opt, ws);
  if (!std::isfinite(value))
    throw std::domain_error("the loss is not finite (" + std::to_string(value) +
                            "); parameters were left unchanged");
  return value;
}

template class BasicMlp<float>;
template class BasicMlp<double>;
template class Workspace<float>;
template class Workspace<double>;

}  // namespace mlpcore
