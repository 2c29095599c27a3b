#!/usr/bin/python3
"""Writes cases.json (and alt.model) for inference/tokenizer's tests: what
Python sentencepiece (Debian's python3-sentencepiece, the reference
implementation) gives for a set of radiology-style sentences, encoded and
decoded, with two models:

  ../../../models/demo/tokenizer.model  the demo bundle's BPE model (Llama
      settings: byte fallback, dummy prefix, identity normalisation, no
      whitespace collapsing, split digits);
  alt.model  a small BPE model trained here from the demo corpus with the
      other switches: remove_extra_whitespaces, no dummy prefix, a
      user-defined symbol "<image>" and byte fallback.

Run from this folder: /usr/bin/python3 make_cases.py (deterministic)."""
import json
import os
import random

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "..", "deploy", "demo-model", "corpus.txt")

SENTENCES = [
    "The lungs are clear.",
    "Heart size is normal. No pleural effusion or pneumothorax.",
    "A 1.2 × 0.9 cm nodule projects over the left mid lung.",
    "ET tube 4.5 cm above the carina; NG tube in the stomach.",
    "Compared with 2019-04-12, the café-au-lait spot is irrelevant.",
    "Opacities ≈90 % improved (SpO2 88%).",
    "Mild  cardiomegaly,   with two and three spaces.",
    "  leading spaces and trailing spaces  ",
    "Line one.\nLine two.\n\nLine four after a blank line.",
    "Tabs\tbetween\twords and a carriage return\r\nhere.",
    "Unseen letters: ü, ø, ß, µg, Ω, → and ±.",
    "Emoji 🫁 and CJK 肺炎 fall back to bytes.",
    "Greek α-1 antitrypsin; β-blocker; 5th–7th ribs — healed.",
    "Literal specials: <s> </s> <unk> <0x41> <image> ▁ and \u2581\u2581.",
    "UPPER CASE FINDINGS: NO ACUTE CARDIOPULMONARY PROCESS!!!",
    "Numbers 0123456789 and 3.14159, 1,000,000 and -40°C.",
    "Provide a description of the findings in the radiology image given the following indication: Shortness of breath.",
    "A chat between a curious user and an artificial intelligence assistant. USER: ",
    "\nProvide a description of the findings in the radiology image. ASSISTANT:",
    "x",
    " ",
    "   ",
    "\n",
    "",
    "é",
    "mm",
    "Pneumoperitoneum? Pneumomediastinum? Hydropneumothorax.",
    "Right-sided PICC (5 Fr) terminates at the cavoatrial junction [stable].",
    "\"Quoted\" and 'single' and back\\slash and under_score and a/b & c | d ~ e ^ f.",
    "Mixed\u00a0no-break\u00a0spaces and a zero\u200bwidth space.",
]


def train_alt(path):
    prefix = path[: -len(".model")]
    spm.SentencePieceTrainer.train(
        input=CORPUS, model_prefix=prefix, model_type="bpe", vocab_size=500,
        character_coverage=1.0, byte_fallback=True, remove_extra_whitespaces=True,
        add_dummy_prefix=False, normalization_rule_name="identity",
        user_defined_symbols=["<image>"], unk_id=0, bos_id=1, eos_id=2, pad_id=3,
        num_threads=1, minloglevel=2)
    os.remove(prefix + ".vocab")
    m = pb.ModelProto()
    with open(path, "rb") as f:
        m.ParseFromString(f.read())
    del m.trainer_spec.input[:]
    m.trainer_spec.input.append("deploy/demo-model/corpus.txt")
    m.trainer_spec.model_prefix = "alt"
    with open(path, "wb") as f:
        f.write(m.SerializeToString())


def cases(model_rel, seed):
    sp = spm.SentencePieceProcessor(model_file=os.path.join(HERE, model_rel))
    enc = []
    for s in SENTENCES:
        ids = sp.encode(s)
        enc.append({"text": s, "ids": ids, "pieces": [sp.id_to_piece(i) for i in ids], "decoded": sp.decode(ids)})
    rng = random.Random(seed)
    n = sp.get_piece_size()
    dec = []
    byte_ids = [i for i in range(n) if sp.is_byte(i)]
    for k in range(60):
        L = rng.randint(1, 16)
        if k % 3 == 0:  # byte-heavy: runs of byte pieces, valid and invalid UTF-8
            ids = [rng.choice(byte_ids + [rng.randrange(n)]) for _ in range(L)]
        else:
            ids = [rng.randrange(n) for _ in range(L)]
        dec.append({"ids": ids, "text": sp.decode(ids)})
    for ids in ([1] + sp.encode("Heart size."), [1, 2], [2, sp.piece_to_id("\u2581")] + sp.encode("Heart"),
                [0] + sp.encode("Heart"), [sp.piece_to_id("<0xF0>"), sp.piece_to_id("<0x9F>")] + sp.encode("x")):
        dec.append({"ids": ids, "text": sp.decode(ids)})
    return {"model": model_rel, "vocab_size": n, "bos_id": sp.bos_id(), "eos_id": sp.eos_id(),
            "unk_id": sp.unk_id(), "pad_id": sp.pad_id(), "encode": enc, "decode": dec}


def main():
    train_alt(os.path.join(HERE, "alt.model"))
    doc = {"note": "made by make_cases.py with Python sentencepiece " + spm.__version__,
           "models": [cases("../../../models/demo/tokenizer.model", 1), cases("alt.model", 2)]}
    with open(os.path.join(HERE, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
