/**
 * Acceptance: a real worker process is SIGKILLed during delivery and another one is started; afterwards each
 * destination has received the deliverable exactly once, counted at the receivers.
 *
 * Timeline: worker A formats the result and starts the six destinations at once. Five complete (their completion
 * is in the history before the kill); the webhook receiver holds the first request open, and A is killed while it
 * waits. Worker B starts; the server notices the lost attempt through the 10 s heartbeat timeout and retries only the
 * webhook, with the same idempotency key; nothing that completed is sent again.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { robotRunWorkflow } from '../workflows';
import type { RunState } from '../contracts/run';
import { type FakePlatforms, type FakeSmtp, startFakePlatforms, startScriptedReceiver, startSmtpServer, type ScriptedReceiver } from './helpers/fake-platforms';
import { createTestEnv, eventually } from '../testkit/temporal';
import { spawnWorkerProcess, within, type WorkerProcess } from '../testkit/worker-process';

const TOKENS = { slack: 'xoxb-crash-slack', discord: 'crash-discord-token', telegram: '42:crash-telegram-token' };

let env: TestWorkflowEnvironment;
let platforms: FakePlatforms;
let smtp: FakeSmtp;
let hook: ScriptedReceiver;
let artifactDir: string;
const workers: WorkerProcess[] = [];
const output: string[] = [];

beforeAll(async () => {
  artifactDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mc-crash-artifacts-'));
  [env, platforms, smtp, hook] = await Promise.all([createTestEnv(), startFakePlatforms(TOKENS), startSmtpServer({ user: 'mc', password: 'crash-pw' }), startScriptedReceiver('crash-signing')]);
}, 60_000);

afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.exited));
  await Promise.all([platforms?.close(), smtp?.close(), hook?.close()]);
  await env?.teardown();
  fs.rmSync(artifactDir, { recursive: true, force: true });
});

test('When the worker is SIGKILLed during delivery and another starts, then each destination has received the deliverable exactly once', async () => {
  const taskQueue = `delivery-crash-${randomUUID()}`;
  const workerEnv = {
    TEMPORAL_ADDRESS: env.address,
    TEMPORAL_NAMESPACE: 'default',
    MC_TASK_QUEUE: taskQueue,
    MC_MODEL_PROVIDER: 'offline',
    MC_SHUTDOWN_GRACE_SECONDS: '1',
    MC_ARTIFACT_DIR: artifactDir,
    MC_SECRET_KEY: 'crash-secret-key',
    MC_FETCH_ALLOWLIST: '127.0.0.1',
    MC_SMTP_URL: `smtp://mc:crash-pw@127.0.0.1:${smtp.port}`,
    MC_SLACK_API_URL: platforms.slackApiUrl,
    MC_DISCORD_API_URL: platforms.discordApiUrl,
    MC_TELEGRAM_API_URL: platforms.telegramApiUrl,
    MC_CREDENTIAL_SLACK_BOT: TOKENS.slack,
    MC_CREDENTIAL_DISCORD_BOT: TOKENS.discord,
    MC_CREDENTIAL_TELEGRAM_BOT: TOKENS.telegram,
    MC_CREDENTIAL_HOOK_SIGNING: 'crash-signing',
  };
  try {
    hook.script(['hold']);
    const a = spawnWorkerProcess('worker-A', workerEnv, output);
    workers.push(a);
    const workflowId = `run-delivery-crash-${randomUUID()}`;
    const handle = await env.client.workflow.start(robotRunWorkflow, {
      taskQueue,
      workflowId,
      args: [
        {
          task: 'Deliver the weekly digest',
          robot: { id: 'digest', name: 'Digest', role: 'Writes the weekly digest', version: 1 },
          trigger: 'schedule',
          options: { retryInitialIntervalMs: 200 },
          delivery: {
            onFailure: 'warn',
            destinations: [
              { type: 'webhook', url: `http://127.0.0.1:${hook.port}/digest`, signingSecret: 'hook-signing' },
              { type: 'file', name: 'digest' },
              { type: 'email', to: 'team@example.com' },
              { type: 'slack', credential: 'slack-bot', channel: 'C0DIGEST' },
              { type: 'discord', credential: 'discord-bot', channel: '998877' },
              { type: 'telegram', credential: 'telegram-bot', chatId: '-100777' },
            ],
          },
        },
      ],
    });

    // A is in the middle of delivery: the webhook request is held at the receiver, the five others are done and
    // their completions are in the history (only the webhook's activity is still pending).
    await eventually(async () => hook.arrivals.length === 1 && smtp.mails.length === 1 && platforms.messages.length === 3, 60_000, 100);
    await eventually(async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      return pending.length === 1 && pending[0].activityType?.name === 'deliverWebhook';
    }, 20_000, 100);

    a.child.kill('SIGKILL');
    expect(await within(5_000, a.exited, 'worker A exit after SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    const b = spawnWorkerProcess('worker-B', workerEnv, output);
    workers.push(b);
    const state: RunState = await within(60_000, handle.result(), 'run result after the restart');

    expect(state.status).toBe('Done');
    expect(state.delivery!.destinations.map((d) => [d.type, d.status])).toEqual(
      ['webhook', 'file', 'email', 'slack', 'discord', 'telegram'].map((t) => [t, 'delivered']),
    );
    // Counted at the receivers: each got the deliverable exactly once.
    expect(hook.accepted()).toHaveLength(1);
    expect(hook.accepted()[0].signatureValid).toBe(true);
    // The request in flight when A died reached the receiver but was never answered; the retry carried the same key.
    expect(hook.arrivals).toHaveLength(2);
    expect(hook.arrivals[0].answered).toBeUndefined();
    expect(new Set(hook.arrivals.map((x) => x.headers['idempotency-key']))).toEqual(new Set([`${workflowId}:deliver:1`]));
    expect(state.delivery!.destinations[0].attempts).toBe(2);
    expect(smtp.mails).toHaveLength(1);
    expect(platforms.messages.map((m) => m.platform).sort()).toEqual(['discord', 'slack', 'telegram']);
    expect(fs.readdirSync(path.join(artifactDir, encodeURIComponent(workflowId))).sort()).toEqual(['digest.json', 'digest.md']);
    for (const d of state.delivery!.destinations.slice(1)) expect(d.attempts).toBe(1);
  } catch (err) {
    console.error(`worker output:\n${output.join('\n')}`);
    throw err;
  }
}, 150_000);
