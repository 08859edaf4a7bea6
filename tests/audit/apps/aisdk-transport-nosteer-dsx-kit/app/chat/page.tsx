'use client';
import { useChat } from '@ai-sdk/react';
import { DsxChatTransport } from '@dsx/ai-sdk-transport';
import { useState } from 'react';

// Migrated with the dsx kit, but steering is not: the transport is constructed (resume and Stop go
// through the session and the durable LLM proxy), yet the "steer" box below only sends a new
// message, which starts a second run next to the running one (the proxy refuses it: the lane is
// busy) instead of posting control.steer to it. A method named steer on anything but the
// transport, and this comment saying transport.steer, prove nothing to the audit.
const transport = new DsxChatTransport({ server: process.env.NEXT_PUBLIC_DSX_URL, model: 'gpt-4o-mini' });

export default function Chat({ id }: { id: string }) {
  const [input, setInput] = useState('');
  const [steerText, setSteerText] = useState('');
  const { messages, sendMessage, status, stop } = useChat({ id, resume: true, transport });
  const composer = { steer: (text: string) => sendMessage({ text }) };
  return (
    <main>
      {messages.map((m) => (
        <p key={m.id}>{m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('')}</p>
      ))}
      <form onSubmit={(e) => { e.preventDefault(); sendMessage({ text: input }); setInput(''); }}>
        <input value={input} onChange={(e) => setInput(e.target.value)} />
        {status === 'streaming' && <button type="button" onClick={() => stop()}>Stop</button>}
      </form>
      {status === 'streaming' && (
        <form onSubmit={(e) => { e.preventDefault(); composer.steer(steerText); setSteerText(''); }}>
          <input value={steerText} onChange={(e) => setSteerText(e.target.value)} placeholder="steer" />
          <button>Steer</button>
        </form>
      )}
    </main>
  );
}
