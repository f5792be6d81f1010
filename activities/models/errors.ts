/**
 * Maps provider SDK errors onto Temporal's retry semantics. The SDKs' own retries are off (maxRetries: 0);
 * Temporal owns retries: 429, 408, 409, 5xx and network errors are retryable (429 honours Retry-After through
 * `nextRetryDelay`), every other 4xx is final.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';

interface HttpishError {
  status?: number;
  headers?: Headers | Record<string, string>;
  message: string;
  name: string;
}

function header(headers: HttpishError['headers'], name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  return (headers as Record<string, string>)[name];
}

/** Retry-After in milliseconds (retry-after-ms, seconds, or an HTTP date), capped at 10 minutes. */
export function retryAfterMs(headers: HttpishError['headers'], now = Date.now()): number | undefined {
  const ms = Number(header(headers, 'retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return Math.min(ms, 600_000);
  const raw = header(headers, 'retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 600_000);
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.min(Math.max(date - now, 0), 600_000) : undefined;
}

/** Turn whatever a provider call threw into the failure Temporal should see (`now` dates a Retry-After). */
export function toTemporalFailure(err: unknown, provider: string, signal?: AbortSignal, now = Date.now()): Error {
  if (signal?.aborted) return new CancelledFailure(`${provider} call aborted: activity cancelled`);
  if (err instanceof ApplicationFailure || err instanceof CancelledFailure) return err;
  const e = err as HttpishError;
  const status = typeof e?.status === 'number' ? e.status : undefined;
  const message = `${provider}: ${e?.message ?? String(err)}`;
  if (status === undefined) {
    // Connection refused, reset, timeout: worth another attempt.
    return ApplicationFailure.create({ message, type: 'ProviderUnavailable', nonRetryable: false });
  }
  if (status === 429) {
    const delay = retryAfterMs(e.headers, now);
    return ApplicationFailure.create({
      message,
      type: 'ProviderRateLimited',
      nonRetryable: false,
      nextRetryDelay: delay !== undefined ? Math.max(delay, 1) : undefined,
    });
  }
  if (status === 408 || status === 409 || status >= 500) {
    return ApplicationFailure.create({ message, type: 'ProviderUnavailable', nonRetryable: false });
  }
  const type = status === 401 || status === 403 ? 'ProviderAuthError' : 'ProviderRejected';
  return ApplicationFailure.create({ message: `${message} (HTTP ${status})`, type, nonRetryable: true });
}
