#!/usr/bin/env python3
"""Turns Google Benchmark JSON from benchmarks/run.sh into a markdown table and a chart of ratios.

Usage: python3 benchmarks/report.py results.json output_folder
       python3 benchmarks/report.py --portable default.json avx2.json native.json   (markdown on stdout)
       python3 benchmarks/report.py --readme results.json     (README's summary tables, on stdout)
Medians only (the machine is shared and noisy); every ratio comes from one run.
"""
import json
import os
import re
import subprocess
import sys
from collections import OrderedDict


def load(path):
    with open(path) as f:
        data = json.load(f)
    medians, skipped = {}, set()
    for b in data["benchmarks"]:
        name = b.get("run_name", b["name"])
        if b.get("error_occurred"):
            skipped.add(name)
        elif b.get("aggregate_name") == "median":
            medians[name] = b
    return data.get("context", {}), medians, skipped


def split(name):
    """BM_ConvForward<float, Backend::Eigen, Call::Second>/m:1/... -> (BM_ConvForward, [float, Eigen, Second], "m:1/...")."""
    m = re.match(r"(BM_\w+)(?:<(.*?)>)?(?:/(.*))?$", name)
    params = [p.strip().split("::")[-1] for p in (m.group(2) or "").split(",") if p.strip()]
    return m.group(1), params, m.group(3) or ""


def shape_label(args):
    values = [kv.split(":")[1] for kv in args.split("/") if kv and not kv.startswith("part")]
    return "(" + ", ".join(values) + ")"


def rate(b, key):
    return b.get(key, 0.0) / 1e9


def fmt_time(b):
    if b is None:
        return "—"
    t = b["real_time"]
    unit = b.get("time_unit", "us")
    if unit == "ns":
        t /= 1000.0
    return "%.2f" % t if t < 10 else "%.1f" % t if t < 100 else "%.0f" % t


def ratio(a, b):
    return "%.2f" % (a / b) if a and b else "—"


