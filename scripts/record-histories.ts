/**
 * Records workflow histories for test/replay.test.ts: runs each scenario on a fresh dev server with the offline
 * model and writes the history JSON to test/histories/<scenario>.json. Run after a workflow change that is meant
 * to ship; commit the files. Scenarios cover each way a run ends.
 *
 *   node --import tsx scripts/record-histories.ts                      # every scenario
 *   node --import tsx scripts/record-histories.ts --only <name>[,...]  # just these (leaves the other files alone)
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../lib/config';
import { createModelRouter } from '../activities/models/router';
import { ALL_SEARCH_ATTRIBUTES } from '../contracts/search-attributes';
import { robotRunWorkflow, sessionRevocationsWorkflow } from '../workflows';
import { decideUpdate, revokeSessionSignal, runStateQuery } from '../contracts/messages';
import type { RunInput } from '../contracts/run';
import { createRobotWorker } from '../workers/worker';
import type { Client, WorkflowHandle } from '@temporalio/client';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { resolveTemporalCli } = require('./temporal-cli.js');

export interface Scenario {
  name: string;
  /** Start the run and drive it to its end; return its handle. */
  drive(client: Client, taskQueue: string, input: RunInput): Promise<WorkflowHandle>;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const SCENARIOS: Scenario[] = [
  {
    name: 'done',
    async drive(client, taskQueue, input) {
      const h = await client.workflow.start(robotRunWorkflow, { taskQueue, workflowId: `run-${randomUUID()}`, args: [input] });
      await h.result();
      return h;
    },
  },
  {
    name: 'cancelled',
    async drive(client, taskQueue, input) {
      const h = await client.workflow.start(robotRunWorkflow, { taskQueue, workflowId: `run-${randomUUID()}`, args: [input] });
      for (;;) {
        const s = await h.query(runStateQuery);
        if (s.currentStage === 'goals') break;
        await wait(20);
      }
      await h.cancel();
      await h.result().catch(() => undefined);
      return h;
    },
  },
  {
    name: 'gate-revised-approved',
    async drive(client, taskQueue, input) {
      // A gate before Delivery: sent back once with feedback, then approved.
      const h = await client.workflow.start(robotRunWorkflow, {
        taskQueue,
        workflowId: `run-${randomUUID()}`,
        args: [{ ...input, approvals: { gates: [{ at: 'delivery', timeoutSeconds: 3600, onTimeout: 'reject' }] } }],
      });
      const atGate = async () => {
        for (;;) {
          const s = await h.query(runStateQuery);
          if (s.gate) return s.gate;
          await wait(20);
        }
      };
      await atGate();
      await h.executeUpdate(decideUpdate, { args: [{ gate: 'delivery', decision: 'revise', feedback: 'Shorter, please', by: 'recorder', channel: 'api' }] });
      await atGate();
      await h.executeUpdate(decideUpdate, { args: [{ gate: 'delivery', decision: 'approve', by: 'recorder', channel: 'api' }] });
      await h.result();
      return h;
    },
  },
  {
    name: 'failed',
    async drive(client, taskQueue, input) {
      // A stage timeout of 1 s against an offline model that takes 1.5 s a call, one attempt: Failed.
      const h = await client.workflow.start(robotRunWorkflow, {
        taskQueue,
        workflowId: `run-${randomUUID()}`,
        args: [{ ...input, options: { stageMaxAttempts: 1, stageTimeoutSeconds: 1 } }],
      });
      await h.result().catch(() => undefined);
      return h;
    },
  },
  {
    // The sign-out registry: revocations arrive, expired ones are dropped, and it continues-as-new carrying the rest.
    name: 'session-revocations',
    async drive(client, taskQueue) {
      const workflowId = `mc-session-revocations-${randomUUID()}`;
      const h = await client.workflow.start(sessionRevocationsWorkflow, { taskQueue, workflowId, args: [{ revoked: [{ sid: 'carried', until: Date.now() + 3_600_000 }], maxHistoryEvents: 12 }] });
      for (let i = 0; i < 6; i++) {
        await h.signal(revokeSessionSignal, { sid: `s${i}`, until: Date.now() + (i % 2 ? 3_600_000 : 1) });
        await wait(50);
      }
      const first = client.workflow.getHandle(workflowId, (await h.describe()).runId);
      for (;;) {
        if ((await first.describe()).status.name !== 'RUNNING') return first;
        await h.signal(revokeSessionSignal, { sid: `later-${randomUUID()}`, until: Date.now() + 3_600_000 });
        await wait(50);
      }
    },
  },
];

async function main() {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: resolveTemporalCli() }, ip: '127.0.0.1', searchAttributes: ALL_SEARCH_ATTRIBUTES },
  });
  const out = path.resolve(__dirname, '..', 'test', 'histories');
  fs.mkdirSync(out, { recursive: true });
  const input: RunInput = { task: 'Record a history', robot: { id: 'adhoc', name: 'Recorder', role: 'Records histories', version: 0 }, trigger: 'api' };
  const i = process.argv.indexOf('--only');
  const only = i > 0 ? process.argv[i + 1].split(',') : undefined;
  for (const scenario of SCENARIOS.filter((s) => !only || only.includes(s.name))) {
    const delay = scenario.name === 'cancelled' || scenario.name === 'failed' ? '1500' : '0';
    const config = loadConfig({ MC_MODEL_PROVIDER: 'offline', MC_OFFLINE_DELAY_MS: delay, MC_TASK_QUEUE: `record-${randomUUID()}` });
    const worker = await createRobotWorker({ connection: env.nativeConnection, config, router: createModelRouter(config) });
    const handle = await worker.runUntil(scenario.drive(env.client, config.MC_TASK_QUEUE, input));
    const history = await handle.fetchHistory();
    const file = path.join(out, `${scenario.name}.json`);
    fs.writeFileSync(file, historyToJSON(history));
    console.log(`recorded ${scenario.name}: ${history.events?.length} events → ${path.relative(process.cwd(), file)}`);
  }
  await env.teardown();
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
