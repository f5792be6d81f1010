/**
 * Connections to Temporal from configuration, and the search attributes the app needs.
 * Embedded default: the dev server `npm start` runs on 127.0.0.1:MC_TEMPORAL_PORT. TEMPORAL_ADDRESS switches
 * everything to an existing cluster (TLS and API key supported).
 */
import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
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

export async function connectClient(c: Config): Promise<Client> {
  const connection = await Connection.connect({
    address: temporalAddress(c),
    tls: tlsOptions(c),
    apiKey: c.TEMPORAL_API_KEY,
    // The SDK's retries, and a closed connection that ends a waiting retry instead of throwing from its timer.
    interceptors: guardedInterceptors(),
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

