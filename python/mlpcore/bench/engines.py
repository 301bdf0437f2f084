# SPDX-License-Identifier: MIT
"""The engines: the same net, data and settings on mlpcore, PyTorch eager and scikit-learn.

Every engine trains ReLU hidden layers with a softmax cross-entropy output, Adam (lr 1e-3, betas
(0.9, 0.999), eps 1e-8, no weight decay), float32 inputs, reshuffling every epoch.

Training over whole epochs (``fit``):

``mlpcore``           ``Trainer(net, Adam(1e-3), batch_size=B, epochs=E, progress=False).fit(X, y)``
``torch-loop``        a plain tensor loop: ``torch.randperm`` each epoch, ``index_select`` per batch,
                      ``zero_grad`` / forward / ``CrossEntropyLoss`` / ``backward`` / ``step``
``torch-dataloader``  the same step over ``DataLoader(TensorDataset(X, y), batch_size=B,
                      shuffle=True)``, the loop users usually write
``sklearn``           ``MLPClassifier(solver="adam", batch_size=B, learning_rate_init=1e-3,
                      max_iter=E, tol=0, n_iter_no_change=huge, alpha=0, shuffle=True)``

Mixed precision, on request (``--engines mlpcore-bf16 torch-autocast`` or ``--bf16``):

``mlpcore-bf16``      as ``mlpcore`` with ``MLP(..., precision="bf16")`` (skipped where
                      ``build_info()["bf16"]`` is None)
``torch-autocast``    ``torch-loop`` with the forward pass and the loss under
                      ``torch.autocast("cpu", dtype=torch.bfloat16)``; weights and Adam float32

One step (``step``) and prediction (``predict``) per library: ``net.train_step`` /
``net.predict``; a PyTorch step as above / ``model(X).argmax(1)`` under ``torch.inference_mode()``;
scikit-learn's ``partial_fit`` on exactly one batch (one Adam step plus its input checks) /
``clf.predict``.

mlpcore's nets start from ``init="xavier"``, U(±1/√fan_in), the distribution of PyTorch's default
``nn.Linear`` weights, so the accuracies compare like with like (scikit-learn keeps its own
Glorot-uniform start).
"""
from __future__ import annotations

import time
import warnings

import numpy as np

import mlpcore

LR = 1e-3
MLPCORE_INIT = "xavier"
TRAIN_ENGINES = ("mlpcore", "torch-loop", "torch-dataloader", "sklearn")
BF16_ENGINES = ("mlpcore-bf16", "torch-autocast")  # measured only when named
LIBRARIES = ("mlpcore", "torch", "sklearn")


