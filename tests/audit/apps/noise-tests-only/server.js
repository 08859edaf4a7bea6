// The answer is streamed inside the POST that asked for it: when the browser goes away the
// request's close event aborts the model call.
import express from 'express';
import { streamAnswer } from './lib/answer.js';
import { recordUsage } from './lib/usage.js';

const app = express();
app.use(express.json());
app.use(express.static('public'));

app.post('/api/chat', async (req, res) => {
  const controller = new AbortController();
  req.on('close', () => controller.abort());
  void recordUsage(req.body.user, '/api/chat');
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  const stream = await streamAnswer(req.body.messages, controller.signal);
  for await (const chunk of stream) res.write(chunk.choices[0]?.delta?.content ?? '');
  res.end();
});

app.listen(process.env.PORT ?? 3000);
