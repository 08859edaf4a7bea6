'use client';
import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport } from 'ai';
import { useState } from 'react';

export default function Chat({ id }: { id: string }) {
  const [input, setInput] = useState('');
  const { messages, sendMessage, status, stop } = useChat({
    id,
    resume: true,
    transport: new DefaultChatTransport({ api: '/api/chat' }),
  });
  return (
    <form onSubmit={(e) => { e.preventDefault(); sendMessage({ text: input }); setInput(''); }}>
      {messages.map((m) => <p key={m.id}>{m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('')}</p>)}
      <input value={input} onChange={(e) => setInput(e.target.value)} />
      {status === 'streaming' ? <button type="button" onClick={() => stop()}>Stop</button> : <button>Send</button>}
    </form>
  );
}
