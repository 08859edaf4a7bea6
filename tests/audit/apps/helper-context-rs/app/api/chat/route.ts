import { openai } from '@ai-sdk/openai';
import { convertToModelMessages, createUIMessageStream, JsonToSseTransformStream, streamText, type UIMessage } from 'ai';
import { getStreamContext } from '@/lib/stream';
import { rememberStream } from '@/lib/runs';

export const maxDuration = 60;

export async function POST(req: Request) {
  const { id, messages }: { id: string; messages: UIMessage[] } = await req.json();
  const streamId = crypto.randomUUID();
  rememberStream(id, streamId);

  const stream = createUIMessageStream({
    execute: ({ writer }) => {
      const result = streamText({ model: openai('gpt-4o-mini'), messages: convertToModelMessages(messages) });
      writer.merge(result.toUIMessageStream());
    },
  });

  const context = getStreamContext();
  if (!context) return new Response(stream.pipeThrough(new JsonToSseTransformStream()));
  return new Response(
    await context.resumableStream(streamId, () => stream.pipeThrough(new JsonToSseTransformStream())),
  );
}
