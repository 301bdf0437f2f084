// SPDX-License-Identifier: MIT
/// A tiny test framework for the C++ tests: register cases with TEST_CASE, check with
/// CHECK / CHECK_CLOSE / CHECK_THROWS, end the file with CHECK_MAIN(). Every failed check prints
/// "file:line: message" to stderr; the executable exits non-zero if any check failed or a case
/// threw. Pass case names on the command line to run only those cases.
#pragma once
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace check {

using CaseFn = void (*)();

inline std::vector<std::pair<const char*, CaseFn>>& registry() {
  static std::vector<std::pair<const char*, CaseFn>> cases;
  return cases;
}

inline bool add_case(const char* name, CaseFn fn) {
  registry().emplace_back(name, fn);
  return true;
}

inline long& failure_count() {
  static long count = 0;
  return count;
}

[[gnu::noinline]] inline void report_failure(const char* file, int line, const std::string& message) {
  std::fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, message.c_str());
  ++failure_count();
}

/// Thrown by REQUIRE to abandon the current case after a failure that makes the rest moot.
struct Abort {};

inline std::string show(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

/// |a − b| ≤ tol, with NaN never close to anything.
inline bool close(double a, double b, double tol) { return std::fabs(a - b) <= tol; }

[[gnu::noinline]] inline void check_close(const char* file, int line, const char* a_text, const char* b_text, double a,
                        double b, double tol) {
  if (close(a, b, tol)) return;
  report_failure(file, line,
                 std::string(a_text) + " = " + show(a) + ", " + b_text + " = " + show(b) + ", |diff| = " +
                     show(std::fabs(a - b)) + " > tol " + show(tol));
}

[[gnu::noinline]] inline void report_throws(const char* file, int line, const char* expr, const char* type, const char* outcome,
                          const std::string& what) {
  report_failure(file, line, std::string(expr) + " (expected " + type + ") " + outcome + (what.empty() ? "" : " ") + what);
}

inline int run_all(int argc, char** argv) {
  long cases_run = 0;
  for (const auto& entry : registry()) {
    if (argc > 1) {
      bool wanted = false;
      for (int i = 1; i < argc; ++i) wanted = wanted || std::strcmp(argv[i], entry.first) == 0;
      if (!wanted) continue;
    }
    const long before = failure_count();
    try {
      entry.second();
    } catch (const Abort&) {
      // already reported
    } catch (const std::exception& e) {
      report_failure(entry.first, 0, std::string("unexpected exception: ") + e.what());
    } catch (...) {
      report_failure(entry.first, 0, "unexpected exception of unknown type");
    }
    ++cases_run;
    std::fprintf(stderr, "[%s] %s\n", failure_count() == before ? "pass" : "FAIL", entry.first);
  }
  if (cases_run == 0) {
    std::fprintf(stderr, "no test case matched\n");
    return 2;
  }
  std::fprintf(stderr, "%ld case(s), %ld failed check(s)\n", cases_run, failure_count());
  return failure_count() == 0 ? 0 : 1;
}

}  // namespace check

/// Defines and registers a test case: TEST_CASE(adam_three_steps) { ... }
#define TEST_CASE(name)                                                 \
  static void name();                                                   \
  static const bool name##_registered = ::check::add_case(#name, name); \
  static void name()

#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) ::check::report_failure(__FILE__, __LINE__, #cond); \
  } while (0)

/// Like CHECK, but ends the current case on failure.
#define REQUIRE(cond)                                             \
  do {                                                            \
    if (!(cond)) {                                                \
      ::check::report_failure(__FILE__, __LINE__, #cond);         \
      throw ::check::Abort{};                                     \
    }                                                             \
  } while (0)

/// Absolute tolerance: passes when |a − b| ≤ tol.
#define CHECK_CLOSE(a, b, tol) \
  ::check::check_close(__FILE__, __LINE__, #a, #b, static_cast<double>(a), static_cast<double>(b), static_cast<double>(tol))

/// Passes when expr throws an exception of type ExceptionType (or a subclass).
#define CHECK_THROWS(expr, ExceptionType)                                                   \
  do {                                                                                      \
    const char* check_outcome_ = "did not throw";                                           \
    std::string check_what_;                                                                \
    try {                                                                                   \
      (void)(expr);                                                                         \
    } catch (const ExceptionType&) {                                                        \
      check_outcome_ = nullptr;                                                             \
    } catch (const std::exception& check_e_) {                                              \
      check_outcome_ = "threw another exception:";                                          \
      check_what_ = check_e_.what();                                                        \
    } catch (...) {                                                                         \
      check_outcome_ = "threw a non-standard exception";                                    \
    }                                                                                       \
    if (check_outcome_)                                                                     \
      ::check::report_throws(__FILE__, __LINE__, #expr, #ExceptionType, check_outcome_, check_what_); \
  } while (0)

/// A free-form failure with a message built by the caller.
#define FAIL_CHECK(message) ::check::report_failure(__FILE__, __LINE__, (message))

#define CHECK_MAIN() \
  int main(int argc, char** argv) { return ::check::run_all(argc, argv); }
