// Node-only tests of @dsx/ai-sdk-transport: the session event -> UIMessageChunk mapping, the SSE
// parser, the UIMessage -> OpenAI conversion, and the abort rules (a Stop posts control.cancel;
// a resume superseded by a newer one does not) with a fake fetch. No server, no browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  createRunChunkMapper, createSseParser, toOpenAiMessages, messageIdForRun, DsxChatTransport,
} from "../../clients/js/ai-sdk-transport/dsx-chat-transport.js";

const ev = (type, extra = {}) => ({ type, run: "r-1", ...extra });

test("a run maps to start, text-start, deltas, text-end, finish", () => {
  const m = createRunChunkMapper("r-1");
  const chunks = [
    ...m.startChunks(),
    ...m.map(ev("run.start", { data: { epoch: 1 } })),
    ...m.map(ev("msg.start", { msg: "m-1", data: { role: "assistant" } })),
    ...m.map(ev("msg.append", { msg: "m-1", data: { text: "Hel" } })),
    ...m.map(ev("msg.append", { msg: "m-1", data: { text: "" } })),
    ...m.map(ev("msg.append", { msg: "m-1", data: { text: "lo" } })),
    ...m.map(ev("msg.end", { msg: "m-1" })),
    ...m.map(ev("run.end", { data: { reason: "done" } })),
  ];
  assert.deepEqual(chunks, [
    { type: "start", messageId: messageIdForRun("r-1") },
    { type: "text-start", id: "m-1" },
    { type: "text-delta", id: "m-1", delta: "Hel" },
    { type: "text-delta", id: "m-1", delta: "lo" },
    { type: "text-end", id: "m-1" },
    { type: "finish", finishReason: "stop" },
  ]);
  assert.equal(m.done, true);
  assert.deepEqual(m.map(ev("msg.append", { msg: "m-1", data: { text: "late" } })), [], "nothing after run.end");
});

test("other runs, application and control events give no chunks", () => {
  const m = createRunChunkMapper("r-1");
  assert.deepEqual(m.map({ type: "msg.append", run: "r-2", msg: "m-9", data: { text: "x" } }), []);
  assert.deepEqual(m.map({ type: "user.message", data: { text: "hi" } }), []);
  assert.deepEqual(m.map(ev("control.cancel", { id: "k-1" })), []);
  assert.deepEqual(m.map(ev("control.ack", { id: "k-1", data: { outcome: "applied" } })), []);
  assert.deepEqual(m.map(null), []);
  assert.deepEqual(m.map("x"), []);
  assert.equal(m.done, false);
});

test("a read that starts inside a message still opens its text part; run.end closes open parts", () => {
  const m = createRunChunkMapper("r-1");
  assert.deepEqual(m.map(ev("msg.append", { msg: "m-1", data: { text: "a" } })),
    [{ type: "text-start", id: "m-1" }, { type: "text-delta", id: "m-1", delta: "a" }]);
  assert.deepEqual(m.map(ev("msg.start", { msg: "m-2" })), [{ type: "text-start", id: "m-2" }]);
  assert.deepEqual(m.map(ev("msg.end", { msg: "m-3" })), [], "text-end only for an open part");
  assert.deepEqual(m.map(ev("run.end", { data: { reason: "cancelled" } })), [
    { type: "text-end", id: "m-1" }, { type: "text-end", id: "m-2" },
    { type: "abort", reason: "cancelled" }, { type: "finish", finishReason: "other" },
  ]);
});

test("run.end interrupted (the runner got Ctrl-C) is a stop, not an error", () => {
  const m = createRunChunkMapper("r-1");
  m.map(ev("msg.append", { msg: "m-1", data: { text: "a" } }));
  assert.deepEqual(m.map(ev("run.end", { data: { reason: "interrupted", interrupted: "SIGINT" } })), [
    { type: "text-end", id: "m-1" }, { type: "abort", reason: "interrupted" }, { type: "finish", finishReason: "other" },
  ]);
});

