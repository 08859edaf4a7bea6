// @dsx/ai-sdk-transport: the Vercel AI SDK ChatTransport on top of dsx sessions.
//
//   import { useChat } from "@ai-sdk/react";
//   import { DsxChatTransport } from "@dsx/ai-sdk-transport";
//   const chat = useChat({ id, resume: true, transport: new DsxChatTransport({ server, model }) });
//
// sendMessages starts the generation on the server (by default through the durable LLM proxy,
// `POST SERVER/llm/v1/chat/completions` with `X-Dsx-Session`; or through the app's own `start`
// callback) and then reads the session's events (`GET /v1/session/ID/events?live=sse`),
// turning run/msg events into UIMessageChunks. The generation belongs to the server:
//   - a network drop never stops it; the stream reconnects by itself from the last offset it
//     delivered (no event twice, none lost) and the reply completes;
//   - reconnectToStream (useChat's resume, another tab, a reload) answers null when the session
//     has no active run, otherwise the run from its start: the AI SDK resets the message on the
//     first `start` chunk of a resumed stream (resumeStreamIsReplay), so the UI ends with the
//     full text exactly once;
//   - Stop (the abort signal) posts `control.cancel` for the run, so the agent / upstream call
//     really stops; closing a connection alone never cancels anything;
//   - steer(chatId, text | {json}) posts `control.steer` for the run; the steered continuation
//     arrives in the same stream as more messages of the same run.
// No dependencies: fetch, ReadableStream, TextDecoder, AbortController (browsers, Node >= 18).
// Protocol: docs/protocol/sessions.md; the proxy: docs/llm-proxy.md; this module:
// docs/ai-sdk-transport.md.

const kStoragePrefix = "dsx-chat-transport:";

// ---------------------------------------------------------------------------------------------
// Session events -> UIMessageChunks (pure; exported for tests and for apps with their own reader)

// One UI message per run: its id is derived from the run id, so a resumed or replayed run
// replaces the message it produced before instead of adding a second one.
export function messageIdForRun(run) {
  return "dsx-" + run;
}

// A tool.call event's data (the LLM proxy stores one per tool call the model makes, before
// msg.end; an agent may write its own): {toolCallId, toolName, input, errorText?}, or null when
// it names no call. The transport knows no tool schemas, so it becomes a dynamic tool part.
// Arguments that do not parse, or of a run that did not end well, are an input error, never a
// call to act on.
function readToolCall(data) {
  if (typeof data.id !== "string" || data.id === "" || typeof data.name !== "string") return null;
  const call = { toolCallId: data.id, toolName: data.name, input: data.arguments };
  if (data.incomplete === true) call.errorText = "the reply ended before this tool call was complete";
  else if (data.truncated === true) call.errorText = "the tool call's arguments were too long to keep";
  else if (data.arguments !== null && typeof data.arguments === "object") return call;  // written parsed
  else {
    try {
      call.input = JSON.parse(typeof data.arguments === "string" && data.arguments !== "" ? data.arguments : "{}");
    } catch {
      call.errorText = "the tool call's arguments are not JSON";
    }
  }
  return call;
}

