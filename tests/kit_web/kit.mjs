// Harness for the AI SDK transport tests: `dsx audit mock-llm`, the app page (bundled by
// esbuild from app/app.jsx with the pinned ai + @ai-sdk/react), a stand-in app backend for the
// transport's `start` option, and headless Chromium (Debian's, driven by playwright-core).
// The dsx server, the cut-able TCP proxy and the wait helpers come from tests/e2e/harness.mjs.
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { dsxBin, chromiumPath, tempDir, stopChild } from "../e2e/harness.mjs";
import { createSseParser, toOpenAiMessages } from "../../clients/js/ai-sdk-transport/dsx-chat-transport.js";

export const here = path.dirname(fileURLToPath(import.meta.url));

const children = new Set();
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

// `dsx audit mock-llm` on a free port: `tokens` tokens "tok-0001 " ..., one every `intervalMs`.
export async function startMock({ tokens = 60, intervalMs = 50 } = {}) {
  const child = spawn(dsxBin, ["audit", "mock-llm", "--listen", "127.0.0.1:0", "--tokens", String(tokens),
    "--interval-ms", String(intervalMs)], { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  child.on("exit", () => children.delete(child));
  let out = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("mock-llm did not start: " + out)), 15000);
    const on = (d) => {
      out += d;
      const m = /listening on (http:\/\/[0-9.]+:\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout.on("data", on);
    child.stderr.on("data", on);
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`mock-llm exited ${code}: ${out}`)); });
  });
  const expected = Array.from({ length: tokens }, (_, i) => `tok-${String(i + 1).padStart(4, "0")} `).join("");
  return {
    url, expected, tokens,
    // The mock's log events for the request whose prompt carried `marker`.
    async log(marker) {
      const lines = (await (await fetch(url + "/log")).text()).split("\n").filter(Boolean).map((l) => JSON.parse(l));
      const reqs = new Set(lines.filter((e) => e.event === "request" && e.marker === marker).map((e) => e.req));
      return lines.filter((e) => reqs.has(e.req));
    },
    stop: () => stopChild(child),
  };
}

let bundled = null;  // one bundle per test process
export function bundleApp() {
  bundled ??= buildApp();
  return bundled;
}
async function buildApp() {
  const esbuild = await import("esbuild");
  const r = await esbuild.build({
    entryPoints: [path.join(here, "app/app.jsx")], bundle: true, format: "esm", write: false,
    jsx: "automatic", target: "es2022", define: { "process.env.NODE_ENV": '"production"' }, logLevel: "error",
  });
  return r.outputFiles[0].text;
}

// The stand-in app backend (the transport's `start` option): writes the user message and a run
// into the session, streams the mock's answer into it as msg.append events, and stops the
// upstream call when it sees control.cancel for the run (then acks it and ends the run cancelled).
async function startBackendRun(dsxUrl, mockUrl, sessionId, messages) {
  const sess = `${dsxUrl}/v1/session/${encodeURIComponent(sessionId)}`;
  const post = async (ev) => {
    const r = await fetch(sess + "/events", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(ev) });
    const j = await r.json();
    if (!r.ok) throw new Error(`append ${ev.type}: ${r.status} ${j.error}`);
    return j;
  };
  await fetch(sess, { method: "PUT" });
  const up = toOpenAiMessages(messages);
  const last = up.filter((m) => m.role === "user").pop();
  const u = await post({ type: "user.message", data: { text: last ? last.content : "" } });
  const rs = await post({ type: "run.start", data: { source: "kit-web-backend" } });
  const run = rs.run;
  const msg = "m-" + run;
  const upstream = new AbortController();
  const watch = new AbortController();
  let cancelId = null;
  (async () => {
    const res = await fetch(`${sess}/events?live=sse&offset=${rs.offset}`, { signal: watch.signal });
    const dec = new TextDecoder();
    const p = createSseParser((m) => {
      if (m.event !== "message") return;
      const ev = JSON.parse(m.data);
      if (ev.type === "control.cancel" && ev.run === run && !cancelId) { cancelId = ev.id; upstream.abort(); }
    });
    for await (const chunk of res.body) p.push(dec.decode(chunk, { stream: true }));
  })().catch(() => {});
  (async () => {
    try {
      await post({ type: "msg.start", run, msg, data: { role: "assistant" } });
      const res = await fetch(mockUrl + "/v1/chat/completions", {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "dsx-mock", stream: true, messages: up }), signal: upstream.signal,
      });
      const dec = new TextDecoder();
      const texts = [];
      const p = createSseParser((m) => {
        if (m.data === "[DONE]") return;
        const d = JSON.parse(m.data).choices?.[0]?.delta?.content;
        if (d) texts.push(d);
      });
      for await (const chunk of res.body) {
        p.push(dec.decode(chunk, { stream: true }));
        while (texts.length) await post({ type: "msg.append", run, msg, data: { text: texts.shift() } });
      }
      await post({ type: "msg.end", run, msg });
      await post({ type: "run.end", run, data: { reason: "done" } });
    } catch (e) {
      if (cancelId) {
        await post({ type: "control.ack", run, id: cancelId, data: { outcome: "applied" } }).catch(() => {});
        await post({ type: "msg.end", run, msg }).catch(() => {});
        await post({ type: "run.end", run, data: { reason: "cancelled" } }).catch(() => {});
      } else {
        await post({ type: "run.end", run, data: { reason: "error", error: String(e.message) } }).catch(() => {});
      }
    } finally {
      watch.abort();
    }
  })();
  return { run, offset: u.offset };
}

