#!/usr/bin/python3
"""Builds radraft's bundled demo model (models/demo) and its PyTorch references.

A miniature of LLaVA-Rad's architecture with toy weights, so the whole
pipeline (preprocessing, vision graph, prompt, embedding, KV-cached greedy
decoding, tokenizer) runs anywhere in seconds. ITS OUTPUT IS MEANINGLESS.

  vision   ViT, patch 14 at 518x518 (37x37 = 1369 patches + CLS), width 48,
           4 blocks (pre-norm, LayerScale, GELU MLP, DINOv2-style); the features
           are the output of the second-to-last block (hidden_states[-2]), the
           trunk's final norm is NOT applied and the CLS token is dropped.
  projector mlp2x_gelu: Linear(48->64), GELU, Linear(64->64).
  decoder  Llama-style: 2 layers, hidden 64, 4 heads, 2 KV heads (GQA), head 16,
           SwiGLU MLP 128, RMSNorm eps 1e-5, RoPE theta 10000, untied lm_head,
           KV cache; vocab = the tokenizer's (1000).
  tokenizer SentencePiece BPE trained here on corpus.txt with Llama's settings
           (byte_fallback, unk 0 / bos 1 / eos 2, dummy prefix, identity
           normalisation, no whitespace collapsing, split digits).

Weights: random (seed 0), then a short training (a few hundred tiny steps,
fixed seeds, one thread; image tokens subsampled to 48 per step, standing in
for all 1369 through their positions and an attention-logit bias) of embedding +
decoder on synthetic images paired with corpus sentences, so that greedy output is text-like, depends on the image and
the prompt, and stops at EOS after a few dozen tokens. Vision tower and
projector stay random.

Run from the repository root with Debian's interpreter (torch 1.13, onnx,
sentencepiece, PIL, numpy):

    /usr/bin/python3 deploy/demo-model/make_demo_model.py

It writes models/demo/{model.json,vision.onnx,embedding.onnx,decoder.onnx,
tokenizer.model} and models/demo/reference/ (see models/demo/README.md).
References need the display PNG dicom/pixels/testdata/cr_display.png; without
it they are skipped (say --image PATH to use another).
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "deploy", "export"))
sys.path.insert(0, HERE)
import radraft_bundle as rb  # noqa: E402
import reference_preprocess as rp  # noqa: E402

# ---------------------------------------------------------------- config
IMAGE_SIZE, PATCH = 518, 14
GRID = IMAGE_SIZE // PATCH  # 37
N_PATCH = GRID * GRID  # 1369
VIT_WIDTH, VIT_DEPTH, VIT_HEADS = 48, 4, 3
HIDDEN, LAYERS, HEADS, KV_HEADS, INTER = 64, 2, 4, 2, 128
HEAD_SIZE = HIDDEN // HEADS
VOCAB = 1000
CONTEXT = 2048
ROPE_THETA, RMS_EPS = 10000.0, 1e-5
OPSET = 17
NAME, VERSION = "radraft-demo", "1"
INDICATION = "Shortness of breath."
TRAIN_IMAGE_TOKENS = 48


# ---------------------------------------------------------------- vision
class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d, eps=1e-6)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ls1 = nn.Parameter(torch.full((d,), 0.5))
        self.norm2 = nn.LayerNorm(d, eps=1e-6)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)
        self.ls2 = nn.Parameter(torch.full((d,), 0.5))

    def forward(self, x):
        b, n, d = x.shape
        h = self.norm1(x)
        qkv = self.qkv(h).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // self.heads), dim=-1) @ v
        a = a.transpose(1, 2).reshape(b, n, d)
        x = x + self.ls1 * self.proj(a)
        x = x + self.ls2 * self.fc2(F.gelu(self.fc1(self.norm2(x))))
        return x


class ViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, VIT_WIDTH, PATCH, PATCH)
        self.cls_token = nn.Parameter(torch.randn(1, 1, VIT_WIDTH) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, N_PATCH + 1, VIT_WIDTH) * 0.02)
        self.blocks = nn.ModuleList([Block(VIT_WIDTH, VIT_HEADS) for _ in range(VIT_DEPTH)])
        self.norm = nn.LayerNorm(VIT_WIDTH, eps=1e-6)  # final norm: NOT used for the features

    def hidden_states(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        hs = [x]
        for blk in self.blocks:
            x = blk(x)
            hs.append(x)
        return hs


class VisionGraph(nn.Module):
    """pixel_values -> image_features: hidden_states[-2], no final norm, CLS
    dropped, then the mlp2x_gelu projector."""

    def __init__(self, vit, projector):
        super().__init__()
        self.vit, self.projector = vit, projector

    def forward(self, pixel_values):
        x = self.vit.patch_embed(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat([self.vit.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.vit.pos_embed
        for blk in self.vit.blocks[:-1]:  # output of the second-to-last block == hidden_states[-2]
            x = blk(x)
        return self.projector(x[:, 1:, :])


def make_projector():
    return nn.Sequential(nn.Linear(VIT_WIDTH, HIDDEN), nn.GELU(), nn.Linear(HIDDEN, HIDDEN))


# ---------------------------------------------------------------- decoder
class RMSNorm(nn.Module):
    def __init__(self, d, eps=RMS_EPS):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat([-x2, x1], dim=-1)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_proj = nn.Linear(HIDDEN, HEADS * HEAD_SIZE, bias=False)
        self.k_proj = nn.Linear(HIDDEN, KV_HEADS * HEAD_SIZE, bias=False)
        self.v_proj = nn.Linear(HIDDEN, KV_HEADS * HEAD_SIZE, bias=False)
        self.o_proj = nn.Linear(HEADS * HEAD_SIZE, HIDDEN, bias=False)

    def forward(self, x, cos, sin, allowed, past_k, past_v, key_bias=None):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, HEADS, HEAD_SIZE).transpose(1, 2)
        k = self.k_proj(x).view(b, s, KV_HEADS, HEAD_SIZE).transpose(1, 2)
        v = self.v_proj(x).view(b, s, KV_HEADS, HEAD_SIZE).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin  # HF Llama RoPE (rotate_half layout)
        k = k * cos + rotate_half(k) * sin
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        rep = HEADS // KV_HEADS
        # Not repeat_interleave: torch.onnx (1.13) exports it with the dummy
        # sequence length baked into an Expand, and ONNX Runtime then fails
        # on any other length. unsqueeze/expand/flatten is the same op.
        kk = k.unsqueeze(2).expand(-1, -1, rep, -1, -1).flatten(1, 2)
        vv = v.unsqueeze(2).expand(-1, -1, rep, -1, -1).flatten(1, 2)
        scores = (q @ kk.transpose(-1, -2)) / math.sqrt(HEAD_SIZE)
        if key_bias is not None:  # training only (see train)
            scores = scores + key_bias[:, None, None, :]
        scores = scores + allowed  # additive mask: 0 (attend) or -1e9, made once per forward
        o = torch.softmax(scores, dim=-1) @ vv
        o = o.transpose(1, 2).reshape(b, s, HEADS * HEAD_SIZE)
        return self.o_proj(o), k, v


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_layernorm = RMSNorm(HIDDEN)
        self.self_attn = Attention()
        self.post_attention_layernorm = RMSNorm(HIDDEN)
        self.gate_proj = nn.Linear(HIDDEN, INTER, bias=False)
        self.up_proj = nn.Linear(HIDDEN, INTER, bias=False)
        self.down_proj = nn.Linear(INTER, HIDDEN, bias=False)

    def forward(self, x, cos, sin, allowed, pk, pv, key_bias=None):
        a, k, v = self.self_attn(self.input_layernorm(x), cos, sin, allowed, pk, pv, key_bias)
        x = x + a
        h = self.post_attention_layernorm(x)
        x = x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))
        return x, k, v


class Decoder(nn.Module):
    """forward(inputs_embeds, attention_mask, position_ids, pk0, pv0, pk1, pv1, ...)
    -> (logits, k0, v0, k1, v1, ...). attention_mask covers past + current
    positions (1 = attend); queries see keys whose running position (cumsum of
    the mask - 1) is <= their position id, so left padding works too."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([Layer() for _ in range(LAYERS)])
        self.norm = RMSNorm(HIDDEN)
        self.lm_head = nn.Linear(HIDDEN, VOCAB, bias=False)
        inv = 1.0 / (ROPE_THETA ** (torch.arange(0, HEAD_SIZE, 2, dtype=torch.float32) / HEAD_SIZE))
        self.register_buffer("inv_freq", inv, persistent=False)

    def forward(self, inputs_embeds, attention_mask, position_ids, *past, key_bias=None, order=None):
        # key_bias/order are for training only (the export never passes them):
        # order replaces position_ids for causality when positions have gaps.
        freqs = position_ids.unsqueeze(-1).to(torch.float32) * self.inv_freq  # [B,S,hd/2]
        emb = torch.cat([freqs, freqs], dim=-1).unsqueeze(1)  # [B,1,S,hd]
        cos, sin = emb.cos(), emb.sin()
        key_pos = torch.cumsum(attention_mask, dim=1) - 1  # [B,T]
        q_pos = position_ids if order is None else order
        allowed = (key_pos.unsqueeze(1) <= q_pos.unsqueeze(2)) & (attention_mask.unsqueeze(1) > 0)
        allowed = (~allowed).unsqueeze(1).to(torch.float32) * -1e9  # [B,1,S,T]: 0 or -1e9
        x = inputs_embeds
        present = []
        for i, layer in enumerate(self.layers):
            x, k, v = layer(x, cos, sin, allowed, past[2 * i], past[2 * i + 1], key_bias)
            present += [k, v]
        return (self.lm_head(self.norm(x)),) + tuple(present)


