"""Shared code of the radraft model bundle: the model.json schema, the Vicuna v1
prompt of LLaVA-Rad, and the torch.onnx exports of the vision graph (vision
tower + projector) and the embedding graph. Used by deploy/export/export_llavarad.py
(real weights, a site's GPU box) and deploy/demo-model/make_demo_model.py (the
bundled toy model), so both bundles have one layout.

Tensor names follow onnxruntime-genai's model builder with exclude_embeds=true:

  vision.onnx     pixel_values   [batch_size,3,518,518]        float  ->  image_features [batch_size,1369,hidden]
  embedding.onnx  input_ids      [batch_size,sequence_length]  int64  ->  inputs_embeds  [batch_size,sequence_length,hidden]
  decoder.onnx    inputs_embeds  [batch_size,sequence_length,hidden]  float
                  attention_mask [batch_size,total_sequence_length]   int64
                  position_ids   [batch_size,sequence_length]         int64   (optional for loaders)
                  past_key_values.{i}.key / .value [batch_size,kv_heads,past_sequence_length,head_size] float
              ->  logits [batch_size,sequence_length,vocab] float
                  present.{i}.key / .value [batch_size,kv_heads,total_sequence_length,head_size] float
"""
import json
import os

SCHEMA_VERSION = 2

# model.json "input_rendering" values (inference/render.go)
RENDERING_MIMIC = "mimic-cxr-jpg"
RENDERING_DISPLAY = "display"

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. "
          "The assistant gives helpful, detailed, and polite answers to the user's questions.")
TEMPLATE = "{system} USER: <image>\n{instruction} ASSISTANT:"
IMAGE_PLACEHOLDER = "<image>"
INSTRUCTION = "Provide a description of the findings in the radiology image given the following indication: {indication}"
INSTRUCTION_NO_INDICATION = "Provide a description of the findings in the radiology image."

VISION_INPUT, VISION_OUTPUT = "pixel_values", "image_features"
EMBED_INPUT, EMBED_OUTPUT = "input_ids", "inputs_embeds"


def decoder_io_names(num_layers):
    ins = ["inputs_embeds", "attention_mask", "position_ids"]
    outs = ["logits"]
    for i in range(num_layers):
        ins += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        outs += [f"present.{i}.key", f"present.{i}.value"]
    return ins, outs


def clean_indication(indication):
    """The indication as LLaVA-Rad's code puts it in the question (twin of
    Go's prompt.CleanIndication): CR LF and lone CR become "\n" (radraft's
    own step, for HL7 text), each "\n" a space, every "<image>" is removed
    and white space is stripped from the end; a blank indication is none."""
    if indication is None:
        return ""
    s = indication.replace("\r\n", "\n").replace("\r", "\n").replace("\n", " ")
    s = s.replace(IMAGE_PLACEHOLDER, "").rstrip()
    return s if s.strip() else ""


def prompt_text(indication=None):
    """The full Vicuna v1 prompt of LLaVA-Rad (one string, with <image>);
    an empty or blank indication means the no-indication instruction."""
    indication = clean_indication(indication)
    if indication:
        instr = INSTRUCTION.format(indication=indication)
    else:
        instr = INSTRUCTION_NO_INDICATION
    return TEMPLATE.format(system=SYSTEM, instruction=instr)


def official_prompt(conv_template, indication=None):
    """The prompt as LLaVA-Rad's own code builds it, given its
    conv_templates["v1"]: llava/utils.py's MIMIC loader writes the question
    ("<image>\n" + instruction, the reason's "\n" replaced by spaces), then
    eval/model_mimic_cxr.py removes "<image>", strips, puts "<image>\n"
    back in front, appends it as the user's message and an empty assistant
    message, and takes get_prompt(). The indication gets radraft's CR
    handling and blank-means-none first (see clean_indication), so that the
    two differ only where the template or the tokenisation would."""
    ind = clean_indication(indication)
    reason = None
    if ind:
        reason = (indication or "").replace("\r\n", "\n").replace("\r", "\n")
    if reason is not None:
        q = "<image>\n" + INSTRUCTION.format(indication=reason.replace("\n", " "))
    else:
        q = "<image>\n" + INSTRUCTION_NO_INDICATION
    q = "<image>\n" + q.replace("<image>", "").strip()
    conv = conv_template.copy()
    conv.append_message(conv.roles[0], q)
    conv.append_message(conv.roles[1], None)
    return conv.get_prompt()


def prompt_chunks(sp, indication=None, bos_id=1):
    """LLaVA's tokenizer_image_token: each text chunk around <image> is encoded
    on its own (SentencePiece, dummy prefix included), BOS only at the start.
    Returns (chunks, image_index): chunks[0] starts with BOS; the image
    embeddings go between chunks[0] and chunks[1]."""
    parts = prompt_text(indication).split(IMAGE_PLACEHOLDER, 1)  # the template's; the indication comes later
    assert len(parts) == 2
    chunks = [[bos_id] + sp.encode(parts[0]), sp.encode(parts[1])]
    return chunks, 1


