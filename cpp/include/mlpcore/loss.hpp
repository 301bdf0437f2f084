// SPDX-License-Identifier: MIT
/// Losses computed from logits through stable forms (log-sum-exp, softplus), fused with their
/// gradient. All reduce to a (weighted) mean over the batch.
#pragma once
#include <cstdint>

#include "spec.hpp"
#include "types.hpp"

namespace mlpcore {

/// Targets for a batch of n rows: either integer class labels (n) or a dense matrix
/// (n × outputs: probabilities, 0/1 indicators, or regression values). Non-owning.
template <class S>
struct TargetView {
  const std::int32_t* labels = nullptr;  ///< n labels in [0, outputs), or null
  const S* dense = nullptr;              ///< n × cols row-major, or null
  Index rows = 0;
  Index cols = 0;                        ///< columns of `dense` (0 for labels)
  bool is_labels() const { return labels != nullptr; }
};

/// Loss value and, when dL_dZ is non-null, its gradient with respect to the logits Z.
///   cross_entropy: ℓ_i = logsumexp(z_i)·Σ_j t_ij − Σ_j t_ij z_ij   (t = one-hot for labels)
///                  dℓ_i/dz_i = p_i·Σ_j t_ij − t_i, p = softmax(z_i)
///   binary_cross_entropy: ℓ_ij = max(z,0) − z t + log(1 + e^−|z|), averaged over the C outputs
///   mse: ℓ_ij = (z − t)², averaged over the C outputs
///   poisson: ℓ_ij = e^z − t z (the Poisson negative log-likelihood of a mean e^z, without the
///            terms in t alone), averaged over the C outputs; dℓ/dz = e^z − t. Targets t ≥ 0.
/// Reduction: L = Σ_i w_i ℓ_i / Σ_i w_i (w = 1 without sample weights), as torch's "mean".
/// Z: n × C. dL_dZ (n × C) may not alias Z. weights: n values ≥ 0 with a positive sum, or null.
/// Does not validate (see validate_targets); callers validate once per dataset or batch.
template <class S>
double loss_and_grad(Loss loss, const MatrixCRef<S>& Z, const TargetView<S>& t, const S* weights,
                     S* dL_dZ);

/// loss_and_grad with the reduction's divisor given instead of the batch's Σw: returns
/// Σ_i w_i ℓ_i / divisor and scales row i's gradient by w_i / divisor. With divisor = 1 these are
/// the sums that data-parallel training adds up across processes before dividing once by the
/// global Σw. divisor > 0.
template <class S>
double loss_and_grad_scaled(Loss loss, const MatrixCRef<S>& Z, const TargetView<S>& t, const S* weights,
                            double divisor, S* dL_dZ);

/// Checks targets against the logits width and the loss: label range, dense shape, finiteness,
/// and weights (finite, ≥ 0, positive sum). Throws std::invalid_argument naming the problem.
template <class S>
void validate_targets(Loss loss, Index n, Index outputs, const TargetView<S>& t, const S* weights);

/// Correct predictions in a batch, for accuracy: rows whose logit argmax equals the label (or the
/// target's argmax) for cross_entropy; elements where (z > 0) == (t ≥ 0.5) for
/// binary_cross_entropy; none for mse and poisson. `counted` receives the denominator (rows, elements, or 0).
template <class S>
Index count_correct(Loss loss, const MatrixCRef<S>& Z, const TargetView<S>& t, Index& counted);

/// Loss and accuracy counts of a model on a data set.
struct Evaluation {
  double loss = 0.0;
  Index correct = 0;
  Index counted = 0;  ///< 0 when accuracy does not apply (mse, poisson)
};

/// Turns logits into the output kind's probabilities in place (softmax rows, sigmoid, identity),
/// or for exp into the predicted means e^z (+inf where e^z overflows).
/// Each row's probabilities depend on that row's logits alone: the same bits whatever the
/// matrix's address, the row's position in the batch or the call.
template <class S>
void output_transform(Output o, MatrixRef<S> Z);

}  // namespace mlpcore
