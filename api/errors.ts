/**
 * One error middleware: zod errors → 400 naming the field, not found → 404, conflicts and rejected workflow updates
 * → 409 (a validator's `InvalidDecision` → 400), body too large →
 * 413, Temporal unreachable or too slow → 503 (see temporalUnavailable), everything else → 500 with the cause logged
 * and no stack in the response. Errors are `{ error, details? }`.
 */
import type { ErrorRequestHandler } from 'express';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ZodError } from 'zod';
import type { Logger } from '../lib/log';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new HttpError(404, `${what} not found`);
export const conflict = (message: string, details?: unknown) => new HttpError(409, message, details);

/** "task: must not be empty; robot.name: Required" */
export function describeZodError(err: ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`).join('; ');
}

/** gRPC status codes that mean "Temporal did not answer": UNAVAILABLE (14) and DEADLINE_EXCEEDED (4). */
const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;

/**
 * Whether an error means Temporal could not be reached in time (connection refused or dropped, or the call's
 * deadline — MC_TEMPORAL_TIMEOUT_MS, see lib/temporal.ts — passed), looking through the SDK's wrappers (`cause`).
 */
export function temporalUnavailable(err: unknown): 'unreachable' | 'timeout' | undefined {
  for (let e = err as { code?: unknown; details?: unknown; cause?: unknown; name?: string } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.name === 'WorkflowUpdateRPCTimeoutOrCancelledError') return 'timeout';
    // A gRPC status error carries a numeric code and its details; other errors with a `code` (Node's) do not.
    if (typeof e.code === 'number' && 'details' in e) {
      if (e.code === UNAVAILABLE) return 'unreachable';
      if (e.code === DEADLINE_EXCEEDED) return 'timeout';
    }
  }
  return undefined;
}

export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return;
    const unavailable = temporalUnavailable(err);
    if (unavailable) {
      log.warn(`${req.method} ${req.path}: Temporal ${unavailable === 'timeout' ? 'did not answer in time' : 'is unreachable'}`, { error: (err as Error)?.message });
      // A client (or load balancer) may retry: nothing was changed, or the change is idempotent on retry.
      res.set('retry-after', '5').status(503).json({
        error: unavailable === 'timeout' ? 'Temporal did not answer in time; try again shortly' : 'Temporal is unreachable; try again shortly',
      });
      return;
    }
    if (err instanceof ZodError) {
      res.status(400).json({
        error: describeZodError(err),
        details: err.issues.map((i) => ({ field: i.path.join('.'), message: i.message, code: i.code })),
      });
      return;
    }
    if (err instanceof HttpError) {
      res.status(err.status).json(err.details === undefined ? { error: err.message } : { error: err.message, details: err.details });
      return;
    }
    if (err instanceof WorkflowUpdateFailedError) {
      // The workflow's validator (or handler) refused: stale → 409, malformed → 400. Nothing changed in the run.
      const cause = err.cause;
      const type = cause instanceof ApplicationFailure ? cause.type : undefined;
      res.status(type === 'InvalidDecision' ? 400 : 409).json({ error: cause?.message ?? err.message, details: { type } });
      return;
    }
    if (err instanceof WorkflowNotFoundError) {
      // An update or signal that reaches a run which finished a moment ago (after our own "is it open?" check).
      if (/already completed/i.test(err.message)) {
        res.status(409).json({ error: 'run already finished' });
        return;
      }
      res.status(404).json({ error: 'run not found' });
      return;
    }
    // body-parser errors carry a status: malformed JSON (400), too large (413), bad charset (415).
    const status = (err as { status?: number; type?: string }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const type = (err as { type?: string }).type;
      const message = type === 'entity.parse.failed' ? 'body is not valid JSON' : type === 'entity.too.large' ? 'body is too large' : (err as Error).message;
      res.status(status).json({ error: message });
      return;
    }
    log.error(`${req.method} ${req.path} failed`, { error: (err as Error)?.stack ?? String(err) });
    res.status(500).json({ error: 'internal error' });
  };
}
