// SPDX-License-Identifier: MIT
// The model file: bit-exact round trips (float and double, maxout, classes, input scaling,
// free-form metadata), atomic saves that never damage the previous file, and a reader that
// turns every malformed input (truncations, random byte flips, hand-made hostile headers) into
// a FormatError instead of a crash or a huge allocation.
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "check.hpp"
#include "mlpcore/mlpcore.hpp"

using namespace mlpcore;
namespace fs = std::filesystem;

static_assert(std::is_base_of_v<std::invalid_argument, FormatError>,
              "FormatError must be an invalid_argument (a ValueError in Python)");

namespace {

// A fresh folder under the system temp directory, removed with everything in it at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "mlpcore_test_io_XXXXXX").string();
    if (!::mkdtemp(&tmpl[0])) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = char((v >> (8 * i)) & 0xFF);
  return s;
}

template <class S>
BasicMlp<S> make_model(std::vector<Index> sizes, std::vector<Activation> acts, Output output, std::uint64_t seed) {
  MlpSpec spec;
  spec.sizes = std::move(sizes);
  spec.activations = std::move(acts);
  spec.output = output;
  spec.maxout_pieces = 3;
  spec.leaky_relu_slope = 0.123456789012345;
  spec.elu_alpha = 1.7;
  BasicMlp<S> net(spec, Init::He, seed);
  Rng rng(seed + 1);  // non-zero biases
  for (Index l = 0; l < spec.n_layers(); ++l)
    for (Index i = 0; i < net.bias(l).size(); ++i) net.bias(l)[i] = static_cast<S>(rng.normal());
  return net;
}

// Model A: float, maxout (k = 3) then tanh, string classes, input scaling, user metadata.
Mlp model_a() {
  Mlp net = make_model<float>({3, 5, 4, 2}, {Activation::Maxout, Activation::Tanh}, Output::Softmax, 7);
  net.set_input_scaling({0.5, -1.0, 2.0 / 3.0}, {1.5, 0.25, 1e-3});
  net.meta().classes = {"cat", "dog"};
  net.meta().classes_kind = "str";
  net.meta().extra["author"] = "unit test";
  net.meta().extra["note"] = "quotes \" backslash \\ newline \n tab \t and \xC3\xBC";
  return net;
}

// Model B: double, leaky ReLU then ELU with non-default parameters, integer classes.
Mlp64 model_b() {
  Mlp64 net = make_model<double>({4, 6, 3, 3}, {Activation::LeakyRelu, Activation::Elu}, Output::Sigmoid, 8);
  net.meta().classes = {"0", "1", "2"};
  net.meta().classes_kind = "int";
  return net;
}

template <class S>
bool same_bits(const BasicMlp<S>& a, const BasicMlp<S>& b) {
  return a.n_params() == b.n_params() &&
         std::memcmp(a.params().data(), b.params().data(), sizeof(S) * std::size_t(a.n_params())) == 0;
}

template <class S>
void check_same_model(const BasicMlp<S>& original, const BasicMlp<S>& loaded) {
  CHECK(loaded.spec() == original.spec());
  CHECK(same_bits(original, loaded));
  CHECK(loaded.meta().classes == original.meta().classes);
  CHECK(loaded.meta().classes_kind == original.meta().classes_kind);
  CHECK(loaded.meta().input_mean == original.meta().input_mean);    // exact doubles
  CHECK(loaded.meta().input_scale == original.meta().input_scale);
  CHECK(loaded.meta().extra == original.meta().extra);
  CHECK(loaded.scales_input() == original.scales_input());
  // The same predictions, bit for bit (this also proves the scaling was restored).
  RowMatrix<S> X(5, original.spec().n_inputs());
  Rng rng(99);
  for (Index i = 0; i < X.size(); ++i) X.data()[i] = static_cast<S>(rng.normal());
  Workspace<S> wa, wb;
  const RowMatrix<S> za = original.forward(X, wa);
  const RowMatrix<S> zb = loaded.forward(X, wb);
  CHECK(za.allFinite());
  CHECK(std::memcmp(za.data(), zb.data(), sizeof(S) * std::size_t(za.size())) == 0);
}

