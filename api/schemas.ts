/**
 * Request schemas of the REST API: one zod schema per body/params/query, composed from the contracts layer (the
 * shapes runs, robots, gates and graphs share are defined there, once). Objects are strict, so a misspelt field is
 * a 400 naming it rather than silently ignored.
 */
import { z } from 'zod';
import { Id, NodeId, RobotId } from '../contracts/common';
import { DagNodeSpec, NodeDecision } from '../contracts/dag';
import { ApprovalBody, ApprovalSettings, BudgetSettings, HostConfirmInput, HostMessageInput } from '../contracts/gates';
import { RUN_STATUSES } from '../contracts/pipeline';
import { OVERLAP_POLICIES } from '../contracts/robot';
import { CallerRunOptions } from '../contracts/run';

export { Id, RobotId, ApprovalBody };

export const InlineRobot = z
  .object({
    name: z.string().trim().min(1).max(100),
    role: z.string().trim().min(1).max(4000),
  })
  .strict();

export const CreateRunBody = z
  .object({
    task: z.string().trim().min(1, 'must not be empty').max(20_000),
    robot: InlineRobot.optional(),
    /** A stored robot (see /api/robots); the run uses its current definition and records its version. */
    robotId: RobotId.optional(),
    options: CallerRunOptions.optional(),
    /** A task graph to run instead of planning one; checked like a planner answer. */
    dag: z.array(DagNodeSpec.strict()).min(1).max(200).optional(),
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

export const NodeParams = z.object({ id: Id, nodeId: NodeId }).strict();

export const ApproveNodeBody = NodeDecision;
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

/** POST /api/runs/:id/messages: an answer to the Robot Host. */
export const HostMessageBody = HostMessageInput;
export type HostMessageBody = z.infer<typeof HostMessageBody>;

/** POST /api/runs/:id/confirm: confirm the task the Robot Host stated. */
export const HostConfirmBody = HostConfirmInput;
export type HostConfirmBody = z.infer<typeof HostConfirmBody>;

// ---- robots ---------------------------------------------------------------------------------------------------

/** POST /api/robots: the fields plus an optional id (generated when absent). */
export const CreateRobotBody = z.object({ id: RobotId.optional() }).passthrough();

export const RobotIdParams = z.object({ id: RobotId }).strict();

export const TriggerBody = z.object({ task: z.string().trim().min(1, 'must not be empty').max(20_000).optional() }).strict();

export const DeleteRobotQuery = z.object({ force: z.enum(['true', 'false']).optional() }).strict();

export const BackfillBody = z
  .object({
    start: z.string().datetime({ offset: true }),
    end: z.string().datetime({ offset: true }),
    overlap: z.enum(OVERLAP_POLICIES).optional(),
  })
  .strict()
  .refine((b) => Date.parse(b.start) < Date.parse(b.end), { message: 'must be after start', path: ['end'] });

export const GenerateRoleBody = z.object({ name: z.string().trim().min(1).max(100) }).strict();
