const chatId = crypto.randomUUID();

export async function send(messages, onDelta) {
  const res = await fetch(`/api/chat/${chatId}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages }),
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (const line of value.split('\n')) if (line.startsWith('data: ')) onDelta(JSON.parse(line.slice(6)).delta);
  }
}

export async function stop() {
  await fetch(`/api/chat/${chatId}/stop`, { method: 'POST' });
}
