// SPDX-License-Identifier: MIT
// SGD and Adam (with AdamW and AMSGrad) against steps worked by hand, in double to 1e-12, plus
// the optimizers' contracts: state bound to one parameter count, learning-rate and config
// validation, and train_step applying the optimizer to loss_and_grad's gradient.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "check.hpp"
#include "mlpcore/mlpcore.hpp"

using namespace mlpcore;

namespace {

constexpr double kTol = 1e-12;

template <class S>
void step(Optimizer<S>& opt, Vector<S>& p, std::initializer_list<double> grad) {
  Vector<S> g(static_cast<Index>(grad.size()));
  Index i = 0;
  for (double v : grad) g[i++] = static_cast<S>(v);
  opt.step(VectorMap<S>(p.data(), p.size()), VectorCMap<S>(g.data(), g.size()));
}

Vector<double> vec(std::initializer_list<double> values) {
  Vector<double> v(static_cast<Index>(values.size()));
  Index i = 0;
  for (double x : values) v[i++] = x;
  return v;
}

// ---------------------------------------------------------------------------------------------
// Adam. Every Adam case starts from p0 = (1, −0.5) with lr = 0.01, β1 = 0.9, β2 = 0.999,
// eps = 1e-8 and the gradients g1 = (0.2, −0.4), g2 = (−0.1, 0.3), g3 = (0.3, 0).
//   m_t = β1 m_{t−1} + (1 − β1) g_t,   v_t = β2 v_{t−1} + (1 − β2) g_t²
//   p_t = p_{t−1} − lr · (m_t / (1 − β1^t)) / (sqrt(v_t / (1 − β2^t)) + eps)

TEST_CASE(adam_three_steps_by_hand) {
  AdamConfig cfg;
  cfg.lr = 0.01;
  Adam<double> adam(cfg);
  Vector<double> p = vec({1.0, -0.5});

  // t = 1: m = 0.1·g1 = (0.02, −0.04); v = 0.001·g1² = (4e-5, 1.6e-4)
  //   1 − β1 = 0.1, 1 − β2 = 0.001: m̂ = (0.2, −0.4), sqrt(v̂) = (0.2, 0.4)
  //   p = (1 − 0.01·0.2/0.20000001, −0.5 + 0.01·0.4/0.40000001)
  //     = (1 − 0.0099999995000000025, −0.5 + 0.0099999997500000006)
  step(adam, p, {0.2, -0.4});
  CHECK(adam.steps() == 1);
  CHECK_CLOSE(adam.m()[0], 0.02, 1e-15);
  CHECK_CLOSE(adam.m()[1], -0.04, 1e-15);
  CHECK_CLOSE(adam.v()[0], 4e-5, 1e-18);
  CHECK_CLOSE(adam.v()[1], 1.6e-4, 1e-18);
  CHECK_CLOSE(p[0], 0.99000000049999992, kTol);
  CHECK_CLOSE(p[1], -0.49000000025000001, kTol);

  // t = 2: m = 0.9·(0.02, −0.04) + 0.1·(−0.1, 0.3) = (0.008, −0.006)
  //   v = 0.999·(4e-5, 1.6e-4) + 0.001·(0.01, 0.09) = (4.996e-5, 2.4984e-4)
  //   1 − β1² = 0.19, 1 − β2² = 0.001999
  //   m̂ = (0.042105263157894736, −0.031578947368421054)
  //   sqrt(v̂) = (sqrt(4.996e-5/0.001999), sqrt(2.4984e-4/0.001999)) = (0.15809015228066567, 0.35352862860823991)
  //   p = p − 0.01·m̂/(sqrt(v̂) + 1e-8) = (0.98733663027186758, −0.48910675020121358)
  step(adam, p, {-0.1, 0.3});
  CHECK_CLOSE(adam.m()[0], 0.008, 1e-15);
  CHECK_CLOSE(adam.m()[1], -0.006, 1e-15);
  CHECK_CLOSE(adam.v()[0], 4.996e-5, 1e-18);
  CHECK_CLOSE(adam.v()[1], 2.4984e-4, 1e-18);
  CHECK_CLOSE(p[0], 0.98733663027186758, kTol);
  CHECK_CLOSE(p[1], -0.48910675020121358, kTol);

  // t = 3 (the second gradient is zero; momentum still moves it):
  //   m = 0.9·(0.008, −0.006) + 0.1·(0.3, 0) = (0.0372, −0.0054)
  //   v = 0.999·(4.996e-5, 2.4984e-4) + 0.001·(0.09, 0) = (1.3991004e-4, 2.4959016e-4)
  //   1 − β1³ = 0.271, 1 − β2³ = 0.002997001
  //   m̂ = (0.13726937269372694, −0.019926199261992621)
  //   sqrt(v̂) = (0.21606329578776387, 0.28858269562158695)
  //   p = (0.98098342873247402, −0.48841626532898003)
  step(adam, p, {0.3, 0.0});
  CHECK(adam.steps() == 3);
  CHECK_CLOSE(adam.m()[0], 0.0372, 1e-15);
  CHECK_CLOSE(adam.m()[1], -0.0054, 1e-15);
  CHECK_CLOSE(adam.v()[0], 1.3991004e-4, 1e-18);
  CHECK_CLOSE(adam.v()[1], 2.4959016e-4, 1e-18);
  CHECK_CLOSE(p[0], 0.98098342873247402, kTol);
  CHECK_CLOSE(p[1], -0.48841626532898003, kTol);

  // reset() forgets everything: the next step is a first step again (from the current p).
  adam.reset();
  CHECK(adam.steps() == 0);
  CHECK(adam.state_size() == 0);
  const double before = p[0];
  step(adam, p, {0.2, -0.4});
  CHECK_CLOSE(p[0], before - 0.0099999995000000025, kTol);
}

TEST_CASE(adam_float_matches_the_double_steps) {
  AdamConfig cfg;
  cfg.lr = 0.01;
  Adam<float> adam(cfg);
  Vector<float> p(2);
  p << 1.0f, -0.5f;
  step(adam, p, {0.2, -0.4});
  step(adam, p, {-0.1, 0.3});
  step(adam, p, {0.3, 0.0});
  // The same three steps as above, to float rounding.
  CHECK_CLOSE(p[0], 0.98098342873247402, 2e-7);
  CHECK_CLOSE(p[1], -0.48841626532898003, 2e-7);
}

TEST_CASE(amsgrad_uses_the_running_maximum_of_v) {
  AdamConfig cfg;
  cfg.lr = 0.01;
  cfg.amsgrad = true;
  Adam<double> adam(cfg);
  Vector<double> p = vec({1.0, -0.5});
  // Steps 1 and 2: v only grows, so v_max = v and the steps equal Adam's above.
  step(adam, p, {0.2, -0.4});
  step(adam, p, {-0.1, 0.3});
  CHECK_CLOSE(p[0], 0.98733663027186758, kTol);
  CHECK_CLOSE(p[1], -0.48910675020121358, kTol);
  // Step 3: v[1] falls from 2.4984e-4 to 2.4959016e-4, so v_max[1] = 2.4984e-4:
  //   sqrt(v_max/0.002997001) = 0.28872709527816964 (Adam: 0.28858269562158695)
  //   p[1] = −0.48910675020121358 + 0.01·0.019926199261992621/(0.28872709527816964 + 1e-8)
  //        = −0.48841661065775799;  p[0] as Adam (v[0] grew): 0.98098342873247402
  step(adam, p, {0.3, 0.0});
  CHECK_CLOSE(p[0], 0.98098342873247402, kTol);
  CHECK_CLOSE(p[1], -0.48841661065775799, kTol);
  CHECK_CLOSE(adam.v()[1], 2.4959016e-4, 1e-18);  // v itself is not the maximum
}

TEST_CASE(adamw_decays_the_weights_before_the_step) {
  // AdamW (decoupled, wd = 0.1): p ← p·(1 − lr·wd) = 0.999·p, then Adam's step; m and v see the
  // raw gradients, so the steps are Adam's from above.
  //   t = 1: p = (0.999 − 0.0099999995000000025, −0.4995 + 0.0099999997500000006)
  //          = (0.98900000049999992, −0.48950000025000001)
  //   t = 2: 0.999·p − Adam step 2 = (0.98534763027136751, −0.48811725020096358)
  //   t = 3: (0.9780090811017027, −0.4869386480785291)
  AdamConfig cfg;
  cfg.lr = 0.01;
  cfg.weight_decay = 0.1;
  cfg.decoupled = true;
  Adam<double> adamw(cfg);
  Vector<double> p = vec({1.0, -0.5});
  step(adamw, p, {0.2, -0.4});
  CHECK_CLOSE(p[0], 0.98900000049999992, kTol);
  CHECK_CLOSE(p[1], -0.48950000025000001, kTol);
  step(adamw, p, {-0.1, 0.3});
  CHECK_CLOSE(p[0], 0.98534763027136751, kTol);
  CHECK_CLOSE(p[1], -0.48811725020096358, kTol);
  step(adamw, p, {0.3, 0.0});
  CHECK_CLOSE(p[0], 0.9780090811017027, kTol);
  CHECK_CLOSE(p[1], -0.4869386480785291, kTol);
  CHECK_CLOSE(adamw.m()[0], 0.0372, 1e-15);
}

TEST_CASE(adam_l2_weight_decay_adds_to_the_gradient) {
  // Adam with weight_decay = 0.1 (not decoupled): g ← g + 0.1·p before the moments.
  //   t = 1: g = (0.2 + 0.1, −0.4 − 0.05) = (0.3, −0.45); m̂ = g, sqrt(v̂) = |g|
  //          p = (1 − 0.01·0.3/0.30000001, −0.5 + 0.01·0.45/0.45000001)
  //            = (0.99000000033333335, −0.49000000022222223)
  //   t = 2: g = (−0.1 + 0.099000000033333, 0.3 − 0.049000000022222) = (−0.00099999996666667, 0.25099999997777778)
  //          m = (0.026900000003333333, −0.015400000002222222)
  //          v = (8.9910999999933e-5, 2.6529849998884e-4)
  //          p = (0.98332427220268892, −0.48777512270282003)
  //   t = 3: g = (0.39833242722026890, −0.048777512270282004)
  //          p = (0.97511710732643875, −0.48546039026321341)
  AdamConfig cfg;
  cfg.lr = 0.01;
  cfg.weight_decay = 0.1;
  Adam<double> adam(cfg);
  Vector<double> p = vec({1.0, -0.5});
  step(adam, p, {0.2, -0.4});
  CHECK_CLOSE(p[0], 0.99000000033333335, kTol);
  CHECK_CLOSE(p[1], -0.49000000022222223, kTol);
  step(adam, p, {-0.1, 0.3});
  CHECK_CLOSE(adam.m()[0], 0.026900000003333333, 1e-15);
  CHECK_CLOSE(adam.m()[1], -0.015400000002222222, 1e-15);
  CHECK_CLOSE(p[0], 0.98332427220268892, kTol);
  CHECK_CLOSE(p[1], -0.48777512270282003, kTol);
  step(adam, p, {0.3, 0.0});
  CHECK_CLOSE(p[0], 0.97511710732643875, kTol);
  CHECK_CLOSE(p[1], -0.48546039026321341, kTol);
}

// ---------------------------------------------------------------------------------------------
// SGD. Every case starts from p0 = (1, −2) with lr = 0.1 and the gradients
// g1 = (0.5, 1), g2 = (−0.5, 0.25), g3 = (1, 0).

TEST_CASE(sgd_plain_and_weight_decay_by_hand) {
  SgdConfig cfg;
  cfg.lr = 0.1;
  Sgd<double> sgd(cfg);
  Vector<double> p = vec({1.0, -2.0});
  // p ← p − 0.1·g: (0.95, −2.1), (1.0, −2.125), (0.9, −2.125)
  step(sgd, p, {0.5, 1.0});
  CHECK_CLOSE(p[0], 0.95, kTol);
  CHECK_CLOSE(p[1], -2.1, kTol);
  step(sgd, p, {-0.5, 0.25});
  CHECK_CLOSE(p[0], 1.0, kTol);
  CHECK_CLOSE(p[1], -2.125, kTol);
  step(sgd, p, {1.0, 0.0});
  CHECK_CLOSE(p[0], 0.9, kTol);
  CHECK_CLOSE(p[1], -2.125, kTol);
  CHECK(sgd.momentum_buffer().size() == 0);  // no momentum, no state

  // weight_decay = 0.1: p ← p − 0.1·(g + 0.1·p)
  //   t = 1: g' = (0.5 + 0.1, 1 − 0.2) = (0.6, 0.8);         p = (0.94, −2.08)
  //   t = 2: g' = (−0.5 + 0.094, 0.25 − 0.208) = (−0.406, 0.042); p = (0.9806, −2.0842)
  //   t = 3: g' = (1 + 0.09806, −0.20842);                   p = (0.870794, −2.063358)
  cfg.weight_decay = 0.1;
  Sgd<double> decayed(cfg);
  p = vec({1.0, -2.0});
  step(decayed, p, {0.5, 1.0});
  CHECK_CLOSE(p[0], 0.94, kTol);
  CHECK_CLOSE(p[1], -2.08, kTol);
  step(decayed, p, {-0.5, 0.25});
  CHECK_CLOSE(p[0], 0.9806, kTol);
  CHECK_CLOSE(p[1], -2.0842, kTol);
  step(decayed, p, {1.0, 0.0});
  CHECK_CLOSE(p[0], 0.870794, kTol);
  CHECK_CLOSE(p[1], -2.063358, kTol);
}

TEST_CASE(sgd_momentum_by_hand) {
  // momentum 0.9: buf1 = g1 (no dampening on the first step), then buf = 0.9·buf + g
  //   t = 1: buf = (0.5, 1);                                   p = (0.95, −2.1)
  //   t = 2: buf = (0.45 − 0.5, 0.9 + 0.25) = (−0.05, 1.15);   p = (0.955, −2.215)
  //   t = 3: buf = (−0.045 + 1, 1.035 + 0) = (0.955, 1.035);   p = (0.8595, −2.3185)
  SgdConfig cfg;
  cfg.lr = 0.1;
  cfg.momentum = 0.9;
  Sgd<double> sgd(cfg);
  Vector<double> p = vec({1.0, -2.0});
  step(sgd, p, {0.5, 1.0});
  CHECK_CLOSE(p[0], 0.95, kTol);
  CHECK_CLOSE(p[1], -2.1, kTol);
  step(sgd, p, {-0.5, 0.25});
  CHECK_CLOSE(sgd.momentum_buffer()[0], -0.05, kTol);
  CHECK_CLOSE(sgd.momentum_buffer()[1], 1.15, kTol);
  CHECK_CLOSE(p[0], 0.955, kTol);
  CHECK_CLOSE(p[1], -2.215, kTol);
  step(sgd, p, {1.0, 0.0});
  CHECK_CLOSE(p[0], 0.8595, kTol);
  CHECK_CLOSE(p[1], -2.3185, kTol);
}

TEST_CASE(sgd_nesterov_by_hand) {
  // nesterov: same buffers as plain momentum, but the step is g + 0.9·buf
  //   t = 1: step = 1.9·g1 = (0.95, 1.9);                              p = (0.905, −2.19)
  //   t = 2: step = (−0.5 − 0.045, 0.25 + 1.035) = (−0.545, 1.285);     p = (0.9595, −2.3185)
  //   t = 3: step = (1 + 0.8595, 0 + 0.9315) = (1.8595, 0.9315);        p = (0.77355, −2.41165)
  SgdConfig cfg;
  cfg.lr = 0.1;
  cfg.momentum = 0.9;
  cfg.nesterov = true;
  Sgd<double> sgd(cfg);
  Vector<double> p = vec({1.0, -2.0});
  step(sgd, p, {0.5, 1.0});
  CHECK_CLOSE(p[0], 0.905, kTol);
  CHECK_CLOSE(p[1], -2.19, kTol);
  step(sgd, p, {-0.5, 0.25});
  CHECK_CLOSE(p[0], 0.9595, kTol);
  CHECK_CLOSE(p[1], -2.3185, kTol);
  step(sgd, p, {1.0, 0.0});
  CHECK_CLOSE(p[0], 0.77355, kTol);
  CHECK_CLOSE(p[1], -2.41165, kTol);
}

TEST_CASE(sgd_momentum_dampening_and_weight_decay_by_hand) {
  // momentum 0.9, dampening 0.5, weight_decay 0.1: g' = g + 0.1·p;
  // buf1 = g'1, then buf = 0.9·buf + 0.5·g'
  //   t = 1: g' = (0.6, 0.8); buf = (0.6, 0.8);                                 p = (0.94, −2.08)
  //   t = 2: g' = (−0.406, 0.042); buf = (0.54 − 0.203, 0.72 + 0.021) = (0.337, 0.741);
  //          p = (0.9063, −2.1541)
  //   t = 3: g' = (1.09063, −0.21541); buf = (0.3033 + 0.545315, 0.6669 − 0.107705)
  //          = (0.848615, 0.559195);                                            p = (0.8214385, −2.2100195)
  SgdConfig cfg;
  cfg.lr = 0.1;
  cfg.momentum = 0.9;
  cfg.dampening = 0.5;
  cfg.weight_decay = 0.1;
  Sgd<double> sgd(cfg);
  Vector<double> p = vec({1.0, -2.0});
  step(sgd, p, {0.5, 1.0});
  CHECK_CLOSE(p[0], 0.94, kTol);
  CHECK_CLOSE(p[1], -2.08, kTol);
  step(sgd, p, {-0.5, 0.25});
  CHECK_CLOSE(sgd.momentum_buffer()[0], 0.337, kTol);
  CHECK_CLOSE(sgd.momentum_buffer()[1], 0.741, kTol);
  CHECK_CLOSE(p[0], 0.9063, kTol);
  CHECK_CLOSE(p[1], -2.1541, kTol);
  step(sgd, p, {1.0, 0.0});
  CHECK_CLOSE(p[0], 0.8214385, kTol);
  CHECK_CLOSE(p[1], -2.2100195, kTol);
}

// ---------------------------------------------------------------------------------------------
// Contracts.

template <class Opt, class Cfg>
void check_binding(const Cfg& cfg) {
  Opt opt(cfg);
  CHECK(opt.state_size() == 0);
  Vector<double> p3 = vec({1.0, 2.0, 3.0});
  step(opt, p3, {0.1, 0.2, 0.3});
  CHECK(opt.state_size() == 3);
  Vector<double> p2 = vec({1.0, 2.0});
  const Vector<double> p2_before = p2;
  CHECK_THROWS(step(opt, p2, {0.1, 0.2}), std::invalid_argument);
  CHECK(p2 == p2_before);       // a refused step changes nothing
  CHECK(opt.steps() == 1);
  CHECK(opt.state_size() == 3);
  step(opt, p3, {0.1, 0.2, 0.3});  // the bound size still works
  CHECK(opt.steps() == 2);
  opt.reset();
  step(opt, p2, {0.1, 0.2});    // after reset() it binds anew
  CHECK(opt.state_size() == 2);
  CHECK(opt.steps() == 1);
  CHECK(p2 != p2_before);
}

TEST_CASE(state_is_bound_to_one_parameter_count) {
  AdamConfig adam;
  check_binding<Adam<double>>(adam);
  adam.amsgrad = true;
  check_binding<Adam<double>>(adam);
  SgdConfig sgd;
  check_binding<Sgd<double>>(sgd);
  sgd.momentum = 0.5;
  check_binding<Sgd<double>>(sgd);
}

template <class Opt, class Cfg>
void check_set_lr(const Cfg& cfg) {
  Opt opt(cfg);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_THROWS(opt.set_lr(-1e-3), std::invalid_argument);
  CHECK_THROWS(opt.set_lr(nan), std::invalid_argument);
  CHECK_THROWS(opt.set_lr(inf), std::invalid_argument);
  CHECK_CLOSE(opt.lr(), cfg.lr, 0);  // a refused value leaves the rate alone
  opt.set_lr(0.0);
  CHECK_CLOSE(opt.lr(), 0.0, 0);
  Vector<double> p = vec({1.0, -2.0});
  step(opt, p, {0.5, 1.0});  // lr = 0: nothing moves (no weight decay here)
  CHECK_CLOSE(p[0], 1.0, 0);
  CHECK_CLOSE(p[1], -2.0, 0);
  opt.set_lr(0.25);
  CHECK_CLOSE(opt.lr(), 0.25, 0);
}

TEST_CASE(set_lr_validates_and_takes_effect) {
  AdamConfig adam;
  check_set_lr<Adam<double>>(adam);
  SgdConfig sgd;
  check_set_lr<Sgd<double>>(sgd);

  // A schedule's new rate is used by the next step: SGD p ← p − 0.25·g.
  Sgd<double> opt(sgd);
  opt.set_lr(0.25);
  Vector<double> p = vec({1.0, -2.0});
  step(opt, p, {0.5, 1.0});
  CHECK_CLOSE(p[0], 0.875, kTol);
  CHECK_CLOSE(p[1], -2.25, kTol);
  // Adam's first step moves each element by lr·g/(|g| + eps) ≈ lr.
  AdamConfig acfg;
  Adam<double> a(acfg);
  a.set_lr(0.05);
  p = vec({1.0, -2.0});
  step(a, p, {0.5, -1.0});
  CHECK_CLOSE(p[0], 1.0 - 0.05 * 0.5 / (0.5 + 1e-8), kTol);
  CHECK_CLOSE(p[1], -2.0 + 0.05 * 1.0 / (1.0 + 1e-8), kTol);
}

TEST_CASE(configs_are_validated) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto adam_with = [](auto change) {
    AdamConfig c;
    change(c);
    return c;
  };
  CHECK_THROWS(Adam<double>(adam_with([](AdamConfig& c) { c.lr = -1; })), std::invalid_argument);
  CHECK_THROWS(Adam<double>(adam_with([&](AdamConfig& c) { c.lr = nan; })), std::invalid_argument);
  CHECK_THROWS(Adam<double>(adam_with([](AdamConfig& c) { c.beta1 = 1.0; })), std::invalid_argument);
  CHECK_THROWS(Adam<double>(adam_with([](AdamConfig& c) { c.beta2 = -0.1; })), std::invalid_argument);
  CHECK_THROWS(Adam<double>(adam_with([](AdamConfig& c) { c.eps = 0; })), std::invalid_argument);
  CHECK_THROWS(Adam<double>(adam_with([](AdamConfig& c) { c.weight_decay = -0.1; })), std::invalid_argument);
  CHECK_THROWS(Adam<float>(adam_with([](AdamConfig& c) { c.beta1 = 1.5; })), std::invalid_argument);
  auto sgd_with = [](auto change) {
    SgdConfig c;
    change(c);
    return c;
  };
  CHECK_THROWS(Sgd<double>(sgd_with([](SgdConfig& c) { c.lr = -0.5; })), std::invalid_argument);
  CHECK_THROWS(Sgd<double>(sgd_with([](SgdConfig& c) { c.momentum = 1.0; })), std::invalid_argument);
  CHECK_THROWS(Sgd<double>(sgd_with([](SgdConfig& c) { c.dampening = -0.1; })), std::invalid_argument);
  CHECK_THROWS(Sgd<double>(sgd_with([](SgdConfig& c) { c.weight_decay = -1; })), std::invalid_argument);
  CHECK_THROWS(Sgd<double>(sgd_with([](SgdConfig& c) { c.nesterov = true; })), std::invalid_argument);
  CHECK_THROWS(Sgd<double>(sgd_with([](SgdConfig& c) {
                 c.nesterov = true;
                 c.momentum = 0.9;
                 c.dampening = 0.5;
               })),
               std::invalid_argument);
  // The edges that are allowed.
  Adam<double> ok_adam(adam_with([](AdamConfig& c) { c.lr = 0; c.beta1 = 0; c.beta2 = 0; }));
  Sgd<double> ok_sgd(sgd_with([](SgdConfig& c) { c.lr = 0; c.momentum = 0.99; c.nesterov = true; }));
  CHECK(ok_adam.lr() == 0 && ok_sgd.lr() == 0);
}

