#!/usr/bin/python3
"""Exercises export_llavarad.py on a toy configuration, with what Debian's
packages allow (torch 1.13, onnx, sentencepiece, pydicom, OpenCV; no
transformers, peft, llava or onnxruntime-genai), and each of its fixed bugs:

  - a stand-in for LLaVA-Rad's loaded model with the same attribute shape
    (get_vision_tower().vision_tower(..., output_hidden_states=True),
    .feature_select with select_layer -2 and 'patch', get_model().mm_projector,
    get_model().embed_tokens), built from the demo model's modules, whose
    attention blocks carry timm's fused_attn switch (on: the forward fails, as
    F.scaled_dot_product_attention fails torch 2.0.1's exporter) — the export
    must switch it off (disable_fused_attention);
  - export_llavarad.vision_graph + radraft_bundle.export_vision / export_embedding
    (dummy inputs made on the module's device, module_device);
  - in place of the model builder (not installable here): the demo decoder
    exported with the builder's tensor names;
  - check_prompt against a stand-in of conv_templates["v1"] (Vicuna v1,
    SeparatorStyle.TWO, as llava/conversation.py defines it) and of
    tokenizer_image_token (radraft_bundle.sp_tokenizer_image_token) for the
    ~50 reference indications, and with --radraft BIN the Go tokenizer
    (`radraft model tokenize`) as the export's --radraft does;
  - new_tokens on both shapes of generate()'s output (prompt + new tokens,
    as transformers 4.31 returns it, and new tokens only): the off-by-one;
  - check_bundle.py with a symbolic KV head-size dimension (accepted) and a
    wrong fixed one (refused);
  - references/ (prompt ids; the testdata CR rendered as MIMIC-CXR-JPG, its
    tensor, features and PyTorch greedy tokens) and model.json schema 2;
    inference's TestToyExport then runs `model check --reference` on it;
  - --int8 DIR: the same bundle with quantize_int8.py's decoder (the CPU
    recipe), checked by the same Go test against the same references.

Not exercised: loading and LoRA merging (load_llavarad), save_plain_llama,
the builder itself, fp16 export on CUDA, LLaVA-Rad's own generate.

    /usr/bin/python3 deploy/export/toy_export.py [OUT] [--int8 DIR] [--radraft BIN]   (default /tmp/radraft-toy-bundle)
"""
import os
import shutil
import subprocess
import sys
import types

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "deploy", "demo-model"))

import copy  # noqa: E402
import argparse  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import sentencepiece as spm  # noqa: E402
from PIL import Image  # noqa: E402

import check_bundle  # noqa: E402
import export_llavarad as ex  # noqa: E402
import make_demo_model as dm  # noqa: E402
import mimic_cxr_jpg  # noqa: E402
import quantize_int8  # noqa: E402
import radraft_bundle as rb  # noqa: E402
import reference_preprocess as rp  # noqa: E402


class FusedBlock(dm.Block):
    """A demo ViT block with timm's switch: fused_attn on means
    F.scaled_dot_product_attention, which torch 2.0.1 cannot export (and
    torch 1.13 lacks): here it fails outright."""
    fused_attn = True

    def forward(self, x):
        if self.fused_attn:
            raise RuntimeError("fused attention (scaled_dot_product_attention) does not export")
        return super().forward(x)


class ToyConversation:
    """conv_templates["v1"] as llava/conversation.py defines it (Vicuna v1,
    SeparatorStyle.TWO): system, then "ROLE: message" + sep or sep2 in turn,
    and "ROLE:" for an empty message."""

    def __init__(self):
        self.system = rb.SYSTEM
        self.roles = ("USER", "ASSISTANT")
        self.messages = []
        self.sep, self.sep2 = " ", "</s>"

    def copy(self):
        return copy.deepcopy(self)

    def append_message(self, role, message):
        self.messages.append([role, message])

    def get_prompt(self):
        seps = [self.sep, self.sep2]
        ret = self.system + seps[0]
        for i, (role, message) in enumerate(self.messages):
            ret += role + ": " + message + seps[i % 2] if message else role + ":"
        return ret


