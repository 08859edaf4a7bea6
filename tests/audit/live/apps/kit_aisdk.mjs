// Fixture (e): the plain AI SDK app (plain_aisdk.mjs) migrated with the dsx kit (issue 17), the
// way docs/ai-sdk-transport.md's `start` option and docs/llm-proxy.md describe it. One change on
// the server: the model's base URL is the durable LLM proxy of a real `dsx session serve
// --llm-proxy <mock-llm>/v1` (DSX_URL), with the chat id as X-Dsx-Session. The proxy owns the
// upstream call and writes every delta into the session as a run, so this route only starts it
// and answers {session, run, offset} (the proxy's X-Dsx-* headers): the browser (DsxChatTransport
// with `start`) reads the run from the session, resumes by offset, and stops it with
// control.cancel. Nothing here cancels the model when a client goes away.
//   POST /api/chat {id, messages} -> {session, run, offset}
import { streamText, convertToModelMessages } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { readJson, serve, json } from './common.mjs';

const DSX_URL = process.env.DSX_URL;
if (!DSX_URL) throw new Error('DSX_URL is not set');

serve('kit-aisdk', async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'POST' && url.pathname === '/api/chat') {
    const { id, messages } = await readJson(req);
    if (typeof id !== 'string' || !id) return json(res, 400, { error: 'id (the chat id) is required' });
    let started;
    const begun = new Promise((resolve, reject) => { started = { resolve, reject }; });
    const provider = createOpenAICompatible({
      name: 'dsx',
      baseURL: `${DSX_URL}/llm/v1`,
      headers: { 'X-Dsx-Session': id },
      fetch: async (input, init) => {
        const r = await fetch(input, init);
        if (r.ok) started.resolve({ session: r.headers.get('x-dsx-session'), run: r.headers.get('x-dsx-run'),
                                    offset: r.headers.get('x-dsx-offset') });
        else started.reject(new Error(`the LLM proxy answered ${r.status}`));
        return r;
      },
    });
    const result = streamText({ model: provider.chatModel('dsx-mock'), messages: await convertToModelMessages(messages) });
    // Our copy of the stream is drained and dropped: the session is where readers get the answer.
    result.consumeStream({ onError: (e) => started.reject(e) }).catch(() => {});
    return json(res, 200, await begun);
  }
  json(res, 404, { error: 'not found' });
});
