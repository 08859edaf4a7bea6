// board.js: the session's progress bars, metric charts and tables (docs/web-ui.md), drawn from
// the client's model (dsx-session.js folds the events and the view's fields). Hidden until the
// session has any. Every string from the stream goes in with textContent.
//
// Redraws are throttled (progress 100 ms, a chart or table 250 ms) so a job posting hundreds
// of points a second costs a few redraws a second. Rate and ETA come from the events' `ts`
// (progress.js); the ETA counts down between events on a one-second tick.

import { LineChart } from "/ui/linechart.js";
import { addSample, fmtDuration, fmtNum, fmtRate, progressStats } from "/ui/progress.js";
import { fmtTime } from "/ui/labels.js";

const kProgressMs = 100;
const kChartMs = 250;
// The protocol bounds each event, not how many keys and names a session uses: past these the
// board says how many it does not draw, so a runaway job cannot stall the tab.
const kMaxBars = 50;
const kMaxCharts = 24;
const kMaxTables = 20;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export class Board {
  // `labels`: the log's Labels (run numbers, run start times).
  constructor(root, client, labels) {
    this.root = root;
    this.client = client;
    this.labels = labels;
    this.samples = new Map();   // progress key -> [[ts, done], ...]
    this.seen = new Map();      // progress key -> the last entry sampled (no double samples)
    this.seenAt = new Map();    // progress key -> performance.now() when that entry arrived
    this.charts = new Map();    // metric name -> LineChart
    this.timers = new Map();    // what -> timeout (throttle)
    this.progressBox = el("div", "progress-list");
    this.chartBox = el("div", "charts");
    this.tableBox = el("div", "tables");
    this.note = el("div", "board-note");
    this.hidden = { bars: 0, charts: new Set(), tables: 0 };
    root.replaceChildren(this.progressBox, this.chartBox, this.tableBox, this.note);
    this.tick = setInterval(() => this._tickEta(), 1000);
    if (typeof ResizeObserver === "function") {
      new ResizeObserver(() => this._later("charts-all", kChartMs, () => { for (const c of this.charts.values()) c.draw(); })).observe(this.chartBox);
    }
  }

  // A "board" event from the client: {kind: "reset"|"progress"|"metric"|"table", key}.
  onChange({ kind, key }) {
    if (kind === "reset") {
      this.samples.clear();
      this.seen.clear();
      this.seenAt.clear();
      for (const t of this.timers.values()) clearTimeout(t);
      this.timers.clear();
      this.charts.clear();
      this.hidden.charts.clear();
      this.chartBox.replaceChildren();
      this._sampleAll();
      this.drawProgress();
      for (const name of this.client.metrics.keys()) this.drawChart(name);
      this.drawTables();
    } else if (kind === "progress") {
      this._sampleAll();
      this._later("progress", kProgressMs, () => this.drawProgress());
    } else if (kind === "metric") {
      this._later("metric:" + key, kChartMs, () => this.drawChart(key));
    } else if (kind === "table") {
      this._later("tables", kChartMs, () => this.drawTables());
    }
    this._visible();
  }

  // Runs started or ended: bars of an ended run stop showing a rate.
  onRuns() { this._later("progress", kProgressMs, () => this.drawProgress()); }

  _later(what, ms, fn) {
    if (this.timers.has(what)) return;
    this.timers.set(what, setTimeout(() => { this.timers.delete(what); fn(); this._visible(); }, ms));
  }

  _visible() {
    const h = this.hidden;
    const parts = [h.bars && `${h.bars} progress bars`, h.charts.size && `${h.charts.size} charts`, h.tables && `${h.tables} tables`].filter(Boolean);
    this.note.textContent = parts.length ? `Not shown: ${parts.join(", ")} (this page draws at most ${kMaxBars} bars, ${kMaxCharts} charts and ${kMaxTables} tables).` : "";
    const c = this.client;
    const any = c.progress.size + c.metrics.size + c.tables.size > 0;
    this.root.hidden = !any;
    document.body.classList.toggle("has-board", any);
  }

  _sampleAll() {
    for (const [key, p] of this.client.progress) {
      if (this.seen.get(key) === p) continue;
      const old = this.seen.get(key);
      this.seen.set(key, p);
      this.seenAt.set(key, performance.now());
      if (!Number.isFinite(p.ts)) continue;
      this.samples.set(key, addSample(this.samples.get(key) || [], p.ts, p.done, p.total, old ? old.total : p.total));
    }
  }

  // ---- progress ----

  drawProgress() {
    const rows = [];
    for (const [key, p] of this.client.progress) if (rows.length < kMaxBars) rows.push(this._progressRow(key, p));
    this.hidden.bars = this.client.progress.size - rows.length;
    this.progressBox.replaceChildren(...rows);
  }

  _progressRow(key, p) {
    const row = el("div", "progress");
    row.dataset.key = key;
    const active = !p.run || this.client.runs.has(p.run);
    const finished = p.total !== null && p.done >= p.total;
    row.dataset.state = finished ? "done" : active ? "active" : "stopped";
    const head = el("div", "progress-head");
    head.append(el("span", "progress-label", p.label || key || "Progress"));
    const count = p.total !== null ? `${fmtNum(p.done)} / ${fmtNum(p.total)}` : fmtNum(p.done);
    head.append(el("span", "progress-count", count + (p.unit ? " " + p.unit : "")));
    const bar = el("div", "bar");
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-label", p.label || key || "progress");
    const fill = el("div", "fill");
    if (p.total !== null) {
      const pct = Math.max(0, Math.min(100, (p.done / p.total) * 100));
      fill.style.width = pct.toFixed(1) + "%";  // CSSOM: allowed by the CSP (no inline style attribute)
      bar.setAttribute("aria-valuemin", "0");
      bar.setAttribute("aria-valuemax", String(p.total));
      bar.setAttribute("aria-valuenow", String(p.done));
    } else {
      bar.classList.add("indeterminate");
    }
    bar.append(fill);
    const stats = progressStats(this.samples.get(key) || [], p.total, p.run ? this.labels.runStart(p.run) : undefined);
    const meta = el("div", "progress-meta");
    const bits = [];
    if (p.total !== null) bits.push(`${Math.floor((p.done / p.total) * 100)}%`);
    if (finished) bits.push("done");
    else if (!active) bits.push("stopped");
    else {
      const rate = fmtRate(stats.rate, p.unit);
      if (rate) bits.push(rate);
      if (stats.etaMs !== null) {
        // Counted from when this entry arrived, so a redraw for another reason does not restart it.
        row._seenAt = this.seenAt.get(key) || performance.now();
        row._etaAt = row._seenAt + stats.etaMs;
        bits.push("");  // filled by _etaText
      }
    }
    const left = el("span", "progress-stats", bits.filter(Boolean).join(" · "));
    meta.append(left);
    if (row._etaAt) {
      const eta = el("span", "progress-eta");
      row._eta = eta;
      this._etaText(row);
      meta.append(eta);
    }
    const when = [p.run ? this.labels.run(p.run) : "", Number.isFinite(p.ts) ? `updated ${fmtTime(p.ts)}` : ""].filter(Boolean).join(" · ");
    meta.append(el("span", "progress-when", when));
    row.title = [key && `key ${key}`, p.run && `run ${p.run}`].filter(Boolean).join(" · ");
    row.append(head, bar, meta);
    return row;
  }

  // Counts down between events; past the ETA by more than 10 s (the job went quiet: stalled,
  // or a slower phase) it says how long since the last update instead of "almost done".
  _etaText(row) {
    const now = performance.now();
    const left = row._etaAt - now;
    if (left > 1000) row._eta.textContent = `about ${fmtDuration(left)} left`;
    else if (left > -10000) row._eta.textContent = "almost done";
    else row._eta.textContent = `no update for ${fmtDuration(now - row._seenAt)}`;
  }

  _tickEta() {
    for (const row of this.progressBox.children) if (row._eta) this._etaText(row);
  }

  // ---- charts ----

  drawChart(name) {
    const pts = this.client.metrics.get(name);
    if (!pts) return;
    let c = this.charts.get(name);
    if (!c && this.charts.size >= kMaxCharts) { this.hidden.charts.add(name); return; }
    if (!c) {
      c = new LineChart(name);
      this.charts.set(name, c);
      // Sorted by name, so "loss" and "loss/val" sit together and the order is stable.
      const after = [...this.charts.keys()].sort().find((n) => n > name && this.charts.get(n).el.isConnected);
      this.chartBox.insertBefore(c.el, after ? this.charts.get(after).el : null);
    }
    c.update(pts);
  }

  // ---- tables ----

  drawTables() {
    const cards = [];
    for (const [key, t] of this.client.tables) if (cards.length < kMaxTables) cards.push(this._table(key, t));
    this.hidden.tables = this.client.tables.size - cards.length;
    this.tableBox.replaceChildren(...cards);
  }

  _table(key, t) {
    const card = el("section", "table-card");
    card.dataset.key = key;
    const head = el("div", "table-head");
    head.append(el("span", "table-title", t.title || key || "Results"));
    const when = [t.run ? this.labels.run(t.run) : "", `${t.rows.length} row${t.rows.length === 1 ? "" : "s"}`,
      Number.isFinite(t.ts) ? `updated ${fmtTime(t.ts)}` : ""].filter(Boolean).join(" · ");
    head.append(el("span", "table-meta", when));
    const scroll = el("div", "table-scroll");
    const table = el("table");
    const numeric = t.columns.map((_, k) => t.rows.length > 0 && t.rows.every((r) => r[k] === null || typeof r[k] === "number"));
    const tr = el("tr");
    t.columns.forEach((c, k) => tr.append(el("th", numeric[k] ? "num" : "", c)));
    const thead = el("thead");
    thead.append(tr);
    const tbody = el("tbody");
    for (const r of t.rows) {
      const row = el("tr");
      r.forEach((v, k) => {
        const td = el("td", numeric[k] ? "num" : "", v === null ? "—" : typeof v === "number" ? fmtCell(v) : String(v));
        if (v === null) td.classList.add("null");
        row.append(td);
      });
      tbody.append(row);
    }
    table.append(thead, tbody);
    scroll.append(table);
    card.append(head, scroll);
    card.title = key ? `table key ${key}` : "";
    return card;
  }
}

// Numbers in tables keep their precision up to 6 significant digits (a score of 0.912345 is
// what the job reported, not 0.912).
function fmtCell(v) {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}
