// SPDX-License-Identifier: MIT
/// Central differences in double, and the relative error used to compare gradients.
#pragma once
#include <Eigen/Core>
#include <cmath>

namespace check {

/// Numeric gradient of f() with respect to the n doubles at x, by central differences
///   df/dx_i ≈ (f(x + h e_i) − f(x − h e_i)) / 2h,
/// truncation error O(h²·f'''), rounding error O(eps·|f| / h); h ≈ eps^(1/3) ≈ 1e-5 balances the two for
/// values of order one. Each x_i is restored exactly after its two evaluations.
template <class F>
Eigen::VectorXd central_difference(F&& f, double* x, Eigen::Index n, double h = 1e-5) {
  Eigen::VectorXd grad(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double up = f();
    x[i] = saved - h;
    const double down = f();
    x[i] = saved;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

/// ‖a − b‖ / ‖a + b‖, the symmetric relative error of two gradients (0 when both are zero).
inline double relative_error(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  const double num = (a - b).norm();
  const double den = (a + b).norm();
  if (den == 0) return num;
  return num / den;
}

}  // namespace check
