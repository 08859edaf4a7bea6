import { resumableContext } from '../../route';

export async function GET(_req: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const stream = await resumableContext.resume(id);
  if (!stream) return new Response('not found', { status: 404 });
  return new Response(stream, { headers: { 'Content-Type': 'text/event-stream' } });
}