// Maps the events of one run, in log order, to UIMessageChunks. `map(event)` returns the chunks
// for that event (possibly none) and sets `done` once the run has ended. Events of other runs
// and application events other than tool.call are ignored. A run with several messages gives
// several text parts; each tool.call a dynamic tool part.
export function createRunChunkMapper(run) {
  const open = new Set();  // message ids with a text-start and no text-end yet
  const mapper = {
    run,
    done: false,
    reason: null,
    // The chunks a stream of this run starts with.
    startChunks() {
      return [{ type: "start", messageId: messageIdForRun(run) }];
    },
    map(ev) {
      if (mapper.done || !ev || typeof ev !== "object" || ev.run !== run) return [];
      const data = ev.data && typeof ev.data === "object" ? ev.data : {};
      const out = [];
      const textStart = (id) => {
        if (!open.has(id)) {
          open.add(id);
          out.push({ type: "text-start", id });
        }
      };
      switch (ev.type) {
        case "msg.start":
          if (typeof ev.msg === "string") textStart(ev.msg);
          break;
        case "msg.append":
          if (typeof ev.msg === "string" && typeof data.text === "string" && data.text !== "") {
            textStart(ev.msg);  // a reader that starts inside a message still gets a valid part
            out.push({ type: "text-delta", id: ev.msg, delta: data.text });
          }
          break;
        case "tool.call": {
          const call = readToolCall(data);
          if (!call) break;
          const base = { toolCallId: call.toolCallId, toolName: call.toolName, dynamic: true };
          if (call.errorText) out.push({ type: "tool-input-error", ...base, input: call.input, errorText: call.errorText });
          else out.push({ type: "tool-input-available", ...base, input: call.input });
          break;
        }
        case "msg.end":
          if (typeof ev.msg === "string" && open.delete(ev.msg)) out.push({ type: "text-end", id: ev.msg });
          break;
        case "run.end": {
          for (const id of open) out.push({ type: "text-end", id });
          open.clear();
          const reason = typeof data.reason === "string" ? data.reason : "done";
          mapper.done = true;
          mapper.reason = reason;
          if (reason === "done") {
            out.push({ type: "finish", finishReason: "stop" });
          } else if (reason === "cancelled" || reason === "interrupted") {
            // interrupted: the agent's operator stopped it (Ctrl-C on its runner); a stop like
            // the user's own, with the partial reply kept, not an error to show.
            out.push({ type: "abort", reason });
            out.push({ type: "finish", finishReason: "other" });
          } else {
            const why = typeof data.error === "string" && data.error !== "" ? data.error
              : reason === "agent_lost" ? "the agent stopped answering (its lease lapsed): the reply is incomplete"
              : `the run ended: ${reason}`;
            out.push({ type: "error", errorText: why });
          }
          break;
        }
        default:
          break;
      }
      return out;
    },
  };
  return mapper;
}

// ---------------------------------------------------------------------------------------------
// SSE parsing (text/event-stream, as the session's live reads send it)

