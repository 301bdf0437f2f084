"""The tree keeps its design: imports point one way, every fact is written once.

Read statically from the source tree: the import graph of python/mlpcore (every import statement,
also those inside functions), where the version is written, which headers are public.
"""
from __future__ import annotations

import ast
import importlib.metadata
import pathlib
import re

import mlpcore

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "python" / "mlpcore"


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: pathlib.Path, name: str) -> set:
    """The mlpcore modules `path` imports, anywhere in the file."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "mlpcore"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "mlpcore":
                continue
            found.add(target)
            # `from . import x` names submodules too
            for a in node.names:
                if f"{target}.{a.name}" in MODULES:
                    found.add(f"{target}.{a.name}")
    return found


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _graph() -> dict:
    graph = {}
    for name, path in MODULES.items():
        deps = set()
        for target in _imports(path, name):
            # importing a.b.c runs a and a.b too, but a package importing its own submodule is
            # the normal way down; record the most specific module that exists.
            while target not in MODULES and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in MODULES and target != name:
                deps.add(target)
        graph[name] = deps
    return graph


def _cycles(graph) -> list:
    """Cycles among modules, ignoring edges from a package to its own submodules (the way down)."""
    def edges(m):
        return {d for d in graph[m] if not d.startswith(m + ".")}

    found, state, stack = [], {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(edges(m)):
            if state.get(d) == 1:
                found.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    return found


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    assert "mlpcore.torch" in graph and "mlpcore.model" in graph
    assert _cycles(graph) == []


def test_nothing_in_the_package_imports_the_benchmarks_folder():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert "benchmarks" not in re.findall(r"^\s*(?:import|from)\s+(\S+)", text, re.MULTILINE), path
        assert "sys.path.insert" not in text, path


def test_the_version_is_written_once():
    assert mlpcore.__version__ == importlib.metadata.version("mlpcore") == mlpcore.build_info()["version"]
    literal = re.compile(r"""["']\d+\.\d+\.\d+["']""")
    holders = [p.relative_to(ROOT).as_posix() for p in [*PACKAGE.rglob("*.py"), ROOT / "CMakeLists.txt",
                                                         ROOT / "pyproject.toml", ROOT / "cpp" / "CMakeLists.txt"]
               if re.search(r"__version__\s*=\s*" + literal.pattern, p.read_text())
               or re.search(r"^version\s*=", p.read_text(), re.MULTILINE)
               or re.search(r"project\(mlpcore VERSION \d", p.read_text())]
    assert holders == ["python/mlpcore/_version.py"]


def test_internal_headers_are_not_installed():
    public = {p.name for p in (ROOT / "cpp" / "include" / "mlpcore").glob("*.hpp")}
    assert "json.hpp" not in public
    umbrella = (ROOT / "cpp" / "include" / "mlpcore" / "mlpcore.hpp").read_text()
    for header in public - {"mlpcore.hpp"}:
        assert f"#include \"{header}\"" in umbrella, f"{header} is public but not in the umbrella header"


def test_the_cpu_probe_checks_every_feature_the_engines_are_built_with():
    cmake = (ROOT / "cpp" / "CMakeLists.txt").read_text()
    flags = dict(re.findall(r"set\(MLPCORE_ISA_FLAGS_(\w+) ([^)]*?) CACHE", cmake, re.DOTALL))
    assert set(flags) == {"avx2", "avx512"}
    assert "-mf16c" in flags["avx2"].split()
    # cpu.cpp checks the generated macros and names no feature of its own.
    probe = (ROOT / "python" / "bindings" / "cpu.cpp").read_text()
    assert "MLPCORE_CPU_RUNS_avx2" in probe and "MLPCORE_CPU_RUNS_avx512" in probe
    assert "__builtin_cpu_supports(\"" not in probe
