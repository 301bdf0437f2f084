"""`mlpcore bench` end to end in its smoke mode (a tiny grid, minimal runs): the report's structure,
its internal consistency (every ratio recomputed from the rates it summarises) and sane accuracies.
Nothing here depends on how fast the machine is."""
import json

import pytest

import mlpcore
from mlpcore import cli

from mlpcore import bench as mlpcore_bench
from mlpcore.bench import data, targets

torch = pytest.importorskip("torch")
sklearn = pytest.importorskip("sklearn")

ENGINES = ["mlpcore", "torch-loop", "torch-dataloader", "sklearn"]
LIBRARIES = ["mlpcore", "torch", "sklearn"]
SMOKE_NETS = [("2-16-4", 32), ("12-24-3", 64)]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    paths = {k: out / f"bench.{k}" for k in ("json", "md", "png")}
    threads_before = mlpcore.get_num_threads(), torch.get_num_threads()
    code = cli.main(["bench", "--smoke", "--json", str(paths["json"]), "--markdown", str(paths["md"]),
                     "--png", str(paths["png"])])
    threads_after = mlpcore.get_num_threads(), torch.get_num_threads()
    return code, json.loads(paths["json"].read_text()), paths, threads_before, threads_after


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(abs(a), abs(b))


def test_runs_through_the_cli_and_restores_thread_counts(smoke):
    code, report, _, before, after = smoke
    assert code == 0
    assert before == after
    assert report["schema"] == "mlpcore-bench/1" and report["mode"] == "smoke"
    assert report["command"].startswith("mlpcore bench --smoke")


def test_records_machine_build_versions_and_load(smoke):
    report = smoke[1]
    m = report["machine"]
    assert isinstance(m["model"], str) and m["model"]
    assert m["logical_cpus"] >= 1 and 1 <= m["cpus_available"] <= m["logical_cpus"]
    assert isinstance(m["isa_flags"], list)
    for when in ("load_before", "load_after"):
        sample = m[when]
        assert sample["foreign_cores"] is None or sample["foreign_cores"] >= 0
        assert sample["loadavg"] is None or len(sample["loadavg"]) == 3
    build = report["build"]
    for key, value in mlpcore.build_info().items():
        if key != "num_threads":
            assert build[key] == value, key
    assert report["versions"]["mlpcore"] == mlpcore.__version__
    assert report["versions"]["torch"] == torch.__version__
    assert report["versions"]["sklearn"] == sklearn.__version__
    assert report["engines"]["measured"] == ENGINES and report["engines"]["skipped"] == {}
    assert [t["requested"] for t in report["threads"]] == [1, 2]
    for state in report["threads"]:
        assert state["mlpcore"] == state["torch"] == state["requested"]
    assert isinstance(report["warnings"], list) and isinstance(report["noisy"], bool)


def test_peak_probes_before_and_after(smoke):
    report = smoke[1]
    for key in ("peak", "peak_after"):
        peak = report[key]
        assert peak["gemm"]["gflops"] > 0 and peak["gemm"]["library"] in ("numpy", "torch")
        fma = peak["fma"]
        assert (fma["gflops"] is not None and fma["gflops"] > 0) or fma["error"]
    assert targets.best_peak(report, "gemm") == max(report["peak"]["gemm"]["gflops"],
                                                    report["peak_after"]["gemm"]["gflops"])


