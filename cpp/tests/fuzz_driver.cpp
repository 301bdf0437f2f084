// SPDX-License-Identifier: MIT
// Stand-alone fuzz driver for the model reader, for compilers without libFuzzer (and for the
// short run CTest does): mutates the valid seed files of fuzz_model_io.hpp (byte and bit flips,
// inserts, deletions, truncations, splices, header-length and JSON-token replacements) and
// runs check_model_bytes on each result. On top of the checks there, it watches every input
// for a hang (> 2 s) and for a huge allocation (a single request above 64 MiB, while inputs are
// at most a few kB), counting the process's allocations like test_no_alloc does.
//
//   fuzz_model_io [--runs N] [--seconds S] [--seed K] [--write-seeds DIR] [FILE...]
// FILEs are extra seeds. Prints one summary line; exits non-zero (abort) on the first finding.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <fstream>
#include <iterator>
#include <map>

#include "fuzz_model_io.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define MLPCORE_FUZZ_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MLPCORE_FUZZ_SANITIZED 1
#endif
#endif

namespace {
std::atomic<std::size_t> g_largest{0};
inline void note(std::size_t size) {
  std::size_t seen = g_largest.load(std::memory_order_relaxed);
  while (size > seen && !g_largest.compare_exchange_weak(seen, size, std::memory_order_relaxed)) {
  }
}
}  // namespace

#ifdef MLPCORE_FUZZ_SANITIZED
// AddressSanitizer owns malloc; its hooks see every allocation.
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void*, std::size_t),
                                                         void (*)(const volatile void*));
namespace {
void malloc_hook(const volatile void*, std::size_t size) { note(size); }
void free_hook(const volatile void*) {}
const int g_hooks = __sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook);
}  // namespace
#else
// Definitions in the executable take precedence over libc's for every caller (operator new,
// Eigen's aligned allocations and the static core library included); free stays libc's.
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void* malloc(std::size_t size) {
  note(size);
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) {
  note(size && count > static_cast<std::size_t>(-1) / size ? static_cast<std::size_t>(-1) : count * size);
  return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t size) {
  note(size);
  return __libc_realloc(p, size);
}
void* memalign(std::size_t alignment, std::size_t size) {
  note(size);
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
  note(size);
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  note(size);
  void* p = __libc_memalign(alignment, size);
  if (!p) return 12;  // ENOMEM
  *out = p;
  return 0;
}
}  // extern "C"
#endif

namespace {

constexpr std::size_t kAllocationLimit = std::size_t(64) << 20;
constexpr double kHangSeconds = 2.0;

// Values that stress integer and size handling when written over a number in the header.
const char* const kNumbers[] = {"0", "-1", "1", "2", "3", "7", "8", "64", "65", "255", "256", "4294967295",
                                "4294967296", "268435456", "268435457", "9007199254740993",
                                "9223372036854775807", "18446744073709551615", "1e308", "-0", "1.5", "1e-320",
                                "99999999999999999999999", "0.1", "NaN", "\"1\"", "[]", "{}", "null", "true"};
const char* const kTokens[] = {"{", "}", "[", "]", ",", ":", "\"", "\\", "\\u0000", "\\ud800", "null",
                               "\"__metadata__\"", "\"F16\"", "\"F64\"", "\"I32\"", "\"maxout\"", "\"relu\"",
                               "\"sigmoid\"", "\"identity\"", "\"softmax\"", "\"0.weight\"", "\"2.bias\"",
                               "\"shape\"", "\"dtype\"", "\"data_offsets\"", "\"classes\"", "\"[1,2]\"",
                               "\"int\"", "\"str\"", "\xff", "\xc3\xa9", " "};

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : m_rng(seed) {}
  std::size_t below(std::size_t n) { return n ? static_cast<std::size_t>(m_rng.below(n)) : 0; }

