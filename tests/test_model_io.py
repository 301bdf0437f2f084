"""The model file: exact round trips, safetensors/PyTorch compatibility, hostile files, atomic saves.

The file layout (DESIGN.md §6): an 8-byte little-endian header length, a JSON header, then the raw
little-endian tensors. Hostile files are built here byte by byte from that layout.
"""
from __future__ import annotations

import copy
import json
import os
import pickle
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch
from safetensors import safe_open

import mlpcore

ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "maxout"]
OUTPUTS = ["softmax", "sigmoid", "identity"]
UINT = {np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64}


# -- helpers ---------------------------------------------------------------------------------------
def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return np.array_equal(a.view(UINT[a.dtype]), b.view(UINT[b.dtype]))


def file_bytes(net, tmp_path, name="m.safetensors") -> bytes:
    path = tmp_path / name
    net.save(path)
    return path.read_bytes()


def split(blob: bytes):
    """(header dict, data bytes) of a model file."""
    (n,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def pack(header, data: bytes = b"", length: int | None = None) -> bytes:
    """A file from a header (dict, str or bytes), its data section and an optional forged length."""
    if isinstance(header, dict):
        header = json.dumps(header)
    if isinstance(header, str):
        header = header.encode("utf-8")
    return struct.pack("<Q", len(header) if length is None else length) + header + data


def load_bytes(tmp_path, blob: bytes, name="hostile.safetensors"):
    path = tmp_path / name
    path.write_bytes(blob)
    return mlpcore.load(path)


def unpickle_bytes(blob: bytes):
    """The pickle path: MLP.__setstate__ parses the model file's bytes."""
    net = mlpcore.MLP.__new__(mlpcore.MLP)
    net.__setstate__({"model": blob})
    return net


def expect_format_error(tmp_path, blob: bytes, *fragments: str) -> str:
    """Both readers (file and pickle) refuse blob with a ModelFormatError naming the problem."""
    messages = []
    for reader in (lambda: load_bytes(tmp_path, blob), lambda: unpickle_bytes(blob)):
        with pytest.raises(ValueError) as info:
            reader()
        assert type(info.value).__name__ == "ModelFormatError", repr(info.value)
        msg = str(info.value)
        for f in fragments:
            assert f.lower() in msg.lower(), f"{f!r} not in {msg!r}"
        messages.append(msg)
    return messages[0]


def make_net(activation="tanh", dtype="float32", output="softmax", sizes=(4, 6, 5, 3), seed=0, **kw):
    sizes = list(sizes)
    if output == "sigmoid":
        sizes[-1] = 1
    return mlpcore.MLP(sizes, activation=activation, dtype=dtype, output=output, seed=seed, **kw)


def data(n, n_in, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).normal(size=(n, n_in)).astype(dtype)


# -- round trips -----------------------------------------------------------------------------------
ROUND_TRIP_CASES = [(act, dt, i) for i, act in enumerate(ACTIVATIONS) for dt in ("float32", "float64")]


@pytest.mark.parametrize("activation,dtype,i", ROUND_TRIP_CASES,
                         ids=[f"{a}-{d}" for a, d, _ in ROUND_TRIP_CASES])
def test_save_load_round_trip_is_bit_exact(tmp_path, activation, dtype, i):
    output = OUTPUTS[i % 3]
    net = make_net(activation, dtype, output, seed=i, leaky_relu_slope=0.25, elu_alpha=0.5, maxout_pieces=3,
                   init="xavier_normal")
    rng = np.random.default_rng(i)
    # Non-trivial biases too, so every tensor's bytes are checked.
    net.parameters[...] = rng.normal(size=net.n_params)
    if output == "sigmoid":
        labels = ["neg", "pos"] if i % 2 else [-1, 1]
    else:
        labels = ["cat", "dog", "émeu"] if i % 2 else [10, -3, 7]
    net.classes = labels
    mean, scale = rng.normal(size=4), rng.uniform(0.1, 3.0, size=4)
    net.set_input_scaling(mean, scale)
    net.metadata = {"author": "Zoë", "notes": 'quote " backslash \\ newline \n tab \t', "empty": "",
                    "control": "\x01\x1f", "json": '{"a": [1, 2]}'}

    path = tmp_path / "model.safetensors"
    net.save(path)
    back = mlpcore.load(path)

    assert back.sizes == net.sizes
    assert back.activations == [activation] * 2
    assert back.output == output
    assert back.dtype == np.dtype(dtype)
    assert back.leaky_relu_slope == 0.25 and back.elu_alpha == 0.5 and back.maxout_pieces == 3
    assert same_bits(back.parameters, net.parameters)
    for (w0, b0), (w1, b1) in zip(net.get_weights(), back.get_weights()):
        assert same_bits(w0, w1) and same_bits(b0, b1)
    assert back.classes.tolist() == list(labels)
    assert back.classes.dtype.kind == ("U" if isinstance(labels[0], str) else "i")
    m1, s1 = back.input_scaling
    assert np.array_equal(m1, mean) and np.array_equal(s1, scale)  # float64, exact
    assert back.metadata == net.metadata
    X = data(7, 4, seed=i)
    assert same_bits(back.forward(X), net.forward(X))
    assert np.array_equal(back.predict(X), net.predict(X))
    # The writer is deterministic: saving what was read gives the same bytes.
    back.save(tmp_path / "again.safetensors")
    assert (tmp_path / "again.safetensors").read_bytes() == path.read_bytes()


def test_round_trip_mixed_activations_and_no_extras(tmp_path):
    net = mlpcore.MLP([5, 7, 6, 4, 8, 2], activation=["maxout", "elu", "leaky_relu", "sigmoid"], seed=3,
                      maxout_pieces=4, dtype="float64")
    path = tmp_path / "m.safetensors"
    net.save(path)
    back = mlpcore.load(path)
    assert back.activations == ["maxout", "elu", "leaky_relu", "sigmoid"]
    assert back.classes is None and back.input_scaling is None and back.metadata == {}
    assert same_bits(back.parameters, net.parameters)
    X = data(9, 5)
    assert same_bits(back.forward(X), net.forward(X))


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pickle_round_trip(protocol, dtype):
    net = make_net("maxout", dtype, maxout_pieces=2, seed=5)
    net.classes = ["a", "b", "c"]
    net.set_input_scaling([1.0, 2.0, 3.0, 4.0], [0.5, 1.5, 2.5, 3.5])
    net.metadata = {"k": "v"}
    back = pickle.loads(pickle.dumps(net, protocol=protocol))
    assert isinstance(back, mlpcore.MLP)
    assert same_bits(back.parameters, net.parameters)
    assert not np.shares_memory(back.parameters, net.parameters)
    assert back.classes.tolist() == ["a", "b", "c"]
    assert back.metadata == {"k": "v"}
    X = data(5, 4)
    assert same_bits(back.forward(X), net.forward(X))
    deep = copy.deepcopy(net)
    assert same_bits(deep.parameters, net.parameters)
    assert not np.shares_memory(deep.parameters, net.parameters)


# -- safetensors and PyTorch read the file as it is ------------------------------------------------
class Maxout(torch.nn.Module):
    """max over each unit's k adjacent pieces: (n, out*k) -> (n, out)."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        return x.unflatten(-1, (-1, self.k)).amax(dim=-1)


def torch_sequential(net) -> torch.nn.Sequential:
    dtype = torch.float32 if net.dtype == np.float32 else torch.float64
    modules = []
    acts = net.activations
    for l in range(len(net.sizes) - 1):
        act = acts[l] if l < len(acts) else None
        width = net.sizes[l + 1] * (net.maxout_pieces if act == "maxout" else 1)
        modules.append(torch.nn.Linear(net.sizes[l], width, dtype=dtype))
        if act is not None:
            modules.append({
                "identity": lambda: torch.nn.Identity(),
                "sigmoid": lambda: torch.nn.Sigmoid(),
                "tanh": lambda: torch.nn.Tanh(),
                "relu": lambda: torch.nn.ReLU(),
                "leaky_relu": lambda: torch.nn.LeakyReLU(net.leaky_relu_slope),
                "elu": lambda: torch.nn.ELU(net.elu_alpha),
                "maxout": lambda: Maxout(net.maxout_pieces),
            }[act]())
    return torch.nn.Sequential(*modules)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_file_loads_into_torch_sequential(tmp_path, activation, dtype):
    net = make_net(activation, dtype, sizes=(4, 9, 6, 3), seed=11, leaky_relu_slope=0.2, elu_alpha=0.7,
                   maxout_pieces=3)
    rng = np.random.default_rng(2)
    net.parameters[...] = rng.normal(scale=0.5, size=net.n_params)
    mean, scale = rng.normal(size=4), rng.uniform(0.5, 2.0, size=4)
    net.set_input_scaling(mean, scale)
    path = tmp_path / "m.safetensors"
    net.save(path)

    state = safetensors.torch.load_file(str(path))
    model = torch_sequential(net)
    model.load_state_dict(state, strict=True)
    X = data(16, 4, seed=4)
    with torch.no_grad():
        expected = model(torch.from_numpy(((X - mean) / scale).astype(net.dtype))).numpy()
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(net.forward(X), expected, **tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_file_reads_with_safetensors_numpy(tmp_path, dtype):
    net = make_net("maxout", dtype, maxout_pieces=2, seed=8)
    net.classes = [0, 1, 2]
    net.metadata = {"trained_on": "spiral"}
    path = tmp_path / "m.safetensors"
    net.save(path)

    tensors = safetensors.numpy.load_file(str(path))
    assert sorted(tensors) == ["0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight"]
    for l, (w, b) in enumerate(net.get_weights()):
        assert same_bits(tensors[f"{2 * l}.weight"], w)
        assert same_bits(tensors[f"{2 * l}.bias"], b)
    assert tensors["2.weight"].shape == (5 * 2, 6)  # maxout: out*k rows
    with safe_open(str(path), "np") as f:
        md = f.metadata()
    assert md["format"] == "mlpcore" and md["format_version"] == "1" and md["dtype"] == dtype
    assert json.loads(md["sizes"]) == net.sizes
    assert json.loads(md["activations"]) == net.activations
    assert md["output"] == "softmax" and int(md["maxout_pieces"]) == 2
    assert json.loads(md["classes"]) == ["0", "1", "2"] and md["classes_kind"] == "int"
    assert md["trained_on"] == "spiral"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_file_written_by_safetensors_library_loads(tmp_path, dtype):
    # Another writer orders and pads tensors its own way; the reader accepts any valid tiling.
    net = make_net("elu", dtype, seed=9)
    net.set_input_scaling([0.5, -1.0, 2.0, 0.0], [2.0, 1.0, 0.5, 3.0])
    ours = tmp_path / "ours.safetensors"
    net.save(ours)
    with safe_open(str(ours), "np") as f:
        md = f.metadata()
    tensors = {}
    for l, (w, b) in enumerate(net.get_weights()):
        tensors[f"{2 * l}.weight"], tensors[f"{2 * l}.bias"] = w, b
    theirs = tmp_path / "theirs.safetensors"
    safetensors.numpy.save_file(tensors, str(theirs), metadata=md)
    back = mlpcore.load(theirs)
    assert same_bits(back.parameters, net.parameters)
    X = data(6, 4)
    assert same_bits(back.forward(X), net.forward(X))


# -- hostile files ---------------------------------------------------------------------------------
@pytest.fixture
def base(tmp_path):
    """A valid small float32 file: sizes [3, 4, 2], tanh, softmax.

    Data bytes: 0.weight [0, 48), 0.bias [48, 64), 2.weight [64, 96), 2.bias [96, 104).
    """
    net = mlpcore.MLP([3, 4, 2], activation="tanh", seed=0)
    blob = file_bytes(net, tmp_path, "base.safetensors")
    header, payload = split(blob)
    assert len(payload) == 104
    return blob, header, payload


def edit(header, fn):
    h = copy.deepcopy(header)
    fn(h)
    return h


def set_meta(header, **kv):
    return edit(header, lambda h: h["__metadata__"].update(kv))


def set_tensor(header, name, **kv):
    return edit(header, lambda h: h[name].update(kv))


def test_empty_and_short_files(tmp_path):
    for n in range(8):
        expect_format_error(tmp_path, b"\x01" * n, "shorter than the 8-byte header length")


def test_truncated_at_every_byte(tmp_path, base):
    blob, header, payload = base
    (hlen,) = struct.unpack("<Q", blob[:8])
    for cut in range(len(blob)):
        if cut < 8:
            fragment = "shorter than the 8-byte header length"
        elif cut < 8 + hlen:
            fragment = "runs past the end of the file"
        else:
            fragment = "fall outside"
        expect_format_error(tmp_path, blob[:cut], fragment)


@pytest.mark.parametrize("length", [2**64 - 1, 2**63, 2**40, 2**32, (16 << 20) + 1])
def test_header_length_huge(tmp_path, base, length):
    blob, header, payload = base
    expect_format_error(tmp_path, pack(header, payload, length=length), f"header length {length}",
                        "exceeds the limit")


def test_header_length_past_eof_or_wrong(tmp_path, base):
    blob, header, payload = base
    text = json.dumps(header).encode()
    total = len(text) + len(payload)
    expect_format_error(tmp_path, pack(text, payload, length=total + 1), "runs past the end of the file")
    expect_format_error(tmp_path, pack(text, payload, length=15 << 20), "runs past the end of the file")
    expect_format_error(tmp_path, pack(text, payload, length=len(text) - 5), "not valid JSON")
    expect_format_error(tmp_path, pack(text, payload, length=len(text) + 5), "not valid JSON")
    expect_format_error(tmp_path, pack(b"", b"12345678", length=0), "too short")
    expect_format_error(tmp_path, pack(b"{", b"12345678", length=1), "too short")


@pytest.mark.parametrize("text", [b"not json at all", b"{'single': 'quotes'}", b'{"a": 1,}', b'{"a" 1}',
                                  b"\x00\x00\x00\x00", b'{"a": "\x01"}', b'{"a": 01}', b'{"a": 1} x',
                                  b'{"a": "\\ud800"}', b'{"a": tru}', b'{"a": "unterminated}'])
def test_header_not_json(tmp_path, text):
    expect_format_error(tmp_path, pack(text, b""), "header is not valid JSON")


@pytest.mark.parametrize("text", [b"[1, 2, 3]", b'"mlpcore"', b"42", b"null", b"true"])
def test_header_not_an_object(tmp_path, text):
    expect_format_error(tmp_path, pack(text, b""), "header is not a JSON object")


@pytest.mark.parametrize("depth", [50, 100_000])
def test_deeply_nested_header(tmp_path, depth):
    expect_format_error(tmp_path, pack(b'{"a":' * depth + b"1" + b"}" * depth), "nesting deeper")
    expect_format_error(tmp_path, pack(b"[" * depth + b"]" * depth), "nesting deeper")


def test_deeply_nested_metadata_value(tmp_path, base):
    blob, header, payload = base
    expect_format_error(tmp_path, pack(set_meta(header, sizes="[" * 10000 + "]" * 10000), payload),
                        "sizes", "nesting deeper")


def test_duplicate_keys(tmp_path, base):
    blob, header, payload = base
    text = json.dumps(header)
    dup_tensor = text.replace('"0.bias":', '"0.weight": ' + json.dumps(header["0.weight"]) + ', "0.bias":', 1)
    expect_format_error(tmp_path, pack(dup_tensor, payload), "duplicate key '0.weight'")
    dup_meta = text.replace('"format": "mlpcore"', '"format": "mlpcore", "format": "other"', 1)
    expect_format_error(tmp_path, pack(dup_meta, payload), "duplicate key 'format'")


def test_metadata_missing_or_malformed(tmp_path, base):
    blob, header, payload = base
    no_meta = edit(header, lambda h: h.pop("__metadata__"))
    expect_format_error(tmp_path, pack(no_meta, payload), '"__metadata__"')
    expect_format_error(tmp_path, pack(edit(header, lambda h: h.update(__metadata__=[1])), payload),
                        "__metadata__ is not an object")
    expect_format_error(tmp_path, pack(set_meta(header, maxout_pieces=2), payload),
                        '__metadata__["maxout_pieces"] is not a string')
    for key in ["format", "format_version", "sizes", "activations", "leaky_relu_slope", "elu_alpha",
                "maxout_pieces", "output"]:
        expect_format_error(tmp_path, pack(edit(header, lambda h: h["__metadata__"].pop(key)), payload),
                            f'lacks "{key}"')


@pytest.mark.parametrize("name", ["safetensors", "MLPCORE", "", "mlpcore "])
def test_wrong_format_name(tmp_path, base, name):
    blob, header, payload = base
    expect_format_error(tmp_path, pack(set_meta(header, format=name), payload), f"format is '{name}'",
                        "mlpcore")


@pytest.mark.parametrize("version,fragment", [
    ("2", "not supported"), ("0", "not supported"), ("999999", "not supported"),
    ("1.0", "not a positive integer"), ("-1", "not a positive integer"), ("one", "not a positive integer"),
    ("", "not a positive integer"), ("99999999999999999999", "not a positive integer"),
])
def test_wrong_format_version(tmp_path, base, version, fragment):
    blob, header, payload = base
    blob = pack(set_meta(header, format_version=version), payload)
    expect_format_error(tmp_path, blob, "format_version", fragment)


def test_overlapping_offsets(tmp_path, base):
    blob, header, payload = base
    h = set_tensor(header, "0.bias", data_offsets=[0, 16])  # inside 0.weight [0, 48]
    expect_format_error(tmp_path, pack(h, payload), "overlap")
    h = set_tensor(header, "2.bias", data_offsets=[88, 96])  # inside 2.weight [64, 96]
    expect_format_error(tmp_path, pack(h, payload), "overlap")


def test_gap_and_trailing_bytes(tmp_path, base):
    blob, header, payload = base
    h = set_tensor(header, "2.bias", data_offsets=[100, 108])  # leaves 96..100 unclaimed
    expect_format_error(tmp_path, pack(h, payload[:96] + b"\0\0\0\0" + payload[96:]), "gap at byte 96")
    expect_format_error(tmp_path, pack(header, payload + b"\0" * 8), "8 trailing bytes")


@pytest.mark.parametrize("offsets,fragment", [
    ([0, 1000], "fall outside"), ([104, 152], "fall outside"), ([-48, 0], "fall outside"),
    ([48, 0], "fall outside"), ([2**62, 2**62 + 48], "fall outside"), ([-(2**62), 48], "fall outside"),
    ([0, 2**70], "must be an integer"), ([0.0, 48.0], "must be an integer"),
    (["0", "48"], "must be an integer"),
    ([0], "data_offsets must be [begin, end]"), ([0, 48, 96], "data_offsets must be [begin, end]"),
    ("0-48", "data_offsets must be [begin, end]"),
])
def test_bad_offsets(tmp_path, base, offsets, fragment):
    blob, header, payload = base
    blob = pack(set_tensor(header, "0.weight", data_offsets=offsets), payload)
    expect_format_error(tmp_path, blob, "0.weight", fragment)


def test_offsets_of_wrong_span(tmp_path, base):
    blob, header, payload = base
    h = set_tensor(header, "0.weight", data_offsets=[0, 44])
    h["0.bias"]["data_offsets"] = [44, 64]
    expect_format_error(tmp_path, pack(h, payload), "0.weight spans 44 bytes", "needs 48")


@pytest.mark.parametrize("dtype", ["F16", "BF16", "I64", "I32", "U8", "BOOL", "f32", "float32", "", 4, None])
def test_unknown_dtype(tmp_path, base, dtype):
    blob, header, payload = base
    blob = pack(set_tensor(header, "0.weight", dtype=dtype), payload)
    expect_format_error(tmp_path, blob, "0.weight", "dtype", "F32 or F64")


def test_mixed_dtypes(tmp_path, base):
    blob, header, payload = base
    weight64 = np.frombuffer(payload[:48], np.float32).astype(np.float64).tobytes()
    h = copy.deepcopy(header)
    h["0.weight"].update(dtype="F64", data_offsets=[0, 96])
    for name, shift in (("0.bias", 48), ("2.weight", 48), ("2.bias", 48)):
        b, e = h[name]["data_offsets"]
        h[name]["data_offsets"] = [b + shift, e + shift]
    expect_format_error(tmp_path, pack(h, weight64 + payload[48:]), "mix dtypes")


def test_metadata_dtype_disagrees_with_tensors(tmp_path, base):
    blob, header, payload = base
    expect_format_error(tmp_path, pack(set_meta(header, dtype="float64"), payload), "dtype", "disagrees")


def test_shape_and_architecture_mismatch(tmp_path, base):
    blob, header, payload = base
    expect_format_error(tmp_path, pack(set_tensor(header, "0.weight", shape=[3, 4]), payload),
                        "0.weight has shape [3, 4]", "needs [4, 3]")
    expect_format_error(tmp_path, pack(set_tensor(header, "0.weight", shape=[12]), payload), "0.weight",
                        "rank")
    expect_format_error(tmp_path, pack(set_tensor(header, "0.bias", shape=[4, 1]), payload), "0.bias", "rank")
    expect_format_error(tmp_path, pack(set_tensor(header, "0.bias", shape=[4.0]), payload), "0.bias",
                        "integer")
    # The architecture says 5 hidden units, the tensors hold 4.
    expect_format_error(tmp_path, pack(set_meta(header, sizes="[3,5,2]"), payload),
                        "0.weight has shape [4, 3]", "needs [5, 3]")
    # Two hidden layers declared, one stored.
    deeper = set_meta(header, sizes="[3,4,4,2]", activations='["tanh","tanh"]')
    expect_format_error(tmp_path, pack(deeper, payload), "holds 4 tensors", "needs 6")
    # Maxout doubles the first layer's rows.
    expect_format_error(tmp_path, pack(set_meta(header, activations='["maxout"]'), payload),
                        "0.weight has shape [4, 3]", "needs [8, 3]")


def test_extra_missing_or_renamed_tensors(tmp_path, base):
    blob, header, payload = base
    extra = edit(header, lambda h: h.update({"4.weight": {"dtype": "F32", "shape": [1],
                                                          "data_offsets": [104, 108]}}))
    expect_format_error(tmp_path, pack(extra, payload + b"\0" * 4), "holds 5 tensors", "needs 4")
    missing = edit(header, lambda h: h.pop("2.bias"))
    expect_format_error(tmp_path, pack(missing, payload[:96]), "holds 3 tensors", "needs 4")
    renamed = edit(header, lambda h: h.update({"1.bias": h.pop("0.bias")}))
    expect_format_error(tmp_path, pack(renamed, payload), 'lacks "0.bias"')
    odd = set_tensor(header, "0.bias", extra_field=1)
    expect_format_error(tmp_path, pack(odd, payload), "0.bias", "exactly dtype, shape and data_offsets")
    not_object = edit(header, lambda h: h.update({"0.bias": [1, 2]}))
    expect_format_error(tmp_path, pack(not_object, payload), "0.bias")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [0, -1])
def test_non_finite_parameters(tmp_path, dtype, value, where):
    net = mlpcore.MLP([3, 4, 2], seed=0, dtype=dtype)
    header, payload = split(file_bytes(net, tmp_path))
    params = np.frombuffer(payload, dtype).copy()
    params[where] = value
    expect_format_error(tmp_path, pack(header, params.tobytes()), "NaN or infinity")


@pytest.mark.parametrize("sizes,fragment", [
    ("[3,0,2]", "out of range"), ("[3,-4,2]", "out of range"), ("[3,1099511627776,2]", "out of range"),
    ("[3,9223372036854775807,2]", "sizes[]"), ("[3,4.5,2]", "must be an integer"),
    ("[3,1e3,2]", "must be an integer"), ('[3,"4",2]', "must be an integer"), ("[3]", "2 to 1024"),
    ("[]", "2 to 1024"), ("3", "2 to 1024"), ('"[3,4,2]"', "2 to 1024"), ("[3,4,2", "invalid JSON"),
    ("[" + ",".join(["1"] * 1025) + "]", "2 to 1024"),
])
def test_bad_sizes(tmp_path, base, sizes, fragment):
    blob, header, payload = base
    expect_format_error(tmp_path, pack(set_meta(header, sizes=sizes), payload), "sizes", fragment)


def test_huge_architecture_with_tiny_file(tmp_path, base):
    blob, header, payload = base
    # 65535 x 65535 parameters (16 GiB of float32) claimed by a 100-byte data section.
    n = 65535
    h = copy.deepcopy(header)
    h["__metadata__"].update(sizes=f"[{n},{n}]", activations="[]")
    for key in ("2.weight", "2.bias"):
        del h[key]
    h["0.weight"].update(shape=[n, n], data_offsets=[0, 4 * n * n])
    h["0.bias"].update(shape=[n], data_offsets=[4 * n * n, 4 * n * n + 4 * n])
    expect_format_error(tmp_path, pack(h, payload), "0.weight", "fall outside")
    # Past the engine's parameter bound: refused from the metadata alone.
    h["__metadata__"].update(sizes=f"[{2**28},{2**28}]")
    expect_format_error(tmp_path, pack(h, payload), "parameters")


@pytest.mark.parametrize("changes,fragments", [
    (dict(activations='["swish"]'), ("unknown activation 'swish'",)),
    (dict(activations='["Tanh"]'), ("unknown activation 'Tanh'",)),
    (dict(activations="[1]"), ("activations",)),
    (dict(activations='"tanh"'), ("activations",)),
    (dict(activations='["tanh","tanh"]'), ("activations", "one entry per hidden layer")),
    (dict(activations="[]"), ("activations", "one entry per hidden layer")),
    (dict(output="softplus"), ("unknown output 'softplus'",)),
    (dict(leaky_relu_slope="nan"), ("leaky_relu_slope",)),
    (dict(leaky_relu_slope="1e999"), ("leaky_relu_slope",)),
    (dict(leaky_relu_slope="abc"), ("leaky_relu_slope",)),
    (dict(leaky_relu_slope="1.5"), ("leaky_relu_slope", "(0, 1)")),
    (dict(leaky_relu_slope="0"), ("leaky_relu_slope", "(0, 1)")),
    (dict(elu_alpha="0"), ("elu_alpha", "> 0")),
    (dict(elu_alpha="-1"), ("elu_alpha", "> 0")),
    (dict(elu_alpha=""), ("elu_alpha",)),
    (dict(maxout_pieces="1"), ("maxout_pieces", "[2, 64]")),
    (dict(maxout_pieces="65"), ("maxout_pieces", "[2, 64]")),
    (dict(maxout_pieces="-2"), ("maxout_pieces",)),
    (dict(maxout_pieces="2.0"), ("maxout_pieces",)),
    (dict(maxout_pieces="99999"), ("maxout_pieces",)),
    (dict(classes='["a"]', classes_kind="str"), ("2 outputs but 1 class labels",)),
    (dict(classes='["a","b"]'), ("classes_kind",)),
    (dict(classes='["a","b"]', classes_kind="float"), ("classes_kind",)),
    (dict(classes='[1,2]', classes_kind="int"), ("classes", "strings")),
    (dict(classes='{"a": 1}', classes_kind="str"), ("classes",)),
    (dict(input_mean="[0,0,0]"), ("input_mean", "input_scale")),
    (dict(input_mean="[0,0]", input_scale="[1,1]"), ("input scaling has 2 values", "3 inputs")),
    (dict(input_mean="[0,0,0]", input_scale="[1,0,1]"), ("input_scale[1]",)),
    (dict(input_mean="[0,0,0]", input_scale="[1,-2,1]"), ("input_scale[1]",)),
    (dict(input_mean="[0,0,0]", input_scale="[1,1,1e999]"), ("input_scale[2]",)),
    (dict(input_mean='[0,"x",0]', input_scale="[1,1,1]"), ("input_mean", "numbers")),
    (dict(input_mean="[0,1e999,0]", input_scale="[1,1,1]"), ("input_mean[1]",)),
])
def test_bad_metadata_values(tmp_path, base, changes, fragments):
    blob, header, payload = base
    expect_format_error(tmp_path, pack(set_meta(header, **changes), payload), *fragments)


def test_header_that_is_not_utf8(tmp_path, base):
    # JSON text is UTF-8; bytes that are not must be refused by the reader, not surface later.
    blob, header, payload = base
    text = json.dumps(set_meta(header, note="PLACEHOLDER")).encode()
    expect_format_error(tmp_path, pack(text.replace(b"PLACEHOLDER", b"caf\xe9"), payload), "utf-8")
    expect_format_error(tmp_path, pack(text.replace(b'"note"', b'"n\xffte"'), payload), "utf-8")
    text = json.dumps(header).encode()
    expect_format_error(tmp_path, pack(text.replace(b'"softmax"', b'"soft\xc0\xafmax"'), payload), "utf-8")


def test_integer_class_labels_must_be_integers(tmp_path, base):
    blob, header, payload = base
    blob = pack(set_meta(header, classes='["a","b"]', classes_kind="int"), payload)
    expect_format_error(tmp_path, blob, "classes")


# -- many hostile files: each either loads into a usable model or is a ModelFormatError ------------
def _check_outcome(tmp_path, blob: bytes, failures: list, label: str) -> bool:
    outcomes = []
    for reader in (lambda: load_bytes(tmp_path, blob, "fuzz.safetensors"), lambda: unpickle_bytes(blob)):
        try:
            net = reader()
            # Whatever the reader accepts is a usable model that saves and reloads identically.
            _ = (net.sizes, net.activations, net.output, net.classes, net.metadata, net.input_scaling)
            net.forward(np.zeros((2, net.n_inputs)))
            written = file_bytes(net, tmp_path, "fuzz_out.safetensors")
            again = load_bytes(tmp_path, written, "fuzz_in.safetensors")
            assert same_bits(again.parameters, net.parameters)
            outcomes.append("ok")
        except Exception as e:  # noqa: BLE001 - classifying every outcome is the point
            if type(e).__name__ != "ModelFormatError" or not str(e).startswith("invalid model file: "):
                failures.append(f"{label}: {type(e).__name__}: {e}")
                return False
            outcomes.append("error")
    if outcomes[0] != outcomes[1]:
        failures.append(f"{label}: file reader {outcomes[0]}, pickle reader {outcomes[1]}")
        return False
    return outcomes[0] == "ok"


def test_random_blobs_are_refused_cleanly(tmp_path):
    rng = np.random.default_rng(20240611)
    failures = []
    alphabet = np.frombuffer(b'{}[]":,0123456789.-eE truefalsnu\\/_abcxyzFI64', np.uint8)
    for i in range(300):
        size = int(rng.integers(0, 600))
        kind = i % 3
        if kind == 0:
            blob = rng.integers(0, 256, size=size, dtype=np.uint8).tobytes()
        else:
            body = (rng.integers(0, 256, size=size, dtype=np.uint8) if kind == 1
                    else rng.choice(alphabet, size=size)).tobytes()
            tail = rng.integers(0, 256, size=int(rng.integers(0, 64)), dtype=np.uint8).tobytes()
            blob = pack(b"{" + body, tail)
        _check_outcome(tmp_path, blob, failures, f"blob {i}")
    assert not failures, "\n".join(failures[:10])


def test_mutated_valid_files_load_or_are_refused_cleanly(tmp_path):
    rng = np.random.default_rng(7)
    bases = []
    for dtype, act in (("float32", "maxout"), ("float64", "elu")):
        net = mlpcore.MLP([3, 4, 2], activation=act, dtype=dtype, seed=1)
        net.classes = ["x", "y"] if dtype == "float32" else [4, 5]
        net.set_input_scaling([0.0, 1.0, 2.0], [1.0, 2.0, 3.0])
        net.metadata = {"k": "v"}
        bases.append(file_bytes(net, tmp_path, "fuzz_base.safetensors"))
    failures = []
    loaded = 0
    for i in range(1200):
        blob = bytearray(bases[i % 2])
        (hlen,) = struct.unpack("<Q", blob[:8])
        for _ in range(int(rng.integers(1, 4))):
            op = int(rng.integers(0, 6))
            # Mostly inside the header, where the parser works; else inside the tensor data.
            if rng.random() < 0.6 or len(blob) <= 8 + hlen:
                p = int(rng.integers(0, max(1, min(8 + hlen, len(blob)))))
            else:
                p = int(rng.integers(8 + hlen, len(blob)))
            if op == 0 and blob:
                blob[p] = int(rng.integers(0, 256))
            elif op == 1 and blob:
                blob[p] ^= 1 << int(rng.integers(0, 8))
            elif op == 2:
                blob[p:p] = bytes([int(rng.choice(list(b'{}[]":,0-9e ')))])
            elif op == 3:
                del blob[p:p + int(rng.integers(1, 4))]
            elif op == 4:
                blob[p:p] = blob[p:p + int(rng.integers(1, 16))]
            else:
                blob = blob[:p] if rng.random() < 0.5 else blob + bytes(int(rng.integers(1, 16)))
        loaded += _check_outcome(tmp_path, bytes(blob), failures, f"mutation {i}")
    assert not failures, "\n".join(failures[:10])
    assert loaded >= 40  # the mutations do reach files that still load (data bytes, harmless text)


# -- bounded memory: hostile files never make the reader allocate what the file cannot back --------
def test_hostile_files_need_no_large_allocation(tmp_path, base):
    blob, header, payload = base
    text = json.dumps(header).encode()
    cases = {f"len_{length}": pack(text, payload, length=length)
             for length in (2**64 - 1, 2**63, 2**40, 2**32, 15 << 20, (16 << 20) + 1)}
    n = 65535
    h = copy.deepcopy(header)
    h["__metadata__"].update(sizes=f"[{n},{n}]", activations="[]")
    del h["2.weight"], h["2.bias"]
    h["0.weight"].update(shape=[n, n], data_offsets=[0, 4 * n * n])
    h["0.bias"].update(shape=[n], data_offsets=[4 * n * n, 4 * n * n + 4 * n])
    cases["sizes_65535"] = pack(h, payload)
    h["__metadata__"].update(sizes=f"[{2**28},{2**28}]")
    cases["sizes_2_28"] = pack(h, payload)
    cases["offsets_2_62"] = pack(set_tensor(header, "0.weight", data_offsets=[2**62, 2**62 + 48]), payload)
    cases["nested"] = pack(b"[" * 1_000_000 + b"]" * 1_000_000)
    cases["sizes_many"] = pack(set_meta(header, sizes="[" + ",".join(["268435456"] * 1024) + "]"), payload)
    for name, b in cases.items():
        (tmp_path / f"{name}.bin").write_bytes(b)
    script = textwrap.dedent(f"""
        import os, resource, sys
        import mlpcore
        with open("/proc/self/status") as f:
            vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
        limit = vm + (256 << 20)  # 256 MiB more than the interpreter already maps
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
        for name in sorted({sorted(cases)!r}):
            try:
                mlpcore.load(os.path.join({str(tmp_path)!r}, name + ".bin"))
                print(name, "loaded")
            except Exception as e:
                print(name, type(e).__name__)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    results = dict(line.split() for line in run.stdout.splitlines())
    assert results == {name: "ModelFormatError" for name in cases}


# -- atomic save -----------------------------------------------------------------------------------
def _two_nets():
    return mlpcore.MLP([3, 4, 2], seed=1), mlpcore.MLP([3, 8, 8, 2], seed=2)


def test_save_over_existing_file_replaces_it(tmp_path):
    old, new = _two_nets()
    path = tmp_path / "model.safetensors"
    old.save(path)
    new.save(path)
    back = mlpcore.load(path)
    assert back.sizes == [3, 8, 8, 2] and same_bits(back.parameters, new.parameters)
    assert os.listdir(tmp_path) == ["model.safetensors"]
    new.save(str(path))  # str and PathLike both work
    assert os.listdir(tmp_path) == ["model.safetensors"]


def test_save_into_missing_folder_raises_oserror(tmp_path):
    net, _ = _two_nets()
    with pytest.raises(OSError, match="cannot save model"):
        net.save(tmp_path / "missing" / "model.safetensors")
    assert os.listdir(tmp_path) == []


def test_save_onto_a_directory_raises_and_leaves_no_temp(tmp_path):
    net, _ = _two_nets()
    target = tmp_path / "model.safetensors"
    target.mkdir()
    (target / "inside.txt").write_text("keep")
    with pytest.raises(OSError, match="cannot save model"):
        net.save(target)
    assert target.is_dir() and (target / "inside.txt").read_text() == "keep"
    assert os.listdir(tmp_path) == ["model.safetensors"]


def test_save_below_a_regular_file_raises_oserror(tmp_path):
    net, _ = _two_nets()
    (tmp_path / "plain").write_text("x")
    with pytest.raises(OSError):
        net.save(tmp_path / "plain" / "model.safetensors")
    assert os.listdir(tmp_path) == ["plain"]


# A read-only folder stops only non-root users; a file size limit stops everyone.
SAVE_FAILURES = ["readonly_dir", "write_fails"] if os.geteuid() != 0 else ["write_fails"]


@pytest.mark.parametrize("scenario", SAVE_FAILURES)
def test_failed_save_keeps_previous_file(tmp_path, scenario):
    old, new = _two_nets()
    path = tmp_path / "model.safetensors"
    old.save(path)
    before = path.read_bytes()
    if scenario == "readonly_dir":
        os.chmod(tmp_path, 0o555)
        try:
            with pytest.raises(OSError, match="cannot save model"):
                new.save(path)
        finally:
            os.chmod(tmp_path, 0o755)
    else:
        # The write itself fails half-way (file size limit, which binds root too): the temporary
        # file must be removed and the old model must survive.
        big = mlpcore.MLP([64, 256, 10], seed=3)
        script = textwrap.dedent(f"""
            import resource, signal
            import mlpcore
            net = mlpcore.MLP([64, 256, 10], seed=3)
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
            try:
                net.save({str(path)!r})
                print("saved")
            except OSError as e:
                print("OSError", e)
        """)
        run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        assert run.stdout.startswith("OSError") and "cannot save model" in run.stdout, run.stdout
        assert big.n_params * 4 > 4096
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"]
    assert same_bits(mlpcore.load(path).parameters, old.parameters)


def test_reserved_metadata_key_fails_before_touching_the_file(tmp_path):
    old, new = _two_nets()
    path = tmp_path / "model.safetensors"
    old.save(path)
    before = path.read_bytes()
    new.metadata = {"format": "mine"}
    with pytest.raises(ValueError, match="format"):
        new.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"]


def test_model_with_non_finite_parameters_is_not_saved(tmp_path):
    # The reader refuses NaN parameters, so the writer must not produce such a file: a save that
    # succeeds always loads again.
    old, new = _two_nets()
    path = tmp_path / "model.safetensors"
    old.save(path)
    before = path.read_bytes()
    new.parameters[3] = np.nan
    with pytest.raises(ValueError, match="NaN|finite"):
        new.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"]
