import { publisher, setActiveStreamId } from '../../../../../lib/runs';

// Stop is its own request: it reaches the producer wherever it runs, and clears the active stream.
export async function POST(_req: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  await publisher.publish(`stop:${id}`, 'stop');
  setActiveStreamId(id, null);
  return new Response(null, { status: 204 });
}
