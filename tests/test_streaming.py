"""Streaming training against in-memory training on the same data: one window equals memory bit for bit
(shuffled or not), unshuffled streams equal memory for any chunking, the streamed standardizer equals
NumPy's to float64 rounding; bounded memory, Ctrl-C, non-finite losses and validation."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mlpcore
from mlpcore import datasets
from mlpcore.datasets._streaming import CsvSource, NpySource, ParquetSource
from mlpcore.train import NonFiniteLossError


def data(n=2000, seed=1):
    X, y = datasets.blobs(n=n, centers=4, n_features=6, seed=seed, cluster_std=3.0)
    perm = np.random.default_rng(seed).permutation(n)
    return X[perm], y[perm]


def fit(X, y=None, epochs=4, shuffle=True, validation_split=0.0, **kw):
    net = mlpcore.MLP([6, 32, 4], seed=0)
    trainer = mlpcore.Trainer(net, mlpcore.Adam(lr=0.01), batch_size=64, epochs=epochs, shuffle=shuffle,
                              progress=False, seed=3, validation_split=validation_split)
    history = trainer.fit(X, y, **kw)
    return net, history


def write_parquet(path, X, y, row_group_size):
    cols = {f"f{j}": X[:, j] for j in range(X.shape[1])}
    cols["label"] = y
    pq.write_table(pa.table(cols), path, row_group_size=row_group_size)
    return path


@pytest.mark.parametrize("shuffle", [False, True])
def test_one_window_equals_in_memory(shuffle):
    X, y = data()
    ref, h_ref = fit(X, y, shuffle=shuffle)
    net, h = fit([(X, y)], shuffle=shuffle)
    np.testing.assert_array_equal(net.parameters, ref.parameters)
    assert h.loss == h_ref.loss


def test_unshuffled_stream_equals_in_memory_for_any_chunking(tmp_path):
    X, y = data()
    ref, _ = fit(X, y, shuffle=False)
    chunks = [(X[i:i + 170], y[i:i + 170]) for i in range(0, len(X), 170)]  # not whole batches
    net, _ = fit(chunks, shuffle=False, shuffle_buffer=300)
    np.testing.assert_array_equal(net.parameters, ref.parameters)
    path = write_parquet(tmp_path / "d.parquet", X, y, row_group_size=333)
    net, _ = fit(str(path), "label", shuffle=False, shuffle_buffer=500)
    np.testing.assert_array_equal(net.parameters, ref.parameters)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    net, _ = fit(NpySource(tmp_path / "X.npy", tmp_path / "y.npy", chunk_rows=256), shuffle=False,
                 shuffle_buffer=640)
    np.testing.assert_array_equal(net.parameters, ref.parameters)
    folder = tmp_path / "parts"
    folder.mkdir()
    for k, start in enumerate(range(0, len(X), 700)):  # a folder of files, read in name order
        write_parquet(folder / f"part-{k}.parquet", X[start:start + 700], y[start:start + 700], 256)
    net, _ = fit(str(folder), "label", shuffle=False, shuffle_buffer=384)
    np.testing.assert_array_equal(net.parameters, ref.parameters)


def test_csv_stream_and_generators(tmp_path):
    X, y = data(3000)
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", fmt="%.9g", header="a,b,c,d,e,f,label", comments="")
    X_csv, y_csv, _ = datasets.read_csv(path)
    ref, _ = fit(X_csv, y_csv, shuffle=False)
    source = CsvSource(path, "label", block_bytes=1 << 16)
    assert len(source) > 1
    net, _ = fit(source, shuffle=False, shuffle_buffer=128)
    np.testing.assert_array_equal(net.parameters, ref.parameters)
    net, h = fit(lambda: ((X[i:i + 500], y[i:i + 500]) for i in range(0, 3000, 500)), epochs=3)
    assert len(h) == 3 and h.loss[-1] < h.loss[0]


def test_shuffled_stream_learns_as_well_as_memory(tmp_path):
    """Rows sorted by class (the worst case for a stream); chunks of 200 rows, windows of 800: the
    chunk order and the window shuffle still reach the in-memory accuracy on held-out data."""
    X, y = data(6000, seed=4)
    order = np.argsort(y, kind="stable")
    X_tr, y_tr, X_te, y_te = X[order][:5000], y[order][:5000], X[4000:][::-1], y[4000:][::-1]
    ref, _ = fit(X_tr, y_tr, epochs=8)
    chunks = [(X_tr[i:i + 200], y_tr[i:i + 200]) for i in range(0, 5000, 200)]
    net, _ = fit(chunks, epochs=8, shuffle_buffer=800)
    acc_ref = np.mean(ref.predict(X_te) == y_te)
    acc = np.mean(net.predict(X_te) == y_te)
    assert acc >= acc_ref - 0.03, (acc, acc_ref)


def test_streamed_standardizer_equals_in_memory(tmp_path):
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((5003, 5)) * [1e3, 1.0, 1e-3, 0.0, 5.0] + [1e6, -2.0, 0.5, 7.0, 0.0]).astype(np.float32)
    ref = datasets.Standardizer().fit(X)
    sizes = [1, 999, 2, 4001]
    parts = np.split(X, np.cumsum(sizes)[:-1])
    std = datasets.Standardizer().fit_stream(parts)
    np.testing.assert_allclose(std.mean_, ref.mean_, rtol=1e-13, atol=0)
    np.testing.assert_allclose(std.scale_, ref.scale_, rtol=1e-12)
    assert std.scale_[3] == 1.0  # the constant column
    path = write_parquet(tmp_path / "s.parquet", X, np.zeros(len(X), dtype=np.int64), row_group_size=700)
    std = datasets.Standardizer().fit_stream(ParquetSource(path, "label", dtype="float64"))
    np.testing.assert_allclose(std.mean_, ref.mean_, rtol=1e-13)
    np.testing.assert_allclose(std.scale_, ref.scale_, rtol=1e-12)


def test_validation_from_held_out_chunks_or_a_second_source(tmp_path):
    X, y = data(3000)
    chunks = [(X[i:i + 300], y[i:i + 300]) for i in range(0, 3000, 300)]
    net, h = fit(chunks, validation_split=0.2, epochs=3)
    assert all(np.isfinite(h.val_loss)) and 0.5 < h.val_metric[-1] <= 1.0
    trainer = mlpcore.Trainer(net, mlpcore.Adam(), epochs=1, progress=False)
    held = [chunks[i] for i in sorted(np.random.default_rng(3).permutation(10)[:2])]
    Xv, yv = np.concatenate([c[0] for c in held]), np.concatenate([c[1] for c in held])
    np.testing.assert_allclose(h.val_metric[-1], trainer.evaluate(Xv, yv)["accuracy"])
    path = write_parquet(tmp_path / "v.parquet", Xv, yv, row_group_size=128)
    net2 = mlpcore.MLP([6, 32, 4], seed=0)
    h2 = mlpcore.Trainer(net2, mlpcore.Adam(lr=0.01), epochs=2, progress=False,
                         validation_data=str(path)).fit(chunks[:8])
    np.testing.assert_allclose(h2.val_loss[-1], mlpcore.Trainer(net2, mlpcore.Adam(), progress=False)
                               .evaluate(Xv, yv)["loss"], rtol=1e-5)
    with pytest.raises(ValueError, match="known number of chunks"):
        fit(iter(chunks), validation_split=0.2)


def test_non_finite_loss_in_a_stream_keeps_the_last_good_weights():
    X, y = data(1000)
    net = mlpcore.MLP([6, 32, 4], seed=0)
    trainer = mlpcore.Trainer(net, mlpcore.SGD(lr=1e30), epochs=3, progress=False, batch_size=50)
    start = net.parameters.copy()
    with pytest.raises(NonFiniteLossError, match="epoch 1, batch") as excinfo:
        trainer.fit([(X[i:i + 200], y[i:i + 200]) for i in range(0, 1000, 200)], shuffle_buffer=200)
    assert excinfo.value.epoch == 1
    np.testing.assert_array_equal(net.parameters, start)


def test_stream_errors_name_the_place(tmp_path):
    X, y = data(100)
    X[57, 2] = np.nan
    path = write_parquet(tmp_path / "bad.parquet", X, y, row_group_size=20)
    with pytest.raises(ValueError, match=r"bad\.parquet, row 58, column 'f2' \(column 3\): nan is not a finite"):
        fit(str(path), "label")
    with pytest.raises(ValueError, match="the model expects 6"):
        fit([(X[:, :3], y)])
    with pytest.raises(ValueError, match="no targets"):
        fit([(X, None)])
    folder = tmp_path / "parts"
    folder.mkdir()
    write_parquet(folder / "a.parquet", X[:50], y[:50], 25)
    write_parquet(folder / "b.parquet", X[50:], y[50:].astype(str), 25)
    with pytest.raises(ValueError, match="mixed types across files"):
        ParquetSource(folder, "label")


def run(script, timeout=120):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=timeout)


def test_streaming_memory_is_bounded_by_the_window_not_the_file(tmp_path):
    """A 160 MB Parquet file (51k rows of 784 float32) trained for one epoch in a subprocess: the peak
    RSS grows by less than half the file's data over the imports."""
    path = tmp_path / "big.parquet"
    out = run(f"""
        import numpy as np, pyarrow as pa, pyarrow.parquet as pq
        rng = np.random.default_rng(0)
        schema = pa.schema([(f"p{{j}}", pa.float32()) for j in range(784)] + [("label", pa.int64())])
        with pq.ParquetWriter(r"{path}", schema, compression="none") as w:
            for _ in range(50):
                X = rng.random((1024, 784), dtype=np.float32)
                cols = [pa.array(X[:, j]) for j in range(784)] + [pa.array(rng.integers(0, 10, 1024))]
                w.write_table(pa.Table.from_arrays(cols, schema=schema))
    """)
    assert out.returncode == 0, out.stderr
    out = run(f"""
        import resource, mlpcore, numpy as np, pyarrow.parquet, pyarrow.compute
        from mlpcore.datasets._streaming import ParquetSource
        rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        source = ParquetSource(r"{path}", "label")
        net = mlpcore.MLP([784, 16, 10], seed=0)
        net.predict(np.zeros((1, 784), np.float32))
        base = rss()
        h = mlpcore.Trainer(net, mlpcore.Adam(), epochs=1, progress=False).fit(source, buffer_bytes=8 << 20)
        print(base, rss(), source.num_rows, h.loss[0])
    """)
    assert out.returncode == 0, out.stderr
    base, peak, rows, loss = out.stdout.splitlines()[-1].split()
    data_bytes = int(rows) * 784 * 4
    assert int(rows) == 51200 and np.isfinite(float(loss))
    assert int(peak) - int(base) < data_bytes / 2, (int(peak) - int(base)) / 2**20


