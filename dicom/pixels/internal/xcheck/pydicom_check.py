"""Independent check of dicom/pixels against pydicom (Debian python3-pydicom).

Usage: pydicom_check.py FILE.dcm DISPLAY.png [FILE.dcm DISPLAY.png ...]

For each pair, computes the 8-bit display image with pydicom's own modality
LUT (rescale) and VOI (window or VOI LUT Sequence) functions, normalised to
0..255 over the output range pydicom's windowing uses, rounded half up,
inverted for MONOCHROME1 or Presentation LUT Shape INVERSE; and compares it
with DISPLAY.png written by the Go decoder. Prints one line per pair and exits
1 when any pixel differs. Files without a window or VOI LUT (robust min-max)
are not for this script: pydicom has no equivalent.
"""
import sys

import numpy as np
import pydicom
from PIL import Image
from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi_lut


def display(ds):
    arr = ds.pixel_array
    if arr.ndim == 3:
        arr = arr[0]
    if ds.PixelRepresentation == 0 and ds.BitsStored < ds.BitsAllocated:
        # pydicom 2.3 leaves the bits above High Bit (overlay junk) in
        # pixel_array; PS3.5 8.1.1 says they are not part of the value.
        arr = arr & (2**ds.BitsStored - 1)
    m = apply_modality_lut(arr, ds)
    v = apply_voi_lut(m, ds, prefer_lut=True).astype(np.float64)
    if "VOILUTSequence" in ds:
        bits = ds.VOILUTSequence[0].LUTDescriptor[2]
        y_min, y_max = 0.0, float(2**bits - 1)
    else:
        # The output range of pydicom's apply_windowing (PS3.3 C.11.2.1.2).
        if ds.PixelRepresentation == 0:
            y_min, y_max = 0.0, float(2**ds.BitsStored - 1)
        else:
            y_min, y_max = float(-(2 ** (ds.BitsStored - 1))), float(2 ** (ds.BitsStored - 1) - 1)
        if "RescaleSlope" in ds and "RescaleIntercept" in ds:
            s, i = float(ds.RescaleSlope), float(ds.RescaleIntercept)
            y_min, y_max = y_min * s + i, y_max * s + i
    y = np.floor((v - y_min) / (y_max - y_min) * 255 + 0.5).clip(0, 255).astype(np.uint8)
    if ds.PhotometricInterpretation == "MONOCHROME1" or ds.get("PresentationLUTShape", "") == "INVERSE":
        y = 255 - y
    return y


def main(args):
    bad = False
    for dcm, png in zip(args[0::2], args[1::2]):
        want = display(pydicom.dcmread(dcm))
        got = np.asarray(Image.open(png))
        if want.shape != got.shape:
            print(f"{dcm}: shape {got.shape}, pydicom {want.shape}")
            bad = True
            continue
        d = np.abs(want.astype(int) - got.astype(int))
        n = int((d > 0).sum())
        print(f"{dcm}: pydicom {pydicom.__version__}: {n} of {d.size} pixels differ (max {d.max()})")
        bad = bad or n > 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