// ---------------------------------------------------------------------------------------------
// Round trips.

TEST_CASE(serialize_round_trip_is_bit_exact) {
  const Mlp a = model_a();
  const std::string bytes = serialize(a);
  LoadedModel la = deserialize(bytes);
  REQUIRE(la.f32 && !la.f64);
  check_same_model(a, *la.f32);
  CHECK(serialize(*la.f32) == bytes);  // writing what was read gives the same bytes

  const Mlp64 b = model_b();
  const std::string bytes_b = serialize(b);
  LoadedModel lb = deserialize(bytes_b);
  REQUIRE(lb.f64 && !lb.f32);
  check_same_model(b, *lb.f64);
  CHECK(serialize(*lb.f64) == bytes_b);

  // More shapes: no hidden layer, one output with two classes, maxout regression, every
  // activation once.
  Mlp64 linear = make_model<double>({5, 3}, {}, Output::Softmax, 9);
  Mlp binary = make_model<float>({2, 4, 1}, {Activation::Relu}, Output::Sigmoid, 10);
  binary.meta().classes = {"no", "yes"};
  binary.meta().classes_kind = "str";
  Mlp64 regress = make_model<double>({3, 4, 4, 2}, {Activation::Maxout, Activation::Maxout}, Output::Identity, 11);
  regress.set_input_scaling({1e-300, -1e300, 0.1}, {1e-300, 1e300, 0.3});
  Mlp every = make_model<float>({2, 3, 3, 3, 3, 3, 3, 3, 2},
                                {Activation::Identity, Activation::Sigmoid, Activation::Tanh, Activation::Relu,
                                 Activation::LeakyRelu, Activation::Elu, Activation::Maxout},
                                Output::Softmax, 12);
  check_same_model(linear, *deserialize(serialize(linear)).f64);
  check_same_model(binary, *deserialize(serialize(binary)).f32);
  check_same_model(regress, *deserialize(serialize(regress)).f64);
  check_same_model(every, *deserialize(serialize(every)).f32);
}

template <class S>
void check_awkward_values() {
  // Values a lossy writer would change: signed zero, the smallest denormal, the extremes, and
  // random bit patterns (every finite one must survive).
  BasicMlp<S> net = make_model<S>({3, 4, 2}, {Activation::Relu}, Output::Softmax, 13);
  net.params()[0] = S(-0.0);
  net.params()[1] = std::numeric_limits<S>::denorm_min();
  net.params()[2] = -std::numeric_limits<S>::denorm_min();
  net.params()[3] = std::numeric_limits<S>::max();
  net.params()[4] = std::numeric_limits<S>::lowest();
  net.params()[5] = std::numeric_limits<S>::epsilon();
  Rng rng(14);
  for (Index i = 6; i < net.n_params(); ++i) {
    S v;
    do {
      const std::uint64_t bits = rng.next();
      std::memcpy(&v, &bits, sizeof v);
    } while (!std::isfinite(v));
    net.params()[i] = v;
  }
  LoadedModel m = deserialize(serialize(net));
  const BasicMlp<S>* back = nullptr;
  if constexpr (sizeof(S) == 4) back = m.f32.get();
  else back = m.f64.get();
  REQUIRE(back != nullptr);
  CHECK(same_bits(net, *back));
  CHECK(std::signbit(back->params()[0]));
}

TEST_CASE(awkward_values_survive_bit_for_bit) {
  check_awkward_values<float>();
  check_awkward_values<double>();
}

