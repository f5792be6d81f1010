/**
 * chatConversationWorkflow: one chat thread (a Telegram chat, a Slack thread or DM, a Discord channel, a Lark chat, a
 * DingTalk conversation) talking to one robot. An entity workflow: the API signals-with-start it for every verified
 * inbound event (so the API answers the platform at once and needs no worker), runs of the thread signal it whenever
 * they move, and it continues-as-new carrying its state, so a conversation survives restarts of every process and
 * the next message continues it.
 *
 * Everything is handled in arrival order, one item at a time:
 * - a platform event id already seen changes nothing (Slack retries, Telegram re-sends, a replayed request);
 * - a message starts a run of the robot (a child workflow whose id comes from the event id, so Temporal refuses a
 *   second start too) unless the thread has a run going: then it answers the Robot Host, or says the robot is busy;
 * - `/cancel` cancels the thread's run (its starter or an approver); `/approve`, `/reject`, `/revise` and the gate
 *   buttons decide through the run's `decide` update (approvers only), whose validator refuses a stale or second
 *   decision — that refusal is what the person is told;
 * - a run's notice edits its status message (one per run, where the platform can edit), posts the host's questions,
 *   the gate with its buttons, and the result.
 * All platform I/O is in activities (activities/chat/); this file only decides.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { ChatActivities } from '../activities/chat';
import {
  chatActor,
  chatKeyOf,
  encodeButton,
  type ChatButton,
  type ChatConversationInput,
  type ChatConversationMemo,
  type ChatConversationState,
  type ChatDecision,
  type ChatInbound,
  type ChatIntegration,
  type ChatRunNotice,
  type ChatRunRecord,
  PLATFORM_CAN_EDIT,
  PLATFORM_HAS_BUTTONS,
} from '../contracts/chat';
import { chatConversationQuery, chatInboundSignal, chatRunNoticeSignal } from '../contracts/messages';
import { isTerminal } from '../contracts/pipeline';
import type { RunInput } from '../contracts/run';
import { runStartAttributes } from '../contracts/search-attributes';
import { robotRunWorkflow } from './robot-run';

/** Bounds of what the conversation keeps (and carries over continue-as-new). */
const SEEN_KEPT = 500;
const TRANSCRIPT_KEPT = 20;
const TRANSCRIPT_CHARS = 2000;
const RUNS_KEPT = 20;
const DEFAULT_MAX_HISTORY = 2000;

type Item = { kind: 'event'; event: ChatInbound } | { kind: 'notice'; notice: ChatRunNotice };

const COMMAND = /^\/([a-z]+)(?:@\S+)?(?:\s+([\s\S]*))?$/i;
const CONFIRM_WORDS = /^(yes|y|ok|okay|confirm|confirmed|go|go ahead|start)[.!]?$/i;

