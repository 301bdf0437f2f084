// SPDX-License-Identifier: MIT
// Mlp32 / Mlp64: construction, zero-copy parameter views, forward, train_step, train_epoch.
#include <Python.h>

#include <memory>

#include "common.hpp"

namespace mlpcore::py_bind {
namespace {

template <class S>
using XRef = Eigen::Ref<const RowMatrix<S>>;

template <class S>
py::array_t<S> run_forward(PyMlp<S>& self, const XRef<S>& X, bool probabilities) {
  py::array_t<S> out({X.rows(), self.net.spec().n_outputs()});
  MatrixMap<S> o(out.mutable_data(), X.rows(), self.net.spec().n_outputs());
  // X stays valid: the caller holds the array, and we hold no Python object while released.
  py::gil_scoped_release release;
  std::unique_lock<std::mutex> lock(self.ws_mutex, std::try_to_lock);
  if (lock.owns_lock()) {
    self.net.outputs(X, self.ws, o, probabilities);
  } else {
    Workspace<S> local;
    self.net.outputs(X, local, o, probabilities);
  }
  return out;
}

template <class S>
void bind_one(py::module_& m, const char* name) {
  using Self = PyMlp<S>;
  py::class_<Self>(m, name)
      .def(py::init([](std::vector<Index> sizes, std::vector<std::string> acts, double slope, double alpha, int k,
                       const std::string& output, const std::string& init, std::uint64_t seed, double scale,
                       std::vector<double> dropout) {
             MlpSpec spec;
             spec.sizes = std::move(sizes);
             for (const auto& a : acts) spec.activations.push_back(activation_from_string(a));
             spec.leaky_relu_slope = slope;
             spec.elu_alpha = alpha;
             spec.maxout_pieces = k;
             spec.output = output_from_string(output);
             spec.dropout = std::move(dropout);
             return new Self(BasicMlp<S>(spec, init_from_string(init), seed, scale));
           }),
           py::arg("sizes"), py::arg("activations"), py::arg("leaky_relu_slope"), py::arg("elu_alpha"),
           py::arg("maxout_pieces"), py::arg("output"), py::arg("init"), py::arg("seed"), py::arg("init_scale"),
           py::arg("dropout") = std::vector<double>{})
      .def_property_readonly("dtype", [](const Self&) { return dtype_name<S>(); })
      .def_property_readonly("sizes", [](const Self& s) { return s.net.spec().sizes; })
      .def_property_readonly("activations", [](const Self& s) {
        std::vector<std::string> out;
        for (auto a : s.net.spec().activations) out.emplace_back(to_string(a));
        return out;
      })
      .def_property_readonly("leaky_relu_slope", [](const Self& s) { return s.net.spec().leaky_relu_slope; })
      .def_property_readonly("elu_alpha", [](const Self& s) { return s.net.spec().elu_alpha; })
      .def_property_readonly("maxout_pieces", [](const Self& s) { return s.net.spec().maxout_pieces; })
      .def_property_readonly("output", [](const Self& s) { return to_string(s.net.spec().output); })
      .def_property_readonly("dropout", [](const Self& s) {
        std::vector<double> out;  // one rate per hidden layer
        for (Index l = 0; l + 1 < s.net.spec().n_layers(); ++l) out.push_back(s.net.spec().dropout_rate(l));
        return out;
      })
      .def_property("dropout_seed", [](const Self& s) { return s.net.dropout_seed(); },
                    [](Self& s, std::uint64_t seed) { s.net.set_dropout_seed(seed); })
      .def_property("dropout_step", [](const Self& s) { return s.net.dropout_step(); },
                    [](Self& s, std::uint64_t step) { s.net.set_dropout_step(step); })
      .def("dropout_mask", [](const Self& s, Index layer, const XRef<S>& X, std::uint64_t step) {
        const Index hidden = s.net.spec().n_layers() - 1;
        const Index units = layer >= 0 && layer < hidden ? s.net.spec().sizes[static_cast<std::size_t>(layer + 1)] : 0;
        py::array_t<S> out({X.rows(), units});
        s.net.dropout_mask(layer, step, X, MatrixMap<S>(out.mutable_data(), X.rows(), units));
        return out;
      }, py::arg("layer"), py::arg("X").noconvert(), py::arg("step"))
      .def_property_readonly("n_params", [](const Self& s) { return s.net.n_params(); })
      .def("layer_slices", [](const Self& s) {
        // [(weight_offset, rows, cols, bias_offset)] per layer
        const auto& L = s.net.layout();
        std::vector<std::tuple<Index, Index, Index, Index>> out;
        for (std::size_t l = 0; l < L.rows.size(); ++l)
          out.emplace_back(L.weight_offset[l], L.rows[l], L.cols[l], L.bias_offset[l]);
        return out;
      })
      // Live views of the flat buffers; the array keeps the model alive.
      .def_property_readonly("params", [](py::object self) {
        auto& s = self.cast<Self&>();
        return py::array_t<S>({s.net.n_params()}, {sizeof(S)}, s.net.params().data(), self);
      })
      .def_property_readonly("grads", [](py::object self) {
        auto& s = self.cast<Self&>();
        return py::array_t<S>({s.net.n_params()}, {sizeof(S)}, s.net.grads().data(), self);
      })
      .def("initialize", [](Self& s, const std::string& init, std::uint64_t seed, double scale) {
        s.net.initialize(init_from_string(init), seed, scale);
        s.net.set_dropout_seed(seed);  // as the seeded constructor does
      }, py::arg("init"), py::arg("seed"), py::arg("init_scale"))
      .def("forward", [](Self& s, const XRef<S>& X) { return run_forward<S>(s, X, false); }, py::arg("X").noconvert())
      .def("forward_dropout", [](Self& s, const XRef<S>& X, std::uint64_t step) {
        py::array_t<S> out({X.rows(), s.net.spec().n_outputs()});
        {
          py::gil_scoped_release release;
          Workspace<S> ws;
          MatrixMap<S>(out.mutable_data(), X.rows(), s.net.spec().n_outputs()) = s.net.forward(X, ws, step);
        }
        return out;
      }, py::arg("X").noconvert(), py::arg("step"))
      .def("predict_proba", [](Self& s, const XRef<S>& X) { return run_forward<S>(s, X, true); }, py::arg("X").noconvert())
      .def("loss", [](Self& s, const XRef<S>& X, const py::array& y, const py::object& w, const std::string& loss) {
        const TargetView<S> t = target_view<S>(y);
        const S* wp = weight_ptr<S>(w, t.rows);
        Workspace<S> ws;
        return s.net.loss(X, t, wp, loss_from_string(loss), ws);
      }, py::arg("X").noconvert(), py::arg("y"), py::arg("sample_weight"), py::arg("loss"))
      .def("evaluate", [](Self& s, const XRef<S>& X, const py::array& y, const py::object& w, const std::string& loss) {
        const TargetView<S> t = target_view<S>(y);
        const S* wp = weight_ptr<S>(w, t.rows);
        const Loss l = loss_from_string(loss);
        Evaluation e;
        {
          py::gil_scoped_release release;
          Workspace<S> ws;
          e = s.net.evaluate(X, t, wp, l, ws);
        }
        return py::make_tuple(e.loss, e.correct, e.counted);
      }, py::arg("X").noconvert(), py::arg("y"), py::arg("sample_weight"), py::arg("loss"))
      .def("loss_and_grad", [](Self& s, const XRef<S>& X, const py::array& y, const py::object& w, const std::string& loss,
                               std::optional<std::uint64_t> dropout_step) {
        const TargetView<S> t = target_view<S>(y);
        const S* wp = weight_ptr<S>(w, t.rows);
        return s.net.loss_and_grad(X, t, wp, loss_from_string(loss), s.ws, dropout_step);
      }, py::arg("X").noconvert(), py::arg("y"), py::arg("sample_weight"), py::arg("loss"),
         py::arg("dropout_step") = py::none())
      .def("train_step", [](Self& s, const XRef<S>& X, const py::array& y, const py::object& w, Loss loss, Optimizer<S>& opt) {
        const TargetView<S> t = target_view<S>(y);
        const S* wp = weight_ptr<S>(w, t.rows);
        return s.net.train_step(X, t, wp, loss, opt, s.ws);
      }, py::arg("X").noconvert(), py::arg("y"), py::arg("sample_weight"), py::arg("loss"), py::arg("optimizer"))
      .def("train_epoch", [](Self& s, const XRef<S>& X, const py::array& y, const py::object& w, Loss loss,
                             Optimizer<S>& opt, Index batch_size, bool shuffle, std::uint64_t seed, std::uint64_t epoch,
                             const py::object& should_stop, bool check_finite, double check_interval) {
        const TargetView<S> t = target_view<S>(y);
        const S* wp = weight_ptr<S>(w, t.rows);
        EpochOptions o = epoch_options(batch_size, shuffle, seed, epoch, check_finite);
        o.check_interval = check_interval;  // seconds between GIL-taking Ctrl-C checks
        std::vector<Index> order;
        std::unique_ptr<py::error_already_set> pending;  // created only with the GIL held
        // Called between batches, every few ms, with the GIL released.
        const auto stop = python_should_stop(should_stop, pending);
        EpochResult r;
        {
          py::gil_scoped_release release;
          r = train_epoch<S>(s.net, opt, X, t, wp, loss, o, s.ws, order, stop);
        }
        if (pending) throw *pending;
        return r;
      }, py::arg("X").noconvert(), py::arg("y"), py::arg("sample_weight"), py::arg("loss"), py::arg("optimizer"),
         py::arg("batch_size"), py::arg("shuffle"), py::arg("seed"), py::arg("epoch"), py::arg("should_stop") = py::none(),
         py::arg("check_finite") = true, py::arg("check_interval") = EpochOptions{}.check_interval)
      .def("set_input_scaling", [](Self& s, std::vector<double> mean, std::vector<double> scale) {
        s.net.set_input_scaling(mean, scale);
      })
      .def_property("precision", [](const Self& s) { return to_string(s.net.precision()); },
                    [](Self& s, const std::string& p) { s.net.set_precision(precision_from_string(p)); })
      .def_property("weight_penalty", [](const Self& s) { return s.net.weight_penalty(); },
                    [](Self& s, double alpha) { s.net.set_weight_penalty(alpha); })
      .def("penalty", [](const Self& s, double weight_sum) {
        if (!(weight_sum > 0)) throw std::invalid_argument("weight_sum must be > 0");
        return s.net.penalty_for(weight_sum);
      }, py::arg("weight_sum"))
      .def_property_readonly("input_mean", [](const Self& s) { return s.net.meta().input_mean; })
      .def_property_readonly("input_scale", [](const Self& s) { return s.net.meta().input_scale; })
      .def("set_classes", [](Self& s, std::vector<std::string> classes, const std::string& kind) {
        ModelMeta probe = s.net.meta();
        probe.classes = std::move(classes);
        probe.classes_kind = probe.classes.empty() ? "" : kind;
        probe.validate(s.net.spec());
        s.net.meta() = std::move(probe);
      })
      .def_property_readonly("classes", [](const Self& s) { return s.net.meta().classes; })
      .def_property_readonly("classes_kind", [](const Self& s) { return s.net.meta().classes_kind; })
      .def_property("metadata", [](const Self& s) { return s.net.meta().extra; },
                    [](Self& s, std::map<std::string, std::string> extra) { s.net.meta().extra = std::move(extra); })
      .def("save", [](const Self& s, const std::string& path) {
        py::gil_scoped_release release;
        save(s.net, path);
      })
      .def("serialize", [](const Self& s) { return py::bytes(serialize(s.net)); })
      .def("copy", [](const Self& s) { return new Self(BasicMlp<S>(s.net)); });
}

}  // namespace

void bind_mlp(py::module_& m) {
  py::enum_<Loss>(m, "Loss")
      .value("cross_entropy", Loss::CrossEntropy)
      .value("binary_cross_entropy", Loss::BinaryCrossEntropy)
      .value("mse", Loss::Mse)
      .value("poisson", Loss::Poisson);
  m.def("loss_from_string", &loss_from_string);
  py::class_<EpochResult>(m, "EpochResult")
      .def_readonly("loss", &EpochResult::loss)
      .def_readonly("batches", &EpochResult::batches)
      .def_readonly("samples", &EpochResult::samples)
      .def_readonly("correct", &EpochResult::correct)
      .def_readonly("counted", &EpochResult::counted)
      .def_readonly("stopped", &EpochResult::stopped)
      .def_readonly("non_finite", &EpochResult::non_finite)
      .def_readonly("bad_batch", &EpochResult::bad_batch);
  bind_one<float>(m, "Mlp32");
  bind_one<double>(m, "Mlp64");
}

}  // namespace mlpcore::py_bind
