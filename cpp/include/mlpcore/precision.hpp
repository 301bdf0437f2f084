// SPDX-License-Identifier: MIT
/// Mixed precision: which bfloat16 matrix engine this CPU and this build offer.
/// A model in Precision::Bf16 (BasicMlp::set_precision) keeps float32 weights, optimizer state,
/// loss and softmax, and runs its matrix products on bfloat16 operands (rounded to nearest even
/// when packed) with float32 accumulation.
#pragma once
#include <string>

namespace mlpcore {

/// The bfloat16 product engines, slowest first: none, AVX512-BF16 (_mm512_dpbf16_ps), AMX tiles.
enum class Bf16Engine { None, Avx512Bf16, Amx };

/// "none", "avx512_bf16" or "amx".
const char* to_string(Bf16Engine e);
/// Parses the names above; throws std::invalid_argument listing them.
Bf16Engine bf16_engine_from_string(const std::string& name);

/// The engine bf16 products use now: the best the CPU, the operating system and this build
/// allow (AMX needs Linux's permission for the tile state, requested once per process), capped
/// by bf16_limit_engine(). Thread-safe.
Bf16Engine bf16_engine();
/// Why bf16 products cannot run here (what the CPU or the build lacks), or "" when they can.
std::string bf16_unavailable_reason();
/// Caps the engine as if the CPU lacked the faster ones (Amx: no cap). For tests that exercise
/// each kernel and the refusal on one machine; never changes what the CPU supports.
void bf16_limit_engine(Bf16Engine max);

}  // namespace mlpcore
