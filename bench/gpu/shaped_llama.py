"""A LLaVA-Rad-shaped model with random weights, built with PyTorch on the
box that benchmarks it: the decoder has Vicuna-7B v1.5's dimensions (32
layers, hidden 4096, 32 heads of 128, MLP 11008, vocab 32000, RoPE, RMSNorm,
SwiGLU) in float16; the vision graph is a patch projection giving LLaVA-Rad's
1369 image tokens. It writes a radraft bundle (same tensor names and
model.json as deploy/export) and times PyTorch's own greedy generation on the
same weights, so bench/gpu/run.sh can compare radraft (ONNX Runtime, CUDA,
IoBinding loop) with PyTorch and with the memory-bandwidth floor.

  build   --out DIR         write DIR/bundle (vision, embedding, decoder .onnx,
                            model.json, the demo's tokenizer.model)
  torch   --out DIR         time prefill + greedy decode in PyTorch, print JSON
                            (and HF transformers' generate on the same weights
                            when transformers is installed)
  --tiny                    2 layers, hidden 64 (a dry run of the script on CPU)

Weights are random (seeded), so the text is meaningless; only times count.
"""
import argparse
import inspect
import json
import math
import os
import shutil
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "deploy", "export"))
import radraft_bundle as rb  # noqa: E402  (model.json schema, tensor names)

DIMS = {
    "vicuna7b": dict(layers=32, hidden=4096, heads=32, kv_heads=32, inter=11008, vocab=32000),
    "tiny": dict(layers=2, hidden=64, heads=4, kv_heads=4, inter=172, vocab=512),
}
IMAGE_SIZE, PATCH = 518, 14
IMAGE_TOKENS = (IMAGE_SIZE // PATCH) ** 2  # 1369
ROPE_THETA, RMS_EPS, OPSET = 10000.0, 1e-5, 17


class RMSNorm(nn.Module):
    def __init__(self, d, **kw):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d, **kw))

    def forward(self, x):
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + RMS_EPS)
        return self.weight * h.to(x.dtype)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat([-x2, x1], dim=-1)


class Attention(nn.Module):
    def __init__(self, d, **kw):
        super().__init__()
        self.h, self.kv, self.hd = d["heads"], d["kv_heads"], d["hidden"] // d["heads"]
        self.q_proj = nn.Linear(d["hidden"], self.h * self.hd, bias=False, **kw)
        self.k_proj = nn.Linear(d["hidden"], self.kv * self.hd, bias=False, **kw)
        self.v_proj = nn.Linear(d["hidden"], self.kv * self.hd, bias=False, **kw)
        self.o_proj = nn.Linear(self.h * self.hd, d["hidden"], bias=False, **kw)

    def forward(self, x, cos, sin, bias, pk, pv):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = torch.cat([pk, k], dim=2)
        v = torch.cat([pv, v], dim=2)
        rep = self.h // self.kv
        kk = k if rep == 1 else k.unsqueeze(2).expand(-1, -1, rep, -1, -1).flatten(1, 2)
        vv = v if rep == 1 else v.unsqueeze(2).expand(-1, -1, rep, -1, -1).flatten(1, 2)
        if hasattr(F, "scaled_dot_product_attention"):
            o = F.scaled_dot_product_attention(q, kk, vv, attn_mask=bias)
        else:  # torch < 2.0
            o = torch.softmax((q @ kk.transpose(-1, -2)) / math.sqrt(self.hd) + bias, dim=-1) @ vv
        return self.o_proj(o.transpose(1, 2).reshape(b, s, self.h * self.hd)), k, v


class MLP(nn.Module):
    def __init__(self, d, **kw):
        super().__init__()
        self.gate_proj = nn.Linear(d["hidden"], d["inter"], bias=False, **kw)
        self.up_proj = nn.Linear(d["hidden"], d["inter"], bias=False, **kw)
        self.down_proj = nn.Linear(d["inter"], d["hidden"], bias=False, **kw)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, d, **kw):
        super().__init__()
        self.input_layernorm = RMSNorm(d["hidden"], **kw)
        self.self_attn = Attention(d, **kw)
        self.post_attention_layernorm = RMSNorm(d["hidden"], **kw)
        self.mlp = MLP(d, **kw)

    def forward(self, x, cos, sin, bias, pk, pv):
        a, k, v = self.self_attn(self.input_layernorm(x), cos, sin, bias, pk, pv)
        x = x + a
        return x + self.mlp(self.post_attention_layernorm(x)), k, v


