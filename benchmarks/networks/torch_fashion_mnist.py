"""examples/fashion_mnist.cpp's training in PyTorch, to time an epoch and compare accuracy beside it.

The same network (conv 3x3 pad 1, 1 -> 16, ReLU, max pool 2 -> conv 3x3 pad 1, 16 -> 32, ReLU, max pool 2 ->
dense 1568 -> 10), He initialisation with zero biases, Adam (learning rate 0.002, halved after each epoch), batches
of 64 in a shuffled order, pixels standardised as the example does, channels_last. Prints one line per epoch in
the example's format. The random numbers differ from the example's (its initial weights and order come from
std::mt19937), so accuracies agree to within the spread of seeds, not to the last digit.
Usage: python3 torch_fashion_mnist.py [--epochs N] [--threads T] [--seed S] [--data DIR]
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

PIXEL_MEAN, PIXEL_DEVIATION = 0.2860, 0.3530


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(data, images, labels):
    x = read_idx(os.path.join(data, images + ".gz"), 16).reshape(-1, 1, 28, 28)
    x = torch.from_numpy((x.astype(np.float32) / 255.0 - PIXEL_MEAN) / PIXEL_DEVIATION)
    y = torch.from_numpy(read_idx(os.path.join(data, labels + ".gz"), 8).astype(np.int64))
    return x.contiguous(memory_format=torch.channels_last), y


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 32, 3, padding=1)
        self.dense = nn.Linear(7 * 7 * 32, 10)
        for layer in (self.conv1, self.conv2, self.dense):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")  # N(0, 2 / fan_in)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        # The example flattens NHWC; the order of the features does not change what the dense layer can learn.
        return self.dense(torch.flatten(x, 1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_x, train_y = load(args.data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    test_x, test_y = load(args.data, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    net = Net().to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.002)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    batch = 64
    print(f"PyTorch {torch.__version__}: {len(train_x)} training and {len(test_x)} test images, "
          f"{args.threads} thread{'s' if args.threads > 1 else ''}, {args.epochs} epoch{'s' if args.epochs > 1 else ''}")
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(train_x))
        start = time.perf_counter()
        total_loss, correct = 0.0, 0
        for first in range(0, len(train_x), batch):
            index = order[first:first + batch]
            x, y = train_x[index].contiguous(memory_format=torch.channels_last), train_y[index]
            optimizer.zero_grad()
            logits = net(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
        seconds = time.perf_counter() - start
        scheduler.step()
        with torch.inference_mode():
            test_correct = sum((net(test_x[k:k + batch]).argmax(1) == test_y[k:k + batch]).sum().item()
                               for k in range(0, len(test_x), batch))
        print(f"epoch {epoch}/{args.epochs}  loss {total_loss / len(train_x):.4f}  "
              f"train accuracy {100 * correct / len(train_x):5.2f}%  "
              f"test accuracy {100 * test_correct / len(test_x):5.2f}%  {seconds:.1f} s  "
              f"{len(train_x) / seconds:.0f} images/s", flush=True)


if __name__ == "__main__":
    main()
