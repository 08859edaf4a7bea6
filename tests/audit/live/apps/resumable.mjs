// Fixtures (b) and (c): the AI SDK resumable-streams recipe (vercel/resumable-stream over
// Redis, chat-sdk style):
//   POST /api/chat             {id, messages}: starts a run whose SSE copy goes into a
//                              resumable stream (consumeSseStream); the producer outlives the
//                              client's connection
//   GET  /api/chat/:id/stream  resumes the active run (204 when there is none)
// With STOP_ROUTE=1 (fixture c) it also has the stop route the AI SDK docs recommend,
//   POST /api/chat/:id/stop    aborts the producer (the model request)
// and refuses a second message while a run is active (409). Without it (fixture b), the only
// "stop" a client has is closing its connection, which the producer survives: the SSE
// resume-cancel conflict.
import { streamText, convertToModelMessages, UI_MESSAGE_STREAM_HEADERS } from 'ai';
import { createResumableStreamContext } from 'resumable-stream';
import { mockModel, readJson, send, serve, json } from './common.mjs';

const withStop = process.env.STOP_ROUTE === '1';
const model = mockModel();
const streams = createResumableStreamContext({ waitUntil: null });
const active = new Map();  // chat id -> { streamId, controller }
let counter = 0;

serve(withStop ? 'resumable-stop' : 'resumable', async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const m = url.pathname.match(/^\/api\/chat\/([^/]+)\/(stream|stop)$/);
  if (req.method === 'POST' && url.pathname === '/api/chat') {
    const { id, messages } = await readJson(req);
    if (!id) return json(res, 400, { error: 'id is required' });
    if (withStop && active.has(id)) return json(res, 409, { error: 'a reply is still being generated' });
    const streamId = `${id}-${++counter}`;
    const controller = new AbortController();
    active.set(id, { streamId, controller });
    const result = streamText({
      model,
      messages: await convertToModelMessages(messages),
      abortSignal: withStop ? controller.signal : undefined,
      onFinish: () => { if (active.get(id)?.streamId === streamId) active.delete(id); },
      onAbort: () => { if (active.get(id)?.streamId === streamId) active.delete(id); },
    });
    result.consumeStream();  // no await: the run completes even if the client leaves
    return send(res, result.toUIMessageStreamResponse({
      originalMessages: messages,                  // the start chunk names the new message,
      generateMessageId: () => `a-${streamId}`,    // so a resumed replay replaces, not appends
      async consumeSseStream({ stream }) {
        await streams.createNewResumableStream(streamId, () => stream);
      },
    }));
  }
  if (req.method === 'GET' && m && m[2] === 'stream') {
    const run = active.get(m[1]);
    if (!run) { res.writeHead(204); return res.end(); }
    const stream = await streams.resumeExistingStream(run.streamId);
    if (!stream) { res.writeHead(204); return res.end(); }
    return send(res, new Response(stream.pipeThrough(new TextEncoderStream()), { headers: UI_MESSAGE_STREAM_HEADERS }));
  }
  if (withStop && req.method === 'POST' && m && m[2] === 'stop') {
    const run = active.get(m[1]);
    if (!run) return json(res, 200, { stopped: false, reason: 'no active reply' });
    run.controller.abort();
    active.delete(m[1]);
    return json(res, 200, { stopped: true });
  }
  json(res, 404, { error: 'not found' });
});
