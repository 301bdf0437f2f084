#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the C++ core and its tests with AddressSanitizer + UndefinedBehaviorSanitizer (GCC or
# clang, whichever CXX names) and runs them all with CTest, the short fuzz run included.
#   cpp/tests/run_sanitizers.sh [BUILD_DIR]          default: build/sanitize
# Any sanitizer report fails the run (-fno-sanitize-recover, halt_on_error). Eigen comes from
# the cmeel-eigen package of $PYTHON (default python3) when installed, else from the system.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:-$repo/build/sanitize}
prefix=$("${PYTHON:-python3}" -c "import importlib.metadata as m; print(m.distribution('cmeel-eigen').locate_file('cmeel.prefix'))" 2>/dev/null || true)
mkdir -p "$build"
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
cmake -S "$repo" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMLPCORE_BUILD_PYTHON=OFF \
  -DMLPCORE_BUILD_TESTS=ON \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
  ${prefix:+-DCMAKE_PREFIX_PATH="$prefix"} > "$build.configure.log"
cmake --build "$build" -j 2 > "$build.build.log" || { tail -40 "$build.build.log"; exit 1; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
cd "$build" && ctest --output-on-failure --no-tests=error
