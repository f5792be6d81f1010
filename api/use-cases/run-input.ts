/**
 * The input builder: the RunInput a run starts with, for every way a run comes to exist. `startRun` uses it for
 * runs started now (REST, robot triggers, webhooks, compound goals; next, the OpenAI endpoint and chat); a robot's
 * Temporal Schedule stores its result as the action every scheduled run starts with, and the continuous loop gets
 * it as the run each cycle starts. Pure: no I/O, no clock.
 */
import { DEFAULT_ROBOT, type RobotSnapshot, type RoutingOverrides, type RunInput } from '../../contracts/run';
import type { StageName, Trigger } from '../../contracts/pipeline';
import type { StoredRobot } from '../../contracts/robot';
import type { Config } from '../../lib/config';

export { DEFAULT_ROBOT };

/** The task of a robot's runs that name none (scheduled, continuous, webhook, a trigger without a task). */
export const DEFAULT_DUTY = 'Carry out the standing duties of your role and report what you found and did.';

/** Per-stage model overrides of the definition, as the router takes them. */
function routingOf(robot: StoredRobot): RoutingOverrides | undefined {
  const stages: RoutingOverrides['stages'] = {};
  for (const [stage, o] of Object.entries(robot.stages ?? {})) {
    if (o && (o.model || o.temperature !== undefined)) stages[stage as StageName] = { model: o.model, temperature: o.temperature };
  }
  return Object.keys(stages).length ? { stages } : undefined;
}

/** Per-stage prompt additions and custom agents of the definition, as the stages' prompts take them. */
function stageAgentsOf(robot: StoredRobot): RobotSnapshot['stageAgents'] {
  const out: NonNullable<RobotSnapshot['stageAgents']> = {};
  for (const [stage, o] of Object.entries(robot.stages ?? {})) {
    if (o && (o.promptAddition || o.agent)) out[stage as StageName] = { promptAddition: o.promptAddition, agent: o.agent };
  }
  return Object.keys(out).length ? out : undefined;
}

/** "Reports to" given as an http(s) URL is where gate escalations are posted. */
function escalation(robot: StoredRobot): { name?: string; webhookUrl: string } | undefined {
  return robot.reportsTo && /^https?:\/\//i.test(robot.reportsTo) ? { name: `${robot.name}'s reports-to contact`, webhookUrl: robot.reportsTo } : undefined;
}

/** What the deployment adds to every run it starts or schedules. */
export type DeploymentDefaults = Pick<Config, 'MC_DESKTOP_QUEUE'>;

/** Run options the deployment sets: command nodes naming no desktop go to this machine's configured one (if any). */
export const deploymentOptions = (d: DeploymentDefaults): NonNullable<RunInput['options']> => (d.MC_DESKTOP_QUEUE ? { desktopQueue: d.MC_DESKTOP_QUEUE } : {});

/**
 * The RunInput a run of a stored robot starts with: a snapshot of the robot (id, name, role, **version**, tools,
 * model overrides, stage agents), its duty as the task unless one is given, its gates, budget and concurrency
 * limit, and where its result goes (`delivery`, with `onDeliveryFailure`). The Robot Host applies to manual runs
 * (`api`) only.
 */
export function runInputOf(robot: StoredRobot, trigger: Trigger, extra: { task?: string; context?: Record<string, unknown> } = {}): RunInput {
  return {
    task: extra.task ?? robot.duty ?? DEFAULT_DUTY,
    robot: {
      id: robot.id,
      name: robot.name,
      role: robot.role,
      version: robot.version,
      // A robot may use only the tools its definition lists.
      tools: robot.tools,
      routing: routingOf(robot),
      stageAgents: stageAgentsOf(robot),
    },
    trigger,
    approvals: robot.approvals && escalation(robot) ? { ...robot.approvals, escalateTo: escalation(robot) } : robot.approvals,
    budget: robot.budget,
    host: trigger === 'api' ? robot.host : undefined,
    context: extra.context,
    concurrencyLimit: robot.concurrencyLimit,
    ...(robot.delivery?.length ? { delivery: { destinations: robot.delivery, onFailure: robot.onDeliveryFailure ?? 'warn' } } : {}),
  };
}

/** The robot of a run that names no stored one: an ad-hoc robot given inline (version 0), or the built-in one. */
export function unstoredRobot(inline?: { name: string; role: string }): RobotSnapshot {
  return inline ? { id: 'adhoc', name: inline.name, role: inline.role, version: 0 } : DEFAULT_ROBOT;
}
