'use client';
import { useChat } from '@ai-sdk/react';

export default function Chat({ id }: { id: string }) {
  const { messages, sendMessage } = useChat({ id, resume: true });
  return (
    <main>
      {messages.map((m) => <p key={m.id}>{JSON.stringify(m.parts)}</p>)}
      <button onClick={() => sendMessage({ text: 'hello' })}>Send</button>
    </main>
  );
}
