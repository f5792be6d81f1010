/**
 * The pipeline's vocabulary: stages, board statuses, triggers, and what every model call bills.
 */
import { z } from 'zod';

/** The five pipeline stages, in the order a run goes through them. */
export const STAGES = ['inspiration', 'goals', 'tasks', 'validation', 'delivery'] as const;
export const StageName = z.enum(STAGES);
export type StageName = z.infer<typeof StageName>;

/** Board columns. Also the value of the `McStatus` search attribute. */
export const RUN_STATUSES = ['Pending', 'Running', 'Review', 'Done', 'Failed', 'Cancelled'] as const;
export const RunStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatus>;

export const TERMINAL_STATUSES: readonly RunStatus[] = ['Done', 'Failed', 'Cancelled'];
export const isTerminal = (s: string): boolean => (TERMINAL_STATUSES as readonly string[]).includes(s);

export const STAGE_STATUSES = ['pending', 'running', 'done', 'failed', 'cancelled', 'skipped'] as const;
export const StageStatus = z.enum(STAGE_STATUSES);
export type StageStatus = z.infer<typeof StageStatus>;

/** How a run came to exist. Also the value of the `McTrigger` search attribute. */
export const TRIGGERS = ['api', 'schedule', 'webhook', 'chat', 'compound', 'continuous', 'openai'] as const;
export const Trigger = z.enum(TRIGGERS);
export type Trigger = z.infer<typeof Trigger>;

/** One model call as billed: what every stage reports for each request it made. */
export const ModelCallRecord = z.object({
  provider: z.string(),
  model: z.string(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  costUsd: z.number(),
  latencyMs: z.number(),
  /** True when the built-in offline model answered (no provider configured). */
  offline: z.boolean(),
  /** Why this model was chosen (routing table entry, override...). */
  reason: z.string().optional(),
});
export type ModelCallRecord = z.infer<typeof ModelCallRecord>;

export const Usage = z.object({
  calls: z.number(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  costUsd: z.number(),
});
export type Usage = z.infer<typeof Usage>;

export const emptyUsage = (): Usage => ({ calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });

/** Usage plus these calls (cost rounded to micro-dollars so sums stay exact). */
export function addCalls(usage: Usage, calls: ModelCallRecord[]): Usage {
  return calls.reduce(
    (u, c) => ({
      calls: u.calls + 1,
      inputTokens: u.inputTokens + c.inputTokens,
      outputTokens: u.outputTokens + c.outputTokens,
      costUsd: Math.round((u.costUsd + c.costUsd) * 1e6) / 1e6,
    }),
    usage,
  );
}

/** Tiers of the routing table a choice may name. */
export const MODEL_TIERS = ['large', 'fast', 'vision'] as const;
export const ModelTier = z.enum(MODEL_TIERS);
export type ModelTier = z.infer<typeof ModelTier>;
