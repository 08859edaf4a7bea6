import { saveMessages } from '../../../lib/db';

// The browser posts the finished assistant message here after the stream ended.
export async function POST(req: Request) {
  const { chatId, messages } = await req.json();
  await saveMessages(chatId, messages);
  return Response.json({ ok: true });
}
