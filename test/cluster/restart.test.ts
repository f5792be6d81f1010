/**
 * The whole cluster goes down (both temporal-server nodes stop; PostgreSQL keeps the state) while runs wait at
 * approval gates, with a worker and an API replica left running. While it is down the API fails fast (503 within
 * 5 s, /readyz 503, /healthz 200); when it is back, a decision moves one run on and the other times out on its
 * original deadline, and the worker carried on without a restart of its own.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunningApi } from '../../api/main';
import { startNode, stopNode } from '../../scripts/cluster';
import { apiClient, runWaiter } from '../helpers/http';
import { startWorkerAt } from '../../testkit/dev-server';
import { createTestEnv, eventually } from '../../testkit/temporal';
import { cluster, clusterConfig, startReplica } from './cluster-env';

const KEY = 'cluster-restart-key';
let env: TestWorkflowEnvironment;
let api: RunningApi;
let worker: { stop(): Promise<void> } | undefined;
const call = apiClient(() => api.web.url, KEY);
const waitFor = runWaiter(call);

beforeAll(async () => {
  cluster();
  env = await createTestEnv();
  const config = clusterConfig({ MC_API_KEYS: KEY });
  worker = await startWorkerAt(env.address, config);
  api = await startReplica(config);
});

afterAll(async () => {
  // Whatever happened, leave both nodes up for the next file.
  await startNode('node1');
  await startNode('node2');
  await api?.stop();
  await worker?.stop();
  await env?.teardown();
});

test('When both nodes restart while runs wait at gates, then the API answers 503 meanwhile, and afterwards a decision and a deadline still work', async () => {
  const TIMEOUT_S = 25;
  const gate = (timeoutSeconds?: number) => ({
    gates: [{ at: 'delivery', ...(timeoutSeconds ? { timeoutSeconds, onTimeout: 'approve' } : {}) }],
  });
  const decided = (await call('POST', '/api/runs', { task: 'Decide me after the cluster restarts', approvals: gate() })).json.id as string;
  const timed = (await call('POST', '/api/runs', { task: 'Time out across the cluster restart', approvals: gate(TIMEOUT_S) })).json.id as string;
  const before = await waitFor(decided, (r) => r.status === 'Review', 60_000);
  const timedBefore = await waitFor(timed, (r) => r.status === 'Review', 60_000);
  expect(timedBefore.gate.deadline).toBeDefined();

  await stopNode('node2');
  await stopNode('node1');
  const t = Date.now();
  const down = await call('GET', `/api/runs/${decided}`);
  expect(down.status).toBe(503);
  expect(Date.now() - t).toBeLessThan(5000);
  expect(down.json.error).toMatch(/^Temporal (is unreachable|did not answer in time)/);
  const ready = await fetch(`${api.web.url}/readyz`);
  expect(ready.status).toBe(503);
  expect(await ready.json()).toEqual({ ready: false });
  expect((await fetch(`${api.web.url}/healthz`)).status).toBe(200);

  await startNode('node1');
  await startNode('node2');
  const restartedAt = Date.now();
  expect(restartedAt).toBeLessThan(Date.parse(timedBefore.gate.deadline));
  await eventually(async () => (await fetch(`${api.web.url}/readyz`)).status === 200, 60_000, 250);

  // Until the worker has reconnected, the API shows the memo (stateSource 'memo'); then the live state again.
  const after = await waitFor(decided, (r) => r.status === 'Review' && r.stateSource === 'query', 60_000);
  expect(after.gate).toEqual(before.gate);
  const decision = await eventually(async () => {
    const r = await call('POST', `/api/runs/${decided}/approvals`, { gate: 'delivery', decision: 'approve', by: 'after-restart' });
    return r.status === 200 ? r : undefined;
  }, 60_000, 500);
  expect(decision.json.approvals).toEqual([expect.objectContaining({ by: 'after-restart', decision: 'approve' })]);
  expect((await waitFor(decided, (r) => r.status === 'Done', 60_000)).status).toBe('Done');

  const timedDone = await waitFor(timed, (r) => r.status === 'Done', 90_000);
  expect(timedDone.approvals).toEqual([expect.objectContaining({ decision: 'approve', channel: 'timeout', by: 'system' })]);
  expect(timedDone.events.map((e: { type: string }) => e.type)).toContain('gate.timeout');
  // The gate's timer is a durable timer in PostgreSQL: it fired on its deadline, not reset by the restart. Read from
  // the server's history (the times a workflow records for itself come from the worker's view of workflow time).
  const events = (await env.client.workflow.getHandle(timed).fetchHistory()).events ?? [];
  const ms = (e: (typeof events)[number]) => Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);
  const started = events.find((e) => Number(e.timerStartedEventAttributes?.startToFireTimeout?.seconds) === TIMEOUT_S)!;
  const fired = events.find((e) => e.timerFiredEventAttributes && e.timerFiredEventAttributes.startedEventId?.toString() === started.eventId?.toString())!;
  expect(ms(started)).toBeLessThan(restartedAt);
  expect(ms(fired) - ms(started)).toBeGreaterThanOrEqual(TIMEOUT_S * 1000);
  expect(ms(fired) - ms(started)).toBeLessThan(TIMEOUT_S * 1000 + 20_000);
});
