'use client';
import { useChat } from '@ai-sdk/react';
import { DsxChatTransport } from '@dsx/ai-sdk-transport';
import { useState } from 'react';

// aisdk-resumable-nostop migrated with the dsx kit (issue 17). The transport sends the chat to the
// durable LLM proxy of `dsx session serve --llm-proxy https://api.openai.com/v1` (the session is
// the chat id) and reads the run back from the session: resume: true re-attaches from the last
// offset it delivered (no replay from the start), and stop() posts control.cancel for the run, so
// the proxy aborts the upstream call instead of a reload resuming the "stopped" answer. The
// resumable-stream context, its Redis and the /api/chat/[id]/stream route are gone. The steer
// input posts control.steer to the run (transport.steer): the proxy stops the upstream call and
// continues the same run with the steer text, so the reply changes course instead of restarting.
const transport = new DsxChatTransport({ server: process.env.NEXT_PUBLIC_DSX_URL, model: 'gpt-4o-mini' });

export default function Chat({ id }: { id: string }) {
  const [input, setInput] = useState('');
  const [steerText, setSteerText] = useState('');
  const { messages, sendMessage, status, stop } = useChat({ id, resume: true, transport });
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
        <form onSubmit={(e) => { e.preventDefault(); transport.steer(id, steerText); setSteerText(''); }}>
          <input value={steerText} onChange={(e) => setSteerText(e.target.value)} placeholder="steer" />
          <button>Steer</button>
        </form>
      )}
    </main>
  );
}
