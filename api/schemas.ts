/**
 * Request schemas of the REST API: one zod schema per body/params/query, types inferred from them.
 * Objects are strict, so a misspelt field is a 400 naming it rather than silently ignored.
 */
import { z } from 'zod';
import { DagNodeSpecSchema } from '../activities/dag/planner';
import { NODE_FAILURE_POLICIES } from '../workflows/dag';
import { RUN_STATUSES } from '../workflows/types';

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

export const CreateRunBody = z
  .object({
    task: z.string().trim().min(1, 'must not be empty').max(20_000),
    robot: InlineRobot.optional(),
    options: RunOptions.optional(),
    /** A task graph to run instead of planning one; checked like a planner answer. */
    dag: z.array(DagNodeSpecSchema.strict()).min(1).max(200).optional(),
  })
  .strict();
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
