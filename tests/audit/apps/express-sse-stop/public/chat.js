const chatId = crypto.randomUUID();
let controller = null;

export async function send(messages, onDelta) {
  controller = new AbortController();
  const res = await fetch(`/api/chat/${chatId}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages }),
    signal: controller.signal,
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (const line of value.split('\n')) if (line.startsWith('data: ')) onDelta(JSON.parse(line.slice(6)));
  }
}

export async function stop() {
  await fetch(`/api/chat/${chatId}/stop`, { method: 'POST' });
  controller?.abort();
}
