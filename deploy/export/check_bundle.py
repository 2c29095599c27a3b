#!/usr/bin/env python3
"""Checks a radraft model bundle folder without running it: model.json
(schema_version 1 or 2) against the three ONNX graphs' declared inputs and
outputs (names, element types, ranks and fixed dimensions) and the
tokenizer. Needs onnx (and sentencepiece for the tokenizer check, skipped
without it). The graphs are read without their external data.

    python3 check_bundle.py BUNDLE_DIR

Exit status 0 and one line per file when the bundle fits; 1 and the
problems otherwise. radraft's Go loader does its own validation at start-up;
this is the same contract, for the export side."""
import json
import os
import sys

import onnx

FLOAT = {"float32": "float", "float16": "float16"}


def io(path):
    m = onnx.load(path, load_external_data=False)
    init = {i.name for i in m.graph.initializer}

    def d(vi):
        t = vi.type.tensor_type
        return onnx.TensorProto.DataType.Name(t.elem_type).lower(), [x.dim_param or x.dim_value for x in t.shape.dim]
    return ({v.name: d(v) for v in m.graph.input if v.name not in init},
            {v.name: d(v) for v in m.graph.output}, m.opset_import)


def fits(dim, want):
    """A declared dimension fits: the same number, or symbolic (a name, or
    0 for unset), which current onnxruntime-genai builders declare for the
    KV cache's head size; the runtime then checks it."""
    return dim == want or isinstance(dim, str) or dim == 0


def main(bundle):
    errs = []

    def want(cond, msg):
        if not cond:
            errs.append(msg)
        return cond

    with open(os.path.join(bundle, "model.json"), encoding="utf-8") as f:
        doc = json.load(f)
    sv = doc.get("schema_version")
    want(sv in (1, 2), f"model.json: schema_version {sv!r} (1 or 2)")
    if sv == 2:
        want(doc.get("input_rendering") in ("mimic-cxr-jpg", "display"),
             f"model.json: input_rendering {doc.get('input_rendering')!r} (mimic-cxr-jpg or display)")
        if doc.get("references"):
            want(os.path.isdir(os.path.join(bundle, doc["references"])), f"model.json: references {doc['references']} is not a folder")
    for k in ("name", "version", "files", "dtype", "image", "prompt", "tokenizer", "decoder", "generation"):
        want(k in doc, f"model.json: no {k}")
    if errs:
        return errs
    fl = FLOAT.get(doc["dtype"])
    want(fl is not None, f"model.json: dtype {doc['dtype']!r} (float32 or float16)")
    img, dec, tok = doc["image"], doc["decoder"], doc["tokenizer"]
    H, L, kv, hd, V = dec["hidden_size"], dec["num_layers"], dec["num_kv_heads"], dec["head_size"], dec["vocab_size"]
    want(dec["num_heads"] * hd == H, "decoder: num_heads * head_size != hidden_size")
    want(dec["num_heads"] % kv == 0, "decoder: num_heads not a multiple of num_kv_heads")
    want(img["size"] % img.get("patch_size", 14) == 0 and (img["size"] // img.get("patch_size", 14)) ** 2 == img["token_count"],
         "image: token_count != (size/patch_size)^2")
    want(len(img["mean"]) == 3 and len(img["std"]) == 3, "image: mean/std need 3 values")
    want("<image>" in doc["prompt"].get("template", "<image>"), "prompt: template without <image>")
    files = doc["files"]
    for k in ("vision", "embedding", "decoder", "tokenizer"):
        want(os.path.exists(os.path.join(bundle, files[k])), f"files.{k}: {files[k]} missing")
    if errs:
        return errs

    ins, outs, _ = io(os.path.join(bundle, files["vision"]))
    want(ins.get("pixel_values", (None,))[0] == fl and ins["pixel_values"][1][1:] == [3, img["size"], img["size"]],
         f"vision: pixel_values {ins.get('pixel_values')} want {fl} [B,3,{img['size']},{img['size']}]")
    f_ = outs.get("image_features")
    want(f_ is not None and f_[0] == fl and len(f_[1]) == 3 and f_[1][2] == H and f_[1][1] in (img["token_count"], f_[1][1] if isinstance(f_[1][1], str) else -1),
         f"vision: image_features {f_} want {fl} [B,{img['token_count']},{H}]")
    print(f"vision.onnx: pixel_values {ins['pixel_values']} -> image_features {f_}")

    ins, outs, _ = io(os.path.join(bundle, files["embedding"]))
    want(ins.get("input_ids", (None,))[0] == "int64", f"embedding: input_ids {ins.get('input_ids')} want int64 [B,T]")
    e = outs.get("inputs_embeds")
    want(e is not None and e[0] == fl and e[1][-1] == H, f"embedding: inputs_embeds {e} want {fl} [B,T,{H}]")
    print(f"embedding.onnx: input_ids {ins.get('input_ids')} -> inputs_embeds {e}")

    ins, outs, _ = io(os.path.join(bundle, files["decoder"]))
    want(ins.get("inputs_embeds", (None, [0]))[0] == fl and ins["inputs_embeds"][1][-1] == H, f"decoder: inputs_embeds {ins.get('inputs_embeds')}")
    want(ins.get("attention_mask", (None,))[0] == "int64", f"decoder: attention_mask {ins.get('attention_mask')} want int64")
    if "position_ids" in ins:
        want(ins["position_ids"][0] == "int64", "decoder: position_ids not int64")
    lg = outs.get("logits")
    want(lg is not None and lg[0] in (fl, "float") and lg[1][-1] == V, f"decoder: logits {lg} want [B,S,{V}]")
    n_past = sum(1 for n in ins if n.startswith("past_key_values.") and n.endswith(".key"))
    want(n_past == L, f"decoder: {n_past} layers of past_key_values, model.json num_layers {L}")
    for i in range(L):
        for kind in ("key", "value"):
            p, q = ins.get(f"past_key_values.{i}.{kind}"), outs.get(f"present.{i}.{kind}")
            for name, t in ((f"past_key_values.{i}.{kind}", p), (f"present.{i}.{kind}", q)):
                want(t is not None and t[0] == fl and len(t[1]) == 4 and fits(t[1][1], kv) and fits(t[1][3], hd),
                     f"decoder: {name} {t} want {fl} [B,{kv},*,{hd}]")
    print(f"decoder.onnx: {len(ins)} inputs, {len(outs)} outputs, {L} layers, kv [B,{kv},*,{hd}], logits {lg}"
          f"{'' if 'position_ids' in ins else ' (no position_ids)'}")

    try:
        import sentencepiece as spm
    except ImportError:
        print("tokenizer: not checked (no sentencepiece)")
        return errs
    sp = spm.SentencePieceProcessor(model_file=os.path.join(bundle, files["tokenizer"]))
    want(sp.bos_id() == tok["bos_id"] and sp.eos_id() == tok["eos_id"], "tokenizer: bos/eos ids differ from model.json")
    want(sp.get_piece_size() <= V, f"tokenizer: {sp.get_piece_size()} pieces > vocab_size {V}")
    print(f"tokenizer.model: {sp.get_piece_size()} pieces, bos {sp.bos_id()} eos {sp.eos_id()}")
    return errs


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    problems = main(sys.argv[1])
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    sys.exit(1 if problems else 0)
