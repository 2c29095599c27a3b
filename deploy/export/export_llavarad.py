#!/usr/bin/env python3
"""Builds a radraft model bundle from the real LLaVA-Rad weights, on the
site's own machine (a GPU box for the fp16/CUDA bundle; the int4/CPU bundle
also builds on a large CPU machine). radraft ships no weights: LLaVA-Rad's
licence forbids redistribution, so each site runs this. See README.md here.

Steps (each can be skipped when its output exists, see --help):

 1. load: LLaVA-Rad through its own code (the `llava` package of the
    LLaVA-Rad repository): Vicuna-7B v1.5 + the LoRA (r 64, alpha 128)
    merged with peft's merge_and_unload, the mlp2x_gelu projector and the
    BiomedCLIP-CXR 518 vision tower: on CUDA with LLaVA-Rad's own
    load_pretrained_model on one GPU (device_map {"": "cuda:0"}: its default
    "auto" spreads layers over every visible GPU, which a later .to() breaks),
    on CPU with the same steps in float32 (torch 2.0.1 cannot merge the LoRA
    in float16 on the CPU);
 2. check the prompt: conv_templates["v1"] filled as LLaVA-Rad's eval does
    must give radraft's prompt text, and LLaVA's tokenizer_image_token on
    the Vicuna tokenizer the ids radraft computes (radraft_bundle.prompt_chunks
    with plain sentencepiece), for the ~50 reference indications; with
    --radraft BIN, the Go tokenizer (`radraft model tokenize`) too;
 3. vision.onnx: vision tower (hidden_states[-2], no final norm, CLS
    dropped: the tower's own feature_select) + projector, torch.onnx;
 4. embedding.onnx: the merged model's embed_tokens, torch.onnx;
 5. hf/: the merged language model saved as a plain LlamaForCausalLM folder
    (safetensors) for the model builder;
 6. decoder.onnx: onnxruntime-genai's model builder on hf/ with
    --extra_options exclude_embeds=true (fp16 + cuda, or fp32 + cpu), run
    by --builder-python (the builder needs a newer transformers/torch than
    LLaVA-Rad pins: give it its own virtual environment); --cpu-precision
    int8 then quantises the fp32 decoder's MatMuls to 8 bits
    (quantize_int8.py: MatMulNBits, accuracy level 1); its
    model.onnx(.data) is kept, renamed decoder.onnx (the external data file
    keeps its name, which the graph refers to);
 7. tokenizer.model: Vicuna's SentencePiece model, copied;
 8. model.json, then check_bundle.py's checks of names, dtypes, shapes.
 9. references/ (model.json "references"): prompt ids of LLaVA's
    tokenizer_image_token for the ~50 reference indications, and for each
    --reference-dicom (copied into the bundle: use public or de-identified
    images; the testdata CR is a good first one) its MIMIC-CXR-JPG model
    input (PNG), the preprocessed tensor's sha256, the vision features'
    fingerprint and LLaVA-Rad's first 64 greedy tokens with and without an
    indication. `radraft model check --reference` re-runs them through the
    Go pipeline: the site's acceptance test.

Needs: torch (CUDA build for --target cuda), transformers and peft versions
the LLaVA-Rad repository pins, open_clip_torch/timm as it needs, the `llava`
package (pip install -e <LLaVA-Rad checkout>), onnx, onnxruntime-genai
(for its model builder), sentencepiece, pillow, numpy. Disk: ~60 GB free.

    python3 export_llavarad.py --out /models/llava-rad-cuda --target cuda \
        --builder-python /opt/genai-venv/bin/python --reference-dicom cr.dcm
    python3 export_llavarad.py --out /models/llava-rad-cpu  --target cpu \
        --builder-python /opt/genai-venv/bin/python --reference-dicom cr.dcm

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


def builder_command(python, hf_dir, out_dir, target, cache_dir):
    """onnxruntime-genai's model builder: fp16 for CUDA, fp32 for the CPU
    (int8 is a pass over the fp32 graph, quantize_int8.py)."""
    precision = {"cuda": "fp16", "cpu": "fp32"}[target]
    return [python, "-m", "onnxruntime_genai.models.builder",
            "-i", hf_dir, "-o", out_dir, "-p", precision, "-e", target, "-c", cache_dir,
            "--extra_options", "exclude_embeds=true"]


def load_llavarad(model_path, model_base, target):
    """LLaVA-Rad with the LoRA merged, the projector and the vision tower:
    fp16 on one GPU for cuda, fp32 on the CPU for cpu."""
    if target == "cuda":
        from llava.model.builder import load_pretrained_model
        tokenizer, model, image_processor, context_len = load_pretrained_model(
            model_path, model_base, "llavarad", device_map={"": "cuda:0"}, device="cuda")
    else:
        tokenizer, model, image_processor, context_len = load_llavarad_cpu_fp32(model_path, model_base)
    model.eval()
    return tokenizer, model, image_processor, context_len


def non_lora_trainables(model_path):
    """The projector (and other non-LoRA) weights of the adapter, from the
    folder or the hub, keys as LLaVA-Rad's loader normalises them."""
    import torch
    f = os.path.join(model_path, "non_lora_trainables.bin")
    if not os.path.exists(f):
        from huggingface_hub import hf_hub_download
        f = hf_hub_download(repo_id=model_path, filename="non_lora_trainables.bin")
    sd = torch.load(f, map_location="cpu")
    sd = {(k[len("base_model."):] if k.startswith("base_model.") else k): v for k, v in sd.items()}
    if any(k.startswith("model.model.") for k in sd):
        sd = {(k[len("model."):] if k.startswith("model.") else k): v for k, v in sd.items()}
    return sd