TEST_CASE(file_layout_is_safetensors) {
  const Mlp a = model_a();
  const std::string bytes = serialize(a);
  REQUIRE(bytes.size() > 8);
  std::uint64_t hlen = 0;
  for (int i = 0; i < 8; ++i) hlen |= std::uint64_t(static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)])) << (8 * i);
  // Header, then exactly the flat parameter buffer, starting 8-byte aligned.
  CHECK(hlen % 8 == 0);
  CHECK(bytes.size() == 8 + hlen + sizeof(float) * std::size_t(a.n_params()));
  CHECK(std::memcmp(bytes.data() + 8 + hlen, a.params().data(), sizeof(float) * std::size_t(a.n_params())) == 0);
  const std::string header = bytes.substr(8, hlen);
  CHECK(header.front() == '{');
  // torch.nn.Sequential names: Linear layers at 0, 2, 4 (activations at the odd indices).
  for (const char* name : {"\"0.weight\"", "\"0.bias\"", "\"2.weight\"", "\"2.bias\"", "\"4.weight\"", "\"4.bias\"",
                           "\"__metadata__\"", "\"format\":\"mlpcore\"", "\"F32\""})
    if (header.find(name) == std::string::npos) FAIL_CHECK(std::string("header lacks ") + name);
  // Maxout's weight holds units·k rows: 5 units × 3 pieces = 15 rows of 3 inputs.
  CHECK(header.find("\"shape\":[15,3]") != std::string::npos);
}

TEST_CASE(save_and_load_round_trip) {
  TempDir dir;
  const Mlp a = model_a();
  const Mlp64 b = model_b();
  const std::string pa = (dir.path / "a.safetensors").string();
  const std::string pb = (dir.path / "b.safetensors").string();
  save(a, pa);
  save(b, pb);
  CHECK(read_file(pa) == serialize(a));
  CHECK(read_file(pb) == serialize(b));
  LoadedModel la = load(pa);
  REQUIRE(la.f32 && !la.f64);
  check_same_model(a, *la.f32);
  const Mlp64 lb = load_as<double>(pb);
  check_same_model(b, lb);
  const Mlp la2 = load_as<float>(pa);
  check_same_model(a, la2);
  CHECK_THROWS(load_as<double>(pa), FormatError);
  CHECK_THROWS(load_as<float>(pb), FormatError);
  CHECK_THROWS(load((dir.path / "absent.safetensors").string()), IoError);
  // Saving over an existing file replaces it.
  save(b, pa);
  check_same_model(b, load_as<double>(pa));
  CHECK((dir.entries() == std::vector<std::string>{"a.safetensors", "b.safetensors"}));
}

TEST_CASE(failed_saves_keep_the_old_file) {
  TempDir dir;
  const Mlp a = model_a();
  const Mlp64 b = model_b();
  const fs::path target = dir.path / "model.safetensors";
  save(a, target.string());
  const std::string before = read_file(target);

  // The target folder is missing: nothing is created anywhere, the old file is untouched.
  CHECK_THROWS(save(b, (dir.path / "missing" / "model.safetensors").string()), IoError);
  CHECK(!fs::exists(dir.path / "missing"));

  // The final rename fails (the target is a non-empty folder): the temporary is removed.
  fs::create_directory(dir.path / "occupied");
  write_file(dir.path / "occupied" / "keep", "x");
  CHECK_THROWS(save(b, (dir.path / "occupied").string()), IoError);
  CHECK(fs::is_directory(dir.path / "occupied"));
  CHECK(read_file(dir.path / "occupied" / "keep") == "x");

  // The model itself is invalid (labels for 3 classes, 2 outputs): refused before writing.
  Mlp broken = model_a();
  broken.meta().classes = {"a", "b", "c"};
  CHECK_THROWS(save(broken, target.string()), std::invalid_argument);
  // A reserved metadata key is refused too.
  Mlp reserved = model_a();
  reserved.meta().extra["sizes"] = "[1,1]";
  CHECK_THROWS(save(reserved, target.string()), std::invalid_argument);

  CHECK(read_file(target) == before);
  check_same_model(a, load_as<float>(target.string()));
  // No temporary file is left behind by any failure.
  CHECK((dir.entries() == std::vector<std::string>{"model.safetensors", "occupied"}));
}

// ---------------------------------------------------------------------------------------------
// Hostile inputs.

// A small valid file with every optional metadata field, so corruption reaches all of them.
std::string small_valid_file() {
  Mlp net = make_model<float>({2, 3, 2}, {Activation::Maxout}, Output::Softmax, 21);
  net.set_input_scaling({0.25, -0.5}, {2.0, 0.5});
  net.meta().classes = {"0", "1"};
  net.meta().classes_kind = "int";
  net.meta().extra["k"] = "v";
  return serialize(net);
}

