// E2E harness: a dsx server, agents started with `dsx session run`, a TCP proxy the test can
// cut, and headless Chromium (Debian's /usr/bin/chromium driven by playwright-core).
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const here = path.dirname(fileURLToPath(import.meta.url));
export const dsxBin = process.env.DSX_BIN || path.resolve(here, "../../build/bin/dsx");
export const chromiumPath = process.env.DSX_CHROMIUM || "/usr/bin/chromium";

export function tempDir(prefix = "dsx-e2e-") {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Every child this harness started; a failed or timed-out test must not leave agents or
// servers behind (an agent whose server is gone retries for --retry-for seconds).
const children = new Set();
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});
// Kills every child still running (an after() hook: a test that failed half way must not leave
// an agent that keeps the test file alive until its timeout).
export function killAll() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}
function track(child) {
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

// `dsx session serve` on 127.0.0.1:0 with a temp data dir; resolves once it listens.
export async function startServer(dir, extraArgs = []) {
  const child = spawn(dsxBin, ["session", "serve", "--listen", "127.0.0.1:0", "--data", path.join(dir, "data"), ...extraArgs],
    { stdio: ["ignore", "ignore", "pipe"] });
  track(child);
  let err = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start: " + err)), 15000);
    child.stderr.on("data", (d) => {
      err += d;
      const m = /dsx: listening on (http:\/\/[0-9.]+:\d+)/.exec(err);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${err}`)); });
  });
  return { url, child, stop: () => stopChild(child) };
}

export function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => { clearTimeout(t); resolve(); });
    child.kill("SIGTERM");
  });
}

// The agent: prints `lines` numbered lines, one every `everyMs`, to stdout and to out.txt;
// lines it reads on stdin (steering) are echoed into its output and saved to steer.txt; on
// SIGTERM (what `dsx session run` sends the agent's process group on Stop) it writes cancel.txt
// and exits 143.
const kAgentScript = `
const fs = require("fs");
const [dir, lines, every] = [process.argv[2], +process.argv[3], +process.argv[4]];
const out = fs.openSync(dir + "/out.txt", "w");
const say = (s) => { fs.writeSync(out, s); process.stdout.write(s); };
process.on("SIGTERM", () => { fs.writeFileSync(dir + "/cancel.txt", "SIGTERM\\n"); process.exit(143); });
let buf = "";
process.stdin.on("data", (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf("\\n")) >= 0) {
    const l = buf.slice(0, i); buf = buf.slice(i + 1);
    fs.appendFileSync(dir + "/steer.txt", l + "\\n");
    say("[steer received: " + l + "]\\n");
  }
});
let n = 0;
const tick = () => {
  n++;
  say("line " + String(n).padStart(3, "0") + ": the quick brown fox jumps over the lazy dog\\n");
  if (n < lines) setTimeout(tick, every); else { fs.closeSync(out); process.exit(0); }
};
setTimeout(tick, every);
`;

// Starts `dsx session run SESSION -- node agent.js DIR LINES EVERY_MS`.
export function startAgent(server, session, { lines = 120, everyMs = 40, token, grace = 2 } = {}) {
  const dir = tempDir("dsx-e2e-agent-");
  const script = path.join(dir, "agent.cjs");
  fs.writeFileSync(script, kAgentScript);
  const args = ["session", "run", session, "--server", server, "--grace", String(grace)];
  if (token) args.push("--token", token);
  args.push("--", process.execPath, script, dir, String(lines), String(everyMs));
  const child = track(spawn(dsxBin, args, { stdio: ["ignore", "pipe", "pipe"], detached: false }));
  let stderr = "";
  child.stderr.on("data", (d) => { stderr += d; });
  child.stdout.on("data", () => {});
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stderr })));
  return {
    dir, child, exited,
    output: () => (fs.existsSync(path.join(dir, "out.txt")) ? fs.readFileSync(path.join(dir, "out.txt"), "utf8") : ""),
    cancelled: () => fs.existsSync(path.join(dir, "cancel.txt")),
    steered: () => (fs.existsSync(path.join(dir, "steer.txt")) ? fs.readFileSync(path.join(dir, "steer.txt"), "utf8") : ""),
    stderr: () => stderr,
  };
}

// The printer agent: writes the file TEXT in pieces of `chunk` characters every `everyMs`, then
// stays alive for `holdMs` (a run still going, for screenshots) and exits 0. SIGTERM (Stop)
// writes cancel.txt and exits 143.
const kPrinterScript = `
const fs = require("fs");
const [dir, textFile, chunk, every, hold] = [process.argv[2], process.argv[3], +process.argv[4], +process.argv[5], +process.argv[6]];
process.on("SIGTERM", () => { fs.writeFileSync(dir + "/cancel.txt", "SIGTERM\\n"); process.exit(143); });
process.stdin.resume();
const text = fs.readFileSync(textFile, "utf8");
let at = 0;
const tick = () => {
  if (at >= text.length) { setTimeout(() => process.exit(0), hold); return; }
  process.stdout.write(text.slice(at, at + chunk));
  at += chunk;
  setTimeout(tick, every);
};
setTimeout(tick, every);
`;

// Starts `dsx session run SESSION -- node printer.js ...` printing `text`.
export function startPrinter(server, session, text, { chunk = 40, everyMs = 30, holdMs = 0, token } = {}) {
  const dir = tempDir("dsx-e2e-printer-");
  const script = path.join(dir, "printer.cjs");
  fs.writeFileSync(script, kPrinterScript);
  fs.writeFileSync(path.join(dir, "text.md"), text);
  const args = ["session", "run", session, "--server", server, "--grace", "2"];
  if (token) args.push("--token", token);
  args.push("--", process.execPath, script, dir, path.join(dir, "text.md"), String(chunk), String(everyMs), String(holdMs));
  const child = track(spawn(dsxBin, args, { stdio: ["ignore", "pipe", "pipe"] }));
  let stderr = "";
  child.stderr.on("data", (d) => { stderr += d; });
  child.stdout.on("data", () => {});
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stderr })));
  return { dir, child, exited, cancelled: () => fs.existsSync(path.join(dir, "cancel.txt")), stderr: () => stderr };
}

// The session's HTTP API: create it, post drafts (one or an array), read its view.
export function sessionUrl(base, session, rest = "") {
  return `${base}/v1/session/${session.split("/").map(encodeURIComponent).join("/")}${rest}`;
}
export async function createSession(base, session) {
  const r = await fetch(sessionUrl(base, session), { method: "PUT" });
  if (r.status !== 201 && r.status !== 200) throw new Error(`PUT session: ${r.status} ${await r.text()}`);
}
export async function post(base, session, drafts) {
  const r = await fetch(sessionUrl(base, session, "/events"), {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(drafts) });
  const body = await r.json().catch(() => ({}));
  return { status: r.status, body };
}
export async function postOk(base, session, drafts) {
  const a = await post(base, session, drafts);
  if (a.status >= 300) throw new Error(`POST ${JSON.stringify(drafts).slice(0, 200)}: ${a.status} ${JSON.stringify(a.body)}`);
  return a.body;
}

export function mintToken(keyFile, sub, rights) {
  const out = execFileSync(dsxBin, ["session", "token", "--auth-key-file", keyFile, "--sub", sub, "--rights", rights,
    "--session", "*", "--ttl", "1h"], { encoding: "utf8" });
  return out.trim().split("\n").pop().trim();
}

// A TCP proxy in front of the server. cut(ms) drops every connection through it (RST) and
// refuses new ones (accepted, then reset at once) for `ms`: a real network loss, unlike
// offline emulation, which leaves open WebSockets alive.
export async function startProxy(targetUrl) {
  const target = new URL(targetUrl);
  const sockets = new Set();
  let refuseUntil = 0;
  let cuts = 0;
  const server = net.createServer((client) => {
    if (Date.now() < refuseUntil) { client.resetAndDestroy(); return; }
    const upstream = net.connect(+target.port, target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      sockets.delete(client); sockets.delete(upstream);
      client.destroy(); upstream.destroy();
    };
    client.on("error", drop); upstream.on("error", drop);
    client.on("close", drop); upstream.on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    get cuts() { return cuts; },
    cut(ms) {
      cuts++;
      refuseUntil = Date.now() + ms;
      for (const s of [...sockets]) s.resetAndDestroy();
      sockets.clear();
    },
    close: () => { for (const s of sockets) s.destroy(); return new Promise((r) => server.close(r)); },
  };
}

// A persistent context on a fresh profile dir (Playwright refuses --user-data-dir in args).
// Every page is a new tab with its own sessionStorage.
export async function launchBrowser() {
  const { chromium } = await import("playwright-core");
  const userDataDir = tempDir("dsx-e2e-chromium-");
  const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"];
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath, headless: true, args, viewport: { width: 1100, height: 720 },
  });
  return { context, close: () => context.close(), userDataDir };
}

// Text of the page's assistant message for the run (the first msg item), "" before it exists:
// the message's source text as the page holds it (`dsxSource`, web/log-view.js), since the
// page shows it rendered as Markdown (a line break is a <br>, which textContent drops).
export async function pageText(page) {
  return page.evaluate(() => {
    const el = document.querySelector(".msg:not(.user) .text");
    return el ? (typeof el.dsxSource === "string" ? el.dsxSource : el.textContent) : "";
  });
}

export async function waitFor(fn, what, timeoutMs = 20000, everyMs = 50) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await sleep(everyMs);
  }
}

// Waits until the page shows at least `n` lines of the reply.
export function waitLines(page, n) {
  return waitFor(async () => (await pageText(page)).split("\n").length > n, `${n} lines on the page`);
}
