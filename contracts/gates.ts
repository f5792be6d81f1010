/**
 * Human control: approval gates and decisions, budgets, and the Robot Host conversation. One schema each, used by
 * the API (request validation), the workflow (update validators, state) and the activities.
 */
import { z } from 'zod';
import { Actor, HttpUrl, Id, IsoTime, MAX_TEXT } from './common';
import { ModelCallRecord, StageName, STAGES, Usage } from './pipeline';

/** Where an approval gate stands: before a stage, or `final` (after Delivery is formatted, before it takes effect). */
export const GATE_POINTS = [...STAGES, 'final'] as const;
export const GatePoint = z.enum(GATE_POINTS);
export type GatePoint = z.infer<typeof GatePoint>;

/** Every gate a run can wait at: the configured points, and `budget` (opened when the next step would overspend). */
export const GATE_NAMES = [...GATE_POINTS, 'budget'] as const;
export const GateName = z.enum(GATE_NAMES);
export type GateName = z.infer<typeof GateName>;

export const TIMEOUT_POLICIES = ['reject', 'approve', 'escalate'] as const;

/** One approval gate (human review). Defaults live in the workflow. */
export const GateSettings = z
  .object({
    at: GatePoint,
    /** Deadline of the decision in seconds (default: none, waits until decided or cancelled). */
    timeoutSeconds: z.number().int().min(1).max(31_536_000).optional(),
    /** What happens at the deadline (default `reject`). */
    onTimeout: z.enum(TIMEOUT_POLICIES).optional(),
    /** With `escalate`: the second deadline after the escalation notice (default: timeoutSeconds); then the gate rejects. */
    escalationTimeoutSeconds: z.number().int().min(1).max(31_536_000).optional(),
  })
  .strict();
export type GateSettings = z.infer<typeof GateSettings>;

/** Who hears about a gate nobody decided in time: the robot's "reports to" contact. */
export const EscalationContact = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    /** http(s) URL that receives a JSON POST (a chat webhook, a pager, an email relay). */
    webhookUrl: HttpUrl,
  })
  .strict();
export type EscalationContact = z.infer<typeof EscalationContact>;

/**
 * Who lets a `command` node (a program run on a desktop) start: `ask` (default) — each one waits for a person's
 * approval (`POST /api/runs/:id/nodes/:nodeId/approval`); `pre-approved` — they run without asking. Only the robot's
 * definition or the caller starting the run sets this, never the task graph (a planner's answer or a supplied graph):
 * text that reaches a model must not be able to switch the approval off.
 */
export const COMMAND_APPROVAL_POLICIES = ['ask', 'pre-approved'] as const;
export const CommandApproval = z.enum(COMMAND_APPROVAL_POLICIES);
export type CommandApproval = z.infer<typeof CommandApproval>;

export const ApprovalSettings = z
  .object({
    gates: z
      .array(GateSettings)
      .max(GATE_POINTS.length)
      .refine((gates) => new Set(gates.map((g) => g.at)).size === gates.length, 'at most one gate per point')
      .default([]),
    /** Whether command nodes wait for a person (`ask`, the default) or are approved in advance (`pre-approved`). */
    commands: CommandApproval.optional(),
    /** How many times a reviewer may send work back with feedback, per gate (default 3). */
    maxRevisions: z.number().int().min(0).max(20).optional(),
    /** Contact notified when a gate with `onTimeout: 'escalate'` reaches its deadline. */
    escalateTo: EscalationContact.optional(),
  })
  .strict();
export type ApprovalSettings = z.infer<typeof ApprovalSettings>;

/** Spending caps of a run. The workflow stops at a budget gate before a call that would exceed them. */
export const BudgetSettings = z
  .object({
    maxTokens: z.number().int().min(1).optional(),
    maxCostUsd: z.number().positive().optional(),
  })
  .strict();
export type BudgetSettings = z.infer<typeof BudgetSettings>;

/** What is left of a budget, handed to a model-calling activity so that it can refuse an overspending call. */
export interface BudgetAllowance {
  remainingTokens?: number;
  remainingCostUsd?: number;
}

/** Failure type of a model call refused by the budget (see activities/models/budget.ts). */
export const BUDGET_EXCEEDED = 'BudgetExceeded';

/** What a refused request needed. */
export interface BudgetNeed {
  tokens: number;
  costUsd: number;
}

/** Details of a BudgetExceeded failure: the calls already billed, the stage's progress, what the refused call needed. */
export interface BudgetExceededDetails {
  calls: ModelCallRecord[];
  checkpoint?: unknown;
  needed: BudgetNeed;
  remaining: BudgetAllowance;
}

export const DECISIONS = ['approve', 'reject', 'revise'] as const;
export const Decision = z.enum(DECISIONS);
export type Decision = z.infer<typeof Decision>;

/** How a decision reached the run. `timeout` is the gate's own policy, never a caller's. */
export const DECISION_CHANNELS = ['api', 'signal', 'timeout', 'ui', 'chat'] as const;
export type DecisionChannel = (typeof DECISION_CHANNELS)[number];
/** The channels a caller may name. */
export const CallerChannel = z.enum(['api', 'signal', 'ui', 'chat']);

/** At the budget gate, `approve` raises the caps by these amounts. */
export const RaiseBy = z
  .object({ tokens: z.number().int().min(1).optional(), costUsd: z.number().positive().optional() })
  .strict()
  .refine((r) => r.tokens !== undefined || r.costUsd !== undefined, 'give tokens or costUsd');

