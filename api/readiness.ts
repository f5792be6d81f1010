/**
 * Readiness for load balancers and Kubernetes: `GET /readyz` is 200 `{ ready: true }` while Temporal answers for
 * our namespace, else 503 `{ ready: false }`. Like /healthz it needs no credentials (probes carry none), so it says
 * nothing else: no address, namespace or error (those go to the log, once per change). `/healthz` stays "the process
 * is up", so an orchestrator restarts a process only when it is itself broken, never because Temporal is down.
 */
import type { RequestHandler } from 'express';
import type { Client } from '@temporalio/client';
import type { Logger } from '../lib/log';

export interface ReadinessOptions {
  /** How long one check may take (ms). */
  timeoutMs: number;
  /** How long an answer is reused (ms): a burst of unauthenticated probes makes one call to Temporal, not one each. */
  cacheMs?: number;
}

export function readinessHandler(client: Client, namespace: string, log: Logger, opts: ReadinessOptions): RequestHandler {
  const cacheMs = opts.cacheMs ?? 1000;
  let last: { ready: boolean; at: number } | undefined;
  let inFlight: Promise<boolean> | undefined;
  let wasReady: boolean | undefined;

  const check = async (): Promise<boolean> => {
    try {
      // Served by the frontend from the namespace registry, which needs the persistence store behind it.
      await client.connection.withDeadline(Date.now() + opts.timeoutMs, () => client.workflowService.describeNamespace({ namespace }));
      if (wasReady === false) log.info('ready again: Temporal answers');
      wasReady = true;
      return true;
    } catch (err) {
      if (wasReady !== false) log.warn('not ready: Temporal does not answer', { error: (err as Error).message });
      wasReady = false;
      return false;
    }
  };

  return async (_req, res) => {
    if (!last || Date.now() - last.at > cacheMs) {
      inFlight ??= check().finally(() => (inFlight = undefined));
      last = { ready: await inFlight, at: Date.now() };
    }
    res.set('cache-control', 'no-store').status(last.ready ? 200 : 503).json({ ready: last.ready });
  };
}
