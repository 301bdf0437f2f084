// SPDX-License-Identifier: MIT
// fit(): the epoch loop around train_epoch, as Python's Trainer.fit drives it.
#include "mlpcore/fit.hpp"

#include <stdexcept>
#include <string>

namespace mlpcore {
namespace {

template <class S>
std::vector<EpochResult> run_epochs(BasicMlp<S>& net, Optimizer<S>& opt, const MatrixCRef<S>& X,
                                    const TargetView<S>& t, const S* weights, const FitOptions& options) {
  if (options.epochs < 1) throw std::invalid_argument("epochs must be >= 1, got " + std::to_string(options.epochs));
  const Loss loss = default_loss(net.spec().output);
  EpochOptions eo;
  eo.batch_size = options.batch_size;
  eo.shuffle = options.shuffle;
  eo.seed = options.seed;
  Workspace<S> ws;
  std::vector<Index> order;
  std::vector<EpochResult> history;
  Vector<S> snapshot;
  for (Index e = 0; e < options.epochs; ++e) {
    eo.epoch = static_cast<std::uint64_t>(e);
    snapshot = net.params();
    const EpochResult r = train_epoch<S>(net, opt, X, t, weights, loss, eo, ws, order);
    if (r.non_finite) {
      net.params() = snapshot;
      throw std::domain_error("the loss became " + std::to_string(r.loss) + " at epoch " + std::to_string(e + 1) +
                              ", batch " + std::to_string(r.bad_batch + 1) +
                              "; the weights from before that epoch were kept (try a lower learning rate)");
    }
    history.push_back(r);
    if (options.on_epoch && options.on_epoch(e, r)) break;
  }
  return history;
}

}  // namespace

template <class S>
std::vector<EpochResult> fit(BasicMlp<S>& net, Optimizer<S>& opt, const MatrixCRef<typename detail::NoDeduce<S>::type>& X,
                             const LabelCRef& y, const FitOptions& options,
                             const typename detail::NoDeduce<S>::type* sample_weights) {
  if (y.rows() != X.rows())
    throw std::invalid_argument("y has " + std::to_string(y.rows()) + " labels but X has " +
                                std::to_string(X.rows()) + " rows");
  TargetView<S> t;
  t.labels = y.data();
  t.rows = y.rows();
  return run_epochs<S>(net, opt, X, t, sample_weights, options);
}

template <class S>
std::vector<EpochResult> fit(BasicMlp<S>& net, Optimizer<S>& opt, const MatrixCRef<typename detail::NoDeduce<S>::type>& X,
                             const MatrixCRef<typename detail::NoDeduce<S>::type>& T, const FitOptions& options,
                             const typename detail::NoDeduce<S>::type* sample_weights) {
  if (T.rows() != X.rows())
    throw std::invalid_argument("T has " + std::to_string(T.rows()) + " rows but X has " +
                                std::to_string(X.rows()));
  // The epoch loop reads targets as a packed row-major block.
  const RowMatrix<S> packed = T;
  TargetView<S> t;
  t.dense = packed.data();
  t.rows = packed.rows();
  t.cols = packed.cols();
  return run_epochs<S>(net, opt, X, t, sample_weights, options);
}

template std::vector<EpochResult> fit<float>(Mlp&, Optimizer<float>&, const MatrixCRef<float>&, const LabelCRef&,
                                             const FitOptions&, const float*);
template std::vector<EpochResult> fit<double>(Mlp64&, Optimizer<double>&, const MatrixCRef<double>&,
                                              const LabelCRef&, const FitOptions&, const double*);
template std::vector<EpochResult> fit<float>(Mlp&, Optimizer<float>&, const MatrixCRef<float>&,
                                             const MatrixCRef<float>&, const FitOptions&, const float*);
template std::vector<EpochResult> fit<double>(Mlp64&, Optimizer<double>&, const MatrixCRef<double>&,
                                              const MatrixCRef<double>&, const FitOptions&, const double*);

}  // namespace mlpcore
