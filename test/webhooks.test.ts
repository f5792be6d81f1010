/**
 * Signed webhook triggers (POST /hooks/:robotId) against a real Temporal dev server: signature, freshness,
 * idempotent deliveries, payload filters, size limit, secret rotation.
 */
import { createHmac } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WebServer } from '../api/app';
import type { Config } from '../lib/config';
import type { StoredRobot } from '../contracts/robot';
import { webhookSecret } from '../api/robots/webhook-signature';
import { createReceiveWebhook } from '../api/use-cases/receive-webhook';
import { apiClient } from './helpers/http';
import { startTestApi, TestApi } from '../testkit/api';
import { createTestEnv, eventually } from '../testkit/temporal';

const KEY = 'hooks-test-key';
let env: TestWorkflowEnvironment;
let web: WebServer;
let config: Config;
let api: TestApi;
const call = apiClient(() => web.url, KEY);

/** Signs like a sender would, independently of the server's code: v2 is HMAC-SHA256 over `v2.timestamp.delivery.body`. */
function signature(secret: string, timestamp: number, body: string, delivery = ''): string {
  return `v2=${createHmac('sha256', secret).update(`v2.${timestamp}.${delivery}.${body}`).digest('hex')}`;
}

/** The legacy v1 signature: HMAC-SHA256 over `timestamp.body` (the delivery id is not covered). */
function signatureV1(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

async function deliver(robotId: string, body: string, opts: { secret?: string; timestamp?: number; delivery?: string; sign?: string | null; send?: string } = {}) {
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-mc-timestamp': String(ts) };
  const sig = opts.sign === null ? undefined : (opts.sign ?? signature(opts.secret!, ts, body, opts.delivery));
  if (sig) headers['x-mc-signature'] = sig;
  if (opts.delivery) headers['x-mc-delivery'] = opts.delivery;
  const res = await fetch(`${web.url}/hooks/${robotId}`, { method: 'POST', headers, body: opts.send ?? body });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function runsOf(robotId: string): Promise<any[]> {
  return (await call('GET', `/api/robots/${robotId}/runs`)).json.runs;
}

let secret: string;

beforeAll(async () => {
  env = await createTestEnv();
  api = await startTestApi(env, { MC_API_KEYS: KEY, MC_WEBHOOK_KEY: 'hooks-master-key', MC_WEBHOOK_MAX_BODY: '2kb' });
  ({ web, config } = api);
  const created = await call('POST', '/api/robots', {
    id: 'triage',
    name: 'Triage',
    role: 'Triages new issues.',
    duty: 'Triage the issue in the payload.',
    workMode: 'autonomous',
    webhook: { enabled: true, filters: [{ path: '$.action', equals: 'opened' }] },
  });
  expect(created.status).toBe(201);
  secret = created.json.webhookSecret;
  expect(secret).toMatch(/^whsec_/);
});

afterAll(async () => {
  await api?.stop();
  await env?.teardown();
});

describe('webhooks', () => {
  test('When a correctly signed delivery arrives, then 202 with the run id, and the run context holds the payload', async () => {
    const payload = { action: 'opened', issue: { number: 7, title: 'Crash on start' } };
    const r = await deliver('triage', JSON.stringify(payload), { secret, delivery: 'd-first' });
    expect(r.status).toBe(202);
    expect(r.json).toEqual({ id: 'run-hook-triage-d-first', started: true });
    const run = await eventually(async () => {
      const s = await call('GET', `/api/runs/${r.json.id}`);
      return s.json?.status === 'Done' ? s.json : undefined;
    });
    expect(run.trigger).toBe('webhook');
    expect(run.robot).toMatchObject({ id: 'triage', version: 1 });
    expect(run.task).toBe('Triage the issue in the payload.');
    expect(run.context).toEqual({ webhook: { deliveryId: 'd-first', signature: 'v2', payload } });
  });

  test('When the signature is wrong, missing, stale, or the body was altered after signing, then 401 and nothing starts', async () => {
    const body = JSON.stringify({ action: 'opened', n: 1 });
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      { name: 'wrong secret', r: await deliver('triage', body, { secret: 'whsec_not-the-secret', delivery: 'bad-1' }) },
      { name: 'missing', r: await deliver('triage', body, { sign: null, delivery: 'bad-2' }) },
      { name: 'stale', r: await deliver('triage', body, { secret, timestamp: now - 6 * 60, delivery: 'bad-3' }) },
      { name: 'future', r: await deliver('triage', body, { secret, timestamp: now + 6 * 60, delivery: 'bad-4' }) },
      { name: 'altered', r: await deliver('triage', body, { secret, delivery: 'bad-5', send: body.replace('"n":1', '"n":2') }) },
      { name: 'garbage', r: await deliver('triage', body, { sign: 'sha256=00', delivery: 'bad-6' }) },
    ];
    for (const c of cases) {
      expect([c.name, c.r.status]).toEqual([c.name, 401]);
      expect(typeof c.r.json.error).toBe('string');
    }
    expect(cases[1].r.json.error).toMatch(/missing x-mc-signature/);
    expect(cases[2].r.json.error).toMatch(/tolerance/);
    // Nothing was started: none of these workflow ids exists, and the robot has only the first test's run.
    for (let i = 1; i <= 6; i++) expect((await call('GET', `/api/runs/run-hook-triage-bad-${i}`)).status).toBe(404);
    expect((await runsOf('triage')).map((r) => r.id)).toEqual(['run-hook-triage-d-first']);
  });

  test('When the same delivery id arrives three times, also concurrently, then exactly one run starts and duplicates return its id', async () => {
    const body = JSON.stringify({ action: 'opened', issue: { number: 8 } });
    const sequential = [];
    for (let i = 0; i < 3; i++) sequential.push(await deliver('triage', body, { secret, delivery: 'dup-seq' }));
    expect(sequential.map((r) => r.status)).toEqual([202, 200, 200]);
    expect(sequential[1].json).toEqual({ id: 'run-hook-triage-dup-seq', duplicate: true, started: false });

    const concurrent = await Promise.all([0, 1, 2].map(() => deliver('triage', body, { secret, delivery: 'dup-par' })));
    expect(concurrent.map((r) => r.status).sort()).toEqual([200, 200, 202]);
    expect(new Set(concurrent.map((r) => r.json.id))).toEqual(new Set(['run-hook-triage-dup-par']));

    const ids = await eventually(async () => {
      const runs = (await runsOf('triage')).map((r) => r.id);
      return runs.length >= 3 ? runs : undefined;
    });
    expect(ids.filter((id: string) => id.startsWith('run-hook-triage-dup')).sort()).toEqual(['run-hook-triage-dup-par', 'run-hook-triage-dup-seq']);
  });

  test('When a signed request without a delivery id is replayed, then the replay finds the first run', async () => {
    const body = JSON.stringify({ action: 'opened', issue: { number: 9 } });
    const ts = Math.floor(Date.now() / 1000);
    const sig = signature(secret, ts, body);
    const first = await deliver('triage', body, { sign: sig, timestamp: ts });
    const replay = await deliver('triage', body, { sign: sig, timestamp: ts });
    expect(first.status).toBe(202);
    expect(first.json.id).toMatch(/^run-hook-triage-sig-[0-9a-f]{32}$/);
    expect(replay.status).toBe(200);
    expect(replay.json).toEqual({ id: first.json.id, duplicate: true, started: false });
  });

  test('When the payload does not match the filter, then nothing starts (200, reason given)', async () => {
    const r = await deliver('triage', JSON.stringify({ action: 'closed' }), { secret, delivery: 'filtered-1' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ started: false, reason: expect.stringContaining('$.action') });
    expect((await call('GET', '/api/runs/run-hook-triage-filtered-1')).status).toBe(404);
  });

  test('When the body is over the webhook size limit, then 413', async () => {
    const body = JSON.stringify({ action: 'opened', blob: 'x'.repeat(4096) });
    const r = await deliver('triage', body, { secret, delivery: 'big-1' });
    expect(r.status).toBe(413);
  });

  test('When the secret is rotated, then the old one is refused and the new one works', async () => {
    const rotated = await call('POST', '/api/robots/triage/webhook/rotate');
    expect(rotated.status).toBe(200);
    expect(rotated.json.webhookSecret).toMatch(/^whsec_/);
    expect(rotated.json.webhookSecret).not.toBe(secret);
    const body = JSON.stringify({ action: 'opened' });
    expect((await deliver('triage', body, { secret, delivery: 'rot-old' })).status).toBe(401);
    expect((await deliver('triage', body, { secret: rotated.json.webhookSecret, delivery: 'rot-new' })).status).toBe(202);
    secret = rotated.json.webhookSecret;
  });

  test('When a robot does not exist, has no webhook, or the signature is wrong, then the answers are the same (401, same body)', async () => {
    await call('POST', '/api/robots', { id: 'quiet', name: 'Quiet', role: 'No hooks.' });
    const body = JSON.stringify({ action: 'opened' });
    const answers = [
      await deliver('nobody', body, { secret, delivery: 'alike-1' }),
      await deliver('quiet', body, { secret, delivery: 'alike-2' }),
      await deliver('triage', body, { secret: 'whsec_wrong', delivery: 'alike-3' }),
    ];
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401]);
    expect(answers.map((a) => a.json)).toEqual([{ error: 'signature does not match' }, { error: 'signature does not match' }, { error: 'signature does not match' }]);
  });

  test('When a captured v2 request is replayed with a new delivery id, then it is refused (the id is signed) and nothing new starts', async () => {
    const body = JSON.stringify({ action: 'opened', issue: { number: 21 } });
    const ts = Math.floor(Date.now() / 1000);
    const sig = signature(secret, ts, body, 'cap-1');
    expect((await deliver('triage', body, { sign: sig, timestamp: ts, delivery: 'cap-1' })).status).toBe(202);
    const replays = await Promise.all(['cap-2', 'cap-3', 'cap-4'].map((d) => deliver('triage', body, { sign: sig, timestamp: ts, delivery: d })));
    expect(replays.map((r) => [r.status, r.json])).toEqual(Array(3).fill([401, { error: 'signature does not match' }]));
    const again = await deliver('triage', body, { sign: sig, timestamp: ts, delivery: 'cap-1' });
    expect(again).toEqual({ status: 200, json: { id: 'run-hook-triage-cap-1', duplicate: true, started: false } });
    for (const d of ['cap-2', 'cap-3', 'cap-4']) expect((await call('GET', `/api/runs/run-hook-triage-${d}`)).status).toBe(404);
  });

  test('When a captured legacy v1 request is replayed with new delivery ids, then every replay finds the first run (v1 is named by its signature)', async () => {
    const body = JSON.stringify({ action: 'opened', issue: { number: 22 } });
    const ts = Math.floor(Date.now() / 1000);
    const sig = signatureV1(secret, ts, body);
    const first = await deliver('triage', body, { sign: sig, timestamp: ts, delivery: 'v1-a' });
    expect(first.status).toBe(202);
    expect(first.json.id).toMatch(/^run-hook-triage-sig-[0-9a-f]{32}$/);
    const replays = await Promise.all(['v1-b', 'v1-c', undefined].map((d) => deliver('triage', body, { sign: sig, timestamp: ts, delivery: d })));
    expect(replays.map((r) => r.json)).toEqual(Array(3).fill({ id: first.json.id, duplicate: true, started: false }));
    const run = await eventually(async () => (await call('GET', `/api/runs/${first.json.id}`)).json);
    expect(run.context.webhook).toMatchObject({ signature: 'v1', deliveryId: 'v1-a' });
  });

  test('When the body is not sent as JSON, then 415', async () => {
    const res = await fetch(`${web.url}/hooks/triage`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'action=opened' });
    expect(res.status).toBe(415);
  });
});