def model_json(*, name, version, dtype, image_size, image_token_count, patch_size,
               bos_id, eos_id, unk_id, pad_id, vocab_size, num_layers, hidden_size,
               num_heads, num_kv_heads, head_size, context_length, max_new_tokens=256,
               demo=False, note=None, source=None, input_rendering=RENDERING_MIMIC, references=None):
    """The model.json document (schema_version 2). See models/demo/README.md."""
    doc = {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "version": version,
        "demo": bool(demo),
        "input_rendering": input_rendering,
    }
    if references:
        doc["references"] = references
    if note:
        doc["note"] = note
    if source:
        doc["source"] = source
    doc.update({
        "files": {
            "vision": "vision.onnx",
            "embedding": "embedding.onnx",
            "decoder": "decoder.onnx",
            "tokenizer": "tokenizer.model",
        },
        "dtype": dtype,
        "image": {
            "size": image_size,
            "patch_size": patch_size,
            "token_count": image_token_count,
            "resize": "shortest_side_bicubic",
            "crop": "center",
            "mean": CLIP_MEAN,
            "std": CLIP_STD,
        },
        "prompt": {
            "style": "vicuna_v1",
            "system": SYSTEM,
            "template": TEMPLATE,
            "image_placeholder": IMAGE_PLACEHOLDER,
            "instruction": INSTRUCTION,
            "instruction_no_indication": INSTRUCTION_NO_INDICATION,
        },
        "tokenizer": {
            "type": "sentencepiece",
            "vocab_size": vocab_size,
            "bos_id": bos_id,
            "eos_id": eos_id,
            "unk_id": unk_id,
            "pad_id": pad_id,
        },
        "decoder": {
            "num_layers": num_layers,
            "hidden_size": hidden_size,
            "num_heads": num_heads,
            "num_kv_heads": num_kv_heads,
            "head_size": head_size,
            "vocab_size": vocab_size,
            "context_length": context_length,
        },
        "generation": {
            "max_new_tokens": max_new_tokens,
            "greedy": True,
        },
    })
    return doc


