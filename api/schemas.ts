/**
 * Request schemas of the REST API: one zod schema per body/params/query, types inferred from them.
 * Objects are strict, so a misspelt field is a 400 naming it rather than silently ignored.
 */
import { z } from 'zod';
import { DagNodeSpecSchema } from '../activities/dag/planner';
import { NODE_FAILURE_POLICIES } from '../workflows/dag';
import { DECISIONS, RUN_STATUSES, STAGES } from '../workflows/types';
import { RobotId } from './robots/schema';

/** Ids are whole, URL-safe and bounded. */
export const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/, 'must be 1-200 characters of letters, digits, _ . : -');

export const InlineRobot = z
  .object({
    name: z.string().trim().min(1).max(100),
    role: z.string().trim().min(1).max(4000),
  })
  .strict();

export const RunOptions = z
  .object({
    stageMaxAttempts: z.number().int().min(1).max(20).optional(),
    stageTimeoutSeconds: z.number().int().min(5).max(86_400).optional(),
    /** Task graph: nodes running at once. */
    dagParallelism: z.number().int().min(1).max(256).optional(),
    /** Task graph: after a node fails for good, fail the stage, continue, or wait for a retry. */
    onNodeFailure: z.enum(NODE_FAILURE_POLICIES).optional(),
    nodeMaxAttempts: z.number().int().min(1).max(20).optional(),
    validateNodes: z.boolean().optional(),
    maxNodeRevisions: z.number().int().min(0).max(5).optional(),
  })
  .strict();

/** An http(s) URL (webhooks are outbound requests: no other schemes). */
export const WebhookUrl = z
  .string()
  .url()
  .max(2000)
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL');

export const GatePointName = z.enum([...STAGES, 'final']);
export const GateName = z.enum([...STAGES, 'final', 'budget']);

export const GateSettings = z
  .object({
    at: GatePointName,
    timeoutSeconds: z.number().int().min(1).max(31_536_000).optional(),
    onTimeout: z.enum(['reject', 'approve', 'escalate']).optional(),
    escalationTimeoutSeconds: z.number().int().min(1).max(31_536_000).optional(),
  })
  .strict();

export const ApprovalSettings = z
  .object({
    gates: z
      .array(GateSettings)
      .max(6)
      .refine((gates) => new Set(gates.map((g) => g.at)).size === gates.length, 'at most one gate per point'),
    maxRevisions: z.number().int().min(0).max(20).optional(),
    escalateTo: z.object({ name: z.string().trim().min(1).max(200).optional(), webhookUrl: WebhookUrl }).strict().optional(),
  })
  .strict();

export const BudgetSettings = z
  .object({
    maxTokens: z.number().int().min(1).optional(),
    maxCostUsd: z.number().positive().optional(),
  })
  .strict();

export const CreateRunBody = z
  .object({
    task: z.string().trim().min(1, 'must not be empty').max(20_000),
    robot: InlineRobot.optional(),
    /** A stored robot (see /api/robots); the run uses its current definition and records its version. */
    robotId: RobotId.optional(),
    options: RunOptions.optional(),
    /** A task graph to run instead of planning one; checked like a planner answer. */
    dag: z.array(DagNodeSpecSchema.strict()).min(1).max(200).optional(),
    approvals: ApprovalSettings.optional(),
    budget: BudgetSettings.optional(),
    /** Talk the task over with the Robot Host before the pipeline starts (default false for API callers). */
    host: z.boolean().optional(),
  })
  .strict()
  .refine((b) => !(b.robot && b.robotId), { message: 'give either robot or robotId, not both', path: ['robotId'] });
export type CreateRunBody = z.infer<typeof CreateRunBody>;

/** Seed-compatible compound goal (POST /task/compound). */
export const CompoundBody = z
  .object({
    goal: z.string().trim().min(1, 'must not be empty').max(20_000),
    robotId: Id.optional(),
  })
  .strict();
export type CompoundBody = z.infer<typeof CompoundBody>;

export const NodeParams = z.object({ id: Id, nodeId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'not a node id') }).strict();

export const ApproveNodeBody = z
  .object({ decision: z.enum(['approve', 'reject']), feedback: z.string().max(4000).optional() })
  .strict();
export type ApproveNodeBody = z.infer<typeof ApproveNodeBody>;

export const ListRunsQuery = z
  .object({
    status: z.enum(RUN_STATUSES).optional(),
    robotId: Id.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();
export type ListRunsQuery = z.infer<typeof ListRunsQuery>;

export const RunIdParams = z.object({ id: Id }).strict();

/** POST /api/runs/:id/approvals */
export const ApprovalBody = z
  .object({
    /** The gate the decision is for; omitted: the gate the run waits at. */
    gate: GateName.optional(),
    decision: z.enum(DECISIONS),
    feedback: z.string().trim().min(1).max(10_000).optional(),
    by: z.string().trim().min(1).max(200).optional(),
    /** Makes a retried decision harmless: the same id twice is applied once. */
    decisionId: Id.optional(),
    /** At the budget gate: raise the caps by these amounts. */
    raiseBy: z
      .object({ tokens: z.number().int().min(1).optional(), costUsd: z.number().positive().optional() })
      .strict()
      .refine((r) => r.tokens !== undefined || r.costUsd !== undefined, 'give tokens or costUsd')
      .optional(),
  })
  .strict()
  .refine((b) => b.decision !== 'revise' || b.feedback !== undefined, { message: 'revise needs feedback', path: ['feedback'] });
export type ApprovalBody = z.infer<typeof ApprovalBody>;

/** POST /api/runs/:id/messages: an answer to the Robot Host. */
export const HostMessageBody = z
  .object({ text: z.string().trim().min(1, 'must not be empty').max(10_000), by: z.string().trim().min(1).max(200).optional() })
  .strict();
export type HostMessageBody = z.infer<typeof HostMessageBody>;

/** POST /api/runs/:id/confirm: confirm the task the Robot Host stated. */
export const HostConfirmBody = z.object({ by: z.string().trim().min(1).max(200).optional() }).strict();
export type HostConfirmBody = z.infer<typeof HostConfirmBody>;
