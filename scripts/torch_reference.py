#!/usr/bin/python3
"""Writes tests/data/torch_reference.txt.gz: PyTorch's forward values and gradients for a few hundred
convolutions and poolings over the hyperparameters of real networks, the independent oracle of
tests/reference_test.cpp; and tests/data/torch_wide_reference.txt.gz: the same for layers whose channels fill
SIMD packets (16 to 80), which the vectorized kernels take (the direct kernel, Winograd, the depthwise tiles,
pooling by packets). Their results are stored as projections (see `projections`), which keep the file small.

Usage: /usr/bin/python3 scripts/torch_reference.py      (Debian's python3-torch and python3-numpy)

Every input comes from np.random.RandomState(seed).randn in NHWC / HWIO order, which cnnprim::numpy
reproduces exactly, so only the parameters and PyTorch's results are stored. PyTorch computes in double;
asymmetric padding and TensorFlow's 'same' are an explicit F.pad before a convolution without padding.
One record per line: a header of integers (and the clamp bounds), then each result as its shape's numbers.
"""
import gzip
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
OUT = os.path.join(DATA, "torch_reference.txt.gz")
OUT_WIDE = os.path.join(DATA, "torch_wide_reference.txt.gz")


def nchw(x):
    return torch.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), dtype=torch.float64, requires_grad=True)


def nhwc(t):
    return t.detach().numpy().transpose(0, 2, 3, 1)


def numbers(x):
    return " ".join("%.10g" % v for v in np.asarray(x).ravel())


def weights(n):
    """1 + (k * 7 % 13) / 13 for k < n: every weight in [1, 2), so that no error cancels in a projection."""
    return 1 + (np.arange(n) * 7 % 13) / 13


def projections(name, x):
    """A result with channels last, as its largest magnitude and two weighted sums: over the pixels (every axis
    but the last) for each channel, and over the channels for each pixel. A wrong element moves one sum of each."""
    v = np.asarray(x).reshape(-1, np.shape(x)[-1])
    return ["%s/scale %s" % (name, numbers(np.abs(v).max(initial=0.0))),
            "%s/channels %s" % (name, numbers(weights(v.shape[0]) @ v)),
            "%s/pixels %s" % (name, numbers(v @ weights(v.shape[1])))]


def results(wide, name, x, extents=()):
    """A result's line: its output extents (if any) and its values, or for wide layers its projections."""
    head = " ".join(["%s" % name] + ["%d" % e for e in extents])
    if not wide:
        return [head + " " + numbers(x)]
    return ([head] if extents else []) + projections(name, x)


