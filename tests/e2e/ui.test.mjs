// End-to-end tests of the web UI (/ui/<session>) and dsx-session.js in real headless Chromium,
// against a real `dsx session serve` and agents started with `dsx session run` (issue 3 §5).
// Run: DSX_BIN=build/bin/dsx node --test --test-concurrency=1 tests/e2e/ui.test.mjs
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import {
  chromiumPath, dsxBin, killAll, launchBrowser, mintToken, pageText, sleep, startAgent, startProxy, startServer,
  tempDir, waitFor, waitLines,
} from "./harness.mjs";

const kSkip = !fs.existsSync(chromiumPath) ? `no ${chromiumPath}` : !fs.existsSync(dsxBin) ? `no ${dsxBin}` : "";
const screenshotPath = process.env.DSX_E2E_SCREENSHOT || "";

let browser;
let server;
let proxy;
let counter = 0;
const newSession = (name) => `e2e/${name}-${process.pid}-${++counter}`;

async function openUi(base, session, token, query = "") {
  const page = await browser.context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.errors = errors;
  const id = session.split("/").map(encodeURIComponent).join("/");
  await page.goto(`${base}/ui/${id}${query}${token ? "#token=" + token : ""}`);
  return page;
}

const connState = (page) => page.evaluate(() => document.getElementById("conn").dataset.state);
const msgState = (page) => page.evaluate(() => document.querySelector(".msg")?.dataset.state || "");
const runEndReason = (page) => page.evaluate(() => document.querySelector(".event.run-end")?.dataset.reason || "");

// Waits for the agent's exit and the page's message to be final, then returns the text.
async function finalText(page, agent) {
  await agent.exited;
  await waitFor(async () => (await msgState(page)) !== "streaming" && (await msgState(page)) !== "", "message end");
  return pageText(page);
}

