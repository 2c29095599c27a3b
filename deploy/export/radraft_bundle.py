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

SCHEMA_VERSION = 1

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
               demo=False, note=None, source=None):
    """The model.json document (schema_version 1). See models/demo/README.md."""
    doc = {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "version": version,
        "demo": bool(demo),
    }
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


def export_vision(module, path, image_size, dtype, opset=17, token_count=None):
    """module(pixel_values [B,3,S,S]) -> image_features [B,N,H]; token_count
    fixes N in the graph's declared output shape."""
    import torch
    import onnx
    x = torch.zeros(1, 3, image_size, image_size, dtype=dtype)
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
    ids = torch.tensor([[1, 2, 3]], dtype=torch.int64)
    torch.onnx.export(embed_tokens, (ids,), path, input_names=[EMBED_INPUT], output_names=[EMBED_OUTPUT],
                      dynamic_axes={EMBED_INPUT: {0: "batch_size", 1: "sequence_length"},
                                    EMBED_OUTPUT: {0: "batch_size", 1: "sequence_length"}},
                      opset_version=opset, do_constant_folding=True)