describe('receiveWebhook, the use case', () => {
  const robot = { id: 'r', name: 'R', role: 'x', version: 1, webhook: { enabled: true, filters: [] }, webhookKeyId: 'k1' } as unknown as StoredRobot;
  const started: string[] = [];
  const make = (nowMs: number) =>
    createReceiveWebhook({
      robots: { load: async () => robot },
      startRun: async (c) => (started.push(c.runId!), { id: c.runId!, status: 'Pending', task: 't', robotVersion: 1, links: { temporalUi: '' } }),
      webhookKey: 'master',
      maxJsonDepth: 64,
      v1Until: new Date('2027-03-01T00:00:00Z'),
      now: () => nowMs,
    });

  test('When MC_WEBHOOK_V1_UNTIL has passed, then a v1 signature is refused with a message saying to sign v2, and v2 still works', async () => {
    const whsec = webhookSecret('master', 'r', 'k1');
    const after = Date.parse('2027-03-02T00:00:00Z');
    const ts = String(Math.floor(after / 1000));
    const body = Buffer.from('{}');
    await expect(make(after)({ robotId: 'r', body, signature: signatureV1(whsec, Number(ts), '{}'), timestamp: ts })).rejects.toThrow(/v1 signatures \(sha256=\) are no longer accepted since 2027-03-01.*sign v2/);
    await expect(make(after)({ robotId: 'r', body, signature: signature(whsec, Number(ts), '{}', 'x1'), timestamp: ts, deliveryId: 'x1' })).resolves.toEqual({ outcome: 'started', runId: 'run-hook-r-x1' });
    const before = Date.parse('2027-02-01T00:00:00Z');
    const tsBefore = Math.floor(before / 1000);
    await expect(make(before)({ robotId: 'r', body, signature: signatureV1(whsec, tsBefore, '{}'), timestamp: String(tsBefore), deliveryId: 'ignored' })).resolves.toMatchObject({ outcome: 'started', runId: expect.stringMatching(/^run-hook-r-sig-/) });
  });
});
