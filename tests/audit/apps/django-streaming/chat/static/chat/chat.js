// The page reads the streamed answer with fetch; Stop asks the server to stop the generation.
export async function ask(chatId, prompt, onText) {
  const res = await fetch(`/chat/${chatId}/stream/?q=${encodeURIComponent(prompt)}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (const line of value.split('\n')) if (line.startsWith('data: ')) onText(JSON.parse(line.slice(6)).text);
  }
}

export async function stop(chatId) {
  await fetch(`/chat/${chatId}/stop/`, { method: 'POST' });
}
