#!/usr/bin/python3
"""Python reference of radraft's image preprocessing (open_clip's eval
transform as LLaVA-Rad uses it), with PIL and numpy only:

  8-bit gray image -> RGB (3 equal channels) -> resize the shortest side to
  518 with PIL BICUBIC (torchvision Resize: long side = int(518*long/short))
  -> centre crop 518x518 (offsets round((size-518)/2)) -> /255 in float32
  -> (x - mean) / std per channel in float32 (CLIP mean/std).

Returns a float32 array [3,518,518] (channel-major), what vision.onnx's
pixel_values takes for one image. Usage as a script:

    /usr/bin/python3 reference_preprocess.py in.png out.f32   # raw little-endian float32
"""
import sys

import numpy as np
from PIL import Image

SIZE = 518
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def resize_crop(im, size=SIZE):
    im = im.convert("RGB")
    w, h = im.size
    short, long_ = (w, h) if w <= h else (h, w)
    if short != size:
        nl = int(size * long_ / short)
        nw, nh = (size, nl) if w <= h else (nl, size)
        im = im.resize((nw, nh), Image.BICUBIC)
    w, h = im.size
    top = int(round((h - size) / 2.0))
    left = int(round((w - size) / 2.0))
    return im.crop((left, top, left + size, top + size))


def preprocess_pil(im, size=SIZE):
    a = np.asarray(resize_crop(im, size), dtype=np.uint8)  # [H,W,3]
    x = a.astype(np.float32) / np.float32(255.0)
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1)).astype(np.float32)


def preprocess(path, size=SIZE):
    with Image.open(path) as im:
        return preprocess_pil(im, size)


if __name__ == "__main__":
    preprocess(sys.argv[1]).astype("<f4").tofile(sys.argv[2])