/** The fields of a decision; see DecisionInput. */
export const DecisionFields = z
  .object({
    /** The gate the decision is for; omitted: the gate the run waits at. */
    gate: GateName.optional(),
    decision: Decision,
    /** Required with `revise`: what to change. With `reject`: the reason. */
    feedback: z.string().trim().min(1).max(MAX_TEXT).optional(),
    /** Who decided (free text: a user name, an email, "ops"). */
    by: Actor.optional(),
    channel: CallerChannel.optional(),
    /** Makes a retried decision harmless: the same id twice is applied once. */
    decisionId: Id.optional(),
    raiseBy: RaiseBy.optional(),
  })
  .strict();

const reviseNeedsFeedback = (d: { decision: Decision; feedback?: string }): boolean => d.decision !== 'revise' || d.feedback !== undefined;
const reviseMessage = { message: 'revise needs feedback: what should change', path: ['feedback'] };

/**
 * A decision at a gate, as the `decision` signal and the `decide` update carry it (and, without `channel`, the body
 * of `POST /api/runs/:id/approvals`). The workflow's update validator checks it with this very schema.
 */
export const DecisionInput = DecisionFields.refine(reviseNeedsFeedback, reviseMessage);
export type DecisionInput = z.infer<typeof DecisionFields>;

/** The body of `POST /api/runs/:id/approvals`: a decision; the API sets the channel. */
export const ApprovalBody = DecisionFields.omit({ channel: true }).refine(reviseNeedsFeedback, reviseMessage);
export type ApprovalBody = z.infer<typeof ApprovalBody>;

/** The gate a run is waiting at. */
export const PendingGate = z.object({
  /** Unique per visit (`delivery#2` is the second time the run waits before Delivery). */
  key: z.string(),
  gate: GateName,
  /** The stage a `revise` sends back (the one before the gate); absent when there is nothing to revise. */
  revisable: StageName.optional(),
  /** What is to be approved: the outputs so far (brief, goals, tasks, validation report, formatted delivery). */
  subject: z.record(StageName, z.unknown()),
  since: IsoTime,
  /** When the gate times out (absent: no deadline). */
  deadline: IsoTime.optional(),
  onTimeout: z.enum(TIMEOUT_POLICIES).optional(),
  escalated: z.boolean().optional(),
  /** Revisions used at this gate so far, and the limit. */
  revisions: z.number(),
  maxRevisions: z.number(),
  /** At the budget gate: what was spent, the caps, and what the next step needs. */
  budget: z
    .object({
      spent: Usage,
      caps: BudgetSettings,
      stage: StageName.optional(),
      reason: z.string(),
      needed: z.object({ tokens: z.number(), costUsd: z.number() }),
    })
    .optional(),
});
export type PendingGate = z.infer<typeof PendingGate>;

/** A decision as recorded in the run state: who, when, through which channel, what they said. */
export const ApprovalRecord = z.object({
  gate: GateName,
  key: z.string(),
  decision: Decision,
  by: z.string(),
  channel: z.enum(DECISION_CHANNELS),
  at: IsoTime,
  feedback: z.string().optional(),
  decisionId: z.string().optional(),
  raiseBy: z.object({ tokens: z.number().optional(), costUsd: z.number().optional() }).optional(),
});
export type ApprovalRecord = z.infer<typeof ApprovalRecord>;

/** Robot Host: a clarifying conversation before the pipeline starts (manual runs only). */
export const HostSettings = z
  .object({
    enabled: z.boolean(),
    /** Host turns before the host must settle on a task (default 4). */
    maxTurns: z.number().int().min(1).max(20).optional(),
  })
  .strict();
export type HostSettings = z.infer<typeof HostSettings>;

export const HostMessage = z.object({ role: z.enum(['host', 'person']), text: z.string(), at: IsoTime });
export type HostMessage = z.infer<typeof HostMessage>;

/** The Robot Host conversation of a run, in state. */
export const HostState = z.object({
  /** asking: waits for an answer; confirming: states the task and waits for confirm; confirmed: pipeline started. */
  status: z.enum(['thinking', 'asking', 'confirming', 'confirmed']),
  transcript: z.array(HostMessage),
  confirmedTask: z.string().optional(),
  turns: z.number(),
});
export type HostState = z.infer<typeof HostState>;

/** What the host model answers each turn (the model's structured output). */
export const HostTurn = z.object({
  questions: z.array(z.string().min(1)).max(5).optional(),
  confirmedTask: z.string().min(1).optional(),
  satisfied: z.boolean(),
});
export type HostTurn = z.infer<typeof HostTurn>;

/** A person's answer to the Robot Host (`hostMessage` update, `POST /api/runs/:id/messages`). */
export const HostMessageInput = z
  .object({ text: z.string().trim().min(1, 'must not be empty').max(MAX_TEXT), by: Actor.optional() })
  .strict();
export type HostMessageInput = z.infer<typeof HostMessageInput>;

/** Confirms the task the Robot Host stated (`hostConfirm` update, `POST /api/runs/:id/confirm`). */
export const HostConfirmInput = z.object({ by: Actor.optional() }).strict();
export type HostConfirmInput = z.infer<typeof HostConfirmInput>;
