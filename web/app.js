// The dsx session web UI (served at /ui/<session>): the session as a chat with live tokens, a
// Stop button, a steer box, who is present, the connection state, and the progress bars,
// charts and tables long jobs publish (docs/web-ui.md). All protocol work is in dsx-session.js;
// log-view.js draws the chat, board.js the progress/charts/tables, presence.js the chips; this
// file wires them to the client and owns the notice banner.
//
// The token comes from the URL fragment (#token=...), which browsers never send to a server.
// It is moved into sessionStorage and removed from the address bar, so it does not end up in
// history or screenshots, and a reload of the tab still has it.
import { Board } from "/ui/board.js";
import { DsxSession, validSessionId } from "/ui/dsx-session.js";
import { icon } from "/ui/icons.js";
import { LogView } from "/ui/log-view.js";
import { renderPresence } from "/ui/presence.js";

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

function stickToBottom(fn) {
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  fn();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

// The banner. Connection notices (source "conn": the session does not exist yet, a refused
// token) stay until the connection opens, and are cleared then: a "404 no session yet" from
// before the session existed must not outlive it (issue 18). Notices about an action (a
// refused stop or steer) go away after 15 s or when dismissed.
let noticeTimer;
let noticeSource = "";
function notice(text, { kind = "error", source = "action" } = {}) {
  const n = $("notice");
  const body = document.createElement("span");
  body.className = "notice-text";
  body.textContent = text;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "notice-close";
  close.setAttribute("aria-label", "dismiss");
  close.append(icon("close"));
  close.addEventListener("click", clearNotice);
  n.replaceChildren(icon(kind === "wait" ? "info" : "warn"), body, close);
  n.dataset.kind = kind;
  n.hidden = false;
  noticeSource = source;
  clearTimeout(noticeTimer);
  if (source === "action") noticeTimer = setTimeout(clearNotice, 15000);
}

function clearNotice() {
  clearTimeout(noticeTimer);
  $("notice").hidden = true;
  $("notice").replaceChildren();
  noticeSource = "";
}

// Server errors name runs by id ("run 'r-0bfae3fea734' was started by 'agent'"): say "run 2".
function humanize(text, labels) {
  return String(text).replace(/\brun '(r-[0-9a-zA-Z_-]+)'/g, (all, id) => (labels.runs.has(id) ? labels.run(id) : all));
}

const kStateText = { connecting: "connecting", waiting: "waiting", open: "live", reconnecting: "reconnecting",
  offline: "offline", closed: "closed", denied: "access denied" };

function main() {
  if (session === null) {
    $("session-name").textContent = "(invalid session id in the URL: no '.', '..' or empty segments)";
    document.title = "dsx";
    return;
  }
  $("session-name").textContent = session || "(no session in the URL: open /ui/<session>)";
  $("session-name").title = session;
  document.title = `dsx · ${session}`;
  if (!session) return;
  const device = "browser-" + Math.random().toString(16).slice(2, 6);
  // ?transport=sse forces the SSE + POST path (as used when WebSocket is blocked).
  const transport = new URLSearchParams(location.search).get("transport") || "auto";
  const client = new DsxSession({ session, token: takeToken(session), device, transport });
  window.dsxSession = client;  // for the console and tests
  const view = new LogView(log, stickToBottom);
  const board = new Board($("board"), client, view.labels);
  const stop = $("stop");
  stop.prepend(icon("stop"));
  const syncStop = () => {
    stop.disabled = client.runs.size === 0;
    stop.title = client.runs.size ? "Ask the running agent to stop" : "Nothing is running";
  };
  const presence = () => renderPresence($("presence"), client.members, view.labels, device);

  client.addEventListener("change", (e) => {
    const { kind, item } = e.detail;
    if (kind === "reset") {
      view.reset(client.items);
      log.scrollTop = log.scrollHeight;
      presence();  // run numbers are known now
    } else if (kind === "add") {
      view.add(item);
      if (item.type === "run.start" || item.type === "run.end") { board.onRuns(); presence(); }
    } else if (kind === "update") {
      view.update(item);
    }
    syncStop();
  });
  client.addEventListener("board", (e) => board.onChange(e.detail));
  client.addEventListener("state", (e) => {
    const c = $("conn");
    c.dataset.state = e.detail;
    c.textContent = kStateText[e.detail] || e.detail;
    if (e.detail === "open" && noticeSource === "conn") clearNotice();
  });
  client.addEventListener("presence", presence);
  if (typeof ResizeObserver === "function") {
    let width = 0;
    new ResizeObserver(([e]) => {
      if (Math.abs(e.contentRect.width - width) < 1) return;
      width = e.contentRect.width;
      presence();
    }).observe($("presence"));
  }
  client.addEventListener("error", (e) => {
    const { status, error } = e.detail;
    if (status === 404) {
      notice(`Waiting for session '${session}' to start; this page connects by itself when it does.`, { kind: "wait", source: "conn" });
    } else {
      notice(`${status || ""} ${humanize(error, view.labels)}`.trim(), { source: client.state === "open" ? "action" : "conn" });
    }
  });

  stop.addEventListener("click", async () => {
    const answers = await client.cancel();
    const refused = answers.filter((a) => a.status >= 400 || a.status === 0);
    if (refused.length) notice("stop refused: " + refused.map((a) => humanize(a.error, view.labels)).join("; "));
    else {
      const rejected = answers.map((a) => a.result && a.result.outcome).filter((o) => o && o.outcome === "rejected");
      if (rejected.length) notice("stop rejected: " + rejected.map((o) => humanize(o.reason, view.labels)).join("; "));
    }
  });
  $("steer-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("steer-input");
    const text = input.value.trim();
    if (!text) return;
    const a = await client.steer(text);
    if (a.status >= 400 || a.status === 0) notice("steer refused: " + humanize(a.error, view.labels));
    else input.value = "";
  });

  // State restored from sessionStorage (after a reload), if any.
  view.reset(client.items);
  board.onChange({ kind: "reset" });
  log.scrollTop = log.scrollHeight;
  syncStop();
  client.connect();
}

main();
