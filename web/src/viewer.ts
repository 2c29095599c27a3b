// The DICOM viewer: a Cornerstone3D stack viewport on one instance's Part 10
// file, fetched from the API (wadouri, same-origin cookie auth). Window/level
// by left-drag or presets, zoom (right-drag, wheel, +/-), pan (middle-drag,
// arrows, or left-drag in pan mode), invert, fit, a distance measurement
// (calibrated by Pixel Spacing / Imager Pixel Spacing, see calibration.ts)
// and a magnifier of the original pixels. MONOCHROME1 is shown with bone
// bright (Cornerstone inverts it at load; "invert" toggles from there). The
// window is read and set as DICOM's linear VOI function defines it
// (PS3.3 C.11.2.1.2), so the readout says what the file says.

import {
  Enums as CoreEnums,
  RenderingEngine,
  init as coreInit,
  isCornerstoneInitialized,
  metaData,
  utilities as csUtils,
  type Types,
} from '@cornerstonejs/core';
import { init as dicomLoaderInit, wadouri } from '@cornerstonejs/dicom-image-loader';
import {
  Enums as ToolEnums,
  LengthTool,
  annotation,
  PanTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  addTool,
  init as toolsInit,
} from '@cornerstonejs/tools';

let initPromise: Promise<void> | null = null;

function initOnce(): Promise<void> {
  if (!initPromise) {
    initPromise = (async () => {
      if (!isCornerstoneInitialized()) coreInit();
      dicomLoaderInit({ maxWebWorkers: 1 });
      toolsInit();
      addTool(WindowLevelTool);
      addTool(PanTool);
      addTool(ZoomTool);
      addTool(LengthTool);
    })();
  }
  return initPromise;
}

import { calibrationOf, lengthOf, type Calibration } from './calibration';
import type { ImageStats, Preset } from './presets';
export { PRESETS } from './presets';

export interface ViewerState {
  windowCenter: number;
  windowWidth: number;
  invertedFromDefault: boolean;
  zoom: number;
  photometric: string;
  mode: 'wl' | 'pan' | 'zoom' | 'length' | 'magnify';
  calibration: Calibration;
  /** the last distance measured (text as drawn on the image), '' when none */
  measurement: string;
}

/** The part of dicom-parser's DataSet read here. */
interface DataSet {
  string(tag: string): string | undefined;
}

/** Pixel Spacing and Imager Pixel Spacing as DICOM strings ("r\\c"), from
 * the loader's naturalized metadata, else its parsed-dataset cache. */
function spacingTags(imageId: string, url: string): [string | undefined, string | undefined] {
  const asText = (v: unknown) => (Array.isArray(v) ? v.join('\\') : v === undefined || v === null ? undefined : String(v));
  const nat = metaData.get('naturalized', imageId) as { PixelSpacing?: unknown; ImagerPixelSpacing?: unknown } | undefined;
  if (nat && (nat.PixelSpacing !== undefined || nat.ImagerPixelSpacing !== undefined)) return [asText(nat.PixelSpacing), asText(nat.ImagerPixelSpacing)];
  const ds = wadouri.dataSetCacheManager.get(url) as DataSet | undefined;
  if (typeof ds?.string === 'function') return [ds.string('x00280030'), ds.string('x00181164')];
  return [undefined, undefined];
}

/** The part of a LengthTool annotation's data the label needs. */
interface LengthData {
  handles?: { points?: Types.Point3[] };
}

let seq = 0;

export class Viewer {
  private engine: RenderingEngine | null = null;
  private viewportId: string;
  private toolGroupId: string;
  private stats: ImageStats | null = null;
  private initialInvert = false;
  private photometric = '';
  private mode: ViewerState['mode'] = 'wl';
  private ro: ResizeObserver | null = null;
  private calibration: Calibration = calibrationOf(null, null);
  private measurement = '';
  private magnifier: HTMLCanvasElement | null = null;
  onChange: (s: ViewerState) => void = () => {};

  /** primary: the study's own image (the e2e test's pixel-sampling hook
   * points at it); a prior opened beside it is not primary. */
  constructor(
    private element: HTMLDivElement,
    private primary = true,
  ) {
    seq++;
    this.viewportId = `vp${seq}`;
    this.toolGroupId = `tg${seq}`;
  }

