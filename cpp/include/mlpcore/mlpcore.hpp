// SPDX-License-Identifier: MIT
/// The public C++ API of mlpcore: build or load a multi-layer perceptron, predict, train, save.
#pragma once
#include "activation.hpp"
#include "build_info.hpp"
#include "epoch.hpp"
#include "estimator_fit.hpp"
#include "fit.hpp"
#include "loss.hpp"
#include "mlp.hpp"
#include "model_io.hpp"
#include "optimizer.hpp"
#include "perceptron.hpp"
#include "precision.hpp"
#include "predict.hpp"
#include "rng.hpp"
#include "spec.hpp"
#include "threads.hpp"
#include "types.hpp"
