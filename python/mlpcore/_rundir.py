"""Run folders: where ``mlpcore train`` writes its outputs, and the only things it may replace.

A run folder holds a manifest, ``mlpcore-run.json``, listing each file the run wrote with its
size and SHA-256. mlpcore replaces or removes a file only when the manifest lists it and it is
unchanged since; every other file in the folder (data, notes, a file the user edited) is kept.
If a file the new run must write is in the way, the run is refused before training, naming
the files, unless ``overwrite`` is given, which replaces exactly those names and nothing else.

The outputs are first written to a staging folder (a sibling ``<dir>.tmp-<pid>-<id>`` when the
folder does not exist yet, else ``<dir>/.mlpcore-staging.tmp-<pid>-<id>``), then moved into
place file by file with atomic renames, the manifest last. A failure or a signal removes the
staging folder; one left by a killed process is removed by the next run into the same place.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil

from ._files import remove_stale_temps, temp_name, write_text

MANIFEST = "mlpcore-run.json"
_STAGING = ".mlpcore-staging"


class OutputInTheWay(ValueError):
    """Files mlpcore did not write (or that changed since) are where a run must write."""


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _describe(path) -> dict:
    return {"bytes": os.path.getsize(path), "sha256": _sha256(path)}


class RunDir:
    """The output folder of one run.

    Parameters
    ----------
    path : str
        The folder; it may exist (a previous run, or any folder) or not.
    overwrite : bool
        Replace files of the same names that mlpcore did not write (only those names).
    """

    def __init__(self, path, overwrite: bool = False):
        self.path = os.path.abspath(os.fspath(path))
        self.shown = os.fspath(path)
        self.overwrite = overwrite
        self._staging = None
        self._hashes = {}  # (path, size, mtime_ns) -> sha256: a run checks the folder up to 4 times

    # -- what is there ---------------------------------------------------------------------------
    def _previous(self) -> dict:
        """The files of the previous run that are still exactly as mlpcore wrote them."""
        try:
            with open(os.path.join(self.path, MANIFEST), encoding="utf-8") as f:
                files = json.load(f).get("files", {})
        except (OSError, ValueError, AttributeError):
            return {}
        ours = {}
        if not isinstance(files, dict):
            return ours
        for name, meta in files.items():
            # A manifest is a file like any other: never follow a name out of the folder.
            if not isinstance(name, str) or os.path.basename(name) != name or name in ("", ".", "..", MANIFEST):
                continue
            full = os.path.join(self.path, name)
            try:
                if (os.path.isfile(full) and not os.path.islink(full) and isinstance(meta, dict)
                        and os.path.getsize(full) == meta.get("bytes") and self._hash(full) == meta.get("sha256")):
                    ours[name] = meta
            except OSError:
                continue
        return ours

    def _hash(self, path) -> str:
        st = os.stat(path)
        key = (path, st.st_size, st.st_mtime_ns)
        if key not in self._hashes:
            self._hashes[key] = _sha256(path)
        return self._hashes[key]

    def check(self, names) -> None:
        """Refuse (OutputInTheWay) if writing ``names`` would replace a file mlpcore did not write.

        Call it before the work, so nothing is computed for a run that cannot be written.
        """
        if not os.path.exists(self.path):
            return
        if not os.path.isdir(self.path):
            raise OutputInTheWay(f"output folder {self.shown!r} exists and is a file, not a folder")
        ours = self._previous()
        blocking = sorted(n for n in set(names) if n not in ours and os.path.lexists(os.path.join(self.path, n)))
        if os.path.lexists(os.path.join(self.path, MANIFEST)) and not self._manifest_is_ours():
            blocking.append(MANIFEST)
        if blocking and not self.overwrite:
            raise OutputInTheWay(
                f"output folder {self.shown!r} holds {', '.join(blocking)}, which mlpcore did not write "
                "(or which changed since it did); mlpcore never replaces such files. Choose another --out, "
                "or pass --overwrite to replace just these (everything else in the folder is kept)")
        for n in blocking:
            if os.path.isdir(os.path.join(self.path, n)) and not os.path.islink(os.path.join(self.path, n)):
                raise OutputInTheWay(f"output folder {self.shown!r} has a folder named {n!r} where the run "
                                     "writes a file; move it or choose another --out")

    def _manifest_is_ours(self) -> bool:
        try:
            with open(os.path.join(self.path, MANIFEST), encoding="utf-8") as f:
                return json.load(f).get("format") == "mlpcore-run"
        except (OSError, ValueError, AttributeError):
            return False

    # -- writing ----------------------------------------------------------------------------------------
    def stage(self) -> str:
        """Create and return an empty staging folder for the run's files."""
        if os.path.isdir(self.path):
            anchor = os.path.join(self.path, _STAGING)
        else:
            anchor = self.path
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
        remove_stale_temps(anchor)
        self._staging = temp_name(anchor)
        os.mkdir(self._staging)
        return self._staging

    def discard(self) -> None:
        """Remove the staging folder (after a failure or a signal)."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None

    def publish(self, extra: dict | None = None) -> list:
        """Move the staged files into the folder, remove the previous run's files the new run did
        not write again (only those unchanged since), and write the manifest. Returns the names."""
        staging, self._staging = self._staging, None
        names = sorted(os.listdir(staging))
        files = {n: _describe(os.path.join(staging, n)) for n in names}
        manifest = json.dumps({"format": "mlpcore-run", "version": 1, "files": files, **(extra or {})}, indent=1)
        try:
            if not os.path.exists(self.path):
                write_text(os.path.join(staging, MANIFEST), manifest + "\n")
                os.replace(staging, self.path)  # a new folder appears whole
                return [*names, MANIFEST]
            self.check(names)  # the folder may have changed while the run trained
            previous = self._previous()
            for n in names:
                os.replace(os.path.join(staging, n), os.path.join(self.path, n))
            for n in previous:
                if n not in files:
                    try:
                        os.unlink(os.path.join(self.path, n))
                    except OSError:
                        pass
            write_text(os.path.join(self.path, MANIFEST), manifest + "\n")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return [*names, MANIFEST]
