// The AI SDK transport in a real AI SDK app (@ai-sdk/react useChat, ai 6.0.325) in headless
// Chromium, against a real `dsx session serve` and `dsx audit mock-llm` (100 tokens, 60 ms apart:
// a 6 s answer, so a cut, a second tab and Stop land mid-answer even on a loaded machine):
//   proxy:   the transport's default, the durable LLM proxy (`--llm-proxy <mock>/v1`);
//   backend: the transport's `start` option, the app's own backend writing the run.
// Each mode: (1) a network cut mid-answer (every connection reset, new ones refused: Chromium's
// offline emulation is no drop for this, an in-flight streaming fetch keeps receiving under it,
// measured 90 -> 306 characters during 1.5 s "offline"), then the
// answer completes with the exact text once and the model was not cancelled; (2) a second tab
// opened mid-answer shows the same answer live and ends with the same text once; (3) Stop ends
// the run `cancelled`, the mock's log shows the model call cancelled, and a tab watching the run
// ends with exactly the text the session kept; (4, proxy mode) a steer mid-answer is acked applied
// and the one assistant message shows the partial answer, then the continuation. With auth on: the answer and Stop with a token.
// An upstream that stalls: useChat shows the run's error.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { startServer, startProxy, tempDir, waitFor, mintToken } from "../e2e/harness.mjs";
import { startMock, bundleApp, startPageServer, launchBrowser, pageMessages, pageStatus, assistantText, sessionEvents } from "./kit.mjs";


const kTokens = 100;
const tokenCount = (text, n) => text.split(`tok-${String(n).padStart(4, "0")} `).length - 1;

