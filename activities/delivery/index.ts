/**
 * The delivery activities: one per registered destination (`deliverWebhook`, `deliverFile`, `deliverEmail`,
 * `deliverSlack`, `deliverDiscord`, `deliverTelegram`), each in the one activity runtime (heartbeats, cancellation,
 * metrics). The workflow schedules one per destination after the `final` gate, so each retries on its own.
 *
 * Every attempt: the deliverable's content is read back if it was claim-checked, the credentials the destination
 * names are resolved here on the worker (never passed through Temporal), and the destination sends. Then:
 * - delivered → `{ status: 'delivered', attempts, response }`;
 * - a failure that may pass (5xx, 429, network) before the last attempt → thrown, and Temporal retries it (after
 *   the receiver's Retry-After, when it gave one);
 * - a final refusal (other 4xx, a missing credential, a refused address), or any failure on the last attempt →
 *   returned as `{ status: 'failed', attempts, error }`, so the run records how many attempts were made.
 * Error messages have every resolved secret replaced by `[redacted]` before they leave the activity.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { destinationActivity, type DeliveryAttempt, type DeliveryRequest, type DestinationType } from '../../contracts/delivery';
import { artifactDir, createArtifactStore, type ArtifactStore } from '../../lib/artifact-store';
import { CredentialNotFound, CredentialStore, resolveCredential, resolveSecretKey } from '../../lib/credentials';
import type { ActivityDeps } from '../deps';
import { createActivityRuntime } from '../runtime';
import { DESTINATIONS } from './destinations';
import { messageOf } from './message';
import { DELIVERY_REJECTED, type DestinationContext, type DestinationDefinition } from './types';

/** `message` with every secret in it replaced (longest first, so a secret containing another is caught whole). */
export function redact(message: string, secrets: string[]): string {
  return [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length).reduce((m, s) => m.split(s).join('[redacted]'), message);
}

export type DeliveryActivity = (req: DeliveryRequest) => Promise<DeliveryAttempt>;

export function createDeliveryActivities(deps: ActivityDeps): Record<`deliver${Capitalize<DestinationType>}`, DeliveryActivity> {
  const runtime = createActivityRuntime(deps);
  const store: ArtifactStore = deps.artifacts ?? createArtifactStore(artifactDir(deps.config));
  const env = deps.env ?? process.env;

  const activity =
    (definition: DestinationDefinition<any>): DeliveryActivity =>
    (req) =>
      runtime.run({}, async ({ signal }) => {
        const { info, client } = Context.current();
        const max = info.retryPolicy?.maximumAttempts ?? 0;
        const secrets: string[] = [];
        const ctx: DestinationContext = {
          config: deps.config,
          signal,
          idempotencyKey: req.idempotencyKey,
          n: req.n,
          message: await messageOf(req.deliverable, deps.config, store),
          artifacts: store,
          lookup: deps.lookup,
          async credential(name) {
            try {
              const value = await resolveCredential(name, { env, store: new CredentialStore(client, () => resolveSecretKey(deps.config)) });
              secrets.push(value);
              return value;
            } catch (err) {
              if (err instanceof CredentialNotFound) throw ApplicationFailure.create({ message: err.message, type: DELIVERY_REJECTED, nonRetryable: true });
              throw err;
            }
          },
        };
        try {
          const sent = await definition.send(req.destination, ctx);
          return {
            status: 'delivered',
            attempts: info.attempt,
            ...(sent.statusCode !== undefined || sent.messageId !== undefined ? { response: { statusCode: sent.statusCode, messageId: sent.messageId } } : {}),
            ...(sent.artifacts ? { artifacts: sent.artifacts } : {}),
          };
        } catch (err) {
          if (signal.aborted || err instanceof CancelledFailure) throw err;
          const failure = err instanceof ApplicationFailure ? err : ApplicationFailure.create({ message: (err as Error).message ?? String(err), type: 'DeliveryUnavailable' });
          const message = redact(failure.message, secrets);
          const statusCode = (failure.details?.[0] as { statusCode?: number } | undefined)?.statusCode;
          const last = failure.nonRetryable || (max > 0 && info.attempt >= max);
          if (!last) {
            throw ApplicationFailure.create({ message, type: failure.type ?? undefined, nonRetryable: false, details: failure.details as unknown[] | undefined, nextRetryDelay: failure.nextRetryDelay ?? undefined });
          }
          return { status: 'failed', attempts: info.attempt, error: message, ...(statusCode !== undefined ? { response: { statusCode } } : {}) };
        }
      });

  return Object.fromEntries(Object.entries(DESTINATIONS).map(([type, def]) => [destinationActivity(type), activity(def)])) as Record<
    `deliver${Capitalize<DestinationType>}`,
    DeliveryActivity
  >;
}
