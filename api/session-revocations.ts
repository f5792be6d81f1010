/**
 * Page sessions signed out before they expire, as every API replica sees them. The revocations live in Temporal
 * (the system of record; no second database): a sign-out on any replica sends `revokeSession` to the one
 * `sessionRevocationsWorkflow` (signal-with-start), and Temporal has written it to that workflow's history before
 * the call returns. A replica checks a session against that history, not against memory of its own:
 *
 * - before it accepts a session cookie it asks Temporal how long the history is now (one `describe`, shared by the
 *   requests that arrive while it is in flight) and, only when it grew or the workflow continued-as-new, reads the
 *   history again. A sign-out is therefore in force on every replica for the next request after it returns;
 * - the history is read directly (signals and the carried-over input), so no worker is needed to check a session;
 * - what it keeps in memory (the cache) is bounded: the revocations of sessions not yet expired, as the workflow
 *   holds them (it drops expired ones and continues-as-new).
 *
 * When Temporal cannot be asked, a session cannot be checked, and the request fails (503) rather than trusting
 * a cookie that may have been revoked.
 */
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { revokeSessionSignal, SESSION_REVOCATIONS_WORKFLOW_ID, type SessionRevocation, type SessionRevocationsInput } from '../contracts/messages';
import { sessionRevocationsWorkflow } from '../workflows';
import { Unavailable } from './errors';

export class SessionRevocations {
  /** sid → epoch ms until which it is revoked. Replaced whole on every read, never edited in place by a read. */
  private revoked = new Map<string, number>();
  /** The workflow run the map was read from, and how many of its events were read. */
  private runId?: string;
  private applied = 0;
  /** Reads happen one after another; `queued` is the next one, not started yet, that new checks may join. */
  private chain: Promise<void> = Promise.resolve();
  private queued?: Promise<void>;
  /** Aborts the read in flight when the API stops, so no call outlives the connection its owner closes. */
  private current?: AbortController;
  private stopped = false;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /** Sign a session out on every replica: recorded in Temporal, then here. */
  async revoke(revocation: SessionRevocation): Promise<void> {
    try {
      await this.client.workflow.signalWithStart(sessionRevocationsWorkflow, {
        workflowId: SESSION_REVOCATIONS_WORKFLOW_ID,
        taskQueue: this.taskQueue,
        args: [{ revoked: [] } satisfies SessionRevocationsInput],
        signal: revokeSessionSignal,
        signalArgs: [revocation],
      });
    } catch (err) {
      throw new Unavailable(`could not record the sign-out in Temporal: ${(err as Error).message}`);
    }
    this.revoked.set(revocation.sid, revocation.until);
  }

  /** Stop: abort the read in flight and wait until none is left (called before the Temporal connection closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort();
    await this.chain.catch(() => undefined);
  }

  /** Whether the session was signed out, as Temporal has it at the time of this call. */
  async isRevoked(sid: string): Promise<boolean> {
    await this.sync();
    return this.revoked.has(sid);
  }

  /**
   * Bring the map up to what Temporal holds now. A check joins a read that has not started yet (it will see
   * everything written before the check arrived); otherwise it queues a new one.
   */
  private sync(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.chain
      .catch(() => undefined)
      .then(async () => {
        this.queued = undefined;
        if (this.stopped) throw new Unavailable('the API is stopping');
        const abort = new AbortController();
        this.current = abort;
        try {
          await this.client.withAbortSignal(abort.signal, () => this.read());
        } finally {
          if (this.current === abort) this.current = undefined;
        }
      });
    this.queued = next;
    this.chain = next;
    return next;
  }

  private async read(): Promise<void> {
    let runId: string;
    let length: number;
    try {
      const desc = await this.client.workflow.getHandle(SESSION_REVOCATIONS_WORKFLOW_ID).describe();
      runId = desc.runId;
      length = desc.historyLength;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        // Nobody has signed out yet (or Temporal no longer retains it): nothing is revoked.
        this.revoked = new Map();
        this.runId = undefined;
        this.applied = 0;
        return;
      }
      throw new Unavailable(`cannot check the session against Temporal: ${(err as Error).message}`);
    }
    if (runId === this.runId && length <= this.applied) return;
    const history = await this.client.workflow.getHandle(SESSION_REVOCATIONS_WORKFLOW_ID, runId).fetchHistory();
    const next = new Map<string, number>();
    const add = (r: SessionRevocation) => next.set(r.sid, Math.max(r.until, next.get(r.sid) ?? 0));
    const now = Date.now();
    for (const event of history.events ?? []) {
      const started = event.workflowExecutionStartedEventAttributes;
      if (started) for (const r of (await this.decode<SessionRevocationsInput>(started.input?.payloads))?.revoked ?? []) add(r);
      const signaled = event.workflowExecutionSignaledEventAttributes;
      if (signaled?.signalName === revokeSessionSignal.name) {
        const r = await this.decode<SessionRevocation>(signaled.input?.payloads);
        if (r) add(r);
      }
    }
    for (const [sid, until] of next) if (until <= now) next.delete(sid);
    this.revoked = next;
    this.runId = runId;
    this.applied = history.events?.length ?? 0;
  }

  /** The first payload of a list, through the client's codecs and converter. */
  private async decode<T>(payloads: Payload[] | null | undefined): Promise<T | undefined> {
    if (!payloads?.length) return undefined;
    const { payloadCodecs, payloadConverter } = this.client.options.loadedDataConverter;
    let decoded = payloads as Payload[];
    for (const codec of [...payloadCodecs].reverse()) decoded = await codec.decode(decoded);
    return payloadConverter.fromPayload<T>(decoded[0]);
  }
}
