"""Data-parallel training over MPI processes (optional extra ``mpi``: mpi4py and MPICH).

Launch one process per rank, e.g. ``mpiexec -n 4 python train.py``. Every rank reads the same
data; ``batch_size`` is the *global* batch. Each rank trains on its part of every global batch,
the gradient sums are added up across ranks, and every rank applies the same update, so N
ranks train on exactly the batches one process would. MPI lives here only: the C++ engine runs
the epoch and calls back into this module's reducer once per step (and per layer, to start
each layer's reduction while backward is still working on the earlier layers).
"""
from __future__ import annotations

import signal
import sys
import threading

import numpy as np

from . import build_info, get_num_threads
from ._checks import check_number
from .train import NonFiniteLossError, Trainer

__all__ = ["DistributedTrainer", "on_rank0", "threads_per_rank", "world"]

_TOTALS = 5  # kStepTotals in cpp/include/mlpcore/epoch.hpp


def world():
    """``mpi4py.MPI.COMM_WORLD`` (imports mpi4py, which initialises MPI)."""
    try:
        from mpi4py import MPI
    except ImportError as e:  # pragma: no cover - depends on the installed extras
        raise ImportError("mlpcore.distributed needs mpi4py: pip install 'mlpcore[mpi]'") from e
    return MPI.COMM_WORLD


