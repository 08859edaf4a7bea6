import type { ActionFunctionArgs } from '@remix-run/node';
import { openai } from '@ai-sdk/openai';
import { convertToModelMessages, streamText } from 'ai';
import { runs } from '~/lib/runs.server';

export async function action({ request }: ActionFunctionArgs) {
  const { id, messages } = await request.json();
  const controller = new AbortController();
  runs.set(id, controller);
  const result = streamText({
    model: openai('gpt-4o-mini'),
    messages: convertToModelMessages(messages),
    abortSignal: controller.signal,
    onFinish: () => runs.delete(id),
  });
  // Drain the model stream on the server, so the answer is finished even if the browser goes away.
  result.consumeStream();
  return result.toUIMessageStreamResponse();
}
