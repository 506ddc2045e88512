/**
 * A self-contained SVG scatter plot of latency against quality: x = p50 latency in ms on a log
 * scale, y = nDCG@10 (or any metric), one labelled point per mode. Rendered as a string.
 */

export interface ScatterPoint {
  label: string;
  /** Milliseconds, > 0. */
  x: number;
  y: number;
  /** Drawn with a different marker (e.g. the baseline). */
  highlight?: boolean;
}

export interface ScatterOptions {
  width?: number;
  height?: number;
  xLabel?: string;
  yLabel?: string;
  title?: string;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

/** Escapes text for XML/HTML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** 1-2-5 steps at or below v (floor) or at or above v (ceil), e.g. 0.31 → 0.2 / 0.5. */
function nice125(v: number, direction: 'floor' | 'ceil'): number {
  const e = Math.floor(Math.log10(v));
  const candidates = [1, 2, 5, 10].map((s) => Number((s * 10 ** e).toPrecision(6)));
  if (direction === 'floor') return [...candidates].reverse().find((c) => c <= v * (1 + 1e-9)) ?? candidates[0]!;
  return candidates.find((c) => c >= v * (1 - 1e-9)) ?? candidates[3]!;
}

/** Share of the y data range added above and below it, so that no point lies on the frame. */
export const Y_MARGIN = 0.08;

/** A log-axis range on 1-2-5 values around [min, max], at least a factor 4 wide. */
export function logRange(min: number, max: number): [number, number] {
  let lo = nice125(min / 1.1, 'floor'); // 10% margin keeps points off the frame
  let hi = nice125(max * 1.1, 'ceil');
  while (hi / lo < 4) {
    lo = nice125(lo * 0.999, 'floor');
    if (hi / lo < 4) hi = nice125(hi * 1.001, 'ceil');
  }
  return [lo, hi];
}

/** Tick values of a log axis: 1-2-3-5 steps within a decade, 1-2-5 up to 3 decades, decades beyond. */
export function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  const span = Math.log10(hi / lo);
  const steps = span <= 1.0001 ? [1, 2, 3, 5] : span <= 3.0001 ? [1, 2, 5] : [1];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const s of steps) {
      const v = s * 10 ** e;
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push(Number(v.toPrecision(6)));
    }
  }
  return ticks;
}

/** A linear axis range padded to round steps, and its ticks (about 4 to 10 of them). */
export function linearTicks(min: number, max: number): { lo: number; hi: number; ticks: number[] } {
  let lo = min;
  let hi = max;
  if (hi - lo < 1e-9) {
    lo -= 0.05;
    hi += 0.05;
  }
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((s) => s * mag).find((s) => s >= raw) ?? 10 * mag;
  lo = Math.floor(lo / step - 1e-9) * step;
  hi = Math.ceil(hi / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Number(v.toPrecision(10)));
  return { lo, hi, ticks };
}

function formatTick(v: number): string {
  if (v >= 1) return String(Number(v.toPrecision(6)));
  return String(Number(v.toPrecision(3)));
}

