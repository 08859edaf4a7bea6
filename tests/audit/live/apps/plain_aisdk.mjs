// Fixture (a): the plain AI SDK 5+ chat route, the way most apps start.
//   POST /api/chat  {id, messages} -> streamText(...).toUIMessageStreamResponse()
// No consumeStream(), no resumable buffer, no resume route, no stop route: the model call
// lives inside the one HTTP response (single-connection trap). The request's abort signal is
// passed to streamText, as the AI SDK's "stopping streams" page shows (Next.js: req.signal),
// so a dropped client aborts the model request (the mock LLM logs a cancel). Without it,
// a Node server would not even abort the model request on a drop: the cancelled response
// only stops pulling, and the model keeps streaming into socket buffers.
import { streamText, convertToModelMessages } from 'ai';
import { mockModel, readJson, send, serve, json } from './common.mjs';

const model = mockModel();

serve('plain-aisdk', async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'POST' && url.pathname === '/api/chat') {
    const { messages } = await readJson(req);
    const abort = new AbortController();  // what Next.js hands a route as req.signal
    res.on('close', () => { if (!res.writableFinished) abort.abort(); });
    const result = streamText({ model, messages: await convertToModelMessages(messages), abortSignal: abort.signal });
    return send(res, result.toUIMessageStreamResponse());
  }
  json(res, 404, { error: 'not found' });
});
