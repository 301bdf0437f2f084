"""Session fixtures shared by several test files."""
from __future__ import annotations

import pytest

from cmake_support import CppBuild, build_cpp_tree


@pytest.fixture(scope="session")
def cpp_build(tmp_path_factory: pytest.TempPathFactory) -> CppBuild:
    """One plain CMake build of the repository (C++ core and C++ tests, no Python module) per
    session: test_cpp.py runs its tests, test_embed.py installs it and builds the example."""
    return build_cpp_tree(tmp_path_factory.mktemp("cpp") / "build")


@pytest.fixture(scope="module")
def torch_one_thread():
    """PyTorch on one thread for a module's tests: their tensors are small, and torch's own pool
    would only spin against the engine's OpenMP threads."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _engine_threads(n):
    import mlpcore

    before = mlpcore.get_num_threads()
    mlpcore.set_num_threads(n)
    yield
    mlpcore.set_num_threads(before)


@pytest.fixture
def engine_one_thread():
    """The engine on one thread for a test: small nets run fastest so, and the timing of a
    shared machine stays out of it."""
    yield from _engine_threads(1)


@pytest.fixture
def engine_two_threads():
    """The engine on two threads for a test (thread-count behaviour)."""
    yield from _engine_threads(2)
