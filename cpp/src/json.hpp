// SPDX-License-Identifier: MIT
/// A small, strict JSON reader and writer for the model file's header (internal).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mlpcore::detail {

/// A parsed JSON value. Objects keep their key order; duplicate keys are rejected.
struct Json {
  enum class Type { Null, Bool, Number, String, Array, Object };
  Type type = Type::Null;
  bool boolean = false;
  double number = 0;
  bool is_integer = false;       ///< the literal had no fraction or exponent
  std::int64_t integer = 0;      ///< its value when is_integer and it fits
  std::string text;              ///< String value
  std::vector<Json> items;       ///< Array items
  std::vector<std::pair<std::string, Json>> members;  ///< Object members
  /// Member by key, or nullptr.
  const Json* find(const std::string& key) const;
};

/// Parses `text` completely (trailing garbage is an error). Nesting deeper than max_depth, bad
/// escapes, control characters in strings, and malformed numbers throw std::invalid_argument
/// with the byte offset.
Json parse_json(const std::string& text, int max_depth = 32);

/// Appends `s` as a JSON string literal (quotes and escapes) to out.
void write_json_string(std::string& out, const std::string& s);

}  // namespace mlpcore::detail
