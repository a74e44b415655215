// Plots: uPlot (canvas) with SI-prefixed axes, the theme's colours,
// a marker, a cursor readout and PNG/CSV export.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { expTicks, logTicks, plainTicks, siTicks } from "./si.js";

/** A CSS custom property of the page, e.g. css("--ch1"). */
export function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

const plots = new Set();
const TICKS = { si: siTicks, plain: plainTicks, exp: expTicks };

/** Rebuilds every plot in the theme's colours. */
export function restyleAll() {
  for (const p of plots) p.rebuild();
}

export class Plot {
  /**
   * @param {HTMLElement} el container; the plot fills it
   * @param {object} spec
   *   title: string (PNG export), x: {unit, log?, label}, y: {unit,
   *   ticks: "si" | "plain", label, range?: (min, max) => [lo, hi]},
   *   series: [{label, color: "--ch1", dash?: number[]}], sync?: key,
   *   onCursor?: (idx, plot) => void, marker?: () => {x, y, text} | null
   */
  constructor(el, spec) {
    this.el = el;
    this.spec = spec;
    /** Everything given to setData; the canvas shows an envelope of it. */
    this.full = [new Float64Array(0), ...spec.series.map(() => new Float64Array(0))];
    this.data = this.full;
    this.xRange = null;
    /** The x window the user zoomed into, or null for all. */
    this.view = null;
    this.build();
    plots.add(this);
    this._ro = new ResizeObserver(() => this.resize());
    this._ro.observe(el);
  }

  build() {
    const { spec } = this;
    const fg = css("--fg");
    const grid = css("--grid");
    const axis = (a, isX) => ({
      stroke: fg,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      font: "12px system-ui, sans-serif",
      labelFont: "12px system-ui, sans-serif",
      label: a.label,
      labelSize: 18,
      size: isX ? 40 : 70,
      values: (u, splits) => (a.log ? logTicks(splits, a.unit) : TICKS[a.ticks ?? "si"](splits, a.unit)),
      // uPlot labels decades only where space is short; logTicks labels 1, 2, 5.
      filter: a.log ? (u, splits) => splits : undefined,
      incrs: a.incrs,
    });
    const opts = {
      width: Math.max(200, this.el.clientWidth),
      height: Math.max(120, this.el.clientHeight),
      pxAlign: 0,
      legend: { show: false },
      cursor: {
        // Zoom is ours: the envelope is recomputed for the window.
        drag: { x: true, y: false, setScale: false },
        bind: {
          dblclick: () => () => {
            this.view = null;
            this.render();
            return null;
          },
        },
        sync: spec.sync ? { key: spec.sync, setSeries: false } : undefined,
        points: { size: 7 },
      },
      scales: {
        x: {
          time: false,
          distr: spec.x.log ? 3 : 1,
          log: spec.x.log ? 10 : undefined,
          range: (u, min, max) => this.view ?? this.xRange ?? (spec.x.log ? [min, max] : [min, max === min ? min + 1 : max]),
        },
        y: { range: (u, min, max) => yRange(spec.y, min, max) },
      },
      axes: [axis(spec.x, true), axis(spec.y, false)],
      series: [
        {},
        ...spec.series.map((s) => ({
          label: s.label,
          stroke: css(s.color),
          // 1 px: crisp, and cheaper to rasterize than 1.5 px (headless
          // Chromium, 5 interleaved pairs of 4 s at load 8: faster in 4,
          // 34 against 26 frames/s on average).
          width: 1,
          dash: s.dash,
          points: { show: s.points ?? false, size: 4, fill: css(s.color) },
          spanGaps: false,
        })),
      ],
      hooks: {
        setCursor: [(u) => spec.onCursor?.(this.fullIndex(u.cursor.idx), this)],
        setSelect: [(u) => this.zoom(u)],
        draw: [(u) => this.drawMarker(u)],
      },
    };
    this.u?.destroy();
    this.u = new uPlot(opts, this.data, this.el);
  }

  rebuild() {
    this.build();
  }

  resize() {
    const w = this.el.clientWidth;
    const h = this.el.clientHeight;
    if (w > 0 && h > 0 && (w !== this.u.width || h !== this.u.height)) {
      this.u.setSize({ width: w, height: h });
      this.render();
    }
  }

  /** data: [x ascending, y1, y2, ...] (typed arrays or arrays; null marks a gap). */
  setData(data, xRange = null) {
    this.full = data;
    this.xRange = xRange;
    this.render();
  }

