import { runInBackground, notifyWatchers } from '@/lib/runs';

// Starts the answer and returns at once; the page polls the draft.
export async function POST(req: Request) {
  const { chatId, messages } = await req.json();
  void runInBackground(chatId, messages);
  void notifyWatchers(chatId);
  return Response.json({ chatId }, { status: 202 });
}