test("run.end error and agent_lost become an error chunk with the reason", () => {
  const a = createRunChunkMapper("r-1");
  assert.deepEqual(a.map(ev("run.end", { data: { reason: "error", error: "upstream answered 500: boom" } })),
    [{ type: "error", errorText: "upstream answered 500: boom" }]);
  const b = createRunChunkMapper("r-1");
  assert.match(b.map(ev("run.end", { data: { reason: "agent_lost" } }))[0].errorText, /lease lapsed/);
  const c = createRunChunkMapper("r-1");
  assert.deepEqual(c.map(ev("run.end", { data: { reason: "error" } })), [{ type: "error", errorText: "the run ended: error" }]);
});

const toolRun = () => [
  ev("msg.start", { msg: "m-1", data: { role: "assistant" } }),
  ev("msg.append", { msg: "m-1", data: { text: "Checking." } }),
  ev("tool.call", { msg: "m-1", data: { id: "call_a", name: "get_weather", arguments: '{"city":"Paris"}' } }),
  ev("tool.call", { msg: "m-1", data: { id: "call_b", name: "get_time", arguments: '{"tz":' } }),
  ev("tool.call", { msg: "m-1", data: { id: 7, name: "bad" } }),
  ev("msg.end", { msg: "m-1" }),
  ev("run.end", { data: { reason: "done" } }),
];

test("tool.call events (stored by the LLM proxy) become dynamic tool parts; bad arguments an input error", () => {
  const m = createRunChunkMapper("r-1");
  const chunks = toolRun().flatMap((e) => m.map(e));
  assert.deepEqual(chunks.filter((c) => c.type.startsWith("tool-")), [
    { type: "tool-input-available", toolCallId: "call_a", toolName: "get_weather", dynamic: true, input: { city: "Paris" } },
    { type: "tool-input-error", toolCallId: "call_b", toolName: "get_time", dynamic: true, input: '{"tz":',
      errorText: "the tool call's arguments are not JSON" },
  ]);
  const cut = createRunChunkMapper("r-1");
  const [c] = cut.map(ev("tool.call", { msg: "m-1", data: { id: "c", name: "f", arguments: "{}", incomplete: true } }));
  assert.equal(c.type, "tool-input-error", "a call of a run that did not end well is never offered as complete");
});

test("the AI SDK builds tool parts from those chunks (when `ai` is installed)", async (t) => {
  let ai;
  try {
    ai = await import("ai");
  } catch {
    t.skip("no node_modules (npm ci in tests/kit_web)");
    return;
  }
  const m = createRunChunkMapper("r-1");
  const chunks = [...m.startChunks(), ...toolRun().flatMap((e) => m.map(e))];
  const stream = new ReadableStream({ start(c) { for (const x of chunks) c.enqueue(x); c.close(); } });
  let last;
  for await (const msg of ai.readUIMessageStream({ stream })) last = msg;
  const tools = last.parts.filter((p) => p.type === "dynamic-tool");
  assert.equal(tools.length, 2);
  assert.deepEqual([tools[0].toolName, tools[0].state, tools[0].input], ["get_weather", "input-available", { city: "Paris" }]);
  assert.equal(tools[1].state, "output-error");
  assert.ok(last.parts.some((p) => p.type === "text" && p.text === "Checking."));
});

test("hostile event shapes never throw and give no chunks", () => {
  const m = createRunChunkMapper("r-1");
  for (const bad of [ev("msg.append", { msg: 5, data: { text: "x" } }), ev("msg.append", { msg: "m", data: { text: 5 } }),
    ev("msg.append", { msg: "m", data: null }), ev("msg.start", { msg: { a: 1 } }), ev("msg.end", {}), { run: "r-1" },
    ev("tool.call", { data: { id: "", name: "f" } }), ev("tool.call", { data: { id: "c", name: 3 } }),
    ev("tool.call", { data: [1, 2] }), ev("tool.call", {})]) {
    assert.deepEqual(m.map(bad), []);
  }
  assert.deepEqual(m.map(ev("run.end", { data: "nope" })), [{ type: "finish", finishReason: "stop" }], "run.end without a reason: done");
});

