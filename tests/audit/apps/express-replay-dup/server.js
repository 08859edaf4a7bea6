import express from 'express';
import Redis from 'ioredis';
import OpenAI from 'openai';
import { randomUUID } from 'node:crypto';

const app = express();
const redis = new Redis(process.env.REDIS_URL);
const openai = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL });
app.use(express.json());
app.use(express.static('public'));

async function generate(runId, messages) {
  const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
  for await (const chunk of stream) {
    await redis.xadd(`run:${runId}`, '*', 'text', chunk.choices[0]?.delta?.content ?? '');
  }
  await redis.xadd(`run:${runId}`, '*', 'end', '1');
}

app.post('/api/chat', (req, res) => {
  const runId = randomUUID();
  void generate(runId, req.body.messages);
  res.json({ runId });
});

// Replays the whole run every time: no cursor.
app.get('/api/chat/:runId/stream', async (req, res) => {
  res.setHeader('Content-Type', 'text/event-stream');
  const entries = await redis.xrange(`run:${req.params.runId}`, '-', '+');
  for (const [, fields] of entries) res.write(`data: ${JSON.stringify(fields)}\n\n`);
  res.end();
});

app.listen(process.env.PORT ?? 3000);
