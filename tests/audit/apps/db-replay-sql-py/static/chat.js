// Reads a run's events; EventSource reconnects on its own and sends Last-Event-ID.
export function follow(runId, render) {
  let text = '';
  const source = new EventSource(`/runs/${runId}/events`);
  source.addEventListener('delta', (e) => render((text += JSON.parse(e.data))));
  source.addEventListener('end', () => source.close());
  return () => source.close();
}