  async load(url: string): Promise<void> {
    await initOnce();
    const engine = new RenderingEngine(`re${seq}`);
    this.engine = engine;
    engine.enableElement({
      viewportId: this.viewportId,
      type: CoreEnums.ViewportType.STACK,
      element: this.element,
      defaultOptions: { background: [0, 0, 0] as Types.Point3 },
    });
    const tg = ToolGroupManager.createToolGroup(this.toolGroupId)!;
    tg.addTool(WindowLevelTool.toolName);
    tg.addTool(PanTool.toolName);
    tg.addTool(ZoomTool.toolName);
    tg.addTool(LengthTool.toolName, { getTextLines: (data: LengthData) => this.lengthText(data) });
    // Cornerstone's on-image label sets a style attribute, which the UI's
    // Content-Security-Policy (style-src 'self') refuses: the distance is
    // shown in the viewer's own overlay instead (ViewerState.measurement).
    annotation.config.style.setToolGroupToolStyles(this.toolGroupId, { [LengthTool.toolName]: { textBoxVisibility: false } } as unknown as Parameters<typeof annotation.config.style.setToolGroupToolStyles>[1]);
    tg.addViewport(this.viewportId, engine.id);
    this.applyMode();
    this.element.addEventListener('contextmenu', (e) => e.preventDefault());
    this.element.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        this.zoomBy(e.deltaY < 0 ? 1.1 : 1 / 1.1);
      },
      { passive: false },
    );
    this.installMagnifier();
    const vp = this.viewport();
    const abs = new URL(url, window.location.href).href;
    await vp.setStack([`wadouri:${abs}`], 0);
    const img = vp.getCornerstoneImage();
    this.calibration = calibrationOf(...spacingTags(img.imageId, abs));
    const pix = metaData.get('imagePixelModule', img.imageId) as { photometricInterpretation?: string } | undefined;
    this.photometric = pix?.photometricInterpretation ?? img.photometricInterpretation ?? '';
    const props = vp.getProperties();
    this.initialInvert = !!props.invert;
    const vr = props.voiRange ?? { lower: img.minPixelValue, upper: img.maxPixelValue };
    this.stats = {
      min: img.minPixelValue,
      max: img.maxPixelValue,
      defaultLower: vr.lower,
      defaultUpper: vr.upper,
    };
    vp.render();
    for (const ev of [CoreEnums.Events.VOI_MODIFIED, CoreEnums.Events.CAMERA_MODIFIED]) {
      this.element.addEventListener(ev, () => this.emit());
    }
    this.ro = new ResizeObserver(() => {
      this.engine?.resize(true, true);
      this.emit();
    });
    this.ro.observe(this.element);
    this.emit();
    // test hook (e2e samples pixels at anatomical positions)
    if (this.primary) (window as unknown as { __radraftViewer?: Viewer }).__radraftViewer = this;
  }

  /** Page (client) coordinates of a point given as fractions of the image's
   * width and height. */
  imageFractionToClient(fx: number, fy: number): [number, number] {
    const vp = this.viewport();
    const img = vp.getCornerstoneImage();
    const world = csUtils.imageToWorldCoords(vp.getCurrentImageId(), [fx * img.columns, fy * img.rows] as Types.Point2);
    const [cx, cy] = vp.worldToCanvas(world as Types.Point3);
    const r = this.element.getBoundingClientRect();
    return [r.left + cx, r.top + cy];
  }

  /** Client coordinates to image pixel coordinates (column, row). */
  clientToImage(x: number, y: number): [number, number] {
    const vp = this.viewport();
    const r = this.element.getBoundingClientRect();
    const world = vp.canvasToWorld([x - r.left, y - r.top] as Types.Point2);
    const [c, rr] = csUtils.worldToImageCoords(vp.getCurrentImageId(), world) ?? [NaN, NaN];
    return [c, rr];
  }

  /** The text drawn beside a length: calibrated mm, else pixels. */
  private lengthText(data: LengthData): string[] | undefined {
    const pts = data?.handles?.points;
    if (!pts || pts.length < 2 || !this.engine) return undefined;
    const id = this.viewport().getCurrentImageId();
    const a = csUtils.worldToImageCoords(id, pts[0]) as [number, number] | undefined;
    const b = csUtils.worldToImageCoords(id, pts[1]) as [number, number] | undefined;
    if (!a || !b) return undefined;
    const text = lengthOf(this.calibration, a, b).text;
    if (text !== this.measurement) {
      this.measurement = text;
      queueMicrotask(() => this.emit());
    }
    return [text];
  }

  /** The magnifier: while the button is held in magnify mode, a loupe shows
   * the original pixels under the pointer at 3x the on-screen scale, with
   * the current window and invert (drawn from the pixel data, not from the
   * screen). */
  private installMagnifier(): void {
    const loupe = document.createElement('canvas');
    loupe.className = 'magnifier';
    loupe.width = loupe.height = 220;
    loupe.hidden = true;
    loupe.dataset.testid = 'magnifier';
    this.element.appendChild(loupe);
    this.magnifier = loupe;
    const draw = (e: PointerEvent) => {
      if (this.mode !== 'magnify' || !(e.buttons & 1) || !this.engine) {
        loupe.hidden = true;
        return;
      }
      const r = this.element.getBoundingClientRect();
      loupe.hidden = false;
      loupe.style.left = `${Math.min(r.width - loupe.width, Math.max(0, e.clientX - r.left - loupe.width / 2))}px`;
      loupe.style.top = `${Math.min(r.height - loupe.height, Math.max(0, e.clientY - r.top - loupe.height / 2))}px`;
      this.drawLoupe(loupe, this.clientToImage(e.clientX, e.clientY), this.clientToImage(e.clientX + 1, e.clientY));
    };
    this.element.addEventListener('pointerdown', draw);
    this.element.addEventListener('pointermove', draw);
    this.element.addEventListener('pointerup', () => (loupe.hidden = true));
    this.element.addEventListener('pointerleave', () => (loupe.hidden = true));
  }

  private drawLoupe(loupe: HTMLCanvasElement, centre: [number, number], nextPx: [number, number]): void {
    const vp = this.viewport();
    const img = vp.getCornerstoneImage();
    const pixels = img.getPixelData();
    const { voiRange, invert } = vp.getProperties();
    const lower = voiRange?.lower ?? img.minPixelValue;
    const upper = voiRange?.upper ?? img.maxPixelValue;
    // image pixels per screen pixel, then 3x magnification
    const perScreen = Math.max(1e-6, Math.hypot(nextPx[0] - centre[0], nextPx[1] - centre[1]));
    const step = perScreen / 3;
    const ctx = loupe.getContext('2d')!;
    const out = ctx.createImageData(loupe.width, loupe.height);
    const slope = img.slope ?? 1;
    const intercept = img.intercept ?? 0;
    const scaled = !!img.preScale?.scaled;
    for (let y = 0; y < loupe.height; y++) {
      const row = Math.floor(centre[1] + (y - loupe.height / 2) * step);
      for (let x = 0; x < loupe.width; x++) {
        const col = Math.floor(centre[0] + (x - loupe.width / 2) * step);
        let g = 0;
        if (row >= 0 && row < img.rows && col >= 0 && col < img.columns) {
          const raw = pixels[row * img.columns + col];
          const v = scaled ? raw : raw * slope + intercept;
          g = Math.round(Math.min(1, Math.max(0, (v - lower) / Math.max(1e-6, upper - lower))) * 255);
          if (invert) g = 255 - g;
        }
        const i = (y * loupe.width + x) * 4;
        out.data[i] = out.data[i + 1] = out.data[i + 2] = g;
        out.data[i + 3] = 255;
      }
    }
    ctx.putImageData(out, 0, 0);
  }

  private viewport(): Types.IStackViewport {
    return this.engine!.getViewport(this.viewportId) as Types.IStackViewport;
  }

  private applyMode(): void {
    const tg = ToolGroupManager.getToolGroup(this.toolGroupId);
    if (!tg) return;
    const { MouseBindings } = ToolEnums;
    for (const t of [WindowLevelTool.toolName, PanTool.toolName, ZoomTool.toolName, LengthTool.toolName]) tg.setToolPassive(t);
    const primary: string | null =
      this.mode === 'pan' ? PanTool.toolName : this.mode === 'zoom' ? ZoomTool.toolName : this.mode === 'length' ? LengthTool.toolName : this.mode === 'magnify' ? null : WindowLevelTool.toolName;
    const bindings: Record<string, { mouseButton: number }[]> = {
      [WindowLevelTool.toolName]: [],
      [LengthTool.toolName]: [],
      [PanTool.toolName]: [{ mouseButton: MouseBindings.Auxiliary }],
      [ZoomTool.toolName]: [{ mouseButton: MouseBindings.Secondary }],
    };
    if (primary) bindings[primary].push({ mouseButton: MouseBindings.Primary });
    for (const [tool, b] of Object.entries(bindings)) if (b.length) tg.setToolActive(tool, { bindings: b });
  }

  setMode(m: ViewerState['mode']): void {
    this.mode = m;
    this.applyMode();
    this.emit();
  }

  state(): ViewerState | null {
    if (!this.engine) return null;
    const vp = this.viewport();
    const p = vp.getProperties();
    const vr = p.voiRange ?? { lower: 0, upper: 0 };
    // DICOM's linear function: the range is [c - 0.5 - (w-1)/2, c - 0.5 + (w-1)/2],
    // so the width is upper - lower + 1 (WW 1023 reads 1023, not 1022).
    const wl = csUtils.windowLevel.toWindowLevel(vr.lower, vr.upper);
    return {
      windowCenter: Math.round(wl.windowCenter),
      windowWidth: Math.round(wl.windowWidth),
      invertedFromDefault: !!p.invert !== this.initialInvert,
      zoom: vp.getZoom(),
      photometric: this.photometric,
      mode: this.mode,
      calibration: this.calibration,
      measurement: this.measurement,
    };
  }

  private emit(): void {
    const s = this.state();
    if (s) this.onChange(s);
  }

  applyPreset(p: Preset): void {
    if (!this.stats) return;
    const [lower, upper] = p.range(this.stats);
    this.setVOI(lower, upper);
  }

  setWindow(center: number, width: number): void {
    const { lower, upper } = csUtils.windowLevel.toLowHighRange(width, center);
    this.setVOI(lower, upper);
  }

  /** Adjusts window by steps (keyboard W/L): dw widens, dc brightens centre. */
  nudgeWindow(dc: number, dw: number): void {
    const s = this.state();
    if (!s || !this.stats) return;
    const range = Math.max(1, this.stats.max - this.stats.min);
    this.setWindow(s.windowCenter + (dc * range) / 50, Math.max(1, s.windowWidth + (dw * range) / 25));
  }

  private setVOI(lower: number, upper: number): void {
    const vp = this.viewport();
    vp.setProperties({ voiRange: { lower, upper } });
    vp.render();
    this.emit();
  }

  toggleInvert(): void {
    const vp = this.viewport();
    vp.setProperties({ invert: !vp.getProperties().invert });
    vp.render();
    this.emit();
  }

  fit(): void {
    const vp = this.viewport();
    vp.resetCamera();
    vp.render();
    this.emit();
  }

  /** Restores window, invert and camera to the image's defaults. */
  reset(): void {
    const vp = this.viewport();
    // not vp.resetProperties(): on the GPU path it re-creates the LUT of a
    // MONOCHROME1 image un-inverted while still reporting invert=true
    if (this.stats) vp.setProperties({ voiRange: { lower: this.stats.defaultLower, upper: this.stats.defaultUpper } });
    if (!!vp.getProperties().invert !== this.initialInvert) vp.setProperties({ invert: this.initialInvert });
    vp.resetCamera();
    vp.render();
    this.emit();
  }

  zoomBy(f: number): void {
    const vp = this.viewport();
    vp.setZoom(vp.getZoom() * f);
    vp.render();
    this.emit();
  }

  panBy(dx: number, dy: number): void {
    const vp = this.viewport();
    const [x, y] = vp.getPan();
    const z = vp.getZoom();
    vp.setPan([x + dx / z, y + dy / z] as Types.Point2);
    vp.render();
    this.emit();
  }

  destroy(): void {
    this.ro?.disconnect();
    try {
      ToolGroupManager.destroyToolGroup(this.toolGroupId);
    } catch {
      /* already gone */
    }
    this.engine?.destroy();
    this.engine = null;
  }
}