def load_llavarad_cpu_fp32(model_path, model_base):
    """The steps of LLaVA-Rad's load_pretrained_model for a LoRA model
    (llava/model/builder.py), in float32 on the CPU: base model with the
    adapter's config, the non-LoRA weights, peft's merge, the image tokens
    the config asks for, the vision tower."""
    import torch
    from transformers import AutoConfig, AutoTokenizer
    from peft import PeftModel
    from llava.model import LlavaLlamaForCausalLM
    from llava.constants import DEFAULT_IMAGE_PATCH_TOKEN, DEFAULT_IM_START_TOKEN, DEFAULT_IM_END_TOKEN
    cfg = AutoConfig.from_pretrained(model_path)
    tokenizer = AutoTokenizer.from_pretrained(model_base, use_fast=False)
    model = LlavaLlamaForCausalLM.from_pretrained(model_base, low_cpu_mem_usage=True, config=cfg,
                                                  torch_dtype=torch.float32, device_map={"": "cpu"})
    n, d = model.lm_head.out_features, model.lm_head.in_features
    if model.lm_head.weight.shape[0] != n:
        model.lm_head.weight = torch.nn.Parameter(torch.empty(n, d, dtype=torch.float32))
        model.model.embed_tokens.weight = torch.nn.Parameter(torch.empty(n, d, dtype=torch.float32))
    model.load_state_dict({k: v.float() for k, v in non_lora_trainables(model_path).items()}, strict=False)
    model = PeftModel.from_pretrained(model, model_path).merge_and_unload()
    if getattr(model.config, "mm_use_im_patch_token", True):
        tokenizer.add_tokens([DEFAULT_IMAGE_PATCH_TOKEN], special_tokens=True)
    if getattr(model.config, "mm_use_im_start_end", False):
        tokenizer.add_tokens([DEFAULT_IM_START_TOKEN, DEFAULT_IM_END_TOKEN], special_tokens=True)
    model.resize_token_embeddings(len(tokenizer))
    tower = model.get_vision_tower()
    if not tower.is_loaded:
        tower.load_model()
    tower.to(device="cpu", dtype=torch.float32)
    context_len = getattr(model.config, "max_sequence_length", 2048)
    return tokenizer, model, tower.image_processor, context_len


def go_prompt_ids(radraft_bin, tokenizer_model, text):
    """radraft's Go tokenizer on one prompt (`radraft model tokenize`), in
    tokenizer_image_token's shape."""
    ids = []
    for i, chunk in enumerate(text.split(rb.IMAGE_PLACEHOLDER)):
        out = subprocess.run([radraft_bin, "model", "tokenize", "--tokenizer", tokenizer_model, chunk],
                             check=True, capture_output=True, text=True).stdout
        got = json.loads(out)
        ids += got if i == 0 else [rb.IMAGE_TOKEN_INDEX] + got[1:]
    return ids


