// dsx-session.js: the browser client for dsx live sessions (docs/protocol/sessions.md).
// One ES module, no dependencies; import it straight from a dsx server:
//
//   import { DsxSession } from "/ui/dsx-session.js";
//   const s = new DsxSession({ session: "chat/42", token });   // token: a JWT, or omit on an open server
//   s.addEventListener("change", (e) => render(s.items, e.detail));
//   s.connect();
//   await s.cancel();            // every active run; resolves with the server's answer
//   await s.steer("shorter please");
//
// What it does:
// - Connects over WebSocket (/v1/session/<id>/ws); when WebSocket cannot be opened at all it
//   falls back to SSE (GET .../events?live=sse) plus POST .../events for writes.
// - Joins compacted (one snapshot: finished messages whole, in-flight ones as text so far),
//   then folds live events into `items`, the same shape the server's compacted view has.
// - Resumes after any drop (network loss, sleep, server restart) from the offset of the last
//   event it folded in: nothing is repeated or missing (an event at or before that offset is
//   ignored). The state (offset + items) is kept in sessionStorage per session, so a reload
//   continues from the same offset without a new snapshot.
// - Tracks presence (who is connected, agent states) and announces this device.
// - Closing or losing a connection never cancels anything: only cancel() does.
//
// - Folds progress, metric and table events (docs/protocol/sessions.md, "Progress, metrics and
//   tables") into `progress` (latest per key), `metrics` (points per name) and `tables`
//   (latest per key), from the compacted view's fields at join and from live events after.
//   They are not items: a chart's 10,000 points do not belong in the message list.
//
// Events (EventTarget): "change" {detail: {kind:"reset"|"add"|"update", item?}},
// "board" {detail: {kind:"reset"|"progress"|"metric"|"table", key?}},
// "state" {detail: "connecting"|"waiting"|"open"|"reconnecting"|"offline"|"closed"|"denied"}
// ("waiting": the session does not exist yet; the client keeps asking every 2 s or less),
// "presence" {detail: members[]}, "error" {detail: {status, error}}.

const kStoragePrefix = "dsx-session:";
const kMaxStoredBytes = 2 * 1024 * 1024;   // state larger than this is not cached (join compacted)
const kPingMs = 15000;                      // app-level ping: detects dead sockets after sleep
const kPongTimeoutMs = 10000;
const kWaitingMaxMs = 2000;                 // poll for a session that does not exist yet this often
const kMaxPoints = 10000;                   // per metric name, as the server's view keeps
const kBoardTypes = new Set(["progress", "metric", "table"]);

// A session id as the server accepts it: '/'-separated segments, none empty, '.' or '..', no
// control characters. URLs are built from the id's segments, and a '..' segment would be
// resolved away by URL parsing (/v1/session/x/../b is /v1/session/b): refuse it instead.
export function validSessionId(id) {
  if (typeof id !== "string" || id === "" || id.length > 1024) return false;
  return id.split("/").every((seg) => seg !== "" && seg !== "." && seg !== ".." && !/[\x00-\x1f\x7f]/.test(seg));
}

export class DsxSession extends EventTarget {
  // options: session (id, required), token, server (base URL, default this page's origin),
  // device (presence name), transport ("auto"|"ws"|"sse"), lanes ([..]), storage (a Storage,
  // default sessionStorage; null: keep nothing), resume (default true: use the stored state).
  constructor(options) {
    super();
    if (!options || !options.session) throw new Error("DsxSession: 'session' is required");
    if (!validSessionId(options.session)) throw new Error(`DsxSession: invalid session id '${options.session}'`);
    this.session = options.session;
    this.token = options.token || "";
    this.server = (options.server || location.origin).replace(/\/+$/, "");
    this.device = options.device || "browser";
    this.transport = options.transport || "auto";
    this.lanes = options.lanes || null;
    this.storage = options.storage === undefined ? safeSessionStorage() : options.storage;
    this.items = [];          // compacted view: msg items folded, other events as they are
    this.runs = new Map();    // active runs: run id -> {run, lane, owner, ...}
    this.members = [];        // presence
    this.progress = new Map();  // key -> {key, label, done, total, unit, run, ts}
    this.metrics = new Map();   // name -> [[step, value], ...] in log order
    this.tables = new Map();    // key -> {key, title, columns, rows, run, ts}
    this.offset = null;       // offset of the last event folded in (null: nothing yet)
    this.state = "closed";
    this.sub = "";            // principal, from the server's hello
    this._msgIndex = new Map();
    this._pending = new Map();
    this._req = 0;
    this._attempt = 0;
    this._wsFailures = 0;
    this._useSse = this.transport === "sse";
    this._closed = true;
    this._saveTimer = null;
    if (options.resume !== false) this._restore();
  }

