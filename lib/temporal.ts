/**
 * Connections to Temporal from configuration, and the search attributes the app needs.
 * Embedded default: the dev server `npm start` runs on 127.0.0.1:MC_TEMPORAL_PORT. TEMPORAL_ADDRESS switches
 * everything to an existing cluster (TLS and API key supported).
 */
import fs from 'node:fs';
import { InterceptingCall, Interceptor } from '@grpc/grpc-js';
import { Client, Connection, GrpcRetryOptions, isRetryableError } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { SearchAttributeType } from '@temporalio/common';
import { ALL_SEARCH_ATTRIBUTES } from '../contracts/search-attributes';
import type { Config } from './config';
import { guardedInterceptors } from './grpc-close-guard';

export function temporalAddress(c: Config): string {
  return c.TEMPORAL_ADDRESS ?? `127.0.0.1:${c.MC_TEMPORAL_PORT}`;
}

export function temporalUiUrl(c: Config): string {
  return (c.MC_TEMPORAL_UI_URL ?? `http://localhost:${c.MC_TEMPORAL_UI_PORT}`).replace(/\/$/, '');
}

/** Link to a run's page in the Temporal Web UI. */
export function runUiLink(c: Config, runId: string): string {
  return `${temporalUiUrl(c)}/namespaces/${encodeURIComponent(c.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(runId)}`;
}

function tlsOptions(c: Config) {
  if (c.TEMPORAL_TLS_CERT && c.TEMPORAL_TLS_KEY) {
    return { clientCertPair: { crt: fs.readFileSync(c.TEMPORAL_TLS_CERT), key: fs.readFileSync(c.TEMPORAL_TLS_KEY) } };
  }
  return c.TEMPORAL_TLS || c.TEMPORAL_API_KEY ? true : undefined;
}

/**
 * Calls that wait on purpose: history long polls (`waitNewEvent`, a workflow's result), and updates, which the
 * server holds until the workflow has acted. They get LONG_POLL_DEADLINE_MS: more than the server's own long-poll
 * expiry (20 s by default), after which it answers empty and the SDK asks again.
 */
const LONG_POLL_METHODS = new Set(['GetWorkflowExecutionHistory', 'PollWorkflowExecutionUpdate', 'UpdateWorkflowExecution', 'ExecuteMultiOperation']);
export const LONG_POLL_DEADLINE_MS = 75_000;

/**
 * A deadline on every gRPC call that has none (a caller's own `withDeadline` wins): `timeoutMs` for ordinary calls,
 * LONG_POLL_DEADLINE_MS for long polls. It wraps the SDK's retry interceptor, so the deadline bounds all retries
 * together: with Temporal unreachable a call fails after `timeoutMs` with DEADLINE_EXCEEDED instead of retrying for
 * ~20 s (the SDK's default backoff), and the API answers 503 (api/errors.ts).
 */
export function deadlineInterceptor(timeoutMs: number): Interceptor {
  return (options, nextCall) => {
    if (options.deadline === undefined || options.deadline === Infinity) {
      const method = options.method_definition.path.slice(options.method_definition.path.lastIndexOf('/') + 1);
      options = { ...options, deadline: Date.now() + (LONG_POLL_METHODS.has(method) ? LONG_POLL_DEADLINE_MS : timeoutMs) };
    }
    return new InterceptingCall(nextCall(options));
  };
}

/**
 * The SDK's retry policy (retryable codes, ×1.7 backoff from 100 ms, 10 attempts) with the pause between attempts
 * capped at 500 ms instead of 5 s: the retry interceptor does not know the call's deadline, and a long pause would
 * let a call outlive it by seconds before failing.
 */
const apiRetryOptions: GrpcRetryOptions = {
  delayFunction: (attempt) => Math.min(500, 100 * 1.7 ** attempt) * (0.8 + Math.random() * 0.4),
  retryableDecider: (attempt, status) => attempt < 10 && isRetryableError(status),
};

/** The API's client: every call bounded (MC_TEMPORAL_TIMEOUT_MS), retried by the SDK within that bound. */
export async function connectClient(c: Config): Promise<Client> {
  const connection = await Connection.connect({
    address: temporalAddress(c),
    tls: tlsOptions(c),
    apiKey: c.TEMPORAL_API_KEY,
    // Outermost first: the deadline is set before the retry interceptor sees the call; below the retries, a closed
    // connection ends a waiting retry instead of throwing from its timer (./grpc-close-guard.ts).
    interceptors: [deadlineInterceptor(c.MC_TEMPORAL_TIMEOUT_MS), ...guardedInterceptors(apiRetryOptions)],
  });
  return new Client({ connection, namespace: c.TEMPORAL_NAMESPACE });
}

/**
 * Runtime options every worker process installs: SDK worker heartbeats every MC_WORKER_HEARTBEAT_SECONDS, so the
 * server's worker list (what the fleet overview reads) knows each live worker, its host's CPU and memory and its
 * slots in use. A process has one Runtime: install it once, before the first worker is created.
 */
export function workerRuntimeOptions(c: Pick<Config, 'MC_WORKER_HEARTBEAT_SECONDS'>): { workerHeartbeatInterval: number } {
  return { workerHeartbeatInterval: c.MC_WORKER_HEARTBEAT_SECONDS * 1000 };
}

export async function connectWorkerConnection(c: Config): Promise<NativeConnection> {
  return NativeConnection.connect({ address: temporalAddress(c), tls: tlsOptions(c), apiKey: c.TEMPORAL_API_KEY });
}

const INDEXED: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.KEYWORD]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.TEXT]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  [SearchAttributeType.DATETIME]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  [SearchAttributeType.INT]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
};

/**
 * Register our custom search attributes if the namespace lacks them (idempotent). The worker and the API call
 * this at start, so the embedded dev server, an external cluster and test servers all get them.
 */
export async function ensureSearchAttributes(
  connection: Pick<Connection | NativeConnection, 'operatorService'>,
  namespace: string,
): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = ALL_SEARCH_ATTRIBUTES.filter((k) => !have.has(k.name));
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, INDEXED[k.type]])),
    });
  } catch (err) {
    if (!/already exists/i.test((err as Error).message)) throw err;
  }
}

