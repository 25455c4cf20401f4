#!/usr/bin/python3
"""Writes the numpy reference values the tests compare against (tests/data/).

Run with Debian's numpy: /usr/bin/python3 scripts/make_reference.py
Inputs come from np.random.seed / np.random.randn, which numpy::RandomState reproduces bit for bit, so a test
regenerates the same inputs in C++ and compares its outputs with the values written here.
"""
import os
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data")
EXAMPLES = os.path.join(HERE, "..", "examples", "data")


def write_values(out, name, array):
    array = np.asarray(array, dtype=np.float64)
    out.write("%s %s\n" % (name, " ".join(str(d) for d in array.shape) or "scalar"))
    out.write(" ".join(repr(float(v)) for v in array.ravel()) + "\n")


def randn_reference():
    # Call sequences of odd and even lengths cross the cached second gauss value between calls;
    # long sequences cross the polar method's rejection loop many times.
    with open(os.path.join(DATA, "numpy_randn.txt"), "w") as out:
        out.write("# np.random.seed(seed); np.random.randn(n) for each n in turn, numpy %s\n" % np.__version__)
        for seed in (0, 1, 2, 123, 2024, 4294967295):
            np.random.seed(seed)
            for n in (1, 3, 2, 7, 1000):
                write_values(out, "seed=%d n=%d" % (seed, n), np.random.randn(n))
        np.random.seed(1)
        write_values(out, "random_sample seed=1 n=20", np.random.random_sample(20))


def conv_forward(A_prev, W, b, stride, pad):
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, _, _, n_C = W.shape
    n_H = (n_H_prev + 2 * pad - f) // stride + 1
    n_W = (n_W_prev + 2 * pad - f) // stride + 1
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    Z = np.zeros((m, n_H, n_W, n_C))
    for h in range(n_H):
        for w in range(n_W):
            window = A_pad[:, h * stride:h * stride + f, w * stride:w * stride + f, :]
            Z[:, h, w, :] = np.einsum("mhwk,hwkc->mc", window, W) + b.reshape(n_C)
    return Z


def conv_backward(dZ, A_prev, W, stride, pad):
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f = W.shape[0]
    _, n_H, n_W, _ = dZ.shape
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    dA_pad = np.zeros_like(A_pad)
    dW = np.zeros_like(W)
    for h in range(n_H):
        for w in range(n_W):
            window = A_pad[:, h * stride:h * stride + f, w * stride:w * stride + f, :]
            dA_pad[:, h * stride:h * stride + f, w * stride:w * stride + f, :] += np.einsum("hwkc,mc->mhwk", W, dZ[:, h, w, :])
            dW += np.einsum("mhwk,mc->hwkc", window, dZ[:, h, w, :])
    db = dZ.sum(axis=(0, 1, 2)).reshape(1, 1, 1, -1)
    return dA_pad[:, pad:pad + n_H_prev, pad:pad + n_W_prev, :], dW, db


CONV_CASES = [  # seed, m, n_H_prev, n_W_prev, n_C_prev, f, n_C, stride, pad
    (11, 2, 5, 7, 3, 3, 4, 1, 0),
    (12, 1, 6, 5, 2, 2, 3, 2, 1),
    (13, 3, 7, 4, 1, 3, 2, 3, 2),
    (14, 2, 4, 6, 5, 1, 3, 2, 0),
    (15, 1, 3, 3, 2, 2, 5, 4, 3),
    (16, 2, 9, 8, 4, 4, 6, 2, 0),
]


def conv_reference():
    with open(os.path.join(DATA, "conv_reference.txt"), "w") as out:
        out.write("# np.random.seed(seed); A_prev, W, b, dZ = randn(...) in that order; then numpy's values\n")
        for seed, m, H, Wd, C, f, n_C, stride, pad in CONV_CASES:
            np.random.seed(seed)
            A_prev = np.random.randn(m, H, Wd, C)
            W = np.random.randn(f, f, C, n_C)
            b = np.random.randn(1, 1, 1, n_C)
            Z = conv_forward(A_prev, W, b, stride, pad)
            dZ = np.random.randn(*Z.shape)
            dA_prev, dW, db = conv_backward(dZ, A_prev, W, stride, pad)
            out.write("case %d %d %d %d %d %d %d %d %d\n" % (seed, m, H, Wd, C, f, n_C, stride, pad))
            write_values(out, "Z", Z)
            write_values(out, "dA_prev", dA_prev)
            write_values(out, "dW", dW)
            write_values(out, "db", db)


def pool_reference():
    # np.argmax returns the first maximum, and the first NaN when there is one: the library's tie rule.
    cases = [(21, 2, 5, 7, 3, 2, 2), (22, 1, 7, 6, 2, 3, 2), (23, 3, 4, 9, 1, 2, 3), (24, 2, 6, 6, 4, 1, 1)]
    with open(os.path.join(DATA, "pool_reference.txt"), "w") as out:
        out.write("# np.random.seed(seed); A_prev, dA = randn(...); A_prev rounded to 1 decimal so windows tie\n")
        for seed, m, H, Wd, C, f, stride in cases:
            np.random.seed(seed)
            A_prev = np.round(np.random.randn(m, H, Wd, C), 1)
            n_H, n_W = (H - f) // stride + 1, (Wd - f) // stride + 1
            dA = np.random.randn(m, n_H, n_W, C)
            A_max = np.zeros((m, n_H, n_W, C))
            A_avg = np.zeros((m, n_H, n_W, C))
            dA_max = np.zeros_like(A_prev)
            dA_avg = np.zeros_like(A_prev)
            for i in range(m):
                for h in range(n_H):
                    for w in range(n_W):
                        for c in range(C):
                            window = A_prev[i, h * stride:h * stride + f, w * stride:w * stride + f, c]
                            k = np.argmax(window)
                            A_max[i, h, w, c] = window.flat[k]
                            A_avg[i, h, w, c] = window.mean()
                            dA_max[i, h * stride + k // f, w * stride + k % f, c] += dA[i, h, w, c]
                            dA_avg[i, h * stride:h * stride + f, w * stride:w * stride + f, c] += dA[i, h, w, c] / (f * f)
            out.write("case %d %d %d %d %d %d %d\n" % (seed, m, H, Wd, C, f, stride))
            write_values(out, "A_max", A_max)
            write_values(out, "A_average", A_avg)
            write_values(out, "dA_prev_max", dA_max)
            write_values(out, "dA_prev_average", dA_avg)


def forum_reference():
    arr = np.loadtxt(os.path.join(EXAMPLES, "forum_arr_33x33x3.txt")).reshape(33, 33, 3)
    filt = np.loadtxt(os.path.join(EXAMPLES, "forum_filter_5x5x3.txt")).reshape(5, 5, 3)
    result = np.zeros((15, 15))
    for h in range(15):
        for w in range(15):
            result[h, w] = np.sum(arr[2 * h:2 * h + 5, 2 * w:2 * w + 5, :] * filt)
    with open(os.path.join(DATA, "forum_conv_15x15.txt"), "w") as out:
        out.write("# the 33x33x3 array convolved with the 5x5x3 filter at stride 2, numpy %s\n" % np.__version__)
        write_values(out, "result", result)


if __name__ == "__main__":
    os.makedirs(DATA, exist_ok=True)
    randn_reference()
    conv_reference()
    pool_reference()
    forum_reference()
