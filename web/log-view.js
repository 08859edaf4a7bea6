// log-view.js: the session's items as a chat (messages rendered as Markdown) with one line per
// run start/end, stop, steer and acknowledgement, labelled for people (labels.js).
//
// Streaming cost: an update to a growing message only stores its text; the Markdown render runs
// at most every `interval` ms per message (adaptive: 4x what the last render took, 50..500 ms),
// and renderInto keeps the unchanged leading blocks, so a long reply stays cheap to stream.
// The message's source text is kept on its .text element as `dsxSource` (tests read it there).

import { icon } from "/ui/icons.js";
import { fmtDuration } from "/ui/progress.js";
import { fmtFull, fmtTime, Labels, who, whoTitle } from "/ui/labels.js";
import { renderInto } from "/ui/markdown.js";

const kMinIntervalMs = 50;
const kMaxIntervalMs = 500;
const kOtherMaxChars = 240;

function span(cls, text, title) {
  const s = document.createElement("span");
  if (cls) s.className = cls;
  s.textContent = text;
  if (title) s.title = title;
  return s;
}

export class LogView {
  // `stick(fn)`: runs fn (a DOM change) keeping the log scrolled to the bottom if it was.
  constructor(logEl, stick) {
    this.log = logEl;
    this.stick = stick;
    this.labels = new Labels();
    this.elements = new Map();  // item -> element
    this.pending = new Map();   // item -> timer (throttled renders)
  }

  reset(items) {
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    this.elements.clear();
    this.labels.reset();
    const nodes = [];
    for (const item of items) {
      this.labels.note(item);
      const el = this.render(item);
      this.elements.set(item, el);
      nodes.push(el);
    }
    this.log.replaceChildren(...nodes);
  }

  add(item) {
    this.labels.note(item);
    const el = this.render(item);
    this.elements.set(item, el);
    this.stick(() => this.log.append(el));
  }

  update(item) {
    const el = this.elements.get(item);
    if (!el || item.type !== "msg") return;
    const text = el.querySelector(".text");
    text.dsxSource = item.data.text;
    const state = item.data.state;
    if (state !== "streaming") {
      // Final: render now, so the finished reply is complete the moment it ends.
      clearTimeout(this.pending.get(item));
      this.pending.delete(item);
      this.stick(() => { el.dataset.state = state; this.renderText(el, item); });
      return;
    }
    if (this.pending.has(item)) return;
    const wait = Math.max(0, (el._lastRender || 0) + (el._interval || kMinIntervalMs) - performance.now());
    this.pending.set(item, setTimeout(() => {
      this.pending.delete(item);
      if (this.elements.get(item) === el) this.stick(() => this.renderText(el, item));
    }, wait));
  }

  renderText(el, item) {
    const text = el.querySelector(".text");
    const t0 = performance.now();
    if (el.dataset.view === "source") {
      text.textContent = item.data.text;
      text._mdBlocks = null;
      text._mdText = null;
    } else {
      renderInto(text, item.data.text);
      markTail(text);
    }
    const took = performance.now() - t0;
    el._lastRender = performance.now();
    el._interval = Math.min(kMaxIntervalMs, Math.max(kMinIntervalMs, took * 4));
  }