def write_model_json(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")


def module_device(module):
    """Where a module's weights are: the export's dummy inputs go there too
    (a CPU tensor into a CUDA module fails the trace)."""
    for p in module.parameters():
        return p.device
    import torch
    return torch.device("cpu")


def export_vision(module, path, image_size, dtype, opset=17, token_count=None):
    """module(pixel_values [B,3,S,S]) -> image_features [B,N,H]; token_count
    fixes N in the graph's declared output shape."""
    import torch
    import onnx
    x = torch.zeros(1, 3, image_size, image_size, dtype=dtype, device=module_device(module))
    torch.onnx.export(module, (x,), path, input_names=[VISION_INPUT], output_names=[VISION_OUTPUT],
                      dynamic_axes={VISION_INPUT: {0: "batch_size"}, VISION_OUTPUT: {0: "batch_size"}},
                      opset_version=opset, do_constant_folding=True)
    if token_count:
        m = onnx.load(path)
        d = m.graph.output[0].type.tensor_type.shape.dim[1]
        d.ClearField("dim_param")
        d.dim_value = token_count
        onnx.save(m, path)


def export_embedding(embed_tokens, path, opset=17):
    """embed_tokens: torch.nn.Embedding (input_ids [B,T] int64 -> inputs_embeds [B,T,H])."""
    import torch
    ids = torch.tensor([[1, 2, 3]], dtype=torch.int64, device=module_device(embed_tokens))
    torch.onnx.export(embed_tokens, (ids,), path, input_names=[EMBED_INPUT], output_names=[EMBED_OUTPUT],
                      dynamic_axes={EMBED_INPUT: {0: "batch_size", 1: "sequence_length"},
                                    EMBED_OUTPUT: {0: "batch_size", 1: "sequence_length"}},
                      opset_version=opset, do_constant_folding=True)


# ---------------------------------------------------------------- references
# A bundle's references/ folder: what the Python reference code gave, for
# `radraft model check --reference` to re-run through the Go pipeline (the
# site's acceptance test). Written by export_llavarad.py (real weights),
# toy_export.py (CI) and the demo generator; format in models/demo/README.md.

IMAGE_TOKEN_INDEX = -200  # LLaVA's placeholder id in tokenizer_image_token's output
REFERENCE_NEW_TOKENS = 64
FEATURE_SAMPLES = 64

# ~50 indications: the radiology reasons a RIS sends, and the odd shapes text
# takes on its way (line breaks, tabs, runs of spaces, Unicode, a literal
# "<image>", blank).
REFERENCE_INDICATIONS = [
    None, "", "   ", "Shortness of breath.", "Fever and cough.", "Chest pain, rule out pneumothorax.",
    "Line placement.", "PICC placement, confirm tip position.", "Follow-up of left pleural effusion.",
    "Trauma, MVC.", "Hypoxia\nafter surgery.", "SOB, r/o CHF", "Pneumonia?", "s/p CABG POD#2",
    "ETT and NGT placement", "Eval for free air under the diaphragm.", "Hemoptysis x3 days",
    "Weight loss, smoker 40 pack-years; assess for mass.", "Pre-op clearance.", "Rib fractures after fall.",
    "Aspiration risk; new O2 requirement.", "COVID-19 positive, worsening dyspnea.", "Tachypnea, T 38.9 °C",
    "Desaturation to 85% on RA.", "Known sarcoidosis — interval change?", "Chest tube removal, ?PTX",
    "Cardiomegaly on prior; CHF exacerbation", "Evaluate for pulmonary edema.", "Cough >3 weeks, TB screen",
    "History: HIV, CD4 < 200, fever", "Stab wound L chest", "Pacemaker lead check",
    "Fever,\ncough  and   hypoxia (SpO2 88 %).", "Line one\r\nline two", "Old Mac\rline break",
    "\tTabbed\tindication\t", "  leading spaces kept", "trailing spaces dropped   \n\n",
    "Multiple\n\n\nblank lines", "Unicode: café, naïve, µg, Ω, ±, →", "CJK 肺炎 and emoji 🫁",
    "No-break\u00a0space and zero\u200bwidth", "A literal <image> tag", "<image>", "{indication} {system}",
    "ALL CAPS INDICATION!!!", "numbers 0123456789 3.14 1,000", "Quote \"double\" and 'single'",
    "Back\\slash and a/b & c | d", "x",
]


def sp_tokenizer_image_token(sp, text, bos_id=1):
    """LLaVA's tokenizer_image_token with a slow Llama tokenizer, on plain
    sentencepiece: the prompt is split at every <image>, each chunk is
    tokenised as the HF tokenizer does it (BOS + sentencepiece ids), the
    chunks' BOS are dropped but the first, and IMAGE_TOKEN_INDEX joins them."""
    chunks = [[bos_id] + sp.encode(c) for c in text.split(IMAGE_PLACEHOLDER)]
    ids = [chunks[0][0]]
    for i, c in enumerate(chunks):
        if i:
            ids.append(IMAGE_TOKEN_INDEX)
        ids.extend(c[1:])
    return ids


def prompt_references(token_ids, indications=None):
    """token_ids(prompt_text) -> ids with IMAGE_TOKEN_INDEX for <image>
    (LLaVA's tokenizer_image_token on the HF tokenizer)."""
    cases = []
    for ind in REFERENCE_INDICATIONS if indications is None else indications:
        text = prompt_text(ind)
        cases.append({"indication": ind, "prompt": text, "input_ids": [int(i) for i in token_ids(text)]})
    return {"image_token_index": IMAGE_TOKEN_INDEX, "cases": cases}


def feature_fingerprint(feats):
    """A float array's fingerprint that survives another runtime's rounding:
    shape, sum, L2 norm and FEATURE_SAMPLES values at fixed flat indices,
    plus the sha256 of its float32 bytes (exact, informational)."""
    import hashlib
    import numpy as np
    a = np.ascontiguousarray(np.asarray(feats, dtype=np.float32))
    flat = a.reshape(-1)
    n = flat.size
    idx = [(k * n) // FEATURE_SAMPLES + (k * 7919) % max(1, n // FEATURE_SAMPLES) for k in range(FEATURE_SAMPLES)]
    return {"shape": list(a.shape), "sha256": hashlib.sha256(flat.astype("<f4").tobytes()).hexdigest(),
            "sum": float(flat.astype(np.float64).sum()), "l2": float(np.sqrt((flat.astype(np.float64) ** 2).sum())),
            "samples": {"index": idx, "values": [float(flat[i]) for i in idx]}}


def image_reference(name, gray, pixel_values, feats, generations, dicom=None, png=None):
    """One image's references: gray is the 8-bit model input (H,W uint8),
    pixel_values the preprocessed float32 [3,S,S], feats the vision graph's
    output, generations a list of dicts (indication, ids, stopped_by_eos,
    text, min_top2_margin) from greedy decoding."""
    import hashlib
    import numpy as np
    g = np.ascontiguousarray(gray, dtype=np.uint8)
    pv = np.ascontiguousarray(pixel_values, dtype="<f4")
    return {"name": name, "dicom": dicom, "input_png": png, "width": int(g.shape[1]), "height": int(g.shape[0]),
            "input_sha256": hashlib.sha256(g.tobytes()).hexdigest(),
            "pixel_values_sha256": hashlib.sha256(pv.tobytes()).hexdigest(),
            "features": feature_fingerprint(feats), "generations": generations}


def write_references(refdir, prompts, images, *, rendering, dtype, source):
    os.makedirs(refdir, exist_ok=True)
    for fname, doc in (("prompts.json", prompts),
                       ("images.json", {"rendering": rendering, "dtype": dtype, "source": source,
                                        "max_new_tokens": REFERENCE_NEW_TOKENS, "cases": images})):
        with open(os.path.join(refdir, fname), "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
            f.write("\n")
