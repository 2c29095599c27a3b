// Small dependency-free SVG charts (the data is also shown as a table).

import { s } from './dom';

const COLORS = ['#1f6feb', '#d9480f', '#2b8a3e', '#862e9c', '#c92a2a', '#5c6f82', '#e67700'];
const W = 560;
const H = 260;
const M = { l: 44, r: 12, t: 12, b: 56 };

/** Axis ticks from 0 covering max: a 1-2-5 step (at least 1 for counts),
 * at most about five intervals, each label written with the decimals its
 * step needs, so no two ticks read the same. */
export function ticks(max: number, integer: boolean): { top: number; values: number[]; labels: string[] } {
  const want = Math.max(max, integer ? 1 : Number.EPSILON) / 5;
  const mag = 10 ** Math.floor(Math.log10(want));
  let step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((x) => x >= want) ?? 10 * mag;
  if (integer) step = Math.max(1, Math.ceil(step));
  const n = Math.max(1, Math.ceil(max / step - 1e-9));
  const decimals = integer ? 0 : Math.max(0, -Math.floor(Math.log10(step) + 1e-9) + (step / 10 ** Math.floor(Math.log10(step)) === 2.5 ? 1 : 0));
  const values = Array.from({ length: n + 1 }, (_, i) => i * step);
  return { top: n * step, values, labels: values.map((v) => v.toFixed(decimals)) };
}

function axes(svg: SVGSVGElement, xLabels: string[], yMax: number, yLabel: string, t = ticks(yMax, false)): void {
  const ih = H - M.t - M.b;
  t.values.forEach((v, i) => {
    const y = M.t + ih - (ih * v) / t.top;
    svg.append(s('line', { x1: M.l, x2: W - M.r, y1: y, y2: y, class: 'grid' }));
    svg.append(s('text', { x: M.l - 6, y: y + 4, 'text-anchor': 'end', class: 'tick' }, t.labels[i]));
  });
  const iw = W - M.l - M.r;
  const step = xLabels.length > 1 ? iw / (xLabels.length - 1) : 0;
  const every = Math.max(1, Math.ceil(xLabels.length / 8));
  xLabels.forEach((l, i) => {
    if (i % every) return;
    const x = xLabels.length > 1 ? M.l + step * i : M.l + iw / 2;
    svg.append(s('text', { x, y: H - M.b + 16, 'text-anchor': 'middle', class: 'tick' }, l));
  });
  svg.append(s('text', { x: 12, y: M.t + ih / 2, transform: `rotate(-90 12 ${M.t + ih / 2})`, 'text-anchor': 'middle', class: 'tick' }, yLabel));
}

function legend(svg: SVGSVGElement, names: string[]): void {
  let x = M.l;
  names.forEach((n, i) => {
    svg.append(s('rect', { x, y: H - 22, width: 10, height: 10, fill: COLORS[i % COLORS.length] }));
    svg.append(s('text', { x: x + 14, y: H - 13, class: 'tick' }, n));
    x += 20 + n.length * 6.2;
  });
}

export function lineChart(xLabels: string[], series: { name: string; points: (number | null)[] }[], opts: { yMax?: number; yLabel?: string } = {}): SVGSVGElement {
  const t = ticks(opts.yMax ?? Math.max(0, ...series.flatMap((x) => x.points.filter((p): p is number => p !== null))), false);
  const yMax = t.top;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart', 'aria-label': opts.yLabel ?? 'line chart' });
  svg.append(s('title', {}, opts.yLabel ?? 'line chart'));
  axes(svg, xLabels, yMax, opts.yLabel ?? '', t);
  const iw = W - M.l - M.r;
  const ih = H - M.t - M.b;
  const step = xLabels.length > 1 ? iw / (xLabels.length - 1) : 0;
  series.forEach((se, si) => {
    const c = COLORS[si % COLORS.length];
    let d = '';
    se.points.forEach((p, i) => {
      if (p === null) return;
      const x = xLabels.length > 1 ? M.l + step * i : M.l + iw / 2;
      const y = M.t + ih - (ih * p) / yMax;
      d += `${d ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
      const dot = s('circle', { cx: x, cy: y, r: 3.5, fill: c });
      dot.append(s('title', {}, `${se.name} ${xLabels[i]}: ${p.toFixed(1)}`));
      svg.append(dot);
    });
    if (d) svg.append(s('path', { d, fill: 'none', stroke: c, 'stroke-width': 2 }));
  });
  legend(svg, series.map((x) => x.name));
  return svg;
}

export function barChart(groups: { label: string; values: number[] }[], names: string[]): SVGSVGElement {
  // error counts: whole-number ticks
  const t = ticks(Math.max(0, ...groups.map((g) => g.values.reduce((a, b) => a + b, 0))), true);
  const yMax = t.top;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart', 'aria-label': 'errors by type per week' });
  svg.append(s('title', {}, 'Clinically significant errors by type per week'));
  const iw = W - M.l - M.r;
  const ih = H - M.t - M.b;
  const slot = groups.length ? iw / groups.length : iw;
  const bw = Math.min(40, slot * 0.6);
  axes(svg, [], yMax, 'errors', t);
  groups.forEach((g, gi) => {
    const x = M.l + slot * gi + (slot - bw) / 2;
    let y = M.t + ih;
    g.values.forEach((v, vi) => {
      if (!v) return;
      const hh = (ih * v) / yMax;
      y -= hh;
      const r = s('rect', { x, y, width: bw, height: hh, fill: COLORS[vi % COLORS.length] });
      r.append(s('title', {}, `${g.label} ${names[vi]}: ${v}`));
      svg.append(r);
    });
    svg.append(s('text', { x: x + bw / 2, y: H - M.b + 16, 'text-anchor': 'middle', class: 'tick' }, g.label));
  });
  legend(svg, names.map((n) => n.split(' ')[0]));
  return svg;
}
