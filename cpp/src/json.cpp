// SPDX-License-Identifier: MIT
// Strict recursive-descent JSON parser: the model reader feeds it untrusted bytes, so it checks
// every byte, bounds its recursion and never allocates more than the input's size justifies.
#include "json.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace mlpcore::detail {

const Json* Json::find(const std::string& key) const {
  for (const auto& m : members)
    if (m.first == key) return &m.second;
  return nullptr;
}

namespace {

class Parser {
 public:
  Parser(const std::string& s, int max_depth) : m_s(s), m_max_depth(max_depth) {}

  Json parse_document() {
    Json v = value(0);
    skip_ws();
    if (m_pos != m_s.size()) fail("unexpected trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::invalid_argument("invalid JSON at byte " + std::to_string(m_pos) + ": " + what);
  }
  void skip_ws() {
    while (m_pos < m_s.size() && (m_s[m_pos] == ' ' || m_s[m_pos] == '\t' || m_s[m_pos] == '\n' || m_s[m_pos] == '\r'))
      ++m_pos;
  }
  char peek() {
    skip_ws();
    if (m_pos >= m_s.size()) fail("unexpected end of input");
    return m_s[m_pos];
  }
  void expect(const char* word) {
    for (const char* c = word; *c; ++c) {
      if (m_pos >= m_s.size() || m_s[m_pos] != *c) fail(std::string("expected '") + word + "'");
      ++m_pos;
    }
  }

  Json value(int depth) {
    if (depth > m_max_depth) fail("nesting deeper than " + std::to_string(m_max_depth));
    Json v;
    switch (peek()) {
      case '{': object(v, depth); break;
      case '[': array(v, depth); break;
      case '"': v.type = Json::Type::String; v.text = string(); break;
      case 't': expect("true"); v.type = Json::Type::Bool; v.boolean = true; break;
      case 'f': expect("false"); v.type = Json::Type::Bool; break;
      case 'n': expect("null"); break;
      default: number(v); break;
    }
    return v;
  }

  void object(Json& v, int depth) {
    v.type = Json::Type::Object;
    ++m_pos;
    if (peek() == '}') { ++m_pos; return; }
    for (;;) {
      if (peek() != '"') fail("expected a string key");
      std::string key = string();
      if (peek() != ':') fail("expected ':'");
      ++m_pos;
      v.members.emplace_back(std::move(key), value(depth + 1));
      const char c = peek();
      ++m_pos;
      if (c == '}') return check_unique_keys(v);
      if (c != ',') fail("expected ',' or '}'");
    }
  }

  // Sorting, not a lookup per key: a hostile header may hold millions of keys, and a linear
  // search per key made parsing quadratic (a 1 MB header of short keys took 13 s).
  void check_unique_keys(const Json& v) const {
    if (v.members.size() < 2) return;
    std::vector<const std::string*> keys;
    keys.reserve(v.members.size());
    for (const auto& m : v.members) keys.push_back(&m.first);
    std::sort(keys.begin(), keys.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
    for (std::size_t i = 1; i < keys.size(); ++i)
      if (*keys[i] == *keys[i - 1]) fail("duplicate key '" + *keys[i] + "'");
  }

  void array(Json& v, int depth) {
    v.type = Json::Type::Array;
    ++m_pos;
    if (peek() == ']') { ++m_pos; return; }
    for (;;) {
      v.items.push_back(value(depth + 1));
      const char c = peek();
      ++m_pos;
      if (c == ']') return;
      if (c != ',') fail("expected ',' or ']'");
    }
  }

  static void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  std::uint32_t hex4() {
    if (m_pos + 4 > m_s.size()) fail("truncated \\u escape");
    std::uint32_t cp = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = m_s[m_pos++];
      cp <<= 4;
      if (c >= '0' && c <= '9') cp |= std::uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f') cp |= std::uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') cp |= std::uint32_t(c - 'A' + 10);
      else fail("bad hex digit in \\u escape");
    }
    return cp;
  }

  // Copies one multi-byte UTF-8 sequence whose lead byte c was just consumed; rejects stray
  // continuation bytes, overlong forms, surrogates and code points past U+10FFFF.
  void utf8_sequence(std::string& out, unsigned char c) {
    int extra;
    std::uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { extra = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { extra = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { extra = 3; cp = c & 0x07; }
    else fail("invalid UTF-8 in string");
    out += char(c);
    for (int i = 0; i < extra; ++i) {
      if (m_pos >= m_s.size()) fail("invalid UTF-8 in string");
      const unsigned char d = static_cast<unsigned char>(m_s[m_pos]);
      if ((d & 0xC0) != 0x80) fail("invalid UTF-8 in string");
      cp = (cp << 6) | (d & 0x3F);
      out += char(d);
      ++m_pos;
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp < 0xE000))
      fail("invalid UTF-8 in string");
  }

  std::string string() {
    ++m_pos;  // opening quote
    std::string out;
    for (;;) {
      if (m_pos >= m_s.size()) fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(m_s[m_pos++]);
      if (c == '"') return out;
      if (c < 0x20) fail("control character in string");
      if (c >= 0x80) { utf8_sequence(out, c); continue; }
      if (c != '\\') { out += char(c); continue; }
      if (m_pos >= m_s.size()) fail("unterminated escape");
      const char e = m_s[m_pos++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {
            if (m_pos + 2 > m_s.size() || m_s[m_pos] != '\\' || m_s[m_pos + 1] != 'u') fail("unpaired surrogate");
            m_pos += 2;
            const std::uint32_t lo = hex4();
            if (lo < 0xDC00 || lo >= 0xE000) fail("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            fail("unpaired surrogate");
          }
          put_utf8(out, cp);
          break;
        }
        default: fail("bad escape");
      }
    }
  }

  void number(Json& v) {
    const std::size_t start = m_pos;
    bool integer = true;
    if (m_pos < m_s.size() && m_s[m_pos] == '-') ++m_pos;
    auto digits = [&] {
      const std::size_t d0 = m_pos;
      while (m_pos < m_s.size() && m_s[m_pos] >= '0' && m_s[m_pos] <= '9') ++m_pos;
      if (m_pos == d0) fail("expected a digit");
    };
    if (m_pos < m_s.size() && m_s[m_pos] == '0') ++m_pos; else digits();
    if (m_pos < m_s.size() && m_s[m_pos] == '.') { ++m_pos; digits(); integer = false; }
    if (m_pos < m_s.size() && (m_s[m_pos] == 'e' || m_s[m_pos] == 'E')) {
      ++m_pos;
      if (m_pos < m_s.size() && (m_s[m_pos] == '+' || m_s[m_pos] == '-')) ++m_pos;
      digits();
      integer = false;
    }
    if (m_pos - start > 64) fail("number literal too long");
    const std::string lit = m_s.substr(start, m_pos - start);
    v.type = Json::Type::Number;
    v.number = std::strtod(lit.c_str(), nullptr);
    if (integer && std::fabs(v.number) < 9.0e18) {
      v.is_integer = true;
      v.integer = std::strtoll(lit.c_str(), nullptr, 10);
    }
  }

  const std::string& m_s;
  std::size_t m_pos = 0;
  int m_max_depth;
};

}  // namespace

Json parse_json(const std::string& text, int max_depth) { return Parser(text, max_depth).parse_document(); }

void write_json_string(std::string& out, const std::string& s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (const unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
}

}  // namespace mlpcore::detail
