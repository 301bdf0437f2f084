// SPDX-License-Identifier: MIT
// Losses from logits through log-sum-exp and softplus, fused with dL_dZ in one pass per row.
#include "mlpcore/loss.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "math.hpp"

namespace mlpcore {

template <class S>
void validate_targets(Loss loss, Index n, Index outputs, const TargetView<S>& t, const S* weights) {
  if (t.rows != n) {
    std::ostringstream m;
    m << "y has " << t.rows << " rows but X has " << n;
    throw std::invalid_argument(m.str());
  }
  if (t.is_labels()) {
    if (loss != Loss::CrossEntropy)
      throw std::invalid_argument(std::string("integer class labels need loss 'cross_entropy'; loss '") +
                                  to_string(loss) + "' needs y of shape (n, " + std::to_string(outputs) + ")");
    for (Index i = 0; i < n; ++i)
      if (t.labels[i] < 0 || t.labels[i] >= outputs) {
        std::ostringstream m;
        m << "label " << t.labels[i] << " at row " << i << " is out of range [0, " << outputs << ")";
        throw std::invalid_argument(m.str());
      }
  } else {
    if (t.dense == nullptr) throw std::invalid_argument("y is missing");
    if (t.cols != outputs) {
      std::ostringstream m;
      m << "y has " << t.cols << " columns, model has " << outputs << " outputs";
      throw std::invalid_argument(m.str());
    }
    const Index count = n * outputs;
    for (Index i = 0; i < count; ++i)
      if (!std::isfinite(t.dense[i]))
        throw std::invalid_argument("y contains NaN or infinity at row " + std::to_string(i / outputs));
    if (loss == Loss::Poisson)
      for (Index i = 0; i < count; ++i)
        if (t.dense[i] < 0)
          throw std::invalid_argument("targets for 'poisson' must be >= 0; row " + std::to_string(i / outputs) +
                                      " has " + std::to_string(double(t.dense[i])));
    if (loss == Loss::BinaryCrossEntropy || loss == Loss::CrossEntropy)
      for (Index i = 0; i < count; ++i)
        if (t.dense[i] < 0 || t.dense[i] > 1)
          throw std::invalid_argument(std::string("targets for '") + to_string(loss) +
                                      "' must be in [0, 1]; row " + std::to_string(i / outputs) +
                                      " has " + std::to_string(double(t.dense[i])));
  }
  if (weights) {
    double sum = 0;
    for (Index i = 0; i < n; ++i) {
      if (!std::isfinite(weights[i]) || weights[i] < 0)
        throw std::invalid_argument("sample_weight must be finite and >= 0; row " + std::to_string(i) +
                                    " has " + std::to_string(double(weights[i])));
      sum += weights[i];
    }
    if (!(sum > 0)) throw std::invalid_argument("sample_weight sums to zero");
  }
}

template <class S>
double loss_and_grad(Loss loss, const MatrixCRef<S>& Z, const TargetView<S>& t, const S* weights,
                     S* dL_dZ) {
  return loss_and_grad_scaled<S>(loss, Z, t, weights, detail::weight_sum(Z.rows(), weights), dL_dZ);
}

template <class S>
double loss_and_grad_scaled(Loss loss, const MatrixCRef<S>& Z, const TargetView<S>& t, const S* weights,
                            double wsum, S* dL_dZ) {
  const Index n = Z.rows(), C = Z.cols();
  // Each row's gradient is scaled by w_i / Σw (and 1/C for the element-wise losses).
  const double per_elem = (loss == Loss::CrossEntropy) ? 1.0 : 1.0 / double(C);
  double total = 0;
  if (loss == Loss::CrossEntropy && dL_dZ) {
    // Fast path: exponentiate the whole shifted block at once (vectorised across rows), then
    // finish each row: p = e / Σe, ℓ = log Σe + max − Σ t z / Σ t …, dℓ/dz = p·Σt − t.
    MatrixMap<S> D(dL_dZ, n, C);
    for (Index i = 0; i < n; ++i) D.row(i).array() = Z.row(i).array() - Z.row(i).maxCoeff();
    D.array() = D.array().exp();
    for (Index i = 0; i < n; ++i) {
      auto d = D.row(i).array();
      const auto z = Z.row(i).array();
      const S sumexp = d.sum();
      const S lse = z.maxCoeff() + std::log(sumexp);
      const double w = weights ? double(weights[i]) : 1.0;
      const S g = S(w / wsum);
      double li;
      if (t.is_labels()) {
        const std::int32_t y = t.labels[i];
        li = double(lse) - double(z(y));
        d *= g / sumexp;
        d(y) -= g;
      } else {
        Eigen::Map<const Eigen::Array<S, 1, Eigen::Dynamic>> trow(t.dense + i * C, C);
        const S tsum = trow.sum();
        li = double(lse) * double(tsum) - double((trow * z).sum());
        d = (d * (tsum / sumexp) - trow) * g;
      }
      total += w * li;
    }
    return total / wsum;
  }
  for (Index i = 0; i < n; ++i) {
    const auto z = Z.row(i).array();
    const double w = weights ? double(weights[i]) : 1.0;
    const S g = S(w / wsum * per_elem);
    S* d = dL_dZ ? dL_dZ + i * C : nullptr;
    const S* ti = t.is_labels() ? nullptr : t.dense + i * C;
    double li = 0;
    switch (loss) {
      case Loss::CrossEntropy: {
        // ℓ = lse(z)·Σt − Σ t z ; dℓ/dz = softmax(z)·Σt − t
        const S zmax = z.maxCoeff();
        const S sumexp = (z - zmax).exp().sum();
        const S lse = zmax + std::log(sumexp);
        if (t.is_labels()) {
          const std::int32_t y = t.labels[i];
          li = double(lse) - double(z(y));
          if (d) {
            Eigen::Map<Eigen::Array<S, 1, Eigen::Dynamic>> drow(d, C);
            drow = (z - lse).exp() * g;
            drow(y) -= g;
          }
        } else {
          Eigen::Map<const Eigen::Array<S, 1, Eigen::Dynamic>> trow(ti, C);
          const S tsum = trow.sum();
          li = double(lse) * double(tsum) - double((trow * z).sum());
          if (d) {
            Eigen::Map<Eigen::Array<S, 1, Eigen::Dynamic>> drow(d, C);
            drow = ((z - lse).exp() * tsum - trow) * g;
          }
        }
        break;
      }
      case Loss::BinaryCrossEntropy: {
        // ℓ = max(z,0) − z t + log1p(e^−|z|) ; dℓ/dz = σ(z) − t
        Eigen::Map<const Eigen::Array<S, 1, Eigen::Dynamic>> trow(ti, C);
        li = double((z.max(S(0)) - z * trow + (-z.abs()).exp().log1p()).sum());
        if (d) {
          Eigen::Map<Eigen::Array<S, 1, Eigen::Dynamic>> drow(d, C);
          drow = z;
          detail::in_blocks<S>(d, C, detail::sigmoid_block<S>);
          drow = (drow - trow) * g;
        }
        break;
      }
      case Loss::Mse: {
        Eigen::Map<const Eigen::Array<S, 1, Eigen::Dynamic>> trow(ti, C);
        li = double((z - trow).square().sum());
        if (d) {
          Eigen::Map<Eigen::Array<S, 1, Eigen::Dynamic>> drow(d, C);
          drow = (z - trow) * (S(2) * g);
        }
        break;
      }
      case Loss::Poisson: {
        // ℓ = e^z − t z ; dℓ/dz = e^z − t. e^z in aligned blocks (detail::in_blocks), so the
        // value and gradient depend on the row's logits alone, with or without the gradient.
        const S* zi = Z.row(i).data();
        detail::Block<S> e;
        for (Index j0 = 0; j0 < C; j0 += detail::kBlock) {
          const Index m = std::min(detail::kBlock, C - j0);
          e.setZero();
          for (Index j = 0; j < m; ++j) e[j] = zi[j0 + j];
          e = e.exp();
          for (Index j = 0; j < m; ++j) {
            li += double(e[j]) - double(ti[j0 + j]) * double(zi[j0 + j]);
            if (d) d[j0 + j] = (e[j] - ti[j0 + j]) * g;
          }
        }
        break;
      }
    }
    total += w * li;
  }
  return total / wsum * per_elem;
}

template <class S>
Index count_correct(Loss loss, const MatrixCRef<S>& Z, const TargetView<S>& t, Index& counted) {
  const Index n = Z.rows(), C = Z.cols();
  Index correct = 0;
  Index arg = 0, targ = 0;
  switch (loss) {
    case Loss::CrossEntropy:
      counted = n;
      for (Index i = 0; i < n; ++i) {
        Z.row(i).maxCoeff(&arg);
        if (t.is_labels()) {
          correct += arg == t.labels[i];
        } else {
          Eigen::Map<const Eigen::Matrix<S, 1, Eigen::Dynamic>>(t.dense + i * C, C).maxCoeff(&targ);
          correct += arg == targ;
        }
      }
      break;
    case Loss::BinaryCrossEntropy:
      counted = n * C;
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < C; ++j) correct += (Z(i, j) > S(0)) == (t.dense[i * C + j] >= S(0.5));
      break;
    case Loss::Mse:
    case Loss::Poisson:
      counted = 0;
      break;
  }
  return correct;
}