def listed_shapes():
    """Position of each shape in benchmarks/shapes.hpp, by its label "(m, n_H, ...)"."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "shapes.hpp")) as f:
        text = f.read()
    return {"(" + m.group(1).replace(" ", "").replace(",", ", ") + ")": k
            for k, m in enumerate(re.finditer(r"^\s*\{([0-9, ]+)\},", text, re.M))}


def main():
    shape_order = listed_shapes()
    context, medians, skipped = load(sys.argv[1])
    out = sys.argv[2]
    rows = OrderedDict()
    for name, b in medians.items():
        func, params, args = split(name)
        rows[(func, tuple(params), args)] = b

    def get(func, params, args):
        return rows.get((func, tuple(params), args))

    def eigen(func, dtype, call, args, mode=None):
        return get(func, [dtype] + ([mode] if mode else []) + ["Eigen", call], args)

    def overhead(second, kernel):
        """The second form's cost over the internal kernel: ns and per cent."""
        if not (second and kernel):
            return "—"
        scale = 1000.0 if second.get("time_unit", "us") == "us" else 1.0
        ns = (second["real_time"] - kernel["real_time"]) * scale
        return "%+.0f ns (%+.1f%%)" % (ns, 100.0 * (second["real_time"] / kernel["real_time"] - 1))

    # Shapes in the order shapes.hpp lists them (repetitions run interleaved, so the JSON's order is random).
    def in_order(args):
        return sorted(set(args), key=lambda a: shape_order.get(shape_label(a), len(shape_order)))

    conv_args = in_order(a for (f, p, a) in rows if f == "BM_ConvForward" and p == ("float", "Eigen", "Second"))
    pool_args = in_order(a for (f, p, a) in rows if f == "BM_PoolForward" and p == ("float", "Max", "Eigen", "Second"))
    lines = ["# cnnprim benchmarks", "",
             "Medians of %s, one thread, `%s`; host %s with %s CPUs at %s MHz." % (
                 "repetitions", "bash benchmarks/run.sh", context.get("host_name", "?"),
                 context.get("num_cpus", "?"), context.get("mhz_per_cpu", "?")),
             "Times in µs, through the public calls: *first form* is the notebook's call (new outputs and a cache "
             "each time), *second form* writes into the caller's tensors; *kernel* is the internal Eigen kernel "
             "alone (not callable by users), shown to price the checks and the dispatch. The Loop path is timed "
             "through the second form. Rates: GFLOP/s for convolutions (2·m·n_H·n_W·n_C·f·f·n_C_prev per "
             "direction; backward counts data and weights), GB/s of input + output for pooling and padding, both "
             "of the second form. Ratios above 1 favour cnnprim.", ""]
    chart = []

    for dtype in ("float", "double"):
        for func, title, onednn in (("BM_ConvForward", "conv_forward", "BM_OneDnnConvForward"),
                                    ("BM_ConvBackward", "conv_backward", "BM_OneDnnConvBackward")):
            lines += ["## %s, %s" % (title, dtype), "",
                      "| shape (m, H, W, C_prev, C, f, s, pad) | Loop | first form | second form | kernel "
                      "| second − kernel | first ÷ second | GFLOP/s | Eigen/Loop |"
                      + (" oneDNN | cnnprim/oneDNN |" if dtype == "float" else ""),
                      "|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if dtype == "float" else "")]
            for args in conv_args:
                loop = get(func, [dtype, "Loop", "Second"], args)
                first, second, kernel = (eigen(func, dtype, c, args) for c in ("First", "Second", "Kernel"))
                if second is None:
                    continue
                row = "| %s | %s | %s | %s | %s | %s | %s | %.1f | %s |" % (
                    shape_label(args), "skipped" if loop is None else fmt_time(loop), fmt_time(first),
                    fmt_time(second), fmt_time(kernel), overhead(second, kernel),
                    ratio(first and first["real_time"], second["real_time"]), rate(second, "FLOPS"),
                    ratio(loop and loop["real_time"], second["real_time"]))
                if dtype == "float":
                    key = args + ("/part:0" if func == "BM_ConvBackward" else "")
                    dn = get(onednn, [], key)
                    r = ratio(rate(second, "FLOPS"), dn and rate(dn, "FLOPS"))
                    row += " %s | %s |" % (fmt_time(dn), r)
                    if dn:
                        chart.append(("%s %s" % (title.replace("conv_", ""), shape_label(args)), r))
                lines.append(row)
            lines.append("")

    for dtype in ("float", "double"):
        lines += ["## pooling, %s" % dtype, "",
                  "| shape (m, H, W, C, f, s) | pass | Loop | first form | second form | kernel | second − kernel "
                  "| first ÷ second | GB/s | Eigen/Loop |"
                  + (" oneDNN | cnnprim/oneDNN |" if dtype == "float" else ""),
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if dtype == "float" else "")]
        for args in pool_args:
            # The argmax rows: max_pool_forward writes the argmax (beside oneDNN's training forward, which writes
            # its workspace), max_pool_backward reads it; their first form is the notebook's call.
            for func, mode, onednn, label in (
                    ("BM_PoolForward", "Max", "BM_OneDnnPoolForward<pooling_max>", "forward max"),
                    ("BM_MaxPoolArgmaxForward", None, "BM_OneDnnPoolForward<pooling_max, forward_training>",
                     "forward max, argmax"),
                    ("BM_PoolForward", "Average", "BM_OneDnnPoolForward<pooling_avg_exclude_padding>",
                     "forward average"),
                    ("BM_PoolBackward", "Max", "BM_OneDnnPoolBackward<pooling_max>", "backward max"),
                    ("BM_MaxPoolArgmaxBackward", None, "BM_OneDnnPoolBackward<pooling_max>", "backward max, argmax"),
                    ("BM_PoolBackward", "Average", "BM_OneDnnPoolBackward<pooling_avg_exclude_padding>",
                     "backward average")):
                loop = get(func, [dtype] + ([mode] if mode else []) + ["Loop", "Second"], args)
                first, second, kernel = (eigen(func, dtype, c, args, mode) for c in ("First", "Second", "Kernel"))
                if second is None:
                    continue
                row = "| %s | %s | %s | %s | %s | %s | %s | %s | %.1f | %s |" % (
                    shape_label(args), label, fmt_time(loop), fmt_time(first), fmt_time(second), fmt_time(kernel),
                    overhead(second, kernel), ratio(first and first["real_time"], second["real_time"]),
                    rate(second, "bytes_per_second"), ratio(loop and loop["real_time"], second["real_time"]))
                if dtype == "float":
                    f, p, _ = split(onednn + "/" + args)
                    dn = get(f, p, args)
                    r = ratio(rate(second, "bytes_per_second"), dn and rate(dn, "bytes_per_second"))
                    row += " %s | %s |" % (fmt_time(dn), r)
                    if dn:
                        chart.append(("pool %s %s" % (label, shape_label(args)), r))
                lines.append(row)
        lines.append("")

    pad_args = in_order(a for (f, p, a) in rows if f == "BM_ZeroPad" and p == ("float", "Eigen"))
    lines += ["## zero_pad", "", "| shape (m, H, W, C, ·, ·, ·, pad) | type | Loop µs | Eigen µs | Eigen GB/s | Eigen/Loop |",
              "|---|---|---:|---:|---:|---:|"]
    for args in pad_args:
        for dtype in ("float", "double"):
            loop, eig = get("BM_ZeroPad", [dtype, "Loop"], args), get("BM_ZeroPad", [dtype, "Eigen"], args)
            if eig and loop:
                lines.append("| %s | %s | %s | %s | %.1f | %s |" % (shape_label(args), dtype, fmt_time(loop), fmt_time(eig),
                                                                 rate(eig, "bytes_per_second"),
                                                                 ratio(loop["real_time"], eig["real_time"])))
    lines.append("")

    lines += ["## The forum thread's question: a (2, 3, 3, 4) slice and 8 filters", "",
              "| approach | filter HWIO (3, 3, 4, 8) ns | filter OHWI (8, 3, 3, 4) ns |", "|---|---:|---:|"]
    for func, label in (("BM_ForumLoop", "plain loop"), ("BM_ForumBroadcast", "broadcast-multiply-and-sum"),
                        ("BM_ForumContraction", "Eigen contraction")):
        hwio, ohwi = get(func, ["HWIO"], ""), get(func, ["OHWI"], "")
        if hwio and ohwi:
            lines.append("| %s | %.0f | %.0f |" % (label, hwio["real_time"], ohwi["real_time"]))
    lines.append("")

    gemm = [(p, a, b) for (f, p, a), b in rows.items() if f == "BM_EigenGemm"]
    if gemm:
        lines += ["## Eigen's GEMM on the same matrix products, for reference", "",
                  "| type | (rows, depth, cols) | µs | GFLOP/s |", "|---|---|---:|---:|"]
        for p, a, b in gemm:
            lines.append("| %s | %s | %s | %.1f |" % (p[0], shape_label(a), fmt_time(b), rate(b, "FLOPS")))
        lines.append("")
    if skipped:
        lines += ["Skipped (the loop path over 0.4 GFLOP per call): %d benchmarks." % len(skipped), ""]

    lines += thread_table(medians)
    lines += after_other_work_table(medians)
    lines += off_line_table(medians)
    lines += layer_table(medians)

    with open(out + "/results.md", "w") as f:
        f.write("\n".join(lines))

    with open(out + "/ratios.dat", "w") as f:
        for label, r in chart:
            f.write('"%s" %s\n' % (label, r))
    script = """set terminal pngcairo size 1400,700 font ',9'
set output '%s/ratios.png'
set title 'cnnprim (second form, Eigen path) / oneDNN execute(), float, one thread: rate ratio (above 1: cnnprim faster)'
set style fill solid 0.7
set boxwidth 0.7
set xtics rotate by -60 noenhance
set ylabel 'ratio'
set grid ytics
set yrange [0:*]
plot '%s/ratios.dat' using 0:2:xtic(1) with boxes notitle, 1 with lines lw 2 title 'parity'
""" % (out, out)
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


