#!/usr/bin/python3
"""Exercises export_llavarad.py on a toy configuration, with what Debian's
packages allow (torch 1.13, onnx, sentencepiece; no transformers, peft,
llava or onnxruntime-genai):

  - a stand-in for LLaVA-Rad's loaded model with the same attribute shape
    (get_vision_tower().vision_tower(..., output_hidden_states=True),
    .feature_select with select_layer -2 and 'patch', get_model().mm_projector,
    get_model().embed_tokens), built from the demo model's modules;
  - export_llavarad.vision_graph + radraft_bundle.export_vision / export_embedding;
  - in place of the model builder (not installable here): the demo decoder
    exported with the builder's tensor names;
  - export_llavarad.write_bundle_json (reads layers and float type from the
    decoder graph) and check_bundle.py;
  - a torch check that the exported vision graph's rule equals the full
    trunk's hidden_states[-2] without CLS, projected.

Not exercised: loading and LoRA merging (load_llavarad), the prompt check
against LLaVA's tokenizer_image_token, save_plain_llama, the builder itself,
fp16 export on CUDA, the reference generation.

    /usr/bin/python3 deploy/export/toy_export.py [OUT]   (default /tmp/radraft-toy-bundle)
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

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import sentencepiece as spm  # noqa: E402

import export_llavarad as ex  # noqa: E402
import make_demo_model as dm  # noqa: E402
import radraft_bundle as rb  # noqa: E402


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


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/radraft-toy-bundle"
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    torch.set_num_threads(1)
    model = ToyLlava().eval()

    vg = ex.vision_graph(model)
    with torch.no_grad():
        x = torch.randn(1, 3, 518, 518)
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
    print("builder command a site would run:", " ".join(ex.builder_command("HF_DIR", "GENAI_DIR", "cuda", "CACHE")))
    doc = ex.write_bundle_json(out, sp, model.config, n_tokens, hidden, name="toy-export", version="0",
                               source="deploy/export/toy_export.py", context_len=2048, demo=True,
                               note="toy export test: random weights")
    assert doc["decoder"]["num_layers"] == dm.LAYERS and doc["dtype"] == "float32"
    assert doc["image"]["token_count"] == 1369 and doc["decoder"]["num_kv_heads"] == dm.KV_HEADS
    subprocess.run([sys.executable, os.path.join(HERE, "check_bundle.py"), out], check=True)
    print(f"toy export OK: {out}")


if __name__ == "__main__":
    main()
