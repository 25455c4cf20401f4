#!/usr/bin/env python3
"""The networks of networks.hpp in PyTorch, timed as networks_bench.cpp times them: ResNet-18 and MobileNet-v2
forward (batch 1 and 8; batch norm folded, so convolutions with a bias; channels_last, inference mode), one Adam
step of examples/fashion_mnist.cpp's network (batch 64), on 1 and 2 threads, and ResNet-18's convolutions one at
a time (batch 1, 1 thread). Writes Google Benchmark's JSON layout (names as networks_bench.cpp's, medians of
REPETITIONS runs) so that compare.py reads both alike.

Usage: python3 torch_networks.py OUT.json [--repetitions N] [--min-time SECONDS]"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn


def conv(c_in, c_out, f, stride, groups=1):
    return nn.Conv2d(c_in, c_out, f, stride, f // 2, groups=groups, bias=True)


class ResNet18(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = conv(3, 64, 7, 2)
        self.blocks = nn.ModuleList()
        channels = 64
        for stage in range(1, 5):
            n_c = 64 << (stage - 1)
            for block in range(2):
                stride = 2 if stage > 1 and block == 0 else 1
                b = nn.Module()
                b.downsample = conv(channels, n_c, 1, stride) if stride != 1 or channels != n_c else None
                b.conv1, b.conv2 = conv(channels, n_c, 3, stride), conv(n_c, n_c, 3, 1)
                b.name = f"layer{stage}.{block}"
                self.blocks.append(b)
                channels = n_c
        self.fc = nn.Linear(512, 1000)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 3, 2, 1)
        for b in self.blocks:
            shortcut = b.downsample(x) if b.downsample is not None else x
            x = F.relu(b.conv2(F.relu(b.conv1(x))) + shortcut)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    def named_convs(self):
        yield "conv1", self.conv1
        for b in self.blocks:
            if b.downsample is not None:
                yield b.name + ".downsample", b.downsample
            yield b.name + ".conv1", b.conv1
            yield b.name + ".conv2", b.conv2


class MobileNetV2(nn.Module):
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1)]

    def __init__(self):
        super().__init__()
        self.first = conv(3, 32, 3, 2)
        self.blocks = nn.ModuleList()
        channels = 32
        for t, c, n, s in self.SETTINGS:
            for block in range(n):
                stride, hidden = (s if block == 0 else 1), channels * t
                b = nn.Module()
                b.expand = conv(channels, hidden, 1, 1) if t != 1 else None
                b.depthwise = conv(hidden, hidden, 3, stride, groups=hidden)
                b.project = conv(hidden, c, 1, 1)
                b.residual = stride == 1 and channels == c
                self.blocks.append(b)
                channels = c
        self.last = conv(320, 1280, 1, 1)
        self.classifier = nn.Linear(1280, 1000)

    def forward(self, x):
        x = F.relu6(self.first(x))
        for b in self.blocks:
            y = F.relu6(b.expand(x)) if b.expand is not None else x
            y = b.project(F.relu6(b.depthwise(y)))
            x = x + y if b.residual else y
        x = F.relu6(self.last(x))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class FashionMnistNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = conv(1, 16, 3, 1), conv(16, 32, 3, 1)
        self.dense = nn.Linear(7 * 7 * 32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.dense(torch.flatten(x, 1))


def median_ms(run, repetitions, min_time):
    """The median over `repetitions` of the mean time of one call in ms, each over at least min_time seconds."""
    run()  # warm-up: oneDNN's primitives are created on the first call
    times = []
    for _ in range(repetitions):
        calls, start = 0, time.perf_counter()
        while True:
            run()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        times.append(elapsed / calls * 1e3)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.5)
    args = parser.parse_args()
    torch.manual_seed(0)
    results = []

    def record(name, ms):
        results.append({"name": name + "_median", "run_name": name, "aggregate_name": "median",
                        "real_time": ms, "time_unit": "ms"})
        print(f"{name:50s} {ms:10.3f} ms", flush=True)

    nets = {"ResNet18": ResNet18().eval(), "MobileNetV2": MobileNetV2().eval()}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for name, net in nets.items():
            net = net.to(memory_format=torch.channels_last)
            for batch in (1, 8):
                x = torch.randn(batch, 3, 224, 224).to(memory_format=torch.channels_last)
                with torch.inference_mode():
                    record(f"BM_{name}/batch:{batch}/threads:{threads}",
                           median_ms(lambda: net(x), args.repetitions, args.min_time))

        net = FashionMnistNet().to(memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(net.parameters(), lr=0.002)
        x = torch.randn(64, 1, 28, 28).to(memory_format=torch.channels_last)
        labels = torch.arange(64) % 10

        def step():
            optimizer.zero_grad()
            F.cross_entropy(net(x), labels).backward()
            optimizer.step()

        record(f"BM_FashionMnistStep/batch:64/threads:{threads}", median_ms(step, args.repetitions, args.min_time))

    torch.set_num_threads(1)
    resnet = nets["ResNet18"].to(memory_format=torch.channels_last)
    inputs = {}

    def keep_input(name):
        def hook(module, args, output):
            inputs[name] = args[0]
        return hook

    hooks = [module.register_forward_hook(keep_input(name)) for name, module in resnet.named_convs()]
    with torch.inference_mode():
        resnet(torch.randn(1, 3, 224, 224).to(memory_format=torch.channels_last))
        for hook in hooks:
            hook.remove()
        for name, module in resnet.named_convs():
            x = inputs[name]
            is_relu = not name.endswith((".conv2", ".downsample"))
            run = (lambda m=module, x=x: F.relu(m(x))) if is_relu else (lambda m=module, x=x: m(x))
            ms = median_ms(run, args.repetitions, args.min_time / 5)
            results.append({"name": f"BM_ResNet18Layer/{name}_median", "run_name": f"BM_ResNet18Layer/{name}",
                            "aggregate_name": "median", "real_time": ms * 1e3, "time_unit": "us"})
            print(f"BM_ResNet18Layer/{name:33s} {ms * 1e3:10.1f} us", flush=True)

    with open(args.out, "w") as f:
        json.dump({"context": {"library": f"PyTorch {torch.__version__}"}, "benchmarks": results}, f, indent=1)


if __name__ == "__main__":
    main()
