import { openai } from '@ai-sdk/openai';
import { streamText, type ModelMessage } from 'ai';

// Every route gets its model stream here, so model and system prompt live in one place.
export function answer(messages: ModelMessage[]) {
  return streamText({ model: openai('gpt-4o-mini'), system: 'You are terse.', messages });
}
