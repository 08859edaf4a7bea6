// Shared plumbing for the live-probe fixture apps: a Node http server that behaves like a
// Next.js route handler host (a Web Response is piped to the socket, and when the client goes
// away the response body is cancelled, as Next.js does), plus the model pointed at the mock.
import http from 'node:http';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';

// The model: `dsx audit mock-llm`, whose base URL comes from MOCK_URL (http://127.0.0.1:PORT).
export function mockModel() {
  const base = process.env.MOCK_URL;
  if (!base) throw new Error('MOCK_URL is not set');
  const provider = createOpenAICompatible({ name: 'mock', baseURL: `${base}/v1` });
  return provider.chatModel('dsx-mock');
}

export async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

// Write a Web Response to a Node response; cancel its body when the client disconnects.
export async function send(res, response) {
  const headers = {};
  response.headers.forEach((v, k) => { headers[k] = v; });
  res.writeHead(response.status, headers);
  if (!response.body) return res.end();
  const reader = response.body.getReader();
  let closed = false;
  res.on('close', () => {
    if (!res.writableFinished) { closed = true; reader.cancel().catch(() => {}); }
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || closed) break;
      res.write(value);
    }
  } catch { /* cancelled */ }
  res.end();
}

export function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

// Listen on PORT (0 = any) and print the URL the test harness waits for.
export function serve(name, handler) {
  const server = http.createServer((req, res) => {
    handler(req, res).catch((err) => {
      console.error(`${name}: ${err && err.stack || err}`);
      if (!res.headersSent) json(res, 500, { error: String(err && err.message || err) });
      else res.destroy();
    });
  });
  server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
    console.log(`${name}: listening on http://127.0.0.1:${server.address().port}`);
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
  return server;
}
