// SPDX-License-Identifier: MIT
/// The model file: safetensors-compatible (8-byte little-endian header length, a JSON header,
/// raw little-endian tensors). Tensor names follow torch.nn.Sequential ("0.weight", "0.bias",
/// "2.weight", ... skipping the activation modules' indices), so `safetensors` and
/// torch's load_state_dict read it unchanged. "__metadata__" holds the format name/version,
/// the architecture, class labels and input scaling, all as strings.
#pragma once
#include <memory>
#include <stdexcept>
#include <string>

#include "mlp.hpp"

namespace mlpcore {

/// A model file that is malformed, hostile or inconsistent. Derives from invalid_argument so
/// Python sees a ValueError.
class FormatError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// The file system refused (cannot open, write, rename). Python sees an OSError.
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Version written by save(); load() reads every version up to this one.
constexpr int kFormatVersion = 1;
/// Largest header accepted (bytes). Real headers are a few kB.
constexpr std::uint64_t kMaxHeaderBytes = 16u << 20;

/// Writes net to path atomically: a temporary file in the same folder, flushed and synced, then
/// renamed over path. On any failure the temporary is removed and the old file is untouched.
template <class S>
void save(const BasicMlp<S>& net, const std::string& path);

/// A model as read from a file: exactly one of f32 / f64 is set.
struct LoadedModel {
  std::unique_ptr<Mlp> f32;
  std::unique_ptr<Mlp64> f64;
};

/// Reads a model file, trusting nothing: header length within the file and kMaxHeaderBytes,
/// well-formed JSON, known dtypes (F32/F64, one per file), offsets inside the data and
/// contiguous without overlap, tensor names and shapes consistent with the architecture.
/// Memory allocated is bounded by the file size. Throws FormatError or IoError.
LoadedModel load(const std::string& path);
/// As load, but the file must hold scalar type S (throws FormatError otherwise).
template <class S>
BasicMlp<S> load_as(const std::string& path);

/// The file's bytes for a model (what save writes), and the parse of such bytes.
template <class S>
std::string serialize(const BasicMlp<S>& net);
LoadedModel deserialize(const std::string& bytes);

}  // namespace mlpcore