class Inner(nn.Module):
    def __init__(self, d, **kw):
        super().__init__()
        self.embed_tokens = nn.Embedding(d["vocab"], d["hidden"], **kw)
        self.layers = nn.ModuleList([Layer(d, **kw) for _ in range(d["layers"])])
        self.norm = RMSNorm(d["hidden"], **kw)


class Decoder(nn.Module):
    """Parameter names are Hugging Face LlamaForCausalLM's (model.layers.N...,
    lm_head), so its generate can run on the same state dict.
    forward(inputs_embeds, attention_mask, position_ids, *past) -> (logits, *present):
    radraft's decoder contract (deploy/export/radraft_bundle.py)."""

    def __init__(self, d, **kw):
        super().__init__()
        self.d = d
        self.model = Inner(d, **kw)
        self.lm_head = nn.Linear(d["hidden"], d["vocab"], bias=False, **kw)
        hd = d["hidden"] // d["heads"]
        inv = 1.0 / (ROPE_THETA ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        self.register_buffer("inv_freq", inv.to(kw.get("device")), persistent=False)

    def forward(self, inputs_embeds, attention_mask, position_ids, *past):
        freqs = position_ids.unsqueeze(-1).to(torch.float32) * self.inv_freq
        emb = torch.cat([freqs, freqs], dim=-1).unsqueeze(1)
        cos, sin = emb.cos().to(inputs_embeds.dtype), emb.sin().to(inputs_embeds.dtype)
        key_pos = torch.cumsum(attention_mask, dim=1) - 1
        allowed = (key_pos.unsqueeze(1) <= position_ids.unsqueeze(2)) & (attention_mask.unsqueeze(1) > 0)
        bias = (~allowed).unsqueeze(1).to(inputs_embeds.dtype) * torch.finfo(inputs_embeds.dtype).min
        x, present = inputs_embeds, []
        for i, layer in enumerate(self.model.layers):
            x, k, v = layer(x, cos, sin, bias, past[2 * i], past[2 * i + 1])
            present += [k, v]
        return (self.lm_head(self.model.norm(x)),) + tuple(present)


class Vision(nn.Module):
    """pixel_values [B,3,518,518] -> image_features [B,1369,hidden]: one 14×14
    patch projection (LLaVA-Rad's tower is ~0.3 B parameters more; the
    decoder dominates the draft time)."""

    def __init__(self, d, **kw):
        super().__init__()
        self.proj = nn.Conv2d(3, d["hidden"], PATCH, stride=PATCH, **kw)

    def forward(self, pixel_values):
        return self.proj(pixel_values).flatten(2).transpose(1, 2)


def make(dims, device, dtype, seed=1):
    torch.manual_seed(seed)
    kw = dict(device=device, dtype=dtype)
    dec, vis = Decoder(dims, **kw), Vision(dims, **kw)
    with torch.no_grad():
        for name, p in list(dec.named_parameters()) + list(vis.named_parameters()):
            if not name.endswith("layernorm.weight") and not name.endswith("norm.weight"):
                p.normal_(0.0, 0.02)
    return dec.eval(), vis.eval()


def export(module, args, path, ins, outs, dyn):
    """torch.onnx.export with the TorchScript exporter where torch still has
    it (no onnxscript needed; a model over 2 GB is written with external
    data beside the .onnx), else the dynamo exporter."""
    common = dict(input_names=ins, output_names=outs, dynamic_axes=dyn, opset_version=OPSET)
    if "dynamo" not in inspect.signature(torch.onnx.export).parameters:
        torch.onnx.export(module, tuple(args), path, do_constant_folding=True, **common)
        return
    try:
        torch.onnx.export(module, tuple(args), path, dynamo=False, do_constant_folding=True, **common)
    except Exception as e:  # TorchScript exporter removed or failing: the dynamo one
        print(f"TorchScript export failed ({e}); using dynamo=True", file=sys.stderr)
        torch.onnx.export(module, tuple(args), path, dynamo=True, external_data=True, **common)


def build(a, dims, device, dtype):
    out = os.path.join(a.out, "bundle")
    os.makedirs(out, exist_ok=True)
    dec, vis = make(dims, device, dtype)
    L, H, kv, hd = dims["layers"], dims["hidden"], dims["kv_heads"], dims["hidden"] // dims["heads"]
    t = time.time()
    with torch.no_grad():
        export(vis, [torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE, device=device, dtype=dtype)],
               os.path.join(out, "vision.onnx"), ["pixel_values"], ["image_features"], {"pixel_values": {0: "batch_size"}, "image_features": {0: "batch_size"}})
        export(dec.model.embed_tokens, [torch.tensor([[1, 2, 3]], device=device)], os.path.join(out, "embedding.onnx"),
               ["input_ids"], ["inputs_embeds"], {"input_ids": {0: "batch_size", 1: "sequence_length"}, "inputs_embeds": {0: "batch_size", 1: "sequence_length"}})
        ins, outs = rb.decoder_io_names(L)
        p, s = 3, 5
        args = [torch.randn(1, s, H, device=device, dtype=dtype), torch.ones(1, p + s, dtype=torch.int64, device=device),
                torch.arange(p, p + s, device=device)[None]]
        args += [torch.randn(1, kv, p, hd, device=device, dtype=dtype) for _ in range(2 * L)]
        dyn = {"inputs_embeds": {0: "batch_size", 1: "sequence_length"}, "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
               "position_ids": {0: "batch_size", 1: "sequence_length"}, "logits": {0: "batch_size", 1: "sequence_length"}}
        for n in ins[3:]:
            dyn[n] = {0: "batch_size", 2: "past_sequence_length"}
        for n in outs[1:]:
            dyn[n] = {0: "batch_size", 2: "total_sequence_length"}
        export(dec, args, os.path.join(out, "decoder.onnx"), ins, outs, dyn)
    shutil.copy(os.path.join(ROOT, "models", "demo", "tokenizer.model"), os.path.join(out, "tokenizer.model"))
    doc = rb.model_json(name="llava-rad-shaped-random", version="bench-" + ("tiny" if a.tiny else "vicuna7b"),
                        dtype="float16" if dtype == torch.float16 else "float32", image_size=IMAGE_SIZE,
                        image_token_count=IMAGE_TOKENS, patch_size=PATCH, bos_id=1, eos_id=2, unk_id=0, pad_id=0,
                        vocab_size=dims["vocab"], num_layers=L, hidden_size=H, num_heads=dims["heads"],
                        num_kv_heads=kv, head_size=hd, context_length=4096, max_new_tokens=256, demo=True,
                        note="random weights, benchmark only (bench/gpu/shaped_llama.py); the tokenizer is the demo's, unused",
                        source="bench/gpu/shaped_llama.py")
    rb.write_model_json(os.path.join(out, "model.json"), doc)
    print(json.dumps({"bundle": out, "export_s": round(time.time() - t, 1)}))


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def greedy(dec, prompt, steps, device):
    """Prefill over prompt [1,S0,H], then steps greedy tokens with the KV
    cache (concatenated per step, as the ONNX graph does); returns
    (prefill_s, decode_s, tokens)."""
    d = dec.d
    S0 = prompt.shape[1]
    hd = d["hidden"] // d["heads"]
    mask = torch.ones(1, S0 + steps, dtype=torch.int64, device=device)
    past = [torch.zeros(1, d["kv_heads"], 0, hd, device=device, dtype=prompt.dtype) for _ in range(2 * d["layers"])]
    sync(device)
    t0 = time.perf_counter()
    out = dec(prompt, mask[:, :S0], torch.arange(S0, device=device)[None], *past)
    tok = out[0][0, -1].argmax()
    sync(device)
    t1 = time.perf_counter()
    toks, past, P = [], list(out[1:]), S0
    for _ in range(steps):
        toks.append(tok)
        e = dec.model.embed_tokens(tok.view(1, 1))
        out = dec(e, mask[:, :P + 1], torch.full((1, 1), P, device=device, dtype=torch.int64), *past)
        tok, past, P = out[0][0, -1].argmax(), list(out[1:]), P + 1
    sync(device)
    return t1 - t0, time.perf_counter() - t1, [int(x) for x in toks]


