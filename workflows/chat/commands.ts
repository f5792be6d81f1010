/** What people say and click in a chat thread: messages, commands, gate and confirm buttons (chatConversationWorkflow). */
import { getExternalWorkflowHandle } from '@temporalio/workflow';
import { chatActor, type ChatDecision, type ChatInbound, type ChatRunRecord } from '../../contracts/chat';
import type { ChatThread } from './thread';

const SEEN_KEPT = 500;
const COMMAND = /^\/([a-z]+)(?:@\S+)?(?:\s+([\s\S]*))?$/i;
const CONFIRM_WORDS = /^(yes|y|ok|okay|confirm|confirmed|go|go ahead|start)[.!]?$/i;

export async function decide(t: ChatThread, event: ChatInbound, r: ChatRunRecord, decision: Exclude<ChatDecision, 'confirm'>, feedback: string | undefined, clickId: string): Promise<string> {
  const gateKey = r.gateKey;
  if (!gateKey) return `Already decided: run ${r.n} is not waiting at a gate (${r.status}).`;
  const res = await t.chat.chatRunControl({
    runId: r.runId,
    op: 'decide',
    decision,
    gate: gateKey.split('#')[0],
    feedback,
    decisionId: clickId,
    by: chatActor(t.platform, event.user),
  });
  if (res.ok && r.gateMessageId && t.canEdit) {
    const verb = decision === 'approve' ? '✅ Approved' : decision === 'reject' ? '❌ Rejected' : '↩ Sent back';
    await t.send(`${verb} by ${event.user.name ?? event.user.id} at the ${gateKey.split('#')[0]} gate (run ${r.n}).`, { edit: r.gateMessageId });
  }
  return res.ok ? `${decision === 'approve' ? 'Approved' : decision === 'reject' ? 'Rejected' : 'Sent back with your feedback'}.` : res.message;
}

export async function answer(t: ChatThread, event: ChatInbound, text: string): Promise<void> {
  // A click is answered privately where the platform can (a toast, an ephemeral message); else in the thread.
  if (event.action && event.ack) await t.chat.chatAck({ integration: t.integration(), chat: t.state.chat, ack: event.ack, text });
  else await t.say(event.action ? `${event.user.name ?? event.user.id}: ${text}` : text);
}

export async function onAction(t: ChatThread, event: ChatInbound): Promise<void> {
  const a = event.action!;
  const r = t.state.runs.find((x) => x.n === a.n);
  if (!r) return answer(t, event, 'This button belongs to a run this chat no longer follows.');
  if (a.decision === 'confirm') return confirm(t, event, r, a.clickId);
  if (!t.isApprover(event.user.id)) return answer(t, event, 'Only approvers of this robot can decide here; nothing was changed.');
  if (a.gateKey !== r.gateKey || r.finished) {
    return answer(t, event, `Already decided: the ${a.gateKey?.split('#')[0] ?? ''} gate of run ${r.n} is no longer open (${r.status}).`);
  }
  if (a.decision === 'revise') {
    t.state.awaitingFeedback = { userId: event.user.id, n: r.n, gateKey: r.gateKey as string };
    await answer(t, event, 'Reply in this chat with what should change; your next message is the feedback.');
    return;
  }
  await answer(t, event, await decide(t, event, r, a.decision, undefined, a.clickId));
}

export async function confirm(t: ChatThread, event: ChatInbound, r: ChatRunRecord, clickId: string): Promise<void> {
  if (event.user.id !== r.by && !t.isApprover(event.user.id)) return answer(t, event, 'Only the person who asked (or an approver) can confirm.');
  if (r.hostStatus !== 'confirming' || r.finished) return answer(t, event, 'Already confirmed: there is no task waiting for confirmation.');
  const res = await t.chat.chatRunControl({ runId: r.runId, op: 'hostConfirm', by: chatActor(t.platform, event.user), decisionId: clickId });
  if (res.ok && r.confirmMessageId && t.canEdit) await t.send(`Confirmed by ${event.user.name ?? event.user.id}: starting.`, { edit: r.confirmMessageId });
  await answer(t, event, res.ok ? 'Confirmed: the pipeline starts.' : res.message);
}

export async function onMessage(t: ChatThread, event: ChatInbound): Promise<void> {
  const text = (event.text ?? '').trim();
  if (!text) return;
  const users = t.integration().users;
  if (users && !users.includes(event.user.id)) return t.say('Sorry, you are not on this robot\'s list of users.');
  t.remember('person', text, event.user.name ?? event.user.id);
  const r = t.active();
  const cmd = COMMAND.exec(text);
  const name = cmd?.[1].toLowerCase();
  const rest = cmd?.[2]?.trim() || undefined;

  const waiting = t.state.awaitingFeedback;
  if (waiting && waiting.userId === event.user.id && !cmd) {
    t.state.awaitingFeedback = undefined;
    const wr = t.state.runs.find((x) => x.n === waiting.n);
    if (wr && wr.gateKey === waiting.gateKey) return t.say(await decide(t, event, wr, 'revise', text, `feedback-${event.eventId}`));
  }
  if (name === 'help' || name === 'start') {
    return t.say('Send a task to start a run. While it runs: /cancel stops it; at a gate approvers use the buttons (or /approve, /reject <reason>, /revise <feedback>).');
  }
  if (name === 'cancel') {
    if (!r) return t.say('Nothing to cancel: no run is going on in this chat.');
    if (event.user.id !== r.by && !t.isApprover(event.user.id)) return t.say('Only the person who started the run (or an approver) can cancel it.');
    await getExternalWorkflowHandle(r.runId).cancel().catch(() => undefined);
    return t.say(`Cancelling run ${r.n} (${r.runId}).`);
  }
  if (name === 'approve' || name === 'reject' || name === 'revise') {
    if (!r || !r.gateKey) return t.say('Already decided: no run in this chat is waiting at a gate.');
    if (!t.isApprover(event.user.id)) return t.say('Only approvers of this robot can decide here; nothing was changed.');
    if (name === 'revise' && !rest) return t.say('Say what should change: /revise <feedback>');
    return t.say(await decide(t, event, r, name, rest, `cmd-${event.eventId}`));
  }
  if (r && (name === 'confirm' || (r.hostStatus === 'confirming' && CONFIRM_WORDS.test(text)))) return confirm(t, event, r, `cmd-${event.eventId}`);
  if (r && (r.hostStatus === 'asking' || r.hostStatus === 'confirming')) {
    const res = await t.chat.chatRunControl({ runId: r.runId, op: 'hostMessage', text, by: chatActor(t.platform, event.user) });
    if (!res.ok) await t.say(res.message);
    return;
  }
  if (r) return t.say(`Still working on run ${r.n} (${r.status}). Send /cancel to stop it, or wait for the result.`);
  if (cmd) return t.say(`Unknown command /${name}. Send a task to start a run, or /help.`);
  await t.startRun(event, text);
}

export async function onEvent(t: ChatThread, event: ChatInbound): Promise<void> {
  if (t.state.seen.includes(event.eventId)) {
    t.state.counts.duplicates++;
    return;
  }
  t.state.seen.push(event.eventId);
  if (t.state.seen.length > SEEN_KEPT) t.state.seen.splice(0, t.state.seen.length - SEEN_KEPT);
  t.state.integration = event.integration;
  t.state.counts.events++;
  t.state.lastEvent = { at: event.at, type: event.action ? `click:${event.action.decision}` : 'message' };
  if (event.action) await onAction(t, event);
  else await onMessage(t, event);
}