def layer_table(medians):
    """Real networks' layers (layers_bench.cpp): the second form beside oneDNN, forward and backward."""
    times = {}
    for name, b in medians.items():
        m = re.match(r"BM_(OneDnn)?Layer(Forward|Backward)/(.*)$", name)
        if m:
            times.setdefault(m.group(3), {})[(bool(m.group(1)), m.group(2))] = b
    if not times:
        return []
    names = {"groups": "", "dilation": "", "same": ""}
    lines = ["## Layers of real networks, float, one thread", "",
             "The second form (Eigen path) beside oneDNN's execute() in the same run, µs (medians); GFLOP/s are "
             "cnnprim's; ratios above 1 favour cnnprim. *g* groups, *d* dilation, *same*: TensorFlow's 'SAME'.", "",
             "| layer (m, H, W, C_prev, C, f, s, pad) | g | d | same | forward | oneDNN | ratio | GFLOP/s "
             "| backward | oneDNN | ratio | GFLOP/s |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    # In the order benchmarks/layers.hpp lists them.
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "layers.hpp")) as f:
        listed = re.findall(r"^\s*\{([\d, ]+)\},", f.read(), re.M)
    order = {tuple(int(v) for v in row.split(",")): k for k, row in enumerate(listed)}
    key = lambda a: order.get(tuple(int(kv.split(":")[1]) for kv in a.split("/")), len(order))
    for args in sorted(times, key=key):
        t = times[args]
        values = dict(kv.split(":") for kv in args.split("/"))
        shape = "(" + ", ".join(values[k] for k in ("m", "n_H", "n_W", "n_C_prev", "n_C", "f", "stride", "pad")) + ")"
        cells = []
        for direction in ("Forward", "Backward"):
            ours, theirs = t.get((False, direction)), t.get((True, direction))
            cells += [fmt_time(ours), fmt_time(theirs),
                      ratio(theirs and theirs["real_time"], ours and ours["real_time"]),
                      "%.0f" % rate(ours, "FLOPS") if ours else "—"]
        lines.append("| %s | %s | %s | %s | %s |" % (shape, values["groups"], values["dilation"],
                                                      "yes" if values["same"] == "1" else "", " | ".join(cells)))
    return lines + [""]


