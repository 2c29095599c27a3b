#!/usr/bin/python3
"""Builds the Llama-2 (= Vicuna v1.5 = LLaVA-Rad) SentencePiece model from the
npm package llama-tokenizer-js, which ships the real vocabulary (32 000
pieces, base64) and BPE merges (pairs of ids, in priority order) and test
cases whose ids come from the real tokenizer; then records what Python
sentencepiece (the reference implementation) gives on a few hundred texts,
for inference/tokenizer's Go test.

    make_llama_model.py PACKAGE.tgz OUTDIR

Writes OUTDIR/llama.model and OUTDIR/cases.json. Exits 1 when Python
sentencepiece on the built model does not reproduce every one of the
package's own cases.

The model (ModelProto, through python3-sentencepiece's sentencepiece_model_pb2):
BPE; piece 0 <unk> (UNKNOWN), 1 <s> and 2 </s> (CONTROL), 3-258 <0x00>-<0xFF>
(BYTE), the rest NORMAL; a piece made by a merge scores minus the rank of
the first merge that makes it (SentencePiece merges the pair whose result
scores highest, leftmost on ties), other pieces (single characters, never a
merge result) score below every merge; byte fallback; normaliser
"identity" with the dummy prefix, whitespace escaped to U+2581 and no
collapsing of extra whitespace, as Llama's tokenizer.model has it.
"""
import ast
import base64
import io
import json
import os
import re
import struct
import sys
import tarfile

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "deploy", "export"))
sys.path.insert(0, os.path.join(HERE, ".."))
import radraft_bundle as rb  # noqa: E402
import make_cases  # noqa: E402  (the demo tokenizer's odd sentences)


def read_package(tgz):
    with tarfile.open(tgz) as tf:
        js = tf.extractfile("package/llama-tokenizer.js").read().decode("utf-8")
    vocab_b64 = re.search(r'const llama_vocab_base64 = "([^"]+)"', js).group(1)
    merges_b64 = re.search(r'const llama_merges_binary = "([^"]+)"', js).group(1)
    vocab = base64.b64decode(vocab_b64).decode("utf-8").split("\n")
    raw = base64.b64decode(merges_b64)
    ids = struct.unpack(f"<{len(raw) // 2}H", raw)
    merges = [(ids[i], ids[i + 1]) for i in range(0, len(ids), 2)]
    cases = []
    for m in re.finditer(r'testCase\(\s*("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')\s*,\s*\[([^\]]*)\]\s*\)', js, re.S):
        cases.append({"text": ast.literal_eval(m.group(1)), "ids": [int(x) for x in m.group(2).replace("\n", " ").split(",")]})
    return vocab, merges, cases


def build_model(vocab, merges):
    if len(vocab) != 32000 or vocab[:3] != ["<unk>", "<s>", "</s>"]:
        raise SystemExit(f"unexpected vocabulary: {len(vocab)} pieces, starting {vocab[:3]}")
    rank = {}
    for r, (a, b) in enumerate(merges):
        rank.setdefault(vocab[a] + vocab[b], r)
    m = pb.ModelProto()
    below = -float(len(merges))
    for i, piece in enumerate(vocab):
        p = m.pieces.add()
        p.piece = piece
        if i == 0:
            p.type, p.score = pb.ModelProto.SentencePiece.UNKNOWN, 0
        elif i in (1, 2):
            p.type, p.score = pb.ModelProto.SentencePiece.CONTROL, 0
        elif 3 <= i < 259:
            if piece != f"<0x{i - 3:02X}>":
                raise SystemExit(f"piece {i} is {piece!r}, want a byte piece")
            p.type, p.score = pb.ModelProto.SentencePiece.BYTE, 0
        else:
            p.type = pb.ModelProto.SentencePiece.NORMAL
            p.score = -float(rank[piece]) if piece in rank else below - i
    t = m.trainer_spec
    t.model_type = pb.TrainerSpec.BPE
    t.vocab_size = len(vocab)
    t.byte_fallback = True
    t.split_digits = True
    t.unk_id, t.bos_id, t.eos_id, t.pad_id = 0, 1, 2, -1
    t.model_prefix = "llama (built from npm llama-tokenizer-js by make_llama_model.py)"
    n = m.normalizer_spec
    n.name = "identity"
    n.add_dummy_prefix = True
    n.remove_extra_whitespaces = False
    n.escape_whitespaces = True
    return m


def texts():
    """Radiology sentences (the demo corpus), LLaVA-Rad prompts and odd strings."""
    with open(os.path.join(ROOT, "deploy", "demo-model", "corpus.txt"), encoding="utf-8") as f:
        out = [line.rstrip("\n") for line in f if line.strip()]
    for ind in [None, "Shortness of breath.", "Fever,\ncough  and hypoxia (SpO2 88 %).", "r/o PNA", "  trailing  ",
                "Chest pain. Hx of CABG; s/p sternotomy.", "Pneumothorax?\r\nPost chest tube placement."]:
        before, after = rb.prompt_text(ind).split("<image>", 1)
        out += [before, after]
    out += make_cases.SENTENCES
    out += ["\t", "\t\tindented", "a\tb\t\tc", "  ", "    four spaces", "trailing   ", "\n\n\n", "line\r\nbreak",
            "x\u3000y (ideographic space)", "Ñandú ŷ ǅ", "😀😃 emoji run", "Ꙋ🦙镇", "\u200d\u200c joiners", "\ufeffBOM",
            "日本語のテキスト", "Ελληνικά και русский", "עברית ועربي", "Zalgo z̷̢a̸l̵g̷o̶", "\x00\x01 control", "\x7f",
            "1234567890 12:30 3.5x4.2 cm", "<s>literal</s>", "▁▁ already escaped", "multiple\n\nblank\n\n\nlines"]
    return out


def main(tgz, out):
    vocab, merges, cases = read_package(tgz)
    if len(cases) < 10:
        raise SystemExit(f"found only {len(cases)} test cases in the package")
    os.makedirs(out, exist_ok=True)
    model = build_model(vocab, merges)
    path = os.path.join(out, "llama.model")
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    sp = spm.SentencePieceProcessor(model_file=path)
    bad = [c for c in cases if [sp.bos_id()] + sp.encode(c["text"]) != c["ids"]]
    for c in bad:
        print(f"python sentencepiece differs from the package on {c['text']!r}:\n got {[1] + sp.encode(c['text'])}\nwant {c['ids']}", file=sys.stderr)
    if bad:
        sys.exit(1)
    corpus = [{"text": s, "ids": sp.encode(s), "decoded": sp.decode(sp.encode(s))} for s in texts()]
    doc = {"note": f"python sentencepiece {spm.__version__} on llama.model built from {os.path.basename(tgz)}",
           "vocab_size": sp.get_piece_size(), "package_cases": cases, "corpus": corpus}
    with open(os.path.join(out, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=0)
    print(f"{path}: {sp.get_piece_size()} pieces; python sentencepiece reproduces the package's {len(cases)} cases; "
          f"{len(corpus)} texts recorded")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
