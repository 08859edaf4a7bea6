// The test's AI SDK app: @ai-sdk/react useChat (ai 6.0.325) with the dsx transport, bundled by
// esbuild (kit.mjs). URL parameters: server (dsx base URL, here the cut-able TCP proxy), chat
// (chat id = session id), mode (proxy: the durable LLM proxy; backend: the app's own /start).
import React, { useState } from "react";
import { createRoot } from "react-dom/client";
import { useChat } from "@ai-sdk/react";
import { DsxChatTransport } from "../../../clients/js/ai-sdk-transport/dsx-chat-transport.js";

const q = new URLSearchParams(location.search);
const chatId = q.get("chat");
const backend = q.get("mode") === "backend";

const transport = new DsxChatTransport({
  server: q.get("server"),
  model: "dsx-mock",
  token: q.get("token") || undefined,
  // The app's own backend starts the agent (which writes the run into the session).
  start: backend
    ? async ({ sessionId, messages }) => {
        const res = await fetch("/start", { method: "POST", body: JSON.stringify({ sessionId, messages }) });
        if (!res.ok) throw new Error("start: " + (await res.text()));
        return res.json();
      }
    : undefined,
});
window.__errors = [];

function App({ initial }) {
  const { messages, sendMessage, stop, status, error } = useChat({
    id: chatId,
    transport,
    resume: true,
    messages: initial,
    onError: (e) => window.__errors.push(String(e && e.message)),
  });
  const [input, setInput] = useState("");
  const [steerText, setSteerText] = useState("");
  // Steer: transport.steer posts control.steer for the chat's run; the continuation arrives in
  // the same stream (window.__steer: the server's answer, or the error).
  const steer = () => transport.steer(chatId, steerText)
    .then((r) => { window.__steer = { ok: r }; }, (e) => { window.__steer = { error: String(e && e.message) }; });
  return (
    <div>
      <div id="status">{status}</div>
      <div id="error">{error ? String(error.message) : ""}</div>
      <div id="messages">
        {messages.map((m) => (
          <div key={m.id} className="msg" data-role={m.role} data-id={m.id}
               data-parts={m.parts.filter((p) => p.type === "text").length}>
            {m.parts.filter((p) => p.type === "text").map((p) => p.text).join("")}
          </div>
        ))}
      </div>
      <form onSubmit={(e) => { e.preventDefault(); sendMessage({ text: input }); setInput(""); }}>
        <input id="input" value={input} onChange={(e) => setInput(e.target.value)} />
        <button id="send" type="submit">Send</button>
      </form>
      <button id="stop" onClick={() => stop()}>Stop</button>
      <input id="steer-input" value={steerText} onChange={(e) => setSteerText(e.target.value)} />
      <button id="steer" onClick={() => steer()}>Steer</button>
    </div>
  );
}

const initial = await transport.loadMessages(chatId);
createRoot(document.getElementById("root")).render(<App initial={initial} />);
window.__ready = true;
