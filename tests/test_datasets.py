"""mlpcore.datasets: generators against their formulas, readers against files written here, the
split, the standardizer (also inside a model) and one-hot targets."""
import gzip
import struct
import sys

import numpy as np
import pytest

import mlpcore
from mlpcore import datasets


def assert_xy(X, y, n, d, dtype=np.float32):
    assert X.shape == (n, d) and X.dtype == dtype and X.flags.c_contiguous
    assert y.shape == (n,) and y.dtype == np.int64


def test_all_names_exist():
    for name in datasets.__all__:
        assert hasattr(datasets, name), name


# -- spiral -------------------------------------------------------------------------------------------
def spiral_reference(K, sigma, N, seed):
    """The course's formula, written out; noise drawn arm by arm, eps0 then eps1."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, N)
    xs, ys = [], []
    for k in range(K):
        e0 = rng.standard_normal(N)
        e1 = rng.standard_normal(N)
        x0 = t * (np.sin(2 * np.pi / K * (2 * t + k)) + sigma * e0)
        x1 = t * (np.cos(2 * np.pi / K * (2 * t + k)) + sigma * e1)
        xs.append(np.stack([x0, x1], axis=1))
        ys.append(np.full(N, k))
    return np.concatenate(xs), np.concatenate(ys)


@pytest.mark.parametrize("K, sigma, N, seed", [(4, 0.16, 1000, 0), (3, 0.5, 17, 7), (1, 0.0, 1, 2)])
def test_spiral_matches_formula(K, sigma, N, seed):
    X_ref, y_ref = spiral_reference(K, sigma, N, seed)
    X64, y = datasets.spiral(classes=K, sigma=sigma, n_per_class=N, seed=seed, dtype="float64")
    assert_xy(X64, y, K * N, 2, np.float64)
    np.testing.assert_array_equal(X64, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    X32, y32 = datasets.spiral(classes=K, sigma=sigma, n_per_class=N, seed=seed)
    assert_xy(X32, y32, K * N, 2)
    np.testing.assert_array_equal(X32, X_ref.astype(np.float32))


def test_spiral_structure_defaults_and_seeds():
    X, y = datasets.spiral()
    assert_xy(X, y, 4000, 2)
    assert np.bincount(y).tolist() == [1000] * 4
    assert np.all(np.diff(y) >= 0)  # ordered by class
    # Without noise every point lies at radius t, t running 0..1 along each arm.
    X0, _ = datasets.spiral(sigma=0.0, n_per_class=50, dtype="float64")
    t = np.tile(np.linspace(0, 1, 50), 4)
    np.testing.assert_allclose(np.linalg.norm(X0, axis=1), t, atol=1e-12)
    # With noise the radius stays within t * (1 + a few sigma).
    r = np.linalg.norm(X.astype(np.float64), axis=1)
    t = np.tile(np.linspace(0, 1, 1000), 4)
    assert np.all(np.abs(r - t) <= t * 0.16 * 6 + 1e-6)
    np.testing.assert_array_equal(datasets.spiral(seed=5)[0], datasets.spiral(seed=5)[0])
    assert not np.array_equal(datasets.spiral(seed=5)[0], datasets.spiral(seed=6)[0])


# -- other generators ---------------------------------------------------------------------------------
GENERATORS = [
    (datasets.xor, dict(n=101, noise=0.2), 101, 2, {0, 1}),
    (datasets.moons, dict(n=101, noise=0.1), 101, 2, {0, 1}),
    (datasets.circles, dict(n=101, noise=0.1, factor=0.3), 101, 2, {0, 1}),
    (datasets.blobs, dict(n=101, centers=4, n_features=3), 101, 3, {0, 1, 2, 3}),
    (datasets.spiral, dict(classes=3, n_per_class=20), 60, 2, {0, 1, 2}),
    (datasets.two_images, dict(n_noisy=9, flip_prob=0.2), 20, 25, {0, 1}),
]


@pytest.mark.parametrize("fn, kwargs, n, d, labels", GENERATORS, ids=lambda v: getattr(v, "__name__", ""))
def test_generator_shapes_dtypes_and_seeds(fn, kwargs, n, d, labels):
    X, y = fn(**kwargs, seed=3)
    assert_xy(X, y, n, d)
    assert set(np.unique(y).tolist()) == labels
    X2, y2 = fn(**kwargs, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, fn(**kwargs, seed=4)[0])
    X64, y64 = fn(**kwargs, seed=3, dtype="float64")
    assert_xy(X64, y64, n, d, np.float64)
    np.testing.assert_array_equal(X64.astype(np.float32), X)
    X_gen, _ = fn(**kwargs, seed=np.random.default_rng(3))  # a Generator is taken as it is
    np.testing.assert_array_equal(X_gen, X)


def test_xor_truth_table_and_noisy_corners():
    X, y = datasets.xor()
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    X, y = datasets.xor(n=4, noise=0.0, seed=9)
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    X, y = datasets.xor(n=400, noise=0.05)
    assert np.bincount(y).tolist() == [200, 200]
    corners = np.round(X).astype(int)
    np.testing.assert_array_equal(corners[:, 0] ^ corners[:, 1], y)
    assert np.abs(X - corners).max() < 0.3


def test_moons_and_circles_without_noise_lie_on_their_curves():
    X, y = datasets.moons(n=51, noise=0.0, dtype="float64")
    assert np.bincount(y).tolist() == [26, 25]
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    assert upper[:, 1].min() >= -1e-12
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    assert lower[:, 1].max() <= 0.5 + 1e-12
    X, y = datasets.circles(n=40, noise=0.0, factor=0.3, dtype="float64")
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0)
    np.testing.assert_allclose(r[y == 1], 0.3)


def test_blobs_centres_counts_and_spread():
    X, y, C = datasets.blobs(n=3001, centers=3, cluster_std=[0.5, 1.0, 2.0], seed=1, return_centers=True)
    assert C.shape == (3, 2) and C.dtype == np.float64 and np.all(np.abs(C) <= 10)
    assert np.bincount(y).tolist() == [1001, 1000, 1000]
    for k, s in enumerate([0.5, 1.0, 2.0]):
        pts = X[y == k].astype(np.float64)
        np.testing.assert_allclose(pts.mean(axis=0), C[k], atol=5 * s / np.sqrt(1000))
        np.testing.assert_allclose(pts.std(axis=0), s, rtol=0.1)
    given = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]])
    X, y = datasets.blobs(n=10, centers=given, cluster_std=0.0)
    np.testing.assert_array_equal(X, given[y])
    assert_xy(X, y, 10, 3)


@pytest.mark.parametrize("call", [
    lambda: datasets.spiral(classes=0),
    lambda: datasets.spiral(sigma=-0.1),
    lambda: datasets.spiral(n_per_class=2.5),
    lambda: datasets.spiral(seed=-1),
    lambda: datasets.xor(n=0),
    lambda: datasets.xor(noise=float("nan")),
    lambda: datasets.moons(n=1),
    lambda: datasets.circles(factor=1.0),
    lambda: datasets.blobs(centers=3, cluster_std=[1.0, 2.0]),
    lambda: datasets.blobs(centers=[[0.0, 1.0]], n_features=3),
    lambda: datasets.blobs(n=2, centers=3),
    lambda: datasets.two_images(flip_prob=1.5),
    lambda: datasets.two_images(size=2),
    lambda: datasets.spiral(dtype="int32"),
])
def test_generator_argument_errors(call):
    with pytest.raises(ValueError):
        call()


# -- the perceptron's two images ----------------------------------------------------------------------
def test_two_images_templates():
    T = datasets.two_images_templates()
    assert T.shape == (2, 5, 5) and T.dtype == np.float32
    assert set(np.unique(T).tolist()) == {0.0, 1.0}
    cross, circle = T
    np.testing.assert_array_equal(cross, np.maximum(np.eye(5), np.fliplr(np.eye(5))))
    assert circle[0, 0] == 0 and circle[0, 2] == 1 and circle[2, 0] == 1 and circle[2, 2] == 0
    assert np.sum(cross * circle) == 0  # no shared pixel
    assert datasets.TWO_IMAGES_NAMES == ("cross", "circle")
    assert datasets.two_images_templates(size=(4, 7)).shape == (2, 4, 7)


def test_two_images_noisy_copies_stay_near_their_template():
    n_noisy, p = 400, 0.1
    X, y = datasets.two_images(n_noisy=n_noisy, flip_prob=p, seed=2)
    T = datasets.two_images_templates().reshape(2, 25)
    assert_xy(X, y, 2 * (n_noisy + 1), 25)
    assert set(np.unique(X).tolist()) <= {0.0, 1.0}
    np.testing.assert_array_equal(y, np.repeat([0, 1], n_noisy + 1))
    np.testing.assert_array_equal(X[0], T[0])
    np.testing.assert_array_equal(X[n_noisy + 1], T[1])
    dist_own = np.abs(X - T[y]).sum(axis=1)
    dist_other = np.abs(X - T[1 - y]).sum(axis=1)
    assert np.mean(dist_own < dist_other) > 0.99
    flipped = dist_own[y == 0][1:].sum() + dist_own[y == 1][1:].sum()
    assert abs(flipped / (2 * n_noisy * 25) - p) < 0.01  # 20000 Bernoulli(0.1) draws
    X0, _ = datasets.two_images(n_noisy=3, flip_prob=0.0)
    np.testing.assert_array_equal(X0, np.repeat(T, 4, axis=0))
    X1, _ = datasets.two_images(n_noisy=3, flip_prob=1.0)
    np.testing.assert_array_equal(X1[[1, 2, 3, 5, 6, 7]], 1 - np.repeat(T, 3, axis=0))
    X, y = datasets.two_images(n_noisy=0, size=(4, 6))
    assert_xy(X, y, 2, 24)


# -- digits -------------------------------------------------------------------------------------------
def test_load_digits_matches_scikit_learn():
    from sklearn.datasets import load_digits

    ref = load_digits()
    X, y = datasets.load_digits()
    assert_xy(X, y, 1797, 64)
    np.testing.assert_array_equal(X, ref.data.astype(np.float32))
    np.testing.assert_array_equal(y, ref.target)
    Xs, _ = datasets.load_digits(scale=True, dtype="float64")
    np.testing.assert_allclose(Xs, ref.data / 16.0)


def test_load_digits_without_scikit_learn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"pip install scikit-learn") as excinfo:
        datasets.load_digits()
    assert "mlpcore[sklearn]" in str(excinfo.value)


# -- CSV ----------------------------------------------------------------------------------------------
def write(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_header_detected_or_absent(tmp_path):
    X, y, names = datasets.read_csv(write(tmp_path, "a,b,label\n1,2,0\n3.5,-4e1,1\n"))
    assert names == ["a", "b"]
    assert X.dtype == np.float32 and X.flags.c_contiguous
    np.testing.assert_array_equal(X, [[1, 2], [3.5, -40]])
    assert y.dtype == np.int64 and y.tolist() == [0, 1]
    X, y, names = datasets.read_csv(write(tmp_path, "1,2,0\n3.5,4,1\n"))
    assert names == ["x0", "x1"]
    np.testing.assert_array_equal(X, [[1, 2], [3.5, 4]])
    assert y.tolist() == [0, 1]
    # Forced either way.
    X, y, names = datasets.read_csv(write(tmp_path, "1,2,0\n3.5,4,1\n"), header=True)
    assert names == ["1", "2"] and X.shape == (1, 2) and y.tolist() == [1]
    with pytest.raises(ValueError, match=r"line 1, column 'x0'"):
        datasets.read_csv(write(tmp_path, "a,b,label\n1,2,0\n"), header=False)
    with pytest.raises(ValueError, match="header"):
        datasets.read_csv(write(tmp_path, "1,2\n"), header="yes")


def test_csv_target_by_name_index_and_negative_index(tmp_path):
    path = write(tmp_path, "id,a,b\n10,1,2\n20,3,4\n30,5,6\n")
    for target in ("id", 0, -3):
        X, y, names = datasets.read_csv(path, target=target)
        assert names == ["a", "b"] and y.tolist() == [10, 20, 30]
        np.testing.assert_array_equal(X, [[1, 2], [3, 4], [5, 6]])
    X, y, names = datasets.read_csv(path, target=-2)
    assert names == ["id", "b"] and y.tolist() == [1, 3, 5]
    X, y, names = datasets.read_csv(path, target=None, dtype="float64")
    assert y is None and names == ["id", "a", "b"] and X.dtype == np.float64 and X.shape == (3, 3)
    X, y, names = datasets.read_csv(write(tmp_path, "1,2,3\n"), target="x1")  # default names, no header
    assert names == ["x0", "x2"] and y.tolist() == [2]
    np.testing.assert_array_equal(X, [[1, 3]])


def test_csv_target_kinds(tmp_path):
    _, y, _ = datasets.read_csv(write(tmp_path, "a,label\n1,cat\n2,dog\n3,cat\n"))
    assert y.dtype.kind == "U" and y.tolist() == ["cat", "dog", "cat"]
    _, y, _ = datasets.read_csv(write(tmp_path, "1,cat\n2,dog\n"))  # string labels, no header
    assert y.tolist() == ["cat", "dog"]
    _, y, _ = datasets.read_csv(write(tmp_path, "a,y\n1,2.0\n2,-1.0\n"))
    assert y.dtype == np.int64 and y.tolist() == [2, -1]
    _, y, _ = datasets.read_csv(write(tmp_path, "a,y\n1,0.5\n2,-1\n"))
    assert y.dtype == np.float64 and y.tolist() == [0.5, -1.0]
    _, y, _ = datasets.read_csv(write(tmp_path, "a,y\n1,9007199254740993\n"))
    assert y.dtype == np.int64 and y.tolist() == [9007199254740993]  # beyond float64's integers


def test_csv_bad_cells_name_line_and_column(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,0\n3,x,1\n")
    with pytest.raises(ValueError, match=r"line 3, column 'b' \(column 2\): cannot read 'x'") as excinfo:
        datasets.read_csv(path, target="label")
    assert str(path) in str(excinfo.value)
    with pytest.raises(ValueError, match=r"line 2, column 'a' \(column 1\): empty cell"):
        datasets.read_csv(write(tmp_path, "a,b\n,1\n"))
    with pytest.raises(ValueError, match=r"line 3, column 'a'.*'nan' is not a finite"):
        datasets.read_csv(write(tmp_path, "a,b\n1,1\nnan,1\n"))
    with pytest.raises(ValueError, match=r"line 2, column 'a'.*'1e300' is not a finite float32"):
        datasets.read_csv(write(tmp_path, "a,b\n1e300,1\n"))
    with pytest.raises(ValueError, match=r"line 3: 2 fields, expected 3"):
        datasets.read_csv(write(tmp_path, "a,b,c\n1,2,3\n4,5\n"))
    with pytest.raises(ValueError, match=r"line 2, column 'y': empty target"):
        datasets.read_csv(write(tmp_path, "a,y\n1,\n"))
    with pytest.raises(ValueError, match=r"line 3, column 'y': target 'inf' is not finite"):
        datasets.read_csv(write(tmp_path, "a,y\n1,2\n1,inf\n"))
    # Blank and comment lines are skipped but still counted.
    with pytest.raises(ValueError, match=r"line 6, column 'a'"):
        datasets.read_csv(write(tmp_path, "# made by hand\n\na;b\n1;2\n\nx;3\n"), delimiter=";")


def test_csv_missing_column_empty_file_and_no_data(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,0\n")
    with pytest.raises(ValueError, match=r"no column named 'klass'; available columns: 'a', 'b', 'label'"):
        datasets.read_csv(path, target="klass")
    with pytest.raises(ValueError, match=r"target column 3 is out of range for 3 columns"):
        datasets.read_csv(path, target=3)
    with pytest.raises(ValueError, match=r"target column -4 is out of range"):
        datasets.read_csv(path, target=-4)
    with pytest.raises(ValueError, match="empty"):
        datasets.read_csv(write(tmp_path, ""))
    with pytest.raises(ValueError, match="empty"):
        datasets.read_csv(write(tmp_path, "\n\n# nothing\n"))
    with pytest.raises(ValueError, match="no data rows"):
        datasets.read_csv(write(tmp_path, "a,b\n"))
    with pytest.raises(ValueError, match="no feature columns"):
        datasets.read_csv(write(tmp_path, "y\n1\n"))
    with pytest.raises(ValueError, match="appears 2 times"):
        datasets.read_csv(write(tmp_path, "a,a,y\n1,2,3\n"), target="a")
    wide = ",".join(f"c{j}" for j in range(100)) + "\n" + ",".join("1" * 100) + "\n"
    with pytest.raises(ValueError, match=r"'c19', \.\.\. \(100 columns\)"):
        datasets.read_csv(write(tmp_path, wide), target="nope")
    with pytest.raises(FileNotFoundError):
        datasets.read_csv(tmp_path / "missing.csv")


def test_read_csv_features(tmp_path):
    X = np.array([[0.0, 0.1], [0.5, -0.3], [-0.4, 0.2]])
    np.savetxt(tmp_path / "pts.csv", X, delimiter=",", header="x0,x1", comments="")
    got = datasets.read_csv_features(tmp_path / "pts.csv")
    assert got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, X.astype(np.float32))
    np.savetxt(tmp_path / "plain.csv", X, delimiter=",")  # no header
    np.testing.assert_array_equal(datasets.read_csv_features(tmp_path / "plain.csv", dtype="float64"), X)
    np.savetxt(tmp_path / "commented.csv", X, delimiter=",", header="x0,x1")  # "# x0,x1" is skipped
    np.testing.assert_array_equal(datasets.read_csv_features(tmp_path / "commented.csv", dtype="float64"), X)


# -- NPZ ----------------------------------------------------------------------------------------------
def test_read_npz_keys_shapes_and_errors(tmp_path):
    images = np.arange(24, dtype=np.uint8).reshape(3, 2, 4)
    np.savez(tmp_path / "d.npz", X=images, y=np.array([2, 0, 1], dtype=np.int32), extra=np.zeros(2))
    X, y = datasets.read_npz(tmp_path / "d.npz")
    assert X.shape == (3, 8) and X.dtype == np.float32 and X.flags.c_contiguous
    np.testing.assert_array_equal(X, images.reshape(3, 8))
    assert y.dtype == np.int64 and y.tolist() == [2, 0, 1]
    np.savez(tmp_path / "k.npz", feats=np.ones((2, 3)), target=np.array([0.5, 1.5]))
    X, y = datasets.read_npz(tmp_path / "k.npz", x_key="feats", y_key="target", dtype="float64")
    assert X.dtype == np.float64 and y.dtype == np.float64 and y.tolist() == [0.5, 1.5]
    X, y = datasets.read_npz(tmp_path / "k.npz", x_key="feats", y_key=None)
    assert y is None and X.shape == (2, 3)
    with pytest.raises(ValueError, match=r"no array 'X'; the archive holds: 'feats', 'target'"):
        datasets.read_npz(tmp_path / "k.npz")
    with pytest.raises(ValueError, match=r"no array 'y'"):
        datasets.read_npz(tmp_path / "k.npz", x_key="feats")
    np.savez(tmp_path / "len.npz", X=np.ones((3, 2)), y=np.zeros(2))
    with pytest.raises(ValueError, match=r"'X' has 3 rows but 'y' has shape \(2,\)"):
        datasets.read_npz(tmp_path / "len.npz")
    np.savez(tmp_path / "flat.npz", X=np.ones(3), y=np.zeros(3))
    with pytest.raises(ValueError, match=r"shape \(n, \.\.\.\)"):
        datasets.read_npz(tmp_path / "flat.npz")
    np.savez(tmp_path / "obj.npz", X=np.ones((2, 2)), y=np.array([1, "a"], dtype=object))
    with pytest.raises(ValueError, match=r"'y' cannot be read without pickle"):
        datasets.read_npz(tmp_path / "obj.npz")
    np.save(tmp_path / "one.npy", np.ones((2, 2)))
    with pytest.raises(ValueError, match="not an .npz archive"):
        datasets.read_npz(tmp_path / "one.npy")
    (tmp_path / "junk.npz").write_bytes(b"this is not numpy")
    with pytest.raises(ValueError, match="junk.npz"):
        datasets.read_npz(tmp_path / "junk.npz")


# -- IDX ----------------------------------------------------------------------------------------------
IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(arr, code=None, dims=None):
    """An IDX file by the format's definition: 00 00 type ndim, big-endian uint32 dims, big-endian data."""
    arr = np.asarray(arr)
    code = IDX_CODES[arr.dtype.type] if code is None else code
    dims = arr.shape if dims is None else dims
    head = bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def put(path, data, gz=False):
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_idx_images_and_labels_round_trip(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 3, 4), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7).astype(np.uint8)
    ipath = put(tmp_path / "images.idx3", idx_bytes(images), gz)  # gzip found by content, not by name
    lpath = put(tmp_path / "labels.idx1", idx_bytes(labels), gz)
    got = datasets.read_idx(ipath)
    assert got.dtype == np.uint8 and got.shape == (7, 3, 4)
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(datasets.read_idx(lpath), labels)
    X, y = datasets.load_idx_pair(ipath, lpath)
    assert_xy(X, y, 7, 12)
    np.testing.assert_allclose(X, images.reshape(7, 12) / 255.0, rtol=1e-6)
    assert X.min() >= 0 and X.max() <= 1
    np.testing.assert_array_equal(y, labels)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_element_types(tmp_path, dtype):
    arr = np.arange(30).reshape(2, 3, 5) - 12
    arr = (arr * 1.5 if np.dtype(dtype).kind == "f" else arr).astype(dtype)
    got = datasets.read_idx(put(tmp_path / "a.idx", idx_bytes(arr)))
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative and got.shape == (2, 3, 5)
    np.testing.assert_array_equal(got, arr)


