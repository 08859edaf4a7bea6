// Screenshots of the web page (docs/web-ui.md) at desktop (1280x800) and phone (390x844) widths:
// waiting for a session, during a run, after Stop, a late join, a job with progress, charts and a
// table. Each state is also checked (no page error, no sideways scrolling) so the pictures in
// docs/ show a page that works. Writes DIR/<state>-<width>.png, DIR = $DSX_E2E_SHOTS_DIR
// (ctest: build/screenshots; tests/e2e/screenshots.sh: docs/screenshots); skipped without it.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import {
  chromiumPath, createSession, killAll, dsxBin, launchBrowser, pageText, postOk, sleep, startPrinter, startServer, tempDir, waitFor,
} from "./harness.mjs";

const shotsDir = process.env.DSX_E2E_SHOTS_DIR || "";
const kSkip = !fs.existsSync(chromiumPath) ? `no ${chromiumPath}` : !fs.existsSync(dsxBin) ? `no ${dsxBin}`
  : !shotsDir ? "DSX_E2E_SHOTS_DIR not set" : "";
const kSizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

const kReply = `## Plan

I looked at \`softmax.cu\`: the reduction reads each row **twice**. I will:

1. fuse the max and the sum into one pass
2. use \`float4\` loads where the row length allows
3. keep the old kernel as the reference for verification

\`\`\`cuda
float m = -INFINITY, s = 0.f;
for (int i = threadIdx.x; i < n; i += blockDim.x) {
  float x = row[i], m2 = fmaxf(m, x);
  s = s * __expf(m - m2) + __expf(x - m2);
  m = m2;
}
\`\`\`

> Online softmax: one read of the row instead of two.

The first candidates are compiling now; see [the kernel guide](https://example.com/kernels) for the method.
`;

let browser;
let server;
let counter = 0;
const newSession = (name) => `demo/${name}-${++counter}`;

async function openUi(session, size = kSizes.desktop) {
  const page = await browser.context.newPage();
  await page.setViewportSize(size);
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  await page.goto(`${server.url}/ui/${session}`);
  return page;
}

// Both widths of the page as it is now: checks the layout, then writes the two PNGs.
async function shoot(page, name) {
  for (const [label, size] of Object.entries(kSizes)) {
    await page.setViewportSize(size);
    // Charts redraw to their new width (throttled): wait until each viewBox matches its box.
    await waitFor(() => page.evaluate(() => [...document.querySelectorAll(".chart svg")].every((s) => {
      const vb = s.getAttribute("viewBox");
      return !vb || Math.abs(+vb.split(" ")[2] - Math.round(s.getBoundingClientRect().width)) <= 1;
    })), "charts at the new width");
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(wide <= 0, `${name} at ${label}: the page scrolls sideways by ${wide}px`);
    await page.screenshot({ path: path.join(shotsDir, `${name}-${label}.png`), animations: "disabled", caret: "hide" });
  }
  assert.deepEqual(page.errors, []);
}

const state = (page, sel, key) => page.evaluate(([s, k]) => document.querySelector(s)?.dataset[k] || "", [sel, key]);

