let text = '';
let controller = new AbortController();

async function readInto(response, onText) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    onText(decoder.decode(value));
  }
}

export async function ask(messages, render) {
  const { runId } = await (await fetch('/api/chat', { method: 'POST', body: JSON.stringify({ messages }) })).json();
  await readInto(await fetch(`/api/chat/${runId}/stream`, { signal: controller.signal }), (t) => {
    text += t;
    render(text);
  });
  return runId;
}

// After a network error, read the run again and keep what we already had on screen.
export async function resumeRun(runId, render) {
  const response = await fetch(`/api/chat/${runId}/stream`);
  await readInto(response, (t) => {
    text += t;
    render(text);
  });
}

export function stop() {
  controller.abort();
  controller = new AbortController();
}
