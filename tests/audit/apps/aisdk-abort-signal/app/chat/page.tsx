'use client';
import { useChat } from '@ai-sdk/react';

export default function Chat() {
  const { messages, sendMessage, stop } = useChat();
  return (
    <main>
      {messages.map((m) => <p key={m.id}>{JSON.stringify(m.parts)}</p>)}
      <button onClick={() => sendMessage({ text: 'hello' })}>Send</button>
      <button onClick={stop}>Stop</button>
    </main>
  );
}
