// SPDX-License-Identifier: MIT
// The dense layers' products side by side in one run, on one thread: the forward product, dL_dW
// and dL_dX of every layer of a training step of a 784-h1-h2-10 ReLU net, through the engine's
// float32 GEMM (cpp/src/dense.hpp: packed blocks, bias and activation fused) and through Eigen's
// GEMM with separate bias and activation passes. The two alternate, 11 rounds; prints medians,
// real GFLOP/s (the first layer's dL_dX is not computed) and the ratio. On a busy machine the
// ratio, not the rates, is the result. Build against a plain C++ build of the engine:
//
//   c++ -O3 -march=native -mprefer-vector-width=512 -std=c++17 -fno-math-errno -fopenmp \
//     -DEIGEN_MAX_ALIGN_BYTES=64 -Icpp/include -I<eigen3> benchmarks/bench_products.cpp \
//     <build>/cpp/libmlpcore_core.a -o bench_products
//   ./bench_products 1024 256 128 4     # rows, h1, h2, steps per timed run
#include <chrono>
#include <cstdio>
#include <vector>
#include <algorithm>
#include <cstdlib>
#include "../cpp/src/dense.hpp"
#include "mlpcore/mlpcore.hpp"
using namespace mlpcore;
int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s ROWS H1 H2 STEPS\n", argv[0]);
    return 2;
  }
  const long n = std::atol(argv[1]), h1 = std::atol(argv[2]), h2 = std::atol(argv[3]);
  const int steps = std::atoi(argv[4]);
  if (n < 1 || h1 < 17 || h2 < 17 || steps < 1) {
    std::fprintf(stderr, "ROWS and STEPS must be >= 1, H1 and H2 >= 17 (smaller widths take other loops)\n");
    return 2;
  }
  set_num_threads(1);
  detail::SerialProducts serial;
  long sz[] = {784, h1, h2, 10};
  std::vector<std::vector<float>> act(4), W(3), b(3), dW(3), db(3), dz(3);
  act[0].assign(n * 784, 0.5f);
  for (int l = 0; l < 3; ++l) {
    act[l + 1].assign(n * sz[l + 1], 0.f); W[l].assign(sz[l] * sz[l + 1], 0.01f); b[l].assign(sz[l + 1], 0.1f);
    dW[l].assign(sz[l] * sz[l + 1], 0); db[l].assign(sz[l + 1], 0); dz[l].assign(n * sz[l + 1], 0.01f);
  }
  std::vector<float> T(std::size_t(784 * std::max(h1, h2) + h1 * h2));
  ActivationParams ap;
  auto own = [&] {
    for (int s = 0; s < steps; ++s) {
      for (int l = 0; l < 3; ++l)
        detail::dense_forward<float>(act[l].data(), n, sz[l], W[l].data(), b[l].data(), sz[l + 1], act[l + 1].data(), T.data(), l < 2 ? Activation::Relu : Activation::Identity, ap);
      for (int l = 2; l >= 0; --l) {
        detail::dense_weight_grad<float>(dz[l].data(), n, sz[l + 1], act[l].data(), sz[l], dW[l].data(), db[l].data(), T.data());
        if (l > 0) detail::dense_input_grad<float>(dz[l].data(), n, sz[l + 1], W[l].data(), sz[l], dz[l - 1].data(), act[l].data(), Activation::Relu, ap);
      }
    }
  };
  auto eigen = [&] {
    for (int s = 0; s < steps; ++s) {
      for (int l = 0; l < 2; ++l) {  // layers 1, 2 (the 10-output layer takes the same small loops in both)
        MatrixCMap<float> a(act[l].data(), n, sz[l]), w(W[l].data(), sz[l + 1], sz[l]);
        MatrixMap<float> z(act[l + 1].data(), n, sz[l + 1]);
        z.noalias() = a * w.transpose();
        z.rowwise() += Eigen::Map<const Eigen::Matrix<float, 1, Eigen::Dynamic>>(b[l].data(), sz[l + 1]);
        activation_forward<float>(Activation::Relu, ap, z);
      }
      detail::dense_forward<float>(act[2].data(), n, sz[2], W[2].data(), b[2].data(), 10, act[3].data(), T.data(), Activation::Identity, ap);
      detail::dense_weight_grad<float>(dz[2].data(), n, 10, act[2].data(), sz[2], dW[2].data(), db[2].data(), T.data());
      detail::dense_input_grad<float>(dz[2].data(), n, 10, W[2].data(), sz[2], dz[1].data(), act[2].data(), Activation::Relu, ap);
      for (int l = 1; l >= 0; --l) {
        MatrixCMap<float> d(dz[l].data(), n, sz[l + 1]), a(act[l].data(), n, sz[l]), w(W[l].data(), sz[l + 1], sz[l]);
        MatrixMap<float> dw(dW[l].data(), sz[l + 1], sz[l]);
        dw.noalias() = d.transpose() * a;
        Eigen::Map<Eigen::Matrix<float, 1, Eigen::Dynamic>>(db[l].data(), sz[l + 1]) = d.colwise().sum();
        if (l > 0) {
          MatrixMap<float> da(dz[l - 1].data(), n, sz[l]);
          da.noalias() = d * w;
          activation_backward<float>(Activation::Relu, ap, MatrixCMap<float>(act[l].data(), n, sz[l]), da);
        }
      }
    }
  };
  std::vector<double> ta, tb;
  for (int r = 0; r < 11; ++r)
    for (int v = 0; v < 2; ++v) {
      auto t0 = std::chrono::steady_clock::now();
      ((r + v) % 2 ? (void)own() : (void)eigen());
      double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ((r + v) % 2 ? ta : tb).push_back(dt);
    }
  std::sort(ta.begin(), ta.end()); std::sort(tb.begin(), tb.end());
  double flops = 2.0 * n * steps * (3.0 * (784 * h1 + h1 * h2 + h2 * 10) - 784 * h1);
  printf("784-%ld-%ld-10 b%ld: own %.2f ms (%.0f GFLOP/s)  eigen %.2f ms (%.0f GFLOP/s)  own/eigen speed %.2f  (best: own %.0f, eigen %.0f GFLOP/s)\n",
         h1, h2, n, ta[5] * 1e3, flops / ta[5] * 1e-9, tb[5] * 1e3, flops / tb[5] * 1e-9, tb[5] / ta[5], flops / ta[0] * 1e-9, flops / tb[0] * 1e-9);
}