TEST_CASE(train_step_applies_the_optimizer_to_the_gradient) {
  // One train_step with plain SGD equals p − lr·∇L, where ∇L comes from loss_and_grad on the
  // same batch; the returned loss is the loss before the update.
  MlpSpec spec;
  spec.sizes = {3, 4, 2};
  spec.activations = {Activation::Tanh};
  Mlp64 net(spec, Init::XavierNormal, 5);
  RowMatrix<double> X(4, 3);
  X << 0.1, -0.4, 1.2, 0.7, 0.3, -0.9, -1.1, 0.5, 0.2, 0.0, 0.8, -0.6;
  const std::int32_t labels[4] = {0, 1, 1, 0};
  TargetView<double> t;
  t.labels = labels;
  t.rows = 4;
  Workspace<double> ws;
  const double loss0 = net.loss_and_grad(X, t, nullptr, Loss::CrossEntropy, ws);
  const Vector<double> expected = net.params() - 0.3 * net.grads();
  SgdConfig cfg;
  cfg.lr = 0.3;
  Sgd<double> sgd(cfg);
  const double reported = net.train_step(X, t, nullptr, Loss::CrossEntropy, sgd, ws);
  CHECK_CLOSE(reported, loss0, 1e-15);
  CHECK((net.params() - expected).cwiseAbs().maxCoeff() < 1e-15);
  CHECK(net.loss(X, t, nullptr, Loss::CrossEntropy, ws) < loss0);
}