  /**
   * Draws the window's samples, or when they outnumber the pixels 4 to 1,
   * each pixel column's first, last, min and max: the same picture
   * for a fraction of the canvas work (16384 points per channel at 25
   * frames/s).
   */
  render() {
    const [x] = this.full;
    const [lo, hi] = this.view ?? [x[0], x[x.length - 1]];
    const i0 = Math.max(0, lowerBound(x, lo) - 1);
    const i1 = Math.min(x.length, lowerBound(x, hi) + 1);
    const columns = Math.max(100, Math.round(this.u.bbox.width / devicePixelRatio) || this.el.clientWidth);
    this.data = i0 > 0 || i1 < x.length || i1 - i0 > 4 * columns ? envelope(this.full, i0, i1, columns) : this.full;
    // Scales by hand, not uPlot's reset: y stays steady (keepY) and x is
    // the zoom or the owner's range. setData(data, false) neither rescales
    // nor paints. Setting both scales
    // every time, changed or not, makes uPlot take the new data's index
    // window and paths and paint them: with a scale kept, the canvas kept
    // the last data (or, after a change of length, part of it) while the
    // page held the new. redraw() would re-range y by itself.
    const u = this.u;
    u.setData(this.data, false);
    let [xlo, xhi] = this.view ?? this.xRange ?? xExtent(this.data[0], this.spec.x.log);
    if (!Number.isFinite(xlo) || !Number.isFinite(xhi)) [xlo, xhi] = [u.scales.x.min, u.scales.x.max];
    const [dlo, dhi] = extent(this.data.slice(1));
    const y = this.spec.y;
    const fixed = y.fixed?.();
    let [ylo, yhi] = [u.scales.y.min, u.scales.y.max];
    if (fixed || !this.keepY(dlo, dhi)) [ylo, yhi] = fixed ?? (y.range ? y.range(dlo, dhi) : nice(yRange(y, dlo, dhi)));
    const ok = (a, b) => Number.isFinite(a) && Number.isFinite(b);
    u.batch(() => {
      if (ok(xlo, xhi)) u.setScale("x", { min: xlo, max: xhi });
      if (ok(ylo, yhi)) u.setScale("y", { min: ylo, max: yhi });
    });
    // A resting mouse: uPlot moves its cursor only when the mouse does, so
    // the readout and the cursor's points would keep the last data's values.
    if (u.cursor.left >= 0) u.setCursor({ left: u.cursor.left, top: u.cursor.top });
  }

  /**
   * Whether the y scale may stay as it is for data from dlo to dhi: it
   * holds them and they fill more than half of it. A steady axis reads
   * better than one that follows the noise, and a changed scale costs a
   * frame's worth of work in uPlot (11 spectra/s where a kept one draws 35).
   */
  keepY(dlo, dhi) {
    if (this.spec.y.range) return false; // the owner's rule decides
    const { min, max } = this.u.scales.y;
    if (!Number.isFinite(min) || !Number.isFinite(max) || !Number.isFinite(dlo)) return false;
    return dlo >= min && dhi <= max && (dhi - dlo) / (max - min) > 0.5;
  }

  /** A drag selected an x window: zoom into it. */
  zoom(u) {
    if (u.select.width < 3) return;
    const a = u.posToVal(u.select.left, "x");
    const b = u.posToVal(u.select.left + u.select.width, "x");
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.view = [Math.min(a, b), Math.max(a, b)];
    this.render();
  }

  /** The index into full of the drawn point idx (the nearest x). */
  fullIndex(idx) {
    if (idx === null || idx === undefined || this.data === this.full) return idx;
    const x = this.full[0];
    const v = this.data[0][idx];
    const i = lowerBound(x, v);
    return i > 0 && (i === x.length || v - x[i - 1] < x[i] - v) ? i - 1 : i;
  }

