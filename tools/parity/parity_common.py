"""Error statistics shared by the parity scripts (ours vs the reference implementation)."""
import torch


def error_stats(got, expected, cosine_dim=-1):
    """max abs error, relative error max|a-b| / max|b|, rms-relative error and the minimum cosine
    similarity along `cosine_dim` (None: over the whole tensor)."""
    a, b = got.double(), expected.double()
    err = (a - b).abs().max().item()
    if cosine_dim is None:
        cos = torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0).item()
    else:
        cos = torch.nn.functional.cosine_similarity(a, b, dim=cosine_dim).min().item()
    return {"max_abs": err, "rel": err / max(b.abs().max().item(), 1e-30),
            "rms_rel": ((a - b).pow(2).mean().sqrt() / b.pow(2).mean().sqrt().clamp_min(1e-30)).item(),
            "min_cos": cos, "max_ref": b.abs().max().item()}


def format_stats(name, s):
    return (f"{name}: max abs err {s['max_abs']:.4e}, max rel err {s['rel']:.4e} (max|ref| {s['max_ref']:.3e}), "
            f"rms rel {s['rms_rel']:.4e}, min cosine {s['min_cos']:.6f}")
