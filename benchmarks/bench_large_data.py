"""Large-data benchmark (issue 13): reading an MNIST-shaped CSV and Parquet file, streaming one epoch of
784-256-128-10 (batch 128) from a large Parquet file against in-memory training, and `mlpcore predict`
over that file. Every measurement runs in a fresh subprocess (peak RSS = its ru_maxrss); results are
printed side by side as one table, medians of --repeat runs.

    python benchmarks/bench_large_data.py --dir /tmp/mlpbench --gb 4

Writes the data files once (kept in --dir for later runs). Not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap

HEADER = "import resource, time, json, os, numpy as np, mlpcore\n" \
         "mlpcore.set_num_threads(int(os.environ.get('MLPCORE_BENCH_THREADS', '1')))\n" \
         "def report(**kw):\n" \
         "    kw['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n" \
         "    print('RESULT ' + json.dumps(kw))\n"


def run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", HEADER + textwrap.dedent(code)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[7:])


def make_files(folder: str, gb: float) -> dict:
    os.makedirs(folder, exist_ok=True)
    paths = {k: os.path.join(folder, f) for k, f in (("csv", "mnist.csv"), ("parquet", "mnist.parquet"),
                                                       ("big", f"big-{gb:g}g.parquet"))}
    if not all(os.path.exists(p) for p in paths.values()):
        run(f"""
            import pyarrow as pa, pyarrow.csv as pcsv, pyarrow.parquet as pq
            rng = np.random.default_rng(0)
            names = ["label"] + [f"{{i // 28 + 1}}x{{i % 28 + 1}}" for i in range(784)]
            def table(n):
                X = np.where(rng.random((n, 784)) < 0.08, 0, rng.integers(1, 256, (n, 784))).astype(np.uint8)
                y = rng.integers(0, 10, n).astype(np.uint8)
                return pa.table([pa.array(y)] + [pa.array(X[:, j]) for j in range(784)], names=names)
            if not os.path.exists({paths['csv']!r}):
                t = table(60000)
                with open({paths['csv']!r}, "wb") as f:
                    f.write((",".join(names) + "\\n").encode())
                    pcsv.write_csv(t, f, pcsv.WriteOptions(include_header=False, quoting_style="none"))
                pq.write_table(t, {paths['parquet']!r})
            if not os.path.exists({paths['big']!r}):
                schema = pa.schema([(n, pa.float32()) for n in names[1:]] + [("label", pa.int64())])
                rows = int({gb} * 2**30 / (784 * 4))
                # Float features gain nothing from dictionary encoding: PLAIN pages decode at memory speed.
                with pq.ParquetWriter({paths['big']!r} + ".tmp", schema, compression="none",
                                      use_dictionary=False) as w:
                    for start in range(0, rows, 16384):
                        n = min(16384, rows - start)
                        X = rng.random((n, 784), dtype=np.float32)
                        w.write_table(pa.Table.from_arrays([pa.array(X[:, j]) for j in range(784)]
                                                           + [pa.array(rng.integers(0, 10, n))], schema=schema))
                os.replace({paths['big']!r} + ".tmp", {paths['big']!r})
            report()
        """.replace("import pyarrow", "import os, pyarrow"))
    return paths


def bench(paths: dict, repeat: int, in_memory_rows: int) -> list:
    rows = []
    cases = {
        "read CSV: mlpcore.datasets.read_csv": f"""
            from mlpcore.datasets import read_csv
            t0 = time.perf_counter(); X, y, _ = read_csv({paths['csv']!r}, target="label")
            report(seconds=time.perf_counter() - t0, result_mb=X.nbytes / 2**20)""",
        "read CSV: pandas.read_csv (reference)": f"""
            import pandas as pd
            t0 = time.perf_counter(); df = pd.read_csv({paths['csv']!r})
            X = df.drop(columns="label").to_numpy(np.float32)
            report(seconds=time.perf_counter() - t0, result_mb=X.nbytes / 2**20)""",
        "read Parquet: mlpcore.datasets.read_parquet": f"""
            from mlpcore.datasets import read_parquet
            t0 = time.perf_counter(); X, y, _ = read_parquet({paths['parquet']!r}, target="label")
            report(seconds=time.perf_counter() - t0, result_mb=X.nbytes / 2**20)""",
        "train in memory: 784-256-128-10, 1 epoch": f"""
            import mlpcore, os, pyarrow.parquet as pq
            from mlpcore.datasets import read_parquet
            t = pq.ParquetFile({paths['big']!r})
            groups = [g for g in range(t.metadata.num_row_groups)
                      if sum(t.metadata.row_group(k).num_rows for k in range(g)) < {in_memory_rows}]
            pq.write_table(t.read_row_groups(groups), "/tmp/_mlpcore_bench_sub.parquet")
            del t
            X, y, _ = read_parquet("/tmp/_mlpcore_bench_sub.parquet", target="label")
            os.remove("/tmp/_mlpcore_bench_sub.parquet")
            net = mlpcore.MLP([784, 256, 128, 10], seed=0)
            tr = mlpcore.Trainer(net, mlpcore.Adam(), batch_size=128, epochs=1, progress=False)
            tr.fit(X[:4096], y[:4096])
            t0 = time.perf_counter(); tr.fit(X, y); s = time.perf_counter() - t0
            report(seconds=s, rows=len(X), samples_per_s=len(X) / s)""",
        "train streamed from Parquet: same net, 1 epoch": f"""
            import mlpcore
            from mlpcore.datasets._streaming import ParquetSource
            src = ParquetSource({paths['big']!r}, "label")
            net = mlpcore.MLP([784, 256, 128, 10], seed=0)
            tr = mlpcore.Trainer(net, mlpcore.Adam(), batch_size=128, epochs=1, progress=False)
            t0 = time.perf_counter(); h = tr.fit(src); s = time.perf_counter() - t0
            report(seconds=s, rows=src.num_rows, samples_per_s=src.num_rows / s,
                   file_gb=os.path.getsize({paths['big']!r}) / 2**30)""".replace("import mlpcore\n", "import mlpcore, os\n", 1),
        "mlpcore predict over the Parquet file": f"""
            import mlpcore, os
            from mlpcore._cli_data import predict_streamed
            net = mlpcore.MLP([784, 256, 128, 10], seed=0)
            t0 = time.perf_counter()
            n = predict_streamed(net, {paths['big']!r}, "/tmp/_mlpcore_bench_pred.parquet", "parquet", target="label")
            s = time.perf_counter() - t0
            os.remove("/tmp/_mlpcore_bench_pred.parquet")
            report(seconds=s, rows=n, samples_per_s=n / s)""",
    }
    for name, code in cases.items():
        results = [run(code) for _ in range(repeat)]
        med = {k: statistics.median(r[k] for r in results) for k in results[0]}
        med["peak_rss_mb"] = max(r["peak_rss_mb"] for r in results)
        rows.append((name, med))
        print(f"{name:48s} " + "  ".join(f"{k}={v:.3g}" for k, v in med.items()), flush=True)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", default="/tmp/mlpcore-bench-data")
    p.add_argument("--gb", type=float, default=4.0, help="size of the large Parquet file (GiB of float32)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--in-memory-rows", type=int, default=200_000)
    p.add_argument("--threads", type=int, default=1, help="engine threads (the reader thread takes another core)")
    args = p.parse_args(argv)
    os.environ["MLPCORE_BENCH_THREADS"] = str(args.threads)
    print(f"engine threads: {args.threads}; load average before: {os.getloadavg()}", flush=True)
    paths = make_files(args.dir, args.gb)
    rows = bench(paths, args.repeat, args.in_memory_rows)
    print(f"load average after: {os.getloadavg()}")
    print("\n| measurement | seconds (median) | samples/s | peak RSS (MB) |\n|---|---|---|---|")
    for name, m in rows:
        sps = f"{m['samples_per_s']:,.0f}" if "samples_per_s" in m else ""
        print(f"| {name} | {m['seconds']:.2f} | {sps} | {m['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
