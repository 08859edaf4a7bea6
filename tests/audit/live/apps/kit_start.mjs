// The probe's start_command for the kit case: what DsxChatTransport's `start` callback does in the
// browser. POST the chat to the app, print the run it started ("ready" first: the probe waits for
// one line), exit. The run lives in the dsx session whatever happens to this process.
//   node kit_start.mjs --app URL --id CHAT_ID --marker WORD [--body openai]
// --body openai: the migrated Python app's body ({session, messages: [{role, content}]}) instead of
// the AI SDK's ({id, messages: [{id, role, parts}]}).
const arg = (name) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : undefined; };
const res = await fetch(`${arg('app')}/api/chat`, {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify(arg('body') === 'openai'
    ? { session: arg('id'), messages: [{ role: 'user', content: `count ${arg('marker')}` }] }
    : { id: arg('id'), messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: `count ${arg('marker')}` }] }] }),
});
const body = await res.text();
if (!res.ok) { console.error(`kit_start: the app answered ${res.status}: ${body}`); process.exit(1); }
console.log(`ready ${body}`);