  // Most inputs keep a consistent length field and edit the JSON header, so that they get past
  // the first checks and reach the architecture, tensor and metadata validation; the rest are
  // raw byte-level edits of the whole file.
  std::string mutate(const std::vector<std::string>& seeds) {
    const std::string& seed = seeds[below(seeds.size())];
    std::string header = seed.substr(8, header_length(seed));
    std::string data = seed.substr(8 + header.size());
    for (std::size_t i = 0, n = 1 + below(3); i < n; ++i) edit_header(header);
    if (below(8) == 0) edit_raw(data, seeds);
    std::string s = assemble(header, data);
    if (below(4) == 0)
      for (std::size_t i = 0, n = 1 + below(3); i < n; ++i) edit_raw(s, seeds);
    return s;
  }

 private:
  static std::uint64_t header_length(const std::string& s) {
    std::uint64_t hlen = 0;
    for (int i = 0; i < 8; ++i) hlen |= std::uint64_t(static_cast<unsigned char>(s[std::size_t(i)])) << (8 * i);
    return hlen;
  }
  static std::string assemble(const std::string& header, const std::string& data) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[std::size_t(i)] = char((std::uint64_t(header.size()) >> (8 * i)) & 0xFF);
    return s + header + data;
  }

  void edit_header(std::string& h) {
    switch (below(8)) {
      case 0:
      case 1:
      case 2: {  // replace a number (also inside metadata strings such as sizes) with an edge value
        std::size_t a = h.find_first_of("0123456789", below(h.size() + 1));
        if (a == std::string::npos) a = h.find_first_of("0123456789");
        if (a == std::string::npos) break;
        std::size_t b = a;
        while (b < h.size() && (std::isdigit(static_cast<unsigned char>(h[b])) || h[b] == '.' || h[b] == 'e' || h[b] == '-')) ++b;
        h.replace(a, b - a, kNumbers[below(std::size(kNumbers))]);
        break;
      }
      case 3:  // insert a JSON token
        h.insert(below(h.size() + 1), kTokens[below(std::size(kTokens))]);
        break;
      case 4: {  // duplicate a chunk (repeated keys, deeper nesting, longer arrays)
        if (h.empty()) break;
        const std::size_t a = below(h.size());
        h.insert(below(h.size() + 1), h.substr(a, 1 + below(std::min<std::size_t>(80, h.size() - a))));
        break;
      }
      case 5: {  // delete a range
        if (h.empty()) break;
        const std::size_t a = below(h.size());
        h.erase(a, 1 + below(std::min<std::size_t>(24, h.size() - a)));
        break;
      }
      case 6: {  // replace a quoted string's contents with a token's text
        const std::size_t q = h.find('"', below(h.size() + 1));
        if (q == std::string::npos) break;
        const std::size_t e = h.find('"', q + 1);
        if (e == std::string::npos) break;
        std::string t = kTokens[below(std::size(kTokens))];
        if (t.size() > 1 && t.front() == '"') t = t.substr(1, t.size() - 2);
        h.replace(q + 1, e - q - 1, t);
        break;
      }
      default:  // a random byte
        if (!h.empty()) h[below(h.size())] = char(below(256));
    }
  }

  void edit_raw(std::string& s, const std::vector<std::string>& seeds) {
    switch (below(6)) {
      case 0:  // flip one bit
        if (!s.empty()) s[below(s.size())] ^= char(1u << below(8));
        break;
      case 1:  // insert random bytes
        s.insert(below(s.size() + 1), std::string(1 + below(8), char(below(256))));
        break;
      case 2:  // truncate
        s.resize(below(s.size() + 1));
        break;
      case 3: {  // splice: a prefix of this, the tail of another seed
        const std::string& other = seeds[below(seeds.size())];
        s = s.substr(0, below(s.size() + 1)) + other.substr(below(other.size() + 1));
        break;
      }
      case 4: {  // a new header length
        if (s.size() < 8) break;
        std::uint64_t v;
        switch (below(4)) {
          case 0: v = s.size() - 8 - below(std::min<std::size_t>(s.size() - 8, 64) + 1); break;
          case 1: v = std::uint64_t(1) << below(64); break;
          case 2: v = ~std::uint64_t(0) - below(16); break;
          default: v = below(1 << 20);
        }
        for (int i = 0; i < 8; ++i) s[std::size_t(i)] = char((v >> (8 * i)) & 0xFF);
        break;
      }
      default:  // random bytes anywhere
        for (std::size_t i = 0, n = 1 + below(4); i < n && !s.empty(); ++i) s[below(s.size())] = char(below(256));
    }
  }

  mlpcore::Rng m_rng;
};

