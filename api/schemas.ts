/**
 * Schemas of the REST API: one zod schema per body, params, query and response, composed from the contracts
 * layer (the shapes runs, robots, gates and graphs share are defined there, once). The routes validate with them
 * and the OpenAPI document is generated from them; the services' result types are inferred from the response
 * schemas, so what the document promises is what the code returns. Request objects are strict, so a misspelt
 * field is a 400 naming it rather than silently ignored.
 */
import { z } from 'zod';
import { Id, NodeId, RobotId } from '../contracts/common';
import { DagNodeSpec, DagNodeState, NodeDecision, NodeStatus, type NodeControlResult } from '../contracts/dag';
import { ApprovalBody as ApprovalBodyContract, ApprovalSettings, BudgetSettings, GateName, HostConfirmInput, HostMessageInput } from '../contracts/gates';
import type { ContinuousState } from '../contracts/messages';
import { RUN_STATUSES, RunStatus, StageName, Usage } from '../contracts/pipeline';
import { OVERLAP_POLICIES, RobotFieldsObject, StoredRobot, WebhookSettings } from '../contracts/robot';
import { CallerRunOptions, RunError, RunEvent, RunState as RunStateContract } from '../contracts/run';
import { named } from './http/openapi';
import { DELIVERY_HEADER, TIMESTAMP_HEADER } from './robots/webhook-signature';

export { Id, RobotId };

// ---- runs: requests -----------------------------------------------------------------------------------------

export const InlineRobot = z
  .object({
    name: z.string().trim().min(1).max(100),
    role: z.string().trim().min(1).max(4000),
    tools: RobotFieldsObject.shape.tools
      .removeDefault()
      .optional()
      .describe('Registry tools this ad-hoc robot may use (default `http_fetch`); `command` lets its graph run commands on a desktop, each after an approval'),
  })
  .strict();

/**
 * A node of a caller-supplied graph. Approval is not part of the graph: a `requiresApproval` field is refused with a
 * 400 that says where approval comes from, rather than accepted and ignored.
 */
export const SuppliedDagNode = DagNodeSpec.extend({
  requiresApproval: z
    .unknown()
    .optional()
    .describe('Not accepted (400): command nodes wait for a person unless `approvals.commands` is `pre-approved` in this request or in the robot\'s definition'),
})
  .strict()
  .superRefine((n, ctx) => {
    if (n.requiresApproval !== undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['requiresApproval'],
        message: 'approval is not part of the graph: set approvals.commands to "pre-approved" (in this request or the robot\'s definition) to run command nodes without asking',
      });
    }
  })
  .transform(({ requiresApproval: _ignored, ...node }) => node);

export const CreateRunBody = named(
  'CreateRunBody',
  z
    .object({
      task: z.string().trim().min(1, 'must not be empty').max(20_000),
      robot: InlineRobot.optional().describe('An ad-hoc robot for this run only'),
      robotId: RobotId.optional().describe('A stored robot (see /api/robots); the run uses its current definition and records its version'),
      options: CallerRunOptions.optional(),
      dag: z.array(SuppliedDagNode).min(1).max(200).optional().describe('A task graph to run instead of planning one; checked like a planner answer'),
      approvals: ApprovalSettings.optional(),
      budget: BudgetSettings.optional(),
      host: z.boolean().optional().describe('Talk the task over with the Robot Host before the pipeline starts (default false for API callers)'),
    })
    .strict()
    .refine((b) => !(b.robot && b.robotId), { message: 'give either robot or robotId, not both', path: ['robotId'] }),
);
export type CreateRunBody = z.infer<typeof CreateRunBody>;

/** Seed-compatible compound goal (POST /task/compound). */
export const CompoundBody = z
  .object({
    goal: z.string().trim().min(1, 'must not be empty').max(20_000),
    robotId: Id.optional().describe('A stored robot; `default` or absent: the built-in robot'),
  })
  .strict();
export type CompoundBody = z.infer<typeof CompoundBody>;

export const RunIdParams = z.object({ id: Id }).strict();
export const NodeParams = z.object({ id: Id, nodeId: NodeId }).strict();

export const ApproveNodeBody = NodeDecision;
export type ApproveNodeBody = z.infer<typeof ApproveNodeBody>;

export const ApprovalBody = named('ApprovalBody', ApprovalBodyContract);
export type ApprovalBody = z.infer<typeof ApprovalBody>;