/** Renders the scatter plot; an empty point list gives a plot with a "no latency data" note. */
export function renderScatterSvg(points: readonly ScatterPoint[], options: ScatterOptions = {}): string {
  const width = options.width ?? 760;
  const height = options.height ?? 460;
  const m = { left: 70, right: 30, top: options.title === undefined ? 20 : 44, bottom: 56 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const xLabel = options.xLabel ?? 'p50 latency (ms, log scale)';
  const yLabel = options.yLabel ?? 'nDCG@10';
  const usable = points.filter((p) => p.x > 0 && Number.isFinite(p.x) && Number.isFinite(p.y));

  const xs = usable.map((p) => p.x);
  const ys = usable.map((p) => p.y);
  const [xLo, xHi] = logRange(xs.length > 0 ? Math.min(...xs) : 1, xs.length > 0 ? Math.max(...xs) : 10);
  // Pad the data range before rounding it to ticks, so that the best and worst points sit inside
  // the frame rather than on it (the log x axis gets its margin in logRange).
  const yMin = ys.length > 0 ? Math.min(...ys) : 0;
  const yMax = ys.length > 0 ? Math.max(...ys) : 1;
  const yPad = Math.max(yMax - yMin, 0.02) * Y_MARGIN;
  const y = linearTicks(yMin - yPad, yMax + yPad);

  const sx = (v: number): number => m.left + (Math.log10(v / xLo) / Math.log10(xHi / xLo)) * plotW;
  const sy = (v: number): number => m.top + plotH - ((v - y.lo) / (y.hi - y.lo)) * plotH;
  const f = (v: number): string => v.toFixed(1);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif" font-size="12" role="img" aria-label="${escapeXml(yLabel)} against ${escapeXml(xLabel)}">`,
  );
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  if (options.title !== undefined) {
    out.push(`<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="600">${escapeXml(options.title)}</text>`);
  }
  // Grid and ticks.
  out.push('<g stroke="#e5e5e5" stroke-width="1">');
  for (const t of logTicks(xLo, xHi)) out.push(`<line x1="${f(sx(t))}" y1="${m.top}" x2="${f(sx(t))}" y2="${m.top + plotH}"/>`);
  for (const t of y.ticks) out.push(`<line x1="${m.left}" y1="${f(sy(t))}" x2="${m.left + plotW}" y2="${f(sy(t))}"/>`);
  out.push('</g>');
  out.push(`<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333" stroke-width="1"/>`);
  out.push('<g fill="#333">');
  for (const t of logTicks(xLo, xHi)) {
    out.push(`<line x1="${f(sx(t))}" y1="${m.top + plotH}" x2="${f(sx(t))}" y2="${m.top + plotH + 5}" stroke="#333"/>`);
    out.push(`<text x="${f(sx(t))}" y="${m.top + plotH + 19}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  for (const t of y.ticks) {
    out.push(`<line x1="${m.left - 5}" y1="${f(sy(t))}" x2="${m.left}" y2="${f(sy(t))}" stroke="#333"/>`);
    out.push(`<text x="${m.left - 8}" y="${f(sy(t) + 4)}" text-anchor="end">${t.toFixed(y.ticks.some((v) => Math.round(v * 100) !== v * 100) ? 3 : 2)}</text>`);
  }
  out.push('</g>');
  out.push(`<text x="${m.left + plotW / 2}" y="${height - 12}" text-anchor="middle" font-size="13">${escapeXml(xLabel)}</text>`);
  out.push(
    `<text x="18" y="${m.top + plotH / 2}" text-anchor="middle" font-size="13" transform="rotate(-90 18 ${m.top + plotH / 2})">${escapeXml(yLabel)}</text>`,
  );
  if (usable.length === 0) {
    out.push(`<text x="${m.left + plotW / 2}" y="${m.top + plotH / 2}" text-anchor="middle" fill="#777">no latency data</text>`);
  }
  // Points, then labels nudged apart vertically so that neighbours do not overlap.
  const placed = usable.map((p, i) => ({ p, i, cx: sx(p.x), cy: sy(p.y), ly: sy(p.y) + 4 }));
  const byY = [...placed].sort((a, b) => a.cy - b.cy);
  for (let k = 1; k < byY.length; k++) {
    const prev = byY[k - 1]!;
    const cur = byY[k]!;
    if (Math.abs(cur.cx - prev.cx) < 160 && cur.ly - prev.ly < 14) cur.ly = prev.ly + 14;
  }
  for (const { p, i, cx, cy, ly } of placed) {
    const color = PALETTE[i % PALETTE.length]!;
    const shape = p.highlight === true
      ? `<rect x="${f(cx - 5)}" y="${f(cy - 5)}" width="10" height="10" fill="${color}" stroke="#222" stroke-width="1"/>`
      : `<circle cx="${f(cx)}" cy="${f(cy)}" r="5.5" fill="${color}" stroke="#222" stroke-width="1"/>`;
    const right = cx < m.left + plotW - 150;
    const tx = right ? cx + 9 : cx - 9;
    const tip = `${p.label}: ${yLabel} ${p.y.toFixed(3)}, ${p.x.toPrecision(3)} ms`;
    out.push(`<g><title>${escapeXml(tip)}</title>${shape}`);
    if (Math.abs(ly - (cy + 4)) > 0.5) out.push(`<line x1="${f(cx)}" y1="${f(cy)}" x2="${f(tx)}" y2="${f(ly - 4)}" stroke="#999" stroke-width="0.8"/>`);
    out.push(`<text x="${f(tx)}" y="${f(ly)}" text-anchor="${right ? 'start' : 'end'}" fill="#222">${escapeXml(p.label)}</text></g>`);
  }
  out.push('</svg>');
  return out.join('\n');
}
