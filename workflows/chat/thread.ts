/**
 * A chat thread's conversation as chatConversationWorkflow keeps it: its state, the platform I/O (activities), the
 * runs it starts and the notices they send back. What people say and click is in ./commands.ts.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import { ParentClosePolicy, proxyActivities, startChild, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { ChatActivities } from '../../activities/chat';
import {
  chatKeyOf,
  encodeButton,
  type ChatButton,
  type ChatConversationMemo,
  type ChatConversationState,
  type ChatInbound,
  type ChatIntegration,
  type ChatPlatform,
  type ChatRunNotice,
  type ChatRunRecord,
  PLATFORM_CAN_EDIT,
  PLATFORM_HAS_BUTTONS,
} from '../../contracts/chat';
import { isTerminal } from '../../contracts/pipeline';
import type { RunInput } from '../../contracts/run';
import { runStartAttributes } from '../../contracts/search-attributes';
import { robotRunWorkflow } from '../robot-run';

/** Bounds of what the conversation keeps (and carries over continue-as-new). */
const TRANSCRIPT_KEPT = 20;
const TRANSCRIPT_CHARS = 2000;
const RUNS_KEPT = 20;

export class ChatThread {
  readonly chat = proxyActivities<ChatActivities>({
    startToCloseTimeout: '1m',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
  });
  readonly platform: ChatPlatform;
  readonly canEdit: boolean;
  readonly hasButtons: boolean;

  constructor(readonly state: ChatConversationState) {
    this.platform = state.platform;
    this.canEdit = PLATFORM_CAN_EDIT[this.platform];
    this.hasButtons = PLATFORM_HAS_BUTTONS[this.platform];
  }

  integration(): ChatIntegration {
    return this.state.integration as ChatIntegration;
  }

  send(text: string, opts: { buttons?: ChatButton[]; edit?: string } = {}) {
    return this.chat.chatSend({ integration: this.integration(), chat: this.state.chat, text, ...opts });
  }

  async say(text: string): Promise<void> {
    await this.send(text);
    this.remember('robot', text);
  }

  remember(role: 'person' | 'robot', text: string, by?: string): void {
    const transcript = this.state.transcript;
    transcript.push({ role, by, text: text.slice(0, TRANSCRIPT_CHARS), at: new Date().toISOString() });
    if (transcript.length > TRANSCRIPT_KEPT) transcript.splice(0, transcript.length - TRANSCRIPT_KEPT);
  }

  active(): ChatRunRecord | undefined {
    return this.state.runs.find((r) => r.n === this.state.active && !r.finished);
  }

  isApprover(userId: string): boolean {
    return (this.integration().approvers ?? []).includes(userId);
  }

  publishMemo(): void {
    const memo: ChatConversationMemo = {
      platform: this.platform,
      chatKey: chatKeyOf(this.state.chat),
      runs: this.state.counts.runs,
      lastEvent: this.state.lastEvent,
      lastError: this.state.lastError,
    };
    upsertMemo({ chat: memo });
  }

  async startRun(event: ChatInbound, text: string): Promise<void> {
    if (!event.run) return;
    const base = event.run.input as RunInput;
    const runInput: RunInput = {
      ...base,
      task: text,
      context: {
        ...(base.context ?? {}),
        chat: { platform: this.platform, chatKey: chatKeyOf(this.state.chat), from: event.user, transcript: this.state.transcript.slice(0, -1) },
      },
      chat: { conversationId: workflowInfo().workflowId },
    };
    try {
      await startChild(robotRunWorkflow, {
        workflowId: event.run.runId,
        args: [runInput],
        // The run outlives this workflow's continue-as-new; it reports back by signal, not as a child's result.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        ...runStartAttributes(runInput),
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        this.state.counts.duplicates++;
        return;
      }
      throw err;
    }
    const record: ChatRunRecord = { n: this.state.nextRun++, runId: event.run.runId, by: event.user.id, status: 'Pending', seq: 0 };
    this.state.runs.push(record);
    if (this.state.runs.length > RUNS_KEPT) this.state.runs.splice(0, this.state.runs.length - RUNS_KEPT);
    this.state.active = record.n;
    this.state.counts.runs++;
    const sent = await this.send(this.statusLine(record));
    record.statusMessageId = sent.messageIds[0];
  }

  statusLine(r: ChatRunRecord): string {
    const icon = r.status === 'Done' ? '✅' : r.status === 'Failed' ? '❌' : r.status === 'Cancelled' ? '⏹' : r.status === 'Review' ? '⏸' : '⏳';
    const where = r.status === 'Running' && r.stage ? ` — ${r.stage}` : r.status === 'Review' && r.gateKey ? ` — waiting at the ${r.gateKey.split('#')[0]} gate` : '';
    return `${icon} Run ${r.n}: ${r.status}${where}\n${r.runId}`;
  }

  async onNotice(notice: ChatRunNotice): Promise<void> {
    const r = this.state.runs.find((x) => x.runId === notice.runId);
    if (!r || notice.seq <= r.seq) return;
    r.seq = notice.seq;
    const before = this.statusLine(r);
    const wasFinished = r.finished;
    r.status = notice.status;
    r.stage = notice.stage;

    const host = notice.host;
    if (host && (host.status === 'asking' || host.status === 'confirming') && host.turns > (r.hostTurns ?? 0)) {
      r.hostTurns = host.turns;
      r.hostStatus = host.status;
      const text = host.text ?? '';
      if (host.status === 'confirming') {
        const sent = await this.send(this.hasButtons ? text : `${text}\nReply /confirm to start, or say what to change.`, {
          buttons: this.hasButtons ? [{ label: 'Confirm', value: encodeButton(r.n, 'confirm'), style: 'primary' }] : undefined,
        });
        r.confirmMessageId = sent.messageIds[0];
      } else {
        await this.send(text);
      }
      this.remember('robot', text);
    } else if (host) {
      r.hostStatus = host.status;
    }

    if (notice.gate && notice.gate.key !== r.gateKey) {
      r.gateKey = notice.gate.key;
      const sent = await this.chat.chatReport({ integration: this.integration(), chat: this.state.chat, runId: r.runId, n: r.n, what: 'gate', gateKey: notice.gate.key });
      r.gateMessageId = sent.messageIds[0];
    } else if (!notice.gate) {
      r.gateKey = undefined;
    }

    const finished = isTerminal(notice.status);
    const now = this.statusLine(r);
    if (now !== before && r.statusMessageId && this.canEdit) {
      await this.send(now, { edit: r.statusMessageId });
    }
    if (finished && !wasFinished) {
      r.finished = true;
      if (this.state.active === r.n) this.state.active = undefined;
      if (notice.status === 'Done') {
        const sent = await this.chat.chatReport({ integration: this.integration(), chat: this.state.chat, runId: r.runId, n: r.n, what: 'result' });
        this.remember('robot', sent.excerpt ?? '(result)');
      } else {
        await this.say(`${notice.status === 'Cancelled' ? '⏹ Run cancelled' : '❌ Run failed'}${notice.error ? `: ${notice.error}` : ''} (${r.runId})`);
      }
    }
  }
}
