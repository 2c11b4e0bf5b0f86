#!/usr/bin/env python3
"""Transformer parity: the official NewBie NextDiT_CLIP (models/model.py) against charaforge-cli
run-component, with identical random weights and inputs at the full 3.5B configuration.

usage: nextdit_parity.py REF_DIR SHIM_DIR CLI WORK_DIR [--side 1024] [--cap 256,37] [--out report.json]
  REF_DIR  folder holding the official repo's models/ (fetched into an ignored folder, never committed)
  SHIM_DIR folder with the flash_attn stand-in (shared/gpu/refbench/shim)

Reports max abs error and relative error (max|a-b| / max|b|) of the velocity for:
  ours fp32 vs reference fp32; ours bf16 vs reference bf16 (autocast, as the official demo runs);
  and, for scale, reference bf16 vs reference fp32 (the error bf16 itself introduces).
The q/k and CLIP-projection RMSNorm eps of the reference are set to 1e-5 (apex FusedRMSNorm, which the
official requirements install and training used); the vanilla fallback's 1e-6 would differ slightly.
"""
import argparse, json, os, subprocess, sys, time

import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity_common import error_stats, format_stats  # noqa: E402
from safetensors.torch import save_file, load_file


def stats(a, b):
    return error_stats(a.float(), b.float(), cosine_dim=None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ref"); ap.add_argument("shim"); ap.add_argument("cli"); ap.add_argument("work")
    ap.add_argument("--side", type=int, default=1024)
    ap.add_argument("--cap", default="256,37", help="caption lengths of the batch (padded to the max)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    sys.path.insert(0, args.ref); sys.path.insert(0, args.shim)
    from models.model import NextDiT_3B_GQA_patch2_Adaln_Refiner_WHIT_CLIP
    from models.components import RMSNorm

    torch.manual_seed(0)
    dev = "cuda"
    m = NextDiT_3B_GQA_patch2_Adaln_Refiner_WHIT_CLIP(in_channels=16, qk_norm=True, cap_feat_dim=2560)
    # The reference zero-initialises the gates and the final layer; random values everywhere instead,
    # so that every path carries signal. Norm weights near 1.
    with torch.no_grad():
        for name, p in m.named_parameters():
            if p.dim() == 1 and "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.02 * torch.randn_like(p))
    for mod in m.modules():
        if isinstance(mod, RMSNorm) and hasattr(mod, "eps"):
            mod.eps = max(mod.eps, 1e-5)
    m = m.to(torch.bfloat16)
    sd = {k: v.contiguous() for k, v in m.state_dict().items()}
    os.makedirs(os.path.join(args.work, "model", "transformer"), exist_ok=True)
    save_file(sd, os.path.join(args.work, "model", "transformer", "diffusion_pytorch_model.safetensors"))
    print("saved", len(sd), "tensors,", sum(v.numel() for v in sd.values()), "params", flush=True)

    lens = [int(x) for x in args.cap.split(",")]
    B, L = len(lens), max(lens)
    g = torch.Generator().manual_seed(1)
    h = args.side // 8
    x = torch.randn(B, 16, h, h, generator=g)
    t = torch.tensor([0.3 + 0.4 * i / max(B - 1, 1) for i in range(B)])
    cap = torch.randn(B, L, 2560, generator=g)
    mask = torch.zeros(B, L, dtype=torch.int64)
    for i, n in enumerate(lens):
        mask[i, :n] = 1
    pooled = torch.randn(B, 1024, generator=g)
    inputs = {"x": x, "t": t, "cap_feats": cap, "cap_mask": mask, "clip_pooled": pooled}
    in_path = os.path.join(args.work, "inputs.safetensors")
    save_file({k: v.contiguous() for k, v in inputs.items()}, in_path)

    report = {"config": {"side": args.side, "caption_lengths": lens, "gpu": torch.cuda.get_device_name(0)}}
    m = m.to(dev).eval()
    with torch.no_grad():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            ref_bf16 = m(x.to(dev), t.to(dev), cap.to(dev).bfloat16(), mask.to(dev).int(),
                         clip_text_pooled=pooled.to(dev).bfloat16()).float().cpu()
        m = m.float()
        ref_fp32 = m(x.to(dev), t.to(dev), cap.to(dev), mask.to(dev).int(), clip_text_pooled=pooled.to(dev)).float().cpu()
    del m
    torch.cuda.empty_cache()

    ours = {}
    for dtype in ("bf16", "fp32"):
        out_path = os.path.join(args.work, f"ours_{dtype}.safetensors")
        t0 = time.time()
        subprocess.run([args.cli, "run-component", "--model", os.path.join(args.work, "model"), "--component",
                        "transformer", "--inputs", in_path, "--out", out_path, "--device", "cuda", "--dtype", dtype],
                       check=True)
        ours[dtype] = load_file(out_path)["v"]
        print(f"ours {dtype}: {time.time() - t0:.1f} s (incl. load)", flush=True)

    report["ours_fp32_vs_ref_fp32"] = stats(ours["fp32"], ref_fp32)
    report["ours_bf16_vs_ref_bf16"] = stats(ours["bf16"], ref_bf16)
    report["ours_bf16_vs_ref_fp32"] = stats(ours["bf16"], ref_fp32)
    report["ref_bf16_vs_ref_fp32"] = stats(ref_bf16, ref_fp32)
    print(json.dumps(report, indent=1))
    if args.out:
        json.dump(report, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
