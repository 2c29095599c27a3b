#!/usr/bin/python3
"""The MIMIC-CXR-JPG rendering in Python: the reference radraft's Go
rendering (inference.RenderMIMICCXRJPG, model.json "input_rendering":
"mimic-cxr-jpg") is tested and benchmarked against, and what the export
uses to make the model-input PNGs of a bundle's references.

The published function (MIT-LCP/mimic-cxr issue 16) that made MIMIC-CXR-JPG,
LLaVA-Rad's training images, from the DICOMs: pydicom's pixel_array (stored
values: no rescale, no VOI), minus its minimum, divided by its new maximum,
times 255, cast to uint8 (truncation), cv2.bitwise_not for MONOCHROME1,
cv2.equalizeHist. (MIMIC-CXR-JPG then wrote JPEGs; the model input here is
the image before that lossy step.) Needs Debian's python3-pydicom,
python3-opencv and python3-numpy.

    mimic_cxr_jpg.py render IN.dcm OUT.png
    mimic_cxr_jpg.py synthetic DIR        # synthetic DICOMs + their PNGs (tests)
    mimic_cxr_jpg.py bench IN.dcm REPS    # JSON: wall and CPU seconds per render (read+decode+render)
"""
import json
import os
import sys
import time

import cv2
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid


def render_dataset(ds):
    """The published dcm2img, up to the image it writes."""
    raw = ds.pixel_array
    if raw.ndim != 2:
        raise ValueError("expected one grayscale frame")
    with np.errstate(invalid="ignore", divide="ignore"):
        shifted = raw - raw.min()
        scaled = ((shifted / shifted.max()) * 255).astype(np.uint8)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        scaled = cv2.bitwise_not(scaled)
    return cv2.equalizeHist(scaled)


def render(path):
    return render_dataset(pydicom.dcmread(path))


def write_png(path, img):
    if not cv2.imwrite(path, img):
        raise SystemExit(f"cannot write {path}")


def synthetic_dataset(rows, cols, bits_alloc, bits_stored, signed, photometric, values):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[f"{rows}{cols}{bits_stored}{signed}{photometric}"])
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "CR"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits_alloc, bits_stored, bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    # A window that the display rendering would use: the MIMIC one must not.
    ds.WindowCenter, ds.WindowWidth = 100, 50
    ds.RescaleSlope, ds.RescaleIntercept = 2, -7
    dtype = {(8, False): "<u1", (8, True): "<i1", (16, False): "<u2", (16, True): "<i2"}[(bits_alloc, signed)]
    ds.PixelData = values.astype(dtype).tobytes()
    return ds


def synthetic_cases():
    """(name, dataset) pairs: 8/12/16-bit, signed and unsigned, MONOCHROME1
    and 2, a constant image, a two-level image, a signed 16-bit image whose
    range wraps numpy's int16 subtraction."""
    rng = np.random.default_rng(12)
    rows, cols = 67, 91
    y, x = np.mgrid[0:rows, 0:cols]
    smooth = (np.sin(x / 9.0) + np.cos(y / 13.0) + 2) / 4  # 0..1, chest-like ramps

    def field(lo, hi):
        v = lo + smooth * (hi - lo) + rng.normal(0, (hi - lo) / 40, smooth.shape)
        return np.clip(np.rint(v), lo, hi).astype(np.int64)
    cases = []
    for name, ba, bs, signed, lo, hi in [
        ("u8", 8, 8, False, 3, 250), ("s8", 8, 8, True, -100, 90),
        ("u12", 16, 12, False, 40, 4000), ("s12", 16, 12, True, -2000, 1900),
        ("u16", 16, 16, False, 100, 65000), ("s16", 16, 16, True, -30000, 2000),
        ("u16narrow", 16, 16, False, 1000, 1090),
    ]:
        for pi in ("MONOCHROME1", "MONOCHROME2"):
            cases.append((f"{name}_{pi.lower()}", synthetic_dataset(rows, cols, ba, bs, signed, pi, field(lo, hi))))
    cases.append(("u16_constant", synthetic_dataset(rows, cols, 16, 16, False, "MONOCHROME2", np.full((rows, cols), 777))))
    two = np.where(smooth > 0.5, 900, 100)
    cases.append(("u12_two_levels", synthetic_dataset(rows, cols, 16, 12, False, "MONOCHROME1", two)))
    cases.append(("s16_wraps", synthetic_dataset(rows, cols, 16, 16, True, "MONOCHROME2", field(-32000, 32000))))
    return cases


def write_synthetic(out):
    os.makedirs(out, exist_ok=True)
    names = []
    for name, ds in synthetic_cases():
        dcm = os.path.join(out, name + ".dcm")
        ds.save_as(dcm, write_like_original=False)
        write_png(os.path.join(out, name + ".png"), render(dcm))
        names.append(name)
    print(json.dumps(names))


def bench(path, reps):
    """Median seconds of the whole function (read, decode, render) over reps."""
    times, cpu = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        render(path)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    print(json.dumps({"reps": reps, "times_s": times, "cpu_s": cpu}))


def main(argv):
    if len(argv) == 3 and argv[0] == "render":
        write_png(argv[2], render(argv[1]))
    elif len(argv) == 2 and argv[0] == "synthetic":
        write_synthetic(argv[1])
    elif len(argv) == 3 and argv[0] == "bench":
        bench(argv[1], int(argv[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