test("the SSE parser splits events across chunk boundaries, CRLF and comments", () => {
  const got = [];
  const p = createSseParser((e) => got.push(e));
  const text = "retry: 1000\r\n\r\nid: 0_1\r\ndata: {\"a\":1}\r\n\r\n: keep-alive\n\nevent: presence\ndata: {}\n\nid: 0_2\ndata: x\ndata: y\n\n";
  for (const c of text) p.push(c);  // one character at a time
  assert.deepEqual(got, [
    { event: "message", id: "0_1", data: "{\"a\":1}" },
    { event: "presence", id: null, data: "{}" },
    { event: "message", id: "0_2", data: "x\ny" },
  ]);
});

test("the SSE parser takes a 4 MB event in 4 kB pieces in linear time", () => {
  const got = [];
  const p = createSseParser((e) => got.push(e));
  const big = "x".repeat(4 << 20);
  const text = `id: 0_9\ndata: ${big}\n\n`;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < text.length; i += 4096) p.push(text.slice(i, i + 4096));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.equal(got.length, 1);
  assert.equal(got[0].data.length, big.length);
  assert.ok(ms < 2000, `took ${ms} ms`);  // quadratic rescanning took minutes
});

test("UIMessages become OpenAI chat messages (text parts joined, empty assistant turns dropped)", () => {
  assert.deepEqual(toOpenAiMessages([
    { role: "system", parts: [{ type: "text", text: "be brief" }] },
    { role: "user", parts: [{ type: "text", text: "a" }, { type: "file", url: "x" }, { type: "text", text: "b" }] },
    { role: "assistant", parts: [{ type: "step-start" }] },
    { role: "tool", parts: [] },
    null,
  ]), [{ role: "system", content: "be brief" }, { role: "user", content: "ab" }]);
});

// A fake server: GET …/events?live=sse streams `events` and then stays open until aborted;
// POST …/events records the body.
function fakeFetch(events) {
  const posts = [];
  const fetch = async (url, init = {}) => {
    const u = new URL(url);
    if (init.method === "POST") {
      posts.push({ path: u.pathname, body: JSON.parse(init.body), headers: init.headers });
      return new Response(JSON.stringify({ offset: "0_9", outcome: { outcome: "pending" } }), { status: 200 });
    }
    const body = new ReadableStream({
      start(c) {
        for (const e of events) c.enqueue(new TextEncoder().encode(`id: ${e.offset}\ndata: ${JSON.stringify(e)}\n\n`));
        init.signal?.addEventListener("abort", () => c.error(new DOMException("aborted", "AbortError")));
      },
    });
    return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
  };
  return { fetch, posts };
}

const started = [{ offset: "0_1", type: "run.start", run: "r-1" }, { offset: "0_2", type: "msg.start", run: "r-1", msg: "m" },
  { offset: "0_3", type: "msg.append", run: "r-1", msg: "m", data: { text: "hi" } }];

async function readUntil(reader, n) {
  const out = [];
  while (out.length < n) out.push((await reader.read()).value);
  return out;
}

test("the abort signal (Stop) posts control.cancel for the run, with the token", async () => {
  const f = fakeFetch(started);
  const t = new DsxChatTransport({ server: "http://dsx.test", token: "tok", fetch: f.fetch, storage: null,
    start: async () => ({ run: "r-1", offset: "-1" }) });
  const stop = new AbortController();
  const s = await t.sendMessages({ chatId: "c1", messages: [], abortSignal: stop.signal, trigger: "submit-message" });
  const r = s.getReader();
  assert.deepEqual((await readUntil(r, 3)).map((c) => c.type), ["start", "text-start", "text-delta"]);
  stop.abort();
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(f.posts.length, 1);
  assert.equal(f.posts[0].path, "/v1/session/c1/events");
  assert.deepEqual(f.posts[0].body, { type: "control.cancel", run: "r-1", data: { reason: "user pressed stop" } });
  assert.equal(f.posts[0].headers.Authorization, "Bearer tok");
});

