import { openai } from '@ai-sdk/openai';
import { streamText } from 'ai';
import { runs } from '../utils/runs';

export default defineEventHandler(async (event) => {
  const { id, prompt } = await readBody(event);
  const controller = new AbortController();
  runs.set(id, controller);
  const result = streamText({
    model: openai('gpt-4o-mini'),
    prompt,
    abortSignal: controller.signal,
    onFinish: () => runs.delete(id),
  });
  // The response is the model's text stream: the run lives inside this request.
  return sendStream(event, result.textStream);
});
