/**
 * Notifications: a JSON POST to a webhook URL (the robot's "reports to" contact, an escalation channel).
 * The URL comes from run or robot settings, so it is an outbound request chosen by a user: only http(s) is
 * allowed, no redirects are followed, and the body is never echoed back into the run. Deployments that must
 * keep the worker away from internal addresses should route these through an egress proxy (SSRF).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from './deps';
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

/** Throws a non-retryable failure for a URL that is not plain http(s). */
export function checkWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw ApplicationFailure.create({ message: `not a URL: ${raw.slice(0, 200)}`, type: 'InvalidWebhookUrl', nonRetryable: true });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw ApplicationFailure.create({ message: `only http(s) webhooks are allowed, not ${url.protocol}`, type: 'InvalidWebhookUrl', nonRetryable: true });
  }
  return url;
}

/** `notify` runs in the activity runtime (./runtime.ts): cancelling it aborts the request; its duration is measured. */
export function createNotifyActivities(deps: ActivityDeps) {
  const runtime = createActivityRuntime(deps);
  return {
    async notify(input: NotifyInput): Promise<{ status: number }> {
      return runtime.run({}, async ({ signal }) => {
        const url = checkWebhookUrl(input.url);
        let res: Response;
        try {
          res = await deps.fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': input.idempotencyKey, 'user-agent': 'mission-control' },
            body: JSON.stringify(input.payload),
            redirect: 'manual',
            signal: AbortSignal.any([signal, AbortSignal.timeout(NOTIFY_TIMEOUT_MS)]),
          });
        } catch (err) {
          throw ApplicationFailure.create({ message: `notify: ${(err as Error).message}`, type: 'NotifyUnavailable', nonRetryable: false });
        }
        await res.arrayBuffer().catch(() => undefined);
        if (res.status >= 500 || res.status === 429 || res.status === 408) {
          throw ApplicationFailure.create({ message: `notify: HTTP ${res.status}`, type: 'NotifyUnavailable', nonRetryable: false });
        }
        if (res.status >= 300) {
          throw ApplicationFailure.create({ message: `notify: HTTP ${res.status}`, type: 'NotifyRejected', nonRetryable: true });
        }
        return { status: res.status };
      });
    },
  };
}
