'use client';
import { useChat } from '@ai-sdk/react';
import { DsxChatTransport } from '@dsx/ai-sdk-transport';
import { useState } from 'react';

// The client side is fully migrated, steer input included; what is missing is on the server
// (app/api/chat/route.ts): nothing there applies control.steer.
const transport = new DsxChatTransport({
  server: process.env.NEXT_PUBLIC_DSX_URL,
  start: async ({ chatId, messages }) => {
    const res = await fetch('/api/chat', { method: 'POST', body: JSON.stringify({ id: chatId, messages }) });
    return res.json();
  },
});

export default function Chat({ chatId }: { chatId: string }) {
  const [input, setInput] = useState('');
  const [steerText, setSteerText] = useState('');
  const { messages, sendMessage, status, stop } = useChat({ id: chatId, resume: true, transport });
  return (
    <div>
      {messages.map((m) => (
        <p key={m.id}>{m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('')}</p>
      ))}
      <form onSubmit={(e) => { e.preventDefault(); sendMessage({ text: input }); setInput(''); }}>
        <input value={input} onChange={(e) => setInput(e.target.value)} />
        {status === 'streaming' ? <button type="button" onClick={() => stop()}>Stop</button> : <button>Send</button>}
      </form>
      {status === 'streaming' && (
        <form onSubmit={(e) => { e.preventDefault(); transport.steer(chatId, steerText); setSteerText(''); }}>
          <input value={steerText} onChange={(e) => setSteerText(e.target.value)} placeholder="steer" />
          <button>Steer</button>
        </form>
      )}
    </div>
  );
}
