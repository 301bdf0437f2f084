// SPDX-License-Identifier: MIT
// The dense layer's three products (src/dense.hpp) in float32 against a plain float64 reference,
// on odd shapes (1, 15, 17, 1023 rows; widths not multiples of 16), with the activation fused
// into the forward product and its derivative into the input gradient, on one thread and two.
// Whatever path a shape takes (the small-dimension loops, the engine's GEMM or Eigen's), the
// results must agree with the reference to float32 rounding.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "check.hpp"
#include "thread_scope.hpp"
#include "../src/dense.hpp"
#include "mlpcore/mlpcore.hpp"

using namespace mlpcore;

namespace {

std::vector<float> random_values(Index count, std::uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (auto& x : v) x = float(scale * rng.normal());
  return v;
}

double f(Activation a, double z) {
  switch (a) {
    case Activation::Relu: return z > 0 ? z : 0;
    case Activation::Tanh: return std::tanh(z);
    case Activation::Sigmoid: return 1 / (1 + std::exp(-z));
    default: return z;
  }
}

// f'(z) written from the output y = f(z).
double df_from_y(Activation a, double y) {
  switch (a) {
    case Activation::Relu: return y > 0 ? 1 : 0;
    case Activation::Tanh: return 1 - y * y;
    case Activation::Sigmoid: return y * (1 - y);
    default: return 1;
  }
}

// Compares got with want element by element, tolerance tol[i]; one failure message per call.
void compare(const char* what, Index n, Index in, Index out, Activation a, const std::vector<float>& got,
             const std::vector<double>& want, const std::vector<double>& tol) {
  double worst = 0;
  for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]) / tol[i]);
  if (worst > 1.0) {
    char text[160];
    std::snprintf(text, sizeof text, "%s n=%ld in=%ld out=%ld act=%d: error/tol %.3g", what, long(n), long(in),
                  long(out), int(a), worst);
    FAIL_CHECK(std::string(text));
  }
}

double rounding_tol(Index terms, double scale) { return 1e-6 + 4.0 * double(terms + 1) * 6e-8 * scale; }

void check_layer(Index n, Index in, Index out, Activation act) {
  const ActivationParams ap;
  const auto A = random_values(n * in, 1), W = random_values(out * in, 2, 0.3), b = random_values(out, 3);
  const auto dZ = random_values(n * out, 4);
  std::vector<float> Yprev(static_cast<std::size_t>(n * in));  // the previous layer's outputs
  for (std::size_t i = 0; i < Yprev.size(); ++i) Yprev[i] = float(f(act, A[i]));

  // Forward: Z = f(A·Wᵀ + b).
  std::vector<float> Z(static_cast<std::size_t>(n * out)), scratch(static_cast<std::size_t>(in * out));
  detail::dense_forward<float>(A.data(), n, in, W.data(), b.data(), out, Z.data(), scratch.data(), act, ap);
  std::vector<double> want(Z.size()), tol(Z.size());
  for (Index r = 0; r < n; ++r)
    for (Index j = 0; j < out; ++j) {
      double z = b[std::size_t(j)], scale = std::fabs(z);
      for (Index k = 0; k < in; ++k) {
        const double t = double(A[std::size_t(r * in + k)]) * W[std::size_t(j * in + k)];
        z += t;
        scale += std::fabs(t);
      }
      want[std::size_t(r * out + j)] = f(act, z);
      tol[std::size_t(r * out + j)] = rounding_tol(in, scale) + 1e-6 * std::fabs(f(act, z));
    }
  compare("forward", n, in, out, act, Z, want, tol);

  // dW = dZᵀ·A, db = Σ_rows dZ.
  std::vector<float> dW(static_cast<std::size_t>(out * in)), db(static_cast<std::size_t>(out));
  detail::dense_weight_grad<float>(dZ.data(), n, out, A.data(), in, dW.data(), db.data(), scratch.data());
  want.assign(dW.size(), 0.0);
  tol.assign(dW.size(), 0.0);
  std::vector<double> want_b(db.size(), 0.0), tol_b(db.size(), 0.0);
  for (Index j = 0; j < out; ++j) {
    for (Index k = 0; k < in; ++k) {
      double s = 0, scale = 0;
      for (Index r = 0; r < n; ++r) {
        const double t = double(dZ[std::size_t(r * out + j)]) * A[std::size_t(r * in + k)];
        s += t;
        scale += std::fabs(t);
      }
      want[std::size_t(j * in + k)] = s;
      tol[std::size_t(j * in + k)] = rounding_tol(n, scale);
    }
    double s = 0, scale = 0;
    for (Index r = 0; r < n; ++r) {
      s += dZ[std::size_t(r * out + j)];
      scale += std::fabs(dZ[std::size_t(r * out + j)]);
    }
    want_b[std::size_t(j)] = s;
    tol_b[std::size_t(j)] = rounding_tol(n, scale);
  }
  compare("weight grad", n, in, out, act, dW, want, tol);
  compare("bias grad", n, in, out, act, db, want_b, tol_b);

  // dA = (dZ·W) ⊙ f'(Yprev).
  std::vector<float> dA(static_cast<std::size_t>(n * in));
  detail::dense_input_grad<float>(dZ.data(), n, out, W.data(), in, dA.data(), Yprev.data(), act, ap);
  want.assign(dA.size(), 0.0);
  tol.assign(dA.size(), 0.0);
  for (Index r = 0; r < n; ++r)
    for (Index k = 0; k < in; ++k) {
      double s = 0, scale = 0;
      for (Index j = 0; j < out; ++j) {
        const double t = double(dZ[std::size_t(r * out + j)]) * W[std::size_t(j * in + k)];
        s += t;
        scale += std::fabs(t);
      }
      const double d = df_from_y(act, Yprev[std::size_t(r * in + k)]);
      want[std::size_t(r * in + k)] = s * d;
      tol[std::size_t(r * in + k)] = rounding_tol(out, scale) * std::fabs(d) + 1e-6;
    }
  compare("input grad", n, in, out, act, dA, want, tol);
}

}  // namespace

TEST_CASE(layer_products_match_float64_on_odd_shapes) {
  const Activation kActs[3] = {Activation::Tanh, Activation::Relu, Activation::Identity};
  for (int threads : {1, 2}) {
    const Threads t(threads);
    for (Index n : {1, 15, 17, 1023})
      for (Index in : {1, 3, 17, 33, 100, 257})
        for (Index out : {1, 3, 17, 33, 100, 257})
          check_layer(n, in, out, kActs[(in + out) % 3]);
  }
}

TEST_CASE(layer_products_every_fused_activation) {
  for (Activation a : {Activation::Relu, Activation::Tanh, Activation::Sigmoid, Activation::Identity})
    check_layer(129, 784, 100, a);
}

CHECK_MAIN()
