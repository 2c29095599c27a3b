#!/usr/bin/env python3
"""Builds a radraft model bundle from the real LLaVA-Rad weights, on the
site's own machine (a GPU box for the fp16/CUDA bundle; the int4/CPU bundle
also builds on a large CPU machine). radraft ships no weights: LLaVA-Rad's
licence forbids redistribution, so each site runs this. See README.md here.

Steps (each can be skipped when its output exists, see --help):

 1. load: LLaVA-Rad through its own code (the `llava` package of the
    LLaVA-Rad repository): Vicuna-7B v1.5 + the LoRA (r 64, alpha 128)
    merged with peft's merge_and_unload, the mlp2x_gelu projector and the
    BiomedCLIP-CXR 518 vision tower, exactly as LLaVA-Rad's own
    load_pretrained_model does it;
 2. check the prompt: LLaVA's tokenizer_image_token on the Vicuna tokenizer
    must give the ids radraft computes (radraft_bundle.prompt_chunks with
    plain sentencepiece);
 3. vision.onnx: vision tower (hidden_states[-2], no final norm, CLS
    dropped: the tower's own feature_select) + projector, torch.onnx;
 4. embedding.onnx: the merged model's embed_tokens, torch.onnx;
 5. hf/: the merged language model saved as a plain LlamaForCausalLM folder
    (safetensors) for the model builder;
 6. decoder.onnx: onnxruntime-genai's model builder on hf/ with
    --extra_options exclude_embeds=true (fp16 + cuda, or int4 + cpu); its
    model.onnx(.data) is kept, renamed decoder.onnx (the external data file
    keeps its name, which the graph refers to);
 7. tokenizer.model: Vicuna's SentencePiece model, copied;
 8. model.json, then check_bundle.py's checks of names, dtypes, shapes.
 9. optional (--reference-image): PyTorch greedy ids for one 8-bit image
    with and without an indication, written to reference/ so that
    `radraft draft` on the site can be compared with the reference code.

Needs: torch (CUDA build for --target cuda), transformers and peft versions
the LLaVA-Rad repository pins, open_clip_torch/timm as it needs, the `llava`
package (pip install -e <LLaVA-Rad checkout>), onnx, onnxruntime-genai
(for its model builder), sentencepiece, pillow, numpy. Disk: ~60 GB free.

    python3 export_llavarad.py --out /models/llava-rad-cuda --target cuda
    python3 export_llavarad.py --out /models/llava-rad-cpu  --target cpu

--dry-run prints the plan (and the builder command) without importing
anything heavy.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import radraft_bundle as rb  # noqa: E402

DEFAULT_MODEL_PATH = "microsoft/llava-rad"
DEFAULT_MODEL_BASE = "lmsys/vicuna-7b-v1.5"


def builder_command(hf_dir, out_dir, target, cache_dir):
    precision = {"cuda": "fp16", "cpu": "int4"}[target]
    return [sys.executable, "-m", "onnxruntime_genai.models.builder",
            "-i", hf_dir, "-o", out_dir, "-p", precision, "-e", target, "-c", cache_dir,
            "--extra_options", "exclude_embeds=true"]


def load_llavarad(model_path, model_base, device):
    """LLaVA-Rad's own loader: merges the LoRA into Vicuna and loads the
    projector and the vision tower (fp16)."""
    from llava.model.builder import load_pretrained_model
    tokenizer, model, image_processor, context_len = load_pretrained_model(
        model_path, model_base, "llavarad", device=device)
    model.eval()
    return tokenizer, model, image_processor, context_len


def check_prompt(tokenizer, sp):
    """LLaVA's tokenizer_image_token (HF slow Llama tokenizer) == radraft's
    chunking with plain sentencepiece, for a few indications."""
    from llava.mm_utils import tokenizer_image_token
    from llava.constants import IMAGE_TOKEN_INDEX
    for ind in [None, "Shortness of breath.", "Fever,\ncough  and hypoxia (SpO2 88 %)."]:
        ids = tokenizer_image_token(rb.prompt_text(ind), tokenizer, IMAGE_TOKEN_INDEX)
        chunks, _ = rb.prompt_chunks(sp, ind, bos_id=sp.bos_id())
        want = chunks[0] + [IMAGE_TOKEN_INDEX] + chunks[1]
        if list(ids) != want:
            raise SystemExit(f"prompt ids differ for indication {ind!r}:\n llava:   {list(ids)}\n radraft: {want}")
    print("prompt: LLaVA's tokenizer_image_token == radraft's chunked sentencepiece ids")


def vision_graph(model):
    """pixel_values -> image_features with LLaVA-Rad's own modules: the
    tower's feature_select is hidden_states[mm_vision_select_layer = -2]
    without the trunk's final norm, CLS dropped ('patch')."""
    import torch

    class VisionGraph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.tower = model.get_vision_tower()
            self.projector = model.get_model().mm_projector

        def forward(self, pixel_values):
            out = self.tower.vision_tower(pixel_values, output_hidden_states=True)
            return self.projector(self.tower.feature_select(out))
    return VisionGraph().eval()