template <class S>
void output_transform(Output o, MatrixRef<S> Z) {
  const Index C = Z.cols();
  switch (o) {
    case Output::Identity:
      break;
    case Output::Softmax:
      // p_j = e^(z_j − max z) / Σ_k e^(z_k − max z); the sum runs in column order.
      for (Index i = 0; i < Z.rows(); ++i) Z.row(i).array() -= Z.row(i).maxCoeff();
      detail::in_blocks<S>(Z, [](detail::Block<S>& b) { b = b.exp(); });
      for (Index i = 0; i < Z.rows(); ++i) {
        S* z = Z.row(i).data();
        S sum = 0;
        for (Index j = 0; j < C; ++j) sum += z[j];
        for (Index j = 0; j < C; ++j) z[j] /= sum;
      }
      break;
    case Output::Sigmoid:
      // σ(z) = 1 / (1 + e^−z) for z ≥ 0, e^z / (1 + e^z) below: no overflow for any finite z.
      detail::in_blocks<S>(Z, detail::sigmoid_block<S>);
      break;
    case Output::Exp:
      detail::in_blocks<S>(Z, [](detail::Block<S>& b) { b = b.exp(); });
      break;
  }
}

#define MLPCORE_INSTANTIATE(S)                                                                       \
  template void validate_targets<S>(Loss, Index, Index, const TargetView<S>&, const S*);             \
  template double loss_and_grad<S>(Loss, const MatrixCRef<S>&, const TargetView<S>&, const S*, S*); \
  template double loss_and_grad_scaled<S>(Loss, const MatrixCRef<S>&, const TargetView<S>&, const S*, double, \
                                          S*);                                                               \
  template void output_transform<S>(Output, MatrixRef<S>);                                           \
  template Index count_correct<S>(Loss, const MatrixCRef<S>&, const TargetView<S>&, Index&);
MLPCORE_INSTANTIATE(float)
MLPCORE_INSTANTIATE(double)
#undef MLPCORE_INSTANTIATE

}  // namespace mlpcore