  // Opens the connection (and keeps it open until close()).
  connect() {
    if (!this._closed) return;
    this._closed = false;
    this._onOnline = () => this._kick("online");
    this._onOffline = () => this._setState("offline");
    this._onVisible = () => { if (document.visibilityState === "visible") this._probe(); };
    this._onHide = () => this._save(true);
    addEventListener("online", this._onOnline);
    addEventListener("offline", this._onOffline);
    addEventListener("pagehide", this._onHide);
    document.addEventListener("visibilitychange", this._onVisible);
    this._open();
  }

  // Closes the connection (this never cancels a run).
  close() {
    this._closed = true;
    removeEventListener("online", this._onOnline);
    removeEventListener("offline", this._onOffline);
    removeEventListener("pagehide", this._onHide);
    document.removeEventListener("visibilitychange", this._onVisible);
    clearTimeout(this._retryTimer);
    this._teardown();
    this._save(true);
    this._setState("closed");
  }

  // Appends one draft ({type, run, msg, data, ...}); resolves {status, result|error}.
  append(draft) {
    if (this._ws && this._ws.readyState === WebSocket.OPEN) {
      const req = "r" + ++this._req;
      return new Promise((resolve) => {
        this._pending.set(req, resolve);
        this._ws.send(JSON.stringify({ op: "append", req, event: draft }));
      });
    }
    return this._post(draft);
  }

  // Cancels `run`, or every active run when omitted. Resolves with the answers (one per run).
  async cancel(run, reason = "stop pressed") {
    const runs = run ? [run] : [...this.runs.keys()];
    if (runs.length === 0) return [{ status: 409, error: "no active run to stop" }];
    return Promise.all(runs.map((r) => this.append({ type: "control.cancel", run: r, data: { reason } })));
  }

  // Sends steering text (or {json}) to `run`, default: the most recent active run.
  async steer(text, run) {
    run = run || [...this.runs.keys()].pop();
    if (!run) return { status: 409, error: "no active run to steer" };
    const data = typeof text === "string" ? { text } : { json: text };
    return this.append({ type: "control.steer", run, data });
  }

  // Text of the message `msg` so far ("" when unknown).
  text(msg) {
    const i = this._msgIndex.get(msg);
    return i === undefined ? "" : this.items[i].data.text;
  }

  // Forgets the stored state of this session (the next connect joins compacted).
  forget() {
    if (this.storage) this.storage.removeItem(this._key());
  }

  // ---- connection ----

