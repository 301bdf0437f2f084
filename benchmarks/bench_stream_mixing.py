"""Mixing quality of streamed training: scikit-learn's digits (1797 images) stored sorted by class
(the worst order for a stream), streamed in chunks with several shuffle-buffer (window) sizes, against
a fully shuffled in-memory run on the same rows. Test accuracy on a held-out stratified 30%, mean and
standard deviation over 5 seeds. About a minute; not a test.

    python benchmarks/bench_stream_mixing.py
"""
import numpy as np

import mlpcore
from mlpcore import datasets

X, y = datasets.load_digits(scale=True)
X_tr, X_te, y_tr, y_te = datasets.train_test_split(X, y, test_size=0.3, seed=0, stratify=True)
order = np.argsort(y_tr, kind="stable")
X_s, y_s = X_tr[order], y_tr[order]


def run(data, target=None, **kw):
    accs = []
    for seed in range(5):
        net = mlpcore.MLP([64, 64, 10], seed=seed)
        mlpcore.Trainer(net, mlpcore.Adam(lr=3e-3), batch_size=32, epochs=30, progress=False, seed=seed).fit(data, target, **kw)
        accs.append(np.mean(net.predict(X_te) == y_te))
    return np.mean(accs), np.std(accs)


print("in memory, fully shuffled      %.4f +- %.4f" % run(X_tr, y_tr))
for chunk, window in [(50, 50), (50, 200), (50, 400), (100, 1000)]:
    chunks = [(X_s[i:i + chunk], y_s[i:i + chunk]) for i in range(0, len(X_s), chunk)]
    print(f"stream sorted, chunk {chunk:4d}, window {window:4d}  %.4f +- %.4f" % run(chunks, shuffle_buffer=window))
