/**
 * Activities behind robots: the concurrency semaphore's I/O (signal-with-start, liveness checks; quick calls with
 * the worker's Temporal client from the activity context) and drafting a role description with the model (in the
 * activity runtime, ./runtime.ts, like every model call).
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { acquireSlotSignal, robotSlotsWorkflowId } from '../contracts/messages';
import type { RobotSlotsInput } from '../contracts/messages';
import type { ModelCallRecord } from '../contracts/pipeline';
import type { ActivityDeps } from './deps';
import { generateText } from './models/structured';
import { createActivityRuntime } from './runtime';

export function createRobotActivities(deps: ActivityDeps) {
  const runtime = createActivityRuntime(deps);
  return {
    /** Ask the robot's semaphore for a slot, starting the semaphore if it is not running. Idempotent per run. */
    async requestRobotSlot(req: { robotId: string; runId: string; limit: number; taskQueue: string }): Promise<void> {
      // How often a semaphore with waiting runs checks that its holders still run.
      const args: RobotSlotsInput = { robotId: req.robotId, checkIntervalSeconds: deps.config.MC_SLOT_CHECK_SECONDS };
      await Context.current().client.workflow.signalWithStart('robotSlotsWorkflow', {
        workflowId: robotSlotsWorkflowId(req.robotId),
        taskQueue: req.taskQueue,
        args: [args],
        signal: acquireSlotSignal,
        signalArgs: [{ runId: req.runId, limit: req.limit }],
      });
    },

    /** Which of these workflows are still running (a terminated or timed-out run holds no slot). */
    async runningWorkflows(ids: string[]): Promise<string[]> {
      const client = Context.current().client;
      const alive = await Promise.all(
        ids.map(async (id) => {
          try {
            return (await client.workflow.getHandle(id).describe()).status.name === 'RUNNING' ? id : undefined;
          } catch (err) {
            if (err instanceof WorkflowNotFoundError) return undefined;
            throw err;
          }
        }),
      );
      return alive.filter((x): x is string => !!x);
    },

    /** Draft a role description for a robot from its name (the "Generate" button). */
    async draftRole(input: { name: string }): Promise<{ role: string; calls: ModelCallRecord[] }> {
      return runtime.run({}, async ({ router, signal }) => {
        const { value, calls } = await generateText(router, {
          kind: 'text',
          system:
            'You write role descriptions for AI team members. Given a name, write 3-5 sentences: what the member is responsible for, ' +
            'what it produces, which resources it needs and how it checks its work. Plain text, no preamble.',
          user: `Name: ${input.name}`,
          signal,
          offlineAnswer: () =>
            `${input.name} is responsible for the work its name describes, from gathering what is needed to a checked, delivered result. ` +
            `It turns each request into concrete goals and tasks, uses only the experts and tools assigned to it, and states its sources. ` +
            `Before delivering, it checks every result against what was asked and reports open questions to the person it reports to.`,
        });
        return { role: value.trim(), calls };
      });
    },
  };
}

export type RobotActivities = ReturnType<typeof createRobotActivities>;
