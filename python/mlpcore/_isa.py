"""Chooses the compiled engine for this CPU.

A build from source (the default, ``MLPCORE_NATIVE=ON``) has one engine, ``mlpcore._core``,
compiled for the host. A portable build (``MLPCORE_NATIVE=OFF``) has three: ``_core`` for any
x86-64 CPU, ``_core_avx2`` and ``_core_avx512``, plus ``_cpu`` to test the CPU. On import,
mlpcore loads the fastest engine this CPU runs, and only that one (two engines bind the same
C++ types and cannot share a process), as ``mlpcore._core``. The environment variable
``MLPCORE_ISA`` (``baseline``, ``avx2`` or ``avx512``) forces a choice.
"""
import importlib
import importlib.util
import os
import sys

_ORDER = ("avx512", "avx2")


def select_engine():
    """Import the engine to use; returns ``(module, name)``, name being ``native``,
    ``baseline``, ``avx2`` or ``avx512``."""
    package = sys.modules[__package__]
    forced = os.environ.get("MLPCORE_ISA", "").strip().lower()
    if forced not in ("", "auto", "baseline") + _ORDER:
        raise ImportError(f"MLPCORE_ISA must be baseline, avx2 or avx512, got {forced!r}")
    built = [isa for isa in _ORDER if importlib.util.find_spec(f"{__package__}._core_{isa}") is not None]
    if forced in _ORDER and forced not in built:
        raise ImportError(f"MLPCORE_ISA={forced}, but this build has no {forced} engine "
                          "(only portable builds, MLPCORE_NATIVE=OFF, have one)")
    chosen = None
    if built and forced != "baseline":
        from . import _cpu

        for isa in (forced,) if forced in _ORDER else built:
            if _cpu.supports(isa):
                chosen = isa
                break
            if forced:
                raise ImportError(f"MLPCORE_ISA={forced}, but this CPU does not support {forced}")
    if chosen is None:
        from . import _core

        return _core, ("native" if _core.build_info()["native"] else "baseline")
    module = importlib.import_module(f"{__package__}._core_{chosen}")
    sys.modules[f"{__package__}._core"] = module
    package._core = module
    return module, chosen