class Half(nn.Module):
    """float16 interface around a float32 module: float inputs are cast to
    float32, float outputs to float16 (what the ONNX graph then does too)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, *args):
        args = [x.float() if x.is_floating_point() else x for x in args]
        out = self.m(*args)
        if isinstance(out, tuple):
            return tuple(o.half() for o in out)
        return out.half()


def empty_past(b=1):
    z = torch.zeros(b, KV_HEADS, 0, HEAD_SIZE)
    return [z.clone() for _ in range(2 * LAYERS)]


# ---------------------------------------------------------------- tokenizer
def train_tokenizer(corpus, out_model):
    import sentencepiece as spm
    prefix = out_model[: -len(".model")]
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, model_type="bpe", vocab_size=VOCAB,
        character_coverage=1.0, byte_fallback=True, split_digits=True,
        allow_whitespace_only_pieces=True, remove_extra_whitespaces=False,
        normalization_rule_name="identity", add_dummy_prefix=True,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1,
        max_sentence_length=4192, minloglevel=2)
    os.remove(prefix + ".vocab")
    # The trainer records the absolute input/output paths; keep the file
    # byte-identical wherever the checkout is.
    from sentencepiece import sentencepiece_model_pb2 as pb
    m = pb.ModelProto()
    with open(out_model, "rb") as f:
        m.ParseFromString(f.read())
    del m.trainer_spec.input[:]
    m.trainer_spec.input.append("deploy/demo-model/corpus.txt")
    m.trainer_spec.model_prefix = "tokenizer"
    with open(out_model, "wb") as f:
        f.write(m.SerializeToString())
    return spm.SentencePieceProcessor(model_file=out_model)


# ---------------------------------------------------------------- synthetic images
def synthetic_image(seed):
    """A 8-bit 'chest-like' picture (two dark lung fields in a bright body,
    varied by seed), as a PIL grayscale image of a non-square size."""
    from PIL import Image
    r = np.random.RandomState(seed)
    h, w = 600 + 40 * (seed % 3), 560 + 30 * (seed % 4)
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    img = 180 + 40 * r.rand() * yy
    for cx in (0.3 + 0.05 * r.randn(), 0.7 + 0.05 * r.randn()):
        d = ((xx - cx) / (0.14 + 0.04 * r.rand())) ** 2 + ((yy - 0.5) / (0.3 + 0.05 * r.rand())) ** 2
        img = img - (90 + 40 * r.rand()) * np.exp(-d ** 2)
    for _ in range(r.randint(0, 4)):  # blobs
        cx, cy, s = r.rand(), 0.3 + 0.5 * r.rand(), 0.03 + 0.08 * r.rand()
        img += 60 * np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / s ** 2))
    img += 8 * r.randn(h, w)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "L")


# ---------------------------------------------------------------- generation
def build_prefill(embed, vision_graph, sp, pixel_values, indication):
    chunks, _ = rb.prompt_chunks(sp, indication)
    with torch.no_grad():
        feats = vision_graph(pixel_values)
        e0 = embed(torch.tensor([chunks[0]]))
        e1 = embed(torch.tensor([chunks[1]]))
    return torch.cat([e0, feats, e1], dim=1), chunks


def greedy(decoder, embed, prefill, eos, max_new):
    """Prefill once, then one token per step with the KV cache. Returns the
    generated ids (without the EOS), whether EOS stopped it, and per step the
    margin between the best and second-best logit."""
    with torch.no_grad():
        s = prefill.shape[1]
        mask = torch.ones(1, s, dtype=torch.int64)
        pos = torch.arange(s, dtype=torch.int64)[None]
        out = decoder(prefill, mask, pos, *empty_past())
        ids, margins, stopped = [], [], False
        while True:
            logits, past = out[0][0, -1].float(), list(out[1:])
            top = torch.topk(logits, 2)
            nxt = int(top.indices[0])
            margins.append(float(top.values[0] - top.values[1]))
            if nxt == eos:
                stopped = True
                break
            ids.append(nxt)
            if len(ids) >= max_new:
                break
            t = mask.shape[1]
            mask = torch.ones(1, t + 1, dtype=torch.int64)
            pos = torch.tensor([[t]], dtype=torch.int64)
            out = decoder(embed(torch.tensor([[nxt]])), mask, pos, *past)
    return ids, stopped, margins


# ---------------------------------------------------------------- training
INDICATIONS = [None, "Shortness of breath.", "Fever and cough.", "Chest pain, rule out pneumothorax.",
               "Line placement.", "Follow-up of effusion.", "Trauma.", "Hypoxia\nafter surgery."]


def train(embed, decoder, vision_graph, sp, corpus_lines, steps, log):
    rng = random.Random(1)
    n_img = 6
    imgs = []
    with torch.no_grad():
        for i in range(n_img):
            pv = torch.from_numpy(rp.preprocess_pil(synthetic_image(100 + i)))[None]
            imgs.append(vision_graph(pv))
    # each (image, indication) pair gets a fixed "report": a sentence chosen
    # by the image, then (with an indication) one chosen by the indication,
    # so that the output has to depend on both
    r = random.Random(1000)
    img_sent = r.sample(corpus_lines, n_img)
    ind_sent = r.sample(corpus_lines, len(INDICATIONS))
    reports = {}
    for i in range(n_img):
        for j in range(len(INDICATIONS)):
            reports[i, j] = img_sent[i] + ("" if INDICATIONS[j] is None else " " + ind_sent[j])
    params = list(embed.parameters()) + list(decoder.parameters())
    opt = torch.optim.AdamW(params, lr=3e-3, weight_decay=0.0)
    eos = sp.eos_id()
    t0 = time.time()
    for step in range(steps):
        i, j = rng.randrange(n_img), rng.randrange(len(INDICATIONS))
        chunks, _ = rb.prompt_chunks(sp, INDICATIONS[j])
        ans = sp.encode(reports[i, j])
        ans = ans + [eos]
        e0 = embed(torch.tensor([chunks[0]]))
        e1 = embed(torch.tensor([chunks[1] + ans[:-1]]))
        # A random sample of the image tokens keeps a step cheap. To look like
        # the real prefill (all 1369), the sampled tokens keep their real
        # positions (RoPE), the text after them is placed after all 1369, and
        # their attention logits get + log(1369/k), as if each stood for
        # 1369/k tokens.
        idx = sorted(rng.sample(range(N_PATCH), TRAIN_IMAGE_TOKENS))
        x = torch.cat([e0, imgs[i][:, idx], e1], dim=1)
        s, c0, k = x.shape[1], e0.shape[1], TRAIN_IMAGE_TOKENS
        pos = torch.cat([torch.arange(c0), c0 + torch.tensor(idx), torch.arange(c0 + N_PATCH, c0 + N_PATCH + e1.shape[1])])
        bias = torch.zeros(1, s)
        bias[0, c0:c0 + k] = math.log(N_PATCH / k)
        out = decoder(x, torch.ones(1, s, dtype=torch.int64), pos[None], *empty_past(), key_bias=bias,
                      order=torch.arange(s)[None])
        logits = out[0][0, s - len(ans):]
        loss = F.cross_entropy(logits, torch.tensor(ans))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == steps - 1:
            log(f"  step {step:3d} loss {loss.item():.3f} ({time.time() - t0:.1f}s)")


# ---------------------------------------------------------------- checks
def check_decoder_cache(decoder, embed):
    """torch-vs-torch: a full forward equals prefill + cached steps, and an
    empty past (P=0) works."""
    torch.manual_seed(5)
    x = torch.randn(1, 9, HIDDEN)
    with torch.no_grad():
        full = decoder(x, torch.ones(1, 9, dtype=torch.int64), torch.arange(9)[None], *empty_past())[0]
        a = decoder(x[:, :6], torch.ones(1, 6, dtype=torch.int64), torch.arange(6)[None], *empty_past())
        b = decoder(x[:, 6:], torch.ones(1, 9, dtype=torch.int64), torch.arange(6, 9)[None], *a[1:])
    err = max((full[:, :6] - a[0]).abs().max().item(), (full[:, 6:] - b[0]).abs().max().item())
    assert err < 1e-4, err
    return err


def export_decoder(decoder, path, dtype=torch.float32):
    ins, outs = rb.decoder_io_names(LAYERS)
    torch.manual_seed(6)
    p, s = 3, 5
    args = [torch.randn(1, s, HIDDEN).to(dtype), torch.ones(1, p + s, dtype=torch.int64),
            torch.arange(p, p + s)[None]]
    args += [torch.randn(1, KV_HEADS, p, HEAD_SIZE).to(dtype) for _ in range(2 * LAYERS)]
    dyn = {"inputs_embeds": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
           "position_ids": {0: "batch_size", 1: "sequence_length"},
           "logits": {0: "batch_size", 1: "sequence_length"}}
    for n in ins[3:]:
        dyn[n] = {0: "batch_size", 2: "past_sequence_length"}
    for n in outs[1:]:
        dyn[n] = {0: "batch_size", 2: "total_sequence_length"}
    torch.onnx.export(decoder, tuple(args), path, input_names=ins, output_names=outs,
                      dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True)


def check_onnx(path):
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)

    def desc(vi):
        t = vi.type.tensor_type
        dims = [d.dim_param or d.dim_value for d in t.shape.dim]
        return f"{vi.name} {onnx.TensorProto.DataType.Name(t.elem_type).lower()} {dims}"
    return [desc(v) for v in m.graph.input], [desc(v) for v in m.graph.output]


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "demo"))
    ap.add_argument("--image", default=os.path.join(ROOT, "dicom", "pixels", "testdata", "cr_display.png"))
    ap.add_argument("--dicom", default=None,
                    help="DICOM for the references/ image case (default: the testdata CR, 4.dcm of the "
                         "github.com/suyashkumar/dicom module, found with `go list -m`)")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--dtype", choices=["float32", "float16"], default="float32",
                    help="float16: the same weights (float32 inside) behind float16 inputs/outputs "
                         "(pixel_values, image_features, inputs_embeds, logits, KV), like an fp16 bundle's "
                         "interface; for testing a runtime's float16 paths on CPU")
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    out = a.out
    os.makedirs(out, exist_ok=True)
    log = print

    corpus = os.path.join(HERE, "corpus.txt")
    lines = [l.strip() for l in open(corpus, encoding="utf-8") if l.strip()]
    sp = train_tokenizer(corpus, os.path.join(out, "tokenizer.model"))
    assert sp.get_piece_size() == VOCAB and sp.unk_id() == 0 and sp.bos_id() == 1 and sp.eos_id() == 2
    log(f"tokenizer: {VOCAB} pieces")

    torch.manual_seed(0)
    vit, projector = ViT(), make_projector()
    vision_graph = VisionGraph(vit, projector).eval()
    embed = nn.Embedding(VOCAB, HIDDEN)
    decoder = Decoder()
    # Sanity of the features rule against the full trunk.
    with torch.no_grad():
        x = torch.randn(1, 3, IMAGE_SIZE, IMAGE_SIZE)
        ref = projector(vit.hidden_states(x)[-2][:, 1:])
        assert torch.allclose(vision_graph(x), ref, atol=1e-6)

    train(embed, decoder, vision_graph, sp, lines, a.steps, log)
    embed.eval()
    decoder.eval()
    for p in list(embed.parameters()) + list(decoder.parameters()) + list(vision_graph.parameters()):
        p.requires_grad_(False)
    for seed in (100, 101, 7):  # two training images and an unseen one
        pv = torch.from_numpy(rp.preprocess_pil(synthetic_image(seed)))[None]
        for ind in (None, INDICATION):
            ids, stopped, _ = greedy(decoder, embed, build_prefill(embed, vision_graph, sp, pv, ind)[0], sp.eos_id(), 64)
            log(f"  synthetic image {seed}, indication {ind!r}: {len(ids)} tokens{'' if stopped else '+'}: {sp.decode(ids)!r}")
    log(f"decoder cache check: max |full - cached| = {check_decoder_cache(decoder, embed):.2e}")
    dt = torch.float16 if a.dtype == "float16" else torch.float32
    if dt == torch.float16:
        vision_graph, embed, decoder = Half(vision_graph), Half(embed), Half(decoder)

    rb.export_vision(vision_graph, os.path.join(out, "vision.onnx"), IMAGE_SIZE, dt, OPSET, N_PATCH)
    rb.export_embedding(embed, os.path.join(out, "embedding.onnx"), OPSET)
    export_decoder(decoder, os.path.join(out, "decoder.onnx"), dt)
    io_desc = {}
    for f in ("vision.onnx", "embedding.onnx", "decoder.onnx"):
        io_desc[f] = check_onnx(os.path.join(out, f))
        log(f"{f}: inputs {io_desc[f][0]} outputs {io_desc[f][1]}")

    doc = rb.model_json(
        name=NAME if dt == torch.float32 else NAME + "-fp16io", version=VERSION, dtype=a.dtype, image_size=IMAGE_SIZE,
        image_token_count=N_PATCH, patch_size=PATCH, bos_id=1, eos_id=2, unk_id=0, pad_id=-1,
        vocab_size=VOCAB, num_layers=LAYERS, hidden_size=HIDDEN, num_heads=HEADS,
        num_kv_heads=KV_HEADS, head_size=HEAD_SIZE, context_length=CONTEXT, max_new_tokens=256,
        demo=True, note="untrained toy weights: output is meaningless",
        source="deploy/demo-model/make_demo_model.py", input_rendering=rb.RENDERING_MIMIC, references="reference")
    rb.write_model_json(os.path.join(out, "model.json"), doc)

    refdir = os.path.join(out, "reference")
    os.makedirs(refdir, exist_ok=True)
    write_prompt_reference(sp, refdir)
    if os.path.exists(a.image):
        write_image_reference(a.image, refdir, sp, embed, vision_graph, decoder, log, dt)
    else:
        log(f"NOTE: {a.image} not found: image references skipped")
    write_references(refdir, a.dicom or testdata_cr(), sp, embed, vision_graph, decoder, log, a.dtype)
    # The export side's bundle check (deploy/export/check_bundle.py) on the result.
    import check_bundle
    problems = check_bundle.main(out)
    if problems:
        raise SystemExit("bundle check: " + "; ".join(problems))


def write_prompt_reference(sp, refdir):
    doc = {"note": "Python sentencepiece ids of the two text chunks around <image> "
                   "(LLaVA tokenizer_image_token: each chunk encoded alone with the dummy prefix, BOS only at the start)",
           "cases": []}
    for ind in [None, INDICATION, "Fever,\ncough  and   hypoxia (SpO2 88 %).", "", "  "]:
        chunks, _ = rb.prompt_chunks(sp, ind)
        doc["cases"].append({"indication": ind, "prompt": rb.prompt_text(ind),
                             "chunks": chunks, "image_index": 1})
    with open(os.path.join(refdir, "prompt_ids.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")


def write_image_reference(image_path, refdir, sp, embed, vision_graph, decoder, log, dt=torch.float32):
    pix = rp.preprocess(image_path)  # float32 [3,518,518]
    pix.astype("<f4").tofile(os.path.join(refdir, "cr_pixel_values.f32"))
    res = {"image": os.path.relpath(image_path, ROOT), "pixel_values_file": "cr_pixel_values.f32",
           "pixel_values_shape": list(pix.shape), "pixel_values_dtype": "float32 little-endian, C order",
           "pixel_values_sha256": __import__("hashlib").sha256(pix.astype("<f4").tobytes()).hexdigest(),
           "note": f"PyTorch greedy decoding of the demo model ({'float32' if dt == torch.float32 else 'float32 inside, float16 interfaces'}, CPU); ids exclude the final EOS",
           "cases": []}
    pv = torch.from_numpy(pix)[None].to(dt)
    with torch.no_grad():
        feats = vision_graph(pv)
    res["image_features_first8"] = [float(v) for v in feats[0, 0, :8]]
    res["image_features_mean_abs"] = float(feats.abs().mean())
    for ind in [None, INDICATION]:
        prefill, chunks = build_prefill(embed, vision_graph, sp, pv, ind)
        with torch.no_grad():
            first = decoder(prefill, torch.ones(1, prefill.shape[1], dtype=torch.int64),
                            torch.arange(prefill.shape[1])[None], *empty_past())[0][0, -1].float()
        ids, stopped, margins = greedy(decoder, embed, prefill, sp.eos_id(), 256)
        text = sp.decode(ids)
        res["cases"].append({"indication": ind, "prompt_chunks": chunks, "prefill_length": prefill.shape[1],
                             "first_logits_top5": [[int(i), float(v)] for v, i in zip(*torch.topk(first, 5))],
                             "ids": ids, "stopped_by_eos": stopped, "text": text,
                             "min_top2_margin": min(margins)})
        log(f"reference ({ind!r}): {len(ids)} tokens, eos={stopped}, min margin {min(margins):.3f}: {text!r}")
    with open(os.path.join(refdir, "cr_greedy.json"), "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1, ensure_ascii=False)
        f.write("\n")


def testdata_cr():
    import subprocess
    d = subprocess.run(["go", "list", "-m", "-f", "{{.Dir}}", "github.com/suyashkumar/dicom"], cwd=ROOT,
                       check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(d, "testdata", "4.dcm")


def write_references(refdir, dicom, sp, embed, vision_graph, decoder, log, dtype):
    """references in the format every bundle has (radraft_bundle.write_references),
    checked by `radraft model check --reference`: prompt ids for the ~50
    reference indications, and for the testdata CR rendered as MIMIC-CXR-JPG
    (the DICOM is not copied: its name is resolved with --dicom-dir) the
    input's and tensor's sha256, the features' fingerprint and the first 64
    greedy tokens with and without an indication."""
    from PIL import Image
    sys.path.insert(0, os.path.join(ROOT, "deploy", "export"))
    import mimic_cxr_jpg
    prompts = rb.prompt_references(lambda t: rb.sp_tokenizer_image_token(sp, t, sp.bos_id()))
    gray = mimic_cxr_jpg.render(dicom)
    pix = rp.preprocess_pil(Image.fromarray(gray))
    pv = torch.from_numpy(pix)[None].to(torch.float16 if dtype == "float16" else torch.float32)
    with torch.no_grad():
        feats = vision_graph(pv).float().numpy()
    gens = []
    for ind in [None, INDICATION]:
        ids, stopped, margins = greedy(decoder, embed, build_prefill(embed, vision_graph, sp, pv, ind)[0],
                                       sp.eos_id(), rb.REFERENCE_NEW_TOKENS)
        gens.append({"indication": ind, "ids": ids, "stopped_by_eos": stopped, "text": sp.decode(ids).strip(),
                     "min_top2_margin": min(margins)})
        log(f"references, MIMIC-rendered CR ({ind!r}): {len(ids)} tokens: {gens[-1]['text']!r}")
    image = rb.image_reference("testdata CR (4.dcm)", gray, pix, feats, gens, dicom=os.path.basename(dicom))
    rb.write_references(refdir, prompts, [image], rendering=rb.RENDERING_MIMIC, dtype=dtype,
                        source="deploy/demo-model/make_demo_model.py (PyTorch, CPU)")


if __name__ == "__main__":
    main()
