import { convertToModelMessages } from 'ai';
import { answer } from '@/lib/llm';

// Short questions are answered inside the request.
export async function POST(req: Request) {
  const { messages } = await req.json();
  const result = answer(convertToModelMessages(messages));
  return result.toUIMessageStreamResponse();
}
