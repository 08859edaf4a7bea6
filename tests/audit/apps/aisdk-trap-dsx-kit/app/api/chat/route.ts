import { createOpenAI } from '@ai-sdk/openai';
import { convertToModelMessages, streamText, type UIMessage } from 'ai';

// aisdk-trap migrated with the dsx kit (issue 17). One change on the server: the model's base URL
// is the durable LLM proxy of `dsx session serve --llm-proxy https://api.openai.com/v1`. The
// proxy owns the upstream call and writes every delta into the chat's session as a run, so this
// request only starts it: it answers the run id and the session offset to read it from (the
// proxy's X-Dsx-Run / X-Dsx-Offset headers), and the browser reads the run from the session.
const DSX_URL = process.env.DSX_URL ?? 'http://127.0.0.1:4437';

export async function POST(req: Request) {
  const { id, messages }: { id: string; messages: UIMessage[] } = await req.json();
  let started!: (run: { run: string | null; offset: string | null }) => void;
  const begun = new Promise<{ run: string | null; offset: string | null }>((resolve) => { started = resolve; });
  const openai = createOpenAI({
    baseURL: `${DSX_URL}/llm/v1`,
    headers: { 'X-Dsx-Session': id },
    fetch: async (url, init) => {
      const res = await fetch(url, init);
      started({ run: res.headers.get('x-dsx-run'), offset: res.headers.get('x-dsx-offset') });
      return res;
    },
  });
  const result = streamText({
    model: openai.chat(process.env.MODEL ?? 'gpt-4o-mini'),
    messages: convertToModelMessages(messages),
  });
  result.consumeStream(); // drain our copy; the session keeps the answer whatever happens here
  return Response.json(await begun);
}
