/**
 * Delivery, end to end: robots created and triggered over the API (port 0), a real worker on a real Temporal dev
 * server, and real receivers — a webhook receiver that verifies the signature with our own verifier, a real SMTP
 * server (`smtp-server`) receiving what nodemailer sends, and local fakes of the Slack, Discord and Telegram APIs
 * reached through @slack/web-api, @discordjs/rest and grammY. Also: retries with one idempotency key, final
 * refusals under `warn` and `fail`, the outbound guard, artifacts over the API, and the canary (secrets never show).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { apiClient, runWaiter } from './helpers/http';
import { type FakePlatforms, type FakeSmtp, startFakePlatforms, startScriptedReceiver, startSmtpServer, type ScriptedReceiver } from './helpers/fake-platforms';
import { startTestApi, type TestApi } from '../testkit/api';
import { createTestEnv } from '../testkit/temporal';
import { verify } from '../api/robots/webhook-signature';

const KEY = 'delivery-test-key';
/** Secrets of this test: none may ever show outside the worker's memory and the receivers. */
const CANARY = {
  slack: 'xoxb-canary-slack-token-7f3a9d',
  discord: 'canary-discord-bot-token-91b2e4',
  telegram: '123456789:canary-telegram-token-c0ffee',
  smtpPassword: 'canary-smtp-password-5e1d22',
  signing: 'whsec_canary_signing_secret_3c4d',
};
const ENV_CREDENTIALS = {
  MC_CREDENTIAL_DISCORD_BOT: CANARY.discord,
  MC_CREDENTIAL_TELEGRAM_BOT: CANARY.telegram,
  MC_CREDENTIAL_HOOK_SIGNING: CANARY.signing,
};

let env: TestWorkflowEnvironment;
let api: TestApi;
let platforms: FakePlatforms;
let smtp: FakeSmtp;
let hook: ScriptedReceiver;
let artifactDir: string;
const logs: string[] = [];
const restoreWrites: (() => void)[] = [];
const call = apiClient(() => api.web.url, KEY);
const waitFor = runWaiter(call);

/** Everything this process writes to stdout and stderr (our logs) is kept for the canary. */
function captureOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      logs.push(String(chunk));
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restoreWrites.push(() => (stream.write = original as typeof stream.write));
  }
}

/** `receiver.test` is a public-looking name the allow-list names; it resolves to the local receiver. */
const lookup = async (hostname: string) => {
  if (hostname === 'receiver.test') return [{ address: '127.0.0.1', family: 4 }];
  throw new Error(`no such host in this test: ${hostname}`);
};

beforeAll(async () => {
  captureOutput();
  Object.assign(process.env, ENV_CREDENTIALS);
  artifactDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mc-artifacts-'));
  [env, platforms, smtp, hook] = await Promise.all([
    createTestEnv(),
    startFakePlatforms({ slack: CANARY.slack, discord: CANARY.discord, telegram: CANARY.telegram }),
    startSmtpServer({ user: 'mc', password: CANARY.smtpPassword }),
    startScriptedReceiver(CANARY.signing),
  ]);
  api = await startTestApi(
    env,
    {
      MC_API_KEYS: KEY,
      MC_ARTIFACT_DIR: artifactDir,
      MC_SECRET_KEY: 'delivery-test-secret-key',
      MC_FETCH_ALLOWLIST: 'receiver.test',
      MC_SMTP_URL: `smtp://mc:${CANARY.smtpPassword}@127.0.0.1:${smtp.port}`,
      MC_SMTP_FROM: 'Robots <robots@example.com>',
      MC_SLACK_API_URL: platforms.slackApiUrl,
      MC_DISCORD_API_URL: platforms.discordApiUrl,
      MC_TELEGRAM_API_URL: platforms.telegramApiUrl,
    },
    { lookup },
  );
}, 60_000);

afterAll(async () => {
  await api?.stop();
  await Promise.all([platforms?.close(), smtp?.close(), hook?.close()]);
  await env?.teardown();
  for (const r of restoreWrites) r();
  for (const k of Object.keys(ENV_CREDENTIALS)) delete process.env[k];
  fs.rmSync(artifactDir, { recursive: true, force: true });
});

async function robotRun(id: string, fields: Record<string, unknown>, task = `Summarise the week for ${id}`): Promise<any> {
  const created = await call('POST', '/api/robots', { id, name: `Robot ${id}`, role: 'Writes short weekly reports.', ...fields });
  expect(created.status).toBe(201);
  const started = await call('POST', `/api/robots/${id}/trigger`, { task });
  expect(started.status).toBe(201);
  return waitFor(started.json.id, (run) => ['Done', 'Failed', 'Cancelled'].includes(run.status), 60_000);
}

