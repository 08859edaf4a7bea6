// Reads a run through EventSource: reconnects by itself and sends Last-Event-ID, so nothing repeats.
export function follow(runId, onText) {
  const source = new EventSource(`/api/runs/${runId}/stream`);
  source.onmessage = (e) => onText(e.data);
  source.addEventListener('end', () => source.close());
  return source;
}

export function stopRun(runId) {
  return fetch(`/api/runs/${runId}/cancel`, { method: 'POST' });
}
