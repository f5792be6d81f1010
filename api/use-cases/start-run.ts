/**
 * startRun: the one way a run is started, whoever asks — POST /api/runs, a robot's trigger, a signed webhook, a
 * compound goal, and next the OpenAI-compatible endpoint and chat platforms. Callable without HTTP: it takes a
 * command, returns the started run, and throws domain errors (../errors.ts).
 *
 * The input comes from the same builder schedules and the continuous loop use (./run-input.ts), and the search
 * attributes and memo a run starts with from the contracts (`runStartAttributes`), so a run looks the same on the
 * board whichever way it started.
 */
import { randomUUID } from 'node:crypto';
import { Client, WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import type { DagNodeSpec } from '../../contracts/dag';
import type { ApprovalSettings, BudgetSettings } from '../../contracts/gates';
import type { Trigger } from '../../contracts/pipeline';
import type { StoredRobot } from '../../contracts/robot';
import type { RunInput, RunOptions } from '../../contracts/run';
import { runStartAttributes } from '../../contracts/search-attributes';
import type { Config } from '../../lib/config';
import type { Metrics } from '../../lib/metrics';
import { runUiLink } from '../../lib/temporal';
import { robotRunWorkflow } from '../../workflows';
import { AlreadyStarted, InvalidInput } from '../errors';
import type { StartedRun } from '../schemas';
import { deploymentOptions, runInputOf, unstoredRobot } from './run-input';

/** Who runs it: a stored robot (by id, or already loaded), an ad-hoc robot given inline, or — absent — the built-in one. */
export type RobotChoice = { id: string } | { stored: StoredRobot } | { inline: { name: string; role: string; tools?: string[] } };

export interface StartRunCommand {
  trigger: Trigger;
  /** What to do. A stored robot's runs default to its duty; other runs must say. */
  task?: string;
  robot?: RobotChoice;
  /** Human control and knobs for this run; they win over the robot's own settings. */
  approvals?: ApprovalSettings;
  budget?: BudgetSettings;
  /** Talk the task over with the Robot Host first (true), or skip it even if the robot has it (false). */
  host?: boolean;
  options?: Omit<RunOptions, 'desktopQueue' | 'retryInitialIntervalMs'>;
  /** A task graph to run instead of planning one. */
  dag?: DagNodeSpec[];
  /** Extra context the stages see (a webhook payload, a chat thread). */
  context?: Record<string, unknown>;
  /**
   * A run id chosen by the caller, which makes the start idempotent: a run with this id starts at most once, ever
   * (as long as Temporal retains it); a second start throws AlreadyStarted naming it.
   */
  runId?: string;
}

/** What startRun needs: Temporal, the configuration, a way to read stored robots, and who to tell. */
export interface StartRunDeps {
  client: Client;
  config: Config;
  robots: { load(id: string): Promise<StoredRobot> };
  metrics?: Metrics;
  /** Called with the id of every run started (the event stream follows it at once). */
  onStarted?: (id: string) => void;
}

export type StartRun = (command: StartRunCommand) => Promise<StartedRun>;

/** The RunInput of a command: the robot's own input, then what the command says for this run. */
export function runInputFor(command: StartRunCommand, stored: StoredRobot | undefined, config: Pick<Config, 'MC_DESKTOP_QUEUE'>, requestedAt: string): RunInput {
  let base: RunInput;
  if (stored) {
    base = runInputOf(stored, command.trigger, { task: command.task, context: command.context });
  } else {
    if (!command.task) throw new InvalidInput('task: Required');
    const inline = command.robot && 'inline' in command.robot ? command.robot.inline : undefined;
    base = { task: command.task, robot: unstoredRobot(inline), trigger: command.trigger, ...(command.context ? { context: command.context } : {}) };
  }
  const options = { ...command.options, ...deploymentOptions(config) };
  return {
    ...base,
    ...(Object.keys(options).length ? { options } : {}),
    ...(command.dag ? { dag: command.dag } : {}),
    ...(command.approvals ? { approvals: command.approvals } : {}),
    ...(command.budget ? { budget: command.budget } : {}),
    ...(command.host !== undefined ? { host: command.host ? { enabled: true } : undefined } : {}),
    requestedAt,
  };
}

export function createStartRun(deps: StartRunDeps): StartRun {
  return async function startRun(command) {
    const choice = command.robot;
    const stored = !choice ? undefined : 'stored' in choice ? choice.stored : 'id' in choice ? await deps.robots.load(choice.id) : undefined;
    const input = runInputFor(command, stored, deps.config, new Date().toISOString());
    const id = command.runId ?? `run-${randomUUID()}`;
    try {
      await deps.client.workflow.start(robotRunWorkflow, {
        taskQueue: deps.config.MC_TASK_QUEUE,
        workflowId: id,
        args: [input],
        ...runStartAttributes(input),
        ...(command.runId ? { workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE, workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL } : {}),
      });
    } catch (err) {
      if (command.runId && err instanceof WorkflowExecutionAlreadyStartedError) throw new AlreadyStarted(id);
      throw err;
    }
    deps.metrics?.runsStarted.inc({ trigger: input.trigger });
    deps.onStarted?.(id);
    return { id, status: 'Pending', task: input.task, robotVersion: input.robot.version, links: { temporalUi: runUiLink(deps.config, id) } };
  };
}