describe("web UI in headless Chromium", { skip: kSkip || false }, () => {
  before(async () => {
    const dir = tempDir();
    server = await startServer(dir);
    proxy = await startProxy(server.url);
    browser = await launchBrowser();
  });
  after(async () => {
    killAll();
    await browser?.close();
    browser = null;
    await proxy?.close();
    await server?.stop();
  });

  test("serves the UI files with content types and ETags", async () => {
    const r = await fetch(`${server.url}/ui/dsx-session.js`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type"), /^text\/javascript/);
    const etag = r.headers.get("etag");
    assert.ok(etag);
    assert.match(await r.text(), /export class DsxSession/);
    const again = await fetch(`${server.url}/ui/dsx-session.js`, { headers: { "If-None-Match": etag } });
    assert.equal(again.status, 304);
    const page = await fetch(`${server.url}/ui/chat/42`);
    assert.match(page.headers.get("content-type"), /^text\/html/);
    assert.match(await page.text(), /<script type="module" src="\/ui\/app.js">/);
    assert.equal((await fetch(`${server.url}/ui/app.js`, { method: "POST" })).status, 405);
  });

  test("1. a network cut mid-reply: the final text equals the agent's output, once; the agent is not cancelled", async () => {
    const session = newSession("cut");
    const agent = startAgent(server.url, session, { lines: 120, everyMs: 40 });
    const page = await openUi(proxy.url, session);
    await waitLines(page, 20);
    proxy.cut(3000);
    await waitFor(async () => (await connState(page)) !== "open", "the page to notice the cut", 5000, 20);
    const during = await pageText(page);
    await sleep(3000);
    await waitFor(async () => (await connState(page)) === "open", "reconnect", 15000);
    const text = await finalText(page, agent);
    const out = agent.output();
    assert.ok(out.length > during.length, "the cut happened mid-reply");
    assert.equal(text, out);
    const { code } = await agent.exited;
    assert.equal(code, 0, "the agent finished normally: " + agent.stderr());
    assert.equal(agent.cancelled(), false, "a network cut never cancels the agent");
    assert.equal(await runEndReason(page), "done");
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("1b. the SSE + POST fallback rides out a network cut too, and its Stop works", async () => {
    const session = newSession("sse");
    const agent = startAgent(server.url, session, { lines: 400, everyMs: 30 });
    const page = await openUi(proxy.url, session, "", "?transport=sse");
    await waitLines(page, 20);
    proxy.cut(2000);
    await waitFor(async () => (await connState(page)) !== "open", "the page to notice the cut", 5000, 20);
    await sleep(2000);
    await waitFor(async () => (await connState(page)) === "open", "reconnect", 15000);
    await waitLines(page, 120);
    await page.click("#stop");  // POST .../events
    await agent.exited;
    assert.ok(agent.cancelled(), "the agent process received SIGTERM");
    await waitFor(async () => (await runEndReason(page)) === "cancelled", "run.end cancelled on the page");
    // The page holds exactly what the session stored; the agent may have printed a line more
    // after the cancel took effect, which the runner drops by design (see test 4). Comparing
    // with the agent's output failed once this way (126 of 127 lines, 2 busy cores).
    const view = await (await fetch(`${server.url}/v1/session/${session}/view`)).json();
    const stored = view.items.find((i) => i.type === "msg").data.text;
    const shown = await pageText(page);
    assert.equal(shown, stored);
    assert.ok(agent.output().startsWith(shown), "the page shows a prefix of what the agent printed");
    assert.equal(await page.evaluate(() => window.dsxSession._useSse), true);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("2. a second page opened mid-reply shows the text so far, then the same live tokens", async () => {
    const session = newSession("second");
    const agent = startAgent(server.url, session, { lines: 120, everyMs: 40 });
    const a = await openUi(server.url, session);
    await waitLines(a, 30);
    const b = await openUi(server.url, session);
    await waitLines(b, 30);  // the compacted join brought the text so far at once
    const early = await pageText(b);
    const [ta, tb] = [await finalText(a, agent), await finalText(b, agent)];
    assert.ok(early.length < tb.length, "b joined mid-reply");
    assert.equal(ta, agent.output());
    assert.equal(tb, ta);
    await a.close();
    await b.close();
  });

  test("3. reload mid-reply: the reply continues where it was", async () => {
    const session = newSession("reload");
    const agent = startAgent(server.url, session, { lines: 120, everyMs: 40 });
    const page = await openUi(server.url, session);
    await waitLines(page, 30);
    const before = await pageText(page);
    await page.reload();
    // Restored from sessionStorage at once (before any network answer), then continued.
    const restored = await pageText(page);
    assert.ok(restored.startsWith(before.slice(0, Math.min(before.length, restored.length))));
    assert.ok(restored.length >= before.length, "the page shows at least what it had before the reload");
    const text = await finalText(page, agent);
    assert.equal(text, agent.output());
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("4. Stop: the agent gets the cancel and exits; both pages show the run cancelled; output stops", async () => {
    const session = newSession("stop");
    const agent = startAgent(server.url, session, { lines: 400, everyMs: 40 });
    const a = await openUi(server.url, session);
    const b = await openUi(server.url, session);
    await waitLines(a, 25);
    await a.click("#stop");
    const { code } = await agent.exited;
    assert.ok(agent.cancelled(), "the agent process received SIGTERM");
    assert.notEqual(code, 0);
    for (const p of [a, b]) {
      await waitFor(async () => (await runEndReason(p)) === "cancelled", "run.end cancelled on the page");
      await waitFor(() => p.evaluate(() => !!document.querySelector('.event.ack[data-outcome="applied"]')), "cancel ack");
    }
    const stopped = await pageText(a);
    await sleep(800);
    assert.equal(await pageText(a), stopped, "no output after the stop");
    assert.equal(await pageText(b), stopped);
    // What the agent printed after the cancel took effect is dropped by design (the runner stops
    // sending at the ack: session_client/agent_runner.hpp), so the page holds a prefix of the
    // agent's output; under load the agent may print a line or two in that window. Asserting
    // equality made this test flake on a busy 2-core machine (CI 2026-12-07: 56 of 57 lines).
    assert.ok(agent.output().startsWith(stopped), "the page shows a prefix of what the agent printed");
    assert.ok(stopped.endsWith("\n"), "whole lines only");
    assert.ok(agent.output().split("\n").length < 300, "the agent stopped early");
    assert.equal(await a.evaluate(() => document.getElementById("stop").disabled), true);
    await a.close();
    await b.close();
  });

  test("5. steer mid-reply: the agent receives the text; both pages show it and its acknowledgement", async () => {
    const session = newSession("steer");
    const agent = startAgent(server.url, session, { lines: 120, everyMs: 40 });
    const a = await openUi(server.url, session);
    const b = await openUi(server.url, session);
    await waitLines(a, 20);
    await a.fill("#steer-input", "please mention the cat");
    await a.click("#steer-send");
    await waitFor(() => agent.steered().includes("please mention the cat"), "the agent to read the steer text");
    for (const p of [a, b]) {
      await waitFor(() => p.evaluate(() => [...document.querySelectorAll(".event.steer")].some((e) => e.textContent.includes("please mention the cat"))), "steer shown");
      await waitFor(() => p.evaluate(() => !!document.querySelector('.event.ack[data-outcome="applied"]')), "steer ack shown");
      await waitFor(async () => (await pageText(p)).includes("[steer received: please mention the cat]"), "steer echoed in the reply");
    }
    await waitFor(() => a.evaluate(() => document.querySelectorAll(".member").length >= 2), "presence");
    if (screenshotPath) await a.screenshot({ path: screenshotPath });
    const [ta, tb] = [await finalText(a, agent), await finalText(b, agent)];
    assert.equal(ta, agent.output());
    assert.equal(tb, ta);
    await a.close();
    await b.close();
  });
});

describe("web UI with auth on", { skip: kSkip || false }, () => {
  let authServer;
  let keyFile;
  before(async () => {
    const dir = tempDir();
    keyFile = path.join(dir, "key");
    fs.writeFileSync(keyFile, "e2e-secret-" + "x".repeat(40) + "\n", { mode: 0o600 });
    authServer = await startServer(dir, ["--auth-key-file", keyFile]);
    if (!browser) browser = await launchBrowser();
  });
  after(async () => {
    killAll();
    await browser?.close();
    browser = null;
    await authServer?.stop();
  });

  test("6. a read-only token sees the reply but its Stop is refused", async () => {
    const agentToken = mintToken(keyFile, "agent", "read,append,run");
    const viewerToken = mintToken(keyFile, "viewer", "read");
    const session = newSession("auth");
    const agent = startAgent(authServer.url, session, { lines: 80, everyMs: 40, token: agentToken });
    // Without a token the data is refused (the page itself is public and holds nothing).
    const anon = await fetch(`${authServer.url}/v1/session/${session}`);
    assert.equal(anon.status, 401);
    const page = await openUi(authServer.url, session, viewerToken);
    assert.equal(new URL(page.url()).hash, "", "the token is taken out of the address bar");
    await waitLines(page, 15);
    await page.click("#stop");
    await waitFor(() => page.evaluate(() => !document.getElementById("notice").hidden), "refusal notice");
    const notice = await page.evaluate(() => document.getElementById("notice").textContent);
    // The right that is missing to stop someone else's run (issue 18: it named cancel_own), and
    // the run by its number, not its id.
    assert.match(notice, /stop refused: .*lacks 'cancel_any'/);
    assert.match(notice, /run 1 was started by 'agent'/);
    assert.doesNotMatch(notice, /r-[0-9a-f]{6,}/);
    const text = await finalText(page, agent);
    const { code } = await agent.exited;
    assert.equal(code, 0, "the agent was not cancelled");
    assert.equal(agent.cancelled(), false);
    assert.equal(text, agent.output());
    await page.close();
  });
});