// Loads bytes; returns true if they load (and the model is sane), false on FormatError, and
// reports any other outcome.
bool loads_or_format_error(const std::string& bytes, const std::string& what) {
  try {
    LoadedModel m = deserialize(bytes);
    if (bool(m.f32) == bool(m.f64)) {
      FAIL_CHECK(what + ": loaded neither or both precisions");
      return true;
    }
    auto sane = [&](const auto& net) {
      net.spec().validate();
      if (!net.params().allFinite()) FAIL_CHECK(what + ": loaded non-finite parameters");
      if (net.params().size() != ParamLayout(net.spec()).n_params) FAIL_CHECK(what + ": parameter count mismatch");
      // What loaded must be writable and read back the same.
      const std::string again = serialize(net);
      LoadedModel m2 = deserialize(again);
      const std::string third = m2.f32 ? serialize(*m2.f32) : serialize(*m2.f64);
      if (third != again) FAIL_CHECK(what + ": re-serialization is not stable");
    };
    if (m.f32) sane(*m.f32);
    else sane(*m.f64);
    return true;
  } catch (const FormatError&) {
    return false;
  } catch (const std::exception& e) {
    FAIL_CHECK(what + ": threw something other than FormatError: " + e.what());
  } catch (...) {
    FAIL_CHECK(what + ": threw a non-standard exception");
  }
  return false;
}

TEST_CASE(every_truncation_is_a_format_error) {
  const std::string valid = small_valid_file();
  CHECK(loads_or_format_error(valid, "the untouched file"));
  for (std::size_t cut = 0; cut < valid.size(); ++cut) {
    // A truncated file never loads: the tensors must tile the data section exactly.
    if (loads_or_format_error(valid.substr(0, cut), "truncated at " + std::to_string(cut)))
      FAIL_CHECK("a file truncated at byte " + std::to_string(cut) + " loaded");
  }
  // Extra bytes after the data are rejected too.
  CHECK(!loads_or_format_error(valid + std::string(1, '\0'), "one trailing byte"));
  CHECK(!loads_or_format_error(valid + std::string(8, '\x7f'), "eight trailing bytes"));

  // The same through the file reader, for a sample of cut points (and the empty file).
  TempDir dir;
  const fs::path p = dir.path / "cut.safetensors";
  for (std::size_t cut = 0; cut < valid.size(); cut += 41) {
    write_file(p, valid.substr(0, cut));
    CHECK_THROWS(load(p.string()), FormatError);
  }
}

TEST_CASE(random_byte_flips_load_or_raise_format_error) {
  const std::string valid = small_valid_file();
  std::uint64_t hlen = 0;
  for (int i = 0; i < 8; ++i) hlen |= std::uint64_t(static_cast<unsigned char>(valid[static_cast<std::size_t>(i)])) << (8 * i);
  const std::size_t header_end = 8 + static_cast<std::size_t>(hlen);
  // Bytes that steer the JSON parser into its other branches.
  const std::string syntax = "{}[]\",:\\/ 0123456789-+.eEuUntfl\x01\x7f\xff";
  Rng rng(20240601);
  int loaded = 0, rejected = 0;
  const int kMutations = 4000;
  for (int trial = 0; trial < kMutations; ++trial) {
    std::string bytes = valid;
    const int edits = 1 + int(rng.below(3));
    for (int e = 0; e < edits; ++e) {
      // Mostly the header (where the parsing is); sometimes anywhere, length bytes included.
      const std::uint64_t where = rng.below(4);
      std::size_t pos;
      if (where == 0) pos = static_cast<std::size_t>(rng.below(bytes.size()));
      else if (where == 1) pos = header_end + static_cast<std::size_t>(rng.below(bytes.size() - header_end));
      else pos = 8 + static_cast<std::size_t>(rng.below(hlen));
      switch (rng.below(3)) {
        case 0: bytes[pos] = char(bytes[pos] ^ char(1u << rng.below(8))); break;
        case 1: bytes[pos] = char(rng.below(256)); break;
        default: bytes[pos] = syntax[static_cast<std::size_t>(rng.below(syntax.size()))]; break;
      }
    }
    if (loads_or_format_error(bytes, "mutation " + std::to_string(trial))) ++loaded;
    else ++rejected;
  }
  std::fprintf(stderr, "  %d mutations loaded, %d raised FormatError\n", loaded, rejected);
  // Both outcomes occur, so the mutations neither all hit the data nor all break the length.
  CHECK(loaded > 100);
  CHECK(rejected > 1000);
}

