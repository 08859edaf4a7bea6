import { after } from 'next/server';
import { createClient } from 'redis';
import { createResumableStreamContext } from 'resumable-stream';

export const streamContext = createResumableStreamContext({ waitUntil: after });
export const publisher = createClient({ url: process.env.REDIS_URL });
export const subscriber = publisher.duplicate();

// The producer's abort controllers, by chat id. A stop published on Redis reaches whichever
// instance runs the producer.
const controllers = new Map<string, AbortController>();
const active = new Map<string, string>();

export async function watchForStop(chatId: string, controller: AbortController) {
  controllers.set(chatId, controller);
  await subscriber.subscribe(`stop:${chatId}`, () => controllers.get(chatId)?.abort());
}

export const setActiveStreamId = (chatId: string, streamId: string | null) =>
  streamId ? active.set(chatId, streamId) : active.delete(chatId);
export const getActiveStreamId = (chatId: string) => active.get(chatId);
