import { after } from 'next/server';
import { createResumableStreamContext, type ResumableStreamContext } from 'resumable-stream';

// One context per server instance; undefined when Redis is not configured (then the app streams
// without resume).
let shared: ResumableStreamContext | undefined;

export function getStreamContext() {
  if (!shared && process.env.REDIS_URL) {
    shared = createResumableStreamContext({ waitUntil: after });
  }
  return shared;
}
