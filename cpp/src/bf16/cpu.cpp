// SPDX-License-Identifier: MIT
// Which bfloat16 engine runs: CPUID says what the processor has, XCR0 what the operating system
// saves on a context switch, and on Linux the AMX tile data (8 KiB per thread) must be asked for
// once per process with arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) before the first
// tile instruction, or the process is killed by SIGILL.
#include "mlpcore/precision.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define MLPCORE_X86 1
#endif
#if defined(MLPCORE_X86) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace mlpcore {
namespace {

struct Support {
  bool avx512_bf16 = false;
  bool amx = false;
  std::string missing;  // what the CPU, the OS or this build lacks, for the refusal message
};

#ifdef MLPCORE_X86
unsigned long long xcr0() {
  unsigned eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}

#ifdef __AVX512F__
bool request_amx_permission() {
#ifdef __linux__
  constexpr long kArchReqXcompPerm = 0x1023;  // asm/prctl.h
  constexpr long kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}
#endif
#endif

Support probe() {
  Support s;
#if !defined(MLPCORE_X86)
  s.missing = "an x86-64 CPU with AMX-BF16 or AVX512-BF16";
#else
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    s.missing = "CPUID leaf 7 (AMX-BF16, AVX512-BF16)";
    return s;
  }
  const bool osxsave = [] {
    unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
    return __get_cpuid(1, &a1, &b1, &c1, &d1) && (c1 & (1u << 27));
  }();
  const unsigned long long xcr = osxsave ? xcr0() : 0;
  const bool avx512_os = (xcr & 0xE6) == 0xE6;               // SSE, AVX, opmask, ZMM state
  const bool amx_os = (xcr & (3ull << 17)) == (3ull << 17);   // XTILECFG, XTILEDATA
  const bool avx512f = b & (1u << 16), avx512bw = b & (1u << 30);
  const bool amx_tile = d & (1u << 24), amx_bf16 = d & (1u << 22);
  unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
  const bool bf16 = __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1) && (a1 & (1u << 5));
#if !defined(__AVX512F__)
  // A build for an older instruction set (the portable baseline or AVX2 engine) would mix its
  // code with AVX-512 packing; bf16 belongs to the AVX-512 engine.
  s.missing = "this engine build targets an instruction set below AVX-512 (load the avx512 engine)";
  (void)avx512_os, (void)amx_os, (void)avx512f, (void)avx512bw, (void)amx_tile, (void)amx_bf16, (void)bf16;
  return s;
#else
  const bool avx512 = avx512f && avx512bw && avx512_os;
  s.avx512_bf16 = avx512 && bf16;
  // The AMX kernels pack operands with AVX512-BF16 instructions, so AMX needs both.
  s.amx = s.avx512_bf16 && amx_tile && amx_bf16 && amx_os && request_amx_permission();
  if (!s.avx512_bf16) {
    s.missing = !avx512 ? "AVX-512 (F, BW) with OS support" : "AVX512-BF16";
    s.missing += amx_tile && amx_bf16 ? "" : " and AMX-BF16";
  }
#endif
#endif
  return s;
}

const Support& support() {
  static const Support s = probe();  // thread-safe, once per process
  return s;
}

std::atomic<int> g_limit{static_cast<int>(Bf16Engine::Amx)};

}  // namespace

const char* to_string(Bf16Engine e) {
  switch (e) {
    case Bf16Engine::Amx: return "amx";
    case Bf16Engine::Avx512Bf16: return "avx512_bf16";
    default: return "none";
  }
}

Bf16Engine bf16_engine_from_string(const std::string& name) {
  for (auto e : {Bf16Engine::None, Bf16Engine::Avx512Bf16, Bf16Engine::Amx})
    if (name == to_string(e)) return e;
  throw std::invalid_argument("unknown bf16 engine '" + name + "'; expected one of: 'none', 'avx512_bf16', 'amx'");
}

Bf16Engine bf16_engine() {
  const Support& s = support();
  const Bf16Engine best = s.amx ? Bf16Engine::Amx : s.avx512_bf16 ? Bf16Engine::Avx512Bf16 : Bf16Engine::None;
  const int limit = g_limit.load(std::memory_order_relaxed);
  return static_cast<Bf16Engine>(std::min(static_cast<int>(best), limit));
}

std::string bf16_unavailable_reason() {
  if (bf16_engine() != Bf16Engine::None) return "";
  const std::string lacks = support().missing.empty()
                                ? "AMX-BF16 and AVX512-BF16 (disabled by bf16_limit_engine)"
                                : support().missing;
  return "precision 'bf16' needs a CPU with AMX-BF16 or AVX512-BF16; missing here: " + lacks;
}

void bf16_limit_engine(Bf16Engine max) { g_limit.store(static_cast<int>(max), std::memory_order_relaxed); }

}  // namespace mlpcore
