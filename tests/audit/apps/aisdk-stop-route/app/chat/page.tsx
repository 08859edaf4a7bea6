'use client';
import { useChat } from '@ai-sdk/react';

export default function Chat({ id }: { id: string }) {
  const { messages, sendMessage, status } = useChat({ id, resume: true });
  const stopRun = () => fetch(`/api/chat/${id}/stop`, { method: 'POST' });
  return (
    <main>
      {messages.map((m) => <p key={m.id}>{JSON.stringify(m.parts)}</p>)}
      <button onClick={() => sendMessage({ text: 'hello' })}>Send</button>
      {status === 'streaming' && <button onClick={stopRun}>Stop</button>}
    </main>
  );
}
