// The DICOM viewer: a Cornerstone3D stack viewport on one instance's Part 10
// file, fetched from the API (wadouri, same-origin cookie auth). Window/level
// by left-drag or presets, zoom (right-drag, wheel, +/-), pan (middle-drag,
// arrows, or left-drag in pan mode), invert, fit. MONOCHROME1 is shown with
// bone bright (Cornerstone inverts it at load; "invert" toggles from there).

import {
  Enums as CoreEnums,
  RenderingEngine,
  init as coreInit,
  isCornerstoneInitialized,
  metaData,
  utilities as csUtils,
  type Types,
} from '@cornerstonejs/core';
import { init as dicomLoaderInit } from '@cornerstonejs/dicom-image-loader';
import {
  Enums as ToolEnums,
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
    })();
  }
  return initPromise;
}

import type { ImageStats, Preset } from './presets';
export { PRESETS } from './presets';

export interface ViewerState {
  windowCenter: number;
  windowWidth: number;
  invertedFromDefault: boolean;
  zoom: number;
  photometric: string;
  mode: 'wl' | 'pan' | 'zoom';
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
  onChange: (s: ViewerState) => void = () => {};

  constructor(private element: HTMLDivElement) {
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
    const vp = this.viewport();
    const abs = new URL(url, window.location.href).href;
    await vp.setStack([`wadouri:${abs}`], 0);
    const img = vp.getCornerstoneImage();
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
    (window as unknown as { __radraftViewer?: Viewer }).__radraftViewer = this;
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

  private viewport(): Types.IStackViewport {
    return this.engine!.getViewport(this.viewportId) as Types.IStackViewport;
  }

  private applyMode(): void {
    const tg = ToolGroupManager.getToolGroup(this.toolGroupId);
    if (!tg) return;
    const { MouseBindings } = ToolEnums;
    for (const t of [WindowLevelTool.toolName, PanTool.toolName, ZoomTool.toolName]) tg.setToolPassive(t);
    const primary = this.mode === 'pan' ? PanTool.toolName : this.mode === 'zoom' ? ZoomTool.toolName : WindowLevelTool.toolName;
    const bindings: Record<string, { mouseButton: number }[]> = {
      [WindowLevelTool.toolName]: [],
      [PanTool.toolName]: [{ mouseButton: MouseBindings.Auxiliary }],
      [ZoomTool.toolName]: [{ mouseButton: MouseBindings.Secondary }],
    };
    bindings[primary].push({ mouseButton: MouseBindings.Primary });
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
    return {
      windowCenter: Math.round((vr.lower + vr.upper) / 2),
      windowWidth: Math.round(vr.upper - vr.lower),
      invertedFromDefault: !!p.invert !== this.initialInvert,
      zoom: vp.getZoom(),
      photometric: this.photometric,
      mode: this.mode,
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
    this.setVOI(center - width / 2, center + width / 2);
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
