/**
 * The robot definition: one zod schema that is the single source of truth for the API (create, replace, patch),
 * for validation (400s name the field), for the OpenAPI document and for what is stored in Temporal. Types are
 * inferred from it. Gates, budgets and the host use the very schemas runs use (./gates.ts).
 *
 * Cron expressions and time zones are checked here, up front, so a bad one is a 400 naming `schedule.cron.0` or
 * `schedule.timezone` rather than a server error from Temporal later.
 */
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { ChatIntegrations } from './chat';
import { atLeast, Duration, IsoTime, RobotId } from './common';
import { DeliveryDestination, DeliveryFailurePolicy } from './delivery';
import { ApprovalSettings, BudgetSettings, HostSettings } from './gates';
import { STAGES } from './pipeline';
import { StageAgent } from './run';

export { RobotId, Duration, DeliveryDestination };

/** True for a time zone name the runtime knows (IANA names and UTC). */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const CRON_FIELDS = ['minute', 'hour', 'day of month', 'month', 'day of week'];
const CRON_MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

const cronParseError = (expr: string): string | undefined => {
  try {
    CronExpressionParser.parse(expr, { tz: 'UTC' });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
};

/**
 * Why a 5-field cron expression (or @macro) is invalid, or undefined when it is valid. Parsing is cron-parser's;
 * each field is also parsed on its own (the others `*`) so the message can name the field that is wrong.
 */
export function cronError(expr: string): string | undefined {
  const e = expr.trim();
  if (e.startsWith('@')) return CRON_MACROS.includes(e.toLowerCase()) ? undefined : `unknown macro ${e}`;
  const fields = e.split(/\s+/);
  // cron-parser also takes 6 fields (seconds first) and fills missing ones; Temporal's schedules take the 5.
  if (fields.length !== 5) return `expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  for (let i = 0; i < 5; i++) {
    const probe = ['*', '*', '*', '*', '*'];
    probe[i] = fields[i];
    const err = cronParseError(probe.join(' '));
    if (err) return `${CRON_FIELDS[i]}: ${err}`;
  }
  return cronParseError(e);
}

export const CronExpression = z.string().superRefine((v, ctx) => {
  const err = cronError(v);
  if (err) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `invalid cron expression: ${err}` });
});

export const TimeZone = z.string().refine(isValidTimeZone, 'unknown time zone (use an IANA name such as Europe/Berlin or UTC)');

const Ranged = (min: number, max: number) => z.union([z.number().int().min(min).max(max), z.array(z.number().int().min(min).max(max)).min(1).max(60)]);
export const DAYS = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'] as const;
export const MONTHS = [
  'JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER',
] as const;

/** A calendar entry: each field a number or a list of numbers; omitted fields mean "every" (seconds: 0). */
export const CalendarEntry = z
  .object({
    second: Ranged(0, 59).optional(),
    minute: Ranged(0, 59).optional(),
    hour: Ranged(0, 23).optional(),
    dayOfMonth: Ranged(1, 31).optional(),
    month: z.union([z.enum(MONTHS), z.array(z.enum(MONTHS)).min(1)]).optional(),
    dayOfWeek: z.union([z.enum(DAYS), z.array(z.enum(DAYS)).min(1)]).optional(),
    comment: z.string().max(200).optional(),
  })
  .strict();
export type CalendarEntry = z.infer<typeof CalendarEntry>;

export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'] as const;

/** When a robot runs on its own. Becomes a Temporal Schedule spec and policies (see api/robots/store.ts). */
export const RobotSchedule = z
  .object({
    /** Any interval: `2s`, `15m`, `6h`. */
    every: Duration.refine(atLeast(1000), 'must be at least 1s').optional(),
    /** Shorthands for `every: 1h | 1d | 7d`. */
    preset: z.enum(['hourly', 'daily', 'weekly']).optional(),
    /** Standard 5-field cron expressions (or @daily, @hourly, ...), evaluated in `timezone`. */
    cron: z.array(CronExpression).min(1).max(20).optional(),
    /** Calendar specs, evaluated in `timezone`. */
    calendar: z.array(CalendarEntry).min(1).max(20).optional(),
    /** IANA time zone of cron and calendar specs (default UTC). */
    timezone: TimeZone.optional(),
    startAt: z.string().datetime({ offset: true }).optional(),
    endAt: z.string().datetime({ offset: true }).optional(),
    /** Random delay added to each action, to spread load. */
    jitter: Duration.optional(),
    /** What to do when a run is due while the previous scheduled run is still going. Default skip. */
    overlap: z.enum(OVERLAP_POLICIES).default('skip'),
    /** How late a missed action (e.g. while Temporal was down) may still run. Default 1m, at least 10s. */
    catchupWindow: Duration.refine(atLeast(10_000), 'must be at least 10s').default('1m'),
    /** Pause the schedule when a scheduled run fails. */
    pauseOnFailure: z.boolean().default(false),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (!s.every && !s.preset && !s.cron && !s.calendar) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'needs one of every, preset, cron or calendar', path: [] });
    }
    if (s.startAt && s.endAt && Date.parse(s.startAt) >= Date.parse(s.endAt)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be after startAt', path: ['endAt'] });
    }
  });
export type RobotSchedule = z.infer<typeof RobotSchedule>;

/** Continuous mode: a long-lived loop that runs the robot again after each cycle, like a background monitor. */
export const RobotContinuous = z
  .object({
    /** Pause between the end of one cycle and the start of the next: at least 1s, so a loop cannot spin. */
    pause: Duration.refine(atLeast(1000), 'must be at least 1s').default('1m'),
  })
  .strict();

/** A model profile the robot may consult. */
export const Expert = z
  .object({
    name: z.string().trim().min(1).max(100),
    description: z.string().max(2000).optional(),
    provider: z.string().max(50).optional(),
    model: z.string().max(200).optional(),
    temperature: z.number().min(0).max(2).optional(),
  })
  .strict();

/** Per-stage override: model choice, prompt additions, or a custom agent for the stage. */
export const StageOverride = z
  .object({
    provider: z.string().max(50).optional(),
    model: z.string().max(200).optional(),
    temperature: z.number().min(0).max(2).optional(),
    promptAddition: z.string().max(4000).optional(),
    agent: StageAgent.optional(),
  })
  .strict();

const StageOverrides = z.object(Object.fromEntries(STAGES.map((s) => [s, StageOverride.optional()])) as Record<(typeof STAGES)[number], z.ZodOptional<typeof StageOverride>>).strict();

/** Simple JSON-path equality: `{ path: "$.action", equals: "opened" }`. All filters must match. */
export const PayloadFilter = z
  .object({
    path: z.string().regex(/^\$(\.[A-Za-z0-9_-]+|\[\d+\])*$/, 'must be a simple JSON path such as $.action or $.pull_request.state or $.items[0].id'),
    equals: z.union([z.string(), z.number(), z.boolean(), z.null()]),
  })
  .strict();
export type PayloadFilter = z.infer<typeof PayloadFilter>;

export const WebhookSettings = z
  .object({
    enabled: z.boolean().default(true),
    filters: z.array(PayloadFilter).max(20).default([]),
  })
  .strict();

/** Everything a user configures, without the id (PUT body), before the cross-field checks. */
export const RobotFieldsObject = z
  .object({
    // Basic
    name: z.string().trim().min(1).max(100),
    workspace: z.string().trim().min(1).max(100).default('default'),
    workMode: z.enum(['autonomous', 'on_demand']).default('on_demand'),
    /** Contact used by escalations and delivery. */
    reportsTo: z.string().trim().min(1).max(200).optional(),
    // Identity
    role: z.string().trim().min(1).max(4000),
    experts: z.array(Expert).max(20).default([]),
    tools: z.array(z.string().regex(/^[a-z0-9_.-]{1,64}$/, 'must be a tool name (a-z 0-9 _ . -)')).max(50).default([]),
    // Stages
    stages: StageOverrides.default({}),
    // Control
    /** Gates as in runs; escalations go to `reportsTo` when it is an http(s) URL. */
    approvals: ApprovalSettings.omit({ escalateTo: true }).optional(),
    budget: BudgetSettings.optional(),
    host: HostSettings.optional(),
    /** Where each run's result goes once it is through the `final` gate (contracts/delivery.ts). */
    delivery: z.array(DeliveryDestination).max(20).default([]),
    /** A destination that fails for good: `warn` (the run is Done with a warning; the default) or `fail` (Failed). */
    onDeliveryFailure: DeliveryFailurePolicy.optional(),
    /** Standing task used by scheduled, continuous and webhook runs. */
    duty: z.string().trim().min(1).max(20_000).optional(),
    /** Most runs of this robot at once; extra runs wait as Pending. Unlimited when absent. */
    concurrencyLimit: z.number().int().min(1).max(1000).optional(),
    // When it runs
    schedule: RobotSchedule.optional(),
    continuous: RobotContinuous.optional(),
    webhook: WebhookSettings.optional(),
    // Chat
    /**
     * Chat platforms people talk to the robot from (contracts/chat.ts): one per platform, with credential names only.
     * Connect one with PUT /api/robots/:id/integrations/:platform (which stores the secrets it is given).
     */
    integrations: ChatIntegrations.optional(),
  })
  .strict();

/** Everything a user configures, without the id (PUT body). */
export const RobotFields = RobotFieldsObject.superRefine((r, ctx) => {
    if (r.schedule && r.continuous) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['continuous'], message: 'a robot runs either on a schedule or continuously, not both' });
    }
  });
export type RobotFields = z.infer<typeof RobotFields>;
export type RobotFieldsInput = z.input<typeof RobotFields>;

/** What is stored in Temporal: the fields plus id, version and times. */
export const StoredRobot = RobotFieldsObject.extend({
  id: RobotId,
  /** 1 at creation, +1 on every edit. Each run records the version it started with. */
  version: z.number().int().min(1),
  createdAt: IsoTime,
  updatedAt: IsoTime,
  /**
   * Generation of the webhook secret. The secret itself is never stored: it is derived from MC_WEBHOOK_KEY and this
   * id (see api/robots/webhook-signature.ts), so rotating means a new id.
   */
  webhookKeyId: z.string().optional(),
});
export type StoredRobot = z.infer<typeof StoredRobot>;
