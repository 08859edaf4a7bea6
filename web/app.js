// The dsx session web UI (served at /ui/<session>): the session as a chat with live tokens, a
// Stop button, a steer box, who is present and the connection state. All protocol work is in
// dsx-session.js; this file only renders its model.
//
// The token comes from the URL fragment (#token=...), which browsers never send to a server.
// It is moved into sessionStorage and removed from the address bar, so it does not end up in
// history or screenshots, and a reload of the tab still has it.
import { DsxSession, validSessionId } from "/ui/dsx-session.js";

const $ = (id) => document.getElementById(id);

// The session id from /ui/<id>: pieces split at '/', empty ones dropped, each decoded (so
// %2F is a separator too), joined with '/'. The server decodes the same way and refuses an id
// with '.', '..' or empty segments (ui_routes.cpp); null here for such an id, so the page
// never shows one id while its URLs (built from the segments) resolve to another.
function sessionFromPath() {
  const rest = location.pathname.replace(/^\/ui\/?/, "");
  let id;
  try {
    id = rest.split("/").filter(Boolean).map(decodeURIComponent).join("/");
  } catch {
    return null;  // malformed escape
  }
  return id === "" || validSessionId(id) ? id : null;
}

function takeToken(session) {
  const key = "dsx-ui-token:" + session;
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const fromHash = params.get("token");
  if (fromHash !== null) {
    try { sessionStorage.setItem(key, fromHash); } catch { /* private mode: keep it in memory */ }
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
    return fromHash;
  }
  try { return sessionStorage.getItem(key) || ""; } catch { return ""; }
}

const session = sessionFromPath();  // null: invalid id (main says so and connects nowhere)
const log = $("log");
const elements = new Map();  // item -> element

function label(from) {
  if (!from) return "";
  return from.device ? `${from.sub} (${from.device})` : from.sub;
}

function line(cls, text, attrs = {}) {
  const el = document.createElement("div");
  el.className = "event " + cls;
  el.textContent = text;
  for (const [k, v] of Object.entries(attrs)) el.dataset[k] = v;
  return el;
}

// One element per item of the model.
function render(item) {
  const t = item.type;
  if (t === "msg") {
    const el = document.createElement("div");
    el.className = "msg" + (item.data.role === "user" ? " user" : "");
    el.dataset.run = item.run || "";
    el.dataset.msg = item.msg;
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = `${label(item.from)} · ${item.data.role || "assistant"}`;
    const text = document.createElement("div");
    text.className = "text";
    el.append(who, text);
    update(el, item);
    return el;
  }
  if (t === "run.start") {
    return line("run-start", `▶ run ${item.run} started by ${label(item.from)}` +
      (item.data && item.data.command ? `: ${item.data.command}` : ""), { run: item.run });
  }
  if (t === "run.end") {
    const d = item.data || {};
    return line("run-end", `■ run ${item.run} ${d.reason === "done" ? "finished" : d.reason}` +
      (d.exit_code !== undefined ? ` (exit ${d.exit_code})` : "") + (d.error ? `: ${d.error}` : ""),
      { run: item.run, reason: d.reason || "" });
  }
  if (t === "control.cancel") {
    return line("cancel", `⏹ ${label(item.from)} asked run ${item.run} to stop`, { run: item.run, id: item.id || "" });
  }
  if (t === "control.steer") {
    const d = item.data || {};
    const what = typeof d.text === "string" ? d.text : JSON.stringify(d.json);
    return line("steer", `↪ ${label(item.from)} steered run ${item.run}: ${what}`, { run: item.run, id: item.id || "" });
  }
  if (t === "control.ack") {
    const d = item.data || {};
    return line("ack", `${d.outcome === "applied" ? "✓" : "✗"} ${item.id} ${d.outcome}` + (d.reason ? `: ${d.reason}` : ""),
      { run: item.run || "", id: item.id || "", outcome: d.outcome || "" });
  }
  if (t === "user.message" && item.data && typeof item.data.text === "string") {
    return render({ type: "msg", msg: "", from: item.from, data: { role: "user", text: item.data.text, state: "done" } });
  }
  return line("other", `${item.type} ${JSON.stringify(item.data || {})}`);
}

function update(el, item) {
  if (item.type !== "msg") return;
  el.dataset.state = item.data.state;
  el.querySelector(".text").textContent = item.data.text;
}

function stickToBottom(fn) {
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  fn();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function resetAll(client) {
  elements.clear();
  log.replaceChildren();
  for (const item of client.items) {
    const el = render(item);
    elements.set(item, el);
    log.append(el);
  }
  log.scrollTop = log.scrollHeight;
}

let noticeTimer;
function notice(text) {
  const n = $("notice");
  n.textContent = text;
  n.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { n.hidden = true; }, 15000);
}

function renderPresence(members) {
  const box = $("presence");
  box.replaceChildren();
  for (const m of members) {
    const el = document.createElement("span");
    el.className = "member " + (m.kind || "client");
    el.textContent = m.kind === "agent" ? `${m.sub} · ${m.state}` : (m.device ? `${m.sub} (${m.device})` : m.sub);
    el.dataset.kind = m.kind || "client";
    box.append(el);
  }
}

function main() {
  if (session === null) {
    $("session-name").textContent = "(invalid session id in the URL: no '.', '..' or empty segments)";
    document.title = "dsx";
    return;
  }
  $("session-name").textContent = session || "(no session in the URL: open /ui/<session>)";
  document.title = `dsx · ${session}`;
  if (!session) return;
  const device = "browser-" + Math.random().toString(16).slice(2, 6);
  // ?transport=sse forces the SSE + POST path (as used when WebSocket is blocked).
  const transport = new URLSearchParams(location.search).get("transport") || "auto";
  const client = new DsxSession({ session, token: takeToken(session), device, transport });
  window.dsxSession = client;  // for the console and tests
  const stop = $("stop");
  const syncStop = () => { stop.disabled = client.runs.size === 0; };

  client.addEventListener("change", (e) => {
    const { kind, item } = e.detail;
    stickToBottom(() => {
      if (kind === "reset") return resetAll(client);
      if (kind === "add") {
        const el = render(item);
        elements.set(item, el);
        log.append(el);
      } else if (kind === "update" && elements.has(item)) {
        update(elements.get(item), item);
      }
    });
    syncStop();
  });
  client.addEventListener("state", (e) => {
    const c = $("conn");
    c.dataset.state = e.detail;
    c.textContent = e.detail;
  });
  client.addEventListener("presence", (e) => renderPresence(e.detail));
  client.addEventListener("error", (e) => notice(`${e.detail.status || ""} ${e.detail.error}`.trim()));

  stop.addEventListener("click", async () => {
    const answers = await client.cancel();
    const refused = answers.filter((a) => a.status >= 400 || a.status === 0);
    if (refused.length) notice("stop refused: " + refused.map((a) => a.error).join("; "));
    else {
      const rejected = answers.map((a) => a.result && a.result.outcome).filter((o) => o && o.outcome === "rejected");
      if (rejected.length) notice("stop rejected: " + rejected.map((o) => o.reason).join("; "));
    }
  });
  $("steer-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("steer-input");
    const text = input.value.trim();
    if (!text) return;
    const a = await client.steer(text);
    if (a.status >= 400 || a.status === 0) notice("steer refused: " + a.error);
    else input.value = "";
  });

  resetAll(client);  // state restored from sessionStorage (after a reload), if any
  syncStop();
  client.connect();
}

main();
