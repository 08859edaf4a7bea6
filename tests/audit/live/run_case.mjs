// Live-probe integration test driver: start the mock LLM (`dsx audit mock-llm`), Redis when
// the case needs it, the fixture app pointed at the mock, then run `dsx audit --url ...
// --mock-log ... --format json` and compare the verdicts with what the case expects.
//   node run_case.mjs --dsx PATH/TO/dsx --case plain|resumable|stop|hang|lie|session|kit|kit_python|kit_relay
// Every process it starts is stopped by pid at the end. Plain Node, no npm packages.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const dsx = args.dsx;
const which = args.case;
const children = [];
let failures = 0, passes = 0;

function check(what, ok, detail = '') {
  if (ok) { passes++; console.log(`ok   ${which}: ${what}`); }
  else { failures++; console.log(`FAIL ${which}: ${what} ${detail}`); }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// Start a process and wait for a line matching `ready` on stdout/stderr.
function start(cmd, argv, { env = {}, ready, timeoutMs = 20000, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${path.basename(cmd)} not ready in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (d) => {
      out += d;
      const m = out.match(ready);
      if (m) { clearTimeout(timer); resolve({ child, match: m }); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => { clearTimeout(timer); reject(new Error(`cannot start ${cmd}: ${e.message}`)); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${path.basename(cmd)} exited (${code}) before ready:\n${out}`)); });
  });
}

function run(cmd, argv, timeoutMs) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => { stderr += `cannot start ${cmd}: ${e.message}`; });
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 }); });
  });
}

const tempDirs = [];  // removed by cleanup()

function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  for (const d of tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

const listening = /listening on (http:\/\/[0-9.]+:\d+)/;

async function startMock(tokens = 60, intervalMs = 50) {
  const { match } = await start(dsx, ['audit', 'mock-llm', '--tokens', String(tokens), '--interval-ms', String(intervalMs)],
                                { ready: listening });
  return match[1];
}

async function startRedis() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dsx-audit-redis-'));
  await start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
                               '--dir', dir], { ready: /Ready to accept connections/ });
  return `redis://127.0.0.1:${port}`;
}

async function startApp(file, env) {
  const { match } = await start('node', [path.join(here, 'apps', file)], { env, ready: listening, cwd: path.join(here, 'apps') });
  return match[1];
}

async function audit(url, extra = [], timeoutMs = 90000) {
  const r = await run(dsx, ['audit', ...(url ? ['--url', url] : []), '--format', 'json', ...extra], timeoutMs);
  let report = null;
  try { report = JSON.parse(r.stdout); } catch { /* checked below */ }
  check(`dsx audit exits 0 (${r.ms} ms)`, r.code === 0, `code=${r.code} signal=${r.signal} stderr=${r.stderr.slice(0, 400)}`);
  check('report is one JSON document', report !== null, r.stdout.slice(0, 400));
  if (process.env.DSX_AUDIT_LIVE_DEBUG) console.log(JSON.stringify(report && report.notes, null, 1));
  return report || { capabilities: {}, failure_modes: [], notes: [] };
}

const V = (rep, cap, part) => {
  const c = rep.capabilities?.[cap];
  return part ? c?.[part]?.verdict : c?.verdict;
};
const fmIds = (rep) => (rep.failure_modes || []).map((f) => f.id);

function expectVerdicts(rep, want) {
  for (const [key, verdict] of Object.entries(want)) {
    const [cap, part] = key.split('.');
    const got = V(rep, cap, part);
    check(`${key} is ${verdict}`, got === verdict, `(got ${got})`);
  }
}

// A probe file for a generation started by `startCommand` and read as SSE from `base` (a session's
// events or a Durable Stream); `controls`: stop and steer are control.cancel / control.steer
// events POSTed to `base` (dsx sessions).
function writeProbeFile(startCommand, base, mockLog, controls) {
  const lines = [
    '# generated by run_case.mjs',
    `start_command: ${JSON.stringify(startCommand)}`,
    'start:', '  method: GET', `  url: ${JSON.stringify(`${base}?offset=-1&live=sse`)}`,
    'resume:', '  method: GET', `  url: ${JSON.stringify(`${base}?offset={{offset}}&live=sse`)}`,
    `mock_log: ${JSON.stringify(mockLog)}`,
  ];
  if (controls) {
    for (const [key, type, data] of [['cancel', 'control.cancel', '{"reason":"probe stop"}'],
                                     ['steer', 'control.steer', '{"text":"shorter please"}']]) {
      lines.push(`${key}:`, '  method: POST', `  url: ${JSON.stringify(base)}`,
                 '  headers: {content-type: application/json}',
                 `  body: ${JSON.stringify(`{"type":"${type}","run":"{{run}}","data":${data}}`)}`);
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dsx-audit-probe-'));
  tempDirs.push(dir);
  const file = path.join(dir, 'probe.yaml');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

async function main() {
  const mock = await startMock();
  const mockLog = `${mock}/log`;
  const env = { MOCK_URL: mock };
  switch (which) {
    case 'plain': {
      const app = await startApp('plain_aisdk.mjs', env);
      const rep = await audit(`${app}/api/chat`, ['--mock-log', mockLog]);
      expectVerdicts(rep, { resilient_delivery: 'no', continuity: 'no', live_control: 'partial',
                            'live_control.stop': 'partial', 'live_control.distinguish': 'no', 'live_control.steer': 'no' });
      check('single_connection_trap found', fmIds(rep).includes('single_connection_trap'), JSON.stringify(fmIds(rep)));
      const sct = (rep.failure_modes || []).find((f) => f.id === 'single_connection_trap');
      check('its fix is the durable LLM proxy, then the AI SDK transport (issue 17)',
            sct?.fix?.kit === 'llm_proxy' && /SERVER\/llm\/v1/.test(sct?.fix?.change || '') &&
            (sct?.fixes || []).some((f) => f.kit === 'ai_sdk_transport'), JSON.stringify(sct?.fixes));
      const steerFix = rep.capabilities?.live_control?.steer?.fixes?.[0];
      check('the steer part\'s fix is transport.steer on the durable LLM proxy (issue 17)',
            steerFix?.kit === 'ai_sdk_transport' && /transport\.steer\(chatId, text\)/.test(steerFix?.change || '') &&
            /--llm-proxy/.test(steerFix?.change || ''), JSON.stringify(steerFix));
      check('fingerprint is the AI SDK UI-message stream', rep.properties?.fingerprint === 'ai-sdk-ui-message-stream',
            `(got ${rep.properties?.fingerprint})`);
      break;
    }
    case 'resumable': {
      const app = await startApp('resumable.mjs', { ...env, REDIS_URL: await startRedis() });
      const rep = await audit(`${app}/api/chat`, ['--mock-log', mockLog]);
      expectVerdicts(rep, { resilient_delivery: 'yes', continuity: 'yes', live_control: 'no',
                            'live_control.stop': 'no', 'live_control.distinguish': 'no' });
      check('sse_resume_cancel_conflict found', fmIds(rep).includes('sse_resume_cancel_conflict'), JSON.stringify(fmIds(rep)));
      check('no single_connection_trap', !fmIds(rep).includes('single_connection_trap'));
      check('resume is a full replay', rep.capabilities?.resilient_delivery?.properties?.resume === 'full-replay',
            `(got ${rep.capabilities?.resilient_delivery?.properties?.resume})`);
      break;
    }
    case 'stop': {
      const app = await startApp('resumable.mjs', { ...env, STOP_ROUTE: '1', REDIS_URL: await startRedis() });
      const rep = await audit(`${app}/api/chat`, ['--mock-log', mockLog]);
      expectVerdicts(rep, { resilient_delivery: 'yes', continuity: 'yes', live_control: 'partial',
                            'live_control.stop': 'yes', 'live_control.distinguish': 'yes', 'live_control.steer': 'partial' });
      check('no failure mode', fmIds(rep).length === 0, JSON.stringify(fmIds(rep)));
      break;
    }
    case 'hang': {
      const app = await startApp('malformed.mjs', {});
      const t0 = Date.now();
      const rep = await audit(`${app}/hang`, ['--mock-log', mockLog, '--timeout', '2'], 30000);
      check('finishes within 15 s', Date.now() - t0 < 15000, `(${Date.now() - t0} ms)`);
      check('says the endpoint did not answer', (rep.notes || []).some((n) => n.includes('did not answer')),
            JSON.stringify(rep.notes));
      check('resilient delivery undetermined', rep.capabilities?.resilient_delivery?.properties?.determined === 'false');
      break;
    }
    case 'lie': {
      const app = await startApp('malformed.mjs', {});
      const rep = await audit(`${app}/lie`, ['--mock-log', mockLog, '--timeout', '2'], 30000);
      check('says the body is not what its headers claim',
            (rep.notes || []).some((n) => n.includes('not what its headers claim')), JSON.stringify(rep.notes));
      check('resilient delivery undetermined', rep.capabilities?.resilient_delivery?.properties?.determined === 'false');
      break;
    }
    case 'streams':
    case 'session': {
      // `dsx session serve` with an agent per run (apps/agent.mjs) writing the mock's tokens.
      const { match } = await start(dsx, ['session', 'serve', '--memory', '--listen', '127.0.0.1:0'], { ready: listening });
      const srv = match[1];
      if (which === 'session') {
        // The session endpoints (issue 3) may not be in this build: say so and skip (exit 77).
        const probe = await fetch(`${srv}/v1/session/dsx-audit-probe-check`, { method: 'PUT' }).catch(() => null);
        const events = probe && probe.ok
          ? await fetch(`${srv}/v1/session/dsx-audit-probe-check/events`, {
            method: 'POST', headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ type: 'run.start', data: {} }) }).catch(() => null)
          : null;
        if (!events || !events.ok) {
          console.log(`SKIP session: this dsx has no /v1/session/ run endpoints (PUT ${probe && probe.status}, ` +
                      `POST events ${events && events.status})`);
          cleanup();
          process.exit(77);
        }
      }
      const agent = `node ${path.join(here, 'apps', 'agent.mjs')} --server ${srv} --mock ${mock} ` +
                    `--id {{id}} --marker {{marker}} --protocol ${which}`;
      const base = which === 'session' ? `${srv}/v1/session/{{id}}/events` : `${srv}/v1/stream/{{id}}`;
      const file = writeProbeFile(agent, base, mockLog, which === 'session');
      const rep = await audit('', ['--probe', file]);
      if (which === 'session') {
        // dsx's own session layer: full marks on all three capabilities.
        expectVerdicts(rep, { resilient_delivery: 'yes', continuity: 'yes', live_control: 'yes',
                              'live_control.stop': 'yes', 'live_control.distinguish': 'yes', 'live_control.steer': 'yes' });
        for (const cap of ['resilient_delivery', 'continuity', 'live_control'])
          check(`${cap} scores 100`, rep.capabilities?.[cap]?.score === 100, `(got ${rep.capabilities?.[cap]?.score})`);
        check('resume is a cursor resume', rep.capabilities?.resilient_delivery?.properties?.resume === 'cursor');
        check('no failure mode', fmIds(rep).length === 0, JSON.stringify(fmIds(rep)));
      } else {
        // Plain Durable Streams: delivery and continuity, but no control channel at all.
        expectVerdicts(rep, { resilient_delivery: 'yes', continuity: 'yes', 'live_control.stop': 'no',
                              'live_control.distinguish': 'no' });
        check('resume is a cursor resume', rep.capabilities?.resilient_delivery?.properties?.resume === 'cursor',
              `(got ${rep.capabilities?.resilient_delivery?.properties?.resume})`);
        check('fingerprint is durable-streams', rep.properties?.fingerprint === 'durable-streams', `(got ${rep.properties?.fingerprint})`);
        check('sse_resume_cancel_conflict found (no stop channel)', fmIds(rep).includes('sse_resume_cancel_conflict'));
      }
      break;
    }
    case 'kit': {
      // Issue 17: plain_aisdk.mjs migrated with the kit (apps/kit_aisdk.mjs): the app's model base
      // URL is a real `dsx session serve --llm-proxy <mock>/v1`, the browser side (what
      // DsxChatTransport does) reads the run from the session and stops it with control.cancel.
      const help = await run(dsx, ['session', 'serve', '--help'], 20000);
      if (!/--llm-proxy\b/.test(help.stdout + help.stderr)) {
        console.log('SKIP kit: this dsx has no durable LLM proxy (`dsx session serve --help` lacks --llm-proxy; ' +
                    'issue 17\'s proxy, lib/llm/proxy)');
        cleanup();
        process.exit(77);
      }
      const { match } = await start(dsx, ['session', 'serve', '--memory', '--listen', '127.0.0.1:0',
                                          '--llm-proxy', `${mock}/v1`], { ready: listening });
      const srv = match[1];
      const app = await startApp('kit_aisdk.mjs', { DSX_URL: srv });
      const starter = `node ${path.join(here, 'apps', 'kit_start.mjs')} --app ${app} --id {{id}} --marker {{marker}}`;
      const file = writeProbeFile(starter, `${srv}/v1/session/{{id}}/events`, mockLog, true);
      // The live probe and the static audit of the same app migrated the same way
      // (tests/audit/apps/aisdk-trap-dsx-kit) in one run: they must agree.
      const staticApp = path.join(here, '..', 'apps', 'aisdk-trap-dsx-kit');
      const both = await audit('', [staticApp, '--probe', file]);
      const rep = both.live || both;
      check('static and live reports both present', !!both.static && !!both.live, `(source ${both.source})`);
      // The kit's promise, measured: the answer outlives a drop and resumes by offset, a second
      // reader sees it, Stop aborts the upstream call (the mock's log) and is told from a drop,
      // and the steer (control.steer on the run, what DsxChatTransport.steer posts) is applied by
      // the proxy (an "applied" control.ack: it stops the upstream call and continues the run with
      // the steer text), as the static audit of the app's steer input says.
      expectVerdicts(rep, { resilient_delivery: 'yes', continuity: 'yes', live_control: 'yes',
                            'live_control.stop': 'yes', 'live_control.distinguish': 'yes', 'live_control.steer': 'yes' });
      for (const cap of ['resilient_delivery', 'continuity', 'live_control'])
        check(`${cap} scores 100`, rep.capabilities?.[cap]?.score === 100, `(got ${rep.capabilities?.[cap]?.score})`);
      check('resume is a cursor resume', rep.capabilities?.resilient_delivery?.properties?.resume === 'cursor',
            `(got ${rep.capabilities?.resilient_delivery?.properties?.resume})`);
      check('all three capabilities are scored', ['resilient_delivery', 'continuity', 'live_control']
        .every((c) => typeof rep.capabilities?.[c]?.score === 'number' && rep.capabilities?.[c]?.properties?.determined !== 'false'));
      check('no failure mode', fmIds(rep).length === 0, JSON.stringify(fmIds(rep)));
      check('static and live agree', Array.isArray(both.disagreements) && both.disagreements.length === 0,
            JSON.stringify(both.disagreements));
      check('the proxy acked the steer applied', (rep.notes || []).some((n) => /probe steer: the run answered control\.ack applied/.test(n)),
            JSON.stringify((rep.notes || []).filter((n) => /steer/.test(n))));
      check('no fix offered for steer (it passes)', (rep.capabilities?.live_control?.steer?.fixes || []).length === 0,
            JSON.stringify(rep.capabilities?.live_control?.steer?.fixes));
      break;
    }
    case 'kit_python':
    case 'kit_relay': {
      // Issue 17: fastapi-trap migrated with the kit (tests/audit/apps/fastapi-trap-dsx-kit), run
      // live as apps/kit_python.py (stdlib stand-ins for FastAPI and the OpenAI SDK; the agent
      // client is the real clients/python/dsx_agent.py), writing into a real `dsx session serve`.
      // Probed and statically audited in one run: all three capabilities yes, and they agree.
      const { match } = await start(dsx, ['session', 'serve', '--memory', '--listen', '127.0.0.1:0'], { ready: listening });
      const srv = match[1];
      // kit_relay: the agents relay migrated with the kit (tests/audit/apps/agents-relay-dsx-kit):
      // the orchestrator's run in lane main, each sub-agent's run in a lane of its own.
      const relay = which === 'kit_relay';
      const { match: am } = await start('/usr/bin/python3', [path.join(here, 'apps', 'kit_python.py'), ...(relay ? ['--relay'] : [])],
                                        { env: { DSX_URL: srv, OPENAI_BASE_URL: `${mock}/v1` }, ready: listening });
      const app = am[1];
      const starter = `node ${path.join(here, 'apps', 'kit_start.mjs')} --app ${app} --id {{id}} --marker {{marker}} --body openai`;
      const file = writeProbeFile(starter, `${srv}/v1/session/{{id}}/events`, mockLog, true);
      const staticApp = path.join(here, '..', 'apps', relay ? 'agents-relay-dsx-kit' : 'fastapi-trap-dsx-kit');
      const both = await audit('', [staticApp, '--probe', file]);
      const rep = both.live || both;
      check('static and live reports both present', !!both.static && !!both.live, `(source ${both.source})`);
      expectVerdicts(rep, { resilient_delivery: 'yes', continuity: 'yes', live_control: 'yes',
                            'live_control.stop': 'yes', 'live_control.distinguish': 'yes', 'live_control.steer': 'yes' });
      for (const cap of ['resilient_delivery', 'continuity', 'live_control'])
        check(`${cap} scores 100`, rep.capabilities?.[cap]?.score === 100, `(got ${rep.capabilities?.[cap]?.score})`);
      expectVerdicts(both.static || {}, { resilient_delivery: 'yes', continuity: 'yes', live_control: 'yes' });
      check('no failure mode', fmIds(rep).length === 0, JSON.stringify(fmIds(rep)));
      check('static and live agree', Array.isArray(both.disagreements) && both.disagreements.length === 0,
            JSON.stringify(both.disagreements));
      check('the app acked the steer applied', (rep.notes || []).some((n) => /probe steer: the run answered control\.ack applied/.test(n)),
            JSON.stringify((rep.notes || []).filter((n) => /steer/.test(n))));
      if (relay) check('no relay bottleneck', !fmIds(both.static || {}).includes('orchestrator_relay_bottleneck'));
      break;
    }
    case 'unreachable': {
      const port = await freePort();
      const r = await run(dsx, ['audit', '--url', `http://127.0.0.1:${port}/api/chat`], 20000);
      check('exit 5 when nothing listens', r.code === 5, `(code ${r.code})`);
      check('error names the address', /cannot reach/.test(r.stderr), r.stderr);
      break;
    }
    default:
      throw new Error(`unknown case '${which}'`);
  }
}

const guard = setTimeout(() => { console.log(`FAIL ${which}: time limit`); cleanup(); process.exit(1); }, 150000);
main().catch((e) => { failures++; console.log(`FAIL ${which}: ${e.message}`); })
  .finally(() => {
    clearTimeout(guard);
    if (failures) console.log('(set DSX_AUDIT_LIVE_DEBUG=1 to print the probe notes)');
    cleanup();
    console.log(`${passes} passed, ${failures} failed`);
    process.exit(failures ? 1 : 0);
  });
