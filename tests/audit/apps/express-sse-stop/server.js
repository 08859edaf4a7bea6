import express from 'express';
import OpenAI from 'openai';

const app = express();
const openai = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL });
const running = new Map(); // chat id -> AbortController of the generation
app.use(express.json());
app.use(express.static('public'));

// The answer is generated inside this request and written to it as server-sent events.
app.post('/api/chat/:id', async (req, res) => {
  const controller = new AbortController();
  running.set(req.params.id, controller);
  res.setHeader('Content-Type', 'text/event-stream');
  res.setHeader('Cache-Control', 'no-cache');
  req.on('close', () => controller.abort());
  try {
    const stream = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages: req.body.messages, stream: true },
      { signal: controller.signal },
    );
    for await (const chunk of stream) res.write(`data: ${JSON.stringify(chunk.choices[0]?.delta ?? {})}\n\n`);
  } finally {
    running.delete(req.params.id);
    res.end();
  }
});

app.post('/api/chat/:id/stop', (req, res) => {
  running.get(req.params.id)?.abort();
  res.sendStatus(204);
});

app.listen(process.env.PORT ?? 3000);
