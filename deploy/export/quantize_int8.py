#!/usr/bin/python3
"""Weight-only int8 for a float32 decoder graph: every MatMul whose second
input is a constant [K, N] float32 weight becomes ONNX Runtime's
com.microsoft MatMulNBits with bits 8, blocks of 32 along K, one float32
scale per block and column (symmetric: zero point 128, the operator's
default), accuracy_level 1 (activations stay float32: only the weights are
rounded, to 1/254 of each block's largest magnitude). Activations, KV cache
and logits keep their float32 type, so the graph's interface is unchanged.

Why not the builder's int4 (accuracy level 4, the usual CPU recipe): 16
levels per block, and int8 activations, change LLaVA-Rad's greedy text;
this recipe's effect on the text is checked with `radraft model check
--reference` against the fp16 references. Needs onnx and numpy only
(no onnxruntime Python package).

    quantize_int8.py IN.onnx OUT.onnx [--block 32]
"""
import argparse
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper


def quantize_weight(w, block):
    """w [K, N] float32 -> (packed uint8 [N, blocks, block], scales float32 [N * blocks])."""
    k, n = w.shape
    blocks = (k + block - 1) // block
    wt = np.zeros((n, blocks * block), dtype=np.float32)
    wt[:, :k] = w.T
    wb = wt.reshape(n, blocks, block)
    amax = np.abs(wb).max(axis=2)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(wb / scale[:, :, None]), -127, 127).astype(np.int16) + 128
    return q.astype(np.uint8), scale.reshape(-1)


def quantize(src, dst, block=32, accuracy_level=1):
    model = onnx.load(src)
    inits = {i.name: i for i in model.graph.initializer}
    nodes, replaced, dropped = [], 0, set()
    uses = {}
    for node in model.graph.node:
        for i in node.input:
            uses[i] = uses.get(i, 0) + 1
    for node in model.graph.node:
        w = inits.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) == 2 else None
        if w is None or len(w.dims) != 2 or w.data_type != onnx.TensorProto.FLOAT:
            nodes.append(node)
            continue
        arr = numpy_helper.to_array(w)
        k, n = arr.shape
        q, scales = quantize_weight(arr, block)
        base = node.name or node.output[0]
        qn, sn = base + "_Q8", base + "_scales"
        model.graph.initializer.extend([numpy_helper.from_array(q, qn), numpy_helper.from_array(scales, sn)])
        nodes.append(helper.make_node("MatMulNBits", [node.input[0], qn, sn], list(node.output), name=base + "_int8",
                                      domain="com.microsoft", K=k, N=n, bits=8, block_size=block,
                                      accuracy_level=accuracy_level))
        uses[node.input[1]] -= 1
        if uses[node.input[1]] == 0:
            dropped.add(node.input[1])
        replaced += 1
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    keep = [i for i in model.graph.initializer if i.name not in dropped]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    big = sum(i.ByteSize() for i in model.graph.initializer) > 1.8e9
    if big:  # a 7B decoder needs external data; keep it beside the graph
        data = os.path.basename(dst) + ".data"
        onnx.save(model, dst, save_as_external_data=True, all_tensors_to_one_file=True, location=data)
    else:
        onnx.save(model, dst)
    return replaced


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--block", type=int, default=32)
    a = ap.parse_args()
    n = quantize(a.src, a.dst, a.block)
    print(f"{a.dst}: {n} MatMuls as MatMulNBits (8 bits, block {a.block}, accuracy level 1)")


if __name__ == "__main__":
    main()
