// linechart.js: one metric as a line chart (value by step) in inline SVG, no library.
//
// Why not a charting library: one series per chart, axes, a hover read-out and per-pixel
// decimation is all the page needs; this file is ~200 lines, where the smallest well-kept
// library (uPlot) would add ~50 KB to every dsx binary and an npm dependency to vet and pin.
// SVG is also what the page's CSP allows without 'unsafe-inline' (attributes, no inline styles).
//
// Points are [step, value] in log order. When the step goes down (a new run started over at
// step 0) a new segment starts; older segments are drawn fainter. At most ~2 points per pixel
// column are drawn (min and max of the column), so 10,000 points cost what 600 do.

import { fmtNum } from "/ui/progress.js";

const NS = "http://www.w3.org/2000/svg";
const kHeight = 150;
const kPad = { left: 46, right: 10, top: 10, bottom: 20 };

function svg(tag, attrs = {}, parent) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (parent) parent.append(e);
  return e;
}

// About `count` round tick values (1, 2, 5 x 10^k) covering [lo, hi].
export function niceTicks(lo, hi, count = 4) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) || 10 * mag;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

// Splits points into segments at every step that goes down.
function segments(points) {
  const out = [];
  let cur = [];
  for (const p of points) {
    if (cur.length && p[0] < cur[cur.length - 1][0]) { out.push(cur); cur = []; }
    cur.push(p);
  }
  if (cur.length) out.push(cur);
  return out;
}

// The path of one segment: per pixel column its first, min, max and last point, in order.
function pathOf(seg, x, y) {
  let d = "";
  let col = null;
  let bucket = [];
  const flush = () => {
    if (!bucket.length) return;
    let lo = 0;
    let hi = 0;
    bucket.forEach((p, k) => { if (p[1] < bucket[lo][1]) lo = k; if (p[1] > bucket[hi][1]) hi = k; });
    const pick = [...new Set([0, lo, hi, bucket.length - 1].sort((a, b) => a - b))].map((k) => bucket[k]);
    for (const p of pick) d += (d ? "L" : "M") + x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1);
    bucket = [];
  };
  for (const p of seg) {
    const c = Math.round(x(p[0]));
    if (c !== col) { flush(); col = c; }
    bucket.push(p);
  }
  flush();
  return d;
}

export class LineChart {
  constructor(name) {
    this.name = name;
    this.points = [];
    this.el = document.createElement("figure");
    this.el.className = "chart";
    this.el.dataset.metric = name;
    const cap = document.createElement("figcaption");
    this.title = document.createElement("span");
    this.title.className = "chart-name";
    this.title.textContent = name;
    this.readout = document.createElement("span");
    this.readout.className = "chart-value";
    cap.append(this.title, this.readout);
    this.svg = svg("svg", { height: kHeight, role: "img" });
    this.svg.setAttribute("aria-label", `${name} by step`);
    this.el.append(cap, this.svg);
    this.hover = null;
    this.svg.addEventListener("pointermove", (e) => this._hover(e));
    this.svg.addEventListener("pointerleave", () => { this.hover = null; this._readout(); this._cursor(); });
  }

  update(points) {
    this.points = points;
    this.draw();
  }

  draw() {
    // The SVG's CSS width (100% of the card): the viewBox matches it, so 1 unit is 1 pixel.
    const width = Math.max(120, Math.round(this.svg.getBoundingClientRect().width || 320));
    const s = this.svg;
    s.replaceChildren();
    s.setAttribute("viewBox", `0 0 ${width} ${kHeight}`);
    const pts = this.points;
    this.el.dataset.points = String(pts.length);
    if (!pts.length) return this._readout();
    let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
    for (const [a, b] of pts) { x0 = Math.min(x0, a); x1 = Math.max(x1, a); y0 = Math.min(y0, b); y1 = Math.max(y1, b); }
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    if (y1 === y0) { const d = Math.abs(y0) * 0.1 || 1; y0 -= d; y1 += d; }
    const pad = (y1 - y0) * 0.06;
    y0 -= pad; y1 += pad;
    const w = width - kPad.left - kPad.right;
    const h = kHeight - kPad.top - kPad.bottom;
    const x = (v) => kPad.left + ((v - x0) / (x1 - x0)) * w;
    const y = (v) => kPad.top + (1 - (v - y0) / (y1 - y0)) * h;
    this._scale = { x0, x1, w };

    const grid = svg("g", { class: "grid" }, s);
    for (const t of niceTicks(y0, y1, 4)) {
      svg("line", { x1: kPad.left, x2: width - kPad.right, y1: y(t).toFixed(1), y2: y(t).toFixed(1) }, grid);
      const label = svg("text", { x: kPad.left - 6, y: (y(t) + 4).toFixed(1), "text-anchor": "end" }, grid);
      label.textContent = fmtNum(t);
    }
    // Steps are usually whole numbers: then so are the step ticks.
    const wholeSteps = pts.every((p) => Number.isInteger(p[0]));
    const xt = niceTicks(x0, x1, Math.max(2, Math.floor(w / 70))).filter((t) => !wholeSteps || Number.isInteger(t));
    for (const t of xt) {
      const label = svg("text", { x: x(t).toFixed(1), y: kHeight - 4, "text-anchor": "middle" }, grid);
      label.textContent = fmtNum(t);
    }
    const segs = segments(pts);
    segs.forEach((seg, k) => {
      svg("path", { d: pathOf(seg, x, y), class: k === segs.length - 1 ? "line" : "line old" }, s);
    });
    const last = pts[pts.length - 1];
    svg("circle", { cx: x(last[0]).toFixed(1), cy: y(last[1]).toFixed(1), r: 3, class: "dot" }, s);
    this._cur = segs[segs.length - 1];
    this._xy = { x, y };
    this.cursor = svg("g", { class: "cursor" }, s);
    this._cursor();
    this._readout();
  }

  _hover(e) {
    if (!this._scale || !this._cur) return;
    const r = this.svg.getBoundingClientRect();
    const { x0, x1, w } = this._scale;
    const step = x0 + ((e.clientX - r.left - kPad.left) / w) * (x1 - x0);
    // Nearest point of the current segment by step (steps increase within a segment).
    const seg = this._cur;
    let lo = 0;
    let hi = seg.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (seg[mid][0] < step) lo = mid + 1; else hi = mid; }
    if (lo > 0 && Math.abs(seg[lo - 1][0] - step) < Math.abs(seg[lo][0] - step)) lo--;
    this.hover = seg[lo];
    this._readout();
    this._cursor();
  }

  _cursor() {
    if (!this.cursor) return;
    this.cursor.replaceChildren();
    if (!this.hover) return;
    const { x, y } = this._xy;
    svg("line", { x1: x(this.hover[0]).toFixed(1), x2: x(this.hover[0]).toFixed(1), y1: kPad.top, y2: kHeight - kPad.bottom }, this.cursor);
    svg("circle", { cx: x(this.hover[0]).toFixed(1), cy: y(this.hover[1]).toFixed(1), r: 3.5 }, this.cursor);
  }

  _readout() {
    const p = this.hover || this.points[this.points.length - 1];
    this.readout.textContent = p ? `${fmtNum(p[1])} at step ${fmtNum(p[0])}` : "";
  }
}