def check_prompt(conv_template, token_ids, sp, radraft_bin=None, tokenizer_model=None, indications=None):
    """For each indication: the prompt LLaVA-Rad's own code builds
    (conv_template = its conv_templates["v1"], see rb.official_prompt) must be
    radraft's prompt_text, and token_ids (LLaVA's tokenizer_image_token on
    the HF tokenizer) must give radraft's chunked sentencepiece ids and, with
    radraft_bin, the Go tokenizer's. Raises SystemExit on the first
    difference; returns the number of indications checked."""
    inds = rb.REFERENCE_INDICATIONS if indications is None else indications
    for ind in inds:
        official = rb.official_prompt(conv_template, ind)
        ours = rb.prompt_text(ind)
        if official != ours:
            raise SystemExit(f"prompt text differs for indication {ind!r}:\n llava:   {official!r}\n radraft: {ours!r}")
        ids = [int(i) for i in token_ids(official)]
        chunks, _ = rb.prompt_chunks(sp, ind, bos_id=sp.bos_id())
        want = chunks[0] + [rb.IMAGE_TOKEN_INDEX] + chunks[1]
        if ids != want:
            raise SystemExit(f"prompt ids differ for indication {ind!r}:\n llava:   {ids}\n radraft: {want}")
        if radraft_bin:
            go = go_prompt_ids(radraft_bin, tokenizer_model, official)
            if go != ids:
                raise SystemExit(f"Go tokenizer differs for indication {ind!r}:\n llava: {ids}\n go:    {go}")
    print(f"prompt: conv_templates['v1'] == radraft's text and tokenizer_image_token == radraft's ids"
          f"{' == the Go tokenizer' if radraft_bin else ''} for {len(inds)} indications")
    return len(inds)


def new_tokens(sequence, prompt_ids, eos_id):
    """The generated ids of one generate() output row, without the final EOS,
    and whether EOS ended it. transformers 4.31 returns the prompt (image
    placeholder included) followed by the new tokens: the prompt is sliced
    off by its length, as LLaVA-Rad's eval does (output_ids[:, len(input_ids):]);
    a generate that returns only the new tokens is told apart by not
    starting with the prompt."""
    seq = [int(t) for t in sequence]
    p = [int(t) for t in prompt_ids]
    if len(seq) >= len(p) and seq[:len(p)] == p:
        seq = seq[len(p):]
    out = []
    for t in seq:
        if t == eos_id:
            return out, True
        out.append(t)
    return out, False


def disable_fused_attention(module):
    """timm's Attention blocks call F.scaled_dot_product_attention when
    fused_attn is set (timm >= 0.9 on torch >= 2.0), which torch 2.0.1's ONNX
    exporter cannot export: switch them to the explicit softmax(QK^T)V path
    (same result up to rounding). Returns how many blocks were switched."""
    n = 0
    for m in module.modules():
        if getattr(m, "fused_attn", None) is True:
            m.fused_attn = False
            n += 1
    return n


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


def write_bundle_json(out, sp, cfg, n_tokens, hidden, name, version, source, context_len, demo=False, note=None,
                      references=None):
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
        demo=demo, note=note, source=source, input_rendering=rb.RENDERING_MIMIC, references=references)
    rb.write_model_json(os.path.join(out, "model.json"), doc)
    return doc


def generate_reference(model, tokenizer, pixel_values, indication, eos_id):
    """LLaVA-Rad's own greedy generation (temperature 0, one beam) of the
    first REFERENCE_NEW_TOKENS tokens, with the smallest top-1/top-2 logit
    margin over the steps (how near a tie the reference came)."""
    import torch
    from llava.mm_utils import tokenizer_image_token
    ids = tokenizer_image_token(rb.prompt_text(indication), tokenizer, rb.IMAGE_TOKEN_INDEX, return_tensors="pt")[None]
    ids = ids.to(pixel_values.device)
    with torch.inference_mode():
        out = model.generate(ids, images=pixel_values, do_sample=False, num_beams=1,
                             max_new_tokens=rb.REFERENCE_NEW_TOKENS, use_cache=True,
                             output_scores=True, return_dict_in_generate=True)
    toks, stopped = new_tokens(out.sequences[0], ids[0], eos_id)
    margins = []
    for sc in out.scores[:len(toks) + (1 if stopped else 0)]:
        top = torch.topk(sc[0].float(), 2).values
        margins.append(float(top[0] - top[1]))
    text = tokenizer.decode(toks, skip_special_tokens=True).strip()
    return {"indication": indication, "ids": toks, "stopped_by_eos": stopped, "text": text,
            "min_top2_margin": min(margins) if margins else None}


