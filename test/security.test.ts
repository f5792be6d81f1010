/**
 * Hardening of the API, probed from outside over HTTP as an attacker or an unlucky operator would: security
 * headers on every answer, JSON nesting bombs, bodies in the wrong media type, cross-site requests riding the page's
 * cookie, and task text that used to fail runs.
 */
import { createHmac } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { apiClient, runWaiter } from './helpers/http';
import { startTestApi, TestApi } from '../testkit/api';
import { createTestEnv } from '../testkit/temporal';

const KEY = 'security-test-key';
const PASSWORD = 'security test password';
let env: TestWorkflowEnvironment;
let api: TestApi;
const url = () => api.web.url;
const call = apiClient(url, KEY);
const waitFor = runWaiter(call);
let hookSecret: string;

beforeAll(async () => {
  env = await createTestEnv();
  api = await startTestApi(env, { MC_API_KEYS: KEY, MC_ADMIN_PASSWORD: PASSWORD, MC_WEBHOOK_KEY: 'security-webhook-key' });
  const r = await call('POST', '/api/robots', { id: 'hooked', name: 'Hooked', role: 'Takes webhooks.', workMode: 'autonomous', webhook: { enabled: true } });
  expect(r.status).toBe(201);
  hookSecret = r.json.webhookSecret;
});

afterAll(async () => {
  await api?.stop();
  await env?.teardown();
});

/** A session cookie, as the page gets it. */
async function sessionCookie(): Promise<string> {
  const res = await fetch(`${url()}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }) });
  expect(res.status).toBe(200);
  return res.headers.get('set-cookie')!.split(';')[0];
}

const nested = (levels: number, inner = '1') => `${'{"a":'.repeat(levels)}${inner}${'}'.repeat(levels)}`;

function signedHook(body: string, delivery: string) {
  const ts = Math.floor(Date.now() / 1000);
  const sig = createHmac('sha256', hookSecret).update(`v2.${ts}.${delivery}.${body}`).digest('hex');
  return fetch(`${url()}/hooks/hooked`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mc-timestamp': String(ts), 'x-mc-signature': `v2=${sig}`, 'x-mc-delivery': delivery },
    body,
  });
}

describe('security headers', () => {
  test('When anything answers — health, login, the page, the API, an error, a webhook, a 404 — then it carries the security headers', async () => {
    const cookie = await sessionCookie();
    const answers = await Promise.all([
      fetch(`${url()}/healthz`),
      fetch(`${url()}/login`),
      fetch(`${url()}/login/assets/login.js`),
      fetch(`${url()}/`, { headers: { cookie } }),
      fetch(`${url()}/js/main.js`, { headers: { cookie } }),
      fetch(`${url()}/api/runs`, { headers: { authorization: `Bearer ${KEY}` } }),
      fetch(`${url()}/api/runs`),
      fetch(`${url()}/hooks/hooked`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
      fetch(`${url()}/nowhere`, { headers: { authorization: `Bearer ${KEY}` } }),
      fetch(`${url()}/docs`, { headers: { cookie } }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200, 401, 401, 404, 200]);
    for (const a of answers) {
      const h = a.headers;
      expect(h.get('content-security-policy')).toMatch(/default-src 'self'.*script-src 'self'.*frame-ancestors 'none'/);
      expect(h.get('x-content-type-options')).toBe('nosniff');
      expect(h.get('x-frame-options')).toBe('DENY');
      expect(h.get('referrer-policy')).toBe('no-referrer');
      expect(h.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(h.get('x-powered-by')).toBeNull();
    }
  });
});

describe('JSON depth', () => {
  test('When a body nests JSON 10,000 levels deep — a run\'s dag args, a robot PATCH, a signed webhook, a login — then 400 naming the limit, and the process stays up', async () => {
    const deepRun = `{"task":"t","dag":[{"id":"a","title":"A","instructions":"i","kind":"text","expectedOutput":"o","args":${nested(10_000)}}]}`;
    const answers = [
      await call('POST', '/api/runs', undefined, deepRun),
      await call('PATCH', '/api/robots/hooked', undefined, `{"stages":${nested(20_000)}}`),
      await (async () => {
        const r = await signedHook(`{"x":${nested(10_000)}}`, 'deep-1');
        return { status: r.status, json: await r.json() };
      })(),
      await (async () => {
        const r = await fetch(`${url()}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"password":${nested(200)}}` });
        return { status: r.status, json: await r.json() };
      })(),
    ];
    for (const a of answers) expect([a.status, a.json]).toEqual([400, { error: 'JSON nested deeper than 64 levels (the limit, MC_MAX_JSON_DEPTH)' }]);
    expect((await fetch(`${url()}/healthz`)).status).toBe(200);
    // Within the limit is fine: nesting is refused by depth, not by shape.
    const patched = await call('PATCH', '/api/robots/hooked', { stages: { goals: { promptAddition: 'Be brief.' } } });
    expect(patched.status).toBe(200);
    const brackets = await call('POST', '/api/runs', undefined, `{"task":"[{\\"not nesting\\": ${'['.repeat(100)}"}`);
    expect(brackets.status).toBe(201);
  });
});

describe('content types', () => {
  test('When a body comes as a form or text, or a body-less POST carries a form type, then 415; a body-less POST without a type is fine', async () => {
    const form = await call('POST', '/api/runs', undefined, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    const text = await fetch(`${url()}/api/runs`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'text/plain' }, body: '{"task":"x"}' });
    expect(text.status).toBe(415);
    expect(((await text.json()) as { error: string }).error).toMatch(/Content-Type text\/plain is not accepted: send JSON/);
    const multipart = await fetch(`${url()}/api/robots/hooked/webhook/rotate`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'multipart/form-data; boundary=x' } });
    expect(multipart.status).toBe(415);
    // Body-less, no Content-Type: it reaches the route (which finds no such run).
    const noType = await fetch(`${url()}/api/runs/run-nope/cancel`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` } });
    expect([noType.status, ((await noType.json()) as { error: string }).error]).toEqual([404, 'run not found']);
    const jsonNoBody = await fetch(`${url()}/api/runs/run-nope/cancel`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' } });
    expect(jsonNoBody.status).toBe(404);
    const bodyNoType = await fetch(`${url()}/api/runs`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: new Uint8Array(Buffer.from('{"task":"x"}')) });
    expect(bodyNoType.status).toBe(415);
  });
});

