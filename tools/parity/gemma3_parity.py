#!/usr/bin/env python3
"""Parity of CharaForge's Gemma3 text encoder against transformers.

Builds transformers' Gemma3 text model (gemma-3-4b-it text config by default) with seeded random weights,
writes it as an official NewBie `text_encoder/` folder (multimodal config.json with `text_config`,
`model.safetensors` with `language_model.model.*` keys, bf16), runs a fixed right-padded token batch and
keeps hidden_states[-2] (= output of decoder layer num_layers - 2, before the final norm). Then runs

    CLI run-component --model DIR --component gemma --inputs IN.safetensors --out OUT.safetensors [extra]

for bf16 and fp32 and prints max abs error and max relative error (max|a-b| / max|b|) over the valid
(unpadded) positions. Exit status 1 when an error is above its threshold.

Needs torch, transformers (4.5x or 5.x), safetensors; no network. Example (GPU box):
    python3 tools/parity/gemma3_parity.py build/app/charaforge-cli /tmp/gemma_parity --device cuda
A smaller, faster variant that also makes the sliding window bite inside the sequence:
    ... --layers 8 --sliding-window 32 --length 96
"""
import argparse
import json
import os
import shlex
import subprocess
import sys

import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity_common import error_stats, format_stats  # noqa: E402
from safetensors.torch import load_file, save_file


def build_config(args):
    from transformers import Gemma3TextConfig

    common = dict(
        vocab_size=262208,
        hidden_size=2560,
        intermediate_size=10240,
        num_hidden_layers=args.layers,
        num_attention_heads=8,
        num_key_value_heads=4,
        head_dim=256,
        hidden_activation="gelu_pytorch_tanh",
        max_position_embeddings=131072,
        rms_norm_eps=1e-6,
        query_pre_attn_scalar=256,
        sliding_window=args.sliding_window,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
        attention_bias=False,
        attn_logit_softcapping=None,
        final_logit_softcapping=None,
    )
    rope_v5 = {
        "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1_000_000.0},
        "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0},
    }
    try:  # transformers 5: per-layer-type rope_parameters
        cfg = Gemma3TextConfig(**common, rope_parameters=rope_v5)
        if not isinstance(getattr(cfg, "rope_parameters", None), dict) or "full_attention" not in cfg.rope_parameters:
            raise TypeError("rope_parameters not understood")
    except TypeError:  # transformers 4.5x
        cfg = Gemma3TextConfig(
            **common,
            rope_theta=1_000_000.0,
            rope_local_base_freq=10_000.0,
            rope_scaling={"rope_type": "linear", "factor": 8.0},
        )
    cfg._attn_implementation = args.attn
    return cfg