test("a resume aborted because a newer request for the chat started does not cancel", async () => {
  const f = fakeFetch(started);
  const t = new DsxChatTransport({ server: "http://dsx.test", fetch: f.fetch, storage: null,
    start: async () => ({ run: "r-1", offset: "-1" }) });
  const first = new AbortController();
  const s = await t.sendMessages({ chatId: "c1", messages: [], abortSignal: first.signal, trigger: "submit-message" });
  await readUntil(s.getReader(), 3);
  // What AbstractChat does: abort the old request, then (synchronously) call the transport again.
  first.abort();
  const second = new AbortController();
  const again = t.sendMessages({ chatId: "c1", messages: [], abortSignal: second.signal, trigger: "submit-message" });
  const s2 = await again;
  await new Promise((res) => setTimeout(res, 20));
  assert.deepEqual(f.posts, [], "no control.cancel");
  await s2.cancel();  // the reader goes away: the stream stops reading, and cancels nothing
  await new Promise((res) => setTimeout(res, 20));
  assert.deepEqual(f.posts, [], "cancelling the stream (not the signal) posts nothing");
});

test("a Stop pressed before the run is known still cancels it once it is", async () => {
  const f = fakeFetch(started);
  const stop = new AbortController();
  const t = new DsxChatTransport({ server: "http://dsx.test", fetch: f.fetch, storage: null,
    start: async () => { stop.abort(); return { run: "r-1", offset: "-1" }; } });
  const s = await t.sendMessages({ chatId: "c2", messages: [], abortSignal: stop.signal, trigger: "submit-message" });
  await new Promise((res) => setTimeout(res, 20));
  assert.deepEqual(f.posts.map((p) => p.body), [{ type: "control.cancel", run: "r-1", data: { reason: "user pressed stop" } }]);
  await s.cancel();
});

test("a read refused 401 is retried once with a fresh token from the token function, then ends with an error", async () => {
  const tokens = [];
  let n = 0;
  const events = [...started, { offset: "0_4", type: "run.end", run: "r-1", data: { reason: "done" } }];
  const ok = fakeFetch(events).fetch;
  const fetch = async (url, init) => {
    tokens.push(init.headers.Authorization);
    return n++ === 0 ? new Response(JSON.stringify({ error: "token expired", status: 401 }), { status: 401 }) : ok(url, init);
  };
  const t = new DsxChatTransport({ server: "http://dsx.test", fetch, storage: null, token: () => "t" + n,
    start: async () => ({ run: "r-1", offset: "-1" }) });
  const chunks = [];
  for await (const c of await t.sendMessages({ chatId: "c3", messages: [] })) chunks.push(c);
  assert.deepEqual(tokens, ["Bearer t0", "Bearer t1"], "the retry asked the function again");
  assert.equal(chunks.at(-1).type, "finish");

  const refuse = async () => new Response(JSON.stringify({ error: "bad token", status: 401 }), { status: 401 });
  const t2 = new DsxChatTransport({ server: "http://dsx.test", fetch: refuse, storage: null, token: () => "x",
    start: async () => ({ run: "r-1", offset: "-1" }) });
  const chunks2 = [];
  for await (const c of await t2.sendMessages({ chatId: "c4", messages: [] })) chunks2.push(c);
  assert.equal(chunks2.at(-1).type, "error");
  assert.match(chunks2.at(-1).errorText, /HTTP 401: bad token/);
});

test("a start callback must return {run, offset}", async () => {
  const t = new DsxChatTransport({ storage: null, fetch: async () => { throw new Error("no"); }, start: async () => ({ run: "r-1" }) });
  await assert.rejects(t.sendMessages({ chatId: "c", messages: [] }), /must return \{run, offset\}/);
});

