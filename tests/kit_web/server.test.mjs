// The transport in Node against a real `dsx session serve` (no browser): reconnectToStream
// answers null without an active run and replays the active run from its start when nothing
// is stored (a new device: the run's start comes from the session view); loadMessages builds
// the history; auth through the LLM proxy; the server serves the module at
// /ui/kit/dsx-chat-transport.js.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { startServer, tempDir, mintToken } from "../e2e/harness.mjs";
import { here, startMock } from "./kit.mjs";
import { DsxChatTransport, messageIdForRun } from "../../clients/js/ai-sdk-transport/dsx-chat-transport.js";

let server;
const dir = tempDir("dsx-kitweb-node-");
before(async () => { server = await startServer(dir); });
after(async () => {
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const post = async (sid, ev) => {
  const r = await fetch(`${server.url}/v1/session/${encodeURIComponent(sid)}/events`, { method: "POST", body: JSON.stringify(ev) });
  const j = await r.json();
  assert.ok(r.ok, `${ev.type}: ${r.status} ${j.error}`);
  return j;
};
async function collect(stream) {
  const out = [];
  for await (const c of stream) out.push(c);
  return out;
}

test("reconnectToStream: null without a session or an active run; the active run from its start otherwise", async () => {
  const sid = `node-${Date.now()}`;
  const t = new DsxChatTransport({ server: server.url, storage: null });
  assert.equal(await t.reconnectToStream({ chatId: sid }), null, "no session: null");
  await fetch(`${server.url}/v1/session/${sid}`, { method: "PUT" });
  await post(sid, { type: "user.message", data: { text: "count" } });
  assert.equal(await t.reconnectToStream({ chatId: sid }), null, "no run: null");
  const { run } = await post(sid, { type: "run.start" });
  await post(sid, { type: "msg.start", run, msg: "m1", data: { role: "assistant" } });
  await post(sid, { type: "msg.append", run, msg: "m1", data: { text: "one " } });
  await post(sid, { type: "msg.append", run, msg: "m1", data: { text: "two " } });
  // A transport with nothing stored (another device) finds the run's start in the view.
  const s = await new DsxChatTransport({ server: server.url, storage: null }).reconnectToStream({ chatId: sid });
  assert.ok(s, "an active run: a stream");
  const got = collect(s);
  await post(sid, { type: "msg.append", run, msg: "m1", data: { text: "three" } });
  await post(sid, { type: "msg.end", run, msg: "m1" });
  await post(sid, { type: "run.end", run, data: { reason: "done" } });
  const chunks = await got;
  assert.equal(chunks[0].type, "start");
  assert.equal(chunks[0].messageId, messageIdForRun(run));
  assert.equal(chunks.filter((c) => c.type === "text-delta").map((c) => c.delta).join(""), "one two three", "the whole run, once");
  assert.deepEqual(chunks.slice(-2).map((c) => c.type), ["text-end", "finish"]);
  assert.equal(await t.reconnectToStream({ chatId: sid }), null, "ended: null");

  const history = await t.loadMessages(sid);
  assert.deepEqual(history.map((m) => [m.role, m.parts.map((p) => p.text).join("")]), [["user", "count"], ["assistant", "one two three"]]);
  assert.equal(history[1].id, messageIdForRun(run));
});

test("a refused read (404: no such session) ends the stream with an error chunk, not a retry loop", async () => {
  const t = new DsxChatTransport({ server: server.url, storage: null, start: async () => ({ run: "r-x", offset: "-1", sessionId: "no-such-session-" + Date.now() }) });
  const chunks = await collect(await t.sendMessages({ chatId: "c", messages: [] }));
  assert.equal(chunks.at(-1).type, "error");
  assert.match(chunks.at(-1).errorText, /HTTP 404/);
});

test("dsx session serve serves the module at /ui/kit/dsx-chat-transport.js", async (t) => {
  const res = await fetch(`${server.url}/ui/kit/dsx-chat-transport.js`);
  const body = await res.text();
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/javascript/);
  assert.equal(body, fs.readFileSync(path.join(here, "../../clients/js/ai-sdk-transport/dsx-chat-transport.js"), "utf8"));
});

// Through the real LLM proxy with auth on: the token goes to the proxy as X-Dsx-Token and to the
// session reads as Authorization: Bearer; no token is a clear 401 from sendMessages.
test("with auth: through the LLM proxy with a token, the full answer; without one, a clear 401", async () => {
  const dir = tempDir("dsx-kitweb-auth-");
  const key = path.join(dir, "key");
  fs.writeFileSync(key, "k".repeat(48));
  const mock = await startMock({ tokens: 12, intervalMs: 5 });
  const authed = await startServer(dir, ["--auth-key-file", key, "--llm-proxy", mock.url + "/v1"]);
  try {
    const token = mintToken(key, "alice", "read,append,run,cancel_own");
    const tr = new DsxChatTransport({ server: authed.url, token: async () => token, storage: null, model: "dsx-mock" });
    const messages = [{ id: "u1", role: "user", parts: [{ type: "text", text: "count dsx-probe-node-auth" }] }];
    const chunks = await collect(await tr.sendMessages({ chatId: `auth-${Date.now()}`, messages, trigger: "submit-message" }));
    assert.equal(chunks.filter((c) => c.type === "text-delta").map((c) => c.delta).join(""), mock.expected);
    assert.equal(chunks.at(-1).type, "finish");
    const anon = new DsxChatTransport({ server: authed.url, storage: null, model: "dsx-mock" });
    await assert.rejects(anon.sendMessages({ chatId: `auth-anon-${Date.now()}`, messages, trigger: "submit-message" }),
      (e) => e.status === 401 && /LLM proxy request failed: HTTP 401/.test(e.message));
  } finally {
    await authed.stop();
    await mock.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("steer through the LLM proxy: the proxy acks it applied and the open stream gets the continuation as a second part of the same message, finished once", async () => {
  const dir = tempDir("dsx-kitweb-steer-");
  const mock = await startMock({ tokens: 400, intervalMs: 10 });
  const srv = await startServer(dir, ["--llm-proxy", mock.url + "/v1"]);
  try {
    const tr = new DsxChatTransport({ server: srv.url, storage: null, model: "dsx-mock" });
    const chatId = `steer-${Date.now()}`;
    await assert.rejects(tr.steer(chatId, "too early"), /no active run to steer/);
    const messages = [{ id: "u1", role: "user", parts: [{ type: "text", text: "count dsx-probe-node-steer" }] }];
    const reader = (await tr.sendMessages({ chatId, messages, trigger: "submit-message" })).getReader();
    const chunks = [];
    while (chunks.filter((c) => c.type === "text-delta").length < 3) chunks.push((await reader.read()).value);
    const answer = await tr.steer(chatId, "shorter please");
    assert.equal(answer.outcome?.outcome, "pending", JSON.stringify(answer));
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    const starts = chunks.filter((c) => c.type === "text-start").map((c) => c.id);
    assert.equal(starts.length, 2, "the partial answer and the continuation: " + JSON.stringify(starts));
    assert.equal(chunks.filter((c) => c.type === "start").length, 1);
    assert.equal(chunks.filter((c) => c.type === "finish").length, 1);
    assert.equal(chunks.at(-1).type, "finish");
    const partText = (id) => chunks.filter((c) => c.type === "text-delta" && c.id === id).map((c) => c.delta).join("");
    assert.ok(partText(starts[0]).length > 0 && mock.expected.startsWith(partText(starts[0])), "the partial answer is kept");
    assert.ok(partText(starts[1]).length > 0, "the continuation streamed into the same message");
    // The proxy's ack in the session, for the id the server gave the steer.
    const { events } = await (await fetch(`${srv.url}/v1/session/${encodeURIComponent(chatId)}/events?offset=-1`)).json();
    const ack = events.find((e) => e.type === "control.ack" && e.id === answer.outcome.id);
    assert.equal(ack?.data?.outcome, "applied", JSON.stringify(ack));
    await assert.rejects(tr.steer(chatId, "after the end"), /no active run to steer/);
  } finally {
    await srv.stop();
    await mock.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
