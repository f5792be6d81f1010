/**
 * The one error middleware. Every error a route throws ends here and becomes `{ error, details? }` with a status:
 * zod errors → 400 naming the field; domain errors (../errors.ts) by kind → 400/401/403/404/409/415/429/503; workflow
 * updates the run refused → 400 (`InvalidDecision`) or 409 (`StaleDecision` and any other refusal); an unknown
 * workflow → 404 (one that finished a moment ago → 409); Temporal unreachable or too slow → 503 with Retry-After;
 * body-parser errors keep their 4xx; everything else → 500 with the cause logged and no stack in the response.
 *
 * The mapping is a list of small functions tried in order: teaching the API a new kind of error is one more entry.
 */
import type { ErrorRequestHandler } from 'express';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ZodError } from 'zod';
import { INVALID_DECISION } from '../../contracts/messages';
import type { Logger } from '../../lib/log';
import { AlreadyStarted, Conflict, DomainError, Forbidden, InvalidInput, InvalidSignature, NotFound, RateLimited, Unavailable, UnsupportedMediaType } from '../errors';

/** What an error becomes on the wire. */
export interface ErrorReply {
  status: number;
  body: { error: string; details?: unknown };
  headers?: Record<string, string>;
}

/** Recognises one kind of error, or answers undefined to let the next mapping try. */
export type ErrorMapping = (err: unknown) => ErrorReply | undefined;

const reply = (status: number, error: string, details?: unknown, headers?: Record<string, string>): ErrorReply => ({
  status,
  body: details === undefined ? { error } : { error, details },
  ...(headers ? { headers } : {}),
});

/** "task: must not be empty; robot.name: Required" */
export function describeZodError(err: ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`).join('; ');
}

/** Zod validation (request params, query, body, and domain re-validation in services) → 400 naming the field. */
export const zodErrors: ErrorMapping = (err) =>
  err instanceof ZodError
    ? reply(400, describeZodError(err), err.issues.map((i) => ({ field: i.path.join('.'), message: i.message, code: i.code })))
    : undefined;

/** Status of each domain error kind; the first class the error is an instance of wins (subclasses first). */
const DOMAIN_STATUS: [abstract new (...args: never[]) => DomainError, number][] = [
  [AlreadyStarted, 409],
  [InvalidInput, 400],
  [InvalidSignature, 401],
  [Forbidden, 403],
  [NotFound, 404],
  [Conflict, 409],
  [UnsupportedMediaType, 415],
  [RateLimited, 429],
  [Unavailable, 503],
];

export const domainErrors: ErrorMapping = (err) => {
  if (!(err instanceof DomainError)) return undefined;
  const status = DOMAIN_STATUS.find(([kind]) => err instanceof kind)?.[1];
  if (status === undefined) return undefined; // a kind without a status is a bug: logged as a 500
  const retryAfter = err instanceof RateLimited && err.retryAfterSeconds !== undefined ? { 'retry-after': String(Math.ceil(err.retryAfterSeconds)) } : undefined;
  return reply(status, err.message, err.details, retryAfter);
};

/** The workflow's update validator (or handler) refused; nothing changed in the run. Malformed → 400, stale → 409. */
export const rejectedUpdates: ErrorMapping = (err) => {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause;
  const type = cause instanceof ApplicationFailure ? cause.type : undefined;
  return reply(type === INVALID_DECISION ? 400 : 409, cause?.message ?? err.message, { type });
};

export const unknownWorkflow: ErrorMapping = (err) => {
  if (!(err instanceof WorkflowNotFoundError)) return undefined;
  // An update or signal that reaches a run which finished a moment ago (after the service's own "is it open?" check).
  return /already completed/i.test(err.message) ? reply(409, 'run already finished') : reply(404, 'run not found');
};

/** gRPC status codes that mean "Temporal did not answer": UNAVAILABLE (14) and DEADLINE_EXCEEDED (4). */
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;

/**
 * Whether an error means Temporal could not be reached in time (connection refused or dropped, or the call's
 * deadline — MC_TEMPORAL_TIMEOUT_MS, see lib/temporal.ts — passed), looking through the SDK's wrappers (`cause`).
 */
export function temporalUnavailable(err: unknown): 'unreachable' | 'timeout' | undefined {
  for (let e = err as { code?: unknown; details?: unknown; cause?: unknown; name?: string } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.name === 'WorkflowUpdateRPCTimeoutOrCancelledError') return 'timeout';
    // A gRPC status error carries a numeric code and its details; other errors with a `code` (Node's) do not.
    if (typeof e.code === 'number' && 'details' in e) {
      if (e.code === GRPC_UNAVAILABLE) return 'unreachable';
      if (e.code === GRPC_DEADLINE_EXCEEDED) return 'timeout';
    }
  }
  return undefined;
}

/** Seconds a client (or load balancer) is told to wait before retrying a 503 for an unreachable Temporal. */
export const TEMPORAL_RETRY_AFTER_SECONDS = 5;

/**
 * Temporal unreachable or too slow → 503 with Retry-After: a client may retry, since nothing was changed or the
 * change is idempotent on retry. First in the list: the SDK wraps these in errors other mappings also match.
 */
export const temporalErrors: ErrorMapping = (err) => {
  const kind = temporalUnavailable(err);
  if (!kind) return undefined;
  const message = kind === 'timeout' ? 'Temporal did not answer in time; try again shortly' : 'Temporal is unreachable; try again shortly';
  return reply(503, message, undefined, { 'retry-after': String(TEMPORAL_RETRY_AFTER_SECONDS) });
};

/** body-parser errors carry their status: malformed JSON (400), too large (413), bad charset or encoding (415). */
export const bodyParserErrors: ErrorMapping = (err) => {
  const { status, type } = (err ?? {}) as { status?: unknown; type?: unknown };
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  const message = type === 'entity.parse.failed' ? 'body is not valid JSON' : type === 'entity.too.large' ? 'body is too large' : (err as Error).message;
  return reply(status, message);
};

/** The mappings every app uses, in order. */
export const ERROR_MAPPINGS: readonly ErrorMapping[] = [temporalErrors, zodErrors, domainErrors, rejectedUpdates, unknownWorkflow, bodyParserErrors];

/** The reply for any error: the first mapping that recognises it, else undefined (→ 500). */
export function errorReply(err: unknown, mappings: readonly ErrorMapping[] = ERROR_MAPPINGS): ErrorReply | undefined {
  for (const map of mappings) {
    const r = map(err);
    if (r) return r;
  }
  return undefined;
}

export function errorMiddleware(log: Logger, mappings: readonly ErrorMapping[] = ERROR_MAPPINGS): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return;
    const known = errorReply(err, mappings);
    if (known) {
      if (known.status === 503) log.warn(`${req.method} ${req.path}: ${known.body.error}`, { error: (err as Error)?.message });
      if (known.headers) res.set(known.headers);
      res.status(known.status).json(known.body);
      return;
    }
    log.error(`${req.method} ${req.path} failed`, { error: (err as Error)?.stack ?? String(err) });
    res.status(500).json({ error: 'internal error' });
  };
}