def threads_per_rank(comm) -> int:
    """The cores this process may use divided by the ranks on its node (at least 1): the thread
    count that keeps N ranks on one machine from oversubscribing it."""
    import os

    from mpi4py import MPI

    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return max(1, len(os.sched_getaffinity(0)) // local.Get_size())
    finally:
        local.Free()


def on_rank0(comm, fn):
    """fn() on rank 0 only (writing files, printing); every rank returns its result or raises
    its error, so no rank waits for one that failed. ``comm`` None runs fn() here."""
    if comm is None:
        return fn()
    result = error = None
    if comm.Get_rank() == 0:
        try:
            result = fn()
        except BaseException as e:  # re-raised here and reported to the other ranks
            error = e
    outcome = comm.bcast((result, None if error is None else f"{type(error).__name__}: {error}"), root=0)
    if error is not None:
        raise _AgreedError.mark(error)
    if outcome[1] is not None:
        raise _AgreedError.mark(RuntimeError(f"rank 0 failed: {outcome[1]}"))
    return outcome[0]


class _AgreedError:
    """Marks exceptions that every rank raises together (no rank is left in a collective)."""

    @staticmethod
    def mark(error):
        error._mlpcore_agreed = True
        return error

    @staticmethod
    def marked(error) -> bool:
        return getattr(error, "_mlpcore_agreed", False) or isinstance(error, NonFiniteLossError)


class _SumReducer:
    """Default reduction: MPI sums. With ``overlap`` each layer's slice of the gradient starts a
    non-blocking all-reduce as soon as backward has produced it; reduce() waits for them all."""

    def __init__(self, comm, grads, overlap):
        from mpi4py import MPI

        self._comm, self._grads, self._mpi = comm, grads, MPI
        self._requests = []
        if overlap:
            self.layer_ready = self._start  # the engine calls layer_ready only if it exists

    def _start(self, layer, offset, size):
        self._requests.append(self._comm.Iallreduce(self._mpi.IN_PLACE, self._grads[offset:offset + size],
                                                    op=self._mpi.SUM))

    def reduce(self, totals):
        if self._requests:
            self._mpi.Request.Waitall(self._requests)
            self._requests.clear()
        else:
            self._comm.Allreduce(self._mpi.IN_PLACE, self._grads, op=self._mpi.SUM)
        self._comm.Allreduce(self._mpi.IN_PLACE, totals, op=self._mpi.SUM)


class _OrderedReducer:
    """Deterministic reduction: gather every rank's sums and add them in rank order, elementwise,
    exactly as the engine's single-process reference adds its parts (MPI promises no order for
    an all-reduce)."""

    def __init__(self, comm, grads):
        self._comm, self._grads = comm, grads
        self._parts = np.empty((comm.Get_size(), grads.size), dtype=grads.dtype)
        self._totals = np.empty((comm.Get_size(), _TOTALS))

    def reduce(self, totals):
        self._comm.Allgather(self._grads, self._parts)
        self._comm.Allgather(totals, self._totals)
        np.copyto(self._grads, self._parts[0])
        totals[...] = self._totals[0]
        for r in range(1, len(self._parts)):
            np.add(self._grads, self._parts[r], out=self._grads)
            np.add(totals, self._totals[r], out=totals)


class DistributedTrainer(Trainer):
    """:class:`~mlpcore.Trainer` on several MPI processes; ``fit`` has the same signature and
    returns the same :class:`~mlpcore.History` on every rank.

    Parameters
    ----------
    net, optimizer, **kwargs
        As for :class:`~mlpcore.Trainer`. ``batch_size`` is the global batch; ``progress`` is
        honoured on rank 0 only.
    comm : mpi4py communicator, optional
        Defaults to ``MPI.COMM_WORLD``.
    deterministic : bool, default False
        Add the ranks' gradient sums in rank order (gather, then add) instead of MPI's
        all-reduce: the result is then bit-identical to ``simulate_ranks=size`` in one process
        with the same dtype, engine and thread count. Slower: each rank receives every rank's
        gradient.
    overlap : bool, default True
        Start each layer's all-reduce as soon as backward produced it (default mode only);
        False reduces the whole gradient in one call after backward.
    simulate_ranks : int, optional
        Run in this process, without MPI, as ``simulate_ranks`` ranks would in deterministic
        mode: each global batch is split into the same parts, whose gradient sums are added in
        part order. The reference that ``deterministic=True`` reproduces bit for bit.

    Notes
    -----
    Start-up compares every rank's engine, instruction sets, dtype, thread count, model shape
    and training settings and refuses a mismatch, naming the ranks; then rank 0's parameters
    and optimizer state are broadcast. Decisions are collective: a non-finite loss on one rank
    raises :class:`~mlpcore.NonFiniteLossError` on every rank, Ctrl-C or SIGTERM on any rank
    ends training on every rank after the current step (``history.interrupted``), early
    stopping and callbacks stop every rank if they stop one. Invalid data on any rank raises
    the same ``ValueError`` everywhere. An error that only one rank sees at another point
    aborts the MPI job (``comm.Abort``) rather than leave the others waiting.
    """

    def __init__(self, net, optimizer, *args, comm=None, deterministic=False, overlap=True, simulate_ranks=None,
                 **kwargs):
        super().__init__(net, optimizer, *args, **kwargs)
        self.deterministic = bool(deterministic)
        self.overlap = bool(overlap)
        if simulate_ranks is not None:
            if comm is not None:
                raise ValueError("pass either comm or simulate_ranks, not both")
            self.comm, self.rank = None, 0
            self.size = check_number(simulate_ranks, "simulate_ranks", low=1, integer=True)
        else:
            self.comm = world() if comm is None else comm
            self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self._reducer = None

    # -- agreement between ranks --------------------------------------------------------------
    def _allgather(self, value):
        return [value] if self.comm is None else self.comm.allgather(value)

    def _agreed(self, what, fn):
        """fn() on every rank; if it fails anywhere, every rank raises the same error."""
        error, result = None, None
        try:
            result = fn()
        except Exception as e:  # reported to all ranks below
            error = e
        reports = self._allgather(None if error is None else (type(error).__name__, str(error)))
        failed = [(r, rep) for r, rep in enumerate(reports) if rep is not None]
        if not failed:
            return result
        if self.comm is None:
            raise error
        kinds = {"ValueError": ValueError, "TypeError": TypeError}
        kind = kinds.get(failed[0][1][0], RuntimeError)
        ranks = ", ".join(str(r) for r, _ in failed)
        detail = "; ".join(f"rank {r}: {message}" for r, (_, message) in failed)
        raise _AgreedError.mark(kind(f"{what} failed on rank {ranks}: {detail}")) from error

    def _facts(self):
        info = build_info()
        net = self.net
        return {
            "engine": info["engine"], "isa": info["isa"], "mlpcore version": info["version"],
            "dtype": net.dtype.name, "threads": get_num_threads(), "sizes": net.sizes,
            "activations": net.activations, "output": net.output, "n_params": net.n_params,
            "weight_penalty": net.weight_penalty, "dropout": net.dropout, "loss": self.loss, "optimizer": repr(self.optimizer),
            "batch_size": self.batch_size, "shuffle": self.shuffle, "seed": self.seed, "epoch": self.epoch,
            "deterministic": self.deterministic,
        }

    def _check_ranks_agree(self):
        facts = self._allgather(self._facts())
        differ = []
        for key, ref in facts[0].items():
            values = [f[key] for f in facts]
            if any(v != ref for v in values):
                shown = ", ".join(f"rank {r}: {v!r}" for r, v in enumerate(values) if v != ref)
                differ.append(f"{key} (rank 0: {ref!r}; {shown})")
        if differ:
            raise _AgreedError.mark(ValueError("ranks do not match — " + "; ".join(differ)))

    def _broadcast_state(self):
        """Rank 0's parameters and optimizer state on every rank."""
        if self.comm is None or self.size == 1:
            return
        comm, dtype = self.comm, self.net.dtype.name
        comm.Bcast(self.net.parameters, root=0)
        # the dropout masks follow (seed, step): every rank draws rank 0's
        self.net.dropout_seed, self.net.dropout_step = comm.bcast(
            (self.net.dropout_seed, self.net.dropout_step) if self.rank == 0 else None, root=0)
        steps = comm.bcast(self.optimizer.steps if self.rank == 0 else None, root=0)
        if self.rank != 0:
            self.optimizer._restore(dtype, steps, self.net.n_params)
        for arr in self.optimizer._state_arrays(dtype) if steps else ():
            comm.Bcast(arr, root=0)

    # -- the Trainer seams --------------------------------------------------------------------
    def _prepare(self, X, y, sample_weight=None, learn_classes=False):
        return self._agreed("preparing the data", lambda: super(DistributedTrainer, self)._prepare(
            X, y, sample_weight, learn_classes=learn_classes))

    def _split(self, X, t, w):
        def split_and_check():
            parts = super(DistributedTrainer, self)._split(X, t, w)
            self.net._validate_epoch(parts[0], parts[1], parts[2], self.loss, self.batch_size)
            return parts
        return self._agreed("checking the training data", split_and_check)

    def _run_epoch(self, X, t, w, check_finite):
        if self._reducer is None and self.comm is not None:
            grads = self.net.gradients
            self._reducer = (_OrderedReducer(self.comm, grads) if self.deterministic
                             else _SumReducer(self.comm, grads, self.overlap))
        # _split checked the data on every rank already.
        return self.net._train_epoch_sharded(X, t, w, self.loss, self.optimizer, self.batch_size, self.shuffle,
                                             self.seed, self.epoch, self.rank, self.size, self._reducer,
                                             self._should_stop, False)

    def _agree_stop(self, stop):
        if self.comm is None:
            return stop
        votes = self.comm.allreduce(np.array([int(bool(stop)), int(self._stop_requested)]))
        # Every rank reports the interruption. A signal whose handler ran while this rank waited
        # in the all-reduce set the flag after the vote was cast: keep it (the next vote, or the
        # engine's stop vote within the next epoch, carries it to the others); overwriting it lost
        # Ctrl-C now and then.
        self._stop_requested = self._stop_requested or bool(votes[1])
        return bool(votes[0])

    def _progress_bar(self):
        return super()._progress_bar() if self.rank == 0 else None

    # -- fit ----------------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train as :meth:`Trainer.fit` does, on every rank together; see the class notes."""
        previous = self._install_sigterm()
        try:
            self._check_ranks_agree()
            self._broadcast_state()
            return super().fit(X, y, sample_weight)
        except BaseException as e:
            if self.comm is not None and self.size > 1 and not _AgreedError.marked(e):
                # Only this rank failed, the others may wait in a collective call for ever.
                print(f"mlpcore.distributed: rank {self.rank} failed alone ({type(e).__name__}: {e}); "
                      "aborting the MPI job", file=sys.stderr, flush=True)
                self.comm.Abort(1)
            raise
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def _install_sigterm(self):
        """SIGTERM (what schedulers and mpiexec send) stops training like a first Ctrl-C."""
        if threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum, frame):
            self._stop_requested = True

        try:
            return signal.signal(signal.SIGTERM, handler)
        except ValueError:
            return None

    # -- output -------------------------------------------------------------------------------
    def save(self, path) -> None:
        """Rank 0 writes the model (atomically, see :meth:`MLP.save`); every rank waits for it."""
        on_rank0(self.comm, lambda: self.net.save(path))