const ALL_DESTINATIONS = (hookUrl: string) => [
  { type: 'webhook', url: hookUrl, signingSecret: 'hook-signing' },
  { type: 'file', name: 'report' },
  { type: 'email', to: 'team@example.com' },
  { type: 'slack', credential: 'slack-bot', channel: 'C0TEAM' },
  { type: 'discord', credential: 'discord-bot', channel: '123456789012' },
  { type: 'telegram', credential: 'telegram-bot', chatId: '-1002003004' },
];

let courier: any;

describe('a robot with every destination', () => {
  test('When a credential is stored, then the API answers with its name and never its value', async () => {
    const put = await call('PUT', '/api/credentials/slack-bot', { value: CANARY.slack, description: 'Slack bot of the team' });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ name: 'slack-bot', description: 'Slack bot of the team' });
    expect(put.text).not.toContain(CANARY.slack);
    const listed = await call('GET', '/api/credentials');
    expect(listed.json.credentials.map((c: any) => c.name)).toContain('slack-bot');
    expect((await call('GET', '/api/credentials/slack-bot')).text).not.toContain(CANARY.slack);
    expect((await call('GET', '/api/credentials/nothing-here')).status).toBe(404);
  });

  test('When it is triggered, then the webhook, file, email, Slack, Discord and Telegram destinations each receive the deliverable once', async () => {
    courier = await robotRun('courier', { delivery: ALL_DESTINATIONS(`http://receiver.test:${hook.port}/mc`) });
    expect(courier.status).toBe('Done');
    const content: string = courier.result.content;
    expect(content.length).toBeGreaterThan(20);
    const runId = courier.runId;

    // The run state: one entry per destination, delivered at the first attempt, with the receiver's answer.
    expect(courier.delivery.onFailure).toBe('warn');
    expect(courier.delivery.warning).toBeUndefined();
    expect(courier.delivery.destinations.map((d: any) => [d.n, d.type, d.status, d.attempts, d.idempotencyKey])).toEqual(
      ['webhook', 'file', 'email', 'slack', 'discord', 'telegram'].map((t, i) => [i + 1, t, 'delivered', 1, `${runId}:deliver:${i + 1}`]),
    );
    for (const d of courier.delivery.destinations) expect(d.at).toEqual(expect.any(String));
    const byType = Object.fromEntries(courier.delivery.destinations.map((d: any) => [d.type, d]));
    expect(byType.webhook.response.statusCode).toBe(200);
    expect(byType.email.response).toMatchObject({ statusCode: 250, messageId: expect.stringContaining('deliver.3@mission-control') });
    expect(byType.slack.response).toMatchObject({ statusCode: 200, messageId: expect.stringMatching(/^1700000000\.\d+$/) });
    expect(byType.discord.response.messageId).toMatch(/^\d+$/);
    expect(byType.telegram.response.messageId).toMatch(/^\d+$/);
    expect(courier.stages.find((s: any) => s.name === 'delivery').status).toBe('done');

    // Webhook: signed the way our inbound webhooks are, verified by our own verifier; the JSON carries the report.
    expect(hook.accepted()).toHaveLength(1);
    const [arrival] = hook.accepted();
    expect(arrival.signatureValid).toBe(true);
    // v2 (covering the delivery id) first, the legacy v1 beside it; the v2 one alone verifies too.
    const signatures = String(arrival.headers['x-mc-signature']).split(', ');
    expect(signatures.map((s) => s.split('=')[0])).toEqual(['v2', 'sha256']);
    expect(verify({ secret: CANARY.signing, body: Buffer.from(arrival.raw), signature: signatures[0], timestamp: String(arrival.headers['x-mc-timestamp']), deliveryId: String(arrival.headers['x-mc-delivery']) }).ok).toBe(true);
    expect(arrival.headers['idempotency-key']).toBe(`${runId}:deliver:1`);
    expect(arrival.body).toMatchObject({ type: 'run.delivered', runId, robot: { id: 'courier' }, format: 'markdown', content, idempotencyKey: `${runId}:deliver:1` });
    expect(arrival.body.usage.calls).toBeGreaterThan(0);
    expect(arrival.body.links.temporalUi).toContain(runId);

    // File: two artifacts, listed in the state and downloadable over the API with their content types.
    expect(courier.artifacts.map((a: any) => a.name).sort()).toEqual(['report.json', 'report.md']);
    const md = await fetch(`${api.web.url}/api/runs/${runId}/artifacts/report.md`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(md.status).toBe(200);
    expect(md.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(md.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await md.text()).toBe(content);
    const json = await call('GET', `/api/runs/${runId}/artifacts/report.json`);
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(json.json).toMatchObject({ runId, content });
    expect((await call('GET', `/api/runs/${runId}/artifacts`)).json.artifacts).toHaveLength(2);

    // Email: received by a real SMTP server after logging in, with a plain-text and an HTML part.
    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0];
    expect(mail).toMatchObject({ to: ['team@example.com'], user: 'mc', subject: expect.stringContaining('Robot courier: Summarise the week') });
    expect(mail.text).toContain(content.split('\n')[0]);
    expect(mail.html).toContain('<h1>');
    expect(mail.messageId).toBe(`<${runId}.deliver.3@mission-control>`);

    // Chat platforms, through their real client libraries, each with its own token check.
    expect(platforms.refused).toEqual([]);
    const said = (p: string) => platforms.messages.filter((m) => m.platform === p);
    expect(said('slack').map((m) => m.to)).toEqual(['C0TEAM']);
    expect(said('discord').map((m) => m.to)).toEqual(['123456789012']);
    expect(said('telegram').map((m) => m.to)).toEqual(['-1002003004']);
    for (const p of ['slack', 'discord', 'telegram']) expect(said(p)[0].text).toContain(content.split('\n')[0]);
    expect(said('discord')[0].body).toMatchObject({ enforce_nonce: true, nonce: expect.stringMatching(/^[0-9a-f]{25}$/) });
  }, 90_000);

  test('When the history, events, logs, metrics and API answers are searched, then no token, password or signing secret appears (the canary)', async () => {
    const runId = courier.runId;
    const { stdout } = await promisify(execFile)(
      process.env.TEMPORAL_CLI_PATH!,
      ['workflow', 'show', '--address', env.address, '--namespace', 'default', '--workflow-id', runId, '--output', 'json'],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    // The history shows each destination by name.
    const scheduled = (JSON.parse(stdout).events as any[])
      .filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')
      .map((e) => e.activityTaskScheduledEventAttributes.activityType.name);
    expect(scheduled).toEqual(expect.arrayContaining(['deliverWebhook', 'deliverFile', 'deliverEmail', 'deliverSlack', 'deliverDiscord', 'deliverTelegram']));
    expect(scheduled).not.toContain('deliverResult');

    const answers = [
      (await call('GET', `/api/runs/${runId}`)).text,
      (await call('GET', '/api/runs')).text,
      (await call('GET', '/api/robots/courier')).text,
      (await call('GET', '/api/credentials')).text,
      (await call('GET', '/api/credentials/slack-bot')).text,
      (await call('GET', '/metrics')).text,
      (await call('GET', `/api/runs/${runId}/artifacts/report.json`)).text,
    ];
    const events = JSON.stringify((await call('GET', `/api/runs/${runId}`)).json.events);
    expect(events).toContain('delivery.delivered');
    const haystacks = { history: stdout, events, logs: logs.join(''), answers: answers.join('\n') };
    for (const [where, text] of Object.entries(haystacks)) {
      for (const [what, secret] of Object.entries(CANARY)) expect(`${where} contains ${what}: ${text.includes(secret)}`).toBe(`${where} contains ${what}: false`);
    }
    // The credential store in Temporal holds ciphertext only.
    const { stdout: schedule } = await promisify(execFile)(process.env.TEMPORAL_CLI_PATH!, [
      'schedule', 'describe', '--address', env.address, '--namespace', 'default', '--schedule-id', 'credential-slack-bot', '--output', 'json',
    ]);
    expect(schedule).not.toContain(CANARY.slack);
    expect(schedule).not.toContain(Buffer.from(CANARY.slack).toString('base64'));
    const desc = await env.client.schedule.getHandle('credential-slack-bot').describe();
    const stored = (desc.action as { memo?: Record<string, any> }).memo?.credential;
    expect(stored).toMatchObject({ name: 'slack-bot', sealed: { v: 1, iv: expect.any(String), tag: expect.any(String), data: expect.any(String) } });
    expect(JSON.stringify(stored)).not.toContain(CANARY.slack);
  }, 60_000);
});

