#!/usr/bin/env python3
"""Where one transformer forward's GPU time goes, from a Kineto trace written by charaforge-bench --profile.

  python3 tools/gpu/profile_summary.py TRACE.json [--blocks 38] [--top 25]

Prints: GPU busy time and the span from the first kernel to the last (the difference is the GPU idle inside the
forward: launch gaps, host syncs); kernel time by class (matrix products, attention, our fused kernels, other
elementwise/copies) and by the ATen op that launched them; the top kernels. "per block" divides by --blocks
(36 layers + 2 noise-refiner blocks of the released model; the small context-refiner blocks are counted in).
"""
import argparse
import collections
import json
import re


def kernel_class(name):
    n = name.lower()
    if re.search(r"fmha|flash|cudnn|attention|sdpa", n):
        return "attention"
    if re.search(r"gemm|nvjet|cutlass|xmma|sm90_|cublas|matmul", n):
        return "matmul"
    if "charaforge" in n:
        return "fused (ours)"
    if re.search(r"copy|cat|memcpy|memset|fill", n):
        return "copy/fill"
    if re.search(r"norm", n):
        return "norm"
    return "elementwise/other"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--blocks", type=int, default=38)
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    events = json.load(open(a.trace))["traceEvents"]
    ops = {}
    kernels = []
    for e in events:
        if e.get("ph") != "X":
            continue
        cat = e.get("cat", "")
        ext = (e.get("args") or {}).get("External id")
        if cat == "cpu_op" and ext is not None:
            ops[ext] = e["name"]
        elif cat in ("kernel", "gpu_memcpy", "gpu_memset"):
            kernels.append(e)
    if not kernels:
        print("no kernels in", a.trace)
        return
    busy = sum(k["dur"] for k in kernels) / 1000.0
    t0 = min(k["ts"] for k in kernels)
    t1 = max(k["ts"] + k["dur"] for k in kernels)
    span = (t1 - t0) / 1000.0
    nb = a.blocks
    print(f"{a.trace}: {len(kernels)} kernels, GPU busy {busy:.2f} ms, span {span:.2f} ms, idle {span - busy:.2f} ms")
    by_class = collections.Counter()
    by_op = collections.Counter()
    n_op = collections.Counter()
    by_kernel = collections.Counter()
    n_kernel = collections.Counter()
    for k in kernels:
        d = k["dur"] / 1000.0
        by_class[kernel_class(k["name"])] += d
        op = ops.get((k.get("args") or {}).get("External id"), "(no op)")
        by_op[op] += d
        n_op[op] += 1
        short = k["name"][:110]
        by_kernel[short] += d
        n_kernel[short] += 1
    print(f"\n{'class':22} {'ms/forward':>10} {'ms/block':>9} {'share':>6}")
    for c, d in by_class.most_common():
        print(f"{c:22} {d:10.2f} {d / nb:9.3f} {100 * d / busy:5.1f}%")
    print(f"\n{'launching op':40} {'kernels':>7} {'ms/forward':>10} {'ms/block':>9}")
    for o, d in by_op.most_common(a.top):
        print(f"{o[:40]:40} {n_op[o]:7d} {d:10.2f} {d / nb:9.3f}")
    print(f"\n{'kernel':110} {'n':>5} {'ms':>8}")
    for kname, d in by_kernel.most_common(a.top):
        print(f"{kname:110} {n_kernel[kname]:5d} {d:8.2f}")


if __name__ == "__main__":
    main()
