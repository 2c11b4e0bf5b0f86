"""big-lama parity and reference throughput: advimman/lama's FFCResNetGenerator (unmodified
saicinpainting/training/modules/ffc.py, the big-lama generator config) loaded with the random weights that
tools/bench/lama_bench wrote, run on the inputs it saved; prints max abs/rel error against our outputs
(strict fp32 and TF32) and the reference's images/s batched and one image at a time.

Usage: python3 tools/parity/lama_parity.py LAMA_REPO WORK_DIR [--batches 1,4,8,16] [--iters 10] [--json OUT]
       [--no-timing]
LAMA_REPO is a checkout (or copy) of advimman/lama holding saicinpainting/; it is never committed here.
"""
import argparse
import glob
import json
import os
import sys
import time
import types

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity_common import error_stats, format_stats  # noqa: E402

# big-lama.yaml generator block (configs/training/big-lama.yaml).
BIG_LAMA = dict(input_nc=4, output_nc=3, ngf=64, n_downsampling=3, n_blocks=18, add_out_act="sigmoid",
                init_conv_kwargs=dict(ratio_gin=0, ratio_gout=0, enable_lfu=False),
                downsample_conv_kwargs=dict(ratio_gin=0, ratio_gout=0, enable_lfu=False),
                resnet_conv_kwargs=dict(ratio_gin=0.75, ratio_gout=0.75, enable_lfu=False))


def import_ffc(repo):
    # Packages as bare namespaces (their __init__ files import the whole training stack); third-party modules
    # that ffc.py's imports pull in but the generator never uses are stubbed.
    for name in ["saicinpainting", "saicinpainting.training", "saicinpainting.training.modules"]:
        m = types.ModuleType(name)
        m.__path__ = [os.path.join(repo, *name.split("."))]
        sys.modules[name] = m
    for name in ["pytorch_lightning", "kornia", "kornia.geometry", "kornia.geometry.transform"]:
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["pytorch_lightning"].seed_everything = lambda *a, **k: None
    sys.modules["kornia.geometry.transform"].rotate = None
    import saicinpainting.training.modules.ffc as ffc  # noqa: E402
    return ffc


def timed(fn, iters):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / iters * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lama_repo")
    ap.add_argument("work_dir")
    ap.add_argument("--batches", default="1,4,8,16")
    ap.add_argument("--size", default="512x512")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--json")
    ap.add_argument("--no-timing", action="store_true", help="parity only")
    args = ap.parse_args()
    ffc = import_ffc(args.lama_repo)
    dev = torch.device("cuda")
    gen = ffc.FFCResNetGenerator(**BIG_LAMA)
    state = load_file(os.path.join(args.work_dir, "weights.safetensors"))
    gen.load_state_dict(state, strict=True)
    gen = gen.to(dev).eval()
    report = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "parity": {}, "reference": []}
    print("GPU:", report["gpu"], "torch", report["torch"])

    with torch.inference_mode():
        for path in sorted(glob.glob(os.path.join(args.work_dir, "parity_*.safetensors"))):
            fx = load_file(path)
            x = fx["x"].to(dev)
            size = os.path.basename(path)[len("parity_"):-len(".safetensors")]
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
            ref = gen(x).cpu()
            torch.backends.cudnn.allow_tf32 = True
            ref_tf32 = gen(x).cpu()
            s = error_stats(fx["y"], ref, cosine_dim=None)
            st = error_stats(fx["y_tf32"], ref_tf32, cosine_dim=None)
            s_tf32_vs_fp32 = error_stats(ref_tf32, ref, cosine_dim=None)
            report["parity"][size] = {"fp32": s, "tf32": st, "reference_tf32_vs_fp32": s_tf32_vs_fp32}
            print(format_stats(f"parity {size} fp32 (TF32 off)", s))
            print(format_stats(f"parity {size} TF32 convolutions", st))
            print(format_stats(f"  reference TF32 vs its own fp32 {size}", s_tf32_vs_fp32))
            # Our narrow compute paths against the reference's strict fp32: they match when their error is of the
            # size of the error that the reference's own default (TF32) path makes.
            for name in ("y_fp16", "y_bf16"):
                if name in fx:
                    sn = error_stats(fx[name], ref, cosine_dim=None)
                    report["parity"][size][name] = sn
                    print(format_stats(f"parity {size} ours {name[2:]} vs reference fp32", sn))

        if args.no_timing:
            args.batches = ""
        # Reference throughput, PyTorch defaults (TF32 cuDNN convolutions) plus cudnn.benchmark like ours.
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
        w, h = (int(v) for v in args.size.split("x"))
        for b in (int(v) for v in args.batches.split(",") if v):
            x = torch.rand(b, 4, h, w, device=dev)
            ms = timed(lambda: gen(x), args.iters)
            row = {"impl": "reference", "mode": "batched", "B": b, "ms_per_batch": ms, "images_per_s": 1000.0 * b / ms}
            report["reference"].append(row)
            print(json.dumps(row))
        if args.no_timing:
            return report_out(report, args.json)
        # For information: the reference under autocast (not its default; IOPaint runs it in fp32).
        x8 = torch.rand(8, 4, h, w, device=dev)
        for name, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
            try:
                with torch.autocast("cuda", dtype=dtype):
                    ms = timed(lambda: gen(x8), args.iters)
            except RuntimeError as e:  # torch.fft takes no bf16: the reference has no bf16 path
                row = {"impl": "reference", "mode": "batched_autocast_" + name, "B": 8,
                       "unsupported": str(e).splitlines()[0]}
                report["reference"].append(row)
                print(json.dumps(row))
                continue
            row = {"impl": "reference", "mode": "batched_autocast_" + name, "B": 8, "ms_per_batch": ms,
                   "images_per_s": 8000.0 / ms}
            report["reference"].append(row)
            print(json.dumps(row))
        x1 = torch.rand(1, 4, h, w, device=dev)
        ms8 = timed(lambda: [gen(x1) for _ in range(8)], max(2, args.iters // 2))
        row = {"impl": "reference", "mode": "one_at_a_time", "B": 8, "ms_per_8": ms8, "images_per_s": 8000.0 / ms8}
        report["reference"].append(row)
        print(json.dumps(row))
    report_out(report, args.json)


def report_out(report, path):
    if path:
        with open(path, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