def thread_table(medians):
    """The scaling table: cnnprim's second form and oneDNN at 1 and 2 threads (threads_bench.cpp)."""
    times = {}
    for name, b in medians.items():
        m = re.match(r"BM_(?:OneDnnThreads<BM_OneDnn)?(\w+?)(?:Threads)?(?:<(?:dnnl::algorithm::|PoolMode::)(\w+)>)?"
                     r"(?:, \d+>)?/(.*)/threads:(\d+)/real_time$", name)
        if not m:
            continue
        op, mode, args, threads = m.groups()
        mode = {"pooling_max": "Max", "pooling_avg_exclude_padding": "Average"}.get(mode, mode)
        who = "oneDNN" if name.startswith("BM_OneDnn") else "cnnprim"
        key = (op, mode or "", args.replace("/part:0", ""))
        times.setdefault(key, {})[(who, int(threads))] = b["real_time"]
    if not times:
        return []
    shape_order = listed_shapes()
    lines = ["## Threads: the second form on 1 and 2 threads, float", "",
             "Real time in µs (medians of the same run); *speed-up* is cnnprim's 1-thread time over its 2-thread "
             "time, *vs oneDNN* is oneDNN's 2-thread time over cnnprim's (above 1 favours cnnprim).", "",
             "| call | shape | cnnprim 1 thread | cnnprim 2 threads | speed-up | oneDNN 1 thread | oneDNN 2 threads "
             "| vs oneDNN, 2 threads |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    order = ["ConvForward", "ConvBackward", "ConvBackwardData", "ConvBackwardWeights", "PoolForward", "PoolBackward"]
    for key in sorted(times, key=lambda k: (order.index(k[0]), k[1], shape_order.get(shape_label(k[2]), 0))):
        t = times[key]
        ours1, ours2 = t.get(("cnnprim", 1)), t.get(("cnnprim", 2))
        dn1, dn2 = t.get(("oneDNN", 1)), t.get(("oneDNN", 2))
        call = key[0] + (" " + key[1].lower() if key[1] else "")
        cell = lambda x: "—" if x is None else ("%.2f" % x if x < 10 else "%.1f" % x if x < 100 else "%.0f" % x)
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            call, shape_label(key[2]), cell(ours1), cell(ours2), ratio(ours1, ours2), cell(dn1), cell(dn2),
            ratio(dn2, ours2)))
    return lines + [""]


