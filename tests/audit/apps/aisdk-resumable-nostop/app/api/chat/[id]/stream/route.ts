import { UI_MESSAGE_STREAM_HEADERS } from 'ai';
import { getActiveStreamId, streamContext } from '../../../../../lib/stream-context';

// useChat({ resume: true }) calls this on mount: replay the active stream from its start.
export async function GET(_req: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const streamId = getActiveStreamId(id);
  if (!streamId) return new Response(null, { status: 204 });
  const stream = await streamContext.resumeExistingStream(streamId);
  if (!stream) return new Response(null, { status: 204 });
  return new Response(stream, { headers: UI_MESSAGE_STREAM_HEADERS });
}
