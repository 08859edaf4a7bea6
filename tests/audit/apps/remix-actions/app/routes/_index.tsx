import { useChat } from '@ai-sdk/react';
import { useState } from 'react';

export default function Index() {
  const [input, setInput] = useState('');
  const { id, messages, sendMessage, status, stop } = useChat();

  async function onStop() {
    // Tell the server first (it keeps generating otherwise), then stop reading.
    await fetch(`/api/chat/${id}/stop`, { method: 'POST' });
    stop();
  }

  return (
    <main>
      {messages.map((m) => (
        <p key={m.id}>{m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('')}</p>
      ))}
      <input value={input} onChange={(e) => setInput(e.target.value)} />
      <button onClick={() => sendMessage({ text: input })}>Send</button>
      {status === 'streaming' && <button onClick={onStop}>Stop</button>}
    </main>
  );
}
