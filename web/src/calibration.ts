// Length calibration of a projection radiograph (PS3.3 C.8.11.4 / 10.7.1):
// Pixel Spacing (0028,0030), when present, is the spacing the file calls
// calibrated; Imager Pixel Spacing (0018,1164) is the spacing at the
// detector (the patient is magnified by the beam's divergence, so lengths
// read a little long). Neither: lengths are in pixels, "uncalibrated".
// Both attributes are "row spacing\column spacing" in mm.

export interface Calibration {
  /** mm between rows (vertical) and between columns (horizontal); null when uncalibrated */
  rowMm: number | null;
  colMm: number | null;
  source: 'Pixel Spacing' | 'Imager Pixel Spacing' | 'uncalibrated';
  label: string;
}

function parseSpacing(v: string | undefined | null): [number, number] | null {
  if (!v) return null;
  const parts = v.split('\\').map((x) => Number(x.trim()));
  if (parts.length !== 2 || parts.some((x) => !Number.isFinite(x) || x <= 0)) return null;
  return [parts[0], parts[1]];
}

export function calibrationOf(pixelSpacing?: string | null, imagerPixelSpacing?: string | null): Calibration {
  const ps = parseSpacing(pixelSpacing);
  if (ps) return { rowMm: ps[0], colMm: ps[1], source: 'Pixel Spacing', label: `calibrated by Pixel Spacing ${fmt(ps)} mm` };
  const ips = parseSpacing(imagerPixelSpacing);
  if (ips) return { rowMm: ips[0], colMm: ips[1], source: 'Imager Pixel Spacing', label: `calibrated by Imager Pixel Spacing ${fmt(ips)} mm (at the detector)` };
  return { rowMm: null, colMm: null, source: 'uncalibrated', label: 'uncalibrated: no Pixel Spacing or Imager Pixel Spacing, lengths in pixels' };
}

function fmt([r, c]: [number, number]): string {
  return r === c ? `${r}` : `${r} × ${c}`;
}

/** Length between two points given in image pixel coordinates (column, row). */
export function lengthOf(cal: Calibration, a: [number, number], b: [number, number]): { value: number; unit: 'mm' | 'px'; text: string } {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  if (cal.rowMm === null || cal.colMm === null) {
    const v = Math.hypot(dx, dy);
    return { value: v, unit: 'px', text: `${v.toFixed(0)} px (uncalibrated)` };
  }
  const v = Math.hypot(dx * cal.colMm, dy * cal.rowMm);
  return { value: v, unit: 'mm', text: `${v.toFixed(1)} mm` };
}
