// Chat server whose generation log lives in MongoDB. The producer runs detached from the POST
// that started it and appends each delta to `run_events` with a per-run sequence number; any
// number of readers stream the log back as SSE, resuming after the Last-Event-ID they send.
// Stop is its own request: it marks the run, and the producer checks the mark between deltas.
import express from 'express';
import { MongoClient } from 'mongodb';
import OpenAI from 'openai';
import { randomUUID } from 'node:crypto';

const app = express();
const mongo = new MongoClient(process.env.MONGO_URL ?? 'mongodb://localhost:27017');
const db = mongo.db('chat');
const runs = db.collection('runs');
const events = db.collection('run_events');
const openai = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL });
app.use(express.json());
app.use(express.static('public'));

async function isCancelled(runId) {
  const run = await runs.findOne({ _id: runId }, { projection: { status: 1 } });
  return run?.status === 'cancelled';
}

async function generate(runId, messages) {
  let seq = 0;
  const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
  for await (const chunk of stream) {
    if (seq % 8 === 0 && (await isCancelled(runId))) break;
    const delta = chunk.choices[0]?.delta?.content ?? '';
    if (!delta) continue;
    seq += 1;
    await events.insertOne({ runId, seq, type: 'delta', delta, at: new Date() });
  }
  await events.insertOne({ runId, seq: seq + 1, type: 'end' });
  await runs.updateOne({ _id: runId, status: 'running' }, { $set: { status: 'done' } });
}

app.post('/api/chat', async (req, res) => {
  const runId = randomUUID();
  await runs.insertOne({ _id: runId, status: 'running', createdAt: new Date() });
  void generate(runId, req.body.messages);
  res.status(202).json({ runId });
});

function writeEvent(res, ev) {
  res.write(`id: ${ev.seq}\nevent: ${ev.type}\ndata: ${JSON.stringify({ delta: ev.delta ?? '' })}\n\n`);
}

app.get('/api/runs/:runId/events', async (req, res) => {
  const { runId } = req.params;
  const after = Number(req.get('last-event-id') ?? req.query.after ?? 0);
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });

  // Follow first, then replay: an event inserted between the two shows up in both and is
  // dropped by the seq check below instead of being lost.
  const changes = events.watch([{ $match: { operationType: 'insert', 'fullDocument.runId': runId } }]);
  let last = after;
  const backlog = events.find({ runId, seq: { $gt: after } }).sort({ seq: 1 });
  for await (const ev of backlog) {
    writeEvent(res, ev);
    last = ev.seq;
    if (ev.type === 'end') return changes.close().then(() => res.end());
  }
  changes.on('change', ({ fullDocument: ev }) => {
    if (ev.seq <= last) return;
    writeEvent(res, ev);
    last = ev.seq;
    if (ev.type === 'end') changes.close().then(() => res.end());
  });
  req.on('close', () => changes.close());
});

app.post('/api/runs/:runId/stop', async (req, res) => {
  await runs.updateOne({ _id: req.params.runId, status: 'running' }, { $set: { status: 'cancelled' } });
  res.sendStatus(202);
});

await mongo.connect();
app.listen(process.env.PORT ?? 3000);
