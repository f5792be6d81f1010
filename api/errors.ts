/**
 * Domain errors: what the use cases and services throw when a request cannot be carried out. They say *what* went
 * wrong, never how to answer it; the one error middleware (./http/error-middleware.ts) maps each kind to an HTTP
 * status, and callers without HTTP (chat platforms, the OpenAI-compatible endpoint) map them their own way.
 */

/** Base of every domain error: a message safe to show the caller, and optional structured details. */
export abstract class DomainError extends Error {
  constructor(
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The input is well-formed JSON but not acceptable (a header, a payload, a schedule Temporal refuses). */
export class InvalidInput extends DomainError {}

/** The thing named does not exist (a run, a robot, a robot without webhooks). */
export class NotFound extends DomainError {
  /** `NotFound.of('run')` → "run not found". */
  static of(what: string): NotFound {
    return new NotFound(`${what} not found`);
  }
}

/** The request does not fit the current state (run already finished, id taken, no schedule to pause). */
export class Conflict extends DomainError {}

/** A start that must happen at most once (an idempotency key) already happened: `runId` is the first run. */
export class AlreadyStarted extends Conflict {
  constructor(readonly runId: string) {
    super(`run ${runId} was already started`, { id: runId });
  }
}

/** A request authenticated by a signature (webhooks) whose signature is missing, wrong or stale. */
export class InvalidSignature extends DomainError {}

/** The caller is known but may not do this (a cross-site request carrying the page's cookie). */
export class Forbidden extends DomainError {}

/** The body (or its absence) comes in a media type this endpoint does not take. */
export class UnsupportedMediaType extends DomainError {}

/** The caller has sent too much; `retryAfterSeconds` says when to try again. */
export class RateLimited extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Something the request needs is not there right now (no worker answered, Temporal unreachable). */
export class Unavailable extends DomainError {}