  _url(path, params) {
    // Segments of a validated id (constructor): none is '.' or '..', so URL parsing keeps them.
    const id = this.session.split("/").map(encodeURIComponent).join("/");
    const u = new URL(`${this.server}/v1/session/${id}${path}`);
    for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null) u.searchParams.set(k, v);
    if (this.token && params && params.access_token !== false) u.searchParams.set("access_token", this.token);
    if (params && params.access_token === false) u.searchParams.delete("access_token");
    return u;
  }

  _headers() {
    const h = { "Content-Type": "application/json" };
    if (this.token) h.Authorization = "Bearer " + this.token;
    return h;
  }

  async _open() {
    if (this._closed || this._opening) return;
    this._opening = true;
    try {
      await this._openOnce();
    } finally {
      this._opening = false;
    }
  }

  async _openOnce() {
    // While waiting for the session to appear, every poll would flip the state: keep "waiting".
    if (this.state !== "waiting") this._setState(this._attempt === 0 ? "connecting" : "reconnecting");
    // One plain request first: it tells auth failures (401/403) and a missing session (404)
    // apart from network trouble, which a failed WebSocket upgrade cannot.
    let info;
    try {
      const r = await fetch(this._url("", { access_token: false }), { headers: this._headers(), cache: "no-store" });
      const body = await r.json().catch(() => ({}));
      if (r.status === 401 || r.status === 403) {
        this._emit("error", { status: r.status, error: body.error || r.statusText });
        this._setState("denied");
        return this._retry(30000);
      }
      if (r.status === 404) {
        this._emit("error", { status: 404, error: `no session '${this.session}' yet` });
        this._setState("waiting");
        return this._retry();
      }
      if (!r.ok) throw new Error(body.error || r.statusText);
      info = body;
    } catch (e) {
      return this._retry();
    }
    if (this._closed) return;
    this._setMembers(info.presence || []);
    if (this._useSse) this._openSse(); else this._openWs();
  }

  _subscribeParams() {
    // Compacted join when nothing is folded in yet; else resume right after the last event.
    return this.offset === null ? { offset: "-1", mode: "compacted" } : { offset: this.offset };
  }

  _openWs() {
    const u = this._url("/ws", {});
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    let opened = false;
    const ws = new WebSocket(u);
    this._ws = ws;
    ws.onopen = () => {
      opened = true;
      this._wsFailures = 0;
      const sub = { op: "subscribe", req: "sub", ...this._subscribeParams() };
      if (this.lanes) sub.lanes = this.lanes;
      ws.send(JSON.stringify({ op: "presence", state: "online", device: this.device }));
      ws.send(JSON.stringify(sub));
      this._startPing();
    };
    ws.onmessage = (m) => {
      let f;
      try { f = JSON.parse(m.data); } catch { return; }
      this._lastFrame = Date.now();
      this._onFrame(f);
    };
    ws.onclose = (e) => {
      if (this._ws !== ws) return;
      this._ws = null;
      this._stopPing();
      for (const resolve of this._pending.values()) resolve({ status: 0, error: "connection lost before the answer" });
      this._pending.clear();
      if (e.code === 4401) this._emit("error", { status: 401, error: e.reason || "token expired" });
      if (!opened && this.transport === "auto" && ++this._wsFailures >= 3) this._useSse = true;
      this._retry();
    };
  }

  _openSse() {
    const p = { live: "sse", presence: "1", ...this._subscribeParams() };
    if (this.lanes) p.lanes = this.lanes.join(",");
    const es = new EventSource(this._url("/events", p));
    this._es = es;
    es.onopen = () => { this._attempt = 0; this._setState("open"); };
    es.onmessage = (m) => { try { this._applyEvents([JSON.parse(m.data)], null); } catch { /* ignore */ } };
    es.addEventListener("snapshot", (m) => { try { this._snapshot(JSON.parse(m.data)); } catch { /* ignore */ } });
    es.addEventListener("presence", (m) => { try { this._presence(JSON.parse(m.data)); } catch { /* ignore */ } });
    es.addEventListener("error", (m) => {
      if (m.data) { try { this._emit("error", JSON.parse(m.data)); } catch { /* ignore */ } }
    });
    // Reconnect ourselves (not EventSource's way) so we resume from our own offset.
    es.onerror = () => {
      if (this._es !== es) return;
      es.close();
      this._es = null;
      this._retry();
    };
  }

  async _post(draft) {
    try {
      const r = await fetch(this._url("/events", { access_token: false }), {
        method: "POST", headers: this._headers(), body: JSON.stringify(draft),
      });
      const body = await r.json().catch(() => ({}));
      return r.ok ? { status: r.status, result: body } : { status: r.status, error: body.error || r.statusText };
    } catch (e) {
      return { status: 0, error: "network error: " + e.message };
    }
  }

  _onFrame(f) {
    switch (f.op) {
      case "hello": this.sub = f.sub || ""; break;
      case "snapshot": this._snapshot(f); break;
      case "events": this._applyEvents(f.events || [], f.offset); break;
      case "presence": this._presence(f.event); break;
      case "pong": this._pongDue = 0; break;
      case "ack":
        if (f.req === "sub") {
          if (f.status === 200) { this._attempt = 0; this._setState("open"); }
          else this._emit("error", { status: f.status, error: f.error });
        } else if (this._pending.has(f.req)) {
          const resolve = this._pending.get(f.req);
          this._pending.delete(f.req);
          resolve(f.status >= 400 ? { status: f.status, error: f.error } : { status: f.status, result: f.result });
        }
        break;
      case "auth.expiring": this._emit("error", { status: 401, error: "token expires soon", exp: f.exp }); break;
      case "error":
        this._emit("error", { status: f.status, error: f.error });
        // The server dropped the subscription (a read failed): resubscribe from our offset.
        if (f.status >= 500 && this._ws) this._ws.close(4000, "resubscribe");
        break;
      default: break;
    }
  }

  _startPing() {
    this._stopPing();
    this._pingTimer = setInterval(() => this._probe(), kPingMs);
  }

  _stopPing() {
    clearInterval(this._pingTimer);
    clearTimeout(this._pongTimer);
  }

  // Sends a ping and drops the socket when no pong comes back in time (a socket that died
  // during sleep or a network change can look open for minutes).
  _probe() {
    const ws = this._ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return this._kick("probe");
    clearTimeout(this._pongTimer);
    ws.send(JSON.stringify({ op: "ping", req: "p" }));
    this._pongTimer = setTimeout(() => { if (this._ws === ws) ws.close(4000, "no pong"); }, kPongTimeoutMs);
    this._pongDue = 1;
  }

  // Reconnect now (network back, page visible): skips the backoff wait.
  _kick() {
    if (this._closed || this._opening || this._ws || this._es) return;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._open();
  }

  _retry(fixedMs) {
    if (this._closed) return;
    this._teardown();
    if (this._retryTimer) return;
    const n = this._attempt++;
    const cap = this.state === "waiting" ? kWaitingMaxMs : 5000;
    const delay = fixedMs || Math.min(cap, 200 * 2 ** n) * (0.5 + Math.random() / 2);
    const keep = this.state === "denied" || this.state === "waiting";
    this._setState(navigator.onLine === false ? "offline" : (keep ? this.state : "reconnecting"));
    this._retryTimer = setTimeout(() => { this._retryTimer = null; this._open(); }, delay);
  }

  _teardown() {
    this._stopPing();
    if (this._ws) { const ws = this._ws; this._ws = null; try { ws.close(); } catch { /* ignore */ } }
    if (this._es) { this._es.close(); this._es = null; }
  }

  // ---- the model: compacted view + live events ----

  _snapshot(view) {
    this.items = [];
    this._msgIndex.clear();
    this._setBoard(view);
    // A server whose view has no board fields (older than issue 18) still lists the events as
    // items: fold them from there.
    const fromItems = { progress: !Array.isArray(view.progress), metric: !isObject(view.metrics), table: !Array.isArray(view.tables) };
    for (const it of view.items || []) {
      if (kBoardTypes.has(it.type)) {
        if (fromItems[it.type]) this._foldBoard(it, false);
        continue;
      }
      const copy = structuredClone(it);
      if (copy.type === "msg") this._msgIndex.set(copy.msg, this.items.length);
      this.items.push(copy);
    }
    this.runs = new Map((view.runs || []).map((r) => [r.run, r]));
    this.offset = view.offset || null;
    this._emit("change", { kind: "reset" });
    this._emit("board", { kind: "reset" });
    this._save();
  }

  // The view's board fields (each checked: a bad entry is skipped, never thrown on).
  _setBoard(v) {
    this.progress = new Map();
    this.metrics = new Map();
    this.tables = new Map();
    for (const p of Array.isArray(v.progress) ? v.progress : []) {
      const d = checkProgress(p);
      if (d) this.progress.set(d.key, { ...d, run: str(p.run), ts: num(p.ts) });
    }
    if (isObject(v.metrics)) {
      for (const [name, pts] of Object.entries(v.metrics)) {
        if (!Array.isArray(pts) || name === "" || name.length > 100) continue;
        const ok = pts.filter((p) => Array.isArray(p) && p.length === 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]));
        this.metrics.set(name, ok.slice(-kMaxPoints));
      }
    }
    for (const t of Array.isArray(v.tables) ? v.tables : []) {
      const d = checkTable(t);
      if (d) this.tables.set(d.key, { ...d, run: str(t.run), ts: num(t.ts) });
    }
  }

  // A progress, metric or table event into the board; `emit`: tell the page (live events).
  _foldBoard(ev, emit = true) {
    const t = ev.type;
    const extra = { run: str(ev.run), ts: num(ev.ts) };
    if (t === "progress") {
      const d = checkProgress(ev.data);
      if (!d) return;
      this.progress.set(d.key, { ...d, ...extra });
      if (emit) this._emit("board", { kind: "progress", key: d.key });
    } else if (t === "metric") {
      const d = ev.data;
      if (!isObject(d) || typeof d.name !== "string" || d.name === "" || d.name.length > 100 ||
          !(Number.isFinite(d.step) && d.step >= 0) || !Number.isFinite(d.value)) return;
      let pts = this.metrics.get(d.name);
      if (!pts) this.metrics.set(d.name, (pts = []));
      pts.push([d.step, d.value]);
      // Over the cap: thin the older half (every second point), never the newest ones.
      if (pts.length > kMaxPoints) {
        const half = pts.length >> 1;
        this.metrics.set(d.name, [...pts.slice(0, half).filter((_, i) => i % 2 === 0), ...pts.slice(half)]);
      }
      if (emit) this._emit("board", { kind: "metric", key: d.name });
    } else if (t === "table") {
      const d = checkTable(ev.data);
      if (!d) return;
      this.tables.set(d.key, { ...d, ...extra });
      if (emit) this._emit("board", { kind: "table", key: d.key });
    }
  }

  _applyEvents(events, frameOffset) {
    for (const ev of events) {
      // At or before what we have: a repeat after a reconnect race; never fold twice.
      if (ev.offset && this.offset !== null && ev.offset <= this.offset) continue;
      this._fold(ev);
      if (ev.offset) this.offset = ev.offset;
    }
    // Lane filters can skip events: the frame's offset is where reading continues.
    if (frameOffset && (this.offset === null || frameOffset > this.offset)) this.offset = frameOffset;
    this._save();
  }

  _fold(ev) {
    const t = ev.type;
    if (kBoardTypes.has(t)) return this._foldBoard(ev);
    if (t === "msg.start") {
      const item = { type: "msg", run: ev.run, msg: ev.msg, lane: ev.lane, from: ev.from, ts: ev.ts, offset: ev.offset,
        data: { ...(ev.data || {}), text: "", state: "streaming" } };
      this._msgIndex.set(ev.msg, this.items.length);
      this.items.push(item);
      return this._emit("change", { kind: "add", item });
    }
    if (t === "msg.append" || t === "msg.end") {
      const i = this._msgIndex.get(ev.msg);
      if (i === undefined) return;
      const item = this.items[i];
      if (t === "msg.append") item.data.text += (ev.data && ev.data.text) || "";
      else item.data.state = "done";
      item.offset = ev.offset;
      return this._emit("change", { kind: "update", item });
    }
    if (t === "run.start") this.runs.set(ev.run, { run: ev.run, lane: ev.lane, owner: ev.from && ev.from.sub });
    if (t === "run.end") {
      this.runs.delete(ev.run);
      const done = ev.data && ev.data.reason === "done";
      for (const item of this.items) {
        if (item.type === "msg" && item.run === ev.run && item.data.state === "streaming") {
          item.data.state = done ? "done" : "aborted";
          this._emit("change", { kind: "update", item });
        }
      }
    }
    const item = structuredClone(ev);
    this.items.push(item);
    this._emit("change", { kind: "add", item });
  }

  _presence(ev) {
    if (!ev || !ev.data) return;
    const d = ev.data;
    const key = (m) => `${m.kind}|${m.sub}|${m.device || ""}|${m.run || ""}`;
    const k = key(d);
    let members = this.members.filter((m) => key(m) !== k);
    if (ev.type !== "presence.leave") {
      const old = this.members.find((m) => key(m) === k) || {};
      members.push({ ...old, ...d });
    }
    this._setMembers(members);
  }

  _setMembers(members) {
    this.members = members;
    this._emit("presence", members);
  }

  _setState(s) {
    if (this.state === s) return;
    this.state = s;
    this._emit("state", s);
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // ---- persistence (sessionStorage, per session) ----

  _key() {
    return `${kStoragePrefix}${this.server}|${this.session}`;
  }

  _restore() {
    if (!this.storage) return;
    try {
      const raw = this.storage.getItem(this._key());
      if (!raw) return;
      const s = JSON.parse(raw);
      if (typeof s.offset !== "string" || !Array.isArray(s.items)) return;
      this.items = s.items;
      this.offset = s.offset;
      this.runs = new Map((s.runs || []).map((r) => [r.run, r]));
      if (s.board) this._setBoard(s.board);
      this.items.forEach((it, i) => { if (it.type === "msg") this._msgIndex.set(it.msg, i); });
    } catch { /* a damaged entry: join compacted */ }
  }

  // Writes offset + items together (consistent), at most every 200 ms unless `now`.
  _save(now) {
    if (!this.storage || this.offset === null) return;
    const write = () => {
      this._saveTimer = null;
      try {
        const board = { progress: [...this.progress.values()], metrics: Object.fromEntries(this.metrics), tables: [...this.tables.values()] };
        const raw = JSON.stringify({ offset: this.offset, items: this.items, runs: [...this.runs.values()], board });
        if (raw.length > kMaxStoredBytes) this.storage.setItem(this._key(), JSON.stringify({ offset: null }));
        else this.storage.setItem(this._key(), raw);
      } catch { /* quota: the next load joins compacted */ }
    };
    if (now) { clearTimeout(this._saveTimer); return write(); }
    if (!this._saveTimer) this._saveTimer = setTimeout(write, 200);
  }
}