def pair_table(medians, pattern, title, text, columns, keys):
    """A table of the large pooling shape's calls (threads_bench.cpp) at two values of an argument: `pattern` matches a
    benchmark's name into (mode, backward, [read,] args, value); `keys` are the two values, in `columns`' order."""
    times = {}
    for name, b in medians.items():
        m = re.match(pattern, name)
        if m:
            mode, backward, *read, args, value = m.groups()
            call = ("PoolBackward " if backward == "true" else "PoolForward ") + mode.lower()
            call += ", then its output read" if read == ["true"] else ""
            times.setdefault((call, shape_label(args)), {})[int(value)] = b["real_time"]
    if not times:
        return []
    lines = [title, "", text, "", "| call | shape | %s |" % " | ".join(columns), "|---|---|---:|---:|---:|"]
    for (call, shape), t in sorted(times.items()):
        first, second = t.get(keys[0]), t.get(keys[1])
        lines.append("| %s | %s | %s | %s | %s |" % (call, shape, "%.0f" % first if first else "—",
                                                      "%.0f" % second if second else "—", ratio(first, second)))
    return lines + [""]


def after_other_work_table(medians):
    """The large pooling shape with the caches filled by other work between calls."""
    return pair_table(
        medians,
        r"BM_PoolAfterOtherWork<PoolMode::(\w+), (true|false), (true|false)>/(.*)/thread_count:(\d+)/real_time$",
        "## The large pooling shape after other work, float",
        "Each call timed after 64 MiB of other data were written (outside the timing), as a network's other layers do "
        "between two calls; the Threads table repeats one call, whose data then stays in the last-level cache. \"Then "
        "its output read\": the timed part also sums the call's output (A, or dA_prev) on the calling thread, as the "
        "next layer reads it. Real time in µs (medians of the same run).",
        ["1 thread", "2 threads", "speed-up"], (1, 2))


def off_line_table(medians):
    """The large pooling shape into views 0 and 16 bytes past a 64-byte line."""
    return pair_table(
        medians, r"BM_PoolIntoViewOffLine<PoolMode::(\w+), (true|false)>/(.*)/offset:(\d+)/real_time$",
        "## The large pooling shape into a view off a line, float, one thread",
        "The second form into a `TensorView` of memory from one allocator, 64-byte aligned and 16 bytes past a line "
        "(where glibc puts a large `std::vector`), whose output the pass then streams a row at a time. Real time in µs "
        "(medians of the same run).",
        ["aligned", "16 bytes past a line", "aligned ÷ off the line"], (0, 4))


