// E2E tests of what the web page shows (issue 18): Markdown rendered safely, the stale "no
// session yet" banner cleared, people-facing labels instead of ids, progress/metric/table
// events drawn from the compacted view and from live events, and a phone-width layout without
// horizontal overflow. Real `dsx session serve`, real agents, headless Chromium.
// Run: DSX_BIN=build/bin/dsx node --test --test-concurrency=1 tests/e2e/render.test.mjs
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import {
  chromiumPath, createSession, killAll, dsxBin, launchBrowser, mintToken, pageText, post, postOk, sleep, startAgent, startPrinter,
  startServer, tempDir, waitFor, waitLines,
} from "./harness.mjs";

const kSkip = !fs.existsSync(chromiumPath) ? `no ${chromiumPath}` : !fs.existsSync(dsxBin) ? `no ${dsxBin}` : "";

let browser;
let server;
let counter = 0;
const newSession = (name) => `e2e/${name}-${process.pid}-${++counter}`;

// A page on /ui/<session>; records page errors and CSP violations (an injected handler or
// script that the CSP blocked still means the renderer let markup through).
async function openUi(base, session, { token = "", width = 1100, height = 720 } = {}) {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width, height });
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const id = session.split("/").map(encodeURIComponent).join("/");
  await page.goto(`${base}/ui/${id}${token ? "#token=" + token : ""}`);
  return page;
}

const msgState = (page) => page.evaluate(() => document.querySelector(".msg")?.dataset.state || "");
const waitDom = (page, fn, arg, what, ms = 20000) => waitFor(() => page.evaluate(fn, arg), what, ms);

