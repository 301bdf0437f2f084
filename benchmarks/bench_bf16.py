# SPDX-License-Identifier: MIT
"""bf16 mixed precision against float32, in mlpcore and PyTorch: whole training epochs on one thread.

Four engines train the same nets on the same data (ReLU hidden layers, softmax cross-entropy, Adam
lr 1e-3, reshuffled every epoch; mlpcore.bench.engines has each loop):

  mlpcore         MLP(...), float32 products
  mlpcore-bf16    MLP(..., precision="bf16"): bf16 operands, float32 accumulation (AMX / AVX512-BF16)
  torch-loop      PyTorch eager, float32
  torch-autocast  PyTorch eager with forward and loss under torch.autocast("cpu", dtype=torch.bfloat16)

Speed: 784-1024-1024-10 at batch 256 and 784-256-128-10 at batch 1024, on MNIST-shaped teacher data
(784 standard-normal inputs labelled by a random linear teacher, 10 classes), ROWS training rows,
EPOCHS epochs per run. The engines take turns round by round (drift hits all alike); per engine the
median of the rounds, and the ratios of the medians. Accuracy: spiral (2-128-128-4), digits
(64-128-10) and the MNIST-shaped task (784-256-128-10), test accuracy after the same epochs from
the same seeds.

    python benchmarks/bench_bf16.py [--rounds 5] [--rows 16384] [--epochs 1] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys

import mlpcore
from mlpcore.bench import data
from mlpcore.bench.engines import Engines

ENGINES = ("mlpcore", "mlpcore-bf16", "torch-loop", "torch-autocast")
NETS = (((784, 1024, 1024, 10), 256), ((784, 256, 128, 10), 1024))
ACCURACY = (("spiral", (2, 128, 128, 4), 64, 60), ("digits", (64, 128, 10), 32, 40),
            ("mnist-shaped", (784, 256, 128, 10), 128, 5))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--rows", type=int, default=16384, help="training rows of the speed runs")
    p.add_argument("--epochs", type=int, default=1, help="epochs per timed run")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    mlpcore.set_num_threads(1)
    info = mlpcore.build_info()
    if info["bf16"] is None:
        sys.exit(f"no bf16 engine here: {mlpcore.model._core.bf16_unavailable_reason()}")
    engines = Engines(torch, None, wanted=set(ENGINES))
    print(f"mlpcore {mlpcore.__version__} (bf16 engine: {info['bf16']}), torch {torch.__version__}, "
          f"1 thread; {args.rows} rows x {args.epochs} epoch(s), {args.rounds} rounds")
    out = {"bf16_engine": info["bf16"], "rows": args.rows, "epochs": args.epochs, "speed": [], "accuracy": []}
    dataset = data.teacher_data(args.rows, 2048, 784, 10, seed=0)
    for sizes, batch in NETS:
        label = f"{'-'.join(map(str, sizes))} b{batch}"
        warm = (dataset[0][:4 * batch], dataset[1][:4 * batch], *dataset[2:])
        for name in ENGINES:  # first-call costs stay out
            engines.fit(name, sizes, warm, batch, 1, 0)
        seconds = {name: [] for name in ENGINES}
        for r in range(args.rounds):
            for name in ENGINES:
                seconds[name].append(engines.fit(name, sizes, dataset, batch, args.epochs, r)[0])
        med = {name: statistics.median(v) for name, v in seconds.items()}
        rate = {name: args.rows * args.epochs / s for name, s in med.items()}
        row = {"net": label, "samples_per_s": rate, "seconds": seconds,
               "bf16_over_fp32": rate["mlpcore-bf16"] / rate["mlpcore"],
               "bf16_over_torch_autocast": rate["mlpcore-bf16"] / rate["torch-autocast"],
               "fp32_over_torch": rate["mlpcore"] / rate["torch-loop"],
               "torch_autocast_over_torch": rate["torch-autocast"] / rate["torch-loop"]}
        out["speed"].append(row)
        print(f"\n{label}: samples/s (median of {args.rounds})")
        for name in ENGINES:
            print(f"  {name:15}{rate[name]:>12,.0f}")
        print(f"  mlpcore bf16 / mlpcore fp32    {row['bf16_over_fp32']:.2f}x")
        print(f"  mlpcore bf16 / torch autocast  {row['bf16_over_torch_autocast']:.2f}x")
        print(f"  mlpcore fp32 / torch eager     {row['fp32_over_torch']:.2f}x")
        print(f"  torch autocast / torch eager   {row['torch_autocast_over_torch']:.2f}x")
    print("\ntest accuracy after the same epochs (%)")
    splits = {"spiral": data.spiral_split(), "digits": data.digits_split(),
              "mnist-shaped": data.teacher_data(16384, 4096, 784, 10, seed=1)}
    for name, sizes, batch, epochs in ACCURACY:
        acc = {e: 100 * engines.fit(e, sizes, splits[name], batch, epochs, 0)[1] for e in ENGINES}
        out["accuracy"].append({"data": name, "net": "-".join(map(str, sizes)), "epochs": epochs,
                                "accuracy": acc, "bf16_minus_fp32": acc["mlpcore-bf16"] - acc["mlpcore"]})
        print(f"  {name:13}{'-'.join(map(str, sizes)):>18} {epochs:>3} ep  " +
              "  ".join(f"{e} {a:.2f}" for e, a in acc.items()) +
              f"  (bf16 - fp32: {acc['mlpcore-bf16'] - acc['mlpcore']:+.2f})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
