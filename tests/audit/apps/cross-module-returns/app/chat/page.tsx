'use client';
import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport } from 'ai';

export default function Quick() {
  const { messages, sendMessage, stop } = useChat({ transport: new DefaultChatTransport({ api: '/api/quick' }) });
  return (
    <div>
      {messages.map((m) => <p key={m.id}>{m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('')}</p>)}
      <button onClick={() => sendMessage({ text: 'hi' })}>Ask</button>
      <button onClick={() => stop()}>Stop</button>
    </div>
  );
}
