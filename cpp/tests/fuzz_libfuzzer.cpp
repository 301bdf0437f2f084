// SPDX-License-Identifier: MIT
// libFuzzer entry point for the model reader (built with -DMLPCORE_LIBFUZZER=ON and clang; see
// run_fuzz.sh). The check itself is in fuzz_model_io.hpp.
#include "fuzz_model_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::check_model_bytes(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
