/**
 * The run's record: its state (what the `runState` query answers), its event stream, and the mirror of both in
 * Temporal visibility (search attributes and memo), so that runs can be listed and shown without a worker.
 */
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  patched,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ChatRunNotice } from '../../contracts/chat';
import { chatRunNoticeSignal, runStateQuery } from '../../contracts/messages';
import { emptyUsage, RunStatus, STAGES, StageName, StageStatus } from '../../contracts/pipeline';
import { MEMO_TASK_CHARS, RunInput, RunMemo, RunState, StageState } from '../../contracts/run';
import { McRobotId, McStage, McStatus, McTrigger } from '../../contracts/search-attributes';
import { now } from '../clock';
import type { RunRecord } from '../dag/port';

/** The run keeps its newest events only, so that its state stays a small payload. */
const MAX_EVENTS = 500;

/** The patch that made runs started from a chat tell their conversation when they move. */
export const CHAT_NOTICE_PATCH = 'mc-chat-notices';

/**
 * The patch that made the visibility mirror skip updates that change nothing but usage, and the announcement of
 * robot and trigger when the starter set them already. Every workflow task that upserts memo or search attributes
 * costs the server a visibility write, the largest part of what a robot run costs it more than a bare run
 * (docs/benchmarks.md, "Profile"); usage rides along with the next change of status, stage, gate or error.
 */
export const VISIBILITY_PATCH = 'mc-visibility-fewer-upserts';

/**
 * The patch that made the visibility mirror follow changes of status, gate and error only (it implies
 * VISIBILITY_PATCH). A change of stage within a status no longer upserts: a robot run upserts in two workflow tasks
 * (it starts running, it ends) instead of one per stage, which was what a run cost the server more than a bare
 * workflow of as many activities (docs/benchmarks.md, "Profile"). Stage, stage statuses and usage still ride along
 * with every upsert; while a run is running, the API answers its current stage from the state it follows live.
 */
export const STATUS_MIRROR_PATCH = 'mc-visibility-status-changes';

/** How much of the run the visibility mirror follows (by the patches the run was started under). */
type MirrorLevel = 'every-publish' | 'all-but-usage' | 'status-changes';

export class RunRecorder implements RunRecord {
  readonly state: RunState;
  /** Set once the run has reached its final status: handlers waiting for the run to act stop waiting. */
  finished = false;
  /** What the chat thread was last told (see notifyChat). */
  private chatDigest = '';
  private chatSeq = 0;
  /** Notices on their way: the run waits for them before it closes (a signal sent as the run completes can be lost). */
  private chatPending: Promise<unknown>[] = [];
  /** Which changes reach the mirror, and (unless every publish does) what it last carried of them. */
  private readonly mirrorLevel: MirrorLevel;
  private mirrored = '';

  /** Registers the `runState` query. */
  constructor(private readonly input: RunInput) {
    this.state = {
      runId: workflowInfo().workflowId,
      task: input.task,
      robot: input.robot,
      trigger: input.trigger,
      status: 'Pending',
      stages: STAGES.map((name): StageState => ({ name, status: 'pending', usage: emptyUsage(), calls: [] })),
      usage: emptyUsage(),
      offline: false,
      createdAt: input.requestedAt ?? now(),
      context: input.context,
      approvals: [],
      // The run's caps, set by its budget (run/budget.ts); absent without one.
      budget: undefined,
      events: [],
    };
    setHandler(runStateQuery, () => this.state);
    this.mirrorLevel = patched(STATUS_MIRROR_PATCH) ? 'status-changes' : patched(VISIBILITY_PATCH) ? 'all-but-usage' : 'every-publish';
  }

  /** Robot and trigger in visibility, also when the starter set no search attributes (a plain `client.workflow.start`). */
  announce(input: RunInput): void {
    if (this.mirrorLevel !== 'every-publish') {
      const started = workflowInfo().typedSearchAttributes;
      if (started.get(McRobotId) === input.robot.id && started.get(McTrigger) === input.trigger) return;
    }
    upsertSearchAttributes([
      { key: McRobotId, value: input.robot.id },
      { key: McTrigger, value: input.trigger },
    ]);
  }