describe('cross-site requests', () => {
  test('When a state change carries the page cookie from another site, then 403; from the page itself, or with an API key, it goes through', async () => {
    const cookie = await sessionCookie();
    const rotate = (headers: Record<string, string>) => fetch(`${url()}/api/robots/hooked/webhook/rotate`, { method: 'POST', headers: { cookie, ...headers } });
    // What a form on another port of the same host sends (same-site for cookies, so SameSite=Strict lets the cookie through).
    const crossForm = await rotate({ 'sec-fetch-site': 'same-site', origin: 'http://127.0.0.1:1', 'content-type': 'application/x-www-form-urlencoded' });
    expect(crossForm.status).toBe(403);
    expect(((await crossForm.json()) as { error: string }).error).toMatch(/^cross-site request refused/);
    expect((await rotate({ 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    // An older browser without Sec-Fetch-Site: the Origin decides.
    expect((await rotate({ origin: 'http://evil.example' })).status).toBe(403);
    expect((await rotate({ origin: 'null' })).status).toBe(403);
    expect((await rotate({ 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    expect((await rotate({ origin: url() })).status).toBe(200);
    // Reads are not state changes; an API key is not sent by browsers on their own.
    expect((await fetch(`${url()}/api/runs`, { headers: { cookie, 'sec-fetch-site': 'cross-site' } })).status).toBe(200);
    expect((await call('POST', '/api/robots/hooked/webhook/rotate', undefined, { 'sec-fetch-site': 'cross-site' })).status).toBe(200);
    // Signing in and out from another site's form is refused too.
    const login = await fetch(`${url()}/login`, { method: 'POST', redirect: 'manual', headers: { 'sec-fetch-site': 'cross-site', 'content-type': 'application/x-www-form-urlencoded' }, body: `password=${encodeURIComponent(PASSWORD)}` });
    expect(login.status).toBe(403);
    expect(login.headers.get('set-cookie')).toBeNull();
  });
});

describe('continuous mode', () => {
  test('When a robot asks for a continuous pause of 0ms, then 400 naming the field: a loop cannot spin', async () => {
    const r = await call('POST', '/api/robots', { name: 'Spinner', role: 'Spins.', workMode: 'autonomous', continuous: { pause: '0ms' } });
    expect([r.status, r.json.error]).toEqual([400, 'continuous.pause: must be at least 1s']);
    expect((await call('POST', '/api/robots', { name: 'Looper', role: 'Loops.', continuous: { pause: '1s' } })).status).toBe(201);
  });
});

describe('task text', () => {
  test('When the task holds a 400-character word or a 242-character URL, then the run reaches Done on the offline model', async () => {
    const word = 'x'.repeat(400);
    const link = `https://example.com/${'a'.repeat(242 - 'https://example.com/'.length)}`;
    expect(link).toHaveLength(242);
    const tasks = [word, `Summarise ${link} and list its main points`, `${'y'.repeat(19_990)} done`];
    const started = await Promise.all(tasks.map((task) => call('POST', '/api/runs', { task })));
    for (const s of started) expect(s.status).toBe(201);
    const finished = await Promise.all(started.map((s) => waitFor(s.json.id, (r) => ['Done', 'Failed'].includes(r.status), 60_000)));
    for (const f of finished) expect([f.status, f.error]).toEqual(['Done', undefined]);
    // The long word became shortened titles, not a failed plan.
    const titles = finished[0].dag.nodes.map((n: any) => n.title as string);
    expect(Math.max(...titles.map((t: string) => t.length))).toBeLessThanOrEqual(200);
    expect(titles[0]).toMatch(/^x+…$/);
  });
});
