import { serve } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { openai } from '@ai-sdk/openai';
import { streamText } from 'ai';

const app = new Hono();
app.use('/*', serveStatic({ root: './public' }));

// The model runs inside this request; the SSE stream is its only reader.
app.post('/api/chat', async (c) => {
  const { prompt } = await c.req.json();
  const result = streamText({ model: openai('gpt-4o-mini'), prompt });
  return streamSSE(c, async (stream) => {
    for await (const text of result.textStream) await stream.writeSSE({ data: text });
  });
});

serve({ fetch: app.fetch, port: 3000 });
