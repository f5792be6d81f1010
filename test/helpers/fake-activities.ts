/**
 * Inline fakes of the activities robotRunWorkflow calls, for workflow tests that are about orchestration (gates,
 * deadlines, decisions) and not about models: every stage answers a canned, well-formed result at once, and the
 * calls that leave the run (`deliverResult`, `notify`) are recorded so tests can assert on them.
 */
import type { StageInput, StageResult } from '../../contracts/activities';
import type { NodeRunResult, PlannedNode } from '../../contracts/dag';

/** What the `notify` activity is handed (an escalation notice, say). */
export interface NotifyCall {
  url: string;
  payload: Record<string, unknown>;
  idempotencyKey: string;
}

/** What `deliveryStage` formats and `deliverResult` makes take effect. */
interface FakeDelivery {
  format: 'markdown';
  content: string;
  destinations: { type: string; status: 'pending' | 'delivered' | 'failed' }[];
}

export interface FakeRunActivities {
  /** Register these on a Worker (`Worker.create({ activities })`). */
  activities: Record<string, (...args: never[]) => Promise<unknown>>;
  /** Every call, in order: activity name and its first argument. */
  calls: { name: string; input: unknown }[];
  /** The `notify` calls only. */
  notified: NotifyCall[];
  /** The `deliverResult` calls only (runs recorded before delivery destinations; today's runs make none). */
  delivered: FakeDelivery[];
}

const result = <T>(output: T, summary: string): StageResult<T> => ({ output, summary, calls: [] });

/**
 * Fresh fakes for one test: a one-goal, one-node run whose report is `# Report\n<task>`.
 *
 * @example
 * const fakes = fakeRunActivities();
 * const worker = await Worker.create({ connection, taskQueue, workflowBundle, activities: fakes.activities });
 * // ... run robotRunWorkflow ...
 * expect(fakes.notified).toHaveLength(1);
 */
export function fakeRunActivities(): FakeRunActivities {
  const calls: FakeRunActivities['calls'] = [];
  const notified: NotifyCall[] = [];
  const delivered: FakeDelivery[] = [];
  const record = <A, R>(name: string, fn: (input: A) => R) => async (input: A): Promise<R> => {
    calls.push({ name, input });
    return fn(input);
  };
  const node: PlannedNode = {
    id: 'n1',
    title: 'Write it',
    instructions: 'Write the report',
    kind: 'text',
    dependsOn: [],
    expectedOutput: 'A short report',
    placement: { on: 'worker' },
  };
  const activities = {
    inspirationStage: record('inspirationStage', (i: StageInput) => result({ brief: `Brief: ${i.task}`, focus: [] }, 'brief written')),
    goalsStage: record('goalsStage', () => result({ goals: [{ id: 'g1', title: 'Report', deliverable: 'A short report' }] }, '1 goal')),
    planDag: record('planDag', () => ({ nodes: [node], calls: [], repairs: 0, source: 'planner' as const })),
    runDagNode: record('runDagNode', (): NodeRunResult => ({ output: 'The report.', outputChars: 11, truncated: false, calls: [], model: 'fake', reason: 'fake' })),
    validateDagNode: record('validateDagNode', () => ({ verdict: { passed: true, feedback: '' }, calls: [] })),
    validationStage: record('validationStage', () => result({ passed: true, checks: [], summary: '1/1 passed' }, '1/1 passed')),
    deliveryStage: record('deliveryStage', (i: StageInput) =>
      result<FakeDelivery>({ format: 'markdown', content: `# Report\n${i.task}`, destinations: [{ type: 'run', status: 'pending' }] }, 'formatted'),
    ),
    deliverResult: record('deliverResult', (d: FakeDelivery) => {
      delivered.push(d);
      return { ...d, destinations: d.destinations.map((x) => ({ ...x, status: 'delivered' as const })) };
    }),
    notify: record('notify', (n: NotifyCall) => {
      notified.push(n);
      return { status: 200 };
    }),
  };
  return { activities, calls, notified, delivered };
}
