/**
 * Readiness for load balancers and Kubernetes: whether Temporal answers for our namespace (`GET /readyz`, see
 * routes/system.ts). `/healthz` stays "the process is up", so an orchestrator restarts a process only when it is
 * itself broken, never because Temporal is down; readiness takes a replica out of rotation meanwhile.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from '../lib/log';

export interface ReadinessOptions {
  /** How long one check may take (ms). */
  timeoutMs: number;
  /** How long an answer is reused (ms): a burst of unauthenticated probes makes one call to Temporal, not one each. */
  cacheMs?: number;
}

/** Asks Temporal whether it answers, at most once per `cacheMs`; logs a change (ready ↔ not ready) once. */
export class TemporalReadiness {
  private last?: { ready: boolean; at: number };
  private inFlight?: Promise<boolean>;
  private wasReady?: boolean;

  constructor(
    private readonly client: Client,
    private readonly namespace: string,
    private readonly log: Logger,
    private readonly opts: ReadinessOptions,
  ) {}

  async ready(): Promise<boolean> {
    if (!this.last || Date.now() - this.last.at > (this.opts.cacheMs ?? 1000)) {
      this.inFlight ??= this.check().finally(() => (this.inFlight = undefined));
      this.last = { ready: await this.inFlight, at: Date.now() };
    }
    return this.last.ready;
  }

  private async check(): Promise<boolean> {
    try {
      // Served by the frontend from the namespace registry, which needs the persistence store behind it.
      await this.client.connection.withDeadline(Date.now() + this.opts.timeoutMs, () => this.client.workflowService.describeNamespace({ namespace: this.namespace }));
      if (this.wasReady === false) this.log.info('ready again: Temporal answers');
      this.wasReady = true;
      return true;
    } catch (err) {
      // The reason goes to the log only: the probe is unauthenticated, so its answer says nothing but ready or not.
      if (this.wasReady !== false) this.log.warn('not ready: Temporal does not answer', { error: (err as Error).message });
      this.wasReady = false;
      return false;
    }
  }
}
