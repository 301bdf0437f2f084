// SPDX-License-Identifier: MIT
// The model file, in the safetensors layout: [u64 little-endian header length][JSON header]
// [tensor bytes]. The only reader and writer of the format; Python calls these.
// Longer than our usual file: the reader validates every header field of an untrusted file with
// its own message, and keeping the whole format in one place is the point: Python, the C++ API
// and the embedding example all read and write through these functions, so they cannot disagree.
#include "mlpcore/model_io.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "json.hpp"

namespace mlpcore {
namespace {

using detail::Json;

constexpr const char* kFormatName = "mlpcore";

template <class S>
const char* dtype_tag() { return sizeof(S) == 4 ? "F32" : "F64"; }

std::string fmt_double(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string json_double_array(const std::vector<double>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + fmt_double(v[i]);
  return s + "]";
}

std::string json_string_array(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += ",";
    detail::write_json_string(s, v[i]);
  }
  return s + "]";
}

bool is_reserved_key(const std::string& k) {
  static const char* keys[] = {"format", "format_version", "dtype", "sizes", "activations", "leaky_relu_slope",
                               "elu_alpha", "maxout_pieces", "output", "classes", "classes_kind",
                               "input_mean", "input_scale", "dropout"};
  for (const char* r : keys)
    if (k == r) return true;
  return false;
}

std::string tensor_name(Index layer, const char* what) {
  // torch.nn.Sequential numbering: Linear, activation, Linear, ... (the last Linear has none).
  return std::to_string(2 * layer) + "." + what;
}

// Messages quote values from the file; a hostile file could make them megabytes long or fill
// them with control characters. Keep them one readable line: control bytes become \xNN and the
// text is cut (at a UTF-8 boundary) after kMaxMessage bytes.
constexpr std::size_t kMaxMessage = 400;

std::string readable(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (out.size() >= kMaxMessage && (c & 0xC0) != 0x80) {
      out += "... (" + std::to_string(text.size() - i) + " more bytes)";
      break;
    }
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

[[noreturn]] void bad(const std::string& what) { throw FormatError("invalid model file: " + readable(what)); }

bool host_is_little_endian() {
  const std::uint16_t probe = 1;
  unsigned char first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

const Json& member(const Json& obj, const std::string& key, const std::string& where) {
  const Json* v = obj.find(key);
  if (!v) bad(where + " lacks \"" + key + "\"");
  return *v;
}

std::int64_t as_int(const Json& v, const std::string& what) {
  if (v.type != Json::Type::Number || !v.is_integer) bad(what + " must be an integer");
  return v.integer;
}

double parse_double_text(const std::string& text, const std::string& what) {
  if (text.empty() || text.size() > 64) bad(what + " is not a number");
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v)) bad(what + " is not a finite number: '" + text + "'");
  return v;
}

Json parse_meta_json(const std::string& text, const std::string& what) {
  try {
    return detail::parse_json(text, 4);
  } catch (const std::invalid_argument& e) {
    bad(what + ": " + e.what());
  }
}

}  // namespace

template <class S>
std::string serialize(const BasicMlp<S>& net) {
  if (!host_is_little_endian()) throw IoError("model files are little-endian; big-endian hosts are not supported");
  const MlpSpec& spec = net.spec();
  const ModelMeta& meta = net.meta();
  meta.validate(spec);
  if (!net.params().allFinite())
    throw std::invalid_argument("cannot save a model whose parameters contain NaN or infinity");
  // Metadata: strings only (safetensors' rule).
  std::vector<std::pair<std::string, std::string>> md;
  md.emplace_back("format", kFormatName);
  md.emplace_back("format_version", std::to_string(kFormatVersion));
  md.emplace_back("dtype", sizeof(S) == 4 ? "float32" : "float64");
  {
    std::string s = "[";
    for (std::size_t i = 0; i < spec.sizes.size(); ++i) s += (i ? "," : "") + std::to_string(spec.sizes[i]);
    md.emplace_back("sizes", s + "]");
    std::vector<std::string> acts;
    for (auto a : spec.activations) acts.emplace_back(to_string(a));
    md.emplace_back("activations", json_string_array(acts));
  }
  md.emplace_back("leaky_relu_slope", fmt_double(spec.leaky_relu_slope));
  md.emplace_back("elu_alpha", fmt_double(spec.elu_alpha));
  md.emplace_back("maxout_pieces", std::to_string(spec.maxout_pieces));
  md.emplace_back("output", to_string(spec.output));
  if (spec.has_dropout()) {  // absent means none, so files without dropout read in older builds
    std::vector<double> rates;
    for (Index l = 0; l + 1 < spec.n_layers(); ++l) rates.push_back(spec.dropout_rate(l));
    md.emplace_back("dropout", json_double_array(rates));
  }
  if (!meta.classes.empty()) {
    md.emplace_back("classes", json_string_array(meta.classes));
    md.emplace_back("classes_kind", meta.classes_kind);
  }
  if (!meta.input_mean.empty()) {
    md.emplace_back("input_mean", json_double_array(meta.input_mean));
    md.emplace_back("input_scale", json_double_array(meta.input_scale));
  }
  for (const auto& kv : meta.extra) {
    if (is_reserved_key(kv.first)) throw std::invalid_argument("metadata key '" + kv.first + "' is reserved");
    md.push_back(kv);
  }

  std::string header = "{\"__metadata__\":{";
  for (std::size_t i = 0; i < md.size(); ++i) {
    if (i) header += ",";
    detail::write_json_string(header, md[i].first);
    header += ":";
    detail::write_json_string(header, md[i].second);
  }
  header += "}";
  const ParamLayout& lay = net.layout();
  for (Index l = 0; l < spec.n_layers(); ++l) {
    const std::uint64_t wb = sizeof(S) * std::uint64_t(lay.weight_offset[l]);
    const std::uint64_t bb = sizeof(S) * std::uint64_t(lay.bias_offset[l]);
    const std::uint64_t be = bb + sizeof(S) * std::uint64_t(lay.rows[l]);
    header += ",\"" + tensor_name(l, "weight") + "\":{\"dtype\":\"" + dtype_tag<S>() + "\",\"shape\":[" +
              std::to_string(lay.rows[l]) + "," + std::to_string(lay.cols[l]) + "],\"data_offsets\":[" +
              std::to_string(wb) + "," + std::to_string(bb) + "]}";
    header += ",\"" + tensor_name(l, "bias") + "\":{\"dtype\":\"" + dtype_tag<S>() + "\",\"shape\":[" +
              std::to_string(lay.rows[l]) + "],\"data_offsets\":[" + std::to_string(bb) + "," +
              std::to_string(be) + "]}";
  }
  header += "}";
  while (header.size() % 8) header += ' ';  // tensors start 8-byte aligned, as safetensors pads

  std::string out(8, '\0');
  std::uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = char((len >> (8 * i)) & 0xFF);
  out += header;
  // W then b, layer after layer: exactly the flat buffer.
  out.append(reinterpret_cast<const char*>(net.params().data()), sizeof(S) * std::size_t(net.n_params()));
  return out;
}

namespace {

// Removes "<path>.tmp-<pid>-<id>" files left by a writer that was killed before it could clean
// up (SIGKILL, power loss), when process <pid> no longer exists. The temporaries of a save in
// progress elsewhere, and every other name, are left alone. Python's writers
// (mlpcore/_files.py) name their temporaries the same way and apply the same rule.
void remove_stale_temps(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string prefix = (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp-";
  DIR* dir = ::opendir(folder.c_str());
  if (!dir) return;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    std::size_t i = prefix.size(), digits = 0;
    long long pid = 0;
    while (i < name.size() && name[i] >= '0' && name[i] <= '9' && digits < 12) pid = pid * 10 + (name[i++] - '0'), ++digits;
    if (digits == 0 || i + 1 >= name.size() || name[i] != '-') continue;
    bool id_ok = true;
    for (std::size_t j = i + 1; j < name.size(); ++j) id_ok = id_ok && std::isalnum(static_cast<unsigned char>(name[j]));
    if (!id_ok || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    ::unlink((folder + "/" + name).c_str());
  }
  ::closedir(dir);
}

}  // namespace

template <class S>
void save(const BasicMlp<S>& net, const std::string& path) {
  const std::string bytes = serialize(net);
  remove_stale_temps(path);
  static std::atomic<unsigned> counter{0};
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError("cannot save model to '" + path + "': " + std::strerror(errno));
  std::size_t done = 0;
  int err = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    done += static_cast<std::size_t>(w);
  }
  if (!err && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && !err) err = errno;
  if (!err && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err) {
    ::unlink(tmp.c_str());
    throw IoError("cannot save model to '" + path + "': " + std::strerror(err));
  }
}

namespace {

struct Piece {
  std::uint64_t begin, end, flat;  // byte range in the data section, element offset in params
};

struct Header {
  MlpSpec spec;
  ModelMeta meta;
  std::string dtype;
  std::vector<Piece> pieces;
};

std::uint64_t read_header_length(const char* first8, std::uint64_t file_size) {
  std::uint64_t hlen = 0;
  for (int i = 0; i < 8; ++i) hlen |= std::uint64_t(static_cast<unsigned char>(first8[i])) << (8 * i);
  if (hlen > kMaxHeaderBytes) bad("header length " + std::to_string(hlen) + " exceeds the limit of " + std::to_string(kMaxHeaderBytes) + " bytes");
  if (hlen > file_size - 8) bad("header length " + std::to_string(hlen) + " runs past the end of the file (" + std::to_string(file_size) + " bytes)");
  if (hlen < 2) bad("header is too short");
  return hlen;
}

// Validates the header against a data section of data_len bytes. Allocates only in proportion
// to the header's own size.
Header parse_header(const char* header_text, std::uint64_t hlen, std::uint64_t data_len) {
  Json head;
  try {
    head = detail::parse_json(std::string(header_text, hlen), 8);
  } catch (const std::invalid_argument& e) {
    bad(std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (head.type != Json::Type::Object) bad("header is not a JSON object");
  const Json& md = member(head, "__metadata__", "header");
  if (md.type != Json::Type::Object) bad("__metadata__ is not an object");
  std::map<std::string, std::string> meta;
  for (const auto& kv : md.members) {
    if (kv.second.type != Json::Type::String) bad("__metadata__[\"" + kv.first + "\"] is not a string");
    meta[kv.first] = kv.second.text;
  }
  auto get = [&](const std::string& k) -> const std::string& {
    auto it = meta.find(k);
    if (it == meta.end()) bad("__metadata__ lacks \"" + k + "\"");
    return it->second;
  };
  if (get("format") != kFormatName) bad("format is '" + get("format") + "', expected 'mlpcore'");
  const std::string& ver = get("format_version");
  if (ver.empty() || ver.size() > 6 || ver.find_first_not_of("0123456789") != std::string::npos)
    bad("format_version '" + ver + "' is not a positive integer");
  const int version = std::stoi(ver);
  if (version < 1 || version > kFormatVersion)
    bad("format_version " + ver + " is not supported (this build reads 1.." + std::to_string(kFormatVersion) + ")");

  // Architecture.
  MlpSpec spec;
  {
    const Json sizes = parse_meta_json(get("sizes"), "sizes");
    if (sizes.type != Json::Type::Array || sizes.items.size() < 2 || sizes.items.size() > 1024)
      bad("sizes must be an array of 2 to 1024 integers");
    for (const auto& s : sizes.items) {
      const std::int64_t v = as_int(s, "sizes[]");
      if (v < 1 || v > (std::int64_t(1) << 28)) bad("sizes[] value " + std::to_string(v) + " is out of range");
      spec.sizes.push_back(static_cast<Index>(v));
    }
    const Json acts = parse_meta_json(get("activations"), "activations");
    if (acts.type != Json::Type::Array) bad("activations must be an array of names");
    for (const auto& a : acts.items) {
      if (a.type != Json::Type::String) bad("activations must be an array of names");
      try {
        spec.activations.push_back(activation_from_string(a.text));
      } catch (const std::invalid_argument& e) {
        bad(e.what());
      }
    }
    spec.leaky_relu_slope = parse_double_text(get("leaky_relu_slope"), "leaky_relu_slope");
    spec.elu_alpha = parse_double_text(get("elu_alpha"), "elu_alpha");
    const std::string& k = get("maxout_pieces");
    if (k.empty() || k.size() > 3 || k.find_first_not_of("0123456789") != std::string::npos) bad("maxout_pieces '" + k + "' is not an integer");
    spec.maxout_pieces = std::stoi(k);
    if (meta.count("dropout")) {  // one probability per hidden layer; absent in older files (none)
      const Json drop = parse_meta_json(meta["dropout"], "dropout");
      if (drop.type != Json::Type::Array || drop.items.size() > 1024) bad("dropout must be an array of numbers");
      for (const auto& p : drop.items) {
        if (p.type != Json::Type::Number) bad("dropout must be an array of numbers");
        spec.dropout.push_back(p.number);
      }
      if (spec.dropout.size() != spec.sizes.size() - 2)
        bad("dropout has " + std::to_string(spec.dropout.size()) + " values; the architecture has " +
            std::to_string(spec.sizes.size() - 2) + " hidden layers");
    }
    const std::string& output = get("output");
    try {
      spec.output = output_from_string(output);
      spec.validate();
    } catch (const std::invalid_argument& e) {
      bad(std::string("architecture: ") + e.what());
    }
  }

  // Tensors: exactly the expected names, one dtype, shapes from the architecture, offsets that
  // tile the data section without gaps or overlap.
  const ParamLayout lay(spec);
  std::string dtype;
  std::vector<Piece> pieces;
  std::size_t tensor_count = 0;
  for (const auto& kv : head.members)
    if (kv.first != "__metadata__") ++tensor_count;
  if (tensor_count != std::size_t(2 * spec.n_layers()))
    bad("holds " + std::to_string(tensor_count) + " tensors; the architecture needs " + std::to_string(2 * spec.n_layers()));
  for (Index l = 0; l < spec.n_layers(); ++l) {
    for (int which = 0; which < 2; ++which) {
      const std::string name = tensor_name(l, which == 0 ? "weight" : "bias");
      const Json& t = member(head, name, "header");
      if (t.type != Json::Type::Object || t.members.size() != 3) bad("tensor " + name + " must have exactly dtype, shape and data_offsets");
      const Json& dt = member(t, "dtype", name);
      if (dt.type != Json::Type::String || (dt.text != "F32" && dt.text != "F64"))
        bad("tensor " + name + " has dtype " + (dt.type == Json::Type::String ? "'" + dt.text + "'" : "(not a string)") + "; mlpcore reads F32 or F64");
      if (dtype.empty()) dtype = dt.text;
      if (dt.text != dtype) bad("tensors mix dtypes " + dtype + " and " + dt.text);
      const Json& shape = member(t, "shape", name);
      std::vector<std::int64_t> want = which == 0 ? std::vector<std::int64_t>{lay.rows[l], lay.cols[l]}
                                                  : std::vector<std::int64_t>{lay.rows[l]};
      if (shape.type != Json::Type::Array || shape.items.size() != want.size()) bad("tensor " + name + " has the wrong rank");
      for (std::size_t i = 0; i < want.size(); ++i)
        if (as_int(shape.items[i], name + " shape") != want[i]) {
          std::ostringstream m;
          m << "tensor " << name << " has shape [";
          for (std::size_t j = 0; j < shape.items.size(); ++j) m << (j ? ", " : "") << shape.items[j].number;
          m << "] but the architecture needs [" << want[0];
          if (want.size() > 1) m << ", " << want[1];
          m << "]";
          bad(m.str());
        }
      const Json& off = member(t, "data_offsets", name);
      if (off.type != Json::Type::Array || off.items.size() != 2) bad("tensor " + name + " data_offsets must be [begin, end]");
      const std::int64_t b = as_int(off.items[0], name + " data_offsets"), e = as_int(off.items[1], name + " data_offsets");
      if (b < 0 || e < b || std::uint64_t(e) > data_len)
        bad("tensor " + name + " data_offsets [" + std::to_string(b) + ", " + std::to_string(e) + "] fall outside the " + std::to_string(data_len) + "-byte data section");
      const std::uint64_t elem = dtype == "F32" ? 4 : 8;
      const std::uint64_t count = std::uint64_t(want.size() == 2 ? want[0] * want[1] : want[0]);
      if (std::uint64_t(e - b) != count * elem)
        bad("tensor " + name + " spans " + std::to_string(e - b) + " bytes; its shape needs " + std::to_string(count * elem));
      pieces.push_back({std::uint64_t(b), std::uint64_t(e), std::uint64_t(which == 0 ? lay.weight_offset[l] : lay.bias_offset[l])});
    }
  }
  std::vector<Piece> sorted = pieces;
  std::sort(sorted.begin(), sorted.end(), [](const Piece& a, const Piece& b) { return a.begin < b.begin; });
  std::uint64_t cursor = 0;
  for (const auto& p : sorted) {
    if (p.begin < cursor) bad("tensor data_offsets overlap");
    if (p.begin > cursor) bad("tensor data leaves a gap at byte " + std::to_string(cursor));
    cursor = p.end;
  }
  if (cursor != data_len) bad("data section has " + std::to_string(data_len - cursor) + " trailing bytes no tensor claims");

  ModelMeta mm;
  if (meta.count("dtype") && meta["dtype"] != (dtype == "F32" ? "float32" : "float64"))
    bad("__metadata__ dtype '" + meta["dtype"] + "' disagrees with the tensors' " + dtype);
  if (meta.count("classes")) {
    const Json c = parse_meta_json(meta["classes"], "classes");
    if (c.type != Json::Type::Array) bad("classes must be an array of strings");
    for (const auto& item : c.items) {
      if (item.type != Json::Type::String) bad("classes must be an array of strings");
      mm.classes.push_back(item.text);
    }
    mm.classes_kind = meta.count("classes_kind") ? meta["classes_kind"] : "";
  }
  auto read_doubles = [&](const char* key, std::vector<double>& out) {
    if (!meta.count(key)) return;
    const Json a = parse_meta_json(meta[key], key);
    if (a.type != Json::Type::Array) bad(std::string(key) + " must be an array of numbers");
    for (const auto& item : a.items) {
      if (item.type != Json::Type::Number) bad(std::string(key) + " must be an array of numbers");
      out.push_back(item.number);
    }
  };
  read_doubles("input_mean", mm.input_mean);
  read_doubles("input_scale", mm.input_scale);
  for (const auto& kv : meta)
    if (!is_reserved_key(kv.first)) mm.extra[kv.first] = kv.second;
  try {
    mm.validate(spec);
  } catch (const std::invalid_argument& e) {
    bad(e.what());
  }

  return Header{spec, mm, dtype, pieces};
}

LoadedModel build(const Header& h, const char* data) {
  LoadedModel out;
  auto make = [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    auto net = std::make_unique<BasicMlp<T>>(h.spec);
    T* dst = net->params().data();
    for (const auto& p : h.pieces) std::memcpy(dst + p.flat, data + p.begin, p.end - p.begin);
    if (!net->params().allFinite()) bad("parameters contain NaN or infinity");
    try {
      // Finite in double but not in the model's type (a float32 mean of 1e39) is still the
      // file's fault: a FormatError, like every other rejection.
      net->set_input_scaling(h.meta.input_mean, h.meta.input_scale);
    } catch (const std::invalid_argument& e) {
      bad(e.what());
    }
    net->meta() = h.meta;
    return net;
  };
  if (h.dtype == "F32") out.f32 = make(static_cast<float*>(nullptr));
  else out.f64 = make(static_cast<double*>(nullptr));
  return out;
}

void check_endianness() {
  if (!host_is_little_endian()) throw IoError("model files are little-endian; big-endian hosts are not supported");
}

}  // namespace

LoadedModel deserialize(const std::string& bytes) {
  check_endianness();
  if (bytes.size() < 8) bad("shorter than the 8-byte header length (" + std::to_string(bytes.size()) + " bytes)");
  const std::uint64_t hlen = read_header_length(bytes.data(), bytes.size());
  const Header h = parse_header(bytes.data() + 8, hlen, bytes.size() - 8 - hlen);
  return build(h, bytes.data() + 8 + hlen);
}

LoadedModel load(const std::string& path) {
  check_endianness();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open model file '" + path + "': " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) throw IoError("cannot read model file '" + path + "'");
  in.seekg(0, std::ios::beg);
  try {
    const std::uint64_t file_size = static_cast<std::uint64_t>(size);
    if (file_size < 8) bad("shorter than the 8-byte header length (" + std::to_string(file_size) + " bytes)");
    char first8[8];
    if (!in.read(first8, 8)) throw IoError("cannot read model file '" + path + "'");
    const std::uint64_t hlen = read_header_length(first8, file_size);
    std::string header(static_cast<std::size_t>(hlen), '\0');
    if (!in.read(&header[0], static_cast<std::streamsize>(hlen))) throw IoError("cannot read model file '" + path + "'");
    const std::uint64_t data_len = file_size - 8 - hlen;
    const Header h = parse_header(header.data(), hlen, data_len);
    // Only now, with the tensors proven to tile exactly data_len bytes, read the data.
    std::string data(static_cast<std::size_t>(data_len), '\0');
    if (data_len && !in.read(&data[0], static_cast<std::streamsize>(data_len))) throw IoError("cannot read model file '" + path + "'");
    return build(h, data.data());
  } catch (const FormatError& e) {
    throw FormatError(std::string(e.what()) + " ('" + path + "')");
  }
}

template <class S>
BasicMlp<S> load_as(const std::string& path) {
  LoadedModel m = load(path);
  if constexpr (sizeof(S) == 4) {
    if (!m.f32) throw FormatError("model file '" + path + "' holds float64 parameters, float32 requested");
    return std::move(*m.f32);
  } else {
    if (!m.f64) throw FormatError("model file '" + path + "' holds float32 parameters, float64 requested");
    return std::move(*m.f64);
  }
}

template std::string serialize<float>(const BasicMlp<float>&);
template std::string serialize<double>(const BasicMlp<double>&);
template void save<float>(const BasicMlp<float>&, const std::string&);
template void save<double>(const BasicMlp<double>&, const std::string&);
template BasicMlp<float> load_as<float>(const std::string&);
template BasicMlp<double> load_as<double>(const std::string&);

}  // namespace mlpcore