def test_training_rows_cover_the_grid_and_their_ratios_add_up(smoke):
    rows = smoke[1]["train"]
    keys = {(r["net"], r["batch"], r["threads"], r["engine"]) for r in rows}
    assert keys == {(n, b, t, e) for n, b in SMOKE_NETS for t in (1, 2) for e in ENGINES}
    by_key = {(r["net"], r["batch"], r["threads"], r["engine"]): r for r in rows}
    for r in rows:
        s = r["samples_per_s"]
        assert 0 < s["min"] <= s["median"] <= s["max"]
        assert len(s["runs"]) == len(r["seconds"]["runs"]) >= 1
        for rate, seconds in zip(s["runs"], r["seconds"]["runs"]):
            assert close(rate, r["train_rows"] * r["epochs"] / seconds)
        sizes = [int(v) for v in r["net"].split("-")]
        assert close(r["gflops"], s["median"] * data.train_flops_per_sample(sizes) / 1e9)
        assert all(0.0 <= a <= 1.0 for a in r["test_accuracy"]["runs"])
        if r["engine"] == "mlpcore":
            assert r["mlpcore_speedup"] is None
        else:
            mine = by_key[(r["net"], r["batch"], r["threads"], "mlpcore")]["samples_per_s"]
            ratio = r["mlpcore_speedup"]
            assert close(ratio["median"], mine["median"] / s["median"])
            assert 0 < ratio["paired_min"] <= ratio["paired_max"]
    scaling = smoke[1]["scaling"]
    assert {(s["net"], s["engine"], s["threads"]) for s in scaling} == \
        {(n, e, 2) for n, _ in SMOKE_NETS for e in ENGINES}
    for s in scaling:
        two = by_key[(s["net"], s["batch"], 2, s["engine"])]["samples_per_s"]["median"]
        one = by_key[(s["net"], s["batch"], 1, s["engine"])]["samples_per_s"]["median"]
        assert close(s["speedup_over_1_thread"]["median"], two / one)


def test_step_and_predict_rows(smoke):
    report = smoke[1]
    steps = report["step"]
    assert {(r["net"], r["batch"], r["threads"], r["library"]) for r in steps} == \
        {(n, b, t, lib) for n, b in SMOKE_NETS for t in (1, 2) for lib in LIBRARIES}
    mine = {(r["net"], r["threads"]): r for r in steps if r["library"] == "mlpcore"}
    for r in steps:
        us = r["step_us"]
        assert 0 < us["min"] <= us["median"] <= us["max"] and r["steps_per_block"] >= 1
        assert close(r["samples_per_s"], r["batch"] / us["median"] * 1e6)
        if r["library"] != "mlpcore":
            assert close(r["mlpcore_speedup"]["median"], us["median"] / mine[(r["net"], r["threads"])]["step_us"]["median"])
    predict = report["predict"]
    assert {(r["net"], r["rows"], r["threads"], r["library"]) for r in predict} == \
        {(n, rows, t, lib) for n, _ in SMOKE_NETS for rows in (1, 1024) for t in (1, 2) for lib in LIBRARIES}
    for r in predict:
        assert 0 < r["latency_us"]["median"] and r["calls_per_block"] >= 1
        assert (r["mlpcore_speedup"] is None) == (r["library"] == "mlpcore")


def test_accuracy_after_the_same_epochs_is_sensible(smoke):
    rows = smoke[1]["accuracy"]
    assert {(r["dataset"], r["net"], r["engine"]) for r in rows} == \
        {(d, n, e) for d, n in (("spiral", "2-128-4"), ("digits", "64-256-128-10")) for e in ENGINES}
    for r in rows:
        assert r["threads"] == 1
        assert len({x["epochs"] for x in rows if x["dataset"] == r["dataset"]}) == 1
        if r["dataset"] == "digits":  # ten classes: every engine learns them within a few epochs
            assert r["test_accuracy"]["median"] >= 0.8, r
        else:  # four spiral arms after a few epochs: well above chance (0.25), far from converged
            assert r["test_accuracy"]["median"] >= 0.4, r
        assert r["test_rows"] == (800 if r["dataset"] == "spiral" else 360)


def test_targets_listed_and_unmeasured_on_the_smoke_grid(smoke):
    entries = smoke[1]["targets"]
    assert len(entries) == len(targets.TARGETS)
    assert all(e["measured"] is None and e["met"] is None for e in entries)


