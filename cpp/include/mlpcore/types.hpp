// SPDX-License-Identifier: MIT
/// Scalar and matrix aliases shared by the whole core. A batch is row-major, n × features,
/// the layout of a C-contiguous NumPy array, so arrays map without copies.
#pragma once
#include <Eigen/Core>
#include <cstdint>

namespace mlpcore {

using Index = Eigen::Index;

/// Dense row-major matrix (a batch: one sample per row).
template <class S>
using RowMatrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
/// Column vector (flat buffers: parameters, gradients, optimizer state, per-sample values).
template <class S>
using Vector = Eigen::Matrix<S, Eigen::Dynamic, 1>;

/// Read-only view of a row-major matrix with unit inner stride (NumPy C-order arrays).
template <class S>
using MatrixCRef = Eigen::Ref<const RowMatrix<S>>;
/// Writable view of a row-major matrix.
template <class S>
using MatrixRef = Eigen::Ref<RowMatrix<S>>;
template <class S>
using VectorCRef = Eigen::Ref<const Vector<S>>;
template <class S>
using VectorRef = Eigen::Ref<Vector<S>>;

/// Maps over raw buffers (workspace rows, parameter slices).
template <class S>
using MatrixMap = Eigen::Map<RowMatrix<S>>;
template <class S>
using MatrixCMap = Eigen::Map<const RowMatrix<S>>;
template <class S>
using VectorMap = Eigen::Map<Vector<S>>;
template <class S>
using VectorCMap = Eigen::Map<const Vector<S>>;

/// Class labels (integer targets) as a read-only view.
using LabelVector = Eigen::Matrix<std::int32_t, Eigen::Dynamic, 1>;
using LabelCRef = Eigen::Ref<const LabelVector>;

}  // namespace mlpcore