class ToyTrunk(nn.Module):
    """Like LLaVA-Rad's VisionTower: returns every block's output."""

    def __init__(self, vit):
        super().__init__()
        self.vit = vit

    def forward(self, images, output_hidden_states=True):
        hs = self.vit.hidden_states(images)
        return types.SimpleNamespace(last_hidden_state=hs[-1], hidden_states=hs)


class ToyTower(nn.Module):
    """Like OpenCLIPVisionTower: select_layer -2, 'patch' features."""

    def __init__(self, vit):
        super().__init__()
        self.vision_tower = ToyTrunk(vit)
        self.select_layer = -2

    def feature_select(self, out):
        return out.hidden_states[self.select_layer][:, 1:]


class ToyInner(nn.Module):
    def __init__(self, projector, embed):
        super().__init__()
        self.mm_projector = projector
        self.embed_tokens = embed


class ToyLlava(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.vit = dm.ViT()
        self.tower = ToyTower(self.vit)
        self.inner = ToyInner(dm.make_projector(), nn.Embedding(dm.VOCAB, dm.HIDDEN))
        self.decoder = dm.Decoder()
        self.config = types.SimpleNamespace(num_attention_heads=dm.HEADS, num_key_value_heads=dm.KV_HEADS,
                                            vocab_size=dm.VOCAB, max_position_embeddings=dm.CONTEXT)

    def get_vision_tower(self):
        return self.tower

    def get_model(self):
        return self.inner


def check_new_tokens():
    prompt = [1, 319, rb.IMAGE_TOKEN_INDEX, 13, 5]
    for seq, want in (([1, 319, rb.IMAGE_TOKEN_INDEX, 13, 5, 40, 41, 2, 0], ([40, 41], True)),  # 4.31: prompt + new
                      ([40, 41, 2], ([40, 41], True)),  # new tokens only
                      ([1, 319, rb.IMAGE_TOKEN_INDEX, 13, 5, 40, 41, 42], ([40, 41, 42], False))):
        got = ex.new_tokens(seq, prompt, 2)
        assert got == want, f"new_tokens({seq}) = {got}, want {want}"


def check_symbolic_kv(out, tmp):
    """check_bundle accepts a symbolic KV head size and refuses a wrong one."""
    for dim, ok in (("head_size", True), (999, False)):
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(out, tmp)
        m = onnx.load(os.path.join(tmp, "decoder.onnx"))
        for vi in list(m.graph.input) + list(m.graph.output):
            if vi.name.startswith(("past_key_values.", "present.")):
                d = vi.type.tensor_type.shape.dim[3]
                d.ClearField("dim_value")
                d.ClearField("dim_param")
                if isinstance(dim, str):
                    d.dim_param = dim
                else:
                    d.dim_value = dim
        onnx.save(m, os.path.join(tmp, "decoder.onnx"))
        problems = check_bundle.main(tmp)
        assert (not problems) == ok, f"check_bundle with KV head size {dim!r}: {problems}"
    shutil.rmtree(tmp)


def write_toy_references(out, model, vg, sp, dicom):
    prompts = rb.prompt_references(lambda t: rb.sp_tokenizer_image_token(sp, t, sp.bos_id()))
    gray = mimic_cxr_jpg.render(dicom)
    pix = rp.preprocess_pil(Image.fromarray(gray))
    pv = torch.from_numpy(pix)[None]
    embed = model.get_model().embed_tokens
    with torch.no_grad():
        feats = vg(pv).numpy()
    gens = []
    for ind in (None, "Shortness of breath."):
        ids, stopped, margins = dm.greedy(model.decoder, embed, dm.build_prefill(embed, vg, sp, pv, ind)[0],
                                          sp.eos_id(), rb.REFERENCE_NEW_TOKENS)
        gens.append({"indication": ind, "ids": ids, "stopped_by_eos": stopped, "text": sp.decode(ids).strip(),
                     "min_top2_margin": min(margins)})
        print(f"toy reference ({ind!r}): {len(ids)} tokens, min margin {min(margins):.3g}")
    refdir = os.path.join(out, "references")
    os.makedirs(refdir)
    shutil.copyfile(dicom, os.path.join(refdir, "cr.dcm"))
    mimic_cxr_jpg.write_png(os.path.join(refdir, "cr.png"), gray)
    rb.write_references(refdir, prompts, [rb.image_reference("cr", gray, pix, feats, gens, dicom="cr.dcm", png="cr.png")],
                        rendering=rb.RENDERING_MIMIC, dtype="float32", source="deploy/export/toy_export.py")
    return "references"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default="/tmp/radraft-toy-bundle")
    ap.add_argument("--int8", default=None, help="also write the bundle with an int8 decoder here")
    ap.add_argument("--dicom", default=None, help="reference image (default: the testdata CR)")
    ap.add_argument("--radraft", default=None, help="radraft binary: check_prompt also compares its Go tokenizer")
    a = ap.parse_args()
    out = a.out
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    torch.set_num_threads(1)
    model = ToyLlava().eval()
    for blk in model.vit.modules():
        if type(blk) is dm.Block:
            blk.__class__ = FusedBlock

    vg = ex.vision_graph(model)
    x = torch.randn(1, 3, 518, 518)
    try:
        vg(x)
        raise SystemExit("fused attention did not fail")
    except RuntimeError:
        pass
    switched = ex.disable_fused_attention(vg)
    assert switched == dm.VIT_DEPTH, f"fused attention off in {switched} blocks, want {dm.VIT_DEPTH}"
    assert rb.module_device(vg) == torch.device("cpu")
    with torch.no_grad():
        feats = vg(x)
        want = model.inner.mm_projector(model.vit.hidden_states(x)[-2][:, 1:])
        assert torch.equal(feats, want), "vision rule"
        n_tokens, hidden = feats.shape[1], feats.shape[2]
        rb.export_vision(vg, os.path.join(out, "vision.onnx"), 518, torch.float32, 17, n_tokens)
        rb.export_embedding(model.get_model().embed_tokens, os.path.join(out, "embedding.onnx"), 17)
        # stand-in for onnxruntime_genai.models.builder ... exclude_embeds=true
        dm.export_decoder(model.decoder, os.path.join(out, "decoder.onnx"))
    shutil.copyfile(os.path.join(ROOT, "models", "demo", "tokenizer.model"), os.path.join(out, "tokenizer.model"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(out, "tokenizer.model"))
    n = ex.check_prompt(ToyConversation(), lambda t: rb.sp_tokenizer_image_token(sp, t, sp.bos_id()), sp,
                        a.radraft, os.path.join(out, "tokenizer.model"))
    assert n >= 50
    check_new_tokens()
    print("builder command a site would run:", " ".join(ex.builder_command("PY", "HF_DIR", "GENAI_DIR", "cuda", "CACHE")))
    refs = write_toy_references(out, model, vg, sp, a.dicom or dm.testdata_cr())
    doc = ex.write_bundle_json(out, sp, model.config, n_tokens, hidden, name="toy-export", version="0",
                               source="deploy/export/toy_export.py", context_len=2048, demo=True,
                               note="toy export test: random weights", references=refs)
    assert doc["decoder"]["num_layers"] == dm.LAYERS and doc["dtype"] == "float32"
    assert doc["image"]["token_count"] == 1369 and doc["decoder"]["num_kv_heads"] == dm.KV_HEADS
    assert doc["schema_version"] == 2 and doc["input_rendering"] == "mimic-cxr-jpg"
    subprocess.run([sys.executable, os.path.join(HERE, "check_bundle.py"), out], check=True)
    check_symbolic_kv(out, out + ".kvcheck")
    if a.int8:
        shutil.rmtree(a.int8, ignore_errors=True)
        shutil.copytree(out, a.int8)
        q = quantize_int8.quantize(os.path.join(out, "decoder.onnx"), os.path.join(a.int8, "decoder.onnx"))
        assert q > 0
        subprocess.run([sys.executable, os.path.join(HERE, "check_bundle.py"), a.int8], check=True)
    print(f"toy export OK: {out}{' and ' + a.int8 if a.int8 else ''}")


if __name__ == "__main__":
    main()
