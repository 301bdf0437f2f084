// SPDX-License-Identifier: MIT
/// Deprecated name of epoch.hpp (train_epoch, EpochOptions, EpochResult), kept so existing
/// programs still compile; include <mlpcore/epoch.hpp> or <mlpcore/mlpcore.hpp> instead.
#pragma once
#include "epoch.hpp"
