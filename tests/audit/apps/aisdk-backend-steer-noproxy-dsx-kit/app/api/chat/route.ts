import { createOpenAI } from '@ai-sdk/openai';
import { streamText, convertToModelMessages, type UIMessage } from 'ai';

// The transport's `start` backend writes the run into the dsx session itself, but calls the model
// directly (the provider's own base URL, not the durable LLM proxy) and never reads the session's
// control events: a control.steer posted by transport.steer is logged and nobody applies it.
const DSX_URL = process.env.DSX_URL ?? 'http://127.0.0.1:4437';
const openai = createOpenAI({ apiKey: process.env.OPENAI_API_KEY });

async function post(id: string, event: object) {
  const res = await fetch(`${DSX_URL}/v1/session/${encodeURIComponent(id)}/events`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event),
  });
  return res.json();
}

export async function POST(req: Request) {
  const { id, messages }: { id: string; messages: UIMessage[] } = await req.json();
  const started = await post(id, { type: 'run.start', data: { source: 'app' } });
  const run = started.events[0].run;
  const msg = (await post(id, { type: 'msg.start', run, data: { role: 'assistant' } })).events[0].msg;
  const result = streamText({ model: openai.chat('gpt-4o-mini'), messages: convertToModelMessages(messages) });
  (async () => {
    for await (const text of result.textStream) await post(id, { type: 'msg.append', run, msg, data: { text } });
    await post(id, { type: 'msg.end', run, msg });
    await post(id, { type: 'run.end', run, data: { reason: 'done' } });
  })();
  return Response.json({ run, offset: started.events[0].offset });
}