export const ListRunsQuery = z
  .object({
    status: z.enum(RUN_STATUSES).optional(),
    robotId: Id.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    closedBefore: z.string().datetime({ offset: true }).optional().describe('Only runs that closed before this time (paging through a closed column: pass the `closedAt` of the last run of the previous page)'),
  })
  .strict();
export type ListRunsQuery = z.infer<typeof ListRunsQuery>;

/** POST /api/runs/:id/messages: an answer to the Robot Host. */
export const HostMessageBody = HostMessageInput;
export type HostMessageBody = z.infer<typeof HostMessageBody>;

/** POST /api/runs/:id/confirm: confirm the task the Robot Host stated. */
export const HostConfirmBody = HostConfirmInput;
export type HostConfirmBody = z.infer<typeof HostConfirmBody>;

/** GET /api/events: where a reconnecting client resumes (the Last-Event-ID header wins). */
export const EventsQuery = z.object({ lastEventId: z.string().max(300).optional() }).passthrough();

// ---- runs: responses ----------------------------------------------------------------------------------------

const Links = z.object({ temporalUi: z.string().describe('The run in the Temporal Web UI') });

export const StartedRun = named(
  'StartedRun',
  z.object({
    id: z.string().describe('The run id (the workflow id), whole'),
    status: RunStatus,
    task: z.string(),
    robotVersion: z.number().describe('Version of the robot definition the run started with (0: ad-hoc or built-in)'),
    links: Links,
  }),
);
export type StartedRun = z.infer<typeof StartedRun>;

/** What the board shows of a run's gate (from the memo). */
const GateGlance = z.object({ gate: GateName, since: z.string(), deadline: z.string().optional() });

export const RunSummary = named(
  'RunSummary',
  z.object({
    id: z.string(),
    status: z.union([RunStatus, z.literal('Unknown')]),
    robotId: z.string().optional(),
    robotName: z.string().optional(),
    trigger: z.string().optional(),
    task: z.string().optional().describe('The task (its first 500 characters)'),
    currentStage: z
      .string()
      .optional()
      .describe('The stage the run is at: for running runs this API follows, live; otherwise as of its last status change'),
    startedAt: z.string().optional(),
    closedAt: z.string().optional(),
    temporalStatus: z.string(),
    usage: Usage.optional().describe('Tokens and cost so far (like currentStage: live for running runs this API follows)'),
    gate: GateGlance.optional().describe('The gate the run waits at'),
    offline: z.boolean().optional(),
    error: RunError.optional(),
    interruptedStage: StageName.optional(),
    links: Links,
  }),
);
export type RunSummary = z.infer<typeof RunSummary>;

export const RunState = named('RunState', RunStateContract, 'Everything known about a run, as the workflow answers its runState query');

/** Where a run waiting for a concurrency slot stands in its robot's line. */
export const SlotPlace = z.object({
  position: z.number().int().min(1).describe('1 = next to get a slot'),
  waiting: z.number().int(),
  holders: z.number().int(),
  limit: z.number().int(),
});

export const RunView = named(
  'RunView',
  RunStateContract.partial()
    .required({ runId: true, status: true })
    .extend({
      slot: SlotPlace.optional().describe('Pending runs waiting for a concurrency slot: their place in line (from the robot\'s semaphore)'),
      stateSource: z.enum(['query', 'result', 'memo']).describe('Where the state came from: the live workflow (query), its final result, or the memo (no worker; fewer fields)'),
      temporal: z.object({ workflowId: z.string(), runId: z.string().optional(), status: z.string(), historyLength: z.number().optional() }),
      links: Links,
    }),
  'A run: its whole state when a worker answers or it has finished, else what the memo keeps',
);
export type RunView = z.infer<typeof RunView>;

export const CancelReply = z.object({ id: z.string(), cancelRequested: z.literal(true) });

export const NodeControlReply: z.ZodType<NodeControlResult> = z.object({ nodeId: z.string(), status: NodeStatus });

export const CompoundProgress = named(
  'CompoundProgress',
  z.object({
    id: z.string(),
    status: RunStatus,
    stage: StageName.optional(),
    nodes: z.array(
      DagNodeState.pick({
        id: true,
        title: true,
        kind: true,
        status: true,
        dependsOn: true,
        startedAt: true,
        finishedAt: true,
        durationMs: true,
        model: true,
        reason: true,
        output: true,
        error: true,
        usage: true,
      }),
    ),
    summary: z.string(),
    result: z.string().optional(),
    error: RunError.optional(),
  }),
);
export type CompoundProgress = z.infer<typeof CompoundProgress>;

