import { openai } from '@ai-sdk/openai';
import { convertToModelMessages, streamText, type UIMessage } from 'ai';
import { prisma } from '@/lib/db';

// Each delta is kept (for a future "resume" feature), and the run finishes even if the tab closes.
export async function POST(req: Request) {
  const { id, messages }: { id: string; messages: UIMessage[] } = await req.json();
  let seq = 0;
  const result = streamText({
    model: openai('gpt-4o-mini'),
    messages: convertToModelMessages(messages),
    onChunk: async ({ chunk }) => {
      if (chunk.type !== 'text-delta') return;
      seq += 1;
      await prisma.streamEvent.create({ data: { chatId: id, seq, text: chunk.text } });
    },
  });
  result.consumeStream();
  return result.toUIMessageStreamResponse();
}
