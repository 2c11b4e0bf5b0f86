#!/usr/bin/env python3
"""FLUX VAE parity: CharaForge's LibTorch AutoencoderKL against BFL flux's reference autoencoder.

The reference is BFL's `src/flux/modules/autoencoder.py` (pure torch), kept out of the repo in the
git-ignored `.ref/flux/autoencoder.py` (copy it there from github.com/black-forest-labs/flux). No
diffusers is needed. The script

  1. builds the reference AutoEncoder with FLUX.1's AutoEncoderParams (or a small config, --tiny) and
     seeded random weights, and saves them as `ae.safetensors` (BFL key names) in a model folder;
  2. writes the inputs under run-component's names: `decode_in.safetensors` {"z": [B, 16, h, w]}
     (normalised latent, as the sampler produces) and `encode_in.safetensors` {"image": [B, 3, 8h, 8w]}
     (pixels in [0, 1]);
  3. computes the reference outputs in fp32 and bf16 (see reference_outputs):
       decode: "sample" = Decoder(z / scale + shift), "image" = clamp((sample + 1) / 2, 0, 1)
       encode: "moments" = Encoder(2 image - 1), "latent" = (moments[:, :16] - shift) * scale (the mean)
  4. runs `CLI run-component --model DIR --component vae-decode|vae-encode --inputs IN --out OUT
     --device D --dtype fp32|bf16` for each case (unless --fixtures-only), and prints the max abs error
     and the max relative error max|a - b| / max|b| of "image"/"latent" (required) and
     "sample"/"moments" (when present).

Pass criteria: fp32 against the strict-fp32 reference (no TF32) within --tol-fp32; bf16 against the fp32
reference within --bf16-factor times the reference's own bf16 error (its error against bf16 reference is
printed too, for information: two bf16 computations differ by about as much as each differs from fp32).
Our fp32 on a CUDA LibTorch runs its convolutions in TF32 unless told not to; the script prints what
TF32 alone costs the reference, to read the fp32 numbers against.

--golden prints the numbers of the C++ test Vae.MatchesBflReferenceOnFormulaWeights (tests/core/engine/
test_vae.cpp): a small config with closed-formula weights and inputs, evaluated on CPU in fp32.

Exit status: 0 when every case is within its limit, 1 otherwise, 2 on usage errors.

Example (GPU machine):
  python3 tools/parity/vae_parity.py --cli build/app/charaforge-cli --work /tmp/vae_parity --device cuda
"""
import argparse
import copy
import importlib.util
import os
import subprocess
import sys
import types

import torch
from safetensors.torch import load_file, save_file

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_REF = os.path.join(REPO, ".ref", "flux", "autoencoder.py")

# FLUX.1 ae.safetensors (flux/util.py configs["flux-dev"].ae_params).
FLUX_PARAMS = dict(resolution=256, in_channels=3, ch=128, out_ch=3, ch_mult=[1, 2, 4, 4], num_res_blocks=2,
                   z_channels=16, scale_factor=0.3611, shift_factor=0.1159)
# Small enough to carry around as a fixture (~7 MiB fp32). BFL hard-codes 32 GroupNorm groups, so every
# channel count stays a multiple of 32; four levels keep the x8 factor and the decoder's level reversal.
TINY_PARAMS = dict(FLUX_PARAMS, ch=32, ch_mult=[1, 2, 2, 2])


def install_einops_shim():
    """BFL's AttnBlock needs einops.rearrange for two patterns; provide them when einops is absent."""
    try:
        import einops  # noqa: F401
        return
    except ImportError:
        pass

    def rearrange(t, pattern, **sizes):
        p = " ".join(pattern.split())
        if p == "b c h w -> b 1 (h w) c":
            b, c, h, w = t.shape
            return t.reshape(b, c, h * w).transpose(1, 2).unsqueeze(1)
        if p == "b 1 (h w) c -> b c h w":
            b, _, _, c = t.shape
            return t.squeeze(1).transpose(1, 2).reshape(b, c, sizes["h"], sizes["w"])
        raise NotImplementedError("einops shim: pattern " + pattern)

    mod = types.ModuleType("einops")
    mod.rearrange = rearrange
    sys.modules["einops"] = mod