  drawMarker(u) {
    const m = this.spec.marker?.();
    if (!m || !Number.isFinite(m.x) || !Number.isFinite(m.y)) return;
    const ctx = u.ctx;
    const x = u.valToPos(m.x, "x", true);
    const y = u.valToPos(m.y, "y", true);
    const px = devicePixelRatio;
    ctx.save();
    ctx.strokeStyle = css("--marker");
    ctx.fillStyle = css("--marker");
    ctx.lineWidth = 1.5 * px;
    ctx.beginPath();
    ctx.arc(x, y, 5 * px, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.font = `${12 * px}px system-ui, sans-serif`;
    const w = ctx.measureText(m.text).width;
    const right = u.bbox.left + u.bbox.width;
    const tx = x + 10 * px + w > right ? x - 10 * px - w : x + 10 * px;
    const ty = Math.max(u.bbox.top + 14 * px, y - 6 * px);
    ctx.fillText(m.text, tx, ty);
    ctx.restore();
  }

  /** The plot as a canvas on the theme's background, with its title. */
  canvas() {
    const src = this.u.ctx.canvas;
    const head = 28 * devicePixelRatio;
    const c = document.createElement("canvas");
    c.width = src.width;
    c.height = src.height + head;
    const ctx = c.getContext("2d");
    ctx.fillStyle = css("--plot-bg");
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.fillStyle = css("--fg");
    ctx.font = `${13 * devicePixelRatio}px system-ui, sans-serif`;
    ctx.fillText(this.spec.title(), 10 * devicePixelRatio, 19 * devicePixelRatio);
    let x = c.width - 10 * devicePixelRatio;
    for (const s of [...this.spec.series].reverse()) {
      const w = ctx.measureText(s.label).width;
      x -= w;
      ctx.fillStyle = css(s.color);
      ctx.fillText(s.label, x, 19 * devicePixelRatio);
      x -= 16 * devicePixelRatio;
    }
    ctx.drawImage(src, 0, head);
    return c;
  }

  destroy() {
    this._ro.disconnect();
    this.u.destroy();
    plots.delete(this);
  }
}

/** The first index with x[i] >= v (x ascending). */
function lowerBound(x, v) {
  let lo = 0;
  let hi = x.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * full[*][i0..i1) reduced per pixel column to its first and last
 * sample and each series' min and max, in order, so that lines drawn
 * through them cover what all samples would. NaN and null stay gaps.
 */
function envelope(full, i0, i1, columns) {
  const n = i1 - i0;
  if (n <= 4 * columns) return full.map((a, s) => (s === 0 ? a.slice(i0, i1) : withGaps(a.slice(i0, i1))));
  const ns = full.length;
  const most = columns * (2 + 2 * (ns - 1));
  const out = full.map(() => new Float64Array(most));
  const picks = new Int32Array(2 + 2 * (ns - 1));
  const per = n / columns;
  let k = 0;
  let gaps = false;
  for (let c = 0; c < columns; c++) {
    const a = i0 + Math.floor(c * per);
    const b = Math.min(i1, i0 + Math.floor((c + 1) * per));
    if (b <= a) continue;
    // Indices of each series' min and max in the column, merged in order.
    let np = 0;
    picks[np++] = a;
    picks[np++] = b - 1;
    for (let s = 1; s < ns; s++) {
      const y = full[s];
      let lo = -1;
      let hi = -1;
      for (let i = a; i < b; i++) {
        const v = y[i];
        if (v === null || v !== v) continue;
        if (lo < 0 || v < y[lo]) lo = i;
        if (hi < 0 || v > y[hi]) hi = i;
      }
      if (lo >= 0) {
        picks[np++] = lo;
        picks[np++] = hi;
      }
    }
    const sorted = picks.subarray(0, np).sort();
    for (let p = 0; p < np; p++) {
      const i = sorted[p];
      if (p > 0 && i === sorted[p - 1]) continue;
      for (let s = 0; s < ns; s++) {
        const v = full[s][i];
        out[s][k] = v ?? NaN;
        if (s > 0 && v !== v) gaps = true;
      }
      k++;
    }
  }
  return out.map((a, s) => (s > 0 && gaps ? withGaps(a.subarray(0, k)) : a.subarray(0, k)));
}

/** The smallest and largest finite value of the series. */
function extent(series) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const y of series) {
    for (let i = 0; i < y.length; i++) {
      const v = y[i];
      if (v === null || v !== v) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return [lo, hi];
}

function xExtent(x, log) {
  if (x.length === 0) return [NaN, NaN];
  const lo = x[0];
  const hi = x[x.length - 1];
  if (hi > lo) return [lo, hi];
  return log ? [lo / 2, lo * 2] : [lo - 0.5, lo + 0.5];
}

/** [lo, hi] widened to multiples of a 1, 2 or 5 step of about a tenth of it. */
function nice([lo, hi]) {
  if (!(hi > lo)) return [lo, hi];
  const raw = (hi - lo) / 10;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((st) => st >= raw);
  return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
}

/** uPlot draws gaps at null; rolling traces mark unwritten samples NaN. */
function withGaps(a) {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== a[i]) return Array.from(a, (v) => (v !== v ? null : v));
  }
  return a;
}

/** The data's range padded by 5%, and at least y.minSpan wide. */
function yRange(y, min, max) {
  if (y.fixed?.()) return y.fixed();
  if (y.range) return y.range(min, max);
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [-1, 1];
  const span = Math.max(max - min, y.minSpan ?? 0, Math.abs(min) * 1e-3, 1e-12);
  const mid = (max + min) / 2;
  return [mid - span * 0.55, mid + span * 0.55];
}

/** Stacks canvases (each Plot's canvas()) into one PNG and downloads it. */
export function downloadPNG(name, canvases) {
  const w = Math.max(...canvases.map((c) => c.width));
  const h = canvases.reduce((s, c) => s + c.height, 0);
  const out = document.createElement("canvas");
  out.width = w;
  out.height = h;
  const ctx = out.getContext("2d");
  let y = 0;
  for (const c of canvases) {
    ctx.drawImage(c, 0, y);
    y += c.height;
  }
  out.toBlob((blob) => download(name, blob), "image/png");
}

/** Downloads columns {name: array} as CSV, one row per index. */
export function downloadCSV(name, columns, comments = []) {
  const names = Object.keys(columns);
  const n = Math.max(...names.map((k) => columns[k]?.length ?? 0));
  const rows = comments.map((c) => `# ${c}`);
  rows.push(names.join(","));
  for (let i = 0; i < n; i++) rows.push(names.map((k) => fmtCSV(columns[k]?.[i])).join(","));
  download(name, new Blob([rows.join("\n") + "\n"], { type: "text/csv" }));
}

function fmtCSV(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "";
  return typeof v === "number" ? String(v) : JSON.stringify(v);
}

function download(name, blob) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
