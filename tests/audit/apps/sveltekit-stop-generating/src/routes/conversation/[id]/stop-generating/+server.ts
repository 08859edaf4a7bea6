import type { RequestHandler } from './$types';
import { collections } from '$lib/server/db';

export const POST: RequestHandler = async ({ params }) => {
  await collections.abortedGenerations.updateOne(
    { conversationId: params.id },
    { $set: { createdAt: new Date() } },
    { upsert: true },
  );
  return new Response();
};
