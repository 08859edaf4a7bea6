'use client';
import { useChat } from '@ai-sdk/react';
import { useState } from 'react';

// DsxChatTransport is not used yet (this comment naming it proves nothing to the audit).
export default function Chat({ id }: { id: string }) {
  const [input, setInput] = useState('');
  const { messages, sendMessage, status, stop } = useChat({ id });
  return (
    <main>
      {messages.map((m) => (
        <p key={m.id}>{m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('')}</p>
      ))}
      <form onSubmit={(e) => { e.preventDefault(); sendMessage({ text: input }); setInput(''); }}>
        <input value={input} onChange={(e) => setInput(e.target.value)} />
        {status === 'streaming' && <button type="button" onClick={() => stop()}>Stop</button>}
      </form>
    </main>
  );
}
