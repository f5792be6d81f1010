/**
 * One error middleware: zod errors → 400 naming the field, not found → 404, conflicts and rejected workflow updates
 * → 409 (a validator's `InvalidDecision` → 400), body too large →
 * 413, everything else → 500 with the cause logged and no stack in the response. Errors are `{ error, details? }`.
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

export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return;
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
