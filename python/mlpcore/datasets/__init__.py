"""Data for mlpcore: the course's generators, file readers on Apache Arrow and NumPy, and sources
that stream data bigger than memory in chunks.

The package is split by concern, as scikit-learn's is: ``_generators`` (seeded synthetic data),
``_readers`` (CSV/TSV, Parquet, Feather, ``.npy``, NPZ, read whole), ``_idx`` (MNIST's IDX format),
``_streaming`` (chunked sources for :meth:`mlpcore.Trainer.fit`). The train/test split, the
standardizer and one-hot targets live in :mod:`mlpcore.preprocessing` and are re-exported here.
"""
from ..preprocessing import Standardizer, one_hot, train_test_split
from ._generators import (TWO_IMAGES_NAMES, blobs, circles, load_digits, moons, spiral, two_images,
                          two_images_templates, xor)
from ._idx import load_idx_pair, read_idx
from ._readers import (file_kind, read_csv, read_csv_features, read_feather, read_npy, read_npz, read_parquet, read_table,
                       read_tsv)

__all__ = [
    "spiral",
    "xor",
    "moons",
    "circles",
    "blobs",
    "two_images",
    "two_images_templates",
    "TWO_IMAGES_NAMES",
    "load_digits",
    "read_csv",
    "read_csv_features",
    "read_tsv",
    "read_parquet",
    "read_feather",
    "read_npy",
    "read_table",
    "read_npz",
    "read_idx",
    "load_idx_pair",
    "train_test_split",
    "Standardizer",
    "one_hot",
]
