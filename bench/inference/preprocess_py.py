#!/usr/bin/python3
"""Times the Python reference preprocessing (deploy/demo-model/reference_preprocess.py:
PIL BICUBIC + numpy) on one already-decoded 8-bit image, and compares its tensor
with Go's (raw float32 file). Prints JSON."""
import json, os, statistics, sys, time
import numpy as np
from PIL import Image

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(root, "deploy", "demo-model"))
import reference_preprocess as rp  # noqa: E402

path, n, go_tensor = sys.argv[1], int(sys.argv[2]), sys.argv[3]
im = Image.open(path)
im.load()
if im.mode != "L":
    im = im.convert("L")
x = rp.preprocess_pil(im)  # warm-up
ts = []
for _ in range(n):
    t = time.perf_counter()
    x = rp.preprocess_pil(im)
    ts.append((time.perf_counter() - t) * 1000)
g = np.fromfile(go_tensor, dtype="<f4").reshape(x.shape)
d = np.abs(g - x)
print(json.dumps({"runs": n, "median_ms": statistics.median(ts), "min_ms": min(ts), "times_ms": ts,
                  "max_abs_diff": float(d.max()), "differing_values": int((d > 0).sum())}))
