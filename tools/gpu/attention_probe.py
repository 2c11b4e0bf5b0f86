#!/usr/bin/env python3
"""Which SDPA backend serves the DiT's attention (24 q heads, 8 kv heads, head dim 96, bf16) and how fast, for
native GQA and for K/V repeated to the query heads, with cuDNN first in the priority list (as the engine sets
it). usage: attention_probe.py [tokens] [batch]"""
import sys, torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

L = int(sys.argv[1]) if len(sys.argv) > 1 else 4352
B = int(sys.argv[2]) if len(sys.argv) > 2 else 8
dev, dt = "cuda", torch.bfloat16
q = torch.randn(B, L, 24, 96, device=dev, dtype=dt).transpose(1, 2)
k = torch.randn(B, L, 8, 96, device=dev, dtype=dt).transpose(1, 2)
v = torch.randn(B, L, 8, 96, device=dev, dtype=dt).transpose(1, 2)
kr = k.transpose(1, 2).repeat_interleave(3, 2).transpose(1, 2)
vr = v.transpose(1, 2).repeat_interleave(3, 2).transpose(1, 2)
flops = 4 * B * 24 * L * L * 96
names = {-1: "ERROR", 0: "MATH", 1: "FLASH_ATTENTION", 2: "EFFICIENT_ATTENTION", 3: "CUDNN_ATTENTION", 4: "OVERRIDEABLE"}  # at::SDPBackend

def bench(fn):
    for _ in range(3):
        fn()
    s, e = torch.cuda.Event(True), torch.cuda.Event(True)
    s.record()
    for _ in range(10):
        fn()
    e.record(); torch.cuda.synchronize()
    return s.elapsed_time(e) / 10

print("cudnn", torch.backends.cudnn.version())
for label, kk, vv, gqa in (("native gqa", k, v, True), ("repeated kv", kr, vr, False)):
    for order in ("default", "cudnn first"):
        ctx = sdpa_kernel([SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH], set_priority=True) if order != "default" else torch.no_grad()
        with ctx:
            choice = torch._fused_sdp_choice(q, kk, vv, enable_gqa=gqa)
            ms = bench(lambda: F.scaled_dot_product_attention(q, kk, vv, enable_gqa=gqa))
        print(f"{label:12} {order:12} backend {names.get(choice, choice):20} {ms:7.3f} ms  {flops / ms / 1e9:6.1f} TFLOP/s", flush=True)