test("a steered run (two messages: the partial answer, then the continuation) is one UI message that finishes once", () => {
  const m = createRunChunkMapper("r-1");
  const chunks = [
    ...m.startChunks(),
    ...m.map(ev("run.start", { data: { source: "llm-proxy" } })),
    ...m.map(ev("msg.start", { msg: "m-1", data: { role: "assistant" } })),
    ...m.map(ev("msg.append", { msg: "m-1", data: { text: "A long an" } })),
    ...m.map(ev("control.steer", { id: "k-1", data: { text: "shorter please" } })),
    ...m.map(ev("msg.end", { msg: "m-1" })),
    ...m.map({ type: "user.message", data: { text: "shorter please" } }),
    ...m.map(ev("control.ack", { id: "k-1", data: { outcome: "applied" } })),
    ...m.map(ev("msg.start", { msg: "m-2", data: { role: "assistant" } })),
    ...m.map(ev("msg.append", { msg: "m-2", data: { text: "Short." } })),
    ...m.map(ev("msg.end", { msg: "m-2" })),
    ...m.map(ev("run.end", { data: { reason: "done" } })),
  ];
  assert.deepEqual(chunks, [
    { type: "start", messageId: messageIdForRun("r-1") },
    { type: "text-start", id: "m-1" },
    { type: "text-delta", id: "m-1", delta: "A long an" },
    { type: "text-end", id: "m-1" },
    { type: "text-start", id: "m-2" },
    { type: "text-delta", id: "m-2", delta: "Short." },
    { type: "text-end", id: "m-2" },
    { type: "finish", finishReason: "stop" },
  ]);
  assert.equal(chunks.filter((c) => c.type === "finish").length, 1);
  // The continuation may start before the first message's msg.end reaches a reader (or the agent
  // leaves it to run.end): both parts stay valid and run.end closes what is open.
  const m2 = createRunChunkMapper("r-1");
  const late = [
    ...m2.map(ev("msg.append", { msg: "m-1", data: { text: "par" } })),
    ...m2.map(ev("msg.start", { msg: "m-2" })),
    ...m2.map(ev("msg.append", { msg: "m-2", data: { text: "cont" } })),
    ...m2.map(ev("run.end", { data: { reason: "done" } })),
  ];
  assert.deepEqual(late, [
    { type: "text-start", id: "m-1" }, { type: "text-delta", id: "m-1", delta: "par" },
    { type: "text-start", id: "m-2" }, { type: "text-delta", id: "m-2", delta: "cont" },
    { type: "text-end", id: "m-1" }, { type: "text-end", id: "m-2" },
    { type: "finish", finishReason: "stop" },
  ]);
});

test("steer posts control.steer for the chat's active run (text and json), resolves with the answer, and the stream keeps going", async () => {
  const f = fakeFetch(started);
  const t = new DsxChatTransport({ server: "http://dsx.test", token: "tok", fetch: f.fetch, storage: null,
    start: async () => ({ run: "r-1", offset: "-1" }) });
  const stop = new AbortController();
  const s = await t.sendMessages({ chatId: "c1", messages: [], abortSignal: stop.signal, trigger: "submit-message" });
  const r = s.getReader();
  await readUntil(r, 3);
  const answer = await t.steer("c1", "shorter please");
  assert.deepEqual(answer, { offset: "0_9", outcome: { outcome: "pending" } });
  await t.steer("c1", { json: { temperature: 0.2, max_tokens: 50 } });
  await t.steer("c1", { text: "in French", json: { temperature: 0 } });
  assert.deepEqual(f.posts.map((p) => [p.path, p.body]), [
    ["/v1/session/c1/events", { type: "control.steer", run: "r-1", data: { text: "shorter please" } }],
    ["/v1/session/c1/events", { type: "control.steer", run: "r-1", data: { json: { temperature: 0.2, max_tokens: 50 } } }],
    ["/v1/session/c1/events", { type: "control.steer", run: "r-1", data: { text: "in French", json: { temperature: 0 } } }],
  ]);
  assert.equal(f.posts[0].headers.Authorization, "Bearer tok");
  assert.ok(!f.posts.some((p) => p.body.type === "control.cancel"), "a steer is not a stop");
  await assert.rejects(t.steer("c1", ""), /steer text is empty/);
  await assert.rejects(t.steer("c1", { json: [1] }), /`json` must be an object/);
  await assert.rejects(t.steer("c1", { other: 1 }), /give a text, \{text\} or \{json\}/);
  await assert.rejects(t.steer("c1", 42), /give a text/);
  assert.equal(f.posts.length, 3, "bad arguments post nothing");
  await r.cancel();
});