def load_reference(path):
    if not os.path.isfile(path):
        print(f"reference autoencoder not found: {path}\n"
              "copy src/flux/modules/autoencoder.py of github.com/black-forest-labs/flux there", file=sys.stderr)
        sys.exit(2)
    install_einops_shim()
    spec = importlib.util.spec_from_file_location("bfl_autoencoder", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build_reference(ref, params, seed, device, z_probe):
    torch.manual_seed(seed)
    model = ref.AutoEncoder(ref.AutoEncoderParams(**params), sample_z=False)
    with torch.no_grad():
        # Default init leaves GroupNorm at identity; perturb it so the affine parameters are exercised.
        for name, p in model.named_parameters():
            if p.dim() == 1 and (".norm" in name or "norm_out" in name):
                p.add_(0.1 * torch.randn_like(p))
        model = model.to(device).float().eval()
        # Scale conv_out so the decoded image sits mostly inside [-1, 1]: the [0, 1] clamp of decode
        # would otherwise hide differences in the saturated pixels.
        raw = model.decoder(z_probe.to(device) / params["scale_factor"] + params["shift_factor"])
        gain = 0.5 / raw.float().std().item()
        model.decoder.conv_out.weight.mul_(gain)
        model.decoder.conv_out.bias.mul_(gain)
    return model


def reference_outputs(model, params, z, image, dtype):
    """Reference outputs under run-component's names, weights and activations in `dtype`, the latent
    normalisation in fp32; returned as fp32 CPU tensors.
      decode: sample = Decoder(z / scale + shift), image = clamp((sample + 1) / 2, 0, 1)
      encode: moments = Encoder(2 image - 1), latent = (mean - shift) * scale with mean = moments[:, :C]
              (BFL DiagonalGaussian(sample=False) returns the mean: no sampling)"""
    m = copy.deepcopy(model).to(dtype)
    with torch.no_grad():
        sample = m.decoder((z / params["scale_factor"] + params["shift_factor"]).to(dtype)).float()
        moments = m.encoder((image * 2 - 1).to(dtype)).float()
        mean = torch.chunk(moments, 2, dim=1)[0]
        latent = (mean - params["shift_factor"]) * params["scale_factor"]
    return {"decode": {"image": ((sample + 1) / 2).clamp(0, 1).cpu(), "sample": sample.cpu()},
            "encode": {"latent": latent.cpu(), "moments": moments.cpu()}}


# The golden test of tests/core/engine/test_vae.cpp: a small BFL config whose weights and inputs follow
# closed formulas that the C++ test evaluates with the same ATen ops, so no weight file is needed.
GOLDEN_PARAMS = dict(FLUX_PARAMS, ch=32, ch_mult=[1, 2, 1, 1], num_res_blocks=1)
GOLDEN_DECODE_AT = [0, 100, 333, 575, 800, 1151]
GOLDEN_ENCODE_AT = [0, 17, 45, 70, 95]


def formula_weights(model):
    """Tensor number idx (in sorted BFL key order), element i: v = sin(0.7 i + idx); biases 0.05 v,
    norm weights 1 + 0.1 v, conv weights v / sqrt(fan_in). Computed in float64, stored as float32."""
    sd = model.state_dict()
    with torch.no_grad():
        for idx, key in enumerate(sorted(sd)):
            t = sd[key]
            v = torch.sin(torch.arange(t.numel(), dtype=torch.float64) * 0.7 + idx)
            if key.endswith(".bias"):
                v = v * 0.05
            elif t.dim() == 1:
                v = 1 + 0.1 * v
            else:
                v = v / ((t.numel() / t.shape[0]) ** 0.5)
            t.copy_(v.to(torch.float32).view(t.shape))


def golden(ref):
    model = ref.AutoEncoder(ref.AutoEncoderParams(**GOLDEN_PARAMS), sample_z=False).float().eval()
    formula_weights(model)
    p = GOLDEN_PARAMS
    z = torch.sin(torch.arange(16 * 2 * 3, dtype=torch.float64) * 0.5).to(torch.float32).view(1, 16, 2, 3)
    rgb = (0.5 + 0.5 * torch.sin(torch.arange(3 * 16 * 24, dtype=torch.float64) * 0.3)).to(torch.float32)
    rgb = rgb.view(1, 3, 16, 24)
    with torch.no_grad():
        raw = model.decoder(z / p["scale_factor"] + p["shift_factor"])
        dec = ((raw + 1) / 2).clamp(0, 1).flatten()
        enc = ((torch.chunk(model.encoder(rgb * 2 - 1), 2, dim=1)[0] - p["shift_factor"]) * p["scale_factor"]).flatten()
    print(f"raw decoder output range [{raw.min().item():.4f}, {raw.max().item():.4f}]")
    for name, t, at in (("decode", dec, GOLDEN_DECODE_AT), ("encode", enc, GOLDEN_ENCODE_AT)):
        vals = ", ".join(f"{t[i].item():.7g}" for i in at)
        print(f"{name}: mean {t.mean().item():.7g}, std {t.std().item():.7g}, at {at}: {{{vals}}}")


def errors(ours, ref):
    """(max |a - b|, max |a - b| / max |b|), or None when the shapes differ."""
    ours = ours.float().cpu()
    ref = ref.float().cpu()
    if ours.shape != ref.shape:
        return None
    diff = (ours - ref).abs().max().item()
    return diff, diff / max(ref.abs().max().item(), 1e-12)


# Outputs compared per component: the first is required, the raw one is compared when present
# (it is free of the [0, 1] clamp, so it shows differences the image hides).
OUTPUTS = {"decode": ("image", "sample"), "encode": ("latent", "moments")}
INPUT_NAME = {"decode": "z", "encode": "image"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", help="path to charaforge-cli (required unless --fixtures-only or --golden)")
    ap.add_argument("--work", default="vae_parity_work", help="folder for the model, inputs and outputs")
    ap.add_argument("--ref", default=DEFAULT_REF, help="BFL flux autoencoder.py")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                    help="device of the reference and of the CLI run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--latent-size", default="40x56", help="latent h x w (the image is 8 times that)")
    ap.add_argument("--tiny", action="store_true", help="small VAE (ch 32) instead of FLUX.1's")
    ap.add_argument("--dtypes", default="fp32,bf16")
    ap.add_argument("--cli-extra", default="", help="extra arguments for the CLI, space separated")
    ap.add_argument("--fixtures-only", action="store_true",
                    help="write the model, inputs and reference outputs (ref_{decode,encode}_{dtype}) only")
    ap.add_argument("--tol-fp32", type=float, default=1e-2,
                    help="max relative error allowed in fp32 (TF32 convolutions alone give ~3e-3)")
    ap.add_argument("--bf16-factor", type=float, default=1.5,
                    help="bf16 passes when its error against the fp32 reference is at most this times the"
                         " reference's own bf16 error")
    ap.add_argument("--golden", action="store_true",
                    help="print the golden numbers of tests/core/engine/test_vae.cpp (formula weights, CPU fp32)")
    args = ap.parse_args()
    if not args.fixtures_only and not args.golden and not args.cli:
        ap.error("--cli is required unless --fixtures-only or --golden")

    # The reference in true fp32: no TF32 in convolutions or matrix products.
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False

    ref = load_reference(args.ref)
    if args.golden:
        golden(ref)
        return 0
    params = TINY_PARAMS if args.tiny else FLUX_PARAMS
    h, w = (int(v) for v in args.latent_size.lower().split("x"))
    f = 2 ** (len(params["ch_mult"]) - 1)
    gen = torch.Generator().manual_seed(args.seed + 1)
    z = torch.randn(args.batch, params["z_channels"], h, w, generator=gen)
    image = torch.rand(args.batch, params["in_channels"], h * f, w * f, generator=gen)

    model = build_reference(ref, params, args.seed, args.device, z)
    model_dir = os.path.join(args.work, "model")
    os.makedirs(model_dir, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(model_dir, "ae.safetensors"))
    inputs = {"decode": os.path.join(args.work, "decode_in.safetensors"),
              "encode": os.path.join(args.work, "encode_in.safetensors")}
    save_file({"z": z.contiguous()}, inputs["decode"])
    save_file({"image": image.contiguous()}, inputs["encode"])
    print(f"reference: {'tiny' if args.tiny else 'FLUX.1'} VAE, {sum(v.numel() for v in state.values())} parameters,"
          f" z {list(z.shape)}, image {list(image.shape)}, device {args.device}")

    torch_dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    refs = {}
    for dt in dict.fromkeys(["fp32"] + dtypes):
        refs[dt] = reference_outputs(model, params, z.to(args.device), image.to(args.device), torch_dtypes[dt])
        for comp, outs in refs[dt].items():
            save_file({k: v.contiguous() for k, v in outs.items()},
                      os.path.join(args.work, f"ref_{comp}_{dt}.safetensors"))
    if args.device.startswith("cuda"):
        # LibTorch, like PyTorch, runs fp32 convolutions in TF32 on CUDA unless told not to: show what
        # that alone costs the reference, to read the fp32 numbers below against.
        torch.backends.cudnn.allow_tf32 = True
        tf32 = reference_outputs(model, params, z.to(args.device), image.to(args.device), torch.float32)
        torch.backends.cudnn.allow_tf32 = False
        for comp, outs in tf32.items():
            for name, t in outs.items():
                e = errors(t, refs["fp32"][comp][name])
                print(f"  reference {name} fp32 with TF32 convs vs without: max abs {e[0]:.3e}  max rel {e[1]:.3e}")
    for dt in dtypes:
        if dt != "fp32":
            for comp, outs in refs[dt].items():
                for name, t in outs.items():
                    e = errors(t, refs["fp32"][comp][name])
                    print(f"  reference {name} {dt} vs reference fp32: max abs {e[0]:.3e}  max rel {e[1]:.3e}")
    if args.fixtures_only:
        print(f"fixtures written to {args.work}")
        return 0

    ok = True
    print(f"{'case':<26}{'max abs':>12}{'max rel':>12}{'limit':>12}  result")
    for dt in dtypes:
        for comp in ("decode", "encode"):
            out = os.path.join(args.work, f"ours_{comp}_{dt}.safetensors")
            cmd = [args.cli, "run-component", "--model", model_dir, "--component", f"vae-{comp}",
                   "--inputs", inputs[comp], "--out", out, "--device", args.device, "--dtype", dt]
            cmd += args.cli_extra.split()
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                print(f"vae-{comp} {dt}: FAIL, the CLI exited {res.returncode}\n{res.stdout}{res.stderr}")
                ok = False
                continue
            ours = load_file(out)
            for i, name in enumerate(OUTPUTS[comp]):
                case = f"{name} {dt}"
                if name not in ours:
                    if i == 0:
                        print(f"{case:<26}  FAIL: no '{name}' in {out} (has {sorted(ours)})")
                        ok = False
                    continue
                e = errors(ours[name], refs[dt][comp][name])
                if e is None:
                    print(f"{case:<26}  FAIL: shape {list(ours[name].shape)} != "
                          f"{list(refs[dt][comp][name].shape)}")
                    ok = False
                    continue
                if dt == "fp32":
                    limit, got = args.tol_fp32, e[1]
                    print(f"{case + ' vs ref fp32':<26}{e[0]:>12.3e}{e[1]:>12.3e}{limit:>12.3e}  "
                          f"{'ok' if got <= limit else 'FAIL'}")
                else:
                    e32 = errors(ours[name], refs["fp32"][comp][name])
                    noise = errors(refs[dt][comp][name], refs["fp32"][comp][name])[1]
                    limit, got = args.bf16_factor * noise + 1e-4, e32[1]
                    print(f"{case + ' vs ref ' + dt:<26}{e[0]:>12.3e}{e[1]:>12.3e}")
                    print(f"{case + ' vs ref fp32':<26}{e32[0]:>12.3e}{e32[1]:>12.3e}{limit:>12.3e}  "
                          f"{'ok' if got <= limit else 'FAIL'}")
                ok &= got <= limit
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
