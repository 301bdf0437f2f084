"""The Arrow/NumPy readers against files written here with NumPy and pyarrow: every format round trips,
and every malformed input gets its own message naming the file and the place."""
import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from mlpcore import datasets
from mlpcore.datasets import _csv


def table(n=50, d=3, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.integers(0, 3, n) if labels is None else labels
    cols = {f"f{j}": X[:, j] for j in range(d)}
    cols["label"] = y
    return X, np.asarray(y), pa.table(cols)


def write_parquet(path, t, row_group_size=16):
    pq.write_table(t, path, row_group_size=row_group_size)
    return path


@pytest.mark.parametrize("fmt", ["parquet", "feather"])
def test_arrow_files_round_trip(tmp_path, fmt):
    X, y, t = table()
    path = tmp_path / f"d.{fmt}"
    write_parquet(path, t) if fmt == "parquet" else feather.write_feather(t, path, chunksize=16)
    reader = datasets.read_parquet if fmt == "parquet" else datasets.read_feather
    for got_X, got_y, names in (reader(path, "label"), datasets.read_table(path, "label")):
        assert got_X.dtype == np.float32 and got_X.flags.c_contiguous
        np.testing.assert_array_equal(got_X, X)
        assert got_y.dtype == np.int64 and got_y.tolist() == y.tolist()
        assert names == ["f0", "f1", "f2"]
    X64, _, _ = reader(path, 0, dtype="float64")
    np.testing.assert_array_equal(X64, np.column_stack([X[:, 1:], y]).astype(np.float64))


def test_arrow_target_kinds_and_errors(tmp_path):
    X, _, t = table(n=6, labels=np.array(["cat", "dog"] * 3))
    got = datasets.read_parquet(write_parquet(tmp_path / "s.parquet", t))[1]
    assert got.dtype.kind == "U" and got.tolist() == ["cat", "dog"] * 3
    with pytest.raises(ValueError, match=r"no column named 'klass'; available columns: 'f0', 'f1', 'f2', 'label'"):
        datasets.read_parquet(tmp_path / "s.parquet", "klass")
    with pytest.raises(ValueError, match=r"column 'label' \(column 4\) has type string; feature columns must be numeric"):
        datasets.read_parquet(tmp_path / "s.parquet", "f0")
    nulls = pa.table({"a": pa.array([1.0, None, 3.0]), "y": [0, 1, 0]})
    with pytest.raises(ValueError, match=r"n\.parquet, row 2, column 'a' \(column 1\): empty cell"):
        datasets.read_parquet(write_parquet(tmp_path / "n.parquet", nulls))
    inf = pa.table({"a": [1.0, 2.0, np.inf], "y": [0, 1, 0]})
    with pytest.raises(ValueError, match=r"row 3, column 'a' \(column 1\): inf is not a finite float32"):
        datasets.read_parquet(write_parquet(tmp_path / "i.parquet", inf, row_group_size=2))
    null_target = pa.table({"a": [1.0, 2.0], "y": pa.array([0, None])})
    with pytest.raises(ValueError, match=r"row 2, column 'y': empty target"):
        datasets.read_parquet(write_parquet(tmp_path / "t.parquet", null_target))
    mixed = pa.table({"a": [1.0, 2.0, 3.0], "y": ["1", "2", "cat"]})
    with pytest.raises(ValueError, match=r"column 'y': mixed types: numbers \(row 1: '1'\) and text \(row 3: 'cat'\)"):
        datasets.read_parquet(write_parquet(tmp_path / "m.parquet", mixed))
    pq.write_table(pa.table({"a": pa.array([], pa.float32()), "y": pa.array([], pa.int64())}), tmp_path / "e.parquet")
    with pytest.raises(ValueError, match="no rows"):
        datasets.read_parquet(tmp_path / "e.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match=r"junk\.parquet: not a readable parquet file"):
        datasets.read_parquet(tmp_path / "junk.parquet")


def test_npy_memory_mapped(tmp_path):
    X = np.arange(24, dtype=np.uint8).reshape(4, 2, 3)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", np.array([1, 0, 1, 1], dtype=np.int32))
    got, y = datasets.read_npy(tmp_path / "X.npy", tmp_path / "y.npy")
    assert got.dtype == np.float32 and got.flags.c_contiguous and got.shape == (4, 6)
    np.testing.assert_array_equal(got, X.reshape(4, 6))
    assert y.dtype == np.int64 and y.tolist() == [1, 0, 1, 1]
    bad = np.ones((3, 2))
    bad[1, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(ValueError, match=r"nan\.npy, row 2, column 2: nan is not a finite"):
        datasets.read_npy(tmp_path / "nan.npy")
    np.save(tmp_path / "short.npy", np.zeros(3))
    with pytest.raises(ValueError, match=r"has 4 rows but .*short\.npy has shape \(3,\)"):
        datasets.read_npy(tmp_path / "X.npy", tmp_path / "short.npy")
    (tmp_path / "junk.npy").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a readable .npy"):
        datasets.read_npy(tmp_path / "junk.npy")


def test_tsv_and_read_table_by_extension(tmp_path):
    (tmp_path / "d.tsv").write_text("a\tb\tlabel\n1\t2\tx\n3\t4\ty\n")
    X, y, names = datasets.read_tsv(tmp_path / "d.tsv")
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
    assert y.tolist() == ["x", "y"] and names == ["a", "b"]
    assert datasets.read_table(tmp_path / "d.tsv")[1].tolist() == ["x", "y"]
    with pytest.raises(ValueError, match="cannot tell the format"):
        datasets.read_table(tmp_path / "d.xlsx")


def test_csv_blocks_match_numpy_and_errors_name_lines_in_later_blocks(tmp_path, monkeypatch):
    """Small blocks: many Arrow calls, lines counted across block edges, quoted newlines kept whole."""
    monkeypatch.setattr(_csv, "BLOCK_BYTES", 1 << 16)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((20000, 4))
    y = rng.integers(0, 5, 20000)
    lines = ["a,b,c,d,label"] + [",".join(f"{v:.9g}" for v in row) + f",{k}" for row, k in zip(X, y)]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    got, got_y, _ = datasets.read_csv(path, dtype="float64")
    np.testing.assert_array_equal(got, np.array([[float(f"{v:.9g}") for v in row] for row in X]))
    assert got_y.tolist() == y.tolist()
    lines[15001] = lines[15001].replace(",", ",oops", 1)  # line 15002 of the file
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"big\.csv, line 15002, column 'b' \(column 2\): cannot read 'oops"):
        datasets.read_csv(path)
    lines[15001] = lines[15000]
    lines[17999] = "1,2,3"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"line 18000: 3 fields, expected 5"):
        datasets.read_csv(path)
    lines[17999] = lines[17998]
    lines[19000] = ",".join(lines[19000].split(",")[:4]) + ",cat"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"mixed types: numbers \(line 2: .*\) and text \(line 19001: 'cat'\)"):
        datasets.read_csv(path)
    quoted = tmp_path / "q.csv"
    quoted.write_text('a,label\n1,"two\nlines"\n2,x\n')
    assert datasets.read_csv(quoted)[1].tolist() == ["two\nlines", "x"]
