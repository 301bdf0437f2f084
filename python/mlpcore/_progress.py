"""Progress bars (tqdm): per epoch for in-memory training, per row within the epoch for streamed
training. Touched at most every `interval` seconds so short epochs pay little for them."""
from __future__ import annotations

import math
import time


_SHORT = {"accuracy": "acc", "r2": "r2", "deviance": "dev"}


def postfix(logs, key) -> dict:
    """The live numbers a bar shows after an epoch: loss, accuracy (R², Poisson deviance), and
    validation."""
    short = _SHORT.get(key, key)
    out = {"loss": f"{logs['loss']:.4f}"}
    if not math.isnan(logs[f"train_{key}"]):
        out[short] = f"{logs[f'train_{key}']:.4f}"
    if not math.isnan(logs["val_loss"]):
        out["val_loss"] = f"{logs['val_loss']:.4f}"
        out["val_" + short] = f"{logs[f'val_{key}']:.4f}"
    return out


class EpochBar:
    """A tqdm bar that is touched at most every `interval` seconds (and at the end), so short
    epochs do not pay for formatting the live numbers every time."""

    def __init__(self, total: int, interval: float = 0.1):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, unit="epoch", desc="train", dynamic_ncols=True, leave=True)
        self._total, self._interval = total, interval
        self._done = self._pending = 0
        self._last = 0.0

    def advance(self, logs, key) -> None:
        self._pending += 1
        self._done += 1
        now = time.perf_counter()
        if now - self._last >= self._interval or self._done == self._total:
            self._bar.set_postfix(postfix(logs, key), refresh=False)
            self._bar.update(self._pending)
            self._pending, self._last = 0, now

    def close(self) -> None:
        if self._pending:
            self._bar.update(self._pending)
        self._bar.close()


class RowBar:
    """tqdm progress over rows within the epoch, with the epoch count and live numbers."""

    def __init__(self, epochs, rows_per_epoch):
        from tqdm.auto import tqdm

        self._epochs, self._done = epochs, 0
        self._bar = tqdm(total=rows_per_epoch, unit="row", unit_scale=True, desc=f"epoch 1/{epochs}",
                         dynamic_ncols=True, leave=True)

    def rows(self, n):
        self._bar.update(n)

    def epoch(self, logs, key, rows):
        self._done += 1
        self._bar.set_postfix(postfix(logs, key), refresh=False)
        if self._done < self._epochs:
            self._bar.reset(total=rows)
            self._bar.set_description(f"epoch {self._done + 1}/{self._epochs}")

    def close(self):
        self._bar.close()
