// Window presets, relative to the image's own default window and range
// (CR/DX values are not Hounsfield units). Kept apart from viewer.ts so the
// page can build its toolbar before Cornerstone is loaded.

export interface Preset {
  key: string;
  label: string;
  /** computes [lower, upper] from the image's default window and its range */
  range(img: ImageStats): [number, number];
}

export interface ImageStats {
  min: number;
  max: number;
  defaultLower: number;
  defaultUpper: number;
}

export const PRESETS: Preset[] = [
  { key: '1', label: 'Default', range: (s) => [s.defaultLower, s.defaultUpper] },
  { key: '2', label: 'Full range', range: (s) => [s.min, s.max] },
  {
    key: '3',
    label: 'High contrast',
    range: (s) => {
      const c = (s.defaultLower + s.defaultUpper) / 2;
      const w = (s.defaultUpper - s.defaultLower) / 2;
      return [c - w / 2, c + w / 2];
    },
  },
  {
    key: '4',
    label: 'Soft (wide)',
    range: (s) => {
      const c = (s.defaultLower + s.defaultUpper) / 2;
      const w = (s.defaultUpper - s.defaultLower) * 1.6;
      return [c - w / 2, c + w / 2];
    },
  },
];

