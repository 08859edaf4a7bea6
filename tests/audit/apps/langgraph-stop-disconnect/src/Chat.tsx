import { useStream } from '@langchain/langgraph-sdk/react';
import type { Message } from '@langchain/langgraph-sdk';

export function Chat({ threadId }: { threadId: string }) {
  const thread = useStream<{ messages: Message[] }>({
    apiUrl: import.meta.env.VITE_LANGGRAPH_URL,
    assistantId: 'agent',
    threadId,
    messagesKey: 'messages',
    streamResumable: true,
  });
  return (
    <div>
      {thread.messages.map((m) => <p key={m.id}>{String(m.content)}</p>)}
      <button onClick={() => thread.submit({ messages: [{ type: 'human', content: 'hello' }] })}>Send</button>
      {thread.isLoading && <button onClick={() => thread.stop()}>Stop</button>}
    </div>
  );
}