function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }
function str(v) { return typeof v === "string" ? v : ""; }
function num(v) { return Number.isFinite(v) ? v : null; }
function clip(v, n) { return typeof v === "string" ? v.slice(0, n) : ""; }

// The progress fields of `d` (docs/protocol/sessions.md), or null when `done` is missing or bad.
function checkProgress(d) {
  if (!isObject(d) || !Number.isFinite(d.done) || d.done < 0) return null;
  return { key: clip(d.key, 64), label: clip(d.label, 200), unit: clip(d.unit, 32), done: d.done,
    total: Number.isFinite(d.total) && d.total > 0 ? d.total : null };
}

// The table fields of `d`, or null unless columns are 1..64 strings and every row (at most
// 1000) is an array of scalars as long as the columns.
function checkTable(d) {
  if (!isObject(d) || !Array.isArray(d.columns) || d.columns.length < 1 || d.columns.length > 64 ||
      !d.columns.every((c) => typeof c === "string") || !Array.isArray(d.rows) || d.rows.length > 1000) return null;
  const scalar = (c) => c === null || ["string", "number", "boolean"].includes(typeof c);
  if (!d.rows.every((r) => Array.isArray(r) && r.length === d.columns.length && r.every(scalar))) return null;
  return { key: clip(d.key, 64), title: clip(d.title, 200), columns: d.columns, rows: d.rows };
}

function safeSessionStorage() {
  try { return window.sessionStorage; } catch { return null; }
}
