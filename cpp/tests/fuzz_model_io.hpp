// SPDX-License-Identifier: MIT
/// The model-file fuzz target, shared by the libFuzzer build (fuzz_libfuzzer.cpp) and the
/// stand-alone mutation driver (fuzz_driver.cpp): valid seed files, and the check run on every
/// input. A failed check aborts the process, which both drivers report as a crash.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "mlpcore/mlpcore.hpp"

namespace fuzz {

[[noreturn]] inline void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz check failed: %s: %s\n", what, detail.c_str());
  std::abort();
}

/// What happened to one input.
enum class Outcome { Accepted, Rejected };

/// Loads `bytes` as a model file. Every input must either load or throw FormatError with a
/// clear message (one line: "invalid model file: <reason>", printable, bounded); any other
/// exception, a crash, a sanitizer report or a huge allocation is a finding. A model that
/// loads must survive a save/load round trip unchanged and predict one sample.
inline Outcome check_model_bytes(const std::string& bytes, std::string* message = nullptr) {
  mlpcore::LoadedModel m;
  try {
    m = mlpcore::deserialize(bytes);
  } catch (const mlpcore::FormatError& e) {
    const std::string what = e.what();
    const std::string prefix = "invalid model file: ";
    if (what.compare(0, prefix.size(), prefix) != 0 || what.size() <= prefix.size() + 3)
      fail("rejection without a reason", what);
    if (what.size() > 600) fail("rejection message longer than 600 bytes", what.substr(0, 200));
    for (unsigned char c : what)
      if (c < 0x20 || c == 0x7F) fail("control character in the rejection message", what);
    if (message) *message = what;
    return Outcome::Rejected;
  } catch (const std::bad_alloc&) {
    fail("std::bad_alloc (a huge allocation)", std::to_string(bytes.size()) + "-byte input");
  } catch (const std::exception& e) {
    fail("an exception other than FormatError", e.what());
  }
  if (!m.f32 == !m.f64) fail("accepted file", "not exactly one of f32/f64 set");
  auto exercise = [&](const auto& net) {
    using S = typename std::decay_t<decltype(net.params())>::Scalar;
    // Round trip: what save writes reads back to the same architecture, metadata and bits.
    const std::string again = mlpcore::serialize(net);
    mlpcore::LoadedModel m2 = mlpcore::deserialize(again);
    const auto* net2 = sizeof(S) == 4 ? static_cast<const void*>(m2.f32.get()) : static_cast<const void*>(m2.f64.get());
    if (!net2) fail("round trip", "the scalar type changed");
    const auto& copy = *static_cast<const mlpcore::BasicMlp<S>*>(net2);
    if (!(copy.spec() == net.spec()) || copy.params() != net.params() || copy.meta().classes != net.meta().classes ||
        copy.meta().input_mean != net.meta().input_mean || copy.meta().extra != net.meta().extra)
      fail("round trip", "the reloaded model differs");
    // One prediction on zeros: the loaded model is usable (its size is bounded by the file's).
    mlpcore::Predictor<S> predictor(net);
    std::vector<S> x(static_cast<std::size_t>(net.spec().n_inputs()), S(0));
    std::vector<S> out(static_cast<std::size_t>(net.spec().n_outputs()));
    predictor.logits_one(x.data(), out.data());
    (void)mlpcore::describe(net);
  };
  try {
    if (m.f32) exercise(*m.f32);
    else exercise(*m.f64);
  } catch (const std::exception& e) {
    fail("an accepted model failed to round-trip or predict", e.what());
  }
  return Outcome::Accepted;
}

/// Valid model files covering every header feature: each output kind and activation, float32
/// and float64, maxout, class names of both kinds, input scaling, free-form metadata.
inline std::vector<std::string> seed_files() {
  using namespace mlpcore;
  std::vector<std::string> seeds;
  auto spec_of = [](std::vector<Index> sizes, std::vector<Activation> acts, Output out) {
    MlpSpec s;
    s.sizes = std::move(sizes);
    s.activations = std::move(acts);
    s.output = out;
    s.maxout_pieces = 3;
    return s;
  };
  {
    Mlp net(spec_of({2, 8, 4}, {Activation::Relu}, Output::Softmax), Init::He, 1);
    net.meta().classes = {"north", "east", "south", "west"};
    net.meta().classes_kind = "str";
    net.set_input_scaling({0.5, -0.25}, {2.0, 0.75});
    net.meta().extra["note"] = "spiral \u00e9";
    seeds.push_back(serialize(net));
  }
  {
    Mlp net(spec_of({3, 4, 5, 2}, {Activation::Maxout, Activation::LeakyRelu}, Output::Softmax), Init::Xavier, 2);
    net.meta().classes = {"-1", "7"};
    net.meta().classes_kind = "int";
    seeds.push_back(serialize(net));
  }
  {
    Mlp64 net(spec_of({4, 3, 1}, {Activation::Elu}, Output::Sigmoid), Init::XavierNormal, 3);
    net.meta().classes = {"no", "yes"};
    net.meta().classes_kind = "str";
    seeds.push_back(serialize(net));
  }
  {
    Mlp net(spec_of({2, 3, 3, 3, 2}, {Activation::Sigmoid, Activation::Tanh, Activation::Identity}, Output::Identity),
            Init::HeUniform, 4);
    net.meta().extra["author"] = "fuzz";
    net.meta().extra["x"] = "";
    seeds.push_back(serialize(net));
  }
  seeds.push_back(serialize(Mlp(spec_of({1, 1}, {}, Output::Sigmoid), Init::Random, 5)));
  return seeds;
}

}  // namespace fuzz
