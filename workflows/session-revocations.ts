/**
 * sessionRevocationsWorkflow: the page sessions signed out before their expiry, kept in Temporal (the system of
 * record) so that every API replica refuses them — no second database. One per namespace
 * (SESSION_REVOCATIONS_WORKFLOW_ID), started on the first sign-out by signal-with-start.
 *
 * The API replicas do not query it (that would need a worker): they read its history, where every `revokeSession`
 * signal is written the moment it is accepted (api/session-revocations.ts). This workflow only keeps the history
 * short: it drops revocations whose session has expired and continues-as-new, carrying the rest in its input,
 * once the history is long or Temporal suggests it.
 */
import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { revokedSessionsQuery, revokeSessionSignal, type SessionRevocationsInput } from '../contracts/messages';

/** Events after which the workflow continues-as-new by default (each sign-out adds one to three). */
const HISTORY_LIMIT = 2000;
/** How often expired revocations are dropped. */
const PRUNE_EVERY = '1h';

export async function sessionRevocationsWorkflow(input: SessionRevocationsInput): Promise<void> {
  const revoked = new Map<string, number>(input.revoked.map((r) => [r.sid, r.until]));
  setHandler(revokeSessionSignal, ({ sid, until }) => {
    revoked.set(sid, Math.max(until, revoked.get(sid) ?? 0));
  });
  setHandler(revokedSessionsQuery, () => [...revoked].map(([sid, until]) => ({ sid, until })));

  const limit = input.maxHistoryEvents ?? HISTORY_LIMIT;
  const tooLong = () => workflowInfo().historyLength >= limit || workflowInfo().continueAsNewSuggested;
  for (;;) {
    await condition(tooLong, PRUNE_EVERY);
    const now = Date.now(); // workflow time: the same on every replay
    for (const [sid, until] of revoked) if (until <= now) revoked.delete(sid);
    if (tooLong()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof sessionRevocationsWorkflow>({ revoked: [...revoked].map(([sid, until]) => ({ sid, until })), maxHistoryEvents: input.maxHistoryEvents });
    }
  }
}
