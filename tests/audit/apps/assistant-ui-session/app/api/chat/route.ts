import { openai } from '@ai-sdk/openai';
import { convertToModelMessages, generateId, streamText } from 'ai';
import { createResumableStreamContext, RESUMABLE_STREAM_ID_HEADER } from 'assistant-stream/resumable';
import { createRedisResumableStreamStore } from 'assistant-stream/resumable/redis';

export const resumableContext = createResumableStreamContext({
  store: createRedisResumableStreamStore({ url: process.env.REDIS_URL! }),
});

export async function POST(req: Request) {
  const { messages } = await req.json();
  const streamId = generateId();
  const stream = await resumableContext.run(streamId, () =>
    streamText({ model: openai('gpt-4o-mini'), messages: convertToModelMessages(messages) }).toUIMessageStream(),
  );
  return new Response(stream, { headers: { [RESUMABLE_STREAM_ID_HEADER]: streamId } });
}