describe("web page rendering in headless Chromium", { skip: kSkip || false }, () => {
  before(async () => {
    server = await startServer(tempDir());
    browser = await launchBrowser();
  });
  after(async () => {
    killAll();
    await browser?.close();
    browser = null;
    await server?.stop();
  });

  test("Markdown renders; <script>, <img onerror> and javascript: links in the stream show as text and never run", async () => {
    const session = newSession("md");
    const text = [
      "## Plan", "",
      "I will **profile** the kernel, then try `tile=64` and *compare*:", "",
      "- measure the baseline", "- sweep tiles", "  - 32 and 128", "",
      "```js", "const html = \"<b>not bold</b>\";", "```", "",
      "Docs: [the guide](https://example.com/guide) and <https://example.org/x>.",
      "<script>window.__pwned = 1</script>",
      "<img src=x onerror=\"window.__pwned = 2\">",
      "[click me](javascript:window.__pwned=3) [also](JaVa\tScRiPt:alert(1)) [rel](/v1/session/x)",
      "![pixel](https://example.com/p.png)", "",
    ].join("\n");
    // 7-character pieces: tags and fences arrive split across appends.
    const agent = startPrinter(server.url, session, text, { chunk: 7, everyMs: 5 });
    const page = await openUi(server.url, session);
    await agent.exited;
    await waitFor(async () => (await msgState(page)) === "done", "the message to end");
    assert.equal(await pageText(page), text, "the page holds the text as sent");
    const r = await page.evaluate(() => {
      const box = document.querySelector(".msg .text");
      const links = [...box.querySelectorAll("a")];
      return {
        h: box.querySelector("h2, h3")?.textContent, strong: box.querySelector("strong")?.textContent,
        em: box.querySelector("em")?.textContent, code: [...box.querySelectorAll(":not(pre) > code")].map((c) => c.textContent),
        items: [...box.querySelectorAll("li")].length, nested: box.querySelectorAll("li ul li").length,
        pre: box.querySelector("pre code")?.textContent,
        links: links.map((a) => ({ href: a.getAttribute("href"), rel: a.rel, target: a.target, text: a.textContent })),
        bad: box.querySelectorAll("script, img, iframe, object, embed, svg, [onerror], [onclick], [style]").length,
        shown: box.innerText, pwned: window.__pwned, violations: window.__violations,
      };
    });
    assert.equal(r.h, "Plan");
    assert.equal(r.strong, "profile");
    assert.equal(r.em, "compare");
    assert.deepEqual(r.code, ["tile=64"]);
    assert.equal(r.items, 3);
    assert.equal(r.nested, 1);
    assert.equal(r.pre, "const html = \"<b>not bold</b>\";");
    assert.deepEqual(r.links.map((l) => l.href), ["https://example.com/guide", "https://example.org/x", "https://example.com/p.png"]);
    for (const l of r.links) {
      assert.match(l.rel, /\bnoopener\b/);
      assert.equal(l.target, "_blank");
    }
    assert.equal(r.links[2].text, "image: pixel", "an image is a link, never loaded");
    assert.equal(r.bad, 0, "no element or attribute came from the stream's markup");
    assert.ok(r.shown.includes("<script>window.__pwned = 1</script>"), "the script tag shows as text");
    assert.ok(r.shown.includes("<img src=x onerror=\"window.__pwned = 2\">"), "the img tag shows as text");
    assert.ok(r.shown.includes("[click me](javascript:window.__pwned=3)"), "a javascript: link shows as its source");
    assert.ok(r.shown.includes("[rel](/v1/session/x)"), "a relative link shows as its source");
    assert.equal(r.pwned, undefined);
    assert.deepEqual(r.violations, []);
    // The source view shows the text exactly as sent.
    await page.click(".msg .view-toggle");
    assert.equal(await page.evaluate(() => document.querySelector(".msg .text").textContent), text);
    await page.click(".msg .view-toggle");
    assert.equal(await page.evaluate(() => document.querySelectorAll(".msg .text li").length), 3);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("Markdown renderer: streamed in pieces equals rendered at once, keeps unchanged blocks, survives junk", async () => {
    const session = newSession("md-unit");
    const page = await openUi(server.url, session);
    const r = await page.evaluate(async () => {
      const m = await import("/ui/markdown.js");
      const doc = "# T\n\npara *a* `b`\n- x\n- y\n\n- z\n\n```\ncode\n\n```\n> q\n> r\n\n| a | b |\n|--|--:|\n| 1 | 2 |\n\ntext\n1. a\n   - b\n2. c\n~~~\nunclosed";
      const whole = document.createElement("div");
      m.renderInto(whole, doc);
      const mismatches = [];
      for (let step = 1; step <= 9; step++) {
        const el = document.createElement("div");
        for (let k = step; k < doc.length + step; k += step) m.renderInto(el, doc.slice(0, k));
        if (el.innerHTML !== whole.innerHTML) mismatches.push(step);
      }
      // Growing text: the first block's element is kept (only the tail is rendered again).
      const el = document.createElement("div");
      m.renderInto(el, "# Title\n\nfirst paragraph\n\nsecond");
      const first = el.firstElementChild;
      m.renderInto(el, "# Title\n\nfirst paragraph\n\nsecond, longer");
      const kept = el.firstElementChild === first;
      // Random Markdown-ish junk: always finishes, never yields an element from markup.
      const alpha = "*_`[]()!<>#-+1. |\\\n~:ht/ ai=\"'";
      let seed = 7;
      const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
      let bad = 0;
      for (let n = 0; n < 2000; n++) {
        let s = "";
        for (let k = Math.floor(rnd() * 120); k > 0; k--) s += alpha[Math.floor(rnd() * alpha.length)];
        const d = document.createElement("div");
        m.renderInto(d, s);
        if (d.querySelector("script, img, iframe, [onerror], [style]")) bad++;
        for (const a of d.querySelectorAll("a")) if (!/^(https?|mailto):/.test(a.getAttribute("href"))) bad++;
      }
      const deep = document.createElement("div");
      m.renderInto(deep, ">".repeat(5000) + " x\n" + "[".repeat(5000) + "*".repeat(5000));
      // One 300,000-character line of each delimiter: linear work (a closer search per opener
      // would take minutes; a JSON line full of '[' is what agents print).
      const slow = {};
      for (const [name, line] of [["stars", "*".repeat(300000)], ["unders", "_a".repeat(150000)], ["brackets", "[".repeat(300000)],
        ["images", "![".repeat(150000)], ["ticks", "` ``".repeat(75000)], ["json", JSON.stringify(Array.from({ length: 30000 }, (_, k) => [k, [k]]))]]) {
        const t0 = performance.now();
        m.renderInto(document.createElement("div"), line);
        const ms = performance.now() - t0;
        if (ms > 10000) slow[name] = Math.round(ms);
      }
      return { mismatches, kept, bad, slow, safe: [m.safeHref("java\tscript:alert(1)"), m.safeHref(" https://a.b/c "), m.safeHref("data:text/html,x")] };
    });
    assert.deepEqual(r.mismatches, []);
    assert.equal(r.kept, true);
    assert.equal(r.bad, 0);
    assert.deepEqual(r.slow, {}, "long single-line inputs render in seconds at most");
    assert.deepEqual(r.safe, [null, "https://a.b/c", null]);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("the 'no session yet' banner opened before the session clears when it appears and stays away", async () => {
    const session = newSession("banner");
    const page = await openUi(server.url, session);
    await waitDom(page, () => !document.getElementById("notice").hidden, null, "the waiting notice");
    const first = await page.evaluate(() => ({ text: document.getElementById("notice").textContent,
      kind: document.getElementById("notice").dataset.kind, conn: document.getElementById("conn").dataset.state }));
    assert.match(first.text, /Waiting for session/);
    assert.equal(first.kind, "wait", "waiting is not an error");
    assert.equal(first.conn, "waiting");
    const agent = startAgent(server.url, session, { lines: 40, everyMs: 20 });
    await waitDom(page, () => document.getElementById("conn").dataset.state === "open", null, "the page to connect");
    assert.equal(await page.evaluate(() => document.getElementById("notice").hidden), true, "cleared when the session appeared");
    await agent.exited;
    await waitDom(page, () => document.querySelector(".event.run-end")?.dataset.reason === "done", null, "run end");
    await waitLines(page, 40);
    const after = await page.evaluate(() => ({ hidden: document.getElementById("notice").hidden, text: document.body.innerText }));
    assert.equal(after.hidden, true, "still cleared after the run");
    assert.doesNotMatch(after.text, /404|no session/);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("people read names, run numbers and times; ids only in tooltips; the stop icon is drawn, not a glyph", async () => {
    const session = newSession("labels");
    const agent = startAgent(server.url, session, { lines: 400, everyMs: 30 });
    const page = await openUi(server.url, session);
    await waitLines(page, 10);
    await page.fill("#steer-input", "shorter please");
    await page.click("#steer-send");
    await waitDom(page, () => !!document.querySelector('.event.ack[data-outcome="applied"]'), null, "steer ack");
    await page.click("#stop");
    await agent.exited;
    await waitDom(page, () => document.querySelector(".event.run-end")?.dataset.reason === "cancelled", null, "run end");
    await waitDom(page, () => document.querySelectorAll('.event.ack[data-outcome="applied"]').length === 2, null, "stop ack");
    const r = await page.evaluate(() => ({
      lines: [...document.querySelectorAll(".event")].map((e) => e.innerText),
      who: document.querySelector(".msg .who").innerText,
      titles: [...document.querySelectorAll(".event, .msg .who")].map((e) => e.title).join("\n"),
      visible: document.body.innerText,
      stopIcon: !!document.querySelector(".event.cancel svg.icon-stop") && !!document.querySelector("#stop svg.icon-stop"),
    }));
    assert.doesNotMatch(r.visible, /\b[rkm]-[0-9a-f]{4,}/, "no run, request or message id on screen");
    assert.doesNotMatch(r.visible, /[\u23f9\u25b6\u25a0\u21aa\u2713\u2717]/, "no glyphs a font may lack");
    assert.match(r.lines[0], /^Run 1 started by anonymous/);
    assert.match(r.who, /anonymous\s*·\s*run 1\s*·/);
    assert.ok(r.lines.some((l) => /anonymous steered run 1: shorter please/.test(l)), r.lines.join("\n"));
    assert.ok(r.lines.some((l) => /^Steering applied/.test(l)), r.lines.join("\n"));
    assert.ok(r.lines.some((l) => /anonymous asked run 1 to stop/.test(l)), r.lines.join("\n"));
    assert.ok(r.lines.some((l) => /^Stop applied/.test(l)), r.lines.join("\n"));
    assert.ok(r.lines.some((l) => /^Run 1 was stopped after \d+ s/.test(l)), r.lines.join("\n"));
    assert.match(r.titles, /run r-[0-9a-f]+/, "the run id is in a tooltip");
    assert.match(r.titles, /request k-[0-9a-f]+/, "the request id is in a tooltip");
    assert.equal(r.stopIcon, true);
    await page.close();
  });

  test("progress, metrics and tables render from the compacted view (late join) and from live events", async () => {
    const session = newSession("board");
    await createSession(server.url, session);
    const live = await openUi(server.url, session);  // open before any event: sees them live
    await waitDom(live, () => document.getElementById("conn").dataset.state === "open", null, "connect");
    assert.equal(await live.evaluate(() => document.getElementById("board").hidden), true, "no board without events");
    const start = await postOk(server.url, session, { type: "run.start", lane: "job", data: { lease_ms: 120000, command: "dsx kernel gen softmax" } });
    const run = start.run;
    const progress = (done, extra = {}) => ({ type: "progress", run, data: { key: "cand", label: "Candidates tried", done, total: 100, unit: "candidates", ...extra } });
    await postOk(server.url, session, progress(10));
    await sleep(300);  // two samples at least 200 ms apart (server timestamps) give a rate
    await postOk(server.url, session, progress(30));
    await postOk(server.url, session, { type: "progress", run, data: { key: "files", done: 1234, unit: "files", label: "Files scanned" } });
    await postOk(server.url, session, Array.from({ length: 40 }, (_, i) => ({ type: "metric", run, data: { name: "loss", step: i * 10, value: 2 / (i + 1) } })));
    const table = (rows) => ({ type: "table", run, data: { key: "top", title: "Best candidates", columns: ["rank", "tile", "GFLOP/s", "verified", "note"], rows } });
    await postOk(server.url, session, table([[1, 64, 812.5, true, "vectorized"], [2, 128, 790.25, true, null], [3, 32, 655, false, "<b>bank</b> conflicts"]]));
    const late = await openUi(server.url, session);  // joins from the view

    const board = (page) => page.evaluate(() => {
      const bar = (k) => document.querySelector(`.progress[data-key="${k}"]`);
      const chart = document.querySelector('.chart[data-metric="loss"]');
      const rows = [...document.querySelectorAll('.table-card[data-key="top"] tbody tr')].map((r) => [...r.children].map((c) => c.textContent));
      return {
        hidden: document.getElementById("board").hidden,
        count: bar("cand")?.querySelector(".progress-count").textContent, width: bar("cand")?.querySelector(".fill").style.width,
        state: bar("cand")?.dataset.state, stats: bar("cand")?.querySelector(".progress-stats").textContent,
        eta: bar("cand")?.querySelector(".progress-eta")?.textContent || "",
        files: bar("files")?.querySelector(".progress-count").textContent, indeterminate: !!bar("files")?.querySelector(".bar.indeterminate"),
        points: chart?.dataset.points, path: chart?.querySelector("path.line")?.getAttribute("d")?.length || 0,
        readout: chart?.querySelector(".chart-value").textContent, title: document.querySelector(".table-card .table-title")?.textContent,
        rows, tableHtml: document.querySelector(".table-card")?.innerHTML.includes("<b>"),
      };
    });
    for (const page of [live, late]) {
      await waitFor(async () => { const b = await board(page); return b.count && b.points === "40" && b.rows.length === 3 && b.files; }, "the board");
      const b = await board(page);
      assert.equal(b.hidden, false);
      assert.equal(b.count, "30 / 100 candidates");
      assert.equal(b.width, "30%");
      assert.equal(b.state, "active");
      assert.match(b.stats, /^30% · [\d.]+ candidates\/(s|min)$/, "a rate from the events' timestamps");
      assert.match(b.eta, /^(about .+ left|almost done)$/);
      assert.equal(b.files, "1234 files");
      assert.equal(b.indeterminate, true, "no total: an indeterminate bar");
      assert.ok(b.path > 20, "the chart has a line");
      assert.equal(b.readout, "0.05 at step 390");
      assert.equal(b.title, "Best candidates");
      assert.deepEqual(b.rows[1], ["2", "128", "790.25", "true", "—"]);
      assert.equal(b.rows[2][4], "<b>bank</b> conflicts", "markup in a cell is text");
      assert.equal(b.tableHtml, false);
    }
    // Live updates reach both pages.
    await postOk(server.url, session, progress(100));
    await postOk(server.url, session, Array.from({ length: 10 }, (_, i) => ({ type: "metric", run, data: { name: "loss", step: 400 + i * 10, value: 0.04 } })));
    await postOk(server.url, session, { type: "metric", run, data: { name: "accuracy", step: 1, value: 0.5 } });
    await postOk(server.url, session, table([[1, 256, 901, true, "new best"], [2, 64, 812.5, true, ""], [3, 128, 790.25, true, null], [4, 32, 655, false, null]]));
    // A malformed event: refused by the server (400), or ignored by the page if ever stored.
    const badAnswer = await post(server.url, session, { type: "progress", data: { key: "cand", done: "lots" } });
    assert.ok(badAnswer.status === 400 || badAnswer.status < 300, `status ${badAnswer.status}`);
    for (const page of [live, late]) {
      await waitFor(async () => { const b = await board(page); return b.state === "done" && b.points === "50" && b.rows.length === 4; }, "live updates");
      const b = await board(page);
      assert.equal(b.count, "100 / 100 candidates");
      assert.match(b.stats, /100% · done/);
      assert.equal(b.rows[0][4], "new best");
      await waitDom(page, () => !!document.querySelector('.chart[data-metric="accuracy"]'), null, "a second chart");
      assert.deepEqual(page.errors, []);
    }
    // Many metric names: the page draws a bounded number of charts and says how many it left out.
    await postOk(server.url, session, Array.from({ length: 30 }, (_, i) => ({ type: "metric", run, data: { name: `m${String(i).padStart(2, "0")}`, step: 1, value: i } })));
    await waitDom(live, () => /Not shown: 8 charts/.test(document.querySelector(".board-note").textContent), null, "the note");
    assert.equal(await live.evaluate(() => document.querySelectorAll(".chart").length), 24);
    await postOk(server.url, session, { type: "run.end", run, data: { reason: "done" } });
    await live.close();
    await late.close();
  });

  test("rate and ETA come from the events' timestamps (progress.js with made-up samples)", async () => {
    const page = await openUi(server.url, newSession("rate"));
    const r = await page.evaluate(async () => {
      const p = await import("/ui/progress.js");
      let s = p.addSample([], 1000, 0, 100, 100);
      s = p.addSample(s, 11000, 50, 100, 100);
      const two = p.progressStats(s, 100);
      const restarted = p.addSample(s, 12000, 5, 100, 100);  // done went down: a new list
      const joined = p.progressStats([[61000, 30]], 100, 1000);  // one sample + the run's start
      const alone = p.progressStats([[61000, 30]], 100);
      const noTotal = p.progressStats(s, null);
      return { two, restarted: restarted.length, joined, alone, noTotal, rate: p.fmtRate(0.5, "steps"), dur: p.fmtDuration(200000) };
    });
    assert.deepEqual(r.two, { rate: 5, etaMs: 10000 });
    assert.equal(r.restarted, 1);
    assert.deepEqual(r.joined, { rate: 0.5, etaMs: 140000 });
    assert.deepEqual(r.alone, { rate: null, etaMs: null });
    assert.deepEqual(r.noTotal, { rate: 5, etaMs: null });
    assert.equal(r.rate, "30 steps/min");
    assert.equal(r.dur, "3 min 20 s");
    await page.close();
  });
});

describe("web page at phone width (390 px)", { skip: kSkip || false }, () => {
  let authServer;
  let keyFile;
  before(async () => {
    const dir = tempDir();
    keyFile = path.join(dir, "key");
    fs.writeFileSync(keyFile, "e2e-secret-" + "y".repeat(40) + "\n", { mode: 0o600 });
    authServer = await startServer(dir, ["--auth-key-file", keyFile]);
    if (!browser) browser = await launchBrowser();
  });
  after(async () => {
    killAll();
    await browser?.close();
    browser = null;
    await authServer?.stop();
  });

  test("presence chips, messages, board and footer fit: no horizontal overflow, no chip wraps inside", async () => {
    const session = `e2e/a-rather-long-session-name-for-a-phone-screen-${process.pid}`;
    const agentToken = mintToken(keyFile, "kernel-agent", "read,append,run,presence");
    const longText = "Result:\n\n```\n" + "x".repeat(300) + "\n```\n\n| " + Array.from({ length: 12 }, (_, i) => `column ${i}`).join(" | ") +
      " |\n|" + "---|".repeat(12) + "\n| " + Array.from({ length: 12 }, (_, i) => `value ${i}`).join(" | ") + " |\n\n" + "averyveryverylongwordwithoutanyspaces".repeat(8) + "\n";
    const agent = startPrinter(authServer.url, session, longText, { chunk: 200, everyMs: 10, holdMs: 60000, token: agentToken });
    const names = ["alice", "bob-the-reviewer", "carol", "dmitri-from-the-night-shift"];
    const others = [];
    for (const n of names.slice(1)) others.push(await openUi(authServer.url, session, { token: mintToken(keyFile, n, "read,presence") }));
    const page = await openUi(authServer.url, session, { token: mintToken(keyFile, names[0], "read,append,presence"), width: 390, height: 844 });
    await waitFor(async () => (await pageText(page)) === longText, "the reply");
    await waitDom(page, () => window.dsxSession.members.length >= 5, null, "presence of the agent and four people");
    const run = await page.evaluate(() => [...window.dsxSession.runs.keys()][0]);
    const wide = { type: "table", run, data: { key: "wide", title: "A table much wider than a phone", columns: Array.from({ length: 12 }, (_, i) => `metric ${i}`),
      rows: [Array.from({ length: 12 }, (_, i) => i * 1000.5)] } };
    const headers = { "Content-Type": "application/json", Authorization: "Bearer " + agentToken };
    const url = `${authServer.url}/v1/session/${session}/events`;
    for (const d of [wide, { type: "progress", run, data: { key: "k", label: "A long label for the progress of this job on a phone", done: 3, total: 9, unit: "candidates" } },
      { type: "metric", run, data: { name: "loss", step: 1, value: 1.5 } }, { type: "metric", run, data: { name: "loss", step: 2, value: 1.2 } }]) {
      const a = await fetch(url, { method: "POST", headers, body: JSON.stringify(d) });
      assert.ok(a.status < 300, `${a.status} ${await a.text()}`);
    }
    await waitDom(page, () => !!document.querySelector('.table-card[data-key="wide"]') && !!document.querySelector(".chart"), null, "the board");
    const measure = () => page.evaluate(() => {
      const vw = document.documentElement.clientWidth;
      const out = (sel) => [...document.querySelectorAll(sel)].filter((e) => {
        const b = e.getBoundingClientRect();
        return b.left < -0.5 || b.right > vw + 0.5;
      }).map((e) => `${e.tagName}.${e.className} ${e.textContent.slice(0, 40)}`);
      const chips = [...document.querySelectorAll("#presence .member")].map((c) => c.getBoundingClientRect().height);
      return {
        vw, scroll: document.documentElement.scrollWidth, bodyScroll: document.body.scrollWidth,
        outside: out("header > *, #presence .member, #notice, .msg, .event, .progress, .chart, .table-card, footer, footer *"),
        chipHeights: chips, lineHeight: parseFloat(getComputedStyle(document.querySelector("#presence .member")).lineHeight),
        header: document.querySelector("header").getBoundingClientRect().height,
        title: (() => { const t = document.querySelector(".title"); return t.scrollWidth > t.clientWidth && getComputedStyle(t).textOverflow === "ellipsis"; })(),
      };
    });
    const r = await measure();
    if (process.env.DSX_E2E_DEBUG_SHOT) await page.screenshot({ path: process.env.DSX_E2E_DEBUG_SHOT });
    const row = await page.evaluate(() => [...document.querySelectorAll("#presence .member")].map((c) => c.textContent));
    assert.match(row[0], /^kernel-agent · run 1 · /, "the agent first, with its run number");
    assert.match(row[row.length - 1], /^\+\d$/, "what does not fit is one +N chip");
    assert.ok(r.header <= 100, `header ${r.header}px tall`);
    check(r);
    // +N shows everyone (wrapped rows of whole chips), "less" folds them again.
    await page.click("#presence .member.more");
    await waitDom(page, () => document.querySelectorAll("#presence .member:not(.more)").length === 5, null, "all chips");
    check(await measure());
    await page.click("#presence .member.more");
    await waitDom(page, () => /^\+\d$/.test(document.querySelector("#presence .member:last-child").textContent), null, "folded");
    assert.deepEqual(page.errors, []);
    agent.child.kill("SIGTERM");
    await agent.exited;
    for (const p of others) await p.close();
    await page.close();
  });
});

function check(r) {
  assert.equal(r.vw, 390);
  assert.ok(r.scroll <= r.vw && r.bodyScroll <= r.vw, `page scrolls sideways: ${r.scroll}/${r.bodyScroll} > ${r.vw}`);
  assert.deepEqual(r.outside, [], "everything sits inside the screen");
  for (const h of r.chipHeights) assert.ok(h <= r.lineHeight + 6, `a chip wrapped inside: ${h}px`);
  assert.equal(r.title, true, "a long session name is cut with an ellipsis");
}