// A hand-made file: header text, then data bytes. The reference architecture is 2 → 2 with no
// hidden layer in float32: "0.weight" (2×2, bytes 0..16) and "0.bias" (2, bytes 16..24).
struct Hostile {
  std::string metadata = "\"format\":\"mlpcore\",\"format_version\":\"1\",\"dtype\":\"float32\",\"sizes\":\"[2,2]\","
                         "\"activations\":\"[]\",\"leaky_relu_slope\":\"0.1\",\"elu_alpha\":\"1\","
                         "\"maxout_pieces\":\"2\",\"output\":\"softmax\"";
  std::string weight = "{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}";
  std::string bias = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}";
  std::string extra_tensors;
  std::string data = std::string(24, '\0');
  std::string header() const {
    return "{\"__metadata__\":{" + metadata + "},\"0.weight\":" + weight + ",\"0.bias\":" + bias + extra_tensors + "}";
  }
  std::string bytes() const {
    const std::string h = header();
    return le64(h.size()) + h + data;
  }
};

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const std::size_t at = s.find(from);
  if (at == std::string::npos) throw std::logic_error("test setup: '" + from + "' not found");
  return s.replace(at, from.size(), to);
}

TEST_CASE(hostile_headers_are_format_errors) {
  // Positive control: the hand-made file itself loads, with the weights it spells out.
  {
    Hostile h;
    const float values[6] = {1.f, 2.f, 3.f, 4.f, 0.5f, -0.5f};
    std::memcpy(&h.data[0], values, sizeof values);
    LoadedModel m = deserialize(h.bytes());
    REQUIRE(m.f32);
    CHECK(m.f32->spec().sizes == (std::vector<Index>{2, 2}));
    CHECK_CLOSE(m.f32->weight(0)(1, 0), 3.0, 0);
    CHECK_CLOSE(m.f32->bias(0)(1), -0.5, 0);
  }
  std::vector<std::pair<std::string, std::string>> cases;  // (name, bytes)
  auto add = [&](const std::string& name, const Hostile& h) { cases.emplace_back(name, h.bytes()); };
  auto meta = [&](const std::string& name, const std::string& from, const std::string& to) {
    Hostile h;
    h.metadata = replace(h.metadata, from, to);
    add(name, h);
  };

  const std::string body = Hostile().header() + Hostile().data;
  cases.emplace_back("empty file", "");
  cases.emplace_back("seven bytes", std::string(7, '\0'));
  cases.emplace_back("header length 2^63", le64(std::uint64_t(1) << 63) + body);
  cases.emplace_back("header length 2^64-1", le64(~std::uint64_t(0)) + body);
  cases.emplace_back("header length over the limit", le64(kMaxHeaderBytes + 1) + body);
  cases.emplace_back("header length past the end", le64(body.size() + 1) + body);
  cases.emplace_back("header length zero", le64(0) + body);
  cases.emplace_back("header not JSON", le64(8) + "not json" + std::string(24, '\0'));
  cases.emplace_back("header is an array", le64(2) + "[]");
  {
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    cases.emplace_back("deeply nested header", le64(deep.size()) + deep);
    const std::string deep_obj = "{\"__metadata__\":" + std::string(50000, '[') + std::string(50000, ']') + "}";
    cases.emplace_back("deeply nested metadata", le64(deep_obj.size()) + deep_obj);
  }
  {
    Hostile h;
    const std::string hdr = h.header();
    cases.emplace_back("trailing garbage inside the header", le64(hdr.size() + 3) + hdr + "xyz" + h.data);
    cases.emplace_back("NUL inside the header", le64(hdr.size() + 1) + hdr + std::string(1, '\0') + h.data);
  }
  meta("wrong format name", "\"format\":\"mlpcore\"", "\"format\":\"other\"");
  meta("format version 2", "\"format_version\":\"1\"", "\"format_version\":\"2\"");
  meta("format version 0", "\"format_version\":\"1\"", "\"format_version\":\"0\"");
  meta("format version huge", "\"format_version\":\"1\"", "\"format_version\":\"99999999999999999999\"");
  meta("format version not a number", "\"format_version\":\"1\"", "\"format_version\":\"one\"");
  meta("missing format", "\"format\":\"mlpcore\",", "");
  meta("metadata value not a string", "\"maxout_pieces\":\"2\"", "\"maxout_pieces\":2");
  meta("duplicate metadata key", "\"output\":\"softmax\"", "\"output\":\"softmax\",\"output\":\"softmax\"");
  meta("sizes negative", "\"sizes\":\"[2,2]\"", "\"sizes\":\"[2,-2]\"");
  meta("sizes zero", "\"sizes\":\"[2,2]\"", "\"sizes\":\"[0,2]\"");
  meta("sizes fractional", "\"sizes\":\"[2,2]\"", "\"sizes\":\"[2,2.5]\"");
  meta("sizes not JSON", "\"sizes\":\"[2,2]\"", "\"sizes\":\"[2,2\"");
  meta("sizes one entry", "\"sizes\":\"[2,2]\"", "\"sizes\":\"[2]\"");
  meta("sizes beyond int64", "\"sizes\":\"[2,2]\"", "\"sizes\":\"[2,99999999999999999999999]\"");
  meta("sizes huge", "\"sizes\":\"[2,2]\"", "\"sizes\":\"[268435456,268435456]\"");
  meta("unknown activation", "\"activations\":\"[]\"", "\"activations\":\"[\\\"swish\\\"]\"");
  meta("activation count mismatch", "\"activations\":\"[]\"", "\"activations\":\"[\\\"relu\\\"]\"");
  meta("slope NaN", "\"leaky_relu_slope\":\"0.1\"", "\"leaky_relu_slope\":\"nan\"");
  meta("slope overflow", "\"leaky_relu_slope\":\"0.1\"", "\"leaky_relu_slope\":\"1e999\"");
  meta("slope out of range", "\"leaky_relu_slope\":\"0.1\"", "\"leaky_relu_slope\":\"1.5\"");
  meta("slope text", "\"leaky_relu_slope\":\"0.1\"", "\"leaky_relu_slope\":\"0.1abc\"");
  meta("alpha negative", "\"elu_alpha\":\"1\"", "\"elu_alpha\":\"-1\"");
  meta("maxout pieces 1", "\"maxout_pieces\":\"2\"", "\"maxout_pieces\":\"1\"");
  meta("maxout pieces negative", "\"maxout_pieces\":\"2\"", "\"maxout_pieces\":\"-2\"");
  meta("maxout pieces huge", "\"maxout_pieces\":\"2\"", "\"maxout_pieces\":\"999\"");
  meta("unknown output", "\"output\":\"softmax\"", "\"output\":\"softplus\"");
  meta("dtype disagrees", "\"dtype\":\"float32\"", "\"dtype\":\"float64\"");
  meta("too many classes", "\"output\":\"softmax\"", "\"output\":\"softmax\",\"classes\":\"[\\\"a\\\",\\\"b\\\",\\\"c\\\"]\"");
  meta("classes not strings", "\"output\":\"softmax\"", "\"output\":\"softmax\",\"classes\":\"[1,2]\"");
  meta("input mean without scale", "\"output\":\"softmax\"", "\"output\":\"softmax\",\"input_mean\":\"[0,0]\"");
  meta("input scale zero", "\"output\":\"softmax\"", "\"output\":\"softmax\",\"input_mean\":\"[0,0]\",\"input_scale\":\"[1,0]\"");
  meta("input scale wrong count", "\"output\":\"softmax\"", "\"output\":\"softmax\",\"input_mean\":\"[0]\",\"input_scale\":\"[1]\"");
  meta("input mean infinite", "\"output\":\"softmax\"", "\"output\":\"softmax\",\"input_mean\":\"[1e999,0]\",\"input_scale\":\"[1,1]\"");
  meta("unpaired surrogate", "\"output\":\"softmax\"", "\"output\":\"softmax\",\"x\":\"\\ud800\"");
  meta("control character", "\"output\":\"softmax\"", "\"output\":\"softmax\",\"x\":\"a\x01\"");
  meta("bad escape", "\"output\":\"softmax\"", "\"output\":\"softmax\",\"x\":\"\\q\"");
  {
    Hostile h;
    h.metadata = "";
    add("empty metadata", h);
  }
  auto tensor = [&](const std::string& name, const std::string& w, const std::string& b, std::size_t data_len = 24) {
    Hostile h;
    h.weight = w;
    h.bias = b;
    h.data = std::string(data_len, '\0');
    add(name, h);
  };
  const std::string W = Hostile().weight, B = Hostile().bias;
  tensor("dtype F16", replace(W, "F32", "F16"), replace(B, "F32", "F16"));
  tensor("dtype not a string", replace(W, "\"F32\"", "32"), B);
  tensor("mixed dtypes", W, replace(replace(B, "F32", "F64"), "[16,24]", "[16,32]"), 32);
  tensor("F64 tensors, float32 metadata", replace(replace(W, "F32", "F64"), "[0,16]", "[0,32]"),
         replace(replace(B, "F32", "F64"), "[16,24]", "[32,48]"), 48);
  tensor("wrong weight shape", replace(W, "[2,2]", "[2,3]"), B);
  tensor("transposed rank", replace(W, "[2,2]", "[4]"), B);
  tensor("shape not integers", replace(W, "[2,2]", "[2.0,2]"), B);
  tensor("overlapping tensors", W, replace(B, "[16,24]", "[8,16]"));
  tensor("gap between tensors", W, replace(B, "[16,24]", "[20,28]"), 28);
  tensor("offsets past the end", W, replace(B, "[16,24]", "[16,1099511627776]"));
  tensor("negative offsets", replace(W, "[0,16]", "[-8,8]"), B);
  tensor("reversed offsets", W, replace(B, "[16,24]", "[24,16]"));
  tensor("offsets not integers", W, replace(B, "[16,24]", "[16,24.0]"));
  tensor("span does not match shape", W, replace(B, "[16,24]", "[16,20]"), 20);
  tensor("extra field", replace(W, "{\"dtype\"", "{\"x\":1,\"dtype\""), B);
  tensor("missing offsets", "{\"dtype\":\"F32\",\"shape\":[2,2],\"x\":[0,16]}", B);
  tensor("tensor not an object", "[0,16]", B);
  {
    Hostile h;
    h.extra_tensors = ",\"2.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[24,40]}";
    h.data = std::string(40, '\0');
    add("extra tensor", h);
  }
  {
    // A 60000 × 60000 layer passes the architecture's bound but its 14 GB of tensors are not in
    // the file: rejected from the header, without allocating them.
    Hostile h;
    h.metadata = replace(h.metadata, "\"sizes\":\"[2,2]\"", "\"sizes\":\"[60000,60000]\"");
    h.weight = "{\"dtype\":\"F32\",\"shape\":[60000,60000],\"data_offsets\":[0,14400000000]}";
    h.bias = "{\"dtype\":\"F32\",\"shape\":[60000],\"data_offsets\":[14400000000,14400240000]}";
    add("huge layer, tiny file", h);
  }
  {
    Hostile h;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(&h.data[4], &nan, sizeof nan);
    add("NaN weight", h);
    Hostile h2;
    const float inf = std::numeric_limits<float>::infinity();
    std::memcpy(&h2.data[20], &inf, sizeof inf);
    add("infinite bias", h2);
  }

  for (const auto& c : cases) {
    bool format_error = false;
    try {
      (void)deserialize(c.second);
      FAIL_CHECK("'" + c.first + "' loaded");
      continue;
    } catch (const FormatError& e) {
      format_error = true;
      if (std::strlen(e.what()) < 10) FAIL_CHECK("'" + c.first + "': uninformative message '" + e.what() + "'");
    } catch (const std::exception& e) {
      FAIL_CHECK("'" + c.first + "' threw something other than FormatError: " + e.what());
    }
    CHECK(format_error);
  }
}

