// Browser side: start a run, read its log with EventSource (which reconnects by itself and sends
// Last-Event-ID), and stop it through the server so every open tab sees it end.
let source = null;
let runId = new URLSearchParams(location.search).get('run');

function follow(render) {
  let text = '';
  source = new EventSource(`/api/runs/${runId}/events`);
  source.addEventListener('delta', (e) => {
    text += JSON.parse(e.data).delta;
    render(text);
  });
  source.addEventListener('end', () => source.close());
}

export async function ask(messages, render) {
  const res = await fetch('/api/chat', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages }),
  });
  ({ runId } = await res.json());
  history.replaceState(null, '', `?run=${runId}`);
  follow(render);
}

export async function stop() {
  await fetch(`/api/runs/${runId}/stop`, { method: 'POST' });
}

if (runId) follow((text) => (document.querySelector('#answer').textContent = text));
