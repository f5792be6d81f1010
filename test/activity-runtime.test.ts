/**
 * The activity runtime (activities/runtime.ts) in Temporal's MockActivityEnvironment: heartbeats, cancellation,
 * metrics, the budget guard and checkpoints, with the real offline provider behind the router and the real
 * prom-client registry. No Temporal server needed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Info } from '@temporalio/activity';
import { DefaultLogger } from '@temporalio/worker';
import type { StageInput } from '../contracts/activities';
import { BUDGET_EXCEEDED, type BudgetExceededDetails } from '../contracts/gates';
import type { ModelCallRecord } from '../contracts/pipeline';
import { createActivities, createActivityDeps } from '../activities';
import type { Clock } from '../activities/clock';
import type { ActivityDeps } from '../activities/deps';
import { createOfflineProvider, OFFLINE_MODEL } from '../activities/models/providers/offline';
import { createModelRouter } from '../activities/models/router';
import { generateText } from '../activities/models/structured';
import { createActivityRuntime, type ActivityScope } from '../activities/runtime';
import { loadConfig } from '../lib/config';
import { createMetrics, type Metrics } from '../lib/metrics';

const config = loadConfig({ MC_MODEL_PROVIDER: 'offline' });
const robot = { id: 'r', name: 'Analyst', role: 'Research analyst', version: 0 };

/** A clock that moves `stepMs` forward each time it is read. */
const steppingClock = (stepMs: number): Clock => {
  let t = 1_000_000;
  return { now: () => (t += stepMs) };
};

function depsWith(parts: Partial<Omit<ActivityDeps, 'config'>> = {}): ActivityDeps & { metrics: Metrics } {
  const metrics = createMetrics({ defaultMetrics: false });
  return { ...createActivityDeps(config, { metrics, heartbeatMs: 10, ...parts }), metrics } as ActivityDeps & { metrics: Metrics };
}

/** An environment whose activity has this type (and, optionally, the heartbeat details of an earlier attempt). */
function envFor(activityType: string, info: Partial<Info> = {}): { env: MockActivityEnvironment; beats: unknown[] } {
  // Failed attempts are expected here; the SDK would log each one as a warning.
  const env = new MockActivityEnvironment({ activityType, ...info }, { logger: new DefaultLogger('ERROR') });
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  return { env, beats };
}

/** Run `fn` as the activity of `env` (MockActivityEnvironment.run cannot infer a result type). */
const inActivity = <T>(env: MockActivityEnvironment, fn: () => Promise<T>): Promise<T> => env.run(fn) as Promise<T>;

/** The value of one series of a metric (a histogram's `_count` / `_sum` by metricName). */
async function metricValue(metrics: Metrics, name: string, labels: Record<string, string>, metricName?: string): Promise<number | undefined> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const match = values.find(
    (v) => (metricName === undefined || (v as { metricName?: string }).metricName === metricName) && Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x),
  );
  return match?.value;
}

const stageInput = (extra: Partial<StageInput> = {}): StageInput => ({
  runId: 'run-1',
  stage: 'inspiration',
  task: 'Research the top 5 competitors and write a summary',
  robot,
  context: {},
  ...extra,
});

/** A call record without its routing reason (the guard records its own: the max_tokens it allowed). */
const sent = (c: ModelCallRecord | undefined) => {
  const { reason: _reason, ...rest } = c!;
  return rest;
};

/** One text call of a fixed size: a 297-character system prompt, so the guard estimates 108 prompt tokens. */
const fixedCall = (scope: ActivityScope, answer = 'z'.repeat(40)) =>
  generateText(scope.router, { kind: 'text', system: 'x'.repeat(297), user: 'y', signal: scope.signal, offlineAnswer: () => answer });