std::string read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path);
    std::exit(2);
  }
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

int main(int argc, char** argv) {
  long long runs = 10000;
  double seconds = 0;
  std::uint64_t seed = 1;
  std::vector<std::string> seeds = fuzz::seed_files();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) runs = std::atoll(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--write-seeds" && i + 1 < argc) {
      const std::string dir = argv[++i];
      for (std::size_t k = 0; k < seeds.size(); ++k) {
        std::ofstream out(dir + "/seed" + std::to_string(k) + ".safetensors", std::ios::binary);
        out << seeds[k];
      }
      std::printf("wrote %zu seed files to %s\n", seeds.size(), dir.c_str());
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "usage: %s [--runs N] [--seconds S] [--seed K] [--write-seeds DIR] [FILE...]\n", argv[0]);
      return 2;
    } else {
      seeds.push_back(read_file(argv[i]));
    }
  }
  // The allocation watch sees the standard library's and Eigen's allocations.
  for (int kind = 0; kind < 2; ++kind) {
    g_largest.store(0);
    if (kind == 0) {
      std::vector<char> probe(std::size_t(1) << 20);
      asm volatile("" : : "g"(probe.data()) : "memory");
    } else {
      mlpcore::Vector<float> probe(Eigen::Index(1) << 18);
      asm volatile("" : : "g"(probe.data()) : "memory");
    }
    if (g_largest.load() < (std::size_t(1) << 20)) fuzz::fail("setup", "the allocation watch missed a 1 MiB allocation");
  }
  // The seeds themselves must load.
  for (const auto& s : seeds)
    if (fuzz::check_model_bytes(s) != fuzz::Outcome::Accepted) fuzz::fail("seed", "a seed file was rejected");

  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  Mutator mutator(seed);
  long long done = 0, accepted = 0;
  double slowest = 0;
  std::size_t largest = 0;
  std::map<std::string, long long> reasons;  // rejection messages up to their first quote or digit
  std::string message;
  for (; runs <= 0 || done < runs; ++done) {
    if (seconds > 0 && (done & 255) == 0 &&
        std::chrono::duration<double>(clock::now() - t0).count() >= seconds)
      break;
    const std::string input = mutator.mutate(seeds);
    g_largest.store(0);
    const auto start = clock::now();
    const fuzz::Outcome outcome = fuzz::check_model_bytes(input, &message);
    const double took = std::chrono::duration<double>(clock::now() - start).count();
    const std::size_t big = g_largest.load();
    if (took > kHangSeconds) fuzz::fail("hang", std::to_string(took) + " s for one input");
    if (big > kAllocationLimit)
      fuzz::fail("huge allocation", std::to_string(big) + " bytes for a " + std::to_string(input.size()) + "-byte input");
    slowest = std::max(slowest, took);
    largest = std::max(largest, big);
    if (outcome == fuzz::Outcome::Accepted) {
      ++accepted;
    } else {
      const std::size_t cut = message.find_first_of("'0123456789[(\"", 20);
      ++reasons[message.substr(0, std::min<std::size_t>(cut, 70))];
    }
  }
  const double total = std::chrono::duration<double>(clock::now() - t0).count();
  std::printf("fuzz_model_io: %lld inputs in %.1f s (%.0f/s): %lld loaded, %lld rejected with FormatError "
              "(%zu kinds of message); slowest input %.2f ms, largest allocation %zu bytes; no crash, hang, "
              "huge allocation or unclear error\n",
              done, total, done / std::max(total, 1e-9), accepted, done - accepted, reasons.size(), slowest * 1e3,
              largest);
  if (std::getenv("FUZZ_VERBOSE"))
    for (const auto& kv : reasons) std::printf("  %8lld  %s\n", kv.second, kv.first.c_str());
  return 0;
}