def test_ctrl_c_during_a_streamed_epoch(tmp_path):
    out = run("""
        import os, signal, threading, numpy as np, mlpcore
        rng = np.random.default_rng(0)
        def chunks():
            for i in range(400):
                yield rng.normal(size=(500, 32)).astype(np.float32), rng.integers(0, 4, 500)
        net = mlpcore.MLP([32, 256, 256, 4], seed=0)
        threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        tr = mlpcore.Trainer(net, mlpcore.Adam(), batch_size=64, epochs=1000, progress=False)
        h = tr.fit(chunks, shuffle_buffer=2000)
        import threading as th
        print("interrupted", h.interrupted, len(h), np.isfinite(net.parameters).all(), th.active_count())
    """)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    flag, epochs, finite, threads = out.stdout.splitlines()[-1].split()[1:]
    assert flag == "True" and int(epochs) < 1000 and finite == "True"
    assert int(threads) == 1  # the reader thread was stopped and joined


def test_cli_trains_streamed_and_predicts_to_parquet_and_csv(tmp_path):
    X, y = data(4000)
    labels = np.array(["a", "b", "c", "d"])[y]
    cols = {f"f{j}": X[:, j] for j in range(6)}
    cols["label"] = labels
    pq.write_table(pa.table(cols), tmp_path / "d.parquet", row_group_size=500)
    cli = [sys.executable, "-m", "mlpcore"]
    out = subprocess.run([*cli, "train", "--data", "d.parquet", "--target", "label", "--stream", "yes", "--epochs", "3",
                          "--data.standardize", "true", "--out", "run", "--json", "--output.plots", "false"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    metrics = json.loads(out.stdout.splitlines()[-1])
    assert metrics["streamed"] and metrics["epochs"] == 3 and metrics["test"]["accuracy"] > 0.8
    net = mlpcore.load(tmp_path / "run" / "model.safetensors")
    assert net.input_scaling is not None and net.classes.tolist() == ["a", "b", "c", "d"]
    for name in ("p.parquet", "p.csv"):
        out = subprocess.run([*cli, "predict", "run/model.safetensors", "d.parquet", "--target", "label", "-o", name],
                             capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert out.returncode == 0, out.stderr
    got = pq.read_table(tmp_path / "p.parquet")
    assert got.column("prediction").to_pylist() == net.predict(X).tolist()
    np.testing.assert_allclose(got.column("p_b").to_numpy(), net.predict_proba(X)[:, 1], rtol=1e-6)
    assert datasets.read_csv(tmp_path / "p.csv", target="prediction")[1].tolist() == net.predict(X).tolist()
    assert not [p for p in os.listdir(tmp_path) if ".tmp" in p]  # atomic writes left nothing behind
