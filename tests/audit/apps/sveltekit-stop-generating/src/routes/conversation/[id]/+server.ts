import OpenAI from 'openai';
import type { RequestHandler } from './$types';
import { collections } from '$lib/server/db';

const openai = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL });

export const POST: RequestHandler = async ({ request, params }) => {
  const { messages } = await request.json();
  const startedAt = new Date();
  const encoder = new TextEncoder();

  const stream = new ReadableStream({
    async start(controller) {
      const completion = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
      let text = '';
      for await (const chunk of completion) {
        // The stop-generating route writes a marker; the generator checks it between tokens.
        const aborted = await collections.abortedGenerations.findOne({ conversationId: params.id });
        if (aborted && aborted.createdAt > startedAt) break;
        const token = chunk.choices[0]?.delta?.content ?? '';
        text += token;
        controller.enqueue(encoder.encode(`data: ${JSON.stringify({ token })}\n\n`));
      }
      await collections.conversations.updateOne({ _id: params.id }, { $push: { messages: { role: 'assistant', text } } });
      controller.close();
    },
  });

  return new Response(stream, { headers: { 'Content-Type': 'text/event-stream' } });
};
