#!/usr/bin/python3
"""Builds inference's own test bundle: a toy vision/embedding/decoder trio
with the real tensor names (onnxruntime-genai builder layout), random
weights, 2 layers, and records PyTorch's greedy tokens (computed without a KV
cache, full recompute each step) for a fixed pixel tensor and prompt. Tests
use it to check the Go KV-cache loop and the bundle validation without the
demo model. Run with Debian's /usr/bin/python3 (python3-torch, -onnx)."""
import json, math
import torch, torch.nn as nn

torch.manual_seed(7)
S, P, H, V, L, NH, HD = 28, 14, 32, 64, 2, 2, 16
N = (S // P) ** 2
BOS, EOS = 1, 2

class Vision(nn.Module):
    def __init__(s):
        super().__init__(); s.conv = nn.Conv2d(3, H, P, P); s.proj = nn.Linear(H, H)
    def forward(s, pixel_values):
        x = s.conv(pixel_values).flatten(2).transpose(1, 2)
        return s.proj(torch.nn.functional.gelu(x))

class Embed(nn.Module):
    def __init__(s):
        super().__init__(); s.e = nn.Embedding(V, H)
    def forward(s, input_ids):
        return s.e(input_ids)

class Decoder(nn.Module):
    def __init__(s):
        super().__init__()
        s.pos = nn.Embedding(512, H)
        s.qkv = nn.ModuleList([nn.Linear(H, 3 * H) for _ in range(L)])
        s.o = nn.ModuleList([nn.Linear(H, H) for _ in range(L)])
        s.mlp = nn.ModuleList([nn.Sequential(nn.Linear(H, 2 * H), nn.SiLU(), nn.Linear(2 * H, H)) for _ in range(L)])
        s.head = nn.Linear(H, V)
    def forward(s, inputs_embeds, attention_mask, position_ids, *past):
        B, T, _ = inputs_embeds.shape
        x = inputs_embeds + s.pos(position_ids)
        Pn = past[0].shape[2]
        tot = Pn + T
        causal = torch.arange(tot).unsqueeze(0) <= (torch.arange(T).unsqueeze(1) + Pn)
        allowed = causal.unsqueeze(0).unsqueeze(0) & (attention_mask[:, None, None, :] > 0)
        presents = []
        for l in range(L):
            q, k, v = s.qkv[l](x).split(H, dim=-1)
            q = q.view(B, T, NH, HD).transpose(1, 2)
            k = k.view(B, T, NH, HD).transpose(1, 2)
            v = v.view(B, T, NH, HD).transpose(1, 2)
            k = torch.cat([past[2 * l], k], dim=2)
            v = torch.cat([past[2 * l + 1], v], dim=2)
            presents += [k, v]
            a = (q @ k.transpose(2, 3)) / math.sqrt(HD)
            a = a.masked_fill(~allowed, -1e9).softmax(-1)
            y = (a @ v).transpose(1, 2).reshape(B, T, H)
            x = x + s.o[l](y)
            x = x + s.mlp[l](x)
        return (s.head(x) * 4.0, *presents)

vis, emb, dec = Vision().eval(), Embed().eval(), Decoder().eval()
with torch.no_grad():
    dec.head.bias[EOS] = -3.0  # let it run a while before EOS

pix = torch.linspace(-2, 2, 3 * S * S).reshape(1, 3, S, S).sin() * 1.5
before = [BOS, 5, 9, 11, 3]
after = [17, 23, 8]

torch.onnx.export(vis, (pix,), "vision.onnx", input_names=["pixel_values"], output_names=["image_features"],
                  dynamic_axes={"pixel_values": {0: "batch"}, "image_features": {0: "batch"}}, opset_version=17)
ids = torch.tensor([before])
torch.onnx.export(emb, (ids,), "embedding.onnx", input_names=["input_ids"], output_names=["inputs_embeds"],
                  dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "inputs_embeds": {0: "batch", 1: "seq"}}, opset_version=17)
past = [torch.zeros(1, NH, 3, HD) for _ in range(2 * L)]
names_in = ["inputs_embeds", "attention_mask", "position_ids"] + [f"past_key_values.{l}.{kv}" for l in range(L) for kv in ("key", "value")]
names_out = ["logits"] + [f"present.{l}.{kv}" for l in range(L) for kv in ("key", "value")]
dyn = {"inputs_embeds": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "total"}, "position_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}
for n in names_in[3:]:
    dyn[n] = {0: "batch", 2: "past"}
for n in names_out[1:]:
    dyn[n] = {0: "batch", 2: "total"}
torch.onnx.export(dec, (torch.zeros(1, 2, H), torch.ones(1, 5, dtype=torch.long), torch.tensor([[3, 4]]), *past), "decoder.onnx",
                  input_names=names_in, output_names=names_out, dynamic_axes=dyn, opset_version=17)

# Greedy reference without a cache: full recompute every step.
with torch.no_grad():
    feats = vis(pix)
    seq = list(after)
    out = []
    empty = [torch.zeros(1, NH, 0, HD) for _ in range(2 * L)]
    for _ in range(20):
        e = torch.cat([emb(torch.tensor([before])), feats, emb(torch.tensor([seq]))], dim=1)
        T = e.shape[1]
        logits = dec(e, torch.ones(1, T, dtype=torch.long), torch.arange(T).unsqueeze(0), *empty)[0]
        t = int(logits[0, -1].argmax())
        if t == EOS:
            break
        out.append(t); seq.append(t)

json.dump({"schema_version": 1, "name": "tiny-test", "version": "0", "demo": True, "note": "test model",
           "dtype": "float32", "image": {"size": S, "token_count": N},
           "tokenizer": {"vocab_size": V, "bos_id": BOS, "eos_id": EOS},
           "decoder": {"num_layers": L, "hidden_size": H, "num_heads": NH, "num_kv_heads": NH, "head_size": HD, "vocab_size": V},
           "generation": {"max_new_tokens": 20}}, open("model.json", "w"), indent=1)
open("tokenizer.model", "wb").write(b"not a tokenizer: the tiny test bundle is driven by token ids\n")
json.dump({"pixels": pix.flatten().tolist(), "before": before, "after": after, "tokens": out},
          open("reference.json", "w"))
print("greedy:", out)