def idx_error(path, *fragments):
    with pytest.raises(ValueError) as excinfo:
        datasets.read_idx(path)
    message = str(excinfo.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_idx_errors(tmp_path, gz):
    good = idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4))
    idx_error(put(tmp_path / "magic", b"\x01\x02\x03\x04" + b"\x00" * 16, gz), "magic number 0x01020304")
    idx_error(put(tmp_path / "code", b"\x00\x00\x0a\x01" + good[4:], gz), "magic number 0x00000A01")
    idx_error(put(tmp_path / "ndim0", b"\x00\x00\x08\x00", gz), "magic")
    idx_error(put(tmp_path / "short", b"\x00\x00", gz), "truncated")
    idx_error(put(tmp_path / "dims", good[:9], gz), "truncated IDX header")
    idx_error(put(tmp_path / "data", good[:-1], gz), "truncated", "need 12 data bytes")
    idx_error(put(tmp_path / "extra", good + b"\x00", gz), "size mismatch")
    # Dimensions that promise 2**62 bytes in a tiny file: an error, not an allocation.
    huge = bytes([0, 0, 0x08, 2]) + struct.pack(">2I", 2**31, 2**31) + b"\x00" * 8
    idx_error(put(tmp_path / "huge", huge, gz), "truncated")


def test_idx_corrupt_gzip_and_pair_errors(tmp_path):
    data = gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8).reshape(10, 20)))
    idx_error(put(tmp_path / "cut.gz", data[:-12]), "gzip")
    images = put(tmp_path / "i", idx_bytes(np.zeros((3, 2, 2), dtype=np.uint8)))
    labels = put(tmp_path / "l", idx_bytes(np.zeros(4, dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"has 3 images but .* has 4 labels"):
        datasets.load_idx_pair(images, labels)
    with pytest.raises(ValueError, match="1-D integer labels"):
        datasets.load_idx_pair(images, put(tmp_path / "f", idx_bytes(np.zeros(3, dtype=np.float32))))
    with pytest.raises(ValueError, match="expected images"):
        datasets.load_idx_pair(labels, labels)
    with pytest.raises(ValueError, match="magic"):
        datasets.load_idx_pair(put(tmp_path / "bad", b"\x01\x02\x03\x04" + b"\x00" * 16), labels)
    X, y = datasets.load_idx_pair(put(tmp_path / "i16", idx_bytes(np.full((3, 2), 300, np.int16))),
                                  put(tmp_path / "l32", idx_bytes(np.array([1, 2, 3], np.int32))))
    np.testing.assert_array_equal(X, np.full((3, 2), 300.0))  # only uint8 pixels are rescaled
    assert y.dtype == np.int64 and y.tolist() == [1, 2, 3]


# -- train/test split ---------------------------------------------------------------------------------
def test_split_sizes_partition_and_alignment():
    X = np.arange(103 * 2, dtype=np.float32).reshape(103, 2)
    y = np.arange(103) % 5
    X_tr, X_te, y_tr, y_te = datasets.train_test_split(X, y)
    assert X_tr.shape == (82, 2) and X_te.shape == (21, 2) and y_tr.shape == (82,) and y_te.shape == (21,)
    assert X_tr.dtype == np.float32 and X_tr.flags.c_contiguous and X_te.flags.c_contiguous
    rows_tr, rows_te = (X_tr[:, 0] // 2).astype(int), (X_te[:, 0] // 2).astype(int)
    assert set(rows_tr).isdisjoint(rows_te) and sorted([*rows_tr, *rows_te]) == list(range(103))
    np.testing.assert_array_equal(y_tr, rows_tr % 5)
    np.testing.assert_array_equal(y_te, rows_te % 5)
    assert not np.array_equal(rows_te, np.sort(rows_te))  # shuffled
    assert datasets.train_test_split(X, y, test_size=10)[1].shape == (10, 2)
    assert datasets.train_test_split(X[:10], y[:10], test_size=0.7)[1].shape == (7, 2)  # not 8
    X_tr, X_te, _, _ = datasets.train_test_split(X, y, test_size=3, shuffle=False)
    np.testing.assert_array_equal(X_te, X[100:])
    np.testing.assert_array_equal(X_tr, X[:100])


def test_split_seeds():
    X, y = np.arange(50).reshape(50, 1), np.arange(50) % 2
    a = datasets.train_test_split(X, y, seed=1)
    b = datasets.train_test_split(X, y, seed=1)
    c = datasets.train_test_split(X, y, seed=2)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[1], c[1])


def test_split_stratified_keeps_proportions():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    X = np.arange(100).reshape(100, 1)
    X_tr, X_te, y_tr, y_te = datasets.train_test_split(X, y, test_size=0.2, stratify=True, seed=3)
    assert np.bincount(y_te).tolist() == [10, 6, 4] and np.bincount(y_tr).tolist() == [40, 24, 16]
    np.testing.assert_array_equal(y[X_te[:, 0]], y_te)
    assert sorted([*X_tr[:, 0], *X_te[:, 0]]) == list(range(100))
    # Quotas 1.4, 1.0 and 0.6 of 3 test samples: floors 1, 1, 0, the spare one to the largest remainder.
    y = np.repeat(["a", "b", "c"], [7, 5, 3])
    _, _, _, y_te = datasets.train_test_split(np.zeros((15, 1)), y, test_size=0.2, stratify=True)
    assert sorted(y_te.tolist()) == ["a", "b", "c"]
    # Proportions hold to within one sample per class on an uneven set, for any seed.
    y = np.repeat([0, 1, 2, 3], [37, 11, 23, 29])
    for seed in range(5):
        _, _, _, y_te = datasets.train_test_split(np.zeros((100, 1)), y, test_size=0.3, stratify=True, seed=seed)
        assert len(y_te) == 30
        assert np.all(np.abs(np.bincount(y_te) - 0.3 * np.bincount(y)) < 1)
    groups = np.repeat([0, 1], 50)  # stratify by another array
    _, X_te, _, _ = datasets.train_test_split(X, np.zeros(100), test_size=10, stratify=groups)
    assert np.bincount(groups[X_te[:, 0]]).tolist() == [5, 5]


@pytest.mark.parametrize("kwargs, message", [
    (dict(test_size=0), "test_size"),
    (dict(test_size=0.0), "test_size"),
    (dict(test_size=1.0), "test_size"),
    (dict(test_size=1.5), "test_size"),
    (dict(test_size=-3), "between 1 and"),
    (dict(test_size=10), "between 1 and n_samples - 1 = 9"),
    (dict(test_size=True), "test_size"),
    (dict(test_size="0.2"), "test_size"),
    (dict(test_size=0.95), "empty train or test set"),
    (dict(stratify=True, shuffle=False), "shuffle"),
    (dict(seed=-1), "seed"),
])
def test_split_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datasets.train_test_split(np.zeros((10, 2)), np.arange(10) % 2, **kwargs)


def test_split_shape_and_stratify_errors():
    with pytest.raises(ValueError, match=r"same number of rows.*\(10, 2\) and \(9,\)"):
        datasets.train_test_split(np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(ValueError, match="at least 2 samples per class; class 3 has 1"):
        datasets.train_test_split(np.zeros((10, 2)), np.array([0] * 5 + [1] * 4 + [3]), stratify=True)
    with pytest.raises(ValueError, match="1-D labels"):
        datasets.train_test_split(np.zeros((10, 2)), np.zeros((10, 2)), stratify=True)


# -- Standardizer -------------------------------------------------------------------------------------
def raw_data(n=200):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((n, 3)) * [10.0, 0.1, 0.001] + [100.0, -5.0, 0.01]).astype(np.float32)


def test_standardizer_matches_numpy_and_inverts():
    X = raw_data()
    std = datasets.Standardizer().fit(X)
    X64 = X.astype(np.float64)
    assert std.mean_.dtype == np.float64 and std.scale_.dtype == np.float64 and std.n_features_in_ == 3
    np.testing.assert_allclose(std.mean_, X64.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std.scale_, X64.std(axis=0), rtol=1e-12)
    Z = std.transform(X)
    assert Z.dtype == np.float32 and Z.flags.c_contiguous
    np.testing.assert_allclose(Z, (X64 - X64.mean(0)) / X64.std(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(Z.std(axis=0), 1, rtol=1e-5)
    Z64 = std.transform(X64)
    assert Z64.dtype == np.float64
    np.testing.assert_allclose(std.inverse_transform(Z64), X64, rtol=1e-12)
    np.testing.assert_allclose(std.inverse_transform(Z), X, rtol=1e-5)
    np.testing.assert_array_equal(datasets.Standardizer().fit_transform(X), Z)
    assert std.transform(np.ones((2, 3), dtype=np.int64)).dtype == np.float32
    assert std.transform(X, dtype="float64").dtype == np.float64
    assert "3 features" in repr(std)


def test_standardizer_constant_columns_get_scale_one():
    X = np.column_stack([np.arange(5.0), np.full(5, 7.0), np.full(5, 0.1)])
    std = datasets.Standardizer().fit(X)
    np.testing.assert_array_equal(std.scale_[1:], [1.0, 1.0])  # also 0.1, whose mean is not exactly 0.1
    np.testing.assert_allclose(std.transform(X)[:, 1:], 0, atol=1e-7)


def test_standardizer_errors():
    std = datasets.Standardizer()
    assert "not fitted" in repr(std)
    for call in (lambda: std.transform(np.ones((2, 3))), lambda: std.inverse_transform(np.ones((2, 3))),
                 lambda: std.apply_to(mlpcore.MLP([3, 2]))):
        with pytest.raises(ValueError, match="not fitted"):
            call()
    std.fit(np.ones((4, 3)))
    with pytest.raises(ValueError, match="X has 2 columns, the Standardizer was fitted on 3"):
        std.transform(np.ones((4, 2)))
    with pytest.raises(ValueError, match="the model has 2 inputs"):
        std.apply_to(mlpcore.MLP([2, 3]))
    with pytest.raises(ValueError, match="NaN"):
        datasets.Standardizer().fit([[1.0], [np.nan]])
    with pytest.raises(ValueError, match="2-D"):
        datasets.Standardizer().fit(np.ones(3))
    with pytest.raises(ValueError, match="real numbers"):
        datasets.Standardizer().fit([["a"]])


def test_standardizer_apply_to_net_standardizes_raw_inputs(tmp_path):
    X = raw_data(300)
    std = datasets.Standardizer().fit(X)
    net = mlpcore.MLP([3, 16, 4], seed=1)
    assert std.apply_to(net) is net
    mean, scale = net.input_scaling
    np.testing.assert_allclose(mean, std.mean_)
    np.testing.assert_allclose(scale, std.scale_)
    plain = net.copy()
    plain.set_input_scaling(None, None)
    assert plain.input_scaling is None
    Z = std.transform(X)
    np.testing.assert_allclose(net.forward(X), plain.forward(Z), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(net.predict(X), plain.predict(Z))
    assert not np.array_equal(plain.predict(X), plain.predict(Z))  # the scaling matters here
    net.save(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(mlpcore.load(tmp_path / "m.safetensors").predict(X), net.predict(X))


# -- one-hot ------------------------------------------------------------------------------------------
def test_one_hot():
    out = datasets.one_hot([2, 0, 1, 2])
    assert out.dtype == np.float32 and out.shape == (4, 3) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, np.eye(3)[[2, 0, 1, 2]])
    np.testing.assert_array_equal(datasets.one_hot(np.array([1.0, 0.0]), 4, dtype=np.float64),
                                  [[0, 1, 0, 0], [1, 0, 0, 0]])
    assert datasets.one_hot(np.array([], dtype=np.int64), 3).shape == (0, 3)
    with pytest.raises(ValueError, match="negative"):
        datasets.one_hot([0, -1])
    with pytest.raises(ValueError, match=r"label 3 is out of range \[0, 3\)"):
        datasets.one_hot([0, 3], n_classes=3)
    with pytest.raises(ValueError, match="whole-number"):
        datasets.one_hot([0.5])
    with pytest.raises(ValueError, match="1-D"):
        datasets.one_hot([[0, 1]])
    with pytest.raises(ValueError, match="integer class labels"):
        datasets.one_hot(["a"])
    with pytest.raises(ValueError, match="n_classes is required"):
        datasets.one_hot([])
    with pytest.raises(ValueError, match="n_classes"):
        datasets.one_hot([0], n_classes=0)
