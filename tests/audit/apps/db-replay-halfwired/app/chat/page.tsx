'use client';
import { useChat } from '@ai-sdk/react';

export default function Chat({ id }: { id: string }) {
  const { messages, sendMessage, stop } = useChat({ id });
  return (
    <div>
      {messages.map((m) => <p key={m.id}>{m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('')}</p>)}
      <button onClick={() => sendMessage({ text: 'hi' })}>Ask</button>
      <button onClick={() => stop()}>Stop</button>
    </div>
  );
}
