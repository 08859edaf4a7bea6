let controller = null;

export async function ask(messages, render) {
  controller = new AbortController();
  const res = await fetch('/api/chat', { method: 'POST', body: JSON.stringify({ messages }), signal: controller.signal });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    render((text += decoder.decode(value)));
  }
}

export function stop() {
  controller?.abort();
}