def same_pads(n, f, stride, dilation):
    extent = (f - 1) * dilation + 1
    out = -(-n // stride)
    total = max(0, (out - 1) * stride + extent - n)
    return total // 2, total - total // 2


def conv_case(seed, m, H, W, C, fH, fW, nC, sH, sW, pads, same, dH, dW, groups, bias, act, lo, hi, wide=False):
    rng = np.random.RandomState(seed)
    A = rng.randn(m, H, W, C)
    Wt = rng.randn(fH, fW, C // groups, nC)
    b = rng.randn(1, 1, 1, nC) if bias else None
    if same:
        pt, pb = same_pads(H, fH, sH, dH)
        pl, pr = same_pads(W, fW, sW, dW)
    else:
        pt, pb, pl, pr = pads
    x = nchw(A)
    w = torch.tensor(np.ascontiguousarray(Wt.transpose(3, 2, 0, 1)), requires_grad=True)
    bt = torch.tensor(b.ravel(), requires_grad=True) if bias else None
    z = F.conv2d(F.pad(x, (pl, pr, pt, pb)), w, bt, stride=(sH, sW), dilation=(dH, dW), groups=groups)
    if act == 1:
        z = F.relu(z)
    elif act == 2:
        z = F.hardtanh(z, lo, hi)
    dZ = rng.randn(m, z.shape[2], z.shape[3], nC)
    (z * torch.tensor(dZ.transpose(0, 3, 1, 2))).sum().backward()
    header = [seed, m, H, W, C, fH, fW, nC, sH, sW, *pads, int(same), dH, dW, groups, int(bias), act]
    lines = ["conv " + " ".join(map(str, header)) + " %r %r" % (lo, hi)]
    lines += results(wide, "Z", nhwc(z), (z.shape[2], z.shape[3]))
    lines += results(wide, "dA_prev", nhwc(x.grad))
    lines += results(wide, "dW", w.grad.numpy().transpose(2, 3, 1, 0))
    if bias:
        lines.append("db " + numbers(bt.grad))
    return lines


def pool_case(seed, mode, m, H, W, C, kH, kW, sH, sW, pH, pW, ceil, include, is_global, wide=False):
    rng = np.random.RandomState(seed)
    A = rng.randn(m, H, W, C)
    x = nchw(A)
    if is_global:
        a = F.adaptive_max_pool2d(x, 1) if mode == 0 else F.adaptive_avg_pool2d(x, 1)
    elif mode == 0:
        a = F.max_pool2d(x, (kH, kW), (sH, sW), (pH, pW), ceil_mode=bool(ceil))
    else:
        a = F.avg_pool2d(x, (kH, kW), (sH, sW), (pH, pW), ceil_mode=bool(ceil), count_include_pad=bool(include))
    dA = rng.randn(m, a.shape[2], a.shape[3], C)
    (a * torch.tensor(dA.transpose(0, 3, 1, 2))).sum().backward()
    header = [seed, mode, m, H, W, C, kH, kW, sH, sW, pH, pW, ceil, include, int(is_global)]
    return (["pool " + " ".join(map(str, header))] + results(wide, "A", nhwc(a), (a.shape[2], a.shape[3])) +
            results(wide, "dA_prev", nhwc(x.grad)))


def conv_cases(pick):
    filters = [(1, 1), (2, 2), (3, 3), (1, 3), (3, 1), (2, 3), (1, 5), (5, 1), (3, 2)]
    strides = [(1, 1), (2, 2), (1, 2), (2, 1), (3, 3)]
    dilations = [(1, 1), (2, 2), (1, 2), (2, 1), (3, 1)]
    activations = [(0, 0.0, 0.0), (1, 0.0, 0.0), (2, -0.7, 0.9), (2, 0.0, 6.0)]
    seed = 1000
    for k in range(240):
        seed += 1
        fH, fW = filters[k % len(filters)]
        sH, sW = strides[pick.randint(len(strides))]
        dH, dW = dilations[pick.randint(len(dilations))] if k % 3 else (1, 1)
        kind = k % 4  # 0: groups 1, 1: depthwise, 2: two groups, 3: depthwise with a channel multiplier
        C = [pick.randint(1, 5), pick.randint(2, 6), 2 * pick.randint(1, 3), pick.randint(1, 4)][kind]
        groups = [1, C, 2, C][kind]
        nC = [pick.randint(1, 5), C, 2 * pick.randint(1, 3), 2 * C][kind]
        same = k % 5 == 4
        symmetric = k % 5 in (0, 1)
        p = pick.randint(0, 3)
        pads = (p, p, p, p) if symmetric else tuple(int(v) for v in pick.randint(0, 3, size=4))
        if same:
            pads = (0, 0, 0, 0)
        eH, eW = (fH - 1) * dH + 1, (fW - 1) * dW + 1
        H = max(1, eH - pads[0] - pads[1]) + pick.randint(0, 5)
        W = max(1, eW - pads[2] - pads[3]) + pick.randint(0, 5)
        m = 1 + k % 2
        act, lo, hi = activations[k % len(activations)]
        yield conv_case(seed, m, H, W, C, fH, fW, nC, sH, sW, pads, same, dH, dW, groups, k % 7 != 3, act, lo, hi)


def pool_cases(pick):
    windows = [(2, 2), (3, 3), (2, 3), (3, 1), (1, 2), (4, 4)]
    strides = [(1, 1), (2, 2), (1, 2), (2, 1), (3, 3)]
    seed = 5000
    for k in range(160):
        seed += 1
        mode = k % 2
        kH, kW = windows[(k // 2) % len(windows)]
        sH, sW = strides[pick.randint(len(strides))]
        pH, pW = (pick.randint(0, kH // 2 + 1), pick.randint(0, kW // 2 + 1)) if k % 3 else (0, 0)
        ceil = int(k % 4 >= 2)
        include = int(pick.randint(2)) if mode == 1 else 0
        is_global = k % 23 == 5
        H = max(1, kH - 2 * pH) + pick.randint(0, 6)
        W = max(1, kW - 2 * pW) + pick.randint(0, 6)
        C = pick.randint(1, 20)
        yield pool_case(seed, mode, 1 + k % 2, H, W, C, kH, kW, sH, sW, pH, pW, ceil, include, is_global)


def wide_conv_cases(pick):
    # (f_H, f_W, s_H, s_W): Winograd's 3x3 at stride 1 (twice as often), 1x1, ResNet's strided 3x3 and 7x7 stem,
    # MobileNet's depthwise 3x3 at strides 1 and 2, rectangular filters.
    layers = [(3, 3, 1, 1), (3, 3, 1, 1), (1, 1, 1, 1), (3, 3, 2, 2), (7, 7, 2, 2), (5, 5, 1, 1), (1, 3, 1, 1),
              (3, 1, 2, 1), (2, 2, 2, 2), (3, 3, 1, 2)]
    activations = [(0, 0.0, 0.0), (1, 0.0, 0.0), (2, -0.7, 0.9), (2, 0.0, 6.0)]
    seed = 7000
    for k in range(120):
        seed += 1
        fH, fW, sH, sW = layers[k % len(layers)]
        dH, dW = [(2, 2), (1, 2)][pick.randint(2)] if k % 8 == 7 else (1, 1)
        kind = (k // 10) % 4  # 0: groups 1, 1: depthwise, 2: two groups, 3: depthwise with a channel multiplier
        C = [[3, 16, 17, 32, 48, 64][pick.randint(6)], [16, 19, 32, 64][pick.randint(4)], [32, 64][pick.randint(2)],
             [16, 32][pick.randint(2)]][kind]
        groups = [1, C, 2, C][kind]
        nC = [[16, 32, 48, 64, 8][pick.randint(5)], C, [32, 64][pick.randint(2)], 2 * C][kind]
        same = k % 5 == 4
        p = pick.randint(0, 3)
        pads = (p, p, p, p) if k % 5 in (0, 1) else tuple(int(v) for v in pick.randint(0, 3, 4))
        if same:
            pads = (0, 0, 0, 0)
        eH, eW = (fH - 1) * dH + 1, (fW - 1) * dW + 1
        # 7 to 12 pixels a side beyond what the padded filter needs: 3x3 layers at stride 1 have 8 or more outputs a
        # side, enough for Winograd.
        H = max(1, eH - pads[0] - pads[1]) + 7 + pick.randint(0, 6)
        W = max(1, eW - pads[2] - pads[3]) + 7 + pick.randint(0, 6)
        act, lo, hi = activations[k % len(activations)]
        yield conv_case(seed, 1 + k % 2, H, W, C, fH, fW, nC, sH, sW, pads, same, dH, dW, groups, k % 7 != 3, act, lo,
                        hi, wide=True)


def wide_pool_cases(pick):
    # ResNet's 3x3 at stride 2 with padding 1, VGG's 2x2, overlapping and rectangular windows, global.
    windows = [(3, 3, 2, 2, 1, 1), (2, 2, 2, 2, 0, 0), (3, 3, 1, 1, 1, 1), (2, 3, 1, 2, 0, 1), (3, 3, 2, 2, 0, 0)]
    seed = 9000
    for k in range(60):
        seed += 1
        kH, kW, sH, sW, pH, pW = windows[(k // 2) % len(windows)]
        mode = k % 2
        ceil = int(k % 4 >= 2)
        include = int(pick.randint(2)) if mode == 1 else 0
        H, W = 6 + pick.randint(0, 10), 6 + pick.randint(0, 10)
        C = [16, 32, 64, 37, 80][pick.randint(5)]
        yield pool_case(seed, mode, 1 + k % 2, H, W, C, kH, kW, sH, sW, pH, pW, ceil, include, k % 17 == 5,
                        wide=True)


def write(path, cases):
    lines = [line for case in cases for line in case]
    with gzip.GzipFile(path, "wb", mtime=0) as out:
        out.write(("\n".join(lines) + "\n").encode())
    print("wrote", os.path.relpath(path), "with", sum(l.startswith(("conv ", "pool ")) for l in lines), "cases")


def main():
    torch.set_default_dtype(torch.float64)
    pick = np.random.RandomState(7)
    write(OUT, [*conv_cases(pick), *pool_cases(pick)])
    pick = np.random.RandomState(11)
    write(OUT_WIDE, [*wide_conv_cases(pick), *wide_pool_cases(pick)])


if __name__ == "__main__":
    main()