describe('the activity runtime', () => {
  test('When work runs, then it heartbeats every interval (not at once) until it ends', async () => {
    const deps = depsWith();
    const runtime = createActivityRuntime(deps);
    const { env, beats } = envFor('planDag');
    let atStart = -1;
    const result = await env.run(() =>
      runtime.run({}, async () => {
        atStart = beats.length;
        // Resolves only once the timer has sent two more heartbeats: no sleep guesses how long that takes.
        await new Promise<void>((resolve) => env.on('heartbeat', () => beats.length >= atStart + 2 && resolve()));
        return 'finished';
      }),
    );
    expect(result).toBe('finished');
    // No heartbeat at once: a short activity costs no extra round trip to the server.
    expect(atStart).toBe(0);
    const after = beats.length;
    await new Promise((r) => setTimeout(r, 50));
    // The timer stops with the work.
    expect(beats.length).toBe(after);
  });

  test('When the activity is cancelled, then the work sees its signal aborted, the model call is cut off and a CancelledFailure surfaces', async () => {
    const router = createModelRouter(config, createOfflineProvider({ delayMs: 60_000 }));
    const deps = depsWith({ router });
    const runtime = createActivityRuntime(deps);
    const { env, beats } = envFor('inspirationStage');
    let seen: AbortSignal | undefined;
    const started = Date.now();
    const pending = env.run(() =>
      runtime.run({ stage: 'inspiration' }, (scope) => {
        seen = scope.signal;
        return generateText(scope.router, { kind: 'text', system: 's', user: 'u', signal: scope.signal, offlineAnswer: () => 'never' });
      }),
    );
    // The cancel reaches a real activity with the answer to a heartbeat: cancel once one has gone out.
    await new Promise((resolve) => env.once('heartbeat', resolve));
    expect(beats.length).toBe(1);
    env.cancel();
    const err = await pending.catch((e: unknown) => e);

    expect(err).toBeInstanceOf(CancelledFailure);
    expect(seen?.aborted).toBe(true);
    // The 60 s offline call was aborted, not waited out.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await metricValue(deps.metrics, 'mc_activity_duration_seconds', { activity: 'inspirationStage', outcome: 'cancelled' }, 'mc_activity_duration_seconds_count')).toBe(1);
    expect(await metricValue(deps.metrics, 'mc_stage_duration_seconds', { stage: 'inspiration', outcome: 'cancelled' }, 'mc_stage_duration_seconds_count')).toBe(1);
    // Nothing was answered, so no model call is counted.
    expect(await metricValue(deps.metrics, 'mc_model_calls_total', { provider: 'offline' })).toBeUndefined();
  });

  test('When cancelled work throws an error of its own, then it still surfaces as a CancelledFailure naming the activity', async () => {
    const runtime = createActivityRuntime(depsWith());
    const { env } = envFor('runDagNode');
    const pending = env.run(() =>
      runtime.run({}, (scope) => new Promise((_resolve, reject) => scope.signal.addEventListener('abort', () => reject(new Error('socket hang up'))))),
    );
    env.cancel();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledFailure);
    expect((err as CancelledFailure).message).toBe('runDagNode cancelled');
  });

  test('When a stage activity completes, then its model calls, tokens, cost, latency and its duration by activity and by stage are recorded', async () => {
    const deps = depsWith({ clock: steppingClock(1500) });
    const { inspirationStage } = createActivities(deps);
    const { env } = envFor('inspirationStage');
    const result = await inActivity(env, () => inspirationStage(stageInput()));

    expect(result.calls).toHaveLength(1);
    const call = result.calls[0];
    const labels = { provider: 'offline', model: OFFLINE_MODEL };
    expect(await metricValue(deps.metrics, 'mc_model_calls_total', labels)).toBe(1);
    expect(await metricValue(deps.metrics, 'mc_model_tokens_total', { ...labels, direction: 'input' })).toBe(call.inputTokens);
    expect(await metricValue(deps.metrics, 'mc_model_tokens_total', { ...labels, direction: 'output' })).toBe(call.outputTokens);
    expect(call.inputTokens).toBeGreaterThan(0);
    expect(await metricValue(deps.metrics, 'mc_model_cost_usd_total', labels)).toBe(0);
    // One clock for all: the provider read it twice around its call (one 1.5 s step), the runtime once before
    // and once after the whole attempt (three steps).
    expect(call.latencyMs).toBe(1500);
    expect(await metricValue(deps.metrics, 'mc_model_latency_seconds', labels, 'mc_model_latency_seconds_sum')).toBe(1.5);
    expect(await metricValue(deps.metrics, 'mc_activity_duration_seconds', { activity: 'inspirationStage', outcome: 'done' }, 'mc_activity_duration_seconds_sum')).toBe(4.5);
    expect(await metricValue(deps.metrics, 'mc_stage_duration_seconds', { stage: 'inspiration', outcome: 'done' }, 'mc_stage_duration_seconds_sum')).toBe(4.5);
  });

  test('When the Robot Host takes a turn, then its call and its duration are recorded like a stage', async () => {
    // A model that takes 50 ms, so the turn lives through a few heartbeat intervals (10 ms here).
    const deps = depsWith({ router: createModelRouter(config, createOfflineProvider({ delayMs: 50 })) });
    const { hostTurn } = createActivities(deps);
    const { env, beats } = envFor('hostTurn');
    const { turn, calls } = await inActivity(env, () => hostTurn({ runId: 'run-1', task: 'Write notes', robot, transcript: [], mustSettle: false }));

    expect(turn.satisfied).toBe(false);
    expect(turn.questions?.[0]).toContain('Write notes');
    expect(calls).toHaveLength(1);
    expect(beats.length).toBeGreaterThanOrEqual(1);
    expect(await metricValue(deps.metrics, 'mc_model_calls_total', { provider: 'offline', model: OFFLINE_MODEL })).toBe(1);
    expect(await metricValue(deps.metrics, 'mc_activity_duration_seconds', { activity: 'hostTurn', outcome: 'done' }, 'mc_activity_duration_seconds_count')).toBe(1);
  });

  test('When work fails for another reason, then the same error passes through and the attempt counts as failed', async () => {
    const deps = depsWith();
    const runtime = createActivityRuntime(deps);
    const { env } = envFor('validateDagNode');
    const boom = ApplicationFailure.create({ message: 'bad answer', type: 'InvalidModelOutput', nonRetryable: true });
    const err = await env.run(() => runtime.run({ budget: { remainingTokens: 10_000 } }, async () => Promise.reject(boom))).catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(await metricValue(deps.metrics, 'mc_activity_duration_seconds', { activity: 'validateDagNode', outcome: 'failed' }, 'mc_activity_duration_seconds_count')).toBe(1);
  });
});

