/**
 * Request schemas of the REST API: one zod schema per body/params/query, types inferred from them.
 * Objects are strict, so a misspelt field is a 400 naming it rather than silently ignored.
 */
import { z } from 'zod';
import { RUN_STATUSES } from '../workflows/types';
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
  })
  .strict();

export const CreateRunBody = z
  .object({
    task: z.string().trim().min(1, 'must not be empty').max(20_000),
    robot: InlineRobot.optional(),
    /** A stored robot (see /api/robots); the run uses its current definition and records its version. */
    robotId: RobotId.optional(),
    options: RunOptions.optional(),
  })
  .strict()
  .refine((b) => !(b.robot && b.robotId), { message: 'give either robot or robotId, not both', path: ['robotId'] });
export type CreateRunBody = z.infer<typeof CreateRunBody>;

export const ListRunsQuery = z
  .object({
    status: z.enum(RUN_STATUSES).optional(),
    robotId: Id.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();
export type ListRunsQuery = z.infer<typeof ListRunsQuery>;

export const RunIdParams = z.object({ id: Id }).strict();