def write_export_references(out, model, tokenizer, image_processor, vg, dicoms, device, dtype, eos_id, log=print):
    """references/ (see the module doc): prompt ids from LLaVA's
    tokenizer_image_token, and per DICOM the model input, tensor, features
    and greedy tokens of the reference code."""
    import numpy as np
    import torch
    from PIL import Image
    from llava.mm_utils import tokenizer_image_token
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "demo-model"))
    import mimic_cxr_jpg
    import reference_preprocess as rp
    refdir = os.path.join(out, "references")
    os.makedirs(refdir, exist_ok=True)
    prompts = rb.prompt_references(lambda text: tokenizer_image_token(text, tokenizer, rb.IMAGE_TOKEN_INDEX))
    images = []
    for i, dcm in enumerate(dicoms):
        name = f"image{i}"
        shutil.copyfile(dcm, os.path.join(refdir, name + ".dcm"))
        gray = mimic_cxr_jpg.render(dcm)
        mimic_cxr_jpg.write_png(os.path.join(refdir, name + ".png"), gray)
        pil = Image.fromarray(gray)
        pix = rp.preprocess_pil(pil)
        theirs = image_processor.preprocess(pil.convert("RGB"), return_tensors="pt")["pixel_values"][0].numpy()
        log(f"{name}: radraft's preprocessing vs LLaVA-Rad's image_processor: max |diff| {float(np.abs(pix - theirs).max()):.3g}")
        pv = torch.from_numpy(pix)[None].to(device, dtype)
        with torch.no_grad():
            feats = vg(pv).float().cpu().numpy()
        gens = [generate_reference(model, tokenizer, pv, ind, eos_id) for ind in (None, "Shortness of breath.")]
        for g in gens:
            log(f"{name} ({g['indication']!r}): {len(g['ids'])} tokens, min margin {g['min_top2_margin']}: {g['text']!r}")
        images.append(rb.image_reference(name, gray, pix, feats, gens, dicom=name + ".dcm", png=name + ".png"))
    rb.write_references(refdir, prompts, images, rendering=rb.RENDERING_MIMIC,
                        dtype="float16" if dtype == torch.float16 else "float32",
                        source="deploy/export/export_llavarad.py (LLaVA-Rad's PyTorch code)")
    return "references"


def copy_decoder(genai_dir, out):
    """decoder.onnx beside its external data (model.onnx.data keeps its name)."""
    for f in os.listdir(genai_dir):
        if f == "model.onnx":
            shutil.copyfile(os.path.join(genai_dir, f), os.path.join(out, "decoder.onnx"))
        elif f.startswith("model.onnx") or f.endswith(".data"):
            shutil.copyfile(os.path.join(genai_dir, f), os.path.join(out, f))
        elif f == "genai_config.json":
            shutil.copyfile(os.path.join(genai_dir, f), os.path.join(out, "genai_config.json"))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="bundle folder to write")
    ap.add_argument("--target", choices=["cuda", "cpu"], default="cuda",
                    help="cuda: fp16 everywhere; cpu: float32 (decoder fp32, or int8 with --cpu-precision)")
    ap.add_argument("--cpu-precision", choices=["fp32", "int8"], default="fp32",
                    help="cpu decoder: fp32 (greedy text as PyTorch fp32) or int8 weights "
                         "(MatMulNBits, accuracy level 1: float32 compute); check either with model check --reference")
    ap.add_argument("--model-path", default=DEFAULT_MODEL_PATH, help="LLaVA-Rad adapter (hub id or folder)")
    ap.add_argument("--model-base", default=DEFAULT_MODEL_BASE, help="Vicuna-7B v1.5 (hub id or folder)")
    ap.add_argument("--work", default=None, help="scratch folder (default OUT/.work); ~30 GB")
    ap.add_argument("--name", default="llava-rad")
    ap.add_argument("--version", default=None, help="bundle version (default: llava-rad-<target>-<precision>)")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--builder-python", default=os.environ.get("RADRAFT_BUILDER_PYTHON", sys.executable),
                    help="Python with onnxruntime-genai (its own virtual environment: the builder needs a newer "
                         "transformers/torch than LLaVA-Rad pins); default $RADRAFT_BUILDER_PYTHON or this Python")
    ap.add_argument("--reference-dicom", action="append", default=[],
                    help="DICOM to record references for (repeatable; copied into the bundle: public or de-identified)")
    ap.add_argument("--radraft", default=None, help="radraft binary: also check the prompt ids with its Go tokenizer")
    ap.add_argument("--skip-builder", action="store_true", help="reuse WORK/genai/model.onnx")
    ap.add_argument("--dry-run", action="store_true")
    return ap.parse_args()