// A state copied after two steps into a fresh optimizer (restore, then fill the named views)
// continues bit-identically.
template <class Opt, class Cfg>
void check_state_round_trip(const Cfg& cfg, std::vector<std::string> names) {
  Opt a(cfg), b(cfg);
  Vector<double> p = vec({1.0, -0.5, 0.25});
  CHECK(a.state().empty());
  step(a, p, {0.2, -0.4, 0.1});
  step(a, p, {-0.1, 0.3, 0.0});
  Vector<double> q = p;
  b.restore(a.steps(), a.state_size());
  auto from = a.state(), to = b.state();
  REQUIRE(from.size() == names.size() && to.size() == names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    CHECK(names[i] == from[i].first && names[i] == to[i].first);
    to[i].second = from[i].second;
  }
  CHECK(b.steps() == 2 && b.state_size() == 3);
  step(a, p, {0.3, 0.0, -0.2});
  step(b, q, {0.3, 0.0, -0.2});
  CHECK(p == q);
  b.restore(0, 3);
  CHECK(b.steps() == 0 && b.state_size() == 0 && b.state().empty());
  CHECK_THROWS(b.restore(-1, 3), std::invalid_argument);
}

TEST_CASE(state_round_trip_continues_bit_identically) {
  AdamConfig adam_cfg;
  adam_cfg.lr = 0.01;
  check_state_round_trip<Adam<double>>(adam_cfg, {"exp_avg", "exp_avg_sq"});
  adam_cfg.amsgrad = true;
  check_state_round_trip<Adam<double>>(adam_cfg, {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"});
  SgdConfig sgd_cfg;
  sgd_cfg.lr = 0.1;
  check_state_round_trip<Sgd<double>>(sgd_cfg, {});
  sgd_cfg.momentum = 0.9;
  check_state_round_trip<Sgd<double>>(sgd_cfg, {"momentum_buffer"});
}

}  // namespace

CHECK_MAIN()
