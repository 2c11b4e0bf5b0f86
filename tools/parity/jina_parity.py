#!/usr/bin/env python3
"""Parity of CharaForge's Jina CLIP v2 text tower against jina's own XLM-RoBERTa code.

The official model code (jinaai/xlm-roberta-flash-implementation: configuration_xlm_roberta.py,
modeling_xlm_roberta.py, modeling_lora.py, embedding.py, mha.py, mlp.py, block.py, rotary.py,
xlm_padding.py, stochastic_depth.py) cannot be pip-installed on the GPU box; pass the folder holding those
files (the repo keeps a copy in the git-ignored .ref/jina/). The script imports them as a package with a
few shims (see install_shims): no flash_attn (its absence selects the plain PyTorch attention path),
optionally no einops, transformers 5 renames, and no tokenizer download in XLMRobertaModel.__init__.

It builds XLMRobertaLoRA with the jina-embeddings-v3 backbone config as jina-clip-v2 overrides it
(rotary base 20000, lora_adaptations ["retrieval.query"], rank 4, alpha 4), seeded random weights
including the LoRA tensors, writes an official `clip_model/` folder (JinaCLIP config.json,
`model.safetensors` with `text_model.transformer.roberta.*` keys and LoRA parametrizations, bf16), runs a
fixed right-padded batch with the retrieval.query adapter active (as HFTextEncoder.forward does with
default_lora_task) and mean-pools over the valid tokens (HFTextEncoder's MeanPooler). Then runs

    CLI run-component --model DIR --component jina --inputs IN.safetensors --out OUT.safetensors [extra]

for bf16 and fp32 and prints max abs / max relative error (max|a-b| / max|b|) of `pooled` [B, 1024] and of
`hidden` [B, L, 1024] on valid positions. Exit status 1 when above the thresholds.

Example: python3 tools/parity/jina_parity.py build/app/charaforge-cli /tmp/jina_parity .ref/jina --device cuda
"""
import argparse
import importlib
import json
import os
import shlex
import subprocess
import sys
import types

import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity_common import error_stats, format_stats  # noqa: E402
from safetensors.torch import load_file, save_file


def install_einops_fallback():
    """Minimal einops for the patterns the non-flash path uses, when einops is not installed."""
    try:
        import einops  # noqa: F401
        return
    except ImportError:
        pass

    def rearrange(x, pattern, **sizes):
        p = " ".join(pattern.split())
        if p == "... (three h d) -> ... three h d":
            return x.unflatten(-1, (sizes["three"], -1, sizes["d"]))
        if p == "... (h d) -> ... h d":
            return x.unflatten(-1, (-1, sizes["d"]))
        if p == "... h d -> ... (h d)":
            return x.flatten(-2)
        if p == "b s -> b 1 1 s":
            return x[:, None, None, :]
        if p == "b -> b 1 1 1":
            return x[:, None, None, None]
        if p == "s -> s 1":
            return x[:, None]
        raise NotImplementedError(f"einops fallback: rearrange pattern '{pattern}'")

    def repeat(x, pattern, **sizes):
        p = " ".join(pattern.split())
        if p == "... d -> ... 1 (2 d)":
            return torch.cat([x, x], dim=-1).unsqueeze(-2)
        if p == "... d -> ... 1 (d 2)":
            return x.repeat_interleave(2, dim=-1).unsqueeze(-2)
        raise NotImplementedError(f"einops fallback: repeat pattern '{pattern}'")

    mod = types.ModuleType("einops")
    mod.rearrange, mod.repeat = rearrange, repeat
    sys.modules["einops"] = mod
    print("note: einops not installed; using the script's minimal fallback")


def install_shims():
    import transformers

    install_einops_fallback()
    # transformers 5 renamed PretrainedConfig -> PreTrainedConfig (the old name may be gone).
    if not hasattr(transformers, "PretrainedConfig"):
        transformers.PretrainedConfig = transformers.PreTrainedConfig
    # embedding.py imports create_position_ids_from_input_ids (only used with absolute positions).
    import transformers.models.xlm_roberta.modeling_xlm_roberta as hf_xlmr

    if not hasattr(hf_xlmr, "create_position_ids_from_input_ids"):
        def create_position_ids_from_input_ids(input_ids, padding_idx, past_key_values_length=0):
            mask = input_ids.ne(padding_idx).int()
            return (torch.cumsum(mask, dim=1).type_as(mask) + past_key_values_length) * mask + padding_idx

        hf_xlmr.create_position_ids_from_input_ids = create_position_ids_from_input_ids
    import transformers.models.bert.modeling_bert as hf_bert
    import transformers.modeling_outputs as outputs

    for name in ("BaseModelOutputWithPoolingAndCrossAttentions",):
        if not hasattr(hf_bert, name):
            setattr(hf_bert, name, getattr(outputs, name))
    if not hasattr(hf_bert, "BertForPreTrainingOutput"):
        hf_bert.BertForPreTrainingOutput = outputs.ModelOutput


