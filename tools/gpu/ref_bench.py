#!/usr/bin/env python3
"""Times the official NewBie NextDiT (random bf16 weights, full 3.5B config) on one GPU: the reference that
tools/gpu/bench_compare.sh sets our charaforge-bench against, in the same run on the same GPU.
Extends shared/gpu/refbench/bench.py with the case matrix and the app's mixed-length CFG batch.

usage: ref_bench.py REF_DIR SHIM_DIR OUT.json [--batches 2,8] [--sizes 1024] [--captions 256]
                    [--mixed 300,1] [--iters 5] [--compile]
  REF_DIR  folder holding the official repo's models/ (fetched, never committed)
  SHIM_DIR the flash_attn stand-in (shared/gpu/refbench/shim)
"""
import argparse, json, sys, time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ref"); ap.add_argument("shim"); ap.add_argument("out")
    ap.add_argument("--batches", default="2,8"); ap.add_argument("--sizes", default="1024")
    ap.add_argument("--captions", default="256"); ap.add_argument("--mixed", default="300,1")
    ap.add_argument("--iters", type=int, default=5); ap.add_argument("--compile", action="store_true")
    a = ap.parse_args()
    sys.path.insert(0, a.ref); sys.path.insert(0, a.shim)
    from models.model import NextDiT_3B_GQA_patch2_Adaln_Refiner_WHIT_CLIP
    ints = lambda s: [int(x) for x in s.split(",") if x]
    torch.manual_seed(0)
    dev = "cuda"
    m = NextDiT_3B_GQA_patch2_Adaln_Refiner_WHIT_CLIP(in_channels=16, qk_norm=True, cap_feat_dim=2560)
    m = m.to(dev, torch.bfloat16).eval()
    res = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "cases": []}

    def run(model, mode, kind, B, side, lens):
        L = max(lens)
        x = torch.randn(B, 16, side // 8, side // 8, device=dev, dtype=torch.bfloat16)
        t = torch.full((B,), 0.5, device=dev)
        cap = torch.randn(B, L, 2560, device=dev, dtype=torch.bfloat16)
        mask = torch.zeros(B, L, device=dev, dtype=torch.int32)
        for i, n in enumerate(lens):
            mask[i, :n] = 1
        clip = torch.randn(B, 1024, device=dev, dtype=torch.bfloat16)
        torch.cuda.reset_peak_memory_stats()
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
            for _ in range(2):
                model(x, t, cap, mask, clip_text_pooled=clip)
            ms = []
            for _ in range(a.iters):
                torch.cuda.synchronize(); t0 = time.perf_counter()
                model(x, t, cap, mask, clip_text_pooled=clip)
                torch.cuda.synchronize(); ms.append((time.perf_counter() - t0) * 1000)
        ms = sorted(ms)[len(ms) // 2]
        r = {"mode": mode, "kind": kind, "batch": B, "size": side, "caption_lengths": lens,
             "ms_per_forward": round(ms, 2), "ms_per_image_step": round(ms / (B / 2) if B >= 2 else ms, 2),
             "peak_allocated_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)}
        res["cases"].append(r)
        print(r, flush=True)

    def matrix(model, mode, mixed):
        for side in ints(a.sizes):
            for B in ints(a.batches):
                for L in ints(a.captions):
                    run(model, mode, "uniform", B, side, [L] * B)
            if mixed:
                mx = ints(a.mixed)
                for B in ints(a.batches):
                    if B >= 2 and B % 2 == 0:
                        run(model, mode, "cfg-mix", B, side, [mx[0]] * (B // 2) + [mx[1]] * (B // 2))

    matrix(m, "eager", True)
    if a.compile:
        matrix(torch.compile(m), "compile", False)  # the shim's per-sample loop breaks the graph on masks
    json.dump(res, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