export async function chatConversationWorkflow(input: ChatConversationInput): Promise<void> {
  const state: ChatConversationState = input.state ?? {
    robotId: input.robotId,
    platform: input.platform,
    chat: input.chat,
    transcript: [],
    runs: [],
    nextRun: 1,
    seen: [],
    generation: 0,
    counts: { events: 0, duplicates: 0, runs: 0, errors: 0 },
  };
  const inbox: Item[] = [];
  setHandler(chatInboundSignal, (event) => void inbox.push({ kind: 'event', event }));
  setHandler(chatRunNoticeSignal, (notice) => void inbox.push({ kind: 'notice', notice }));
  setHandler(chatConversationQuery, () => state);

  const chat = proxyActivities<ChatActivities>({
    startToCloseTimeout: '1m',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
  });
  const platform = state.platform;
  const canEdit = PLATFORM_CAN_EDIT[platform];
  const hasButtons = PLATFORM_HAS_BUTTONS[platform];

  const integration = (): ChatIntegration => state.integration as ChatIntegration;
  const send = (text: string, opts: { buttons?: ChatButton[]; edit?: string } = {}) =>
    chat.chatSend({ integration: integration(), chat: state.chat, text, ...opts });
  const say = async (text: string) => {
    await send(text);
    remember('robot', text);
  };
  const remember = (role: 'person' | 'robot', text: string, by?: string) => {
    state.transcript.push({ role, by, text: text.slice(0, TRANSCRIPT_CHARS), at: new Date().toISOString() });
    if (state.transcript.length > TRANSCRIPT_KEPT) state.transcript.splice(0, state.transcript.length - TRANSCRIPT_KEPT);
  };
  const active = (): ChatRunRecord | undefined => state.runs.find((r) => r.n === state.active && !r.finished);
  const isApprover = (userId: string) => (integration().approvers ?? []).includes(userId);

  function publishMemo(): void {
    const memo: ChatConversationMemo = {
      platform,
      chatKey: chatKeyOf(state.chat),
      runs: state.counts.runs,
      lastEvent: state.lastEvent,
      lastError: state.lastError,
    };
    upsertMemo({ chat: memo });
  }

  // ---- runs: starting one, and following it ----------------------------------------------------------------

  async function startRun(event: ChatInbound, text: string): Promise<void> {
    if (!event.run) return;
    const base = event.run.input as RunInput;
    const runInput: RunInput = {
      ...base,
      task: text,
      context: {
        ...(base.context ?? {}),
        chat: { platform, chatKey: chatKeyOf(state.chat), from: event.user, transcript: state.transcript.slice(0, -1) },
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
        state.counts.duplicates++;
        return;
      }
      throw err;
    }
    const record: ChatRunRecord = { n: state.nextRun++, runId: event.run.runId, by: event.user.id, status: 'Pending', seq: 0 };
    state.runs.push(record);
    if (state.runs.length > RUNS_KEPT) state.runs.splice(0, state.runs.length - RUNS_KEPT);
    state.active = record.n;
    state.counts.runs++;
    const sent = await send(statusLine(record));
    record.statusMessageId = sent.messageIds[0];
  }

  function statusLine(r: ChatRunRecord): string {
    const icon = r.status === 'Done' ? '✅' : r.status === 'Failed' ? '❌' : r.status === 'Cancelled' ? '⏹' : r.status === 'Review' ? '⏸' : '⏳';
    const where = r.status === 'Running' && r.stage ? ` — ${r.stage}` : r.status === 'Review' && r.gateKey ? ` — waiting at the ${r.gateKey.split('#')[0]} gate` : '';
    return `${icon} Run ${r.n}: ${r.status}${where}\n${r.runId}`;
  }

  async function onNotice(notice: ChatRunNotice): Promise<void> {
    const r = state.runs.find((x) => x.runId === notice.runId);
    if (!r || notice.seq <= r.seq) return;
    r.seq = notice.seq;
    const before = statusLine(r);
    const wasFinished = r.finished;
    r.status = notice.status;
    r.stage = notice.stage;

    const host = notice.host;
    if (host && (host.status === 'asking' || host.status === 'confirming') && host.turns > (r.hostTurns ?? 0)) {
      r.hostTurns = host.turns;
      r.hostStatus = host.status;
      const text = host.text ?? '';
      if (host.status === 'confirming') {
        const sent = await send(hasButtons ? text : `${text}\nReply /confirm to start, or say what to change.`, {
          buttons: hasButtons ? [{ label: 'Confirm', value: encodeButton(r.n, 'confirm'), style: 'primary' }] : undefined,
        });
        r.confirmMessageId = sent.messageIds[0];
      } else {
        await send(text);
      }
      remember('robot', text);
    } else if (host) {
      r.hostStatus = host.status;
    }

    if (notice.gate && notice.gate.key !== r.gateKey) {
      r.gateKey = notice.gate.key;
      const sent = await chat.chatReport({ integration: integration(), chat: state.chat, runId: r.runId, n: r.n, what: 'gate', gateKey: notice.gate.key });
      r.gateMessageId = sent.messageIds[0];
    } else if (!notice.gate) {
      r.gateKey = undefined;
    }

    const finished = isTerminal(notice.status);
    const now = statusLine(r);
    if (now !== before && r.statusMessageId && canEdit) {
      await send(now, { edit: r.statusMessageId });
    }
    if (finished && !wasFinished) {
      r.finished = true;
      if (state.active === r.n) state.active = undefined;
      if (notice.status === 'Done') {
        const sent = await chat.chatReport({ integration: integration(), chat: state.chat, runId: r.runId, n: r.n, what: 'result' });
        remember('robot', sent.excerpt ?? '(result)');
      } else {
        await say(`${notice.status === 'Cancelled' ? '⏹ Run cancelled' : '❌ Run failed'}${notice.error ? `: ${notice.error}` : ''} (${r.runId})`);
      }
    }
  }

  // ---- what people say and click ---------------------------------------------------------------------------

  async function decide(event: ChatInbound, r: ChatRunRecord, decision: Exclude<ChatDecision, 'confirm'>, feedback: string | undefined, clickId: string): Promise<string> {
    const gateKey = r.gateKey;
    if (!gateKey) return `Already decided: run ${r.n} is not waiting at a gate (${r.status}).`;
    const res = await chat.chatRunControl({
      runId: r.runId,
      op: 'decide',
      decision,
      gate: gateKey.split('#')[0],
      feedback,
      decisionId: clickId,
      by: chatActor(platform, event.user),
    });
    if (res.ok && r.gateMessageId && canEdit) {
      const verb = decision === 'approve' ? '✅ Approved' : decision === 'reject' ? '❌ Rejected' : '↩ Sent back';
      await send(`${verb} by ${event.user.name ?? event.user.id} at the ${gateKey.split('#')[0]} gate (run ${r.n}).`, { edit: r.gateMessageId });
    }
    return res.ok ? `${decision === 'approve' ? 'Approved' : decision === 'reject' ? 'Rejected' : 'Sent back with your feedback'}.` : res.message;
  }

  async function answer(event: ChatInbound, text: string): Promise<void> {
    // A click is answered privately where the platform can (a toast, an ephemeral message); else in the thread.
    if (event.action && event.ack) await chat.chatAck({ integration: integration(), chat: state.chat, ack: event.ack, text });
    else await say(event.action ? `${event.user.name ?? event.user.id}: ${text}` : text);
  }

  async function onAction(event: ChatInbound): Promise<void> {
    const a = event.action!;
    const r = state.runs.find((x) => x.n === a.n);
    if (!r) return answer(event, 'This button belongs to a run this chat no longer follows.');
    if (a.decision === 'confirm') return confirm(event, r, a.clickId);
    if (!isApprover(event.user.id)) return answer(event, 'Only approvers of this robot can decide here; nothing was changed.');
    if (a.gateKey !== r.gateKey || r.finished) {
      return answer(event, `Already decided: the ${a.gateKey?.split('#')[0] ?? ''} gate of run ${r.n} is no longer open (${r.status}).`);
    }
    if (a.decision === 'revise') {
      state.awaitingFeedback = { userId: event.user.id, n: r.n, gateKey: r.gateKey as string };
      await answer(event, 'Reply in this chat with what should change; your next message is the feedback.');
      return;
    }
    await answer(event, await decide(event, r, a.decision, undefined, a.clickId));
  }

  async function confirm(event: ChatInbound, r: ChatRunRecord, clickId: string): Promise<void> {
    if (event.user.id !== r.by && !isApprover(event.user.id)) return answer(event, 'Only the person who asked (or an approver) can confirm.');
    if (r.hostStatus !== 'confirming' || r.finished) return answer(event, 'Already confirmed: there is no task waiting for confirmation.');
    const res = await chat.chatRunControl({ runId: r.runId, op: 'hostConfirm', by: chatActor(platform, event.user), decisionId: clickId });
    if (res.ok && r.confirmMessageId && canEdit) await send(`Confirmed by ${event.user.name ?? event.user.id}: starting.`, { edit: r.confirmMessageId });
    await answer(event, res.ok ? 'Confirmed: the pipeline starts.' : res.message);
  }

  async function onMessage(event: ChatInbound): Promise<void> {
    const text = (event.text ?? '').trim();
    if (!text) return;
    const users = integration().users;
    if (users && !users.includes(event.user.id)) return say('Sorry, you are not on this robot\'s list of users.');
    remember('person', text, event.user.name ?? event.user.id);
    const r = active();
    const cmd = COMMAND.exec(text);
    const name = cmd?.[1].toLowerCase();
    const rest = cmd?.[2]?.trim() || undefined;

    const waiting = state.awaitingFeedback;
    if (waiting && waiting.userId === event.user.id && !cmd) {
      state.awaitingFeedback = undefined;
      const wr = state.runs.find((x) => x.n === waiting.n);
      if (wr && wr.gateKey === waiting.gateKey) return say(await decide(event, wr, 'revise', text, `feedback-${event.eventId}`));
    }
    if (name === 'help' || name === 'start') {
      return say('Send a task to start a run. While it runs: /cancel stops it; at a gate approvers use the buttons (or /approve, /reject <reason>, /revise <feedback>).');
    }
    if (name === 'cancel') {
      if (!r) return say('Nothing to cancel: no run is going on in this chat.');
      if (event.user.id !== r.by && !isApprover(event.user.id)) return say('Only the person who started the run (or an approver) can cancel it.');
      await getExternalWorkflowHandle(r.runId).cancel().catch(() => undefined);
      return say(`Cancelling run ${r.n} (${r.runId}).`);
    }
    if (name === 'approve' || name === 'reject' || name === 'revise') {
      if (!r || !r.gateKey) return say('Already decided: no run in this chat is waiting at a gate.');
      if (!isApprover(event.user.id)) return say('Only approvers of this robot can decide here; nothing was changed.');
      if (name === 'revise' && !rest) return say('Say what should change: /revise <feedback>');
      return say(await decide(event, r, name, rest, `cmd-${event.eventId}`));
    }
    if (r && (name === 'confirm' || (r.hostStatus === 'confirming' && CONFIRM_WORDS.test(text)))) return confirm(event, r, `cmd-${event.eventId}`);
    if (r && (r.hostStatus === 'asking' || r.hostStatus === 'confirming')) {
      const res = await chat.chatRunControl({ runId: r.runId, op: 'hostMessage', text, by: chatActor(platform, event.user) });
      if (!res.ok) await say(res.message);
      return;
    }
    if (r) return say(`Still working on run ${r.n} (${r.status}). Send /cancel to stop it, or wait for the result.`);
    if (cmd) return say(`Unknown command /${name}. Send a task to start a run, or /help.`);
    await startRun(event, text);
  }

  async function onEvent(event: ChatInbound): Promise<void> {
    if (state.seen.includes(event.eventId)) {
      state.counts.duplicates++;
      return;
    }
    state.seen.push(event.eventId);
    if (state.seen.length > SEEN_KEPT) state.seen.splice(0, state.seen.length - SEEN_KEPT);
    state.integration = event.integration;
    state.counts.events++;
    state.lastEvent = { at: event.at, type: event.action ? `click:${event.action.decision}` : 'message' };
    if (event.action) await onAction(event);
    else await onMessage(event);
  }

  // ---- the loop --------------------------------------------------------------------------------------------

  const maxHistory = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY;
  publishMemo();
  for (;;) {
    await condition(() => inbox.length > 0);
    while (inbox.length > 0) {
      const item = inbox.shift() as Item;
      try {
        if (item.kind === 'event') await onEvent(item.event);
        else if (state.integration) await onNotice(item.notice);
      } catch (err) {
        // A platform that fails for good (bad token, chat gone) or a run that refused: recorded, and the thread goes on.
        state.counts.errors++;
        state.lastError = { at: new Date().toISOString(), message: String((err as Error)?.cause ? ((err as Error).cause as Error).message : (err as Error).message).slice(0, 500) };
      }
    }
    publishMemo();
    if (workflowInfo().historyLength >= maxHistory || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      if (inbox.length === 0) {
        await continueAsNew<typeof chatConversationWorkflow>({
          robotId: state.robotId,
          platform,
          chat: state.chat,
          maxHistoryEvents: input.maxHistoryEvents,
          state: { ...state, generation: state.generation + 1 },
        });
      }
    }
  }
}