  render(item) {
    const t = item.type;
    const d = item.data || {};
    const L = this.labels;
    if (t === "msg") return this.message(item);
    if (t === "run.start") {
      const parts = [span("strong", cap(L.run(item.run))), ` started by ${who(item.from)}`];
      if (typeof d.command === "string" && d.command) parts.push(": ", code(d.command));
      return this.line("run-start", "play", parts, item, { run: item.run });
    }
    if (t === "run.end") {
      const reason = typeof d.reason === "string" ? d.reason : "";
      const words = { done: "finished", cancelled: "was stopped", error: "failed", agent_lost: "lost its agent (no heartbeat)" };
      const parts = [span("strong", cap(L.run(item.run))), " " + (words[reason] || `ended (${reason || "unknown"})`)];
      const start = L.runStart(item.run);
      if (Number.isFinite(start) && Number.isFinite(item.ts)) parts.push(` after ${fmtDuration(item.ts - start)}`);
      if (Number.isFinite(d.exit_code)) parts.push(` · exit ${d.exit_code}`);
      if (typeof d.error === "string" && d.error) parts.push(`: ${d.error}`);
      return this.line("run-end", reason === "done" ? "check" : "stop", parts, item, { run: item.run, reason });
    }
    if (t === "control.cancel") {
      return this.line("cancel", "stop", [`${who(item.from)} asked ${L.run(item.run)} to stop`], item,
        { run: item.run, id: item.id || "" }, typeof d.reason === "string" ? `reason: ${d.reason}` : "");
    }
    if (t === "control.steer") {
      const what = typeof d.text === "string" ? d.text : JSON.stringify(d.json);
      return this.line("steer", "steer", [`${who(item.from)} steered ${L.run(item.run)}: `, span("steer-text", what)], item,
        { run: item.run, id: item.id || "" });
    }
    if (t === "control.ack") {
      const outcome = typeof d.outcome === "string" ? d.outcome : "";
      const parts = [`${L.control(item.id)} ${outcome || "acknowledged"}`];
      if (typeof d.reason === "string" && d.reason) parts.push(`: ${d.reason}`);
      return this.line("ack", outcome === "applied" ? "check" : "cross", parts, item,
        { run: item.run || "", id: item.id || "", outcome });
    }
    if (t === "user.message" && typeof d.text === "string") {
      const el = this.message({ type: "msg", msg: "", from: item.from, ts: item.ts, data: { role: "user", text: d.text, state: "done" } });
      return el;
    }
    const json = JSON.stringify(item.data || {});
    const short = json.length > kOtherMaxChars ? json.slice(0, kOtherMaxChars) + "…" : json;
    return this.line("other", "info", [span("strong", String(t)), " ", code(short)], item, {}, json);
  }

  message(item) {
    const d = item.data;
    const el = document.createElement("article");
    const user = d.role === "user";
    el.className = "msg" + (user ? " user" : "");
    el.dataset.run = item.run || "";
    el.dataset.msg = item.msg || "";
    el.dataset.state = d.state;
    const head = document.createElement("div");
    head.className = "who";
    const name = span("name", who(item.from), whoTitle(item.from));
    head.append(name);
    if (item.run) head.append(span("sep", "·"), span("run-label", this.labels.run(item.run), `run ${item.run}`));
    const time = fmtTime(item.ts);
    if (time) head.append(span("sep", "·"), span("time", time, fmtFull(item.ts)));
    const ids = [item.run && `run ${item.run}`, item.msg && `message ${item.msg}`, d.role && `role ${d.role}`].filter(Boolean);
    head.title = ids.join(" · ");
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "view-toggle";
    toggle.textContent = "Source";
    toggle.title = "Show the text as sent, without Markdown";
    toggle.addEventListener("click", () => {
      const source = el.dataset.view !== "source";
      el.dataset.view = source ? "source" : "formatted";
      toggle.textContent = source ? "Formatted" : "Source";
      toggle.title = source ? "Show the text formatted (Markdown)" : "Show the text as sent, without Markdown";
      this.renderText(el, item);
    });
    head.append(toggle);
    const text = document.createElement("div");
    text.className = "text md";
    text.dsxSource = d.text;
    el.append(head, text);
    this.renderText(el, item);
    return el;
  }

  line(cls, iconName, parts, item, attrs = {}, extraTitle = "") {
    const el = document.createElement("div");
    el.className = "event " + cls;
    el.append(icon(iconName));
    const body = document.createElement("span");
    body.className = "event-text";
    body.append(...parts);
    const time = fmtTime(item.ts);
    if (time) body.append(span("time", " · " + time, fmtFull(item.ts)));
    el.append(body);
    for (const [k, v] of Object.entries(attrs)) el.dataset[k] = v || "";
    const ids = [item.run && `run ${item.run}`, item.id && `request ${item.id}`, item.from && `from ${whoTitle(item.from)}`, extraTitle];
    el.title = ids.filter(Boolean).join(" · ");
    return el;
  }
}

// Marks the innermost last block (the paragraph inside the last quote or list item, not the
// quote) so the streaming caret sits at the end of the text, not on a line of its own.
function markTail(text) {
  const old = text.querySelector(".md-tail");
  if (old) old.classList.remove("md-tail");
  let el = text.lastElementChild;
  while (el && /^(BLOCKQUOTE|UL|OL|LI)$/.test(el.tagName) && el.lastElementChild && !/^(BR|CODE|STRONG|EM|DEL|A)$/.test(el.lastElementChild.tagName)) {
    el = el.lastElementChild;
  }
  if (el) el.classList.add("md-tail");
}

function cap(s) { return s.charAt(0).toUpperCase() + s.slice(1); }

function code(text) {
  const c = document.createElement("code");
  c.textContent = text;
  return c;
}
