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
import { ApprovalBody as ApprovalBodyContract, ApprovalSettings, BudgetSettings, HostConfirmInput, HostMessageInput } from '../contracts/gates';
import type { ContinuousState } from '../contracts/messages';
import { RUN_STATUSES, RunStatus, StageName } from '../contracts/pipeline';
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

export const RunSummary = named(
  'RunSummary',
  z.object({
    id: z.string(),
    status: z.union([RunStatus, z.literal('Unknown')]),
    robotId: z.string().optional(),
    trigger: z.string().optional(),
    task: z.string().optional(),
    currentStage: z.string().optional(),
    startedAt: z.string().optional(),
    closedAt: z.string().optional(),
    temporalStatus: z.string(),
    links: Links,
  }),
);
export type RunSummary = z.infer<typeof RunSummary>;

export const RunState = named('RunState', RunStateContract, 'Everything known about a run, as the workflow answers its runState query');

export const RunView = named(
  'RunView',
  RunStateContract.partial()
    .required({ runId: true, status: true })
    .extend({
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

/** One message of GET /api/events (`event: run-event`). */
export const RunEventMessage = named('RunEventMessage', RunEvent.extend({ runId: z.string(), status: RunStatus }));

export const StatsReply = z.object({
  counts: z.record(RunStatus, z.number()),
  completionRate: z.number().nullable().describe('Done / (Done + Failed + Cancelled); null before any run finished'),
});

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