def readme(path):
    """README's two summary tables (float, one thread, second form), from one run's JSON."""
    _, medians, _ = load(path)
    by = {}
    for name, b in medians.items():
        func, params, args = split(name)
        by[(func, tuple(params), args)] = b
    t = lambda b: b["real_time"] if b else None
    names = {"(10, 4, 4, 3, 8, 2, 2, 2)": " notebook", "(2, 5, 7, 4, 8, 3, 1, 0)": " forum thread",
             "(1, 33, 33, 3, 1, 5, 2, 0)": " forum problem", "(1, 6, 6, 3, 10, 3, 1, 0)": " lecture"}
    order = listed_shapes()
    conv = sorted({a for (f, p, a) in by if f == "BM_ConvForward"}, key=lambda a: order.get(shape_label(a), 99))
    print("| conv (m, H, W, C_prev, C, f, s, pad) | forward µs | GFLOP/s | ÷ oneDNN | first form ÷ second "
          "| backward µs | GFLOP/s | ÷ oneDNN | Eigen/Loop (fwd) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for a in conv:
        fwd = by.get(("BM_ConvForward", ("float", "Eigen", "Second"), a))
        first = by.get(("BM_ConvForward", ("float", "Eigen", "First"), a))
        loop = by.get(("BM_ConvForward", ("float", "Loop", "Second"), a))
        bwd = by.get(("BM_ConvBackward", ("float", "Eigen", "Second"), a))
        dn_f = by.get(("BM_OneDnnConvForward", (), a))
        dn_b = by.get(("BM_OneDnnConvBackward", (), a + "/part:0"))
        label = shape_label(a)
        print("| %s%s | %s | %.1f | %s | %s | %s | %.1f | %s | %s |" % (
            label, names.get(label, ""), fmt_time(fwd), rate(fwd, "FLOPS"), ratio(t(dn_f), t(fwd)),
            ratio(t(first), t(fwd)), fmt_time(bwd), rate(bwd, "FLOPS"), ratio(t(dn_b), t(bwd)),
            ratio(t(loop), t(fwd)) if loop else "skipped"))
    print()
    pools = sorted({a for (f, p, a) in by if f == "BM_PoolForward"}, key=lambda a: order.get(shape_label(a), 99))
    # (benchmark, mode, oneDNN's benchmark and parameters): the argmax form beside oneDNN's training forward,
    # which writes its workspace, and the backward that reads it.
    calls = [("BM_PoolForward", "Max", "BM_OneDnnPoolForward", ("pooling_max",)),
             ("BM_MaxPoolArgmaxForward", None, "BM_OneDnnPoolForward", ("pooling_max", "forward_training")),
             ("BM_PoolForward", "Average", "BM_OneDnnPoolForward", ("pooling_avg_exclude_padding",)),
             ("BM_PoolBackward", "Max", "BM_OneDnnPoolBackward", ("pooling_max",)),
             ("BM_MaxPoolArgmaxBackward", None, "BM_OneDnnPoolBackward", ("pooling_max",)),
             ("BM_PoolBackward", "Average", "BM_OneDnnPoolBackward", ("pooling_avg_exclude_padding",))]
    print("| pooling (m, H, W, C, f, s) | forward max | forward max, argmax | forward avg | backward max "
          "| backward max, argmax | backward avg |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    params = lambda m, call: ("float",) + ((m,) if m else ()) + ("Eigen", call)
    for a in pools:
        ours = [by.get((f, params(m, "Second"), a)) for f, m, _, _ in calls]
        first = [by.get((f, params(m, "First"), a)) for f, m, _, _ in calls]
        dn = [by.get((f, p, a)) for _, _, f, p in calls]
        label = shape_label(a)
        small = label.startswith("(2, 4, 4")
        cell = lambda b: "%s µs" % fmt_time(b) + ("" if small else ", %.1f GB/s" % (b["bytes_per_second"] / 1e9))
        print("| %s%s | %s |" % (label, " notebook" if small else "", " | ".join(cell(b) for b in ours)))
        print("| ÷ oneDNN | %s |" % " | ".join(ratio(t(d), t(o)) for d, o in zip(dn, ours)))
        if not small:
            print("| first form ÷ second | %s |" % " | ".join(ratio(t(f), t(o)) for f, o in zip(first, ours)))


def portable(paths):
    """One table: each second-form call's median in the portable, AVX2 and native builds (benchmarks/portable.sh)."""
    shape_order = listed_shapes()
    builds = [load(p)[1] for p in paths]
    names = sorted(builds[0], key=lambda n: (split(n)[0], split(n)[1], shape_order.get(shape_label(split(n)[2]), 0)))
    print("# What a portable build costs\n")
    print("Medians in µs of the second-form calls (Eigen path, float, one thread), from `bash benchmarks/portable.sh`:")
    print("the same benchmarks built three ways and run one after the other. *default*: `-O3`, the compiler's")
    print("baseline x86-64 (SSE2); *avx2*: `-O3 -mavx2 -mfma` (the `avx2` preset, or linking `cnnprim::avx2`);")
    print("*native*: `-O3 -march=native` (here AVX-512).\n")
    print("| call | shape | default | avx2 | native | default ÷ avx2 | default ÷ native |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name in names:
        func, params, args = split(name)
        runs = [b.get(name) for b in builds]
        if None in runs:
            continue
        call = func.replace("BM_", "") + ("" if len(params) < 4 else " " + params[1].lower())
        t = [r["real_time"] for r in runs]
        print("| %s | %s | %s | %s | %s | %s | %s |" % (call, shape_label(args), *(fmt_time(r) for r in runs),
                                                       ratio(t[0], t[1]), ratio(t[0], t[2])))


if __name__ == "__main__" and sys.argv[1] == "--readme":
    readme(sys.argv[2])
elif __name__ == "__main__":
    if sys.argv[1] == "--portable":
        portable(sys.argv[2:])
    else:
        main()