test("steer without an active run rejects with a clear error and posts nothing; a refused steer rejects with the server's reason", async () => {
  const events = [...started, { offset: "0_4", type: "run.end", run: "r-1", data: { reason: "done" } }];
  const f = fakeFetch(events);
  const t = new DsxChatTransport({ server: "http://dsx.test", fetch: f.fetch, storage: null,
    start: async () => ({ run: "r-1", offset: "-1" }) });
  await assert.rejects(t.steer("never-used", "hi"), /chat 'never-used' has no active run to steer/);
  for await (const c of await t.sendMessages({ chatId: "c5", messages: [] })) void c;  // the run ends
  await assert.rejects(t.steer("c5", "too late"), /chat 'c5' has no active run to steer/);
  assert.deepEqual(f.posts, []);

  const refuse = async (url, init) => init.method === "POST"
    ? new Response(JSON.stringify({ error: "token lacks the 'steer' right", status: 403 }), { status: 403 })
    : f.fetch(url, init);
  const t2 = new DsxChatTransport({ server: "http://dsx.test", fetch: refuse, storage: null,
    start: async () => ({ run: "r-1", offset: "-1" }) });
  const s = await t2.sendMessages({ chatId: "c6", messages: [] });
  const r = s.getReader();
  await readUntil(r, 2);
  await assert.rejects(t2.steer("c6", "x"), /steering run 'r-1': HTTP 403: token lacks the 'steer' right/);
  await r.cancel();
});

test("loadMessages gives a run's tool calls as dynamic tool parts of its message", async () => {
  const view = { items: [
    { type: "user.message", offset: "0_1", data: { text: "weather?" } },
    { type: "msg", run: "r-1", msg: "m-1", offset: "0_5", data: { role: "assistant", text: "Checking.", state: "done" } },
    { type: "tool.call", run: "r-1", msg: "m-1", offset: "0_6", data: { id: "call_a", name: "get_weather", arguments: '{"city":"Paris"}' } },
    { type: "tool.call", run: "r-1", msg: "m-1", offset: "0_7", data: { id: "call_b", name: "f", arguments: "{", incomplete: true } },
    { type: "tool.call", run: "r-9", offset: "0_8", data: { id: "call_c", name: "g", arguments: "{}" } },  // no message of r-9
  ] };
  const fetch = async (url) => {
    assert.ok(new URL(url).pathname.endsWith("/view"));
    return new Response(JSON.stringify(view), { status: 200 });
  };
  const t = new DsxChatTransport({ server: "http://dsx.test", fetch, storage: null });
  const msgs = await t.loadMessages("c1");
  assert.equal(msgs.length, 2);
  assert.deepEqual(msgs[1].parts, [
    { type: "text", text: "Checking.", state: "done" },
    { type: "dynamic-tool", toolCallId: "call_a", toolName: "get_weather", input: { city: "Paris" }, state: "input-available" },
    { type: "dynamic-tool", toolCallId: "call_b", toolName: "f", input: "{", state: "output-error",
      errorText: "the reply ended before this tool call was complete" },
  ]);
});