// Feeds text; calls onEvent({event, id, data}) per complete event. Comments and retry: ignored.
export function createSseParser(onEvent) {
  let data = [];
  let event = "";
  let id = null;
  const line = (l) => {
    if (l === "") {
      if (data.length) onEvent({ event: event || "message", id, data: data.join("\n") });
      data = [];
      event = "";
      id = null;
      return;
    }
    if (l[0] === ":") return;
    const c = l.indexOf(":");
    const field = c < 0 ? l : l.slice(0, c);
    let value = c < 0 ? "" : l.slice(c + 1);
    if (value[0] === " ") value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
    else if (field === "id") id = value;
  };
  // The current line's pieces: a long line (a merged backlog can be megabytes) arrives in many
  // chunks; each chunk is scanned once and the pieces joined once (linear, never rescanned).
  let pieces = [];
  let skipLf = false;  // the last chunk ended with \r: a \n starting the next one is its pair
  return {
    push(text) {
      let pos = 0;
      if (skipLf && text.charCodeAt(0) === 10) pos = 1;
      skipLf = false;
      while (pos <= text.length) {
        let i = pos;
        while (i < text.length && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
        if (i >= text.length) {
          if (pos < text.length) pieces.push(text.slice(pos));
          return;
        }
        pieces.push(text.slice(pos, i));
        const l = pieces.length === 1 ? pieces[0] : pieces.join("");
        pieces = [];
        if (text.charCodeAt(i) === 13) {
          if (i + 1 === text.length) skipLf = true;
          pos = text.charCodeAt(i + 1) === 10 ? i + 2 : i + 1;
        } else {
          pos = i + 1;
        }
        line(l);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

class HttpError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "DsxHttpError";
    this.status = status;
  }
}

async function errorText(res, what) {
  let detail = "";
  try {
    const t = await res.text();
    try {
      const j = JSON.parse(t);
      // dsx answers {"error":"…"}; the LLM proxy, OpenAI-style, {"error":{"message":"…"}}.
      detail = j && typeof j.error === "string" ? j.error
        : j && j.error && typeof j.error.message === "string" ? j.error.message : t;
    } catch {
      detail = t;
    }
  } catch {
    /* no body */
  }
  detail = detail.trim().slice(0, 500);
  return `${what}: HTTP ${res.status}${detail ? ": " + detail : ""}`;
}

function memoryStorage() {
  const m = new Map();
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
  };
}

function defaultStorage() {
  try {
    const s = globalThis.localStorage;
    if (s) {
      const k = kStoragePrefix + "probe";
      s.setItem(k, "1");
      s.removeItem(k);
      return s;
    }
  } catch {
    /* storage disabled (private mode, sandboxed frame) */
  }
  return memoryStorage();
}

const isOffset = (s) => typeof s === "string" && /^(-1|now|[0-9]+_[0-9]+)$/.test(s);

// UIMessages -> OpenAI chat messages (text parts only; other parts are the app's to convert
// with the `toUpstreamMessages` option).
export function toOpenAiMessages(messages) {
  const out = [];
  for (const m of messages || []) {
    if (!m || !["system", "user", "assistant"].includes(m.role)) continue;
    const text = (m.parts || []).filter((p) => p && p.type === "text" && typeof p.text === "string")
      .map((p) => p.text).join("");
    if (text === "" && m.role !== "user") continue;
    out.push({ role: m.role, content: text });
  }
  return out;
}

function abortError() {
  try {
    return new DOMException("aborted", "AbortError");
  } catch {
    const e = new Error("aborted");
    e.name = "AbortError";
    return e;
  }
}

// Waits `ms`, or until the browser says it is online again (after a drop), or until `signal`.
function pause(ms, signal) {
  return new Promise((resolve) => {
    if (signal && signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      if (signal) signal.removeEventListener("abort", done);
      if (typeof globalThis.removeEventListener === "function") globalThis.removeEventListener("online", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    if (signal) signal.addEventListener("abort", done, { once: true });
    if (typeof globalThis.addEventListener === "function") globalThis.addEventListener("online", done, { once: true });
  });
}

// ---------------------------------------------------------------------------------------------
// The transport

export class DsxChatTransport {
  // options:
  //   server       base URL of `dsx session serve` ("" or omitted: the page's own origin)
  //   token        dsx token (string or (async) function returning one): session reads and
  //                writes send `Authorization: Bearer`, the proxy `X-Dsx-Token` (Authorization
  //                is the upstream's there)
  //   sessionId    (chatId) => session id (default: the chat id itself)
  //   model        the model name sent to the proxy (default "default")
  //   upstream     proxy upstream name (`--llm-proxy NAME=URL`); omitted: the default upstream
  //   headers      extra headers for the proxy request (e.g. the upstream's Authorization)
  //   body         extra JSON fields for the proxy request (temperature, ...)
  //   toUpstreamMessages (uiMessages) => upstream messages (default: text parts, OpenAI shape)
  //   start        async ({chatId, sessionId, messages, trigger, messageId, headers, body,
  //                metadata}) => {run, offset, sessionId?}: the app's own backend starts the
  //                agent, which writes the run into the session; replaces the proxy request.
  //                `offset` is where to read the run from (any offset before its run.start).
  //   storage      where the chat's current run is remembered (session, run, the offset its
  //                reading starts at) for a reload or another tab: a Storage-like object
  //                ({getItem,setItem,removeItem}); default localStorage where available, else
  //                memory; null: memory. Without it, resume finds the run in the session view.
  //   fetch        fetch implementation (default globalThis.fetch)
  //   retryDelaysMs delays between reconnects after a drop (the last one repeats)
  //   idleTimeoutMs no byte for this long on a live read = a dead connection: reconnect (the
  //                server sends a keep-alive every 7.5-15 s); default 35000
  //   cancelOnStop  post control.cancel when the abort signal fires (default true)
  constructor(options = {}) {
    this.resumeStreamIsReplay = true;
    this.server = String(options.server || "").replace(/\/+$/, "");
    this.token = options.token;
    this.sessionIdFor = typeof options.sessionId === "function" ? options.sessionId : (chatId) => String(chatId);
    this.model = options.model || "default";
    this.upstream = options.upstream || "";
    this.extraHeaders = options.headers || {};
    this.extraBody = options.body || {};
    this.toUpstreamMessages = options.toUpstreamMessages || toOpenAiMessages;
    this.start = options.start || null;
    this.storage = options.storage === null ? memoryStorage() : options.storage || defaultStorage();
    this.fetchImpl = options.fetch || ((...a) => globalThis.fetch(...a));
    this.retryDelaysMs = options.retryDelaysMs || [250, 500, 1000, 2000, 4000];
    this.idleTimeoutMs = options.idleTimeoutMs || 35000;
    this.cancelOnStop = options.cancelOnStop !== false;
    this.generation = new Map();  // chatId -> count of requests started (a newer one supersedes)
  }

  // ---- ChatTransport

  async sendMessages({ chatId, messages, abortSignal, trigger, messageId, headers, body, metadata }) {
    const gen = this.#bump(chatId);
    let sessionId = this.sessionIdFor(chatId);
    let run;
    let offset;
    if (this.start) {
      const r = await this.start({ chatId, sessionId, messages, trigger, messageId, headers, body, metadata });
      if (!r || typeof r.run !== "string" || !isOffset(r.offset)) {
        throw new Error("DsxChatTransport: the start callback must return {run, offset} (the run id and a session offset before its run.start)");
      }
      if (typeof r.sessionId === "string" && r.sessionId !== "") sessionId = r.sessionId;
      run = r.run;
      offset = r.offset;
    } else {
      ({ sessionId, run, offset } = await this.#startThroughProxy(sessionId, messages, headers, body));
    }
    this.#save(chatId, { session: sessionId, run, start: offset });
    return this.#runStream({ chatId, sessionId, run, from: offset, abortSignal, gen });
  }

  async reconnectToStream({ chatId, abortSignal }) {
    const gen = this.#bump(chatId);
    const saved = this.#load(chatId);
    const sessionId = (saved && saved.session) || this.sessionIdFor(chatId);
    const res = await this.#fetch(`${this.#sessionUrl(sessionId)}`, { signal: abortSignal });
    if (res.status === 404) return null;
    if (!res.ok) throw new HttpError(await errorText(res, `reading session '${sessionId}'`), res.status);
    const info = await res.json();
    const active = (Array.isArray(info.runs) ? info.runs : []).filter((r) => r && r.active && typeof r.run === "string");
    if (active.length === 0) {
      this.#forget(chatId);
      return null;
    }
    let pick = saved && isOffset(saved.start) && active.find((r) => r.run === saved.run);
    let from = pick ? saved.start : null;
    if (!pick) {
      pick = active.find((r) => r.lane === "main") || active[active.length - 1];
      from = await this.#runStartOffset(sessionId, pick.run, abortSignal);
      if (from === null) return null;  // ended between the two reads
    }
    this.#save(chatId, { session: sessionId, run: pick.run, start: from });
    return this.#runStream({ chatId, sessionId, run: pick.run, from, abortSignal, gen });
  }

  // ---- extras

  // The chat's history as UIMessages, from the session's compacted view: `user.message` events
  // and each run's assistant text (ids: messageIdForRun, so a resumed run replaces its message).
  // For `useChat({ messages })` in a new tab or after a reload.
  async loadMessages(chatId, { signal } = {}) {
    const saved = this.#load(chatId);
    const sessionId = (saved && saved.session) || this.sessionIdFor(chatId);
    const res = await this.#fetch(`${this.#sessionUrl(sessionId)}/view`, { signal });
    if (res.status === 404) return [];
    if (!res.ok) throw new HttpError(await errorText(res, `reading session '${sessionId}'`), res.status);
    const view = await res.json();
    const out = [];
    const byRun = new Map();
    for (const it of Array.isArray(view.items) ? view.items : []) {
      if (!it || typeof it !== "object") continue;
      const data = it.data && typeof it.data === "object" ? it.data : {};
      if (it.type === "user.message" && typeof data.text === "string") {
        out.push({ id: "dsx-u-" + it.offset, role: "user", parts: [{ type: "text", text: data.text }] });
      } else if (it.type === "msg" && typeof it.run === "string" && typeof data.text === "string" &&
                 (data.role === undefined || data.role === "assistant")) {
        let m = byRun.get(it.run);
        if (!m) {
          m = { id: messageIdForRun(it.run), role: "assistant", parts: [] };
          byRun.set(it.run, m);
          out.push(m);
        }
        m.parts.push({ type: "text", text: data.text, state: data.state === "streaming" ? "streaming" : "done" });
      } else if (it.type === "tool.call" && typeof it.run === "string" && byRun.has(it.run)) {
        const call = readToolCall(data);
        if (!call) continue;
        const part = { type: "dynamic-tool", toolCallId: call.toolCallId, toolName: call.toolName, input: call.input };
        if (call.errorText) Object.assign(part, { state: "output-error", errorText: call.errorText });
        else part.state = "input-available";
        byRun.get(it.run).parts.push(part);
      }
    }
    return out;
  }

  // Posts control.cancel for the chat's current run (what the abort signal does).
  async cancel(chatId, reason = "user pressed stop") {
    const saved = this.#load(chatId);
    if (!saved || !saved.run) return null;
    return this.#postCancel(saved.session, saved.run, reason);
  }

  // Steers the chat's active run: posts `control.steer` (`data.text` for a string, or the given
  // `{text?, json?}`) for the run the chat is streaming (the run Stop would cancel) and resolves
  // with the server's answer ({offset, outcome}; outcome `pending` until the agent acks; an ack
  // `rejected` when the run already ended). The open stream keeps going: the agent's steered
  // continuation arrives as more messages of the same run (the durable LLM proxy stops the
  // upstream call and calls again with the partial answer and the steer text as a user message),
  // so the UI message shows the partial answer, then the continuation, and finishes once.
  // Rejects when the chat has no active run, on a bad argument, or when the server refuses.
  async steer(chatId, steer, { signal } = {}) {
    let data;
    if (typeof steer === "string") {
      if (steer.trim() === "") throw new TypeError("DsxChatTransport.steer: the steer text is empty");
      data = { text: steer };
    } else if (steer && typeof steer === "object" && !Array.isArray(steer)) {
      data = {};
      if (steer.text !== undefined) {
        if (typeof steer.text !== "string" || steer.text.trim() === "") {
          throw new TypeError("DsxChatTransport.steer: `text` must be a non-empty string");
        }
        data.text = steer.text;
      }
      if (steer.json !== undefined) {
        if (!steer.json || typeof steer.json !== "object" || Array.isArray(steer.json)) {
          throw new TypeError("DsxChatTransport.steer: `json` must be an object (e.g. {temperature: 0.2})");
        }
        data.json = steer.json;
      }
      if (data.text === undefined && data.json === undefined) {
        throw new TypeError("DsxChatTransport.steer: give a text, {text} or {json}");
      }
    } else {
      throw new TypeError("DsxChatTransport.steer: give a text, {text} or {json}");
    }
    const saved = this.#load(chatId);
    if (!saved || !saved.run) {
      throw new Error(`DsxChatTransport.steer: chat '${chatId}' has no active run to steer (steer applies to a reply while it is being written; send a message first)`);
    }
    const res = await this.#fetch(`${this.#sessionUrl(saved.session)}/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "control.steer", run: saved.run, data }),
      signal,
    });
    if (!res.ok) throw new HttpError(await errorText(res, `steering run '${saved.run}'`), res.status);
    return res.json();
  }

  // ---- internals

  #bump(chatId) {
    const g = (this.generation.get(chatId) || 0) + 1;
    this.generation.set(chatId, g);
    return g;
  }

  #key(chatId) {
    return kStoragePrefix + (this.server || "same-origin") + "|" + chatId;
  }
  #load(chatId) {
    try {
      const v = JSON.parse(this.storage.getItem(this.#key(chatId)) || "null");
      return v && typeof v === "object" && typeof v.run === "string" ? v : null;
    } catch {
      return null;
    }
  }
  #save(chatId, v) {
    try {
      this.storage.setItem(this.#key(chatId), JSON.stringify(v));
    } catch {
      /* quota: resume falls back to the view */
    }
  }
  #forget(chatId) {
    try {
      this.storage.removeItem(this.#key(chatId));
    } catch {
      /* ignore */
    }
  }

  #sessionUrl(sessionId) {
    return `${this.server}/v1/session/${sessionId.split("/").map(encodeURIComponent).join("/")}`;
  }

  async #token() {
    const t = typeof this.token === "function" ? await this.token() : this.token;
    return t ? String(t) : "";
  }

  async #fetch(url, init = {}) {
    const token = await this.#token();
    const headers = { ...(init.headers || {}) };
    if (token) headers.Authorization = "Bearer " + token;
    return this.fetchImpl(url, { ...init, headers });
  }

  async #startThroughProxy(sessionId, messages, headers, body) {
    const url = `${this.server}/llm${this.upstream ? "/" + encodeURIComponent(this.upstream) : ""}/v1/chat/completions`;
    const token = await this.#token();
    const h = { "content-type": "application/json", ...this.extraHeaders, ...(headers || {}), "X-Dsx-Session": sessionId };
    if (token) h["X-Dsx-Token"] = token;
    const payload = { model: this.model, ...this.extraBody, ...(body || {}), messages: this.toUpstreamMessages(messages), stream: true };
    // No abort signal here: the run id comes with the answer's headers, and a Stop pressed
    // before then must still reach the run (the abort listener cancels it once it is known).
    const res = await this.fetchImpl(url, { method: "POST", headers: h, body: JSON.stringify(payload) });
    if (!res.ok) throw new HttpError(await errorText(res, "the LLM proxy request failed"), res.status);
    const run = res.headers.get("X-Dsx-Run");
    const offset = res.headers.get("X-Dsx-Offset");
    const sid = res.headers.get("X-Dsx-Session") || sessionId;
    if (!run || !isOffset(offset)) {
      try { await res.body?.cancel(); } catch { /* ignore */ }
      throw new Error("the LLM proxy answered without X-Dsx-Run / X-Dsx-Offset (is it `dsx session serve --llm-proxy`, and are the headers exposed to this origin?)");
    }
    // The answer is read from the session (resumable, shared with other tabs); the proxy's own
    // stream is not needed. Closing it changes nothing on the server.
    try { await res.body?.cancel(); } catch { /* ignore */ }
    return { sessionId: sid, run, offset };
  }

  async #postCancel(sessionId, run, reason) {
    try {
      const res = await this.#fetch(`${this.#sessionUrl(sessionId)}/events`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: "control.cancel", run, data: { reason } }),
        keepalive: true,
      });
      return res.ok ? await res.json() : { error: await errorText(res, "cancel"), status: res.status };
    } catch (e) {
      return { error: String(e && e.message || e) };
    }
  }

  // The offset right after the run's run.start (from the compacted view), or null when the
  // run is not in it.
  async #runStartOffset(sessionId, run, signal) {
    const res = await this.#fetch(`${this.#sessionUrl(sessionId)}/view`, { signal });
    if (!res.ok) throw new HttpError(await errorText(res, `reading session '${sessionId}'`), res.status);
    const view = await res.json();
    for (const it of Array.isArray(view.items) ? view.items : []) {
      if (it && it.type === "run.start" && it.run === run && isOffset(it.offset)) return it.offset;
    }
    return null;
  }

  // A ReadableStream of UIMessageChunks for `run`, read live from the session starting at
  // `from`; it reconnects from the last delivered offset after a drop and ends at run.end.
  #runStream({ chatId, sessionId, run, from, abortSignal, gen }) {
    const mapper = createRunChunkMapper(run);
    const stop = new AbortController();  // ends our reads (the chat's stop, or the reader's cancel)
    let last = from;
    let cancelled = false;
    const transport = this;

    const onAbort = () => {
      stop.abort();
      if (!transport.cancelOnStop || mapper.done) return;
      // The AI SDK also aborts a resume request when a newer one for the same chat starts
      // (that call is made synchronously after the abort): that is not a Stop.
      setTimeout(() => {
        if (transport.generation.get(chatId) !== gen || mapper.done) return;
        transport.#postCancel(sessionId, run, "user pressed stop").then((r) => {
          if (r && r.error && typeof console !== "undefined") console.warn(`DsxChatTransport: Stop could not cancel run '${run}': ${r.error}`);
        });
      }, 0);
    };

    return new ReadableStream({
      async start(controller) {
        const emit = (chunks) => {
          for (const c of chunks) controller.enqueue(c);
        };
        if (abortSignal) {
          if (abortSignal.aborted) onAbort();
          else abortSignal.addEventListener("abort", onAbort, { once: true });
        }
        emit(mapper.startChunks());
        let failures = 0;
        let refusedToken = false;  // a 401 already retried with a fresh token
        while (!mapper.done && !stop.signal.aborted) {
          let gotSomething = false;
          try {
            await transport.#readOnce(sessionId, last, stop.signal, (ev) => {
              gotSomething = true;
              refusedToken = false;
              if (typeof ev.offset === "string") last = ev.offset;  // a reconnect resumes right after it
              emit(mapper.map(ev));
              return mapper.done;
            });
            // The server closed a live read (shutdown, stalled write): reconnect.
          } catch (e) {
            if (stop.signal.aborted) break;
            if (e instanceof HttpError && e.status === 401 && typeof transport.token === "function" && !refusedToken) {
              // An expired token ends a live read (401); the app's token function may have a
              // new one: retry once with it before giving up.
              refusedToken = true;
              continue;
            }
            if (e instanceof HttpError && e.status !== 408 && e.status !== 429 && e.status < 500) {
              // A refusal is not a drop: retrying cannot help.
              emit([{ type: "error", errorText: e.message }]);
              break;
            }
          }
          if (mapper.done || stop.signal.aborted) break;
          failures = gotSomething ? 0 : failures + 1;
          const d = transport.retryDelaysMs[Math.min(failures, transport.retryDelaysMs.length - 1)];
          await pause(d, stop.signal);
        }
        if (abortSignal) abortSignal.removeEventListener("abort", onAbort);
        if (mapper.done) {
          const saved = transport.#load(chatId);
          if (saved && saved.run === run) transport.#forget(chatId);
        }
        if (!cancelled) {
          try {
            controller.close();
          } catch {
            /* already closed */
          }
        }
      },
      cancel() {
        cancelled = true;
        stop.abort();
      },
    });
  }

  // One live read from `offset`; resolves when the server ends it or the run ended, rejects on a
  // network error, an HTTP error (HttpError) or an idle connection.
  async #readOnce(sessionId, offset, signal, onEvent) {
    const ctl = new AbortController();
    const abort = () => ctl.abort();
    signal.addEventListener("abort", abort, { once: true });
    let idle;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => ctl.abort(), this.idleTimeoutMs);
    };
    try {
      arm();
      const res = await this.#fetch(`${this.#sessionUrl(sessionId)}/events?live=sse&offset=${encodeURIComponent(offset)}`, {
        headers: { Accept: "text/event-stream" },
        signal: ctl.signal,
        cache: "no-store",
      });
      if (!res.ok) throw new HttpError(await errorText(res, `reading session '${sessionId}'`), res.status);
      if (!res.body) throw new Error("no response body");
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let ended = false;
      let failure = null;
      const parser = createSseParser((m) => {
        if (ended || failure) return;
        if (m.event === "error") {
          let j = {};
          try { j = JSON.parse(m.data); } catch { /* keep {} */ }
          failure = new HttpError(`reading session '${sessionId}': ${j.error || m.data}`, Number(j.status) || 500);
          return;
        }
        if (m.event !== "message") return;  // presence, snapshot
        let ev;
        try {
          ev = JSON.parse(m.data);
        } catch {
          return;
        }
        if (onEvent(ev)) ended = true;  // the run ended: this read is over
      });
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        arm();
        parser.push(dec.decode(value, { stream: true }));
        if (failure) throw failure;
        if (ended) break;
      }
      try { await reader.cancel(); } catch { /* ignore */ }
    } finally {
      clearTimeout(idle);
      signal.removeEventListener("abort", abort);
      ctl.abort();
    }
  }
}

export default DsxChatTransport;
