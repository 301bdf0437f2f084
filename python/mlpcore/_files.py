"""Writing files safely: every writer in mlpcore goes through :func:`atomic_write`.

A file is written to a temporary sibling ``<name>.tmp-<pid>-<token>`` in the same folder,
flushed and fsync-ed, then renamed over ``<name>``: readers see the old file or the new one,
never a half-written one, and a failed write leaves the old file untouched. The temporary file
is removed on any exception (SIGTERM arrives as one, see ``mlpcore.train``). After a SIGKILL
nothing can clean up, so each write first removes the temporaries of earlier writers to the
same name whose process is gone. The C++ model writer uses the same naming
(``cpp/src/model_io.cpp``), so either side cleans up after the other.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil

_TMP = re.compile(r"\.tmp-(\d+)-[0-9A-Za-z]+$")


def pid_alive(pid: int) -> bool:
    """True if a process with this id exists (or may exist: we lack permission to ask)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    return True


def temp_name(path) -> str:
    """A fresh temporary sibling of ``path`` owned by this process."""
    return f"{os.fspath(path)}.tmp-{os.getpid()}-{secrets.token_hex(4)}"


def remove_stale_temps(path) -> list:
    """Remove ``<path>.tmp-<pid>-*`` files and folders left by writers that no longer run.

    Returns the removed paths. Temporaries of live processes (another save in progress) and
    anything not named by this scheme are never touched.
    """
    path = os.fspath(path)
    folder, base = os.path.split(os.path.abspath(path))
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if not name.startswith(base + ".tmp-"):
            continue
        m = _TMP.search(name[len(base):])
        if m is None or m.start() != 0 or pid_alive(int(m.group(1))):
            continue
        victim = os.path.join(folder, name)
        try:
            if os.path.isdir(victim) and not os.path.islink(victim):
                shutil.rmtree(victim)
            else:
                os.unlink(victim)
            removed.append(victim)
        except OSError:
            pass
    return removed


def fsync_dir(folder) -> None:
    """Make a rename inside ``folder`` durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(folder or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", *, encoding: str | None = "utf-8", newline: str | None = None):
    """Open a temporary sibling of ``path`` for writing; on success it replaces ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace. Its folder must exist.
    mode : {"w", "wb"}
    encoding, newline
        As for :func:`open` (text mode only).

    Yields
    ------
    file object
        Write to it inside the ``with`` block. On an exception the temporary file is removed,
        ``path`` is left as it was, and the exception propagates.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', got {mode!r}")
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", path)
    remove_stale_temps(path)
    tmp = temp_name(path)
    kwargs = {} if mode == "wb" else {"encoding": encoding, "newline": newline}
    f = open(tmp, mode.replace("w", "x"), **kwargs)  # exclusive: never reuse a name
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(os.path.dirname(path))


def write_text(path, text: str) -> None:
    """Atomically replace ``path`` by ``text`` (UTF-8)."""
    with atomic_write(path) as f:
        f.write(text)
