#!/usr/bin/python3
"""Makes testdata/tiny16: the tiny test bundle with float16 interfaces, the
way an fp16 (CUDA) bundle looks from outside: every float input and output
of the three graphs is float16 (Cast nodes around the float32 graph inside),
model.json dtype float16. Tests use it to check the loop's float16 plumbing
(pixel conversion, fp16 KV cache and embeddings, argmax over fp16 logits).
Run with Debian's /usr/bin/python3 after make_tiny.py."""
import json, os, shutil
import onnx
from onnx import helper, TensorProto

src = os.path.dirname(os.path.abspath(__file__))
dst = os.path.join(os.path.dirname(src), "tiny16")
os.makedirs(dst, exist_ok=True)

def to_fp16(name):
    m = onnx.load(os.path.join(src, name))
    g = m.graph
    casts = []
    for vi in g.input:
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT:
            inner = vi.name + "__f32"
            for n in g.node:
                for i, x in enumerate(n.input):
                    if x == vi.name:
                        n.input[i] = inner
            casts.append(helper.make_node("Cast", [vi.name], [inner], to=TensorProto.FLOAT))
            vi.type.tensor_type.elem_type = TensorProto.FLOAT16
    outs = []
    for vi in g.output:
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT:
            inner = vi.name + "__f32"
            for n in g.node:
                for i, x in enumerate(n.output):
                    if x == vi.name:
                        n.output[i] = inner
                for i, x in enumerate(n.input):
                    if x == vi.name:
                        n.input[i] = inner
            outs.append(helper.make_node("Cast", [inner], [vi.name], to=TensorProto.FLOAT16))
            vi.type.tensor_type.elem_type = TensorProto.FLOAT16
    nodes = casts + list(g.node) + outs
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(dst, name))

for f in ("vision.onnx", "embedding.onnx", "decoder.onnx"):
    to_fp16(f)
shutil.copy(os.path.join(src, "tokenizer.model"), dst)
doc = json.load(open(os.path.join(src, "model.json")))
doc["dtype"] = "float16"
doc["name"] = "tiny-test-fp16"
json.dump(doc, open(os.path.join(dst, "model.json"), "w"), indent=1)