class Engines:
    """The engines whose libraries import here, and their versions."""

    def __init__(self, torch_module, sklearn_module, wanted=None):
        self.torch = torch_module
        self.sklearn = sklearn_module
        if sklearn_module is not None:
            from sklearn.exceptions import ConvergenceWarning
            from sklearn.neural_network import MLPClassifier
            self._MLPClassifier, self._ConvergenceWarning = MLPClassifier, ConvergenceWarning
        self.versions = {"mlpcore": mlpcore.__version__,
                         "torch": getattr(torch_module, "__version__", None),
                         "sklearn": getattr(sklearn_module, "__version__", None)}
        self.skipped = {}
        names = []
        for name in TRAIN_ENGINES + BF16_ENGINES:
            lib = library_of(name)
            if name in BF16_ENGINES:
                if wanted is None or name not in wanted:
                    continue
            elif wanted is not None and name not in wanted and lib not in wanted:
                continue
            if self.versions[lib] is None:
                self.skipped[name] = f"{'PyTorch' if lib == 'torch' else 'scikit-learn'} is not installed"
                continue
            if name == "mlpcore-bf16" and mlpcore.build_info()["bf16"] is None:
                self.skipped[name] = mlpcore.model._core.bf16_unavailable_reason()
                continue
            names.append(name)
        self.train_names = names
        self.libraries = [lib for lib in LIBRARIES if any(library_of(n) == lib for n in names)]

    # -- whole epochs ----------------------------------------------------------------------------
    def fit(self, name, sizes, data, batch, epochs, seed):
        """Train a fresh model for `epochs` epochs; (seconds, test accuracy)."""
        return getattr(self, "_fit_" + name.replace("-", "_"))(sizes, data, batch, epochs, seed)

    def _fit_mlpcore(self, sizes, data, batch, epochs, seed, precision="float32"):
        X, y, Xt, yt = data
        net = mlpcore.MLP(list(sizes), activation="relu", init=MLPCORE_INIT, seed=seed, precision=precision)
        trainer = mlpcore.Trainer(net, mlpcore.Adam(LR), batch_size=batch, epochs=epochs, progress=False,
                                  seed=seed)
        t0 = time.perf_counter()
        trainer.fit(X, y)
        seconds = time.perf_counter() - t0
        return seconds, float((net.predict(Xt) == yt).mean())

    def _fit_mlpcore_bf16(self, sizes, data, batch, epochs, seed):
        return self._fit_mlpcore(sizes, data, batch, epochs, seed, precision="bf16")

    def _torch_model(self, sizes, seed):
        self.torch.manual_seed(seed)
        nn = self.torch.nn
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    def _torch_accuracy(self, model, Xt, yt, autocast=False):
        torch = self.torch
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            return float((model(torch.from_numpy(Xt)).argmax(1).numpy() == yt).mean())

    def _fit_torch_loop(self, sizes, data, batch, epochs, seed, autocast=False):
        torch = self.torch
        X, y, Xt, yt = data
        model = self._torch_model(sizes, seed)
        opt = torch.optim.Adam(model.parameters(), lr=LR)
        loss_fn = torch.nn.CrossEntropyLoss()
        t0 = time.perf_counter()
        Xg, yg = torch.from_numpy(X), torch.from_numpy(y)
        n = Xg.shape[0]
        for _ in range(epochs):
            perm = torch.randperm(n)
            for start in range(0, n, batch):
                idx = perm[start:start + batch]
                xb, yb = Xg.index_select(0, idx), yg.index_select(0, idx)
                opt.zero_grad()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                    loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
        seconds = time.perf_counter() - t0
        return seconds, self._torch_accuracy(model, Xt, yt, autocast)

    def _fit_torch_autocast(self, sizes, data, batch, epochs, seed):
        return self._fit_torch_loop(sizes, data, batch, epochs, seed, autocast=True)

    def _fit_torch_dataloader(self, sizes, data, batch, epochs, seed):
        torch = self.torch
        X, y, Xt, yt = data
        model = self._torch_model(sizes, seed)
        opt = torch.optim.Adam(model.parameters(), lr=LR)
        loss_fn = torch.nn.CrossEntropyLoss()
        t0 = time.perf_counter()
        dataset = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True)
        for _ in range(epochs):
            for xb, yb in loader:
                opt.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
        seconds = time.perf_counter() - t0
        return seconds, self._torch_accuracy(model, Xt, yt)

    def _sk_model(self, sizes, batch, epochs, seed):
        return self._MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), activation="relu", solver="adam",
                                   batch_size=batch, learning_rate_init=LR, max_iter=epochs, tol=0.0,
                                   n_iter_no_change=10**9, shuffle=True, alpha=0.0, random_state=seed)

    def _fit_sklearn(self, sizes, data, batch, epochs, seed):
        X, y, Xt, yt = data
        clf = self._sk_model(sizes, batch, epochs, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self._ConvergenceWarning)  # max_iter is reached on purpose
            t0 = time.perf_counter()
            clf.fit(X, y)
            seconds = time.perf_counter() - t0
        return seconds, float((clf.predict(Xt) == yt).mean())

    # -- one training step ------------------------------------------------------------------------
    def step(self, library, sizes, xs, ys, seed):
        """(run, steps per unit): run(k) does k units of training over the batch pool (xs, ys),
        cycling; a unit is one step, or one epoch over the pool for ``mlpcore-epoch``."""
        pool = len(xs)
        state = [0]
        if library.startswith("mlpcore"):
            net = mlpcore.MLP(list(sizes), activation="relu", init=MLPCORE_INIT, seed=seed)
            opt = mlpcore.Adam(LR)
            ys32 = [np.ascontiguousarray(y, dtype=np.int32) for y in ys]
            if library == "mlpcore-core":
                return self._step_core(net, opt, xs, ys32), 1
            if library == "mlpcore-epoch":
                return self._step_epoch(net, opt, xs, ys32, seed)

            def run(k):
                i = state[0]
                for _ in range(k):
                    net.train_step(xs[i], ys32[i], opt)
                    i = (i + 1) % pool
                state[0] = i
            return run, 1
        if library == "torch":
            torch = self.torch
            model = self._torch_model(sizes, seed)
            opt = torch.optim.Adam(model.parameters(), lr=LR)
            loss_fn = torch.nn.CrossEntropyLoss()
            txs, tys = [torch.from_numpy(x) for x in xs], [torch.from_numpy(y) for y in ys]

            def run(k):
                i = state[0]
                for _ in range(k):
                    opt.zero_grad()
                    loss = loss_fn(model(txs[i]), tys[i])
                    loss.backward()
                    opt.step()
                    i = (i + 1) % pool
                state[0] = i
            return run, 1
        clf = self._sk_model(sizes, xs[0].shape[0], 1, seed)
        classes = np.arange(sizes[-1])
        clf.partial_fit(xs[0], ys[0], classes=classes)

        def run(k):
            i = state[0]
            for _ in range(k):
                clf.partial_fit(xs[i], ys[i])
                i = (i + 1) % pool
            state[0] = i
        return run, 1

    # The boundary diagnostics (private engine calls, which may change with the engine): the raw
    # extension call without the Python layer's checks, and the C++ epoch loop per step. Their gaps
    # to ``mlpcore`` are the cost of the Python layer and of crossing into the engine per step.
    @staticmethod
    def _step_core(net, opt, xs, ys32):
        # The one place outside model.py that calls the extension object itself: this row exists to
        # measure the raw call, so the gap to net.train_step is the Python layer's cost.
        from mlpcore.model import LOSSES

        loss, engine, adam, pool, state = LOSSES["cross_entropy"], net._net, opt._engine("float32"), len(xs), [0]

        def run(k):
            i, step = state[0], engine.train_step
            for _ in range(k):
                step(xs[i], ys32[i], None, loss, adam)
                i = (i + 1) % pool
            state[0] = i
        return run

    @staticmethod
    def _step_epoch(net, opt, xs, ys32, seed):
        batch = xs[0].shape[0]
        copies = -(-16 // len(xs))  # at least 16 batches per epoch
        X = np.ascontiguousarray(np.concatenate(xs * copies))
        y = np.ascontiguousarray(np.concatenate(ys32 * copies))
        state = [0]

        def run(k):
            for _ in range(k):
                net.train_epoch(X, y, None, opt, loss="cross_entropy", batch_size=batch, shuffle=True, seed=seed,
                                epoch=state[0])
                state[0] += 1
        return run, len(xs) * copies

    # -- prediction ------------------------------------------------------------------------------
    def predict(self, library, sizes, X, seed):
        """A closure run(k) predicting labels for the rows of X k times."""
        if library == "mlpcore":
            net = mlpcore.MLP(list(sizes), activation="relu", init=MLPCORE_INIT, seed=seed)

            def run(k):
                for _ in range(k):
                    net.predict(X)
            return run
        if library == "torch":
            torch = self.torch
            model = self._torch_model(sizes, seed)
            tx = torch.from_numpy(X)

            def run(k):
                with torch.inference_mode():
                    for _ in range(k):
                        model(tx).argmax(1)
            return run
        # scikit-learn predicts only after a fit: one short partial_fit on random rows.
        rng = np.random.default_rng(seed)
        clf = self._sk_model(sizes, 32, 1, seed)
        clf.partial_fit(rng.standard_normal((32, sizes[0]), dtype=np.float32),
                        np.arange(32) % sizes[-1], classes=np.arange(sizes[-1]))

        def run(k):
            for _ in range(k):
                clf.predict(X)
        return run


def library_of(engine: str) -> str:
    return engine.split("-")[0]
