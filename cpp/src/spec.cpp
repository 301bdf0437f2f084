// SPDX-License-Identifier: MIT
#include "mlpcore/spec.hpp"

#include <cmath>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace mlpcore {
namespace {

template <class E, std::size_t N>
E parse(const std::string& name, const char* (&names)[N], const char* what) {
  for (std::size_t i = 0; i < N; ++i)
    if (name == names[i]) return static_cast<E>(i);
  std::ostringstream msg;
  msg << "unknown " << what << " '" << name << "'; expected one of:";
  for (std::size_t i = 0; i < N; ++i) msg << (i ? ", " : " ") << "'" << names[i] << "'";
  throw std::invalid_argument(msg.str());
}

const char* kActivationNames[] = {"identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "maxout"};
const char* kInitNames[] = {"xavier", "normalized_xavier", "xavier_normal", "he", "he_uniform", "random"};
const char* kOutputNames[] = {"softmax", "sigmoid", "identity", "exp"};
const char* kLossNames[] = {"cross_entropy", "binary_cross_entropy", "mse", "poisson"};
const char* kPrecisionNames[] = {"float32", "bf16"};

void check_finite(double v, const char* name) {
  if (!std::isfinite(v)) {
    std::ostringstream msg;
    msg << name << " must be finite, got " << v;
    throw std::invalid_argument(msg.str());
  }
}

void check_lr(double lr) {
  check_finite(lr, "lr");
  if (lr < 0) throw std::invalid_argument("lr must be >= 0, got " + std::to_string(lr));
}

void check_unit_interval(double v, const char* name) {
  check_finite(v, name);
  if (!(v >= 0.0 && v < 1.0)) {
    std::ostringstream msg;
    msg << name << " must be in [0, 1), got " << v;
    throw std::invalid_argument(msg.str());
  }
}

void check_non_negative(double v, const char* name) {
  check_finite(v, name);
  if (v < 0) {
    std::ostringstream msg;
    msg << name << " must be >= 0, got " << v;
    throw std::invalid_argument(msg.str());
  }
}

}  // namespace

const char* to_string(Activation a) { return kActivationNames[static_cast<int>(a)]; }
const char* to_string(Init i) { return kInitNames[static_cast<int>(i)]; }
const char* to_string(Output o) { return kOutputNames[static_cast<int>(o)]; }
const char* to_string(Loss l) { return kLossNames[static_cast<int>(l)]; }
const char* to_string(Precision p) { return kPrecisionNames[static_cast<int>(p)]; }
Activation activation_from_string(const std::string& n) { return parse<Activation>(n, kActivationNames, "activation"); }
Init init_from_string(const std::string& n) { return parse<Init>(n, kInitNames, "init"); }
Output output_from_string(const std::string& n) { return parse<Output>(n, kOutputNames, "output"); }
Loss loss_from_string(const std::string& n) { return parse<Loss>(n, kLossNames, "loss"); }
Precision precision_from_string(const std::string& n) { return parse<Precision>(n, kPrecisionNames, "precision"); }

std::vector<std::string> choice_names(const std::string& kind) {
  auto all = [](const auto& names) { return std::vector<std::string>(std::begin(names), std::end(names)); };
  if (kind == "activation") return all(kActivationNames);
  if (kind == "init") return all(kInitNames);
  if (kind == "output") return all(kOutputNames);
  if (kind == "loss") return all(kLossNames);
  if (kind == "precision") return all(kPrecisionNames);
  throw std::invalid_argument("unknown kind of choice '" + kind +
                              "'; expected activation, init, output, loss or precision");
}

Loss default_loss(Output o) {
  switch (o) {
    case Output::Softmax: return Loss::CrossEntropy;
    case Output::Sigmoid: return Loss::BinaryCrossEntropy;
    case Output::Exp: return Loss::Poisson;
    default: return Loss::Mse;
  }
}

void MlpSpec::validate() const {
  if (sizes.size() < 2)
    throw std::invalid_argument("sizes must list at least the input and output widths, got " +
                                std::to_string(sizes.size()) + " value(s)");
  for (std::size_t i = 0; i < sizes.size(); ++i)
    if (sizes[i] < 1 || sizes[i] > (Index(1) << 28))
      throw std::invalid_argument("sizes[" + std::to_string(i) + "] must be in [1, 2^28], got " +
                                  std::to_string(sizes[i]));
  if (activations.size() != sizes.size() - 2)
    throw std::invalid_argument("activations must have one entry per hidden layer: " +
                                std::to_string(sizes.size() - 2) + " expected, got " +
                                std::to_string(activations.size()));
  for (auto a : activations)
    if (static_cast<int>(a) < 0 || static_cast<int>(a) > static_cast<int>(Activation::Maxout))
      throw std::invalid_argument("activations holds an unknown value");
  check_finite(leaky_relu_slope, "leaky_relu_slope");
  if (!(leaky_relu_slope > 0.0 && leaky_relu_slope < 1.0))
    throw std::invalid_argument("leaky_relu_slope must be in (0, 1), got " + std::to_string(leaky_relu_slope));
  check_finite(elu_alpha, "elu_alpha");
  if (!(elu_alpha > 0.0))
    throw std::invalid_argument("elu_alpha must be > 0, got " + std::to_string(elu_alpha));
  if (maxout_pieces < 2 || maxout_pieces > 64)
    throw std::invalid_argument("maxout_pieces must be in [2, 64], got " + std::to_string(maxout_pieces));
  if (static_cast<int>(output) < 0 || static_cast<int>(output) > static_cast<int>(Output::Exp))
    throw std::invalid_argument("output holds an unknown value");
  const std::size_t hidden = sizes.size() - 2;
  if (dropout.size() > 1 && dropout.size() != hidden)
    throw std::invalid_argument("dropout must be one value or one per hidden layer: " + std::to_string(hidden) +
                                " expected, got " + std::to_string(dropout.size()));
  for (std::size_t i = 0; i < dropout.size(); ++i) {
    const std::string name = dropout.size() == 1 ? std::string("dropout") : "dropout[" + std::to_string(i) + "]";
    check_unit_interval(dropout[i], name.c_str());
  }
  if (hidden == 0 && dropout.size() == 1 && dropout[0] > 0) {
    std::ostringstream msg;
    msg << "dropout applies to hidden layers and this network has none; got " << dropout[0];
    throw std::invalid_argument(msg.str());
  }
  // Bound the parameter count so a hostile spec cannot request an absurd allocation.
  double total = 0;
  for (Index l = 0; l < n_layers(); ++l)
    total += double(dense_out(l)) * double(sizes[l] + 1);
  if (total > double(Index(1) << 32))
    throw std::invalid_argument("the network would have " + std::to_string(total) +
                                " parameters; at most 2^32 are supported");
}

Activation MlpSpec::activation(Index l) const {
  return l + 1 < n_layers() ? activations[static_cast<std::size_t>(l)] : Activation::Identity;
}

Index MlpSpec::dense_out(Index l) const {
  Index units = sizes[static_cast<std::size_t>(l + 1)];
  return activation(l) == Activation::Maxout ? units * maxout_pieces : units;
}

double MlpSpec::dropout_rate(Index l) const {
  if (dropout.empty() || l < 0 || l + 2 >= static_cast<Index>(sizes.size())) return 0.0;
  return dropout.size() == 1 ? dropout[0] : dropout[static_cast<std::size_t>(l)];
}

bool MlpSpec::has_dropout() const {
  for (double p : dropout)
    if (p > 0) return true;
  return false;
}

bool MlpSpec::operator==(const MlpSpec& o) const {
  bool same_dropout = true;
  for (Index l = 0; l + 2 < static_cast<Index>(sizes.size()); ++l)
    same_dropout = same_dropout && dropout_rate(l) == o.dropout_rate(l);
  return sizes == o.sizes && activations == o.activations && leaky_relu_slope == o.leaky_relu_slope &&
         elu_alpha == o.elu_alpha && maxout_pieces == o.maxout_pieces && output == o.output && same_dropout;
}

void SgdConfig::validate() const {
  check_lr(lr);
  check_unit_interval(momentum, "momentum");
  check_unit_interval(dampening, "dampening");
  check_non_negative(weight_decay, "weight_decay");
  if (nesterov && (momentum <= 0 || dampening != 0))
    throw std::invalid_argument("nesterov momentum requires momentum > 0 and dampening = 0");
}

void AdamConfig::validate() const {
  check_lr(lr);
  check_unit_interval(beta1, "beta1");
  check_unit_interval(beta2, "beta2");
  check_finite(eps, "eps");
  if (!(eps > 0)) throw std::invalid_argument("eps must be > 0, got " + std::to_string(eps));
  check_non_negative(weight_decay, "weight_decay");
}

}  // namespace mlpcore
