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
 * All platform I/O is in activities (activities/chat/); this file and ./chat/ only decide: ./chat/thread.ts holds the
 * thread and follows its runs, ./chat/commands.ts answers what people say and click.
 */
import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ChatConversationInput, ChatConversationState, ChatInbound, ChatRunNotice } from '../contracts/chat';
import { chatConversationQuery, chatInboundSignal, chatRunNoticeSignal } from '../contracts/messages';
import { onEvent } from './chat/commands';
import { ChatThread } from './chat/thread';

const DEFAULT_MAX_HISTORY = 2000;

type Item = { kind: 'event'; event: ChatInbound } | { kind: 'notice'; notice: ChatRunNotice };

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
  const t = new ChatThread(state);

  const maxHistory = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY;
  t.publishMemo();
  for (;;) {
    await condition(() => inbox.length > 0);
    while (inbox.length > 0) {
      const item = inbox.shift() as Item;
      try {
        if (item.kind === 'event') await onEvent(t, item.event);
        else if (state.integration) await t.onNotice(item.notice);
      } catch (err) {
        // A platform that fails for good (bad token, chat gone) or a run that refused: recorded, and the thread goes on.
        state.counts.errors++;
        state.lastError = { at: new Date().toISOString(), message: String((err as Error)?.cause ? ((err as Error).cause as Error).message : (err as Error).message).slice(0, 500) };
      }
    }
    t.publishMemo();
    if (workflowInfo().historyLength >= maxHistory || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      if (inbox.length === 0) {
        await continueAsNew<typeof chatConversationWorkflow>({
          robotId: state.robotId,
          platform: state.platform,
          chat: state.chat,
          maxHistoryEvents: input.maxHistoryEvents,
          state: { ...state, generation: state.generation + 1 },
        });
      }
    }
  }
}