describe("screenshots for docs/web-ui.md", { skip: kSkip || false }, () => {
  before(async () => {
    fs.mkdirSync(shotsDir, { recursive: true });
    server = await startServer(tempDir());
    browser = await launchBrowser();
  });
  after(async () => {
    killAll();
    await browser?.close();
    await server?.stop();
  });

  test("waiting for a session that does not exist yet", async () => {
    const page = await openUi(newSession("not-started"));
    await waitFor(() => state(page, "#conn", "state").then((s) => s === "waiting"), "waiting");
    await shoot(page, "waiting");
    await page.close();
  });

  test("during a run, then after Stop", async () => {
    const session = newSession("softmax-review");
    const agent = startPrinter(server.url, session, kReply, { chunk: 6, everyMs: 25, holdMs: 60000 });
    const other = await openUi(session);
    const page = await openUi(session);
    await waitFor(async () => (await pageText(page)).length > kReply.length * 0.6, "most of the reply");
    await page.fill("#steer-input", "also try 128 threads per row");
    await page.click("#steer-send");
    await waitFor(() => page.evaluate(() => !!document.querySelector('.event.ack[data-outcome="applied"]')), "steer ack");
    await shoot(page, "run");
    await waitFor(async () => (await pageText(page)) === kReply, "the whole reply");
    await page.click("#stop");
    await agent.exited;
    await waitFor(() => state(page, ".event.run-end", "reason").then((r) => r === "cancelled"), "run end");
    await waitFor(() => page.evaluate(() => document.querySelectorAll('.event.ack[data-outcome="applied"]').length === 2), "stop ack");
    await shoot(page, "stopped");
    await other.close();
    await page.close();
  });

  test("a late join: a finished run and one still streaming, from the compacted view", async () => {
    const session = newSession("late-join");
    const first = startPrinter(server.url, session, "Done: **3 files** changed, all tests pass.\n", { chunk: 50, everyMs: 10 });
    await first.exited;
    const second = startPrinter(server.url, session, kReply, { chunk: 5, everyMs: 30, holdMs: 60000 });
    await waitFor(async () => {
      const r = await fetch(`${server.url}/v1/session/${session}/view`);
      const v = await r.json();
      const m = (v.items || []).filter((i) => i.type === "msg");
      return m.length === 2 && m[1].data.text.length > kReply.length / 2;
    }, "the second run half way");
    const page = await openUi(session);
    await waitFor(() => page.evaluate(() => document.querySelectorAll(".msg").length === 2 && document.getElementById("conn").dataset.state === "open"), "the view");
    await shoot(page, "late-join");
    second.child.kill("SIGTERM");
    await second.exited;
    await page.close();
  });

  test("a job with progress bars, charts and a table", async () => {
    const session = newSession("kernel-gen-softmax");
    await createSession(server.url, session);
    const page = await openUi(session);
    await waitFor(() => state(page, "#conn", "state").then((s) => s === "open"), "connect");
    const { run } = await postOk(server.url, session, { type: "run.start", lane: "job", data: { lease_ms: 120000, command: "dsx kernel gen softmax --session demo/kernel-gen-softmax" } });
    await postOk(server.url, session, { type: "msg.start", run, msg: "status", data: { role: "assistant" } });
    await postOk(server.url, session, { type: "msg.append", run, msg: "status", data: { text: "Searching **softmax** kernels for `sm_90`: 120 candidates, each compiled, verified against the reference and timed.\n" } });
    const best = [];
    for (let i = 1; i <= 24; i++) {
      const score = 400 + 420 * (1 - Math.exp(-i / 8)) + (i % 3) * 6;
      best.push([i, Math.round(score * 10) / 10]);
      const drafts = [
        { type: "progress", run, data: { key: "candidates", label: "Candidates tried", done: i * 2, total: 120, unit: "candidates" } },
        { type: "progress", run, data: { key: "tests", label: "Verification tests run", done: i * 37, unit: "tests" } },  // no total
        { type: "metric", run, data: { name: "best GFLOP/s", step: i * 2, value: Math.max(...best.map((b) => b[1])) } },
        { type: "metric", run, data: { name: "candidate GFLOP/s", step: i * 2, value: score - 60 + ((i * 53) % 90) } },
      ];
      await postOk(server.url, session, drafts);
      await sleep(40);  // spread the events' timestamps: the page's rate and ETA come from them
    }
    const top = [...best].sort((a, b) => b[1] - a[1]).slice(0, 5);
    await postOk(server.url, session, { type: "table", run, data: { key: "top", title: "Best candidates so far",
      columns: ["rank", "candidate", "tile", "GFLOP/s", "verified"],
      rows: top.map((b, k) => [k + 1, `c${String(b[0] * 2).padStart(3, "0")}`, [32, 64, 128][b[0] % 3], b[1], true]) } });
    await waitFor(() => page.evaluate(() => document.querySelectorAll(".chart").length === 2 && !!document.querySelector(".table-card tbody tr")
      && document.querySelector('.progress[data-key="candidates"] .progress-count')?.textContent === "48 / 120 candidates"), "the board");
    await shoot(page, "job");
    await postOk(server.url, session, { type: "run.end", run, data: { reason: "done" } });
    await page.close();
  });
});
