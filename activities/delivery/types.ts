/** The shape every destination of the registry (./destinations/index.ts) has, and how its failures are told apart. */
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactInfo } from '../../contracts/artifacts';
import type { DeliveryDestination } from '../../contracts/delivery';
import type { Config } from '../../lib/config';
import type { ArtifactStore } from '../../lib/artifact-store';
import type { Lookup } from '../net/guarded-http';
import type { DeliverableMessage } from './message';

export interface DestinationContext {
  config: Config;
  /** Aborted when the activity is cancelled. */
  signal: AbortSignal;
  /** `<runId>:deliver:<n>`, the same on every attempt. */
  idempotencyKey: string;
  n: number;
  /** The deliverable, its content resolved (a claim check read back), with the renderings destinations need. */
  message: DeliverableMessage;
  /** A credential's value by name (environment `MC_CREDENTIAL_<NAME>`, then the encrypted store). */
  credential(name: string): Promise<string>;
  artifacts: ArtifactStore;
  /** Name resolution for the outbound guard (tests point a name at a local server). */
  lookup?: Lookup;
}

/** What the receiving side answered. */
export interface SendResult {
  statusCode?: number;
  messageId?: string;
  artifacts?: ArtifactInfo[];
}

export interface DestinationDefinition<D extends DeliveryDestination = DeliveryDestination> {
  type: D['type'];
  send(destination: D, ctx: DestinationContext): Promise<SendResult>;
}

/** Typed helper so each destination file infers its definition type. */
export const defineDestination = <D extends DeliveryDestination>(d: DestinationDefinition<D>): DestinationDefinition<D> => d;

/** Failure type of a delivery that may succeed later (Temporal retries it) / that never will (not retried). */
export const DELIVERY_UNAVAILABLE = 'DeliveryUnavailable';
export const DELIVERY_REJECTED = 'DeliveryRejected';

/**
 * A delivery failure as Temporal should treat it: retryable (`DeliveryUnavailable`, with the receiver's
 * Retry-After as the next delay) or final (`DeliveryRejected`). `statusCode` is kept for the run state.
 */
export function deliveryFailure(message: string, opts: { retryable: boolean; retryAfterMs?: number; statusCode?: number }): ApplicationFailure {
  return ApplicationFailure.create({
    message,
    type: opts.retryable ? DELIVERY_UNAVAILABLE : DELIVERY_REJECTED,
    nonRetryable: !opts.retryable,
    details: [{ statusCode: opts.statusCode }],
    ...(opts.retryable && opts.retryAfterMs !== undefined ? { nextRetryDelay: opts.retryAfterMs } : {}),
  });
}

/** What an HTTP status means for a delivery: 408/429/5xx retryable, other 4xx final. */
export const retryableStatus = (status: number): boolean => status >= 500 || status === 429 || status === 408;
