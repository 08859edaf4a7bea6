// Fixture (d): an agent that writes a model's answer into `dsx session serve`, the way an
// agent built on dsx would. The probe starts one per run (probe file `start_command`); it
// prints "ready" once its stream/session exists, then streams the mock LLM's tokens.
//   node agent.mjs --server URL --mock URL --id ID --marker WORD --protocol session|streams
// session: the dsx session protocol (docs/protocol/sessions.md): run.start, msg.start,
//   msg.append per token, heartbeats, run.end; it follows the session log and answers
//   control.cancel (aborts the model request, acks "applied", ends the run "cancelled") and
//   control.steer (acks "applied" and goes on). Closing a reader's connection does nothing.
// streams: plain Durable Streams (PUT, POST one append per token, close at the end): no
//   control channel exists there, so nothing can stop it but the agent itself.
const arg = (name) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : undefined; };
const server = arg('server'), mock = arg('mock'), id = arg('id'), marker = arg('marker') || '';
const protocol = arg('protocol') || 'session';
const enc = encodeURIComponent(id);
const model = new AbortController();

async function http(method, path, body, headers = {}) {
  const res = await fetch(`${server}${path}`, {
    method, headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? (() => { try { return JSON.parse(text); } catch { return text; } })() : null;
}

// The model: the mock LLM's streamed chat completion; yields each token's text.
async function* tokens() {
  const res = await fetch(`${mock}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, signal: model.signal,
    body: JSON.stringify({ model: 'dsx-mock', stream: true, messages: [{ role: 'user', content: `count ${marker}` }] }),
  });
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, i); buf = buf.slice(i + 2);
      const data = frame.replace(/^data: ?/, '');
      if (data === '[DONE]') return;
      const text = JSON.parse(data).choices?.[0]?.delta?.content;
      if (text) yield text;
    }
  }
}

async function streams() {
  const path = `/v1/stream/${enc}`;
  await http('PUT', path, undefined, { 'content-type': 'text/plain' });
  console.log('ready');
  for await (const t of tokens()) await http('POST', path, t, { 'content-type': 'text/plain' });
  await http('POST', path, undefined, { 'Stream-Closed': 'true' });
}

async function session() {
  const base = `/v1/session/${enc}`;
  await http('PUT', base);
  const started = await http('POST', `${base}/events`, { type: 'run.start', data: { lease_ms: 15000 } });
  const run = started.run || started.events?.[0]?.run;
  await http('POST', `${base}/events`, { type: 'msg.start', run, msg: 'm-1', data: { role: 'assistant' } });
  console.log('ready');
  let ended = false;
  const heartbeat = setInterval(() => http('POST', `${base}/runs/${run}/heartbeat`, {}).catch(() => {}), 3000);
  // Follow the log for control requests addressed to this run.
  const follow = new AbortController();
  (async () => {
    const res = await fetch(`${server}${base}/events?offset=-1&live=sse`, { signal: follow.signal });
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i); buf = buf.slice(i + 2);
        for (const line of frame.split('\n')) {
          if (!line.startsWith('data:')) continue;
          let ev; try { ev = JSON.parse(line.slice(5)); } catch { continue; }
          if (ev.run !== run || ended) continue;
          if (ev.type === 'control.cancel') {
            ended = true;
            model.abort();
            await http('POST', `${base}/events`, { type: 'control.ack', run, id: ev.id, data: { outcome: 'applied' } });
            await http('POST', `${base}/events`, { type: 'run.end', run, data: { reason: 'cancelled' } });
          } else if (ev.type === 'control.steer') {
            await http('POST', `${base}/events`, { type: 'control.ack', run, id: ev.id, data: { outcome: 'applied' } });
          }
        }
      }
    }
  })().catch(() => {});
  try {
    for await (const t of tokens()) {
      if (ended) break;
      await http('POST', `${base}/events`, { type: 'msg.append', run, msg: 'm-1', data: { text: t } });
    }
  } catch (e) {
    if (!ended) throw e;
  }
  if (!ended) {
    ended = true;
    await http('POST', `${base}/events`, { type: 'msg.end', run, msg: 'm-1', data: {} });
    await http('POST', `${base}/events`, { type: 'run.end', run, data: { reason: 'done' } });
  }
  clearInterval(heartbeat);
  follow.abort();
}

(protocol === 'streams' ? streams() : session()).then(() => process.exit(0), (e) => {
  console.error(`agent: ${e.message}`);
  process.exit(1);
});