describe('budget and checkpoints', () => {
  /** Room for exactly one fixed call: 108 estimated prompt tokens + 64 output, and not for a second one. */
  const budget = { remainingTokens: 200 };

  async function budgetStop(env: MockActivityEnvironment, deps: ActivityDeps, work: (scope: ActivityScope) => Promise<unknown>, resumeFrom?: unknown) {
    const err = await env.run(() => createActivityRuntime(deps).run({ budget, resumeFrom }, work)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    const failure = err as ApplicationFailure;
    expect(failure.type).toBe(BUDGET_EXCEEDED);
    expect(failure.nonRetryable).toBe(true);
    return failure.details?.[0] as BudgetExceededDetails;
  }

  test('When a request would overspend, then it is refused unsent and BudgetExceeded carries the calls billed and the checkpoint', async () => {
    const deps = depsWith();
    const { env, beats } = envFor('goalsStage');
    let first: ModelCallRecord | undefined;
    const details = await budgetStop(env, deps, async (scope) => {
      first = (await fixedCall(scope)).calls[0];
      scope.checkpoint({ step: 1, calls: [first] });
      await fixedCall(scope);
    });

    expect(details.calls.map(sent)).toEqual([sent(first)]);
    expect(details.calls[0].reason).toBe('max_tokens 92 (budget)');
    expect(details.checkpoint).toEqual({ step: 1, calls: [first] });
    expect(details.needed.tokens).toBe(108 + 64);
    expect(details.remaining.remainingTokens).toBe(200 - first!.inputTokens - first!.outputTokens);
    // The checkpoint went out with a heartbeat at once, so a worker crash right after would not lose it.
    expect(beats).toContainEqual({ step: 1, calls: [first] });
    // Only the call that was sent is counted.
    expect(await metricValue(deps.metrics, 'mc_model_calls_total', { provider: 'offline', model: OFFLINE_MODEL })).toBe(1);
    expect(await metricValue(deps.metrics, 'mc_activity_duration_seconds', { activity: 'goalsStage', outcome: 'budget' }, 'mc_activity_duration_seconds_count')).toBe(1);
  });

  test('When a retried attempt starts, then it gets the crashed attempt\'s checkpoint, keeps reporting it, and a budget stop bills that attempt\'s calls too', async () => {
    const earlierCall: ModelCallRecord = { provider: 'offline', model: OFFLINE_MODEL, inputTokens: 5, outputTokens: 6, costUsd: 0, latencyMs: 1, offline: true };
    const earlier = { step: 1, calls: [earlierCall] };
    const { env, beats } = envFor('validationStage', { attempt: 2, heartbeatDetails: earlier });
    let previous: unknown;
    let now: ModelCallRecord | undefined;
    const details = await budgetStop(env, depsWith(), async (scope) => {
      previous = scope.previousCheckpoint();
      // The attempt's first heartbeat (after one interval) still reports the earlier attempt's progress.
      await new Promise((resolve) => env.once('heartbeat', resolve));
      now = (await fixedCall(scope)).calls[0];
      await fixedCall(scope);
    });

    expect(previous).toEqual(earlier);
    expect(beats[0]).toEqual(earlier);
    expect(details.calls.map(sent)).toEqual([sent(earlierCall), sent(now)]);
    // This attempt recorded no progress of its own: the earlier attempt's is still the latest.
    expect(details.checkpoint).toEqual(earlier);
  });

  test('When a stage resumes after a budget stop, then it gets the progress back without the calls already billed', async () => {
    const billed: ModelCallRecord = { provider: 'offline', model: OFFLINE_MODEL, inputTokens: 5, outputTokens: 6, costUsd: 0, latencyMs: 1, offline: true };
    const { env } = envFor('deliveryStage');
    let previous: unknown;
    const details = await budgetStop(
      env,
      depsWith(),
      async (scope) => {
        previous = scope.previousCheckpoint();
        await fixedCall(scope);
        await fixedCall(scope);
      },
      { step: 2, calls: [billed] },
    );

    expect(previous).toEqual({ step: 2, calls: [] });
    expect(details.calls).toHaveLength(1);
    expect(details.calls).not.toContainEqual(billed);
    expect(details.checkpoint).toEqual({ step: 2, calls: [] });
  });

  test('When a stage activity runs under a budget with room, then it completes and nothing is refused', async () => {
    const deps = depsWith();
    const { goalsStage } = createActivities(deps);
    const { env } = envFor('goalsStage');
    const brief = { brief: 'A brief of the work to do', focus: ['competitors', 'summary'] };
    const result = await inActivity(env, () => goalsStage(stageInput({ stage: 'goals', context: { inspiration: brief }, budget: { remainingTokens: 100_000 } })));
    expect((result.output as { goals: unknown[] }).goals).toHaveLength(2);
    expect(result.calls).toHaveLength(1);
    expect(await metricValue(deps.metrics, 'mc_stage_duration_seconds', { stage: 'goals', outcome: 'done' }, 'mc_stage_duration_seconds_count')).toBe(1);
  });
});

describe('notify', () => {
  /** A local receiver that records each request; `hold` keeps requests open until the client goes away. */
  async function receiver(opts: { hold?: boolean } = {}) {
    const requests: { path: string; headers: http.IncomingHttpHeaders; body: string; aborted: Promise<void> }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      const aborted = new Promise<void>((resolve) => res.on('close', () => resolve()));
      req.on('end', () => {
        requests.push({ path: req.url ?? '', headers: req.headers, body, aborted });
        if (!opts.hold) res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { requests, port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(r)) };
  }
  /** hooks.example.com resolves to the local receiver, as a DNS answer pointing at an internal address would. */
  const lookup = async () => [{ address: '127.0.0.1', family: 4 }];
  const allowListed = (list: string) => ({ ...config, MC_FETCH_ALLOWLIST: list });

  test('When a notice goes to an allow-listed receiver, then it arrives once with its idempotency key and JSON body', async () => {
    const r = await receiver();
    try {
      const { notify } = createActivities({ ...depsWith({ lookup }), config: allowListed('hooks.example.com') });
      const { env } = envFor('notify');
      const res = await inActivity(env, () => notify({ url: `http://hooks.example.com:${r.port}/mc`, payload: { type: 'approval.escalated' }, idempotencyKey: 'run-1/gate' }));
      expect(res).toEqual({ status: 202 });
      expect(r.requests).toHaveLength(1);
      expect(r.requests[0].path).toBe('/mc');
      expect(r.requests[0].headers['idempotency-key']).toBe('run-1/gate');
      expect(JSON.parse(r.requests[0].body)).toEqual({ type: 'approval.escalated' });
    } finally {
      await r.close();
    }
  });

  test.each([
    ['a name that resolves to loopback', (port: number) => `http://hooks.example.com:${port}/mc`],
    ['127.0.0.1 itself', (port: number) => `http://127.0.0.1:${port}/mc`],
    ['the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/'],
    ['a NAT64 local-use address', () => 'http://[64:ff9b:1::a9fe:a9fe]/'],
  ])('When a notice is aimed at %s without an allow-list entry, then it is refused unsent and not retried', async (_what, target) => {
    const r = await receiver();
    try {
      const { notify } = createActivities(depsWith({ lookup }));
      const { env } = envFor('notify');
      const err = (await inActivity(env, () => notify({ url: target(r.port), payload: {}, idempotencyKey: 'k' })).catch((e: unknown) => e)) as ApplicationFailure;
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect(err.type).toBe('FetchBlocked');
      expect(err.nonRetryable).toBe(true);
      expect(r.requests).toHaveLength(0);
    } finally {
      await r.close();
    }
  });

  test('When the notify activity is cancelled, then its request is aborted and a CancelledFailure surfaces', async () => {
    const r = await receiver({ hold: true });
    try {
      const { notify } = createActivities({ ...depsWith({ lookup }), config: allowListed('127.0.0.1/32') });
      const { env } = envFor('notify');
      const pending = inActivity(env, () => notify({ url: `http://127.0.0.1:${r.port}/mc`, payload: {}, idempotencyKey: 'k' }));
      while (r.requests.length === 0) await new Promise((res) => setTimeout(res, 10));
      env.cancel();
      const err = await pending.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CancelledFailure);
      await r.requests[0].aborted; // the receiver sees the connection closed by the aborted request
    } finally {
      await r.close();
    }
  });
});
