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
    # Old names kept as one-line forwarding headers, so existing programs still compile.
    deprecated = {"trainer.hpp": "epoch.hpp"}
    for old, new in deprecated.items():
        assert f'#include "{new}"' in (ROOT / "cpp" / "include" / "mlpcore" / old).read_text()
    for header in public - {"mlpcore.hpp", *deprecated}:
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


# -- one source for every rule: the engine's names and defaults, the config's from the objects -----
def test_python_defaults_are_the_engines():
    import inspect

    from mlpcore import _core

    engine = _core.defaults()
    for cls, kind in ((mlpcore.SGD, "sgd"), (mlpcore.Adam, "adam")):
        params = inspect.signature(cls).parameters
        for name, value in engine[kind].items():
            assert params[name].default == value, (cls.__name__, name)
    params = inspect.signature(mlpcore.MLP).parameters
    for name, value in engine["mlp"].items():
        assert params[name].default == value, name


def test_names_come_from_the_engine():
    from mlpcore import _core, model

    choices = _core.choices()
    assert list(model.ACTIVATIONS) == choices["activation"] and list(model.INITS) == choices["init"]
    assert list(model.OUTPUTS) == choices["output"] and list(model.LOSSES) == choices["loss"]
    assert model.LOSS_FOR_OUTPUT == choices["loss_for_output"]


def test_config_defaults_are_the_constructors():
    from mlpcore.config import RunConfig, build_early_stopping, build_model, build_optimizer, build_trainer, from_dict

    cfg = from_dict({"training": {"early_stopping": True, "validation_split": 0.1}})
    net, plain_net = build_model(cfg.model, [2, 128, 4]), mlpcore.MLP([2, 128, 4])
    assert repr(net) == repr(plain_net)
    np_equal = (net.parameters == plain_net.parameters).all()
    assert np_equal
    assert repr(build_optimizer(RunConfig().optimizer)) == repr(mlpcore.Adam())
    assert repr(build_optimizer(from_dict({"optimizer": {"name": "sgd", "lr": 0.01}}).optimizer)) == repr(mlpcore.SGD())
    assert repr(build_optimizer(from_dict({"optimizer": {"name": "adamw", "weight_decay": 0.01}}).optimizer)) \
        == repr(mlpcore.AdamW())
    assert repr(build_early_stopping(cfg.training)) == repr(mlpcore.EarlyStopping())
    trainer, plain = build_trainer(RunConfig(), net, mlpcore.Adam()), mlpcore.Trainer(net, mlpcore.Adam())
    for name in ("batch_size", "epochs", "shuffle", "seed", "validation_split"):
        assert getattr(trainer, name) == getattr(plain, name), name


def _accepts(build):
    try:
        build()
    except (ValueError, TypeError):
        return False
    return True


def test_every_value_the_config_accepts_the_objects_accept_and_back():
    from mlpcore.config import ConfigError, from_dict
    from mlpcore.train import _MONITORS, _SCHEDULES

    probes = {
        ("model", "activation"): (lambda v: mlpcore.MLP([2, 3, 2], activation=v), ["relu", "maxout", "swish", "ReLU"]),
        ("model", "init"): (lambda v: mlpcore.MLP([2, 2], init=v), ["he", "random", "lecun"]),
        ("model", "leaky_relu_slope"): (lambda v: mlpcore.MLP([2, 2], leaky_relu_slope=v), [0.0, 0.5, 0.999, 1.0]),
        ("model", "elu_alpha"): (lambda v: mlpcore.MLP([2, 2], elu_alpha=v), [0.0, 1e-9, 3.0]),
        ("model", "maxout_pieces"): (lambda v: mlpcore.MLP([2, 2], maxout_pieces=v), [1, 2, 64, 65]),
        ("model", "init_scale"): (lambda v: mlpcore.MLP([2, 2], init_scale=v), [0.0, 0.5, -1.0]),
        ("optimizer", "lr"): (lambda v: mlpcore.Adam(lr=v), [0.0, 1e-3, -1e-9]),
        ("optimizer", "beta1"): (lambda v: mlpcore.Adam(betas=(v, 0.999)), [0.0, 0.99, 1.0, -0.1]),
        ("optimizer", "eps"): (lambda v: mlpcore.Adam(eps=v), [0.0, 1e-12, -1.0]),
        ("optimizer", "momentum"): (lambda v: mlpcore.SGD(momentum=v), [0.0, 0.9, 1.0]),
        ("optimizer", "weight_decay"): (lambda v: mlpcore.SGD(weight_decay=v), [0.0, 1.0, -0.5]),
        ("training", "epochs"): (lambda v: mlpcore.Trainer(mlpcore.MLP([2, 2]), mlpcore.SGD(), epochs=v),
                                 [0, 1, -1]),
        ("training", "batch_size"): (lambda v: mlpcore.Trainer(mlpcore.MLP([2, 2]), mlpcore.SGD(), batch_size=v),
                                     [0, 1, 4096]),
        ("training", "monitor"): (lambda v: mlpcore.EarlyStopping(monitor=v), [*_MONITORS, "val_f1"]),
        ("training", "lr_schedule"): (lambda v: mlpcore.Trainer(mlpcore.MLP([2, 2]), mlpcore.SGD(), lr_schedule=v),
                                      [*_SCHEDULES, "linear"]),
        ("training", "plateau_factor"): (lambda v: mlpcore.ReduceLROnPlateau(factor=v), [0.0, 0.5, 1.0]),
    }
    for (section, key), (build, values) in probes.items():
        for value in values:
            config_ok = _accepts(lambda: from_dict({section: {key: value}}))
            if not config_ok:
                try:
                    from_dict({section: {key: value}})
                except ConfigError as e:
                    assert f"{section}.{key}" in str(e), str(e)
            assert config_ok == _accepts(lambda: build(value)), (section, key, value)