def import_jina(src):
    install_shims()
    name = "jina_xlmr_reference"
    pkg = types.ModuleType(name)
    pkg.__path__ = [os.path.abspath(src)]
    sys.modules[name] = pkg
    mxr = importlib.import_module(name + ".modeling_xlm_roberta")

    class _NoTokenizer:  # XLMRobertaModel.__init__ loads a tokenizer from the hub; not needed here
        @staticmethod
        def from_pretrained(*args, **kwargs):
            return None

    mxr.AutoTokenizer = _NoTokenizer
    lora = importlib.import_module(name + ".modeling_lora")
    conf = importlib.import_module(name + ".configuration_xlm_roberta")
    return conf.XLMRobertaFlashConfig, lora.XLMRobertaLoRA


def backbone_kwargs(args):
    # jina-embeddings-v3 config.json as jina-clip-v2's text_config.hf_model_config_kwargs override it.
    return dict(
        vocab_size=250002,
        hidden_size=1024,
        num_hidden_layers=args.layers,
        num_attention_heads=16,
        intermediate_size=4096,
        hidden_act="gelu",
        max_position_embeddings=8194,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        position_embedding_type="rotary",
        rotary_emb_base=20000.0,
        lora_adaptations=["retrieval.query"],
        task_instructions={"retrieval.query": "Represent the query for retrieving evidence documents: "},
        lora_rank=4,
        lora_alpha=4,
        lora_dropout_p=0.0,
        lora_main_params_trainable=False,
        load_trained_adapters=False,
        use_flash_attn=False,
    )


def all_parameters(model):
    # XLMRobertaLoRA.named_parameters hides the main weights unless they are trainable.
    return torch.nn.Module.named_parameters(model)


@torch.no_grad()
def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    for name, p in all_parameters(model):
        if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name.endswith("emb_ln.weight"):
            p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
        elif p.dim() == 1:
            p.copy_(0.05 * torch.randn(p.shape, generator=g))
        else:  # weights, originals and LoRA A/B (lora_B starts at zero in the reference: make it count)
            p.copy_(0.02 * torch.randn(p.shape, generator=g))
        p.copy_(p.to(torch.bfloat16).float())  # every compared run uses the stored bf16 values


