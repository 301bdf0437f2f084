// SPDX-License-Identifier: MIT
// Test helper: the engine's thread count for one scope, restored when the scope ends.
#pragma once
#include "mlpcore/threads.hpp"

struct Threads {
  int saved = mlpcore::get_num_threads();
  explicit Threads(int n) { mlpcore::set_num_threads(n); }
  ~Threads() { mlpcore::set_num_threads(saved); }
};
