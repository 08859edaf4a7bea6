'use client';
import { useChat } from '@ai-sdk/react';
import { useState } from 'react';

export default function Chat({ chatId }: { chatId: string }) {
  const [input, setInput] = useState('');
  const { messages, sendMessage, status, stop } = useChat({
    id: chatId,
    onFinish: ({ messages }) => {
      fetch('/api/messages', { method: 'POST', body: JSON.stringify({ chatId, messages }) });
    },
  });
  return (
    <div>
      {messages.map((m) => (
        <p key={m.id}>{m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('')}</p>
      ))}
      <form onSubmit={(e) => { e.preventDefault(); sendMessage({ text: input }); setInput(''); }}>
        <input value={input} onChange={(e) => setInput(e.target.value)} />
        {status === 'streaming' ? <button type="button" onClick={() => stop()}>Stop</button> : <button>Send</button>}
      </form>
    </div>
  );
}