TEST_CASE(load_reports_the_path_in_format_errors) {
  TempDir dir;
  const fs::path p = dir.path / "garbage.safetensors";
  write_file(p, le64(5) + "{oops}");
  try {
    (void)load(p.string());
    FAIL_CHECK("garbage loaded");
  } catch (const FormatError& e) {
    CHECK(std::string(e.what()).find("garbage.safetensors") != std::string::npos);
  }
  // A folder is not a model file.
  bool refused = false;
  try {
    (void)load(dir.path.string());
  } catch (const FormatError&) {
    refused = true;
  } catch (const IoError&) {
    refused = true;
  }
  CHECK(refused);
}

std::uint64_t header_size(const std::string& file) {
  std::uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h |= std::uint64_t(static_cast<unsigned char>(file[std::size_t(i)])) << (8 * i);
  return h;
}

// The file with one edit in its header, the length field updated to match.
std::string edit_header(const std::string& file, const std::string& from, const std::string& to) {
  const std::size_t h = header_size(file);
  std::string header = file.substr(8, h);
  const std::size_t at = header.find(from);
  if (at == std::string::npos) throw std::logic_error("test setup: '" + from + "' not found");
  header.replace(at, from.size(), to);
  return le64(header.size()) + header + file.substr(8 + h);
}