def main():
    a = parse_args()
    out = os.path.abspath(a.out)
    work = os.path.abspath(a.work or os.path.join(out, ".work"))
    hf_dir, genai_dir = os.path.join(work, "hf"), os.path.join(work, "genai")
    cmd = builder_command(a.builder_python, hf_dir, genai_dir, a.target, os.path.join(work, "cache"))
    precision = "fp16" if a.target == "cuda" else a.cpu_precision
    if a.dry_run:
        print("plan:")
        print(f"  load {a.model_path} on {a.model_base} (LoRA merged), vision tower + projector, "
              f"{'fp16 on cuda:0' if a.target == 'cuda' else 'fp32 on the CPU'}")
        print(f"  {out}/vision.onnx, {out}/embedding.onnx (torch.onnx opset {a.opset}, "
              f"{'float16' if a.target == 'cuda' else 'float32'}, timm fused attention off)")
        print(f"  {hf_dir}: plain LlamaForCausalLM")
        print("  " + " ".join(cmd))
        if precision == "int8":
            print(f"  quantize_int8.py {out}/decoder.onnx (MatMulNBits 8 bits, block 32, accuracy level 1)")
        print(f"  {out}/decoder.onnx (+ model.onnx.data), tokenizer.model, model.json (input_rendering mimic-cxr-jpg)")
        print(f"  {out}/references: prompt ids for {len(rb.REFERENCE_INDICATIONS)} indications; "
              f"images {a.reference_dicom or '(none: give --reference-dicom)'}")
        return

    os.environ.setdefault("TIMM_FUSED_ATTN", "0")  # read by timm at import (>= 0.9)
    import torch
    import sentencepiece as spm
    from llava.conversation import conv_templates
    from llava.mm_utils import tokenizer_image_token
    os.makedirs(out, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    device = "cuda" if a.target == "cuda" else "cpu"
    dtype = torch.float16 if a.target == "cuda" else torch.float32

    tokenizer, model, image_processor, context_len = load_llavarad(a.model_path, a.model_base, a.target)
    shutil.copyfile(tokenizer.vocab_file, os.path.join(out, "tokenizer.model"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(out, "tokenizer.model"))
    check_prompt(conv_templates["v1"], lambda t: tokenizer_image_token(t, tokenizer, rb.IMAGE_TOKEN_INDEX), sp,
                 a.radraft, os.path.join(out, "tokenizer.model"))

    vg = vision_graph(model)
    print(f"timm fused attention switched off in {disable_fused_attention(vg)} blocks")
    with torch.no_grad():
        feats = vg(torch.zeros(1, 3, 518, 518, device=device, dtype=dtype))
    n_tokens, hidden = feats.shape[1], feats.shape[2]
    with torch.no_grad():
        rb.export_vision(vg, os.path.join(out, "vision.onnx"), 518, dtype, a.opset, n_tokens)
        rb.export_embedding(model.get_model().embed_tokens, os.path.join(out, "embedding.onnx"), a.opset)

    refs = write_export_references(out, model, tokenizer, image_processor, vg, a.reference_dicom, device, dtype,
                                   sp.eos_id()) if a.reference_dicom else None
    if not a.skip_builder:
        cfg = save_plain_llama(model, tokenizer, hf_dir, dtype)
        del model, vg
        if device == "cuda":
            torch.cuda.empty_cache()
        print("running:", " ".join(cmd))
        subprocess.run(cmd, check=True)
    else:
        from transformers import AutoConfig
        cfg = AutoConfig.from_pretrained(hf_dir)
    copy_decoder(genai_dir, out)
    if precision == "int8":
        import quantize_int8
        quantize_int8.quantize(os.path.join(out, "decoder.onnx"), os.path.join(out, "decoder.onnx"))

    write_bundle_json(out, sp, cfg, n_tokens, hidden, name=a.name,
                      version=a.version or f"llava-rad-{a.target}-{precision}",
                      source=f"deploy/export/export_llavarad.py {a.model_path} + {a.model_base}, {precision} {a.target}",
                      context_len=context_len, references=refs)
    subprocess.run([sys.executable, os.path.join(HERE, "check_bundle.py"), out], check=True)
    print(f"bundle ready: {out} (set RADRAFT_MODEL_DIR={out}; RADRAFT_DEVICE={device}); "
          f"acceptance test: radraft model check --model {out} --device {device}{' --reference' if refs else ''}")


if __name__ == "__main__":
    main()