def save_plain_llama(model, tokenizer, hf_dir, dtype):
    """The merged LM as a LlamaForCausalLM folder (no mm_* weights)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(**{k: v for k, v in model.config.to_dict().items()
                         if not k.startswith("mm_") and k not in ("architectures", "model_type", "_name_or_path")})
    cfg.architectures = ["LlamaForCausalLM"]
    sd = {k: v for k, v in model.state_dict().items()
          if not (k.startswith("model.mm_projector") or k.startswith("model.vision_tower"))}
    lm = LlamaForCausalLM._from_config(cfg, torch_dtype=dtype)
    missing, unexpected = lm.load_state_dict({k: v.to("cpu", dtype) for k, v in sd.items()}, strict=False)
    missing = [k for k in missing if "rotary_emb" not in k]
    if missing or unexpected:
        raise SystemExit(f"merged LM does not fit LlamaForCausalLM: missing {missing[:5]}, unexpected {unexpected[:5]}")
    lm.save_pretrained(hf_dir, safe_serialization=True)
    tokenizer.save_pretrained(hf_dir)
    return cfg


def decoder_io(path):
    import onnx
    m = onnx.load(path, load_external_data=False)

    def d(vi):
        t = vi.type.tensor_type
        return vi.name, onnx.TensorProto.DataType.Name(t.elem_type).lower(), [x.dim_param or x.dim_value for x in t.shape.dim]
    return [d(v) for v in m.graph.input], [d(v) for v in m.graph.output]


def write_bundle_json(out, sp, cfg, n_tokens, hidden, name, version, source, context_len, demo=False, note=None):
    """model.json from the built graphs (layer count and float type read from
    decoder.onnx), the LM config (heads, vocab, context) and the tokenizer."""
    ins, _ = decoder_io(os.path.join(out, "decoder.onnx"))
    embeds = {n: t for n, t, _ in ins}["inputs_embeds"]
    io_dtype = {"float16": "float16", "float": "float32"}[embeds]
    layers = sum(1 for n, _, _ in ins if n.startswith("past_key_values.") and n.endswith(".key"))
    heads = cfg.num_attention_heads
    kv_heads = getattr(cfg, "num_key_value_heads", None) or heads
    doc = rb.model_json(
        name=name, version=version, dtype=io_dtype, image_size=518, image_token_count=n_tokens, patch_size=14,
        bos_id=sp.bos_id(), eos_id=sp.eos_id(), unk_id=sp.unk_id(), pad_id=sp.pad_id(),
        vocab_size=cfg.vocab_size, num_layers=layers, hidden_size=hidden, num_heads=heads,
        num_kv_heads=kv_heads, head_size=hidden // heads,
        context_length=int(getattr(cfg, "max_position_embeddings", None) or context_len), max_new_tokens=256,
        demo=demo, note=note, source=source)
    rb.write_model_json(os.path.join(out, "model.json"), doc)
    return doc


def reference(model, image_processor, tokenizer, sp, image_path, out, device, dtype):
    """PyTorch greedy ids (LLaVA-Rad's generate, temperature 0, 256 tokens)."""
    import torch
    from PIL import Image
    from llava.mm_utils import tokenizer_image_token
    from llava.constants import IMAGE_TOKEN_INDEX
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "demo-model"))
    import reference_preprocess as rp
    img = Image.open(image_path)
    px = torch.from_numpy(rp.preprocess_pil(img))[None]
    theirs = image_processor.preprocess(img.convert("RGB"), return_tensors="pt")["pixel_values"][0][None]
    res = {"image": image_path, "max_abs_diff_vs_open_clip_preprocess": float((px - theirs).abs().max()), "cases": []}
    for ind in [None, "Shortness of breath."]:
        ids = tokenizer_image_token(rb.prompt_text(ind), tokenizer, IMAGE_TOKEN_INDEX, return_tensors="pt")[None].to(device)
        with torch.inference_mode():
            gen = model.generate(ids, images=px.to(device, dtype), do_sample=False, num_beams=1,
                                 max_new_tokens=256, use_cache=True)
        toks = [int(t) for t in gen[0] if int(t) >= 0]
        if toks and toks[0] == sp.bos_id():  # older llava returns the prompt too
            toks = toks[len(ids[0]):]
        if toks and toks[-1] == sp.eos_id():
            toks = toks[:-1]
        res["cases"].append({"indication": ind, "ids": toks, "text": sp.decode(toks)})
        print(f"reference ({ind!r}): {sp.decode(toks)!r}")
    os.makedirs(os.path.join(out, "reference"), exist_ok=True)
    with open(os.path.join(out, "reference", "pytorch_greedy.json"), "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1, ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="bundle folder to write")
    ap.add_argument("--target", choices=["cuda", "cpu"], default="cuda",
                    help="cuda: fp16 everywhere; cpu: int4 decoder (float32 activations), float32 vision/embedding")
    ap.add_argument("--model-path", default=DEFAULT_MODEL_PATH, help="LLaVA-Rad adapter (hub id or folder)")
    ap.add_argument("--model-base", default=DEFAULT_MODEL_BASE, help="Vicuna-7B v1.5 (hub id or folder)")
    ap.add_argument("--work", default=None, help="scratch folder (default OUT/.work); ~30 GB")
    ap.add_argument("--name", default="llava-rad")
    ap.add_argument("--version", default=None, help="bundle version (default: llava-rad-<target>-<precision>)")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--reference-image", default=None, help="8-bit PNG to record PyTorch greedy ids for")
    ap.add_argument("--skip-builder", action="store_true", help="reuse WORK/genai/model.onnx")
    ap.add_argument("--dry-run", action="store_true")
    a = ap.parse_args()

    out = os.path.abspath(a.out)
    work = os.path.abspath(a.work or os.path.join(out, ".work"))
    hf_dir, genai_dir = os.path.join(work, "hf"), os.path.join(work, "genai")
    cmd = builder_command(hf_dir, genai_dir, a.target, os.path.join(work, "cache"))
    if a.dry_run:
        print("plan:")
        print(f"  load {a.model_path} on {a.model_base} (LoRA merged), vision tower + projector")
        print(f"  {out}/vision.onnx, {out}/embedding.onnx (torch.onnx opset {a.opset}, "
              f"{'float16' if a.target == 'cuda' else 'float32'})")
        print(f"  {hf_dir}: plain LlamaForCausalLM")
        print("  " + " ".join(cmd))
        print(f"  {out}/decoder.onnx (+ model.onnx.data), tokenizer.model, model.json")
        return

    import torch
    import sentencepiece as spm
    os.makedirs(out, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    device = "cuda" if a.target == "cuda" else "cpu"
    dtype = torch.float16 if a.target == "cuda" else torch.float32

    tokenizer, model, image_processor, context_len = load_llavarad(a.model_path, a.model_base, device)
    model.to(device=device, dtype=dtype)
    shutil.copyfile(tokenizer.vocab_file, os.path.join(out, "tokenizer.model"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(out, "tokenizer.model"))
    check_prompt(tokenizer, sp)

    vg = vision_graph(model).to(device=device, dtype=dtype)
    with torch.no_grad():
        feats = vg(torch.zeros(1, 3, 518, 518, device=device, dtype=dtype))
    n_tokens, hidden = feats.shape[1], feats.shape[2]
    with torch.no_grad():
        rb.export_vision(vg, os.path.join(out, "vision.onnx"), 518, dtype, a.opset, n_tokens)
        emb = model.get_model().embed_tokens
        rb.export_embedding(emb, os.path.join(out, "embedding.onnx"), a.opset)

    if not a.skip_builder:
        cfg = save_plain_llama(model, tokenizer, hf_dir, torch.float16)
        del model
        if device == "cuda":
            torch.cuda.empty_cache()
        print("running:", " ".join(cmd))
        subprocess.run(cmd, check=True)
    else:
        from transformers import AutoConfig
        cfg = AutoConfig.from_pretrained(hf_dir)
    # decoder.onnx beside its external data (model.onnx.data keeps its name)
    for f in os.listdir(genai_dir):
        if f == "model.onnx":
            shutil.copyfile(os.path.join(genai_dir, f), os.path.join(out, "decoder.onnx"))
        elif f.startswith("model.onnx") or f.endswith(".data"):
            shutil.copyfile(os.path.join(genai_dir, f), os.path.join(out, f))
        elif f == "genai_config.json":
            shutil.copyfile(os.path.join(genai_dir, f), os.path.join(out, "genai_config.json"))

    precision = "fp16" if a.target == "cuda" else "int4"
    write_bundle_json(out, sp, cfg, n_tokens, hidden, name=a.name,
                      version=a.version or f"llava-rad-{a.target}-{precision}",
                      source=f"deploy/export/export_llavarad.py {a.model_path} + {a.model_base}, {precision} {a.target}",
                      context_len=context_len)
    subprocess.run([sys.executable, os.path.join(HERE, "check_bundle.py"), out], check=True)

    if a.reference_image:
        tokenizer, model, image_processor, _ = load_llavarad(a.model_path, a.model_base, device)
        model.to(device=device, dtype=dtype)
        reference(model, image_processor, tokenizer, sp, a.reference_image, out, device, dtype)
    print(f"bundle ready: {out} (set RADRAFT_MODEL_DIR={out}; RADRAFT_DEVICE={'cuda' if a.target == 'cuda' else 'cpu'})")


if __name__ == "__main__":
    main()