/** What an activity entry says about its run: the task and robot it names, and where the run stands. */
export const RunGlance = z.object({
  task: z.string().describe('The task (its first 200 characters)'),
  robotId: z.string(),
  robotName: z.string(),
  usage: Usage.optional(),
  currentStage: StageName.optional(),
  gate: GateName.optional(),
  host: z.enum(['thinking', 'asking', 'confirming', 'confirmed']).optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  deliveryWarning: z.string().optional().describe('Set when a destination failed for good under onDeliveryFailure: warn'),
});
export type RunGlance = z.infer<typeof RunGlance>;

/** One message of GET /api/events (`event: run-event`). */
export const RunEventMessage = named('RunEventMessage', RunEvent.extend({ runId: z.string(), status: RunStatus, run: RunGlance.optional() }));
export type RunEventMessage = z.infer<typeof RunEventMessage>;

export const StatsReply = z.object({
  counts: z.record(RunStatus, z.number()),
  completionRate: z.number().nullable().describe('Done / (Done + Failed + Cancelled); null before any run finished'),
});

// ---- the page's read models: fleet, activity, charts, spend, recovery -----------------------------------------

/** One live worker process, as its SDK worker heartbeats describe it (several Workers of one process are grouped). */
export const FleetWorker = z.object({
  key: z.string().describe('host/pid: one entry per worker process'),
  identity: z.string().describe('The worker identity (pid@host by default)'),
  hostName: z.string(),
  processId: z.string().optional(),
  taskQueues: z.array(z.string()),
  desktopQueues: z.array(z.string()).describe('Its task queues that run activities only: desktops, where command tasks can be sent'),
  kind: z.enum(['worker', 'desktop']).describe('worker: runs workflows (and activities); desktop: only activities of its own task queues (command tasks)'),
  status: z.string(),
  cpu: z.number().nullable().describe('CPU use of the host, 0-1, as the SDK reports it'),
  memory: z.number().nullable().describe('Memory use of the host, 0-1, as the SDK reports it'),
  inFlightActivities: z.number().int(),
  inFlightWorkflowTasks: z.number().int(),
  processedActivities: z.number().int(),
  lastHeartbeat: z.string(),
  startedAt: z.string().optional(),
  sdk: z.string(),
});
export type FleetWorker = z.infer<typeof FleetWorker>;

export const FleetReply = named(
  'Fleet',
  z.object({
    available: z.boolean().describe('False when this Temporal server does not list workers (see `note`)'),
    note: z.string().optional(),
    at: z.string(),
    staleAfterSeconds: z.number(),
    workers: z.array(FleetWorker),
    totals: z.object({
      workers: z.number().int(),
      desktops: z.number().int(),
      hosts: z.number().int(),
      cpu: z.number().nullable().describe('Mean CPU use over the hosts, 0-1'),
      memory: z.number().nullable().describe('Mean memory use over the hosts, 0-1'),
      inFlightActivities: z.number().int(),
    }),
  }),
  'The live workers ("desktops"), from the server\'s worker list (SDK worker heartbeats)',
);
export type FleetReply = z.infer<typeof FleetReply>;

export const EVENT_KINDS = ['run', 'stage', 'gate', 'node', 'host', 'budget', 'approval', 'delivery'] as const;

export const ActivityQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    robotId: Id.optional(),
    kind: z.enum(EVENT_KINDS).optional().describe('The first part of the event type (`stage` for stage.started, ...)'),
    perRobot: z.coerce.number().int().min(1).max(500).default(25).describe('Most entries of one robot, so one chatty robot cannot drown the rest'),
  })
  .strict();
export type ActivityQuery = z.infer<typeof ActivityQuery>;

export const ActivityReply = named(
  'Activity',
  z.object({ events: z.array(RunEventMessage.extend({ id: z.string() })).describe('Newest first') }),
  'Recent events of recent runs, read from Temporal: what the activity stream shows when the page opens',
);

export const SeriesQuery = z.object({ window: z.enum(['1h', '24h', '7d']).default('24h') }).strict();
export type SeriesQuery = z.infer<typeof SeriesQuery>;

const Percentiles = z.object({ n: z.number().int(), p50: z.number().nullable(), p90: z.number().nullable(), p99: z.number().nullable() });