def write_folder(model, args, root):
    folder = os.path.join(root, "clip_model")
    os.makedirs(folder, exist_ok=True)
    tensors = {}
    for k, v in model.state_dict().items():
        assert k.startswith("roberta."), k
        tensors["text_model.transformer." + k] = v.detach().to(torch.bfloat16).contiguous().cpu()
    tensors["logit_scale"] = torch.tensor(2.6592)  # dropped by the loader, as the vision tower would be
    save_file(tensors, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    kwargs = backbone_kwargs(args)
    config = {
        "architectures": ["JinaCLIPModel"],
        "model_type": "jina_clip",
        "add_projections": False,
        "projection_dim": 1024,
        "text_config": {
            "model_type": "jina_clip_text",
            "embed_dim": 1024,
            "hf_model_name_or_path": "jinaai/jina-embeddings-v3",
            "default_instruction_task": None,
            "default_lora_task": "retrieval.query",
            "pooler_type": "mean_pooler",
            "proj_type": None,
            "proj_bias": False,
            "hf_model_config_kwargs": kwargs,
        },
        "torch_dtype": "bfloat16",
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"wrote {len(tensors)} tensors to {folder}")


def make_inputs(args):
    g = torch.Generator().manual_seed(args.seed + 1)
    B, L = 2, args.length
    ids = torch.randint(4, 250000, (B, L), generator=g, dtype=torch.int64)
    valid = [L, max(3, L * 2 // 5)]
    for b, n in enumerate(valid):
        ids[b, 0] = 0  # <s>
        ids[b, n - 1] = 2  # </s>
        ids[b, n:] = 1  # <pad>
    mask = (ids != 1).to(torch.int64)  # HFTextEncoder: attention_mask = (x != pad_token_id)
    return ids, mask


@torch.no_grad()
def reference(model, ids, mask, device, dtype):
    model.to(device=device, dtype=dtype)
    adapter_mask = torch.full((ids.shape[0],), 0, dtype=torch.int32, device=device)  # retrieval.query
    out = model(input_ids=ids.to(device), attention_mask=mask.to(device), adapter_mask=adapter_mask)
    hidden = out[0] if isinstance(out, tuple) else out.last_hidden_state
    m = mask.to(device).unsqueeze(-1)
    pooled = (hidden * m).sum(dim=1) / m.sum(dim=1)  # MeanPooler, in the model dtype like the reference
    return hidden.float().cpu(), pooled.float().cpu()


def run_cli(args, model_dir, inputs, out, dtype_name):
    extra = args.cli_args.format(device=args.device, dtype=dtype_name)
    cmd = [args.cli, "run-component", "--model", model_dir, "--component", "jina", "--inputs", inputs, "--out", out]
    cmd += shlex.split(extra)
    print("$", " ".join(shlex.quote(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True)
    o = load_file(out)
    return o["hidden"].float(), o["pooled"].float()


def report(name, got, expected):
    s = error_stats(got, expected)
    print(format_stats(name, s))
    return s["rel"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cli", help="path of charaforge-cli")
    ap.add_argument("workdir", help="folder for the model, inputs and outputs")
    ap.add_argument("jina_src", help="folder with the xlm-roberta-flash-implementation python files")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--length", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtypes", default="bf16,fp32")
    ap.add_argument("--cli-args", default="--device {device} --dtype {dtype}",
                    help="extra CLI arguments; {device} and {dtype} (bf16|fp32) are substituted")
    ap.add_argument("--max-rel-bf16", type=float, default=5e-2)
    ap.add_argument("--max-rel-fp32", type=float, default=2e-3)
    args = ap.parse_args()

    Config, XLMRobertaLoRA = import_jina(args.jina_src)
    os.makedirs(args.workdir, exist_ok=True)
    torch.manual_seed(args.seed)
    config = Config(**backbone_kwargs(args))
    model = XLMRobertaLoRA(config, add_pooling_layer=False).eval()
    randomize(model, args.seed)
    n_lora = sum(1 for k in model.state_dict() if k.endswith("lora_A"))
    print(f"reference: {type(model).__name__}, {n_lora} LoRA-parametrised weights, rotary base "
          f"{model.roberta.encoder.layers[0].mixer.rotary_emb.base}")
    write_folder(model, args, args.workdir)
    ids, mask = make_inputs(args)
    inputs = os.path.join(args.workdir, "jina_inputs.safetensors")
    save_file({"input_ids": ids, "attention_mask": mask}, inputs)

    failed = False
    valid = mask.bool()
    refs, ours = {}, {}
    for dtype_name in args.dtypes.split(","):
        dtype = {"bf16": torch.bfloat16, "fp32": torch.float32}[dtype_name]
        hidden, pooled = reference(model, ids, mask, args.device, dtype)
        refs[dtype_name] = (hidden, pooled)
        save_file({"hidden": hidden.contiguous(), "pooled": pooled.contiguous(), "input_ids": ids,
                   "attention_mask": mask}, os.path.join(args.workdir, f"jina_expected_{dtype_name}.safetensors"))
        model.to("cpu", dtype=torch.float32)
        got_hidden, got_pooled = run_cli(args, args.workdir, inputs,
                                         os.path.join(args.workdir, f"jina_out_{dtype_name}.safetensors"), dtype_name)
        ours[dtype_name] = (got_hidden, got_pooled)
        limit = args.max_rel_bf16 if dtype == torch.bfloat16 else args.max_rel_fp32
        for name, g, e in (("pooled", got_pooled, pooled), ("hidden", got_hidden[valid], hidden[valid])):
            if g.shape != e.shape:
                print(f"jina {dtype_name} {name}: shape {tuple(g.shape)} != expected {tuple(e.shape)}")
                failed = True
                continue
            rel = report(f"jina {dtype_name} {name}", g, e)
            if not rel <= limit:
                print(f"  FAIL: above {limit:g}")
                failed = True
    if "bf16" in ours and "fp32" in refs:
        # For scale: the error bf16 itself introduces in the reference, next to ours against fp32.
        (rh, rp), (bh, bp), (oh, op) = refs["fp32"], refs["bf16"], ours["bf16"]
        report("jina pooled: reference bf16 vs reference fp32", bp.float(), rp.float())
        report("jina pooled: ours bf16 vs reference fp32", op.float(), rp.float())
        report("jina hidden: reference bf16 vs reference fp32", bh.float()[valid], rh.float()[valid])
        report("jina hidden: ours bf16 vs reference fp32", oh.float()[valid], rh.float()[valid])
    print("jina parity:", "FAILED" if failed else "ok")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