describe('retries and refusals', () => {
  test('When a webhook receiver fails twice with 500 and then accepts, then it accepted exactly one delivery, all three attempts had one idempotency key, and attempts = 3', async () => {
    const r = await startScriptedReceiver();
    try {
      r.script([500, 500, 200]);
      const run = await robotRun('retrier', { delivery: [{ type: 'webhook', url: `http://receiver.test:${r.port}/in` }] });
      expect(run.status).toBe('Done');
      expect(r.arrivals).toHaveLength(3);
      expect(r.accepted()).toHaveLength(1);
      expect(new Set(r.arrivals.map((a) => a.headers['idempotency-key']))).toEqual(new Set([`${run.runId}:deliver:1`]));
      expect(run.delivery.destinations[0]).toMatchObject({ status: 'delivered', attempts: 3, response: { statusCode: 200 } });
    } finally {
      await r.close();
    }
  }, 90_000);

  test('When a receiver answers 400 and the robot says warn, then it was tried once, the run is Done and the warning is in the state', async () => {
    const r = await startScriptedReceiver();
    try {
      r.script([400]);
      const run = await robotRun('warner', { delivery: [{ type: 'webhook', url: `http://receiver.test:${r.port}/in` }, { type: 'file' }] });
      expect(run.status).toBe('Done');
      expect(r.arrivals).toHaveLength(1);
      expect(run.delivery.destinations[0]).toMatchObject({ type: 'webhook', status: 'failed', attempts: 1, response: { statusCode: 400 }, error: expect.stringContaining('HTTP 400') });
      // The other destination is not undone.
      expect(run.delivery.destinations[1]).toMatchObject({ type: 'file', status: 'delivered' });
      expect(run.delivery.warning).toMatch(/1 of 2 destination\(s\) failed: webhook/);
      expect(run.events.map((e: any) => e.type)).toContain('delivery.warning');
    } finally {
      await r.close();
    }
  }, 90_000);

  test('When a receiver answers 400 and the robot says fail, then it was tried once and the run is Failed', async () => {
    const r = await startScriptedReceiver();
    try {
      r.script([400]);
      const run = await robotRun('failer', { onDeliveryFailure: 'fail', delivery: [{ type: 'webhook', url: `http://receiver.test:${r.port}/in` }] });
      expect(run.status).toBe('Failed');
      expect(r.arrivals).toHaveLength(1);
      expect(run.error).toMatchObject({ stage: 'delivery', type: 'DeliveryFailed' });
      expect(run.delivery.destinations[0]).toMatchObject({ status: 'failed', attempts: 1 });
    } finally {
      await r.close();
    }
  }, 90_000);

  test('When a webhook destination is 127.0.0.1 or 169.254.169.254 and not allow-listed, then nothing is sent and the destination fails as refused', async () => {
    const r = await startScriptedReceiver();
    try {
      const run = await robotRun('prober', {
        delivery: [
          { type: 'webhook', url: `http://127.0.0.1:${r.port}/in` },
          { type: 'webhook', url: 'http://169.254.169.254/latest/meta-data/' },
        ],
      });
      expect(run.status).toBe('Done');
      expect(r.arrivals).toHaveLength(0);
      expect(run.delivery.destinations.map((d: any) => [d.status, d.attempts])).toEqual([
        ['failed', 1],
        ['failed', 1],
      ]);
      expect(run.delivery.destinations[0].error).toMatch(/refused .*127\.0\.0\.1 is a loopback address/);
      expect(run.delivery.destinations[1].error).toMatch(/169\.254\.169\.254 is a link-local address/);
    } finally {
      await r.close();
    }
  }, 90_000);

  test('When a destination names a credential nobody set, then it fails at once saying where it looked, and the others still deliver', async () => {
    const run = await robotRun('forgetful', { delivery: [{ type: 'slack', credential: 'never-set', channel: 'C1' }, { type: 'file', name: 'kept' }] });
    expect(run.status).toBe('Done');
    expect(run.delivery.destinations[0]).toMatchObject({ status: 'failed', attempts: 1, error: expect.stringContaining('MC_CREDENTIAL_NEVER_SET') });
    expect(run.delivery.destinations[1]).toMatchObject({ status: 'delivered', artifacts: ['kept.md', 'kept.json'] });
  }, 90_000);
});

describe('artifacts over the API', () => {
  test('When an artifact name tries to leave the run\'s folder, is unknown, or the caller has no key, then nothing is served', async () => {
    const runId = courier.runId;
    fs.writeFileSync(path.join(artifactDir, 'outside.md'), 'must never be served');
    for (const name of ['..%2Foutside.md', '..%2F..%2Fetc%2Fpasswd', '%2E%2E%2Foutside.md', 'report.md%00.txt', '.hidden.md']) {
      const res = await call('GET', `/api/runs/${runId}/artifacts/${name}`);
      expect([400, 404]).toContain(res.status);
      expect(res.text).not.toContain('must never be served');
    }
    expect((await call('GET', `/api/runs/${runId}/artifacts/missing.md`)).status).toBe(404);
    expect((await call('GET', '/api/runs/run-nobody/artifacts/report.md')).status).toBe(404);
    const anonymous = await fetch(`${api.web.url}/api/runs/${runId}/artifacts/report.md`);
    expect(anonymous.status).toBe(401);
  });
});