export const SeriesReply = named(
  'Series',
  z.object({
    window: z.enum(['1h', '24h', '7d']),
    bucketSeconds: z.number().int(),
    buckets: z.array(
      z.object({
        t: z.string().describe('Start of the bucket'),
        started: z.number().int(),
        done: z.number().int(),
        failed: z.number().int(),
        cancelled: z.number().int(),
        tokens: z.number().describe('Tokens of the runs that finished in the bucket'),
        costUsd: z.number(),
      }),
    ),
    stageDurationsMs: z.record(StageName, Percentiles).describe('Stage durations of the most recent finished runs of the window (up to `sampledRuns`)'),
    sampledRuns: z.number().int(),
    truncated: z.boolean().describe('More runs than the API reads in one answer were in the window'),
  }),
  'Runs, outcomes, tokens and cost over time, and stage duration percentiles, from Temporal visibility and the runs\' results',
);
export type SeriesReply = z.infer<typeof SeriesReply>;

export const SpendQuery = z
  .object({
    days: z.coerce.number().int().min(1).max(90).default(14),
    robotId: Id.optional(),
    timezone: z.string().max(100).optional().describe('IANA time zone the days are counted in (default UTC)'),
  })
  .strict();
export type SpendQuery = z.infer<typeof SpendQuery>;

const DaySpend = z.object({ day: z.string(), runs: z.number().int(), inputTokens: z.number(), outputTokens: z.number(), costUsd: z.number() });

export const SpendReply = named(
  'Spend',
  z.object({
    timezone: z.string(),
    days: z.array(z.string()).describe('YYYY-MM-DD, oldest first'),
    robots: z.array(
      z.object({
        robotId: z.string(),
        robotName: z.string(),
        perDay: z.array(DaySpend),
        total: DaySpend.omit({ day: true }),
        lastRun: z.object({ id: z.string(), status: z.string(), startedAt: z.string() }).optional(),
      }),
    ),
    truncated: z.boolean(),
  }),
  'Tokens and cost per robot per day, from the runs\' memos in Temporal visibility',
);
export type SpendReply = z.infer<typeof SpendReply>;

export const RecoveryReply = named(
  'Recovery',
  z.object({
    survived: z.boolean().describe('A worker was lost while this run was going, and the run went on'),
    losses: z.array(
      z.object({
        kind: z.enum(['activity', 'workflow-task']),
        stage: StageName.optional(),
        activity: z.string().optional(),
        nodeId: z.string().optional(),
        attempt: z.number().int().optional(),
        cause: z.string(),
        at: z.string().optional(),
      }),
    ),
    repeatedCompletedSteps: z.number().int().describe('Stage and node activities that had completed and were run again without a person or validator asking (0 expected)'),
    summary: z.string().nullable().describe('In words, e.g. "worker lost during Tasks; resumed, 0 completed steps repeated"'),
  }),
  'What the run\'s own Temporal history says about lost workers and recovery',
);
export type RecoveryReply = z.infer<typeof RecoveryReply>;

export const InfoReply = z.object({
  modelProvider: z.string(),
  offline: z.boolean().describe('True when the built-in offline model answers'),
  temporalUi: z.string(),
  namespace: z.string(),
});

// ---- robots: requests ---------------------------------------------------------------------------------------

/**
 * POST /api/robots: the fields plus an optional id (generated when absent). The fields' cross-checks (a schedule
 * or continuous, not both) are the robot definition's own (contracts/robot.ts `RobotFields`), applied by the service.
 */
export const CreateRobotBody = named('CreateRobotBody', RobotFieldsObject.extend({ id: RobotId.optional() }));
/** PUT /api/robots/:id: every field (no id). */
export const RobotFieldsBody = named('RobotFields', RobotFieldsObject);
/** PATCH /api/robots/:id: an RFC 7386 JSON merge patch over the fields (`null` removes one); the result is checked whole. */
export const RobotPatchBody = z.record(z.string(), z.unknown(), { invalid_type_error: 'must be a JSON object (merge patch)', required_error: 'must be a JSON object (merge patch)' });

export const RobotIdParams = z.object({ id: RobotId }).strict();

export const TriggerBody = z.object({ task: z.string().trim().min(1, 'must not be empty').max(20_000).optional().describe('Default: the robot\'s duty') }).strict();

export const DeleteRobotQuery = z.object({ force: z.enum(['true', 'false']).optional().describe('Cancel the robot\'s running runs and delete it anyway') }).strict();

export const RobotRunsQuery = ListRunsQuery.omit({ robotId: true });

/** POST .../schedule/pause: an optional note (anything else in the body is ignored; a longer note is cut to 200). */
export const PauseBody = z.object({ note: z.unknown().optional().describe('A string, kept as the pause note (first 200 characters)') }).passthrough();

