// SPDX-License-Identifier: MIT
// Internal: the three products of a dense layer, choosing per shape between Eigen's GEMM and
// row-wise kernels. Eigen's blocked GEMM pays packing costs that dominate when one dimension is
// tiny (the 2 inputs or 4 outputs of the course's 2-128-4 net); there, a loop of contiguous
// axpy / dot operations over rows is several times faster. All matrices are row-major.
#pragma once
#include "mlpcore/types.hpp"

namespace mlpcore::detail {

/// Dimensions up to this use the row-wise kernels.
constexpr Index kSmallDim = 16;

/// Z = A·Wᵀ + b.  A: n × in, W: out × in, b: out, Z: n × out.  Wt: scratch of in·out values.
template <class S>
void dense_forward(const S* A, Index n, Index in, const S* W, const S* b, Index out, S* Z, S* Wt) {
  MatrixCMap<S> a(A, n, in), w(W, out, in);
  MatrixMap<S> z(Z, n, out);
  Eigen::Map<const Eigen::Matrix<S, 1, Eigen::Dynamic>> bias(b, out);
  if (in <= kSmallDim) {
    // z_r = b + Σ_k a_rk · (Wᵀ)_k, each term a contiguous axpy over the outputs.
    MatrixMap<S> wt(Wt, in, out);
    wt = w.transpose();
    for (Index r = 0; r < n; ++r) {
      auto zr = z.row(r);
      zr = bias;
      for (Index k = 0; k < in; ++k) zr += a(r, k) * wt.row(k);
    }
  } else if (out <= kSmallDim) {
    // z_rj = b_j + a_r · w_j: contiguous dot products.
    for (Index r = 0; r < n; ++r)
      for (Index j = 0; j < out; ++j) z(r, j) = bias(j) + a.row(r).dot(w.row(j));
  } else {
    z.noalias() = a * w.transpose();
    z.rowwise() += bias;
  }
}

/// dW = dZᵀ·A and db = Σ_rows dZ.  dZ: n × out, A: n × in, dW: out × in, db: out.
/// Wt: scratch of in·out values.
template <class S>
void dense_weight_grad(const S* dZ, Index n, Index out, const S* A, Index in, S* dW, S* db, S* Wt) {
  MatrixCMap<S> dz(dZ, n, out), a(A, n, in);
  MatrixMap<S> dw(dW, out, in);
  Eigen::Map<Eigen::Matrix<S, 1, Eigen::Dynamic>> dbias(db, out);
  dbias.setZero();
  for (Index r = 0; r < n; ++r) dbias += dz.row(r);  // contiguous rows, unlike a strided column sum
  if (in <= kSmallDim) {
    // (dWᵀ)_k = Σ_r a_rk · dz_r, accumulated contiguously, then transposed once.
    MatrixMap<S> acc(Wt, in, out);
    acc.setZero();
    for (Index r = 0; r < n; ++r)
      for (Index k = 0; k < in; ++k) acc.row(k) += a(r, k) * dz.row(r);
    dw = acc.transpose();
  } else if (out <= kSmallDim) {
    // dw_j = Σ_r dz_rj · a_r
    dw.setZero();
    for (Index r = 0; r < n; ++r)
      for (Index j = 0; j < out; ++j) dw.row(j) += dz(r, j) * a.row(r);
  } else {
    dw.noalias() = dz.transpose() * a;
  }
}

/// dA = dZ·W.  dZ: n × out, W: out × in, dA: n × in.
template <class S>
void dense_input_grad(const S* dZ, Index n, Index out, const S* W, Index in, S* dA) {
  MatrixCMap<S> dz(dZ, n, out), w(W, out, in);
  MatrixMap<S> da(dA, n, in);
  if (out <= kSmallDim) {
    // da_r = Σ_j dz_rj · w_j: contiguous axpys over the inputs.
    for (Index r = 0; r < n; ++r) {
      auto dar = da.row(r);
      dar = dz(r, 0) * w.row(0);
      for (Index j = 1; j < out; ++j) dar += dz(r, j) * w.row(j);
    }
  } else {
    da.noalias() = dz * w;
  }
}

}  // namespace mlpcore::detail
