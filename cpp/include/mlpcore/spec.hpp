// SPDX-License-Identifier: MIT
/// Plain descriptions of a network and its training hyper-parameters, with validation.
/// Python maps names onto these structs; `validate` here is the single source of truth.
#pragma once
#include <string>
#include <vector>

#include "types.hpp"

namespace mlpcore {

/// Element-wise (or, for maxout, piecewise) nonlinearity applied after a dense layer.
enum class Activation { Identity, Sigmoid, Tanh, Relu, LeakyRelu, Elu, Maxout };

/// Weight initializer (biases always start at zero).
///  - Xavier:           U(-1/sqrt(fan_in), +1/sqrt(fan_in))
///  - NormalizedXavier: U(-sqrt(6/(fan_in+fan_out)), +sqrt(6/(fan_in+fan_out)))   (Glorot & Bengio 2010)
///  - XavierNormal:     N(0, 2/(fan_in+fan_out))
///  - He:               N(0, 2/fan_in)
///  - HeUniform:        U(-sqrt(6/fan_in), +sqrt(6/fan_in))
///  - Random:           N(0, scale^2), scale default 0.01
/// fan_out counts units (not maxout pieces).
enum class Init { Xavier, NormalizedXavier, XavierNormal, He, HeUniform, Random };

/// What the last layer's logits mean; decides predict_proba and the matching loss. Exp is the
/// log link of Poisson regression: the prediction is e^z (a mean count or rate), z its logarithm.
enum class Output { Softmax, Sigmoid, Identity, Exp };

/// Training objective, computed from the logits (never from probabilities).
enum class Loss { CrossEntropy, BinaryCrossEntropy, Mse, Poisson };

/// How a float32 model runs its matrix products (a run-time setting, not part of the model
/// file): Float32 throughout, or Bf16 — operands rounded to bfloat16, float32 accumulation,
/// everything else (weights, optimizer state, loss, softmax) float32. See precision.hpp.
enum class Precision { Float32, Bf16 };

/// Lower-snake names used by Python, the model file and error messages.
const char* to_string(Activation a);
const char* to_string(Init i);
const char* to_string(Output o);
const char* to_string(Loss l);
const char* to_string(Precision p);
/// Every name accepted for one kind of choice, in enum order: kind is "activation", "init",
/// "output", "loss" or "precision". The single list Python, the config and the CLI offer; throws
/// std::invalid_argument for another kind.
std::vector<std::string> choice_names(const std::string& kind);
/// Parse a name; throws std::invalid_argument listing the allowed names.
Activation activation_from_string(const std::string& name);
Init init_from_string(const std::string& name);
Output output_from_string(const std::string& name);
Loss loss_from_string(const std::string& name);
Precision precision_from_string(const std::string& name);
/// The loss that matches an output kind (softmax → cross_entropy, ...).
Loss default_loss(Output o);

/// Architecture of a multi-layer perceptron.
/// Invariants after validate(): sizes.size() >= 2, every size >= 1,
/// activations.size() == sizes.size() - 2 (one per hidden layer; the last layer emits logits).
struct MlpSpec {
  std::vector<Index> sizes;              ///< [in, hidden..., out]
  std::vector<Activation> activations;   ///< one per hidden layer
  double leaky_relu_slope = 0.1;         ///< y = max(slope*x, x); must be in (0, 1)
  double elu_alpha = 1.0;                ///< y = alpha*(e^x - 1) for x < 0; must be > 0
  int maxout_pieces = 2;                 ///< k linear pieces per maxout unit; 2..64
  Output output = Output::Softmax;
  /// Inverted dropout during training (Srivastava et al. 2014): the probability p in [0, 1) of
  /// zeroing a unit of a hidden layer's output, survivors scaled by 1/(1 − p). Empty means none;
  /// one value applies to every hidden layer; else one value per hidden layer. Inference never
  /// drops (see BasicMlp).
  std::vector<double> dropout;
  /// Throws std::invalid_argument naming the field and the offending value.
  void validate() const;
  Index n_layers() const { return static_cast<Index>(sizes.size()) - 1; }
  Index n_inputs() const { return sizes.front(); }
  Index n_outputs() const { return sizes.back(); }
  /// Activation after dense layer `l` (Identity for the output layer).
  Activation activation(Index l) const;
  /// Rows of layer l's weight matrix: units × pieces (pieces = k for maxout, else 1).
  Index dense_out(Index l) const;
  /// Dropout probability of hidden layer l (0 when there is none).
  double dropout_rate(Index l) const;
  /// True when some hidden layer drops units in training.
  bool has_dropout() const;
  bool operator==(const MlpSpec& o) const;
};

/// Stochastic gradient descent with momentum, PyTorch's torch.optim.SGD rule:
///   g = grad + weight_decay * p
///   buf = g (first step) or momentum * buf + (1 - dampening) * g
///   g = g + momentum * buf (nesterov) or buf;   p -= lr * g
struct SgdConfig {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
  void validate() const;
};

/// Adam (Kingma & Ba, arXiv:1412.6980) exactly as torch.optim.Adam / AdamW compute it:
///   g = grad + wd * p            (L2, decoupled = false)   or  p *= 1 - lr * wd  (AdamW)
///   m = beta1 m + (1-beta1) g;  v = beta2 v + (1-beta2) g²;  vmax = max(vmax, v) (amsgrad)
///   p -= lr / (1 - beta1^t) * m / (sqrt(v or vmax) / sqrt(1 - beta2^t) + eps)
/// eps is added after the square root.
struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
  bool decoupled = false;
  void validate() const;
};

}  // namespace mlpcore
