let controller = null;

export async function ask(prompt, onText) {
  controller = new AbortController();
  const res = await fetch('/api/chat', { method: 'POST', body: JSON.stringify({ prompt }), signal: controller.signal });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    onText(value);
  }
}

// Stop only stops reading: nothing tells the server.
export function stop() {
  controller?.abort();
}