// Found by fuzzing. A float32 model whose input scaling is finite in double but not in float
// was rejected with a plain invalid_argument, not a FormatError.
TEST_CASE(input_scaling_outside_float_range_is_a_format_error) {
  Mlp net = make_model<float>({2, 2}, {}, Output::Softmax, 1);
  net.set_input_scaling({0.0, 1.0}, {1.0, 1.0});
  const std::string good = serialize(net);
  CHECK(deserialize(good).f32 != nullptr);
  CHECK_THROWS(deserialize(edit_header(good, "\"input_mean\":\"[0,1]\"", "\"input_mean\":\"[1e39,1]\"")), FormatError);
  CHECK_THROWS(deserialize(edit_header(good, "\"input_scale\":\"[1,1]\"", "\"input_scale\":\"[1,1e-39]\"")),
               FormatError);
}

// Found while fuzzing: duplicate keys were found by a linear search per key, so a header of many
// short keys took quadratic time (a 1 MB header 13 s). The result must not change: 300,000
// distinct metadata keys are read (and rejected only for what they lack), a repeated one is named.
TEST_CASE(many_header_keys_and_a_late_duplicate) {
  std::string md;
  for (int i = 0; i < 300000; ++i) md += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":\"v\"";
  const std::string distinct = "{\"__metadata__\":{" + md + "}}";
  const std::string repeated = "{\"__metadata__\":{" + md + ",\"k123\":\"w\"}}";
  auto message = [](const std::string& header) -> std::string {
    try {
      (void)deserialize(le64(header.size()) + header);
    } catch (const FormatError& e) {
      return e.what();
    }
    return "(loaded)";
  };
  CHECK(message(distinct) == "invalid model file: __metadata__ lacks \"format\"");
  CHECK(message(repeated).find("duplicate key 'k123'") != std::string::npos);
}

// Messages quote the file's values: they stay one printable line of bounded length.
TEST_CASE(rejection_messages_are_bounded_and_printable) {
  const std::string good = serialize(make_model<float>({2, 2}, {}, Output::Softmax, 1));
  const std::string from = "\"format\":\"mlpcore\"";
  try {
    (void)deserialize(edit_header(good, from, "\"format\":\"" + std::string(100000, 'z') + "\\u0001\\n\""));
    FAIL_CHECK("loaded");
  } catch (const FormatError& e) {
    const std::string what = e.what();
    CHECK(what.size() < 500);
    CHECK(what.find("more bytes)") != std::string::npos);
    for (unsigned char c : what) CHECK(c >= 0x20 && c != 0x7F);
  }
  try {
    (void)deserialize(edit_header(good, from, "\"format\":\"a\\u0001b\""));
    FAIL_CHECK("loaded");
  } catch (const FormatError& e) {
    CHECK(std::string(e.what()) == "invalid model file: format is 'a\\x01b', expected 'mlpcore'");
  }
}

}  // namespace

CHECK_MAIN()
