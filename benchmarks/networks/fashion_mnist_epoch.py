"""One Fashion-MNIST training epoch in cnnprim (examples/fashion_mnist) and in PyTorch (torch_fashion_mnist.py),
on 1 and 2 threads, over a few seeds; writes a markdown table of epoch times and test accuracies.

The two draw different random numbers (initial weights, order of the images), so the accuracies are compared
as the mean over the seeds; the times as medians over them, cnnprim's and PyTorch's runs taken in turn.
Usage: python3 fashion_mnist_epoch.py EXAMPLE OUT.md [--seeds N] [--data DIR]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

LINE = re.compile(r"epoch 1/1 .*test accuracy +([0-9.]+)% +([0-9.]+) s")


def epoch(command):
    """(seconds, test accuracy) of the single epoch `command` prints."""
    out = subprocess.run(command, check=True, capture_output=True, text=True, env={**os.environ,
                                                                                 "OMP_NUM_THREADS": "1"}).stdout
    match = LINE.search(out)
    if not match:
        sys.exit(f"no epoch line in the output of {' '.join(command)}:\n{out}")
    return float(match.group(2)), float(match.group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("example")
    parser.add_argument("out")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_fashion_mnist.py")
    rows = []
    for threads in (1, 2):
        runs = {"cnnprim": [], "PyTorch": []}
        for seed in range(2024, 2024 + args.seeds):
            common = ["--epochs", "1", "--threads", str(threads), "--seed", str(seed), "--data", args.data]
            runs["cnnprim"].append(epoch([args.example] + common))
            runs["PyTorch"].append(epoch([sys.executable, script] + common))
            print(f"threads {threads} seed {seed}: cnnprim {runs['cnnprim'][-1]}, PyTorch {runs['PyTorch'][-1]}",
                  flush=True)
        seconds = {name: statistics.median(s for s, _ in r) for name, r in runs.items()}
        accuracy = {name: statistics.mean(a for _, a in r) for name, r in runs.items()}
        spread = {name: (min(a for _, a in r), max(a for _, a in r)) for name, r in runs.items()}
        rows.append(f"| {threads} | {seconds['cnnprim']:.2f} | {seconds['PyTorch']:.2f} | "
                    f"{seconds['cnnprim'] / seconds['PyTorch']:.2f} | {accuracy['cnnprim']:.2f} "
                    f"({spread['cnnprim'][0]:.2f}-{spread['cnnprim'][1]:.2f}) | {accuracy['PyTorch']:.2f} "
                    f"({spread['PyTorch'][0]:.2f}-{spread['PyTorch'][1]:.2f}) |")
    with open(args.out, "w") as f:
        f.write(f"One epoch of Fashion-MNIST (60,000 images, batch 64, Adam), {args.seeds} seeds each: median epoch "
                "time, mean test accuracy after the epoch (lowest-highest).\n\n"
                "| threads | cnnprim s | PyTorch s | cnnprim / PyTorch | cnnprim accuracy % | PyTorch accuracy % |\n"
                "|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n")
    print(open(args.out).read())


if __name__ == "__main__":
    main()