def test_markdown_and_png(smoke):
    report, paths = smoke[1], smoke[2]
    page = paths["md"].read_text(encoding="utf-8")
    assert page.startswith("# Benchmarks")
    assert report["command"] in page
    for heading in ("## Machine and build", "## Targets", "## Training throughput", "## One training step",
                    "## Prediction latency", "## Accuracy after the same epochs", "## Warnings"):
        assert heading in page
    assert "| 2-16-4 | 32 | 1 | mlpcore |" in page
    assert "](bench.png)" in page
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pages_render_again_from_the_saved_json(smoke):
    paths = smoke[2]
    again = paths["md"].with_name("again.md")
    assert cli.main(["bench", "--from-json", str(paths["json"]), "--markdown", str(again),
                     "--png", str(again.with_suffix(".png"))]) == 0
    assert again.read_text(encoding="utf-8").replace("](again.png)", "](bench.png)") == \
        paths["md"].read_text(encoding="utf-8")
    assert again.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_targets_evaluated_against_the_faster_pytorch_loop():
    def row(net, batch, threads, engine, rate, mine=None, gflops=0.0):
        speed = None if mine is None else {"median": mine / rate, "paired_min": 0.9 * mine / rate,
                                           "paired_max": 1.1 * mine / rate}
        return {"net": net, "batch": batch, "threads": threads, "engine": engine, "gflops": gflops,
                "samples_per_s": {"median": rate}, "mlpcore_speedup": speed}
    train = [row("2-128-4", 128, 1, "mlpcore", 4e6), row("2-128-4", 128, 1, "torch-loop", 2e5, 4e6),
             row("2-128-4", 128, 1, "torch-dataloader", 1e5, 4e6), row("2-128-4", 128, 1, "sklearn", 5e5, 4e6),
             row("784-256-128-10", 1024, 1, "mlpcore", 1e5, gflops=150.0)]
    report = {"train": train, "scaling": [
        {"net": "784-256-128-10", "batch": 128, "engine": "mlpcore", "threads": 2,
         "speedup_over_1_thread": {"median": 1.8, "paired_min": 1.7, "paired_max": 1.9}}],
        "peak": {"gemm": {"gflops": 160.0}, "fma": {"gflops": 240.0}}, "peak_after": {"gemm": {"gflops": 180.0}}}
    got = {(e["kind"], e["net"], e["batch"], e["threads"]): e for e in targets.evaluate(report)}
    torch_row = got[("torch", "2-128-4", 128, 1)]
    assert torch_row["against"] == "torch-loop" and torch_row["measured"] == 20.0 and torch_row["met"] is True
    sk = got[("sklearn", "2-128-4", 128, 1)]
    assert sk["measured"] == 8.0 and sk["met"] is False
    peak = got[("peak", "784-256-128-10", 1024, 1)]
    assert close(peak["measured"], 150 / 180) and peak["met"] is True and close(peak["fraction_of_fma_peak"], 0.625)
    assert got[("scaling", "784-256-128-10", 128, 2)]["met"] is True
    assert got[("torch", "784-256-128-10", 128, 1)]["measured"] is None


def test_net_specs_and_flops():
    spec = data.parse_net("784-256-10:64")
    assert spec.sizes == (784, 256, 10) and spec.batch == 64 and spec.data == "teacher"
    assert data.parse_net("2-128-4").batch == 128 and data.parse_net("2-128-4").data == "spiral"
    for bad in ("784", "784-x-10", "784-256-10:0", "5-1"):
        with pytest.raises(ValueError):
            data.parse_net(bad)
    # 2-16-4: forward 2·(32 + 64), weight gradients the same, input gradient of layer 2 only 2·64.
    assert data.train_flops_per_sample([2, 16, 4]) == 2 * (32 + 64) * 2 + 2 * 64


def test_bad_options_exit_2(capsys):
    assert cli.main(["bench", "--threads", "0"]) == 2
    assert cli.main(["bench", "--net", "784-abc"]) == 2
    assert "expected layer sizes" in capsys.readouterr().err


def test_boundary_rows_and_progress_overhead(tmp_path):
    out = tmp_path / "b.json"
    code = mlpcore_bench.main(["--smoke", "--no-default-grid", "--net", "4-8-3:16", "--threads", "1",
                               "--sections", "step", "overhead", "--boundary", "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["train"] == [] and report["accuracy"] == []
    steps = {r["library"]: r for r in report["step"]}
    assert set(steps) == {"mlpcore", "mlpcore-core", "mlpcore-epoch", "torch", "sklearn"}
    # The epoch loop runs whole epochs of at least 16 batches; times are per step.
    assert steps["mlpcore-epoch"]["steps_per_block"] % 16 == 0
    for lib in ("mlpcore-core", "mlpcore-epoch"):
        assert steps[lib]["mlpcore_speedup"]["median"] > 0
    ov = report["overhead"]
    assert set(ov["variants"]) == {"progress", "callback", "progress+callback"}
    assert ov["plain_us_per_epoch"] > 0 and isinstance(ov["met"], bool)
    assert ov["direct"]["bar_us_per_epoch"] > 0 and ov["direct"]["callback_us_per_epoch"] > 0
