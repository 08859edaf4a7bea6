import { openai } from '@ai-sdk/openai';
import { convertToModelMessages, generateId, streamText, type UIMessage } from 'ai';
import { setActiveStreamId, streamContext, watchForStop } from '../../../lib/runs';

export async function POST(req: Request) {
  const { id, messages }: { id: string; messages: UIMessage[] } = await req.json();
  const controller = new AbortController();
  await watchForStop(id, controller);
  const result = streamText({
    model: openai('gpt-4o-mini'),
    messages: convertToModelMessages(messages),
    abortSignal: controller.signal,
  });
  return result.toUIMessageStreamResponse({
    originalMessages: messages,
    async consumeSseStream({ stream }) {
      const streamId = generateId();
      await streamContext.createNewResumableStream(streamId, () => stream);
      setActiveStreamId(id, streamId);
    },
  });
}