  stage(name: StageName): StageState {
    return this.state.stages[STAGES.indexOf(name)];
  }

  /** The Robot Host conversation is going on (started and not yet confirmed). */
  inHost(): boolean {
    return this.state.host !== undefined && this.state.host.status !== 'confirmed';
  }

  event(type: string, message: string, stage?: StageName): void {
    const events = this.state.events;
    const seq = (events.at(-1)?.seq ?? 0) + 1;
    events.push({ seq, at: now(), type, stage, message });
    if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
  }

  /** Mirror status, stage and a summary of the state into search attributes and memo. */
  publish(): void {
    const state = this.state;
    const memo: RunMemo = {
      task: state.task.slice(0, MEMO_TASK_CHARS),
      robotName: state.robot.name,
      status: state.status,
      currentStage: state.currentStage,
      stageStatus: Object.fromEntries(state.stages.map((s) => [s.name, s.status])) as Record<StageName, StageStatus>,
      usage: state.usage,
      offline: state.offline,
      error: state.error,
      interruptedStage: state.interruptedStage,
      gate: state.gate ? { gate: state.gate.gate, since: state.gate.since, deadline: state.gate.deadline } : undefined,
    };
    const stage = state.currentStage ?? 'none';
    if (this.mirrorLevel !== 'every-publish') {
      // Status and stage are in the memo too: the same memo without what the level leaves out means the same mirror.
      const mirror =
        this.mirrorLevel === 'status-changes'
          ? JSON.stringify({ ...memo, usage: undefined, currentStage: undefined, stageStatus: undefined, offline: undefined })
          : JSON.stringify({ ...memo, usage: undefined });
      if (mirror === this.mirrored) return this.notifyChat();
      this.mirrored = mirror;
    }
    upsertSearchAttributes([
      { key: McStatus, value: state.status },
      { key: McStage, value: stage },
    ]);
    upsertMemo({ run: memo });
    this.notifyChat();
  }

  /**
   * A run started from a chat thread tells the thread's conversation whenever what a person there sees changes —
   * status, stage, gate, a Robot Host turn — as a numbered snapshot (signal), so the conversation posts progress
   * without polling. Runs without `chat` (and histories recorded before the patch) issue no command here. A
   * conversation that is gone changes nothing for the run; the signal is sent even while the run is being cancelled.
   */
  private notifyChat(): void {
    const chat = this.input.chat;
    if (!chat || !patched(CHAT_NOTICE_PATCH)) return;
    const s = this.state;
    const hostText = s.host ? [...s.host.transcript].reverse().find((m) => m.role === 'host')?.text : undefined;
    const notice: Omit<ChatRunNotice, 'seq'> = {
      runId: s.runId,
      status: s.status,
      stage: s.currentStage,
      gate: s.gate ? { key: s.gate.key, gate: s.gate.gate } : undefined,
      host: s.host ? { status: s.host.status, turns: s.host.turns, text: hostText } : undefined,
      error: s.error?.message,
    };
    const digest = JSON.stringify(notice);
    if (digest === this.chatDigest) return;
    this.chatDigest = digest;
    const numbered: ChatRunNotice = { ...notice, seq: ++this.chatSeq };
    const sent = CancellationScope.nonCancellable(() => getExternalWorkflowHandle(chat.conversationId).signal(chatRunNoticeSignal, numbered)).catch(() => undefined);
    this.chatPending.push(sent);
    void sent.then(() => (this.chatPending = this.chatPending.filter((p) => p !== sent)));
  }

  setStatus(status: RunStatus, message: string): void {
    this.state.status = status;
    this.event(`run.${status.toLowerCase()}`, message, this.state.currentStage);
    this.publish();
  }

  /** The run has its final status: let update handlers answer their callers before it closes. */
  async close(): Promise<void> {
    this.finished = true;
    if (!allHandlersFinished()) await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
    if (this.chatPending.length > 0) await CancellationScope.nonCancellable(() => Promise.all(this.chatPending));
  }
}