// Serves the app page and its bundle, and POST /start (the stand-in backend).
export async function startPageServer({ bundle, dsxUrl, mockUrl }) {
  const html = fs.readFileSync(path.join(here, "app/index.html"));
  const server = http.createServer(async (req, res) => {
    try {
      const u = new URL(req.url, "http://x");
      if (req.method === "GET" && u.pathname === "/") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
      } else if (req.method === "GET" && u.pathname === "/kit/dsx-chat-transport.js") {  // the module, unbundled
        res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" })
          .end(fs.readFileSync(path.join(here, "../../clients/js/ai-sdk-transport/dsx-chat-transport.js")));
      } else if (req.method === "GET" && u.pathname === "/bundle.js") {
        res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(bundle);
      } else if (req.method === "POST" && u.pathname === "/start") {
        let body = "";
        for await (const c of req) body += c;
        const { sessionId, messages } = JSON.parse(body);
        const r = await startBackendRun(dsxUrl, mockUrl, sessionId, messages);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(r));
      } else {
        res.writeHead(404).end("not found");
      }
    } catch (e) {
      res.writeHead(500).end(String(e && e.stack || e));
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

// A persistent context on a fresh profile: its pages are tabs of one browser (they share
// localStorage, as a user's tabs do).
export async function launchBrowser() {
  const { chromium } = await import("playwright-core");
  const userDataDir = tempDir("dsx-kitweb-chromium-");
  const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"];
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath, headless: true, args, viewport: { width: 900, height: 700 },
  });
  return { context, close: async () => { await context.close(); fs.rmSync(userDataDir, { recursive: true, force: true }); } };
}

// The page's messages: [{role, id, text}].
export function pageMessages(page) {
  return page.evaluate(() => [...document.querySelectorAll(".msg")].map((e) => ({ role: e.dataset.role, id: e.dataset.id, text: e.textContent })));
}
export const pageStatus = (page) => page.evaluate(() => document.getElementById("status")?.textContent || "");
export const assistantText = async (page) => (await pageMessages(page)).filter((m) => m.role === "assistant").map((m) => m.text).join("|");

// The session's events (catch-up reads until up to date).
export async function sessionEvents(dsxUrl, sessionId) {
  const out = [];
  let offset = "-1";
  for (;;) {
    const r = await fetch(`${dsxUrl}/v1/session/${encodeURIComponent(sessionId)}/events?offset=${offset}`);
    if (!r.ok) throw new Error(`read ${sessionId}: ${r.status} ${await r.text()}`);
    const j = await r.json();
    out.push(...j.events);
    offset = j.offset;
    if (j.up_to_date) return out;
  }
}
