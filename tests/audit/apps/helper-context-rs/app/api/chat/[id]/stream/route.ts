import { getStreamContext } from '@/lib/stream';
import { latestStream } from '@/lib/runs';

// Re-attach to the chat's running answer after a reload.
export async function GET(_req: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const streamId = latestStream(id);
  const ctx = getStreamContext();
  if (!streamId || !ctx) return new Response(null, { status: 204 });
  const stream = await ctx.resumeExistingStream(streamId);
  if (!stream) return new Response(null, { status: 204 });
  return new Response(stream);
}