def hf_generate(dec, dims, prompt, steps, device, dtype):
    """Hugging Face transformers' generate (greedy, its own KV cache) on the same weights, if installed."""
    try:
        from transformers import LlamaConfig, LlamaForCausalLM
    except ImportError:
        return None
    cfg = LlamaConfig(vocab_size=dims["vocab"], hidden_size=dims["hidden"], intermediate_size=dims["inter"],
                      num_hidden_layers=dims["layers"], num_attention_heads=dims["heads"],
                      num_key_value_heads=dims["kv_heads"], rms_norm_eps=RMS_EPS, rope_theta=ROPE_THETA,
                      max_position_embeddings=4096, bos_token_id=1, eos_token_id=2)
    with torch.device(device):
        hf = LlamaForCausalLM(cfg).to(dtype).eval()
    hf.load_state_dict(dec.state_dict(), strict=True)
    times = []
    for _ in range(2):  # warm-up, then timed
        sync(device)
        t = time.perf_counter()
        hf.generate(inputs_embeds=prompt, attention_mask=torch.ones(prompt.shape[:2], dtype=torch.int64, device=device),
                    max_new_tokens=steps, min_new_tokens=steps, do_sample=False, pad_token_id=0)
        sync(device)
        times.append(time.perf_counter() - t)
    del hf
    return times[-1]


