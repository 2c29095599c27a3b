#!/usr/bin/python3
"""Writes the PIL bicubic fixtures of inference's preprocessing test: for a few
input sizes (downscale with antialiasing, upscale, one side already 518), a
synthetic 8-bit image in_WxH.png and want_WxH.png, the 518x518 result of
open_clip's eval resize + centre crop done by PIL on the image converted to
RGB (channel 0; the three are equal). Run with Debian's /usr/bin/python3."""
import numpy as np
from PIL import Image

cases = [(1203, 1001), (400, 300), (518, 800), (519, 1301)]
for w, h in cases:
    yy, xx = np.mgrid[0:h, 0:w]
    a = (127 + 90 * np.sin(xx / 37.0) * np.cos(yy / 23.0) + 30 * ((xx * 7 + yy * 13) % 11 - 5) / 5).clip(0, 255).astype(np.uint8)
    a[h // 3, :] = 255  # sharp edges: overshoot gets clipped
    a[:, w // 4] = 0
    Image.fromarray(a, "L").save(f"in_{w}x{h}.png")
    im = Image.fromarray(a, "L").convert("RGB")
    short, long_ = (w, h) if w <= h else (h, w)
    nl = int(518 * long_ / short)
    nw, nh = (518, nl) if w <= h else (nl, 518)
    r = im.resize((nw, nh), Image.BICUBIC)
    top = int(round((nh - 518) / 2.0))
    left = int(round((nw - 518) / 2.0))
    c = np.asarray(r.crop((left, top, left + 518, top + 518)))
    assert (c[:, :, 0] == c[:, :, 1]).all() and (c[:, :, 0] == c[:, :, 2]).all()
    Image.fromarray(c[:, :, 0], "L").save(f"want_{w}x{h}.png")
