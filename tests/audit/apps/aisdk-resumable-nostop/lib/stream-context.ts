import { after } from 'next/server';
import { createResumableStreamContext } from 'resumable-stream';

// One context per server instance; Redis only coordinates, the chunks stay in this process.
export const streamContext = createResumableStreamContext({ waitUntil: after });

const activeStreams = new Map<string, string>();
export const setActiveStreamId = (chatId: string, streamId: string) => activeStreams.set(chatId, streamId);
export const getActiveStreamId = (chatId: string) => activeStreams.get(chatId);
