/**
 * Every message our workflows accept — queries, signals, updates — defined once. The workflows register handlers
 * for these very objects and the clients (API, activities, tests) send them, so a name or a payload shape cannot
 * drift between the two sides. Also the ids and inputs of the helper workflows (semaphore, continuous loop).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ChatConversationState, ChatInbound, ChatIntegration, ChatRunNotice } from './chat';
import type { NodeControlResult, NodeDecision } from './dag';
import type { DecisionInput, HostConfirmInput, HostMessageInput } from './gates';
import type { RunStatus } from './pipeline';
import type { RunInput, RunState } from './run';

// ---- robotRunWorkflow -----------------------------------------------------------------------------------------

/** Full run state: stages, outputs, tokens, cost, gate, approvals, host transcript, events. */
export const runStateQuery = defineQuery<RunState>('runState');

/**
 * A decision at the gate the run waits at, fire-and-forget: what ops send from the Temporal Web UI or
 * `temporal workflow signal --name decision`. A stale or malformed signal changes nothing (an event says why).
 */
export const decisionSignal = defineSignal<[DecisionInput]>('decision');

/**
 * The same decision as an update (what the API uses): the validator rejects a stale decision (`StaleDecision`: no
 * gate, another gate, revision limit) or a malformed one (`InvalidDecision`) before anything changes; an accepted
 * one answers with the state after the run acted on it. The same `decisionId` twice is applied once.
 */
export const decideUpdate = defineUpdate<RunState, [DecisionInput]>('decide');

/** A person's answer to the Robot Host; answers with the state once the host has replied. */
export const hostMessageUpdate = defineUpdate<RunState, [HostMessageInput]>('hostMessage');

/** Confirms the task the Robot Host stated; answers with the state once the pipeline has started. */
export const hostConfirmUpdate = defineUpdate<RunState, [HostConfirmInput]>('hostConfirm');

/** Cancel one node: running, pending or waiting. Its dependants are skipped; the rest of the graph goes on. */
export const cancelNodeUpdate = defineUpdate<NodeControlResult, [{ nodeId: string }]>('cancelNode');
/** Run a failed or cancelled node again (its skipped dependants become pending again). */
export const retryNodeUpdate = defineUpdate<NodeControlResult, [{ nodeId: string }]>('retryNode');
/** Decide on a node waiting for approval (command nodes). Rejecting fails the node. */
export const approveNodeUpdate = defineUpdate<NodeControlResult, [{ nodeId: string } & NodeDecision]>('approveNode');

/** Failure types of refused updates: the API answers 400 for the first, 409 for the second. */
export const INVALID_DECISION = 'InvalidDecision';
export const STALE_DECISION = 'StaleDecision';

// ---- robotSlotsWorkflow: a robot's concurrency semaphore --------------------------------------------------------

export interface SlotRequest {
  /** Workflow id of the run asking. */
  runId: string;
  /** The robot's limit as the run knows it (the newest request's limit wins). */
  limit: number;
}

export interface RobotSlotsInput {
  robotId: string;
  checkIntervalSeconds?: number;
  idleSeconds?: number;
  /** Carried over continue-as-new. */
  holders?: string[];
  waiting?: SlotRequest[];
  limit?: number;
}

export interface RobotSlotsState {
  robotId: string;
  limit: number;
  holders: string[];
  waiting: string[];
}

export const acquireSlotSignal = defineSignal<[SlotRequest]>('acquireSlot');
export const releaseSlotSignal = defineSignal<[{ runId: string }]>('releaseSlot');
/** Sent by the semaphore to the run it grants a slot to. */
export const slotGrantedSignal = defineSignal('slotGranted');
export const robotSlotsQuery = defineQuery<RobotSlotsState>('robotSlots');

/** Workflow id of a robot's semaphore. */
export const robotSlotsWorkflowId = (robotId: string) => `robot-slots-${robotId}`;

// ---- robotContinuousWorkflow: continuous mode -----------------------------------------------------------------

export interface ContinuousInput {
  /** What every cycle runs (trigger is set to `continuous`). */
  run: RunInput;
  /** Pause between cycles in milliseconds. */
  pauseMs: number;
  /** Continue-as-new once the history has this many events (default 1000). */
  maxHistoryEvents?: number;
  /** Carried over continue-as-new. */
  cycles?: number;
  failures?: number;
  generation?: number;
  lastRunId?: string;
  lastStatus?: RunStatus;
}

export interface ContinuousState {
  robotId: string;
  robotVersion: number;
  cycles: number;
  failures: number;
  /** How many times this loop has continued-as-new. */
  generation: number;
  phase: 'running' | 'pausing';
  currentRunId?: string;
  lastRunId?: string;
  lastStatus?: RunStatus;
  pauseMs: number;
}

export const continuousStateQuery = defineQuery<ContinuousState>('continuousState');
/** New definition (from an edit of the robot); applies from the next cycle. */
export const continuousUpdateSignal = defineSignal<[{ run: RunInput; pauseMs: number }]>('continuousUpdate');

export const continuousWorkflowId = (robotId: string) => `robot-continuous-${robotId}`;

// ---- chatConversationWorkflow: one chat thread (contracts/chat.ts) --------------------------------------------

/** An inbound event of the thread, verified and normalised by the API (signal-with-start: the API needs no worker). */
export const chatInboundSignal = defineSignal<[ChatInbound]>('chatInbound');
/** A run of the thread moved (sent by the run itself). */
export const chatRunNoticeSignal = defineSignal<[ChatRunNotice]>('chatRunNotice');
/** The conversation: its runs, recent messages, counters, last event and error. */
export const chatConversationQuery = defineQuery<ChatConversationState>('chatConversation');

// ---- chatIntegrationWorkflow: check or set up an integration on a worker ------------------------------------------

export interface ChatIntegrationTask {
  op: 'check' | 'connect' | 'disconnect';
  robotId: string;
  integration: ChatIntegration;
  /** The absolute inbound URL (Telegram's setWebhook needs it). */
  inboundUrl?: string;
}

export interface ChatIntegrationTaskResult {
  ok: boolean;
  /** What the platform said (the bot's name, what was set up), or why it failed; never a secret. */
  detail: string;
}

// ---- sessionRevocationsWorkflow: page sessions ended before their expiry ---------------------------------------

/** A page session ended by its owner (logout), kept until the session would have expired anyway. */
export interface SessionRevocation {
  /** The session id (from the cookie; not a secret on its own: the cookie's signature is). */
  sid: string;
  /** Epoch ms when the session expires; after that the revocation is no longer needed. */
  until: number;
}

export interface SessionRevocationsInput {
  /** Carried over continue-as-new: the revocations not yet expired. */
  revoked: SessionRevocation[];
  /** Continue-as-new once the history has this many events (default 2000; carried over). */
  maxHistoryEvents?: number;
}

/** Revoke one session; sent with signal-with-start by whichever API replica signs the session out. */
export const revokeSessionSignal = defineSignal<[SessionRevocation]>('revokeSession');
/** The revocations in force (for operators; the API replicas read the workflow's history, which needs no worker). */
export const revokedSessionsQuery = defineQuery<SessionRevocation[]>('revokedSessions');

/** The one entity workflow per namespace that holds the revocations. */
export const SESSION_REVOCATIONS_WORKFLOW_ID = 'mc-session-revocations';
