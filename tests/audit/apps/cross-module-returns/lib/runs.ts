import { createClient } from 'redis';
import type { ModelMessage } from 'ai';
import { answer } from './llm';

const redis = createClient({ url: process.env.REDIS_URL });

// Runs the answer to the end even if nobody is reading, keeping the latest draft for polling.
export async function runInBackground(chatId: string, messages: ModelMessage[]) {
  if (!redis.isOpen) await redis.connect();
  let text = '';
  for await (const delta of answer(messages).textStream) {
    text += delta;
    await redis.set(`chat:${chatId}:draft`, text);
  }
  await redis.set(`chat:${chatId}:done`, '1');
}

export async function notifyWatchers(chatId: string) {
  if (!redis.isOpen) await redis.connect();
  await redis.publish('chats', chatId);
}
