/**
 * A robot's concurrency limit, enforced in Temporal by its semaphore workflow: extra runs wait as Pending and run
 * one at a time; cancelling a waiting run or terminating a holder does not leak a slot.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WebServer } from '../api/app';
import type { Config } from '../lib/config';
import { apiClient } from './helpers/http';
import { startTestApi, TestApi } from '../testkit/api';
import { createTestEnv, eventually } from '../testkit/temporal';

const KEY = 'slots-test-key';
let env: TestWorkflowEnvironment;
let web: WebServer;
let config: Config;
let api: TestApi;
const call = apiClient(() => web.url, KEY);

async function statuses(ids: string[]): Promise<Record<string, string>> {
  const all = await Promise.all(ids.map(async (id) => [id, (await call('GET', `/api/runs/${id}`)).json.status] as const));
  return Object.fromEntries(all);
}
const count = (s: Record<string, string>, status: string) => Object.values(s).filter((x) => x === status).length;

beforeAll(async () => {
  env = await createTestEnv();
  // Runs take a moment (each offline model call sleeps), and the semaphore checks its holders every second.
  api = await startTestApi(env, { MC_API_KEYS: KEY, MC_OFFLINE_DELAY_MS: '400', MC_SLOT_CHECK_SECONDS: '1', MC_WEBHOOK_KEY: 'k' });
  ({ web, config } = api);
});

afterAll(async () => {
  await api?.stop();
  await env?.teardown();
});

describe('concurrency limit', () => {
  test('When a robot with limit 1 is triggered five times, then one runs and four wait Pending, and they run one at a time', async () => {
    await call('POST', '/api/robots', { id: 'solo', name: 'Solo', role: 'One thing at a time.', concurrencyLimit: 1 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await call('POST', '/api/robots/solo/trigger', { task: `Job ${i}` });
      expect(r.status).toBe(201);
      ids.push(r.json.id);
    }
    const first = await eventually(async () => {
      const s = await statuses(ids);
      return count(s, 'Running') === 1 && count(s, 'Pending') === 4 ? s : undefined;
    });
    expect(count(first, 'Running')).toBe(1);

    // Watch until all are done: never more than one Running at a time.
    let maxRunning = 0;
    await eventually(async () => {
      const s = await statuses(ids);
      maxRunning = Math.max(maxRunning, count(s, 'Running'));
      return count(s, 'Done') === 5;
    }, 90_000, 150);
    expect(maxRunning).toBe(1);

    // And from the runs' own records: the Running intervals do not overlap. (Grants are first come, first served
    // in the order the requests reach the semaphore, which need not be the order of the triggers.)
    const runs = await Promise.all(ids.map(async (id) => (await call('GET', `/api/runs/${id}`)).json));
    const byStart = [...runs].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
    for (let i = 1; i < byStart.length; i++) expect(Date.parse(byStart[i].startedAt)).toBeGreaterThanOrEqual(Date.parse(byStart[i - 1].finishedAt));
    expect(byStart.map((r) => r.runId).sort()).toEqual([...ids].sort());
    expect(runs.every((r) => r.events.some((e: any) => e.type === 'run.waiting'))).toBe(true);

    // The limit is visible in Temporal itself: the semaphore is an ordinary workflow.
    const sem = await env.client.workflow.getHandle('robot-slots-solo').describe();
    expect(sem.type).toBe('robotSlotsWorkflow');
  });

  test('When a waiting run is cancelled and a holder is terminated, then no slot leaks and the others still run', async () => {
    await call('POST', '/api/robots', { id: 'pair', name: 'Pair', role: 'Strictly one at a time.', concurrencyLimit: 1 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await call('POST', '/api/robots/pair/trigger', { task: `Job ${i}` })).json.id);
    const s = await eventually(async () => {
      const st = await statuses(ids);
      return count(st, 'Running') === 1 && count(st, 'Pending') === 2 ? st : undefined;
    });
    const holder = ids.find((id) => s[id] === 'Running')!;
    const waiting = ids.filter((id) => id !== holder);

    // Cancel one waiting run: it ends Cancelled without ever running.
    expect((await call('POST', `/api/runs/${waiting[0]}/cancel`)).status).toBe(202);
    const cancelled = await eventually(async () => {
      const r = await call('GET', `/api/runs/${waiting[0]}`);
      return r.json.status === 'Cancelled' ? r.json : undefined;
    });
    expect(cancelled.startedAt).toBeUndefined();

    // Terminate the holder (it cannot release): the semaphore notices and grants the slot to the last run.
    await env.client.workflow.getHandle(holder).terminate('test: holder dies');
    const last = await eventually(async () => {
      const r = await call('GET', `/api/runs/${waiting[1]}`);
      return r.json.status === 'Done' ? r.json : undefined;
    }, 60_000);
    expect(last.status).toBe('Done');
  });
});
