import { createServer } from 'node:http';
import OpenAI from 'openai';
import { Server } from 'socket.io';

const openai = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL });
const httpServer = createServer();
// Missed packets are replayed after short drops (kept in this process's memory, 2 minutes).
const io = new Server(httpServer, { connectionStateRecovery: { maxDisconnectionDuration: 120_000 } });
const runs = new Map();

async function generate(chatId, messages) {
  const controller = new AbortController();
  const run = { controller, steering: [] };
  runs.set(chatId, run);
  const stream = await openai.chat.completions.create(
    { model: 'gpt-4o-mini', messages, stream: true },
    { signal: controller.signal },
  );
  for await (const chunk of stream) {
    io.to(`chat:${chatId}`).emit('delta', chunk.choices[0]?.delta?.content ?? '');
    if (run.steering.length) messages.push({ role: 'user', content: run.steering.shift() });
  }
  io.to(`chat:${chatId}`).emit('end');
  runs.delete(chatId);
}

io.on('connection', (socket) => {
  socket.on('join', (chatId) => socket.join(`chat:${chatId}`));
  socket.on('ask', ({ chatId, messages }) => {
    void generate(chatId, messages);
  });
  socket.on('stop', ({ chatId }) => runs.get(chatId)?.controller.abort());
  socket.on('steer', ({ chatId, text }) => runs.get(chatId)?.steering.push(text));
});

httpServer.listen(process.env.PORT ?? 3000);