for (const mode of ["proxy", "backend"]) {
  describe(`${mode} mode`, () => {
    let mock, server, tcp, pages, browser, bundle, dir;
    let lastChat;  // the chat test 1 completed
    before(async () => {
      bundle = await bundleApp();
      mock = await startMock({ tokens: kTokens, intervalMs: 60 });
      dir = tempDir("dsx-kitweb-");
      server = await startServer(dir, mode === "proxy" ? ["--llm-proxy", mock.url + "/v1"] : []);
      tcp = await startProxy(server.url);
      pages = await startPageServer({ bundle, dsxUrl: server.url, mockUrl: mock.url });
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
      await pages?.close();
      await tcp?.close();
      await server?.stop();
      await mock?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    const open = async (chat) => {
      const page = await browser.context.newPage();
      page.on("pageerror", (e) => console.error(`[${mode} page error]`, e.message));
      await page.goto(`${pages.url}/?mode=${mode}&chat=${encodeURIComponent(chat)}&server=${encodeURIComponent(tcp.url)}`);
      await waitFor(() => page.evaluate(() => window.__ready === true), "the app to load");
      return page;
    };
    const send = async (page, text) => {
      await page.fill("#input", text);
      await page.click("#send");
    };
    const tokensShown = async (page, n) => waitFor(async () => tokenCount(await assistantText(page), n) > 0, `token ${n} on the page`);
    const finished = (page) => waitFor(async () => (await pageStatus(page)) === "ready" &&
      (await assistantText(page)).length > 0, "the answer to finish", 30000);
    const runEnd = async (chat) => waitFor(async () => (await sessionEvents(server.url, chat)).find((e) => e.type === "run.end"), "run.end in the session");

    test("1. a network cut mid-answer: the answer completes with the exact text once; the model is not cancelled", async () => {
      const chat = `kit-${mode}-drop-${Date.now()}`;
      lastChat = chat;
      const marker = `dsx-probe-${mode}-drop-${Date.now()}`;
      const page = await open(chat);
      const reads = [];  // the offsets the page's live reads started from
      page.on("request", (r) => {
        const u = new URL(r.url());
        if (u.pathname.endsWith("/events") && u.searchParams.get("live") === "sse") reads.push(u.searchParams.get("offset"));
      });
      await send(page, `count for me ${marker}`);
      await tokensShown(page, 10);
      const cutsBefore = tcp.cuts;
      tcp.cut(1500);
      const during = await assistantText(page);
      await finished(page);
      const msgs = await pageMessages(page);
      assert.equal(tcp.cuts, cutsBefore + 1);
      assert.ok(during.length < mock.expected.length, "the cut happened mid-answer");
      assert.deepEqual(msgs.map((m) => m.role), ["user", "assistant"], "one user and one assistant message");
      assert.equal(msgs[1].text, mock.expected, "the exact answer, each token once");
      assert.equal(await page.evaluate(() => document.getElementById("error").textContent), "");
      // The transport reconnected after the cut, from where it was, not from the run's start.
      assert.ok(reads.length >= 2, `the page read the session again after the cut (reads from ${reads.join(", ")})`);
      assert.ok(reads.at(-1) > reads[0], `the read after the cut resumed past the first one's start (${reads.join(", ")})`);
      const end = await runEnd(chat);
      assert.equal(end.data.reason, "done");
      const log = await mock.log(marker);
      assert.ok(log.some((e) => e.event === "done" && e.sent === kTokens), "the model finished its answer");
      assert.ok(!log.some((e) => e.event === "cancel"), "a network cut never cancels the model call");
      await page.close();
    });

    test("1b. the module works in the browser without a bundler: a plain import reads the chat's history", async () => {
      const page = await open(`kit-${mode}-plain-${Date.now()}`);
      // From the dsx server where it serves the kit (GET /ui/kit/dsx-chat-transport.js), else
      // the same file from the page's server.
      const served = await fetch(`${server.url}/ui/kit/dsx-chat-transport.js`);
      const src = (served.headers.get("content-type") || "").startsWith("text/javascript")
        ? `${tcp.url}/ui/kit/dsx-chat-transport.js` : `${pages.url}/kit/dsx-chat-transport.js`;
      const history = await page.evaluate(async ({ src, server, chat }) => {
        const { DsxChatTransport } = await import(src);
        const t = new DsxChatTransport({ server });
        return (await t.loadMessages(chat)).map((m) => [m.role, m.parts.map((p) => p.text).join("")]);
      }, { src, server: tcp.url, chat: lastChat });
      assert.deepEqual(history.map((h) => h[0]), ["user", "assistant"]);
      assert.equal(history[1][1], mock.expected);
      await page.close();
    });

    test("2. a second tab opened mid-answer shows the same answer live and ends with it once", async () => {
      const chat = `kit-${mode}-tabs-${Date.now()}`;
      const marker = `dsx-probe-${mode}-tabs-${Date.now()}`;
      const page1 = await open(chat);
      await send(page1, `count for me ${marker}`);
      await tokensShown(page1, 5);
      const page2 = await open(chat);
      // Live: the second tab shows part of the answer while the first one is still streaming.
      await waitFor(async () => (await assistantText(page2)).length > 0, "the answer in the second tab");
      const partial2 = await assistantText(page2);
      assert.ok(partial2.length < mock.expected.length, "the second tab saw the answer while it was being written");
      await finished(page1);
      await finished(page2);
      for (const [name, p] of [["first", page1], ["second", page2]]) {
        const msgs = await pageMessages(p);
        assert.deepEqual(msgs.map((m) => m.role), ["user", "assistant"], `${name} tab: one user and one assistant message`);
        assert.equal(msgs[0].text, `count for me ${marker}`, `${name} tab shows the prompt`);
        assert.equal(msgs[1].text, mock.expected, `${name} tab: the exact answer, each token once`);
      }
      await page1.close();
      await page2.close();
    });

    test("3. Stop ends the run cancelled and the model call is cancelled", async () => {
      const chat = `kit-${mode}-stop-${Date.now()}`;
      const marker = `dsx-probe-${mode}-stop-${Date.now()}`;
      const page = await open(chat);
      await send(page, `count for me ${marker}`);
      await tokensShown(page, 10);
      const watcher = await open(chat);  // a second tab watching the run
      await tokensShown(watcher, 11);
      await page.click("#stop");
      const end = await runEnd(chat);
      assert.equal(end.data.reason, "cancelled");
      const events = await sessionEvents(server.url, chat);
      const cancel = events.find((e) => e.type === "control.cancel" && e.run === end.run);
      assert.ok(cancel, "the Stop button posted control.cancel for the run");
      const ack = events.find((e) => e.type === "control.ack" && e.id === cancel.id);
      assert.equal(ack?.data?.outcome, "applied");
      const log = await waitFor(async () => {
        const l = await mock.log(marker);
        return l.some((e) => e.event === "cancel") ? l : null;
      }, "the mock's log to show the cancel");
      const c = log.find((e) => e.event === "cancel");
      assert.ok(c.sent < kTokens, `the model stopped early (sent ${c.sent} of ${kTokens})`);
      assert.ok(!log.some((e) => e.event === "done"), "the model never finished");
      assert.equal(await pageStatus(page), "ready");
      const text = await assistantText(page);
      assert.ok(text.length > 0 && mock.expected.startsWith(text), "the partial answer stays, a prefix of the full one");
      // The watching tab sees the run end too: ready, no error, exactly the text the session kept.
      const kept = events.filter((e) => e.type === "msg.append" && e.run === end.run).map((e) => e.data.text).join("");
      await waitFor(async () => (await pageStatus(watcher)) === "ready", "the watching tab to see the run end");
      assert.equal(await assistantText(watcher), kept);
      assert.equal(await watcher.evaluate(() => document.getElementById("error").textContent), "");
      await page.close();
      await watcher.close();
    });

    // Steer through the durable LLM proxy (the proxy applies control.steer; the backend mode's
    // agent does not take steering).
    if (mode === "proxy") {
      test("4. Steer mid-answer: acked applied, one assistant message with the partial answer then the continuation, finished once", async () => {
        const chat = `kit-${mode}-steer-${Date.now()}`;
        const marker = `dsx-probe-${mode}-steer-${Date.now()}`;
        const page = await open(chat);
        await send(page, `count for me ${marker}`);
        await tokensShown(page, 10);
        await page.fill("#steer-input", "shorter please");
        await page.click("#steer");
        const answer = await waitFor(() => page.evaluate(() => window.__steer), "the steer's answer");
        assert.ok(answer.ok, JSON.stringify(answer));
        await finished(page);
        const end = await runEnd(chat);
        assert.equal(end.data.reason, "done");
        const events = await sessionEvents(server.url, chat);
        const ack = events.find((e) => e.type === "control.ack" && e.id === answer.ok.outcome.id);
        assert.equal(ack?.data?.outcome, "applied", JSON.stringify(ack));
        const msgIds = [...new Set(events.filter((e) => e.type === "msg.start" && e.run === end.run).map((e) => e.msg))];
        assert.equal(msgIds.length, 2, "the run has the partial answer and the continuation");
        const textOf = (id) => events.filter((e) => e.type === "msg.append" && e.msg === id).map((e) => e.data.text).join("");
        const msgs = await page.evaluate(() => [...document.querySelectorAll(".msg")]
          .map((e) => ({ role: e.dataset.role, parts: Number(e.dataset.parts), text: e.textContent })));
        assert.deepEqual(msgs.map((m) => m.role), ["user", "assistant"], "one assistant message for the steered run");
        assert.equal(msgs[1].parts, 2, "two text parts: the partial answer, then the continuation");
        assert.ok(textOf(msgIds[0]).length > 0 && mock.expected.startsWith(textOf(msgIds[0])), "the partial answer is kept");
        assert.equal(msgs[1].text, textOf(msgIds[0]) + textOf(msgIds[1]), "the page shows exactly what the session kept, once");
        assert.equal(await page.evaluate(() => document.getElementById("error").textContent), "");
        // The model call was stopped at the steer and a second one made with the steer text.
        const log = await mock.log(marker);
        assert.ok(log.some((e) => e.event === "cancel"), "the first model call was stopped");
        await page.close();
      });
    }
  });
}

// Auth on, cross-origin (the page's origin is not the server's): the token goes to the proxy as
// X-Dsx-Token and to the session reads and the cancel as Authorization: Bearer (CORS preflights).
describe("proxy mode with auth", () => {
  let mock, server, pages, browser, token, dir;
  before(async () => {
    dir = tempDir("dsx-kitweb-auth-");
    const key = path.join(dir, "key");
    fs.writeFileSync(key, "s".repeat(48));
    mock = await startMock({ tokens: kTokens, intervalMs: 60 });
    server = await startServer(dir, ["--auth-key-file", key, "--llm-proxy", mock.url + "/v1"]);
    token = mintToken(key, "alice", "read,append,run,cancel_own");
    pages = await startPageServer({ bundle: await bundleApp(), dsxUrl: server.url, mockUrl: mock.url });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await pages?.close();
    await server?.stop();
    await mock?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("with a token: the answer streams, and Stop cancels the run (cancel_own)", async () => {
    const chat = `kit-auth-${Date.now()}`;
    const marker = `dsx-probe-auth-${Date.now()}`;
    const page = await browser.context.newPage();
    await page.goto(`${pages.url}/?mode=proxy&chat=${encodeURIComponent(chat)}&server=${encodeURIComponent(server.url)}&token=${encodeURIComponent(token)}`);
    await waitFor(() => page.evaluate(() => window.__ready === true), "the app to load");
    await page.fill("#input", `count for me ${marker}`);
    await page.click("#send");
    await waitFor(async () => tokenCount(await assistantText(page), 10) > 0, "token 10 on the page");
    await page.click("#stop");
    const log = await waitFor(async () => {
      const l = await mock.log(marker);
      return l.some((e) => e.event === "cancel") ? l : null;
    }, "the mock's log to show the cancel");
    assert.ok(!log.some((e) => e.event === "done"));
    // The upstream call is aborted first; run.end is written after it (wait for it, as runEnd does).
    const events = await waitFor(async () => {
      const res = await fetch(`${server.url}/v1/session/${encodeURIComponent(chat)}/events?offset=-1`, { headers: { Authorization: "Bearer " + token } });
      const evs = (await res.json()).events;
      return evs.some((e) => e.type === "run.end") ? evs : null;
    }, "run.end in the session");
    assert.equal(events.find((e) => e.type === "run.end")?.data?.reason, "cancelled");
    assert.equal(events.find((e) => e.type === "control.cancel")?.from?.sub, "alice", "the cancel was posted with alice's token");
    assert.equal(await page.evaluate(() => document.getElementById("error").textContent), "");
    await page.close();
  });
});

// An upstream that stalls: the proxy ends the run `error` ("upstream stalled 1 s") and useChat
// shows that sentence as its error (status "error"), not a spinner forever.
describe("proxy mode, upstream stalls", () => {
  let mock, server, pages, browser, dir;
  before(async () => {
    dir = tempDir("dsx-kitweb-stall-");
    mock = await startMock({ tokens: 3, intervalMs: 5000 });
    server = await startServer(dir, ["--llm-proxy", mock.url + "/v1", "--llm-proxy-idle-timeout-ms", "1000"]);
    pages = await startPageServer({ bundle: await bundleApp(), dsxUrl: server.url, mockUrl: mock.url });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await pages?.close();
    await server?.stop();
    await mock?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the run's error reaches useChat: status error, the proxy's sentence", async () => {
    const chat = `kit-stall-${Date.now()}`;
    const page = await browser.context.newPage();
    await page.goto(`${pages.url}/?mode=proxy&chat=${encodeURIComponent(chat)}&server=${encodeURIComponent(server.url)}`);
    await waitFor(() => page.evaluate(() => window.__ready === true), "the app to load");
    await page.fill("#input", "count slowly");
    await page.click("#send");
    await waitFor(async () => (await pageStatus(page)) === "error", "useChat to report the error");
    assert.equal(await page.evaluate(() => document.getElementById("error").textContent), "upstream stalled 1 s");
    const end = (await sessionEvents(server.url, chat)).find((e) => e.type === "run.end");
    assert.equal(end.data.reason, "error");
    await page.close();
  });
});