def check_rope(model, cfg):
    """The reference must really use linear-8 RoPE on full layers and base 10000 on sliding ones."""
    rot = model.model.rotary_emb
    hd = cfg.head_dim
    expect_full = 1.0 / (1_000_000.0 ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd)) / 8.0
    expect_local = 1.0 / (10_000.0 ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    got_full = getattr(rot, "full_attention_inv_freq", None)
    got_local = getattr(rot, "sliding_attention_inv_freq", None)
    if got_full is None:  # transformers 4.5x: separate rotary_emb_local with inv_freq
        got_full = rot.inv_freq
        got_local = model.model.rotary_emb_local.inv_freq
    for name, got, exp in (("full", got_full, expect_full), ("sliding", got_local, expect_local)):
        err = (got.float().cpu() - exp).abs().max().item()
        print(f"reference {name}-attention inv_freq check: max err {err:.3e}")
        if err > 1e-6 * exp.abs().max().item() + 1e-12:
            sys.exit(f"the reference model does not use the expected {name}-attention RoPE")


def make_inputs(args):
    g = torch.Generator().manual_seed(args.seed + 1)
    B, L = 2, args.length
    ids = torch.randint(4, 262144, (B, L), generator=g, dtype=torch.int64)
    ids[:, 0] = 2  # <bos>
    mask = torch.ones(B, L, dtype=torch.int64)
    valid1 = max(2, L * 2 // 5)
    ids[1, valid1:] = 0  # <pad>, right padding
    mask[1, valid1:] = 0
    return ids, mask


def write_folder(model, cfg, root):
    folder = os.path.join(root, "text_encoder")
    os.makedirs(folder, exist_ok=True)
    tensors = {}
    for k, v in model.state_dict().items():
        if k.startswith("lm_head."):
            continue  # tied to embed_tokens; the released checkpoint has no lm_head tensor
        assert k.startswith("model."), k
        tensors["language_model." + k] = v.detach().to(torch.bfloat16).contiguous().cpu()
    # A multimodal-projector tensor as in the released file; the loader must drop it.
    tensors["multi_modal_projector.mm_input_projection_weight"] = torch.zeros(8, cfg.hidden_size, dtype=torch.bfloat16)
    save_file(tensors, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    text = cfg.to_dict()
    text.pop("_attn_implementation", None)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(
            {
                "architectures": ["Gemma3ForConditionalGeneration"],
                "model_type": "gemma3",
                "text_config": text,
                "vision_config": {"model_type": "siglip_vision_model", "hidden_size": 1152},
                "torch_dtype": "bfloat16",
            },
            f,
            indent=2,
            default=str,
        )
    return folder


def set_param_dtype(model, dtype):
    """Casts the weights only: RoPE inv_freq buffers stay fp32 as after from_pretrained(dtype=...)."""
    for p in model.parameters():
        p.data = p.data.to(dtype)


@torch.no_grad()
def reference(model, ids, mask, device, dtype, output_layer):
    model.to(device)
    set_param_dtype(model, dtype)
    captured = {}
    hook = model.model.layers[output_layer].register_forward_hook(
        lambda m, i, o: captured.__setitem__("h", (o[0] if isinstance(o, tuple) else o).detach())
    )
    out = model.model(input_ids=ids.to(device), attention_mask=mask.to(device), output_hidden_states=True, use_cache=False)
    hook.remove()
    hs = out.hidden_states
    # hidden_states = (embeddings, out_0, ..., out_{n-2}, norm(out_{n-1})): [-2] is layer n-2's output.
    if len(hs) == len(model.model.layers) + 1:
        diff = (hs[-2].float() - captured["h"].float()).abs().max().item()
        print(f"reference: hidden_states[-2] vs layer {output_layer} hook: max diff {diff:.3e}")
    else:
        print(f"reference: {len(hs)} hidden states for {len(model.model.layers)} layers; using the layer hook")
    return captured["h"].float().cpu()


def run_cli(args, model_dir, inputs, out, dtype_name):
    extra = args.cli_args.format(device=args.device, dtype=dtype_name)
    cmd = [args.cli, "run-component", "--model", model_dir, "--component", "gemma", "--inputs", inputs, "--out", out]
    cmd += shlex.split(extra)
    print("$", " ".join(shlex.quote(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True)
    return load_file(out)["hidden"].float()


def compare(name, got, expected, mask):
    m = mask.bool()
    s = error_stats(got[m], expected[m])  # valid positions only: [N, D]
    print(format_stats(name, s))
    return s["rel"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cli", help="path of charaforge-cli")
    ap.add_argument("workdir", help="folder for the model, inputs and outputs")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--layers", type=int, default=34, help="decoder layers (34 = gemma-3-4b-it)")
    ap.add_argument("--sliding-window", type=int, default=1024)
    ap.add_argument("--length", type=int, default=77, help="token positions per row")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"], help="reference attention implementation")
    ap.add_argument("--dtypes", default="bf16,fp32")
    ap.add_argument("--cli-args", default="--device {device} --dtype {dtype}",
                    help="extra CLI arguments; {device} and {dtype} (bf16|fp32) are substituted")
    ap.add_argument("--max-rel-bf16", type=float, default=5e-2)
    ap.add_argument("--max-rel-fp32", type=float, default=2e-3)
    args = ap.parse_args()

    from transformers import Gemma3ForCausalLM

    os.makedirs(args.workdir, exist_ok=True)
    torch.manual_seed(args.seed)
    cfg = build_config(args)
    output_layer = args.layers - 2
    with torch.device(args.device):
        model = Gemma3ForCausalLM(cfg).eval()
        set_param_dtype(model, torch.bfloat16)  # the stored (and every compared) weight is a bf16 value
        g = torch.Generator(device=args.device).manual_seed(args.seed)
        for name, p in model.named_parameters():
            if name.startswith("lm_head."):
                continue
            if p.dim() == 1:  # RMSNorm weights: the model applies (1 + w)
                p.data.normal_(0.0, 0.1, generator=g)
            else:
                p.data.normal_(0.0, 0.02, generator=g)
    check_rope(model, cfg)
    model_dir = args.workdir
    write_folder(model, cfg, model_dir)
    ids, mask = make_inputs(args)
    inputs = os.path.join(args.workdir, "gemma_inputs.safetensors")
    save_file({"input_ids": ids, "attention_mask": mask}, inputs)

    failed = False
    refs, ours = {}, {}
    for dtype_name in args.dtypes.split(","):
        dtype = {"bf16": torch.bfloat16, "fp32": torch.float32}[dtype_name]
        expected = reference(model, ids, mask, args.device, dtype, output_layer)
        refs[dtype_name] = expected
        save_file({"hidden": expected.contiguous(), "input_ids": ids, "attention_mask": mask},
                  os.path.join(args.workdir, f"gemma_expected_{dtype_name}.safetensors"))
        model.to("cpu")
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()
        got = run_cli(args, model_dir, inputs, os.path.join(args.workdir, f"gemma_out_{dtype_name}.safetensors"),
                      dtype_name)
        if got.shape != expected.shape:
            print(f"{dtype_name}: shape {tuple(got.shape)} != expected {tuple(expected.shape)}")
            failed = True
            continue
        ours[dtype_name] = got
        rel = compare(f"gemma {dtype_name}", got, expected, mask)
        limit = args.max_rel_bf16 if dtype == torch.bfloat16 else args.max_rel_fp32
        if not rel <= limit:
            print(f"  FAIL: above {limit:g}")
            failed = True
        pad = ~mask.bool()
        if pad.any():
            print(f"  padded positions: max |out| {got[pad].abs().max().item():.3e} (the engine zeroes them)")
    if "bf16" in ours and "fp32" in refs:
        # For scale: the error bf16 itself introduces in the reference, next to ours against fp32.
        compare("reference bf16 vs reference fp32", refs["bf16"], refs["fp32"], mask)
        compare("ours bf16 vs reference fp32", ours["bf16"], refs["fp32"], mask)
    print("gemma parity:", "FAILED" if failed else "ok")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
