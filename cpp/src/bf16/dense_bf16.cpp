// SPDX-License-Identifier: MIT
// Mixed-precision layer products: the matrix product on the best bf16 engine (gemm.cpp), every
// other step in float32. The three products of BasicMlp's passes map onto C = A·B as
//   forward   Z  = A · Wᵀ     A: n × in (rows),     B = Wᵀ: W read transposed
//   weights   dW = dZᵀ · A    A = dZᵀ: dZ read transposed,  B = A_prev (rows)
//   inputs    dA = dZ · W     A = dZ (rows),        B = W (rows)
#include "dense_bf16.hpp"

#include "gemm.hpp"
#include "mlpcore/precision.hpp"

namespace mlpcore::bf16 {

void dense_forward(const float* A, Index n, Index in, const float* W, const float* b, Index out, float* Z,
                   Activation act, const ActivationParams& ap) {
  gemm(bf16_engine(), View{A, in, false}, View{W, in, true}, n, out, in, Z, out);
  MatrixMap<float> z(Z, n, out);
  z.rowwise() += Eigen::Map<const Eigen::Matrix<float, 1, Eigen::Dynamic>>(b, out);
  activation_forward<float>(act, ap, z);
}

void dense_weight_grad(const float* dZ, Index n, Index out, const float* A, Index in, float* dW, float* db) {
  detail::bias_grad<float>(dZ, n, out, db);  // float32, exactly as the float32 path sums it
  gemm(bf16_engine(), View{dZ, out, true}, View{A, in, false}, out, in, n, dW, in);
}

void dense_input_grad(const float* dZ, Index n, Index out, const float* W, Index in, float* dA, const float* Y,
                      Activation act, const ActivationParams& ap) {
  gemm(bf16_engine(), View{dZ, out, false}, View{W, in, false}, n, in, out, dA, in);
  activation_backward<float>(act, ap, MatrixCMap<float>(Y, n, in), MatrixMap<float>(dA, n, in));
}

}  // namespace mlpcore::bf16
