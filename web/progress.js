// progress.js: rate and ETA of a progress key, and the number/time formats the page uses.
// Pure functions (no DOM, no clock): the times are the events' `ts` (server milliseconds), so
// every viewer computes the same rate, and the tests feed made-up samples.

const kWindowMs = 60000;   // the rate is measured over the last minute of samples...
const kMinSamples = 2;     // ...and needs two samples at least this far apart:
const kMinSpanMs = 200;

// Adds the sample [ts, done] of a progress event to `samples` (oldest first) and returns the
// new list. A restart (done going down, or another total) starts a new list: the old rate says
// nothing about the new work.
export function addSample(samples, ts, done, total, prevTotal) {
  const last = samples[samples.length - 1];
  if (!last || done < last[1] || total !== prevTotal) return [[ts, done]];
  if (ts === last[0]) return [...samples.slice(0, -1), [ts, done]];
  const keep = samples.filter(([t]) => ts - t <= kWindowMs);
  if (keep.length >= 64) keep.splice(1, keep.length - 63);  // keep the oldest and the newest 62
  return [...keep, [ts, done]];
}

// {rate (units per second) | null, etaMs | null} from the samples; `startTs` (the run's start)
// stands in as a [startTs, 0] sample when only one sample is known (a late joiner sees one).
export function progressStats(samples, total, startTs) {
  let pts = samples;
  if (pts.length === 1 && typeof startTs === "number" && startTs < pts[0][0] && pts[0][1] > 0) pts = [[startTs, 0], pts[0]];
  if (pts.length < kMinSamples) return { rate: null, etaMs: null };
  const [t0, d0] = pts[0];
  const [t1, d1] = pts[pts.length - 1];
  if (t1 - t0 < kMinSpanMs || d1 <= d0) return { rate: null, etaMs: null };
  const rate = ((d1 - d0) * 1000) / (t1 - t0);
  const etaMs = typeof total === "number" && total > d1 ? ((total - d1) / rate) * 1000 : null;
  return { rate, etaMs };
}

// 3 significant digits, SI suffixes from 10k up: 0.482, 12.5, 1234, 12.3k, 4.5M; 1.2e-5.
export function fmtNum(v) {
  if (typeof v !== "number" || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a < 1e-3) return v.toExponential(1);
  if (a < 1e4) return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(a < 1 ? 3 : 4)));
  for (const [s, d] of [["T", 1e12], ["G", 1e9], ["M", 1e6], ["k", 1e3]]) {
    if (a >= d) return String(Number((v / d).toPrecision(3))) + s;
  }
  return String(v);
}

// A duration: "45 s", "3 min 20 s", "2 h 5 min".
export function fmtDuration(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) return "";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  return `${Math.round(h / 24)} days`;
}

// "12.5 files/s", or per minute when slow ("3.2 steps/min").
export function fmtRate(rate, unit) {
  if (typeof rate !== "number" || !(rate > 0)) return "";
  const u = unit || "items";
  const r3 = (v) => (v >= 1000 ? fmtNum(Math.round(v)) : String(Number(v.toPrecision(3))));
  return rate >= 1 ? `${r3(rate)} ${u}/s` : `${r3(rate * 60)} ${u}/min`;
}
