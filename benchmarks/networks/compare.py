#!/usr/bin/env python3
"""Side by side: cnnprim's network benchmarks (Google Benchmark JSON) and PyTorch's (torch_networks.py).
Writes OUT_DIR/networks.md (the table, medians, PyTorch time / cnnprim time) and, with gnuplot, OUT_DIR/
resnet18_layers.png (each ResNet-18 convolution's time in both, batch 1, 1 thread).

Usage: python3 compare.py CNNPRIM.json TORCH.json OUT_DIR"""
import json
import os
import shutil
import subprocess
import sys

TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def medians(path):
    """{run name: median real time in ms} of a Google Benchmark JSON file."""
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name", "median") == "median" and b.get("run_type", "aggregate") == "aggregate":
            out[b["run_name"]] = b["real_time"] * TO_MS[b["time_unit"]]
    return out


def main():
    ours, torch, out_dir = medians(sys.argv[1]), medians(sys.argv[2]), sys.argv[3]
    lines = ["| benchmark | cnnprim ms | PyTorch ms | PyTorch / cnnprim |", "|---|---:|---:|---:|"]
    layers = []
    for name, ms in ours.items():
        if name not in torch:
            continue
        if name.startswith("BM_ResNet18Layer/"):
            layers.append((name.split("/", 1)[1], ms, torch[name]))
            continue
        lines.append(f"| {name[3:]} | {ms:.2f} | {torch[name]:.2f} | {torch[name] / ms:.2f} |")
    if layers:
        total_ours, total_torch = sum(l[1] for l in layers), sum(l[2] for l in layers)
        lines.append(f"| ResNet18 convolutions one by one, batch 1, 1 thread (sum) | {total_ours:.2f} | "
                     f"{total_torch:.2f} | {total_torch / total_ours:.2f} |")
    table = "\n".join(lines) + "\n"
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "networks.md"), "w") as f:
        f.write(table)
    print(table)

    if layers and shutil.which("gnuplot"):
        data = os.path.join(out_dir, "resnet18_layers.dat")
        with open(data, "w") as f:
            for name, ms, torch_ms in layers:
                f.write(f"{name} {ms * 1e3:.1f} {torch_ms * 1e3:.1f}\n")
        png = os.path.join(out_dir, "resnet18_layers.png")
        script = f"""
set terminal pngcairo size 1100,520 noenhanced
set output '{png}'
set title 'ResNet-18 convolutions, batch 1, 1 thread (median time per layer, bias and ReLU included)'
set ylabel 'microseconds'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -60 font ',8'
set key outside top center horizontal
set grid ytics
plot '{data}' using 2:xtic(1) title 'cnnprim' lc rgb '#1f77b4', '' using 3 title 'PyTorch' lc rgb '#ff7f0e'
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
        os.remove(data)
        print(f"wrote {png}")


if __name__ == "__main__":
    main()
