/**
 * Gate deadlines of robotRunWorkflow in skipped time: one-hour deadlines and two-hour escalations are reached in
 * about a second of wall time on Temporal's time-skipping test server (test/helpers/time-skipping.ts), with fake
 * activities (test/helpers/fake-activities.ts). test/approvals.test.ts keeps one real-time deadline on the dev
 * server end to end (API, real webhook), and test/gate-restart.test.ts a deadline across server restarts.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { robotRunWorkflow } from '../workflows';
import { decideUpdate, decisionSignal, runStateQuery } from '../contracts/messages';
import type { GateSettings } from '../contracts/gates';
import type { RunInput, RunState } from '../contracts/run';
import { McStatus } from '../contracts/search-attributes';
import { fakeRunActivities, FakeRunActivities } from './helpers/fake-activities';
import { bundleOrSource, createTimeSkippingEnv } from '../testkit/time-skipping';

const HOUR = 3600;
const robot = { id: 'deadlines', name: 'Deadline tester', role: 'Tester', version: 0 };
const WEBHOOK = 'https://hooks.example.com/mc';

let env: TestWorkflowEnvironment;

// The first use on a machine installs the test server from Maven Central (about a minute with an empty Maven cache).
beforeAll(async () => {
  env = await createTimeSkippingEnv();
}, 10 * 60_000);

afterAll(async () => {
  await env?.teardown();
});

type RunHandle = WorkflowHandle<typeof robotRunWorkflow>;

/** Runs `body` with a worker on a task queue of its own that serves `fakes`. */
async function withWorker<T>(fakes: FakeRunActivities, body: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `deadlines-${randomUUID()}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, activities: fakes.activities, ...bundleOrSource() });
  return worker.runUntil(body(taskQueue));
}

function startRun(taskQueue: string, gate: GateSettings, approvals: Partial<NonNullable<RunInput['approvals']>> = {}): Promise<RunHandle> {
  const input: RunInput = { task: `Deadline ${randomUUID()}`, robot, trigger: 'api', approvals: { gates: [gate], ...approvals } };
  return env.client.workflow.start(robotRunWorkflow, { taskQueue, workflowId: `run-${randomUUID()}`, args: [input] });
}

/** The run's result, or (for a run that ended Failed) its state after the failure. */
async function outcome(handle: RunHandle): Promise<{ state: RunState; failure?: WorkflowFailedError }> {
  try {
    return { state: await handle.result() };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    return { state: await handle.query(runStateQuery), failure: err };
  }
}

/** Polls the run's state (time skipping is off while no result is awaited, so no timer fires meanwhile). */
async function stateWhen(handle: RunHandle, check: (s: RunState) => boolean, timeoutMs = 20_000): Promise<RunState> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await handle.query(runStateQuery);
    if (check(s)) return s;
    if (Date.now() > until) throw new Error(`run state not reached within ${timeoutMs} ms: status ${s.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const seconds = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000;
const eventTypes = (s: RunState) => s.events.map((e) => e.type);
const gateWaitingSince = (s: RunState) => s.events.find((e) => e.type === 'gate.waiting')?.at as string;

/** What visibility shows without a worker: the McStatus search attribute and the memo's status. */
async function published(handle: RunHandle): Promise<{ status: unknown; memoStatus: unknown }> {
  const d = await handle.describe();
  return { status: d.typedSearchAttributes.get(McStatus), memoStatus: (d.memo?.run as { status?: string } | undefined)?.status };
}

describe('gate deadlines in skipped time', () => {
  test('When nobody decides within a one-hour deadline and the policy is reject, then the run ends Failed by the timeout channel', async () => {
    const fakes = fakeRunActivities();
    await withWorker(fakes, async (taskQueue) => {
      const handle = await startRun(taskQueue, { at: 'delivery', timeoutSeconds: HOUR, onTimeout: 'reject' });
      const review = await stateWhen(handle, (s) => s.status === 'Review');
      expect(review.gate).toMatchObject({ gate: 'delivery', key: 'delivery#1', onTimeout: 'reject', escalated: false });
      expect(seconds(review.gate!.since, review.gate!.deadline!)).toBe(HOUR);

      const { state, failure } = await outcome(handle);
      expect(failure?.cause?.message).toBe('Rejected at the delivery gate: no decision within 3600s');
      expect(state.status).toBe('Failed');
      expect(state.error).toMatchObject({ type: 'Rejected', stage: 'delivery', message: 'no decision within 3600s' });
      expect(state.approvals).toEqual([
        expect.objectContaining({ gate: 'delivery', key: 'delivery#1', decision: 'reject', by: 'system', channel: 'timeout' }),
      ]);
      // The workflow's clock moved a whole hour between the gate opening and the timeout.
      expect(seconds(review.gate!.since, state.approvals[0].at)).toBeGreaterThanOrEqual(HOUR);
      expect(eventTypes(state)).toEqual(expect.arrayContaining(['gate.waiting', 'run.review', 'gate.timeout', 'gate.rejected', 'run.failed']));
      expect(state.stages.find((s) => s.name === 'delivery')?.status).toBe('skipped');
      expect(fakes.calls.map((c) => c.name)).not.toContain('deliveryStage');
      expect(fakes.notified).toEqual([]);
      expect(await published(handle)).toEqual({ status: 'Failed', memoStatus: 'Failed' });
    });
  });

  test('When nobody decides within a one-hour deadline and the policy is approve, then the run goes on to Done', async () => {
    const fakes = fakeRunActivities();
    await withWorker(fakes, async (taskQueue) => {
      const handle = await startRun(taskQueue, { at: 'delivery', timeoutSeconds: HOUR, onTimeout: 'approve' });
      const { state, failure } = await outcome(handle);
      expect(failure).toBeUndefined();
      expect(state.status).toBe('Done');
      expect(state.approvals).toEqual([
        expect.objectContaining({ gate: 'delivery', decision: 'approve', by: 'system', channel: 'timeout', feedback: 'no decision within 3600s' }),
      ]);
      expect(seconds(gateWaitingSince(state), state.approvals[0].at)).toBeGreaterThanOrEqual(HOUR);
      expect(state.result).toEqual({ format: 'markdown', content: `# Report\n${state.task}`, destinations: [{ type: 'run', status: 'delivered' }] });
      // No destinations: Delivery takes effect in the workflow itself.
      expect(state.stages.find((s) => s.name === 'delivery')?.status).toBe('done');
      expect(eventTypes(state)).toEqual(expect.arrayContaining(['gate.timeout', 'run.done']));
      expect(await published(handle)).toEqual({ status: 'Done', memoStatus: 'Done' });
    });
  });

  test('When the policy is escalate, then the contact is notified once at the deadline, and with no decision within the escalation time the gate rejects', async () => {
    const fakes = fakeRunActivities();
    await withWorker(fakes, async (taskQueue) => {
      const handle = await startRun(
        taskQueue,
        { at: 'delivery', timeoutSeconds: HOUR, onTimeout: 'escalate', escalationTimeoutSeconds: 2 * HOUR },
        { escalateTo: { name: 'Dana (team lead)', webhookUrl: WEBHOOK } },
      );
      const { state } = await outcome(handle);
      const since = gateWaitingSince(state);

      expect(fakes.notified).toHaveLength(1);
      const [notice] = fakes.notified;
      expect(notice.url).toBe(WEBHOOK);
      expect(notice.idempotencyKey).toBe(`${handle.workflowId}:delivery#1:escalation`);
      expect(notice.payload).toMatchObject({
        type: 'approval.escalated',
        runId: handle.workflowId,
        gate: 'delivery',
        to: 'Dana (team lead)',
        timeoutSeconds: HOUR,
        waitingSince: since,
      });
      // Escalated at the first deadline (when its timer fired); the next one is the escalation time after that.
      const nextDeadline = seconds(since, notice.payload.nextDeadline as string);
      expect(nextDeadline).toBeGreaterThanOrEqual(3 * HOUR);
      expect(nextDeadline).toBeLessThan(3 * HOUR + 60);

      expect(state.status).toBe('Failed');
      expect(state.error).toMatchObject({ type: 'Rejected', message: 'no decision within 3600s nor 7200s after escalation' });
      expect(state.approvals).toEqual([expect.objectContaining({ decision: 'reject', by: 'system', channel: 'timeout' })]);
      expect(seconds(since, state.approvals[0].at)).toBeGreaterThanOrEqual(3 * HOUR);
      const escalatedAt = state.events.find((e) => e.type === 'gate.escalated')!;
      const timedOutAt = state.events.find((e) => e.type === 'gate.timeout')!;
      expect(escalatedAt.seq).toBeLessThan(timedOutAt.seq);
      expect(seconds(since, escalatedAt.at)).toBeGreaterThanOrEqual(HOUR);
      expect(seconds(since, escalatedAt.at)).toBeLessThan(3 * HOUR);
    });
  });

  test('When a decision arrives half-way to the deadline, then it is taken and the deadline never fires', async () => {
    const fakes = fakeRunActivities();
    await withWorker(fakes, async (taskQueue) => {
      const handle = await startRun(taskQueue, { at: 'delivery', timeoutSeconds: HOUR, onTimeout: 'reject' });
      const review = await stateWhen(handle, (s) => s.status === 'Review');
      await env.sleep('30 minutes');
      const waiting = await handle.query(runStateQuery);
      expect(waiting.status).toBe('Review');
      expect(waiting.approvals).toEqual([]);

      const decided = await handle.executeUpdate(decideUpdate, { args: [{ gate: 'delivery', decision: 'approve', by: 'alice', channel: 'api' }] });
      expect(decided.gate).toBeUndefined();
      expect(decided.approvals).toEqual([expect.objectContaining({ decision: 'approve', by: 'alice', channel: 'api' })]);

      const { state } = await outcome(handle);
      expect(state.status).toBe('Done');
      const waited = seconds(review.gate!.since, state.approvals[0].at);
      expect(waited).toBeGreaterThanOrEqual(30 * 60);
      expect(waited).toBeLessThan(HOUR);
      expect(eventTypes(state)).not.toContain('gate.timeout');
      expect(state.approvals).toHaveLength(1);
    });
  });

  test('When a decision arrives after the escalation but before the second deadline, then it is taken', async () => {
    const fakes = fakeRunActivities();
    await withWorker(fakes, async (taskQueue) => {
      const handle = await startRun(
        taskQueue,
        { at: 'delivery', timeoutSeconds: HOUR, onTimeout: 'escalate', escalationTimeoutSeconds: 2 * HOUR },
        { escalateTo: { webhookUrl: WEBHOOK } },
      );
      await stateWhen(handle, (s) => s.status === 'Review');
      await env.sleep('90 minutes');
      const escalated = await handle.query(runStateQuery);
      expect(escalated.status).toBe('Review');
      expect(escalated.gate).toMatchObject({ escalated: true });
      expect(fakes.notified).toHaveLength(1);

      // Ops decide from the Temporal side with the signal.
      await handle.signal(decisionSignal, { gate: 'delivery', decision: 'approve', by: 'ops@example.com' });
      const { state } = await outcome(handle);
      expect(state.status).toBe('Done');
      expect(state.approvals).toEqual([expect.objectContaining({ decision: 'approve', by: 'ops@example.com', channel: 'signal' })]);
      expect(eventTypes(state)).not.toContain('gate.timeout');
      expect(fakes.notified).toHaveLength(1);
    });
  });
});
