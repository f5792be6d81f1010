/**
 * Notifications: a JSON POST to a webhook URL (the robot's "reports to" contact, an escalation channel).
 * The URL comes from run or robot settings, so it is an outbound request chosen by a user: it goes through the
 * shared outbound guard (./net/guarded-http.ts) — non-public addresses are refused unless MC_FETCH_ALLOWLIST
 * names them, no redirect is followed — and the answer's body is never echoed back into the run.
 */
import type { ActivityDeps } from './deps';
import { failureForStatus, guardedRequest } from './net/guarded-http';
import { createActivityRuntime } from './runtime';

export interface NotifyInput {
  url: string;
  /** Sent as the JSON body. */
  payload: Record<string, unknown>;
  /** Sent as `Idempotency-Key`, so a retried notice can be de-duplicated by the receiver. */
  idempotencyKey: string;
}

/** How long one notice may take before it counts as unavailable (and Temporal retries it). */
export const NOTIFY_TIMEOUT_MS = 10_000;

/** `notify` runs in the activity runtime (./runtime.ts): cancelling it aborts the request; its duration is measured. */
export function createNotifyActivities(deps: ActivityDeps) {
  const runtime = createActivityRuntime(deps);
  return {
    async notify(input: NotifyInput): Promise<{ status: number }> {
      return runtime.run({}, async ({ signal }) => {
        const res = await guardedRequest(input.url, {
          who: 'escalation webhook',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': input.idempotencyKey },
          body: JSON.stringify(input.payload),
          allowList: deps.config.MC_FETCH_ALLOWLIST,
          maxBytes: 64 * 1024,
          timeoutMs: NOTIFY_TIMEOUT_MS,
          signal,
          lookup: deps.lookup,
        });
        const failure = failureForStatus('escalation webhook', res, 'Notify');
        if (failure) throw failure;
        return { status: res.status };
      });
    },
  };
}
