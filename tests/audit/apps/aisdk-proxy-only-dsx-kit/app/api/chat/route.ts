import { createOpenAI } from '@ai-sdk/openai';
import { convertToModelMessages, streamText, type UIMessage } from 'ai';

// Only the base URL changed: the proxy keeps the answer in the session and finishes it after a
// drop, but this response is still what the browser reads, and its Stop only aborts that read.
const openai = createOpenAI({ baseURL: `${process.env.DSX_URL}/llm/v1` });

export async function POST(req: Request) {
  const { id, messages }: { id: string; messages: UIMessage[] } = await req.json();
  const result = streamText({
    model: openai.chat(process.env.MODEL ?? 'gpt-4o-mini'),
    headers: { 'X-Dsx-Session': id },
    messages: convertToModelMessages(messages),
  });
  return result.toUIMessageStreamResponse();
}
