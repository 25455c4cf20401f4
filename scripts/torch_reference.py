#!/usr/bin/python3
"""Writes tests/data/torch_reference.txt.gz: PyTorch's forward values and gradients for a few hundred
convolutions and poolings over the hyperparameters of real networks, the independent oracle of
tests/reference_test.cpp.

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

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "torch_reference.txt.gz")


def nchw(x):
    return torch.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), dtype=torch.float64, requires_grad=True)


def nhwc(t):
    return t.detach().numpy().transpose(0, 2, 3, 1)


def numbers(x):
    return " ".join("%.10g" % v for v in np.asarray(x).ravel())


def same_pads(n, f, stride, dilation):
    extent = (f - 1) * dilation + 1
    out = -(-n // stride)
    total = max(0, (out - 1) * stride + extent - n)
    return total // 2, total - total // 2


def conv_case(seed, m, H, W, C, fH, fW, nC, sH, sW, pads, same, dH, dW, groups, bias, act, lo, hi):
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
    lines = ["conv " + " ".join(map(str, header)) + " %r %r" % (lo, hi),
             "Z %d %d %s" % (z.shape[2], z.shape[3], numbers(nhwc(z))),
             "dA_prev " + numbers(nhwc(x.grad)),
             "dW " + numbers(w.grad.numpy().transpose(2, 3, 1, 0))]
    if bias:
        lines.append("db " + numbers(bt.grad))
    return lines


def pool_case(seed, mode, m, H, W, C, kH, kW, sH, sW, pH, pW, ceil, include, is_global):
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
    return ["pool " + " ".join(map(str, header)),
            "A %d %d %s" % (a.shape[2], a.shape[3], numbers(nhwc(a))),
            "dA_prev " + numbers(nhwc(x.grad))]


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


def main():
    torch.set_default_dtype(torch.float64)
    pick = np.random.RandomState(7)
    lines = [line for case in conv_cases(pick) for line in case]
    lines += [line for case in pool_cases(pick) for line in case]
    with gzip.GzipFile(OUT, "wb", mtime=0) as out:
        out.write(("\n".join(lines) + "\n").encode())
    print("wrote", os.path.relpath(OUT), "with", sum(l.startswith(("conv ", "pool ")) for l in lines), "cases")


if __name__ == "__main__":
    main()
