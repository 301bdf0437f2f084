#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fuzz the model reader (see fuzz_model_io.hpp), under AddressSanitizer + UndefinedBehaviorSanitizer.
#   cpp/tests/run_fuzz.sh [RUNS] [BUILD_DIR]        RUNS defaults to 1000000
# With clang and its libFuzzer (Debian: apt-get install clang libclang-rt-14-dev) it runs the
# coverage-guided fuzz_model_io_libfuzzer from the valid seed files, refusing single allocations
# over 64 MiB (-malloc_limit_mb) and inputs slower than 2 s (-timeout). Without libFuzzer it
# runs the stand-alone mutation driver (fuzz_driver.cpp), which checks the same limits itself.
# FUZZER=driver forces the stand-alone driver.
# Eigen comes from the cmeel-eigen package of $PYTHON (default python3) when installed, else
# from the system. Exits non-zero on the first finding; the crashing input is kept in BUILD_DIR.
set -euo pipefail
runs=${1:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${2:-$repo/build/fuzz}
prefix=$("${PYTHON:-python3}" -c "import importlib.metadata as m; print(m.distribution('cmeel-eigen').locate_file('cmeel.prefix'))" 2>/dev/null || true)
mkdir -p "$build"
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

libfuzzer=0
if [ "${FUZZER:-auto}" != driver ] && command -v clang++ > /dev/null &&
   echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
   clang++ -x c++ -fsanitize=fuzzer - -o /dev/null 2> /dev/null; then
  libfuzzer=1
fi

if [ "$libfuzzer" = 1 ]; then
  # clang has no OpenMP runtime here, and loading a model needs no threads.
  cmake -S "$repo" -B "$build" "${generator[@]}" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMLPCORE_BUILD_PYTHON=OFF -DMLPCORE_BUILD_TESTS=ON -DMLPCORE_LIBFUZZER=ON -DMLPCORE_OPENMP=OFF \
    -DCMAKE_CXX_FLAGS="$sanitize -fsanitize=fuzzer-no-link" ${prefix:+-DCMAKE_PREFIX_PATH="$prefix"} > "$build.configure.log"
  cmake --build "$build" --target fuzz_model_io fuzz_model_io_libfuzzer -j 2 > "$build.build.log"
  corpus="$build/corpus"
  mkdir -p "$corpus"
  "$build/cpp/tests/fuzz_model_io" --write-seeds "$corpus"
  start=$(date +%s%N)
  (cd "$build" && ./cpp/tests/fuzz_model_io_libfuzzer -runs="$runs" -max_len=16384 -malloc_limit_mb=64 \
     -rss_limit_mb=2048 -timeout=2 -print_final_stats=1 "$corpus")
  end=$(date +%s%N)
  echo "libFuzzer: $runs inputs in $(( (end - start) / 1000000 )) ms: no crash, hang, huge allocation, sanitizer report or unclear error"
else
  echo "running the stand-alone mutation driver under the sanitizers (no libFuzzer, or FUZZER=driver)"
  cmake -S "$repo" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMLPCORE_BUILD_PYTHON=OFF \
    -DMLPCORE_BUILD_TESTS=ON -DCMAKE_CXX_FLAGS="$sanitize" ${prefix:+-DCMAKE_PREFIX_PATH="$prefix"} > "$build.configure.log"
  cmake --build "$build" --target fuzz_model_io -j 2 > "$build.build.log"
  "$build/cpp/tests/fuzz_model_io" --runs "$runs" --seed "${SEED:-1}"
fi