def bench_torch(a, dims, device, dtype):
    dec, _ = make(dims, device, dtype)
    weight_bytes = sum(p.numel() * p.element_size() for n, p in dec.named_parameters() if "embed_tokens" not in n)
    torch.manual_seed(2)
    prompt = (torch.randn(1, a.prompt, dims["hidden"], device=device) * 0.02).to(dtype)
    res = {"prompt_positions": a.prompt, "steps": a.steps, "weight_bytes": weight_bytes,
           "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu", "torch": torch.__version__}
    with torch.inference_mode():
        greedy(dec, prompt, 4, device)  # warm-up
        pre, dec_s = [], []
        for _ in range(a.reps):
            p, d_, toks = greedy(dec, prompt, a.steps, device)
            pre.append(p)
            dec_s.append(d_)
        res.update({"torch_prefill_ms": 1000 * statistics.median(pre), "torch_decode_ms": 1000 * statistics.median(dec_s),
                    "torch_ms_per_step": 1000 * statistics.median(dec_s) / a.steps, "torch_tokens": toks[:16]})
        hf = hf_generate(dec, dims, prompt, a.steps, device, dtype) if device == "cuda" else None
    if hf is not None:
        res["hf_generate_ms_total"] = 1000 * hf
    print(json.dumps(res))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["build", "torch"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--tiny", action="store_true", help="tiny dimensions (dry run)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", choices=["float16", "float32"], default=None, help="default: float16 on cuda, float32 on cpu")
    ap.add_argument("--prompt", type=int, default=1500, help="prompt positions")
    ap.add_argument("--steps", type=int, default=256, help="decode steps")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    dims = DIMS["tiny" if a.tiny else "vicuna7b"]
    dtype = {"float16": torch.float16, "float32": torch.float32}[a.dtype or ("float16" if a.device == "cuda" else "float32")]
    os.makedirs(a.out, exist_ok=True)
    if a.what == "build":
        build(a, dims, a.device, dtype)
    else:
        bench_torch(a, dims, a.device, dtype)


if __name__ == "__main__":
    main()
