"""IDX files (the MNIST format), plain or gzip-compressed, read with their sizes checked first."""
from __future__ import annotations

import gzip
import math
import os
import struct
import zlib

import numpy as np

from .._checks import resolve_dtype

_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CHUNK = 1 << 24


def _read_exact(stream, n_bytes: int) -> bytearray:
    """Up to n_bytes from stream, read in chunks so memory only grows with data actually present."""
    buf = bytearray()
    while len(buf) < n_bytes:
        chunk = stream.read(min(_CHUNK, n_bytes - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def _read_idx_stream(stream, path, data_size):
    head = _read_exact(stream, 4)
    if len(head) < 4:
        raise ValueError(f"{path}: truncated IDX file: {len(head)} bytes, too short for the magic number")
    magic = int.from_bytes(head, "big")
    if head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES or head[3] == 0:
        raise ValueError(f"{path}: bad IDX magic number 0x{magic:08X} (expected 0x0000 then a type code "
                         f"08/09/0B/0C/0D/0E and a number of dimensions >= 1)")
    dt, ndim = _IDX_TYPES[head[2]], head[3]
    dim_bytes = _read_exact(stream, 4 * ndim)
    if len(dim_bytes) < 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header: {ndim} dimensions need {4 * ndim} bytes, "
                         f"found {len(dim_bytes)}")
    dims = struct.unpack(f">{ndim}I", dim_bytes)
    need = math.prod(dims) * dt.itemsize
    if data_size is not None:  # plain file: check the size before reading anything
        have = data_size - 4 - 4 * ndim
        if have != need:
            problem = "truncated" if have < need else "size mismatch"
            raise ValueError(f"{path}: {problem}: dimensions {dims} of {dt.name} need {need} data bytes, "
                             f"the file has {have}")
    data = _read_exact(stream, need)
    if len(data) < need:
        raise ValueError(f"{path}: truncated: dimensions {dims} of {dt.name} need {need} data bytes, "
                         f"found {len(data)}")
    if stream.read(1):
        raise ValueError(f"{path}: size mismatch: more data than dimensions {dims} of {dt.name} "
                         f"({need} bytes) account for")
    arr = np.frombuffer(data, dtype=dt).reshape(dims)
    return arr if dt.itemsize == 1 else arr.astype(dt.newbyteorder("="))


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format), plain or gzip-compressed.

    The format: a magic number ``00 00 TT DD`` (``TT`` the element type: 08 uint8, 09 int8, 0B int16,
    0C int32, 0D float32, 0E float64; ``DD`` the number of dimensions), ``DD`` big-endian uint32
    sizes, then the elements, big-endian, row-major. Gzip is detected from the first two bytes
    (``1f 8b``), whatever the file name. The sizes are checked against the data before the data is
    read, so a corrupt header never causes a large allocation.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    ndarray, shape given by the header, dtype the element type in native byte order

    Raises
    ------
    ValueError
        Bad magic number, truncated header or data, data left over after the declared elements, or a
        corrupt gzip stream; the message names the file.
    OSError
        The file cannot be read.
    """
    with open(path, "rb") as raw:
        if raw.read(2) == b"\x1f\x8b":
            raw.seek(0)
            try:
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    return _read_idx_stream(stream, path, None)
            except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
                raise ValueError(f"{path}: truncated or corrupt gzip data ({exc})") from None
        raw.seek(0)
        return _read_idx_stream(raw, path, os.fstat(raw.fileno()).st_size)


def load_idx_pair(images_path, labels_path, *, dtype=np.float32):
    """Read an IDX images file and its labels file (MNIST, Fashion-MNIST, ...).

    Parameters
    ----------
    images_path : str or os.PathLike
        Images, shape ``(n, rows, cols)`` (any ``(n, ...)``); uint8 pixels are divided by 255 into
        [0, 1], other element types are kept as they are.
    labels_path : str or os.PathLike
        Integer labels, shape ``(n,)``.
    dtype : {"float32", "float64"}, default float32

    Returns
    -------
    X : ndarray, shape (n, rows*cols), dtype ``dtype``, C-contiguous
    y : ndarray, shape (n,), int64

    Raises
    ------
    ValueError
        Any :func:`read_idx` error, images with fewer than 2 dimensions, labels that are not 1-D
        integers, or different counts of images and labels.
    """
    dtype = resolve_dtype(dtype)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim < 2:
        raise ValueError(f"{images_path}: expected images of shape (n, rows, cols), got {images.shape}")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"{labels_path}: expected 1-D integer labels, got {labels.dtype} "
                         f"of shape {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{images_path} has {images.shape[0]} images but {labels_path} has "
                         f"{labels.shape[0]} labels")
    X = images.reshape(images.shape[0], -1).astype(dtype)
    if images.dtype == np.uint8:
        X /= dtype.type(255)
    return np.ascontiguousarray(X), labels.astype(np.int64)

