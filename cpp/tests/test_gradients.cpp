// SPDX-License-Identifier: MIT
// Gradients checked against central differences in double: each activation kernel alone, then
// the whole network (every activation × every loss × 1..3 hidden layers) through
// loss_and_grad. Forward passes and loss values are checked against a plain reference written
// here from the formulas. Inputs are drawn away from the kinks of ReLU, leaky ReLU, ELU and
// maxout, so the difference quotients never straddle a kink.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "check.hpp"
#include "finite_diff.hpp"
#include "mlpcore/mlpcore.hpp"

using namespace mlpcore;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using RowMatrixd = RowMatrix<double>;

namespace {

const Activation kAllActivations[] = {Activation::Identity, Activation::Sigmoid, Activation::Tanh,
                                      Activation::Relu,     Activation::LeakyRelu, Activation::Elu,
                                      Activation::Maxout};
// Non-default parameters, so a kernel that ignored them would fail.
constexpr double kSlope = 0.2;
constexpr double kAlpha = 0.7;
constexpr int kPieces = 3;
// Smallest distance from a kink (|z| for ReLU-like units, top-two gap for maxout) accepted in a
// drawn case. A difference step of 1e-5 moves any pre-activation by far less than this.
constexpr double kKinkMargin = 1e-3;

RowMatrixd normal_matrix(Rng& rng, Index rows, Index cols, double scale = 1.0) {
  RowMatrixd m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = scale * rng.normal();
  return m;
}

// Entries of magnitude ≥ 0.05 with random signs: away from the kinks at zero.
RowMatrixd away_from_zero(Rng& rng, Index rows, Index cols) {
  RowMatrixd m = normal_matrix(rng, rows, cols, 1.5);
  for (Index i = 0; i < m.size(); ++i) {
    double& v = m.data()[i];
    v = (v < 0 ? -1.0 : 1.0) * (0.05 + std::fabs(v));
  }
  return m;
}

double reference_activation(Activation a, double z) {
  switch (a) {
    case Activation::Identity: return z;
    case Activation::Sigmoid: return 1.0 / (1.0 + std::exp(-z));
    case Activation::Tanh: return std::tanh(z);
    case Activation::Relu: return z > 0 ? z : 0.0;
    case Activation::LeakyRelu: return z > 0 ? z : kSlope * z;
    case Activation::Elu: return z > 0 ? z : kAlpha * (std::exp(z) - 1.0);
    case Activation::Maxout: break;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

double reference_derivative(Activation a, double z) {
  switch (a) {
    case Activation::Identity: return 1.0;
    case Activation::Sigmoid: {
      const double s = 1.0 / (1.0 + std::exp(-z));
      return s * (1.0 - s);
    }
    case Activation::Tanh: return 1.0 - std::tanh(z) * std::tanh(z);
    case Activation::Relu: return z > 0 ? 1.0 : 0.0;
    case Activation::LeakyRelu: return z > 0 ? 1.0 : kSlope;
    case Activation::Elu: return z > 0 ? 1.0 : kAlpha * std::exp(z);
    case Activation::Maxout: break;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

bool has_kink(Activation a) {
  return a == Activation::Relu || a == Activation::LeakyRelu || a == Activation::Elu ||
         a == Activation::Maxout;
}

std::string spec_name(const MlpSpec& spec) {
  std::string s;
  for (std::size_t i = 0; i < spec.sizes.size(); ++i) s += (i ? "-" : "") + std::to_string(spec.sizes[i]);
  s += " [";
  for (std::size_t i = 0; i < spec.activations.size(); ++i) s += (i ? "," : "") + std::string(to_string(spec.activations[i]));
  return s + "]";
}

// ---------------------------------------------------------------------------------------------
// Activation kernels alone.

TEST_CASE(elementwise_kernels_match_formulas_and_differences) {
  const ActivationParams params{kSlope, kAlpha};
  Rng rng(11);
  for (Activation a : kAllActivations) {
    if (a == Activation::Maxout) continue;
    const RowMatrixd Z = away_from_zero(rng, 4, 5);
    const RowMatrixd upstream = normal_matrix(rng, 4, 5);

    // Forward, in place, against the formula.
    RowMatrixd Y = Z;
    activation_forward<double>(a, params, Y);
    for (Index i = 0; i < Z.size(); ++i)
      CHECK_CLOSE(Y.data()[i], reference_activation(a, Z.data()[i]), 1e-14 * (1 + std::fabs(Y.data()[i])));

    // Backward: dL_dZ = dL_dY ⊙ f'(z), computed from Y.
    RowMatrixd D = upstream;
    activation_backward<double>(a, params, Y, D);
    for (Index i = 0; i < Z.size(); ++i)
      CHECK_CLOSE(D.data()[i], upstream.data()[i] * reference_derivative(a, Z.data()[i]), 1e-13);

    // Against central differences of L(Z) = Σ upstream ⊙ f(Z), evaluated by the kernel itself.
    RowMatrixd Zvar = Z;
    RowMatrixd scratch(4, 5);
    auto objective = [&] {
      scratch = Zvar;
      activation_forward<double>(a, params, scratch);
      return (scratch.array() * upstream.array()).sum();
    };
    const VectorXd numeric = check::central_difference(objective, Zvar.data(), Zvar.size());
    const VectorXd analytic = Eigen::Map<const VectorXd>(D.data(), D.size());
    const double err = check::relative_error(analytic, numeric);
    if (!(err < 1e-6)) FAIL_CHECK(std::string("kernel ") + to_string(a) + ": relative error " + check::show(err));
  }
}

TEST_CASE(elementwise_kernels_are_stable_at_extreme_inputs) {
  const ActivationParams params{kSlope, kAlpha};
  RowMatrixd Z(1, 6);
  Z << -1000, -60, -1e-300, 0, 60, 1000;
  RowMatrix<float> Zf(1, 4);
  Zf << -200.f, -90.f, 90.f, 200.f;
  for (Activation a : kAllActivations) {
    if (a == Activation::Maxout) continue;
    RowMatrixd Y = Z;
    activation_forward<double>(a, params, Y);
    CHECK(Y.allFinite());
    RowMatrix<float> Yf = Zf;
    activation_forward<float>(a, params, Yf);
    CHECK(Yf.allFinite());
    RowMatrixd D = RowMatrixd::Ones(1, 6);
    activation_backward<double>(a, params, Y, D);
    CHECK(D.allFinite());
  }
  RowMatrixd S = Z;
  activation_forward<double>(Activation::Sigmoid, params, S);
  CHECK(S(0, 0) >= 0.0 && S(0, 0) < 1e-300);
  CHECK_CLOSE(S(0, 3), 0.5, 0);
  CHECK_CLOSE(S(0, 5), 1.0, 0);
  RowMatrixd E = Z;
  activation_forward<double>(Activation::Elu, params, E);
  CHECK_CLOSE(E(0, 0), -kAlpha, 1e-15);
}

TEST_CASE(maxout_kernel_matches_max_and_differences) {
  const Index n = 3, units = 4, k = kPieces;
  Rng rng(12);
  RowMatrixd P = normal_matrix(rng, n, units * k);
  // Row 0, unit 1: an exact tie between pieces 0 and 2 above piece 1; the first piece wins.
  P(0, 3 + 0) = 2.5;
  P(0, 3 + 1) = -1.0;
  P(0, 3 + 2) = 2.5;
  RowMatrixd Y(n, units);
  std::vector<std::int32_t> winner(static_cast<std::size_t>(n * units), -1);
  maxout_forward<double>(P, k, Y, winner.data());
  for (Index r = 0; r < n; ++r)
    for (Index u = 0; u < units; ++u) {
      Index arg = 0;
      const double best = P.row(r).segment(u * k, k).maxCoeff(&arg);  // first maximum, as documented
      CHECK_CLOSE(Y(r, u), best, 0);
      CHECK(winner[static_cast<std::size_t>(r * units + u)] == arg);
    }
  CHECK(winner[1] == 0);

  // Backward scatters dL_dY into the winning piece, zero elsewhere.
  const RowMatrixd upstream = normal_matrix(rng, n, units);
  RowMatrixd dP = RowMatrixd::Constant(n, units * k, 7.0);  // stale values must be overwritten
  maxout_backward<double>(upstream, k, winner.data(), dP);
  for (Index r = 0; r < n; ++r)
    for (Index u = 0; u < units; ++u)
      for (Index j = 0; j < k; ++j) {
        const bool wins = winner[static_cast<std::size_t>(r * units + u)] == j;
        CHECK_CLOSE(dP(r, u * k + j), wins ? upstream(r, u) : 0.0, 0);
      }

  // Central differences away from ties: redraw P with distinct pieces.
  RowMatrixd Pvar = away_from_zero(rng, n, units * k);
  for (Index r = 0; r < n; ++r)
    for (Index u = 0; u < units; ++u)
      for (Index j = 0; j < k; ++j) Pvar(r, u * k + j) += 0.5 * double(j * ((r + u) % 3));
  maxout_forward<double>(Pvar, k, Y, winner.data());
  maxout_backward<double>(upstream, k, winner.data(), dP);
  RowMatrixd Ytmp(n, units);
  std::vector<std::int32_t> wtmp(winner.size());
  auto objective = [&] {
    maxout_forward<double>(Pvar, k, Ytmp, wtmp.data());
    return (Ytmp.array() * upstream.array()).sum();
  };
  const VectorXd numeric = check::central_difference(objective, Pvar.data(), Pvar.size());
  const VectorXd analytic = Eigen::Map<const VectorXd>(dP.data(), dP.size());
  CHECK(check::relative_error(analytic, numeric) < 1e-6);
}

// ---------------------------------------------------------------------------------------------
// Loss values against their formulas.

TEST_CASE(loss_values_match_closed_forms) {
  // Cross-entropy with natural log: z = (1, 2, 3), label 2:
  //   ℓ = log(e¹ + e² + e³) − 3 = 3.40760596444438 − 3 = 0.40760596444438013
  RowMatrixd Z(1, 3);
  Z << 1, 2, 3;
  const std::int32_t label = 2;
  TargetView<double> t;
  t.labels = &label;
  t.rows = 1;
  RowMatrixd G(1, 3);
  CHECK_CLOSE(loss_and_grad<double>(Loss::CrossEntropy, Z, t, nullptr, G.data()), 0.40760596444438013, 1e-15);
  // dℓ/dz = softmax(z) − onehot: softmax(1,2,3) = (0.09003057317038046, 0.24472847105479767, 0.6652409557748219)
  CHECK_CLOSE(G(0, 0), 0.09003057317038046, 1e-15);
  CHECK_CLOSE(G(0, 1), 0.24472847105479767, 1e-15);
  CHECK_CLOSE(G(0, 2), 0.6652409557748219 - 1.0, 1e-15);

  // Huge logits stay finite: CE with z = (1000, 0), label 1 is 1000; BCE(z = 1000, t = 0) = 1000
  // and BCE(z = −1000, t = 1) = 1000, so their mean over two outputs is 1000.
  RowMatrixd Zbig(1, 2);
  Zbig << 1000, 0;
  const std::int32_t one = 1;
  t.labels = &one;
  CHECK_CLOSE(loss_and_grad<double>(Loss::CrossEntropy, Zbig, t, nullptr, G.data()), 1000.0, 1e-12);
  CHECK_CLOSE(G(0, 0), 1.0, 1e-15);
  CHECK_CLOSE(G(0, 1), -1.0, 1e-15);
  Zbig << 1000, -1000;
  RowMatrixd Tb(1, 2);
  Tb << 0, 1;
  TargetView<double> td;
  td.dense = Tb.data();
  td.rows = 1;
  td.cols = 2;
  CHECK_CLOSE(loss_and_grad<double>(Loss::BinaryCrossEntropy, Zbig, td, nullptr, G.data()), 1000.0, 1e-12);
  CHECK_CLOSE(G(0, 0), 0.5, 1e-15);   // (σ(1000) − 0) / 2 outputs
  CHECK_CLOSE(G(0, 1), -0.5, 1e-15);  // (σ(−1000) − 1) / 2

  // Weighted MSE over two rows and two outputs, w = (1, 3):
  //   row 0: z = (1, 2), t = (0, 0): mean of squares (1 + 4)/2 = 2.5
  //   row 1: z = (0, 1), t = (2, 3): (4 + 4)/2 = 4
  //   L = (1·2.5 + 3·4) / 4 = 3.625
  RowMatrixd Zm(2, 2), Tm(2, 2), Gm(2, 2);
  Zm << 1, 2, 0, 1;
  Tm << 0, 0, 2, 3;
  const double w[2] = {1, 3};
  TargetView<double> tm;
  tm.dense = Tm.data();
  tm.rows = 2;
  tm.cols = 2;
  CHECK_CLOSE(loss_and_grad<double>(Loss::Mse, Zm, tm, w, Gm.data()), 3.625, 1e-15);
  // dL/dz = w_i/Σw · 2(z − t)/C: row 0 → (1/4)(1, 2) = (0.25, 0.5); row 1 → (3/4)(−2, −2)
  CHECK_CLOSE(Gm(0, 0), 0.25, 1e-15);
  CHECK_CLOSE(Gm(0, 1), 0.5, 1e-15);
  CHECK_CLOSE(Gm(1, 0), -1.5, 1e-15);
  CHECK_CLOSE(Gm(1, 1), -1.5, 1e-15);

  // Poisson, one row, two outputs: z = (0, log 2), t = (1, 3):
  //   ℓ = ((1 − 0) + (2 − 3 log 2)) / 2 = (3 − 3 log 2) / 2 ; dℓ/dz = (e^z − t)/2 = (0, −0.5)
  RowMatrixd Zp(1, 2), Tp(1, 2), Gp(1, 2);
  Zp << 0, std::log(2.0);
  Tp << 1, 3;
  TargetView<double> tp;
  tp.dense = Tp.data();
  tp.rows = 1;
  tp.cols = 2;
  CHECK_CLOSE(loss_and_grad<double>(Loss::Poisson, Zp, tp, nullptr, Gp.data()), (3 - 3 * std::log(2.0)) / 2, 1e-15);
  CHECK_CLOSE(Gp(0, 0), 0.0, 1e-15);
  CHECK_CLOSE(Gp(0, 1), -0.5, 1e-15);
  CHECK_CLOSE(loss_and_grad<double>(Loss::Poisson, Zp, tp, nullptr, nullptr), (3 - 3 * std::log(2.0)) / 2, 1e-15);
  // Negative counts are refused.
  Tp << 1, -1;
  bool threw = false;
  try {
    validate_targets<double>(Loss::Poisson, 1, 2, tp, nullptr);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
}

// ---------------------------------------------------------------------------------------------
// The whole network.

enum class TargetKind { Labels, Probabilities, Binary, Regression, Counts };

struct Case {
  MlpSpec spec;
  Loss loss;
  TargetKind targets;
  bool weighted;
  bool scaled;
  Index rows;
};

struct Reference {
  RowMatrixd logits;
  double kink_distance = std::numeric_limits<double>::infinity();
};

// The forward pass written out from the formulas: Z_l = A_{l−1} W_lᵀ + b_l, A_l = f(Z_l).
Reference reference_forward(const Mlp64& net, const RowMatrixd& X) {
  const MlpSpec& spec = net.spec();
  Reference ref;
  RowMatrixd A = X;
  if (net.scales_input())
    for (Index r = 0; r < A.rows(); ++r)
      for (Index c = 0; c < A.cols(); ++c)
        A(r, c) = (A(r, c) - net.meta().input_mean[c]) / net.meta().input_scale[c];
  for (Index l = 0; l < spec.n_layers(); ++l) {
    const MatrixXd W = net.weight(l);
    const VectorXd b = net.bias(l);
    RowMatrixd Z(A.rows(), W.rows());
    for (Index r = 0; r < Z.rows(); ++r)
      for (Index o = 0; o < Z.cols(); ++o) {
        double s = b[o];
        for (Index i = 0; i < W.cols(); ++i) s += A(r, i) * W(o, i);
        Z(r, o) = s;
      }
    const Activation a = spec.activation(l);
    if (a == Activation::Maxout) {
      const Index k = spec.maxout_pieces, units = spec.sizes[l + 1];
      RowMatrixd Y(Z.rows(), units);
      for (Index r = 0; r < Z.rows(); ++r)
        for (Index u = 0; u < units; ++u) {
          std::vector<double> pieces(Z.row(r).data() + u * k, Z.row(r).data() + (u + 1) * k);
          std::sort(pieces.begin(), pieces.end());
          Y(r, u) = pieces[k - 1];
          ref.kink_distance = std::min(ref.kink_distance, pieces[k - 1] - pieces[k - 2]);
        }
      A = Y;
    } else {
      for (Index i = 0; i < Z.size(); ++i) {
        if (has_kink(a)) ref.kink_distance = std::min(ref.kink_distance, std::fabs(Z.data()[i]));
        Z.data()[i] = reference_activation(a, Z.data()[i]);
      }
      A = Z;
    }
  }
  ref.logits = A;
  return ref;
}

double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

// The batch loss from logits, from the textbook formulas (−Σ t log p, BCE, squared error).
double reference_loss(Loss loss, const RowMatrixd& Z, const std::vector<std::int32_t>& labels,
                      const RowMatrixd& T, const std::vector<double>& weights) {
  double total = 0, wsum = 0;
  for (Index r = 0; r < Z.rows(); ++r) {
    const double w = weights.empty() ? 1.0 : weights[static_cast<std::size_t>(r)];
    double li = 0;
    if (loss == Loss::CrossEntropy) {
      const double m = Z.row(r).maxCoeff();
      const double lse = m + std::log((Z.row(r).array() - m).exp().sum());
      for (Index c = 0; c < Z.cols(); ++c) {
        const double tc = labels.empty() ? T(r, c) : (labels[static_cast<std::size_t>(r)] == c ? 1.0 : 0.0);
        li -= tc * (Z(r, c) - lse);
      }
    } else if (loss == Loss::BinaryCrossEntropy) {
      for (Index c = 0; c < Z.cols(); ++c)
        li += (T(r, c) * softplus(-Z(r, c)) + (1 - T(r, c)) * softplus(Z(r, c))) / double(Z.cols());
    } else if (loss == Loss::Poisson) {  // −log P(t | mean e^z) without log t!: e^z − t z
      for (Index c = 0; c < Z.cols(); ++c) li += (std::exp(Z(r, c)) - T(r, c) * Z(r, c)) / double(Z.cols());
    } else {
      for (Index c = 0; c < Z.cols(); ++c) li += (Z(r, c) - T(r, c)) * (Z(r, c) - T(r, c)) / double(Z.cols());
    }
    total += w * li;
    wsum += w;
  }
  return total / wsum;
}

// Builds a random network and batch for the case (redrawing until every kink is at least
// kKinkMargin away), then compares loss_and_grad with central differences of loss().
void check_case(const Case& c, std::uint64_t seed) {
  const MlpSpec& spec = c.spec;
  const Index in = spec.n_inputs(), out = spec.n_outputs(), n = c.rows;
  const std::string name = spec_name(spec) + " loss=" + to_string(c.loss) +
                           (c.targets == TargetKind::Probabilities ? "(probabilities)" : "") +
                           (c.weighted ? " weighted" : "") + (c.scaled ? " scaled" : "") +
                           " rows=" + std::to_string(n);
  for (int attempt = 0; attempt < 50; ++attempt) {
    Rng rng(seed * 1000 + static_cast<std::uint64_t>(attempt));
    Mlp64 net(spec, Init::XavierNormal, rng.next());
    // Non-zero biases, so their gradients are exercised with a generic operating point.
    for (Index l = 0; l < spec.n_layers(); ++l)
      for (Index i = 0; i < net.bias(l).size(); ++i) net.bias(l)[i] = 0.3 * rng.normal();
    const RowMatrixd X = normal_matrix(rng, n, in, 1.5);
    if (c.scaled) {
      std::vector<double> mean(static_cast<std::size_t>(in)), scale(static_cast<std::size_t>(in));
      for (auto& m : mean) m = 0.5 * rng.normal();
      for (auto& s : scale) s = 0.5 + rng.uniform();
      net.set_input_scaling(mean, scale);
    }
    const Reference ref = reference_forward(net, X);
    if (ref.kink_distance < kKinkMargin) continue;

    std::vector<std::int32_t> labels;
    RowMatrixd T;
    TargetView<double> t;
    t.rows = n;
    switch (c.targets) {
      case TargetKind::Labels:
        for (Index r = 0; r < n; ++r) labels.push_back(static_cast<std::int32_t>(rng.below(std::uint64_t(out))));
        t.labels = labels.data();
        break;
      case TargetKind::Probabilities:  // rows of a softmax: in [0, 1], summing to one
        T = normal_matrix(rng, n, out).array().exp().matrix();
        for (Index r = 0; r < n; ++r) T.row(r) /= T.row(r).sum();
        break;
      case TargetKind::Binary:  // soft targets in [0, 1]
        T.resize(n, out);
        for (Index i = 0; i < T.size(); ++i) T.data()[i] = rng.uniform();
        break;
      case TargetKind::Counts:  // non-negative counts 0..4, as Poisson targets
        T.resize(n, out);
        for (Index i = 0; i < T.size(); ++i) T.data()[i] = double(rng.below(5));
        break;
      case TargetKind::Regression:
        T = normal_matrix(rng, n, out);
        break;
    }
    if (c.targets != TargetKind::Labels) {
      t.dense = T.data();
      t.cols = out;
    }
    std::vector<double> weights;
    if (c.weighted)
      for (Index r = 0; r < n; ++r) weights.push_back(r == 1 ? 0.0 : 0.2 + 2 * rng.uniform());
    const double* w = c.weighted ? weights.data() : nullptr;

    Workspace<double> ws;
    const MatrixMap<double> logits = net.forward(X, ws);
    const double forward_err = (RowMatrixd(logits) - ref.logits).cwiseAbs().maxCoeff();
    if (!(forward_err < 1e-12)) FAIL_CHECK(name + ": forward differs from the reference by " + check::show(forward_err));

    const double value = net.loss_and_grad(X, t, w, c.loss, ws);
    const VectorXd analytic = net.grads();
    const double expected = reference_loss(c.loss, ref.logits, labels, T, weights);
    if (!check::close(value, expected, 1e-12 * (1 + std::fabs(expected))))
      FAIL_CHECK(name + ": loss " + check::show(value) + ", reference " + check::show(expected));
    if (!(analytic.norm() > 1e-8)) FAIL_CHECK(name + ": gradient vanishes, the check proves nothing");

    auto objective = [&] { return net.loss(X, t, w, c.loss, ws); };
    const VectorXd numeric = check::central_difference(objective, net.params().data(), net.n_params());
    const double err = check::relative_error(analytic, numeric);
    if (!(err < 1e-6)) FAIL_CHECK(name + ": relative gradient error " + check::show(err));
    return;
  }
  FAIL_CHECK(name + ": no draw kept the kinks " + check::show(kKinkMargin) + " away");
}

MlpSpec make_spec(std::vector<Index> sizes, std::vector<Activation> acts, Output output) {
  MlpSpec spec;
  spec.sizes = std::move(sizes);
  spec.activations = std::move(acts);
  spec.leaky_relu_slope = kSlope;
  spec.elu_alpha = kAlpha;
  spec.maxout_pieces = kPieces;
  spec.output = output;
  spec.validate();
  return spec;
}

struct LossCase {
  Loss loss;
  TargetKind targets;
  Output output;
};
const LossCase kLosses[] = {{Loss::CrossEntropy, TargetKind::Labels, Output::Softmax},
                            {Loss::CrossEntropy, TargetKind::Probabilities, Output::Softmax},
                            {Loss::BinaryCrossEntropy, TargetKind::Binary, Output::Sigmoid},
                            {Loss::Mse, TargetKind::Regression, Output::Identity},
                            {Loss::Poisson, TargetKind::Counts, Output::Exp}};

TEST_CASE(network_gradients_every_activation_loss_and_depth) {
  const Index hidden[] = {5, 4, 6};
  std::uint64_t seed = 1;
  for (Activation a : kAllActivations)
    for (const LossCase& lc : kLosses)
      for (int depth = 1; depth <= 3; ++depth)
        for (bool weighted : {false, true}) {
          std::vector<Index> sizes{3};
          for (int d = 0; d < depth; ++d) sizes.push_back(hidden[d]);
          sizes.push_back(3);
          const MlpSpec spec = make_spec(sizes, std::vector<Activation>(std::size_t(depth), a), lc.output);
          check_case(Case{spec, lc.loss, lc.targets, weighted, false, 6}, seed++);
        }
}

TEST_CASE(network_gradients_mixed_layers_scaling_and_edge_batches) {
  const MlpSpec mixed = make_spec({4, 5, 3, 6, 2}, {Activation::Maxout, Activation::Elu, Activation::LeakyRelu}, Output::Softmax);
  const MlpSpec mixed2 = make_spec({3, 6, 5, 4, 3}, {Activation::Sigmoid, Activation::Relu, Activation::Tanh}, Output::Identity);
  const MlpSpec linear = make_spec({3, 2}, {}, Output::Softmax);  // no hidden layer: softmax regression
  // Layers wider than 16 on both sides take the GEMM path of the dense products, one narrow
  // side the row-wise kernels; these two nets cover every combination.
  const MlpSpec wide = make_spec({20, 24, 18, 3}, {Activation::Maxout, Activation::Relu}, Output::Softmax);
  const MlpSpec wide2 = make_spec({17, 33, 20, 2}, {Activation::Sigmoid, Activation::Elu}, Output::Softmax);
  std::uint64_t seed = 500;
  for (const LossCase& lc : kLosses) {
    check_case(Case{wide, lc.loss, lc.targets, true, true, 6}, seed++);
    check_case(Case{wide2, lc.loss, lc.targets, false, false, 5}, seed++);
    check_case(Case{mixed, lc.loss, lc.targets, true, true, 7}, seed++);
    check_case(Case{mixed2, lc.loss, lc.targets, false, true, 5}, seed++);
    check_case(Case{mixed, lc.loss, lc.targets, false, false, 1}, seed++);  // a single row
    // One output unit for the element-wise losses (a binary classifier or a scalar regressor).
    if (lc.loss != Loss::CrossEntropy)
      check_case(Case{make_spec({3, 4, 1}, {Activation::Tanh}, lc.output), lc.loss, lc.targets, true, false, 6}, seed++);
    check_case(Case{linear, lc.loss, lc.targets, true, true, 4}, seed++);
  }
}

}  // namespace

CHECK_MAIN()
