// SPDX-License-Identifier: MIT
// Internal: the three products of a dense layer, choosing per shape between Eigen's GEMM and
// row-wise loops. Eigen's blocked GEMM pays packing costs that dominate when one dimension is
// tiny (the 2 inputs or 4 outputs of the course's 2-128-4 net); there, plain loops of
// contiguous axpy / dot operations, which the compiler vectorises, are several times faster
// (measured: 2-128-4 at batch 128 went from 33 to under 20 µs per training step).
// Larger float32 products run on the engine's own GEMM (gemm/sgemm.hpp) where the build targets
// AVX-512 or AVX2 + FMA, with the bias and the activation (forward) or its derivative (input
// gradient) applied to each block of the result while it is still in cache; float64, and builds
// without those instruction sets, use Eigen's GEMM.
// All matrices are row-major; pointers do not alias (hence __restrict).
#pragma once
#include <algorithm>
#include <type_traits>

#include "mlpcore/activation.hpp"
#include "mlpcore/types.hpp"
#include "gemm/sgemm.hpp"
#include "parallel.hpp"

namespace mlpcore::detail {

/// Dimensions up to this use the row-wise loops.
constexpr Index kSmallDim = 16;
/// Rows per block when the row-wise loops fuse the activation (a block stays in L1 cache).
constexpr Index kFuseRows = 16;

/// dst = lhs · rhs with Eigen's GEMM (float64, and float32 where gemm::kEnabled is false); dst
/// must not overlap lhs or rhs. From kParallelWork
/// multiply-adds on, cut into blocks of dst's rows (or columns, when it has more of them), a few
/// per engine thread, each a GEMM of its own shared out between the threads (parallel.hpp);
/// below that, on the calling thread.
template <class Dst, class Lhs, class Rhs>
void product(Dst dst, const Lhs& lhs, const Rhs& rhs) {
  const bool by_rows = dst.rows() >= dst.cols();
  const Index extent = by_rows ? dst.rows() : dst.cols();
  const double work = double(dst.rows()) * double(dst.cols()) * double(lhs.cols());
  const int threads = product_parts(work, extent);
  for_parts(extent, threads, product_pieces(work, extent, threads), [&](Index begin, Index end) {
    if (by_rows)
      dst.middleRows(begin, end - begin).noalias() = lhs.middleRows(begin, end - begin) * rhs;
    else
      dst.middleCols(begin, end - begin).noalias() = lhs * rhs.middleCols(begin, end - begin);
  });
}

/// True when products of scalar S run on gemm::sgemm.
template <class S>
constexpr bool kOwnGemm = gemm::kEnabled && std::is_same_v<S, float>;

/// A block of a row-major matrix whose rows are `stride` apart.
template <class S>
using StridedMap = Eigen::Map<RowMatrix<S>, 0, Eigen::OuterStride<>>;
template <class S>
using StridedCMap = Eigen::Map<const RowMatrix<S>, 0, Eigen::OuterStride<>>;

/// Rows [begin, end) of Z = f(A·Wᵀ + b) for in ≤ kSmallDim: z_r = b + Σ_k a_rk · (Wᵀ)_k, each term
/// a contiguous axpy over the outputs (Wt holds Wᵀ, in × out), f applied per kFuseRows rows while
/// they are in L1.
template <class S>
void forward_narrow_in(const S* __restrict A, Index in, const S* __restrict Wt, const S* __restrict b, Index out,
                       S* __restrict Z, Index begin, Index end, Activation act, const ActivationParams& ap) {
  for (Index r0 = begin; r0 < end; r0 += kFuseRows) {
    const Index r1 = std::min(end, r0 + kFuseRows);
    for (Index r = r0; r < r1; ++r) {
      S* __restrict zr = Z + r * out;
      const S* ar = A + r * in;
      for (Index j = 0; j < out; ++j) zr[j] = b[j];
      for (Index k = 0; k < in; ++k) {
        const S ak = ar[k];
        const S* __restrict wk = Wt + k * out;
        for (Index j = 0; j < out; ++j) zr[j] += ak * wk[j];
      }
    }
    activation_forward<S>(act, ap, MatrixMap<S>(Z + r0 * out, r1 - r0, out));
  }
}

/// Rows [begin, end) of Z = f(A·Wᵀ + b) for out ≤ kSmallDim: z_rj = b_j + a_r · w_j, contiguous
/// dot products (Eigen reduces them with SIMD).
template <class S>
void forward_narrow_out(const S* __restrict A, Index in, const S* __restrict W, const S* __restrict b, Index out,
                        S* __restrict Z, Index begin, Index end, Activation act, const ActivationParams& ap) {
  MatrixCMap<S> a(A, end, in), w(W, out, in);
  for (Index r = begin; r < end; ++r)
    for (Index j = 0; j < out; ++j) Z[r * out + j] = b[j] + a.row(r).dot(w.row(j));
  activation_forward<S>(act, ap, MatrixMap<S>(Z + begin * out, end - begin, out));
}

/// Rows [begin, end) of dA = (dZ·W) ⊙ f'(Y) for out ≤ kSmallDim: da_r = Σ_j dz_rj · w_j,
/// contiguous axpys over the inputs, f' applied per kFuseRows rows while they are in L1.
template <class S>
void input_grad_narrow_out(const S* __restrict dZ, Index out, const S* __restrict W, Index in, S* __restrict dA,
                           const S* Y, Index begin, Index end, Activation act, const ActivationParams& ap) {
  for (Index r0 = begin; r0 < end; r0 += kFuseRows) {
    const Index r1 = std::min(end, r0 + kFuseRows);
    for (Index r = r0; r < r1; ++r) {
      S* __restrict dar = dA + r * in;
      const S g0 = dZ[r * out];
      for (Index k = 0; k < in; ++k) dar[k] = g0 * W[k];
      for (Index j = 1; j < out; ++j) {
        const S g = dZ[r * out + j];
        const S* __restrict wj = W + j * in;
        for (Index k = 0; k < in; ++k) dar[k] += g * wj[k];
      }
    }
    activation_backward<S>(act, ap, MatrixCMap<S>(Y + r0 * in, r1 - r0, in), MatrixMap<S>(dA + r0 * in, r1 - r0, in));
  }
}

/// Z = f(A·Wᵀ + b).  A: n × in, W: out × in, b: out, Z: n × out.  Wt: scratch of in·out values.
/// f is the activation `act` (not Maxout; pass Identity to get the pre-activation).
template <class S>
void dense_forward(const S* __restrict A, Index n, Index in, const S* __restrict W, const S* __restrict b,
                   Index out, S* __restrict Z, S* __restrict Wt, Activation act, const ActivationParams& ap) {
  if (in <= kSmallDim) {
    // z_r = b + Σ_k a_rk · (Wᵀ)_k: each term a contiguous axpy over the outputs.
    for (Index k = 0; k < in; ++k)
      for (Index j = 0; j < out; ++j) Wt[k * out + j] = W[j * in + k];
    const double work = double(n) * double(in) * double(out);
    for_parts(n, loop_parts(work, n), loop_parts(work, n),
              [&](Index begin, Index end) { forward_narrow_in<S>(A, in, Wt, b, out, Z, begin, end, act, ap); });
  } else if (out <= kSmallDim) {
    // z_rj = b_j + a_r · w_j: contiguous dot products (Eigen reduces them with SIMD).
    const double work = double(n) * double(in) * double(out);
    const int threads = loop_parts(work, n);
    if (threads <= 1)
      forward_narrow_out<S>(A, in, W, b, out, Z, 0, n, act, ap);
    else
      for_parts(n, threads, threads,
                [&](Index begin, Index end) { forward_narrow_out<S>(A, in, W, b, out, Z, begin, end, act, ap); });
  } else if constexpr (kOwnGemm<S>) {
    // Z = A·Wᵀ: A row-major (n × in), Wᵀ read down W's rows; each block of Z gets b, then f.
    struct Fuse {
      S* Z;
      Index out;
      Activation act;
      const ActivationParams& ap;
    } fuse{Z, out, act, ap};
    gemm::Product p;
    p.m = n, p.n = out, p.k = in;
    p.a = A, p.a_row = in, p.a_col = 1;
    p.b = W, p.b_row = 1, p.b_col = in;
    p.c = Z, p.ldc = out, p.bias = b;
    if (act != Activation::Identity) {
      p.epilogue = [](const void* context, Index row, Index rows, Index col, Index cols) {
        const Fuse& f = *static_cast<const Fuse*>(context);
        const Eigen::OuterStride<> stride(f.out);
        activation_forward<S>(f.act, f.ap, StridedMap<S>(f.Z + row * f.out + col, rows, cols, stride));
      };
      p.epilogue_context = &fuse;
    }
    gemm::sgemm(p, engine_threads());
  } else {
    MatrixCMap<S> a(A, n, in), w(W, out, in);
    MatrixMap<S> z(Z, n, out);
    product(z, a, w.transpose());
    z.rowwise() += Eigen::Map<const Eigen::Matrix<S, 1, Eigen::Dynamic>>(b, out);
    activation_forward<S>(act, ap, z);
  }
}

/// db = Σ_rows dZ (dZ: n × out), summed down the rows in order (a contiguous pass per row); a
/// large one is split between the threads by columns, so the sums do not depend on the split.
template <class S>
void bias_grad(const S* __restrict dZ, Index n, Index out, S* __restrict db) {
  const double values = double(n) * double(out);
  for_parts(out, loop_parts(values, out), loop_parts(values, out), [&](Index j0, Index j1) {
    for (Index j = j0; j < j1; ++j) db[j] = S(0);
    for (Index r = 0; r < n; ++r) {
      const S* __restrict dzr = dZ + r * out;
      for (Index j = j0; j < j1; ++j) db[j] += dzr[j];
    }
  });
}

/// dW = dZᵀ·A and db = Σ_rows dZ.  dZ: n × out, A: n × in, dW: out × in, db: out.
/// Wt: scratch of in·out values.
template <class S>
void dense_weight_grad(const S* __restrict dZ, Index n, Index out, const S* __restrict A, Index in,
                       S* __restrict dW, S* __restrict db, S* __restrict Wt) {
  bias_grad<S>(dZ, n, out, db);
  const double work = double(n) * double(out) * double(in);
  if (in <= kSmallDim) {
    // (dWᵀ)_k = Σ_r a_rk · dz_r, accumulated contiguously, then transposed once; each thread
    // takes its own outputs.
    for_parts(out, loop_parts(work, out), loop_parts(work, out), [&](Index j0, Index j1) {
      for (Index k = 0; k < in; ++k)
        for (Index j = j0; j < j1; ++j) Wt[k * out + j] = S(0);
      for (Index r = 0; r < n; ++r) {
        const S* __restrict dzr = dZ + r * out;
        for (Index k = 0; k < in; ++k) {
          const S ak = A[r * in + k];
          S* __restrict acc = Wt + k * out;
          for (Index j = j0; j < j1; ++j) acc[j] += ak * dzr[j];
        }
      }
      for (Index j = j0; j < j1; ++j)
        for (Index k = 0; k < in; ++k) dW[j * in + k] = Wt[k * out + j];
    });
  } else if (out <= kSmallDim) {
    // dw_j = Σ_r dz_rj · a_r. One thread: split by columns of dW, threads would write the same
    // cache lines at every row (measured 4× slower at batch 1024).
    for (Index i = 0; i < out * in; ++i) dW[i] = S(0);
    for (Index r = 0; r < n; ++r) {
      const S* __restrict ar = A + r * in;
      for (Index j = 0; j < out; ++j) {
        const S g = dZ[r * out + j];
        S* __restrict dwj = dW + j * in;
        for (Index k = 0; k < in; ++k) dwj[k] += g * ar[k];
      }
    }
  } else if constexpr (kOwnGemm<S>) {
    // dW = dZᵀ·A: dZᵀ's column r is dZ's row r (contiguous), A row-major.
    gemm::Product p;
    p.m = out, p.n = in, p.k = n;
    p.a = dZ, p.a_row = 1, p.a_col = out;
    p.b = A, p.b_row = in, p.b_col = 1;
    p.c = dW, p.ldc = in;
    gemm::sgemm(p, engine_threads());
  } else {
    MatrixCMap<S> dz(dZ, n, out), a(A, n, in);
    MatrixMap<S> dw(dW, out, in);
    product(dw, dz.transpose(), a);
  }
}

/// dA = (dZ·W) ⊙ f'(Y): the gradient through the layer and the previous layer's activation
/// `act` (evaluated from that layer's outputs Y, n × in; pass Identity for dZ·W alone).
/// dZ: n × out, W: out × in, dA: n × in.
template <class S>
void dense_input_grad(const S* __restrict dZ, Index n, Index out, const S* __restrict W, Index in,
                      S* __restrict dA, const S* Y, Activation act, const ActivationParams& ap) {
  if (out <= kSmallDim) {
    // da_r = Σ_j dz_rj · w_j: contiguous axpys over the inputs.
    const double work = double(n) * double(in) * double(out);
    for_parts(n, loop_parts(work, n), loop_parts(work, n),
              [&](Index begin, Index end) { input_grad_narrow_out<S>(dZ, out, W, in, dA, Y, begin, end, act, ap); });
  } else if constexpr (kOwnGemm<S>) {
    // dA = dZ·W, both row-major; each block of dA is multiplied by f'(Y) while in cache.
    struct Fuse {
      S* dA;
      const S* Y;
      Index in;
      Activation act;
      const ActivationParams& ap;
    } fuse{dA, Y, in, act, ap};
    gemm::Product p;
    p.m = n, p.n = in, p.k = out;
    p.a = dZ, p.a_row = out, p.a_col = 1;
    p.b = W, p.b_row = in, p.b_col = 1;
    p.c = dA, p.ldc = in;
    if (act != Activation::Identity) {
      p.epilogue = [](const void* context, Index row, Index rows, Index col, Index cols) {
        const Fuse& f = *static_cast<const Fuse*>(context);
        const Eigen::OuterStride<> stride(f.in);
        activation_backward<S>(f.act, f.ap, StridedCMap<S>(f.Y + row * f.in + col, rows, cols, stride),
                               StridedMap<S>(f.dA + row * f.in + col, rows, cols, stride));
      };
      p.epilogue_context = &fuse;
    }
    gemm::sgemm(p, engine_threads());
  } else {
    MatrixCMap<S> dz(dZ, n, out), w(W, out, in);
    MatrixMap<S> da(dA, n, in);
    product(da, dz, w);
    activation_backward<S>(act, ap, MatrixCMap<S>(Y, n, in), da);
  }
}

}  // namespace mlpcore::detail