export const BackfillBody = z
  .object({
    start: z.string().datetime({ offset: true }),
    end: z.string().datetime({ offset: true }),
    overlap: z.enum(OVERLAP_POLICIES).optional(),
  })
  .strict()
  .refine((b) => Date.parse(b.start) < Date.parse(b.end), { message: 'must be after start', path: ['end'] });
export type BackfillBody = z.infer<typeof BackfillBody>;

export const GenerateRoleBody = z.object({ name: z.string().trim().min(1).max(100) }).strict();

// ---- robots: responses --------------------------------------------------------------------------------------

export const ROBOT_MODES = ['on_demand', 'schedule', 'continuous', 'triggers_only'] as const;

export const RobotEvent = z.object({
  type: z.string(),
  at: z.string().optional(),
  message: z.string(),
  count: z.number().optional(),
  runId: z.string().optional(),
});
export type RobotEvent = z.infer<typeof RobotEvent>;

/** The continuous loop's own state (its continuousState query). */
const ContinuousStateReply: z.ZodType<ContinuousState> = z.object({
  robotId: z.string(),
  robotVersion: z.number(),
  cycles: z.number(),
  failures: z.number(),
  generation: z.number(),
  phase: z.enum(['running', 'pausing']),
  currentRunId: z.string().optional(),
  lastRunId: z.string().optional(),
  lastStatus: RunStatus.optional(),
  pauseMs: z.number(),
});

export const RobotView = named(
  'RobotView',
  StoredRobot.omit({ webhookKeyId: true })
    .strip()
    .extend({
    mode: z.enum(ROBOT_MODES),
    state: z.object({
      paused: z.boolean(),
      note: z.string().optional(),
      nextRunTimes: z.array(z.string()),
      recentRuns: z.array(z.object({ scheduledAt: z.string(), startedAt: z.string(), runId: z.string() })).describe('Runs the schedule has started (newest last), as Temporal keeps them'),
      runningScheduledRuns: z.array(z.string()),
      actionsTaken: z.number(),
      skippedOverlap: z.number().describe('Scheduled times skipped because the previous run was still going (overlap policy)'),
      missedCatchupWindow: z.number().describe('Scheduled times missed (e.g. while Temporal was down) and older than the catch-up window'),
      continuous: z.object({ workflowId: z.string(), status: z.string(), state: ContinuousStateReply.optional() }).optional(),
    }),
    events: z.array(RobotEvent),
    webhook: WebhookSettings.extend({ url: z.string() }).optional(),
    links: z.object({ schedule: z.string().describe('The robot\'s schedule in the Temporal Web UI') }),
  }),
  'A robot: its definition, version, mode, and what its schedule or loop is doing',
);
export type RobotView = z.infer<typeof RobotView>;

export const RobotWithSecret = named(
  'RobotWithSecret',
  RobotView.extend({ webhookSecret: z.string().optional().describe('The webhook secret, shown only in the answer that created it (or rotated it)') }),
);
export type RobotWithSecret = z.infer<typeof RobotWithSecret>;

export const RobotDeleted = z.object({ id: z.string(), deleted: z.literal(true), cancelledRuns: z.array(z.string()) });
export const WebhookRotated = z.object({ id: z.string(), webhookSecret: z.string(), version: z.number() });
export const ScheduleTriggered = z.object({ id: z.string(), triggered: z.literal(true) });
export const BackfillReply = z.object({ id: z.string(), backfill: BackfillBody });
export const GeneratedRole = z.object({ name: z.string(), role: z.string(), offline: z.boolean() });

// ---- webhooks -----------------------------------------------------------------------------------------------

export const HookParams = z.object({ robotId: RobotId }).strict();

/** The signature headers (their checks are the webhook use case's: a missing or bad signature is a 401, not a 400). */
export const HookHeaders = z.object({
  [TIMESTAMP_HEADER]: z.string().optional().describe('Unix time in seconds, signed with the body. Needed: without it, or more than 5 minutes off, the request is refused (401).'),
  [DELIVERY_HEADER]: z
    .string()
    .optional()
    .describe('Delivery id (`A-Z a-z 0-9 _ . : -`, up to 128), covered by the v2 signature: the same id starts at most one run. Without it (or with a legacy v1 signature, which does not cover it), the signature identifies the request (a replay finds the first run).'),
});

export const WebhookReply = named(
  'WebhookReply',
  z.object({
    id: z.string().optional().describe('The run started, or the run an earlier request with this delivery id started'),
    started: z.boolean(),
    duplicate: z.boolean().optional(),
    reason: z.string().optional().describe('Why nothing started (a filter did not match)'),
  }),
);
