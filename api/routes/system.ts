/** Health and readiness, what the page shows in its header, run counts, Prometheus metrics. */
import { z } from 'zod';
import { selectProvider, type Config } from '../../lib/config';
import type { Metrics } from '../../lib/metrics';
import { temporalUiUrl } from '../../lib/temporal';
import { route, withStatus, type RouteDef } from '../http/route';
import type { TemporalReadiness } from '../readiness';
import type { RunService } from '../run-service';
import { InfoReply, StatsReply } from '../schemas';

/** GET /healthz: the process is up (no credentials, no Temporal call). */
export const healthRoute = route(
  {
    method: 'get',
    path: '/healthz',
    tag: 'system',
    access: 'public',
    summary: 'The process is up',
    description: 'Needs no credentials and asks nothing of Temporal.',
    responses: { 200: ['Up', z.object({ ok: z.literal(true) })] },
  },
  () => ({ ok: true }),
);

const ReadyReply = z.object({ ready: z.boolean() });

/**
 * GET /readyz: Temporal answers for our namespace (no credentials, like /healthz: probes carry none). It says
 * nothing but ready or not; the reason goes to the log.
 */
export function readinessRoute(readiness: TemporalReadiness): RouteDef {
  return route(
    {
      method: 'get',
      path: '/readyz',
      tag: 'system',
      access: 'public',
      summary: 'Temporal answers: this replica can serve requests',
      description:
        'For load balancers and Kubernetes readiness probes. 503 while Temporal is unreachable or slower than ' +
        'MC_TEMPORAL_TIMEOUT_MS (at most 2 s); /healthz stays 200 meanwhile. Answers are reused for a second.',
      responses: { 200: ['Ready', ReadyReply], 503: ['Not ready: Temporal does not answer', ReadyReply] },
    },
    async ({ res }) => {
      res.set('cache-control', 'no-store');
      return (await readiness.ready()) ? { ready: true } : withStatus(503, { ready: false });
    },
  );
}

export function systemRoutes(config: Config, metrics: Metrics, runs: RunService): RouteDef[] {
  return [
    route(
      {
        method: 'get',
        path: '/api/info',
        tag: 'system',
        summary: 'Which model answers, and where the Temporal Web UI is',
        responses: { 200: ['What the page shows in its header', InfoReply] },
      },
      () => {
        const provider = selectProvider(config);
        return { modelProvider: provider, offline: provider === 'offline', temporalUi: temporalUiUrl(config), namespace: config.TEMPORAL_NAMESPACE };
      },
    ),
    route(
      {
        method: 'get',
        path: '/api/stats',
        tag: 'system',
        summary: 'Runs per status and the completion rate',
        description: 'From Temporal visibility, so true across every API replica and worker.',
        responses: { 200: ['The counts', StatsReply] },
      },
      async () => {
        const counts = await runs.countByStatus();
        const finished = counts.Done + counts.Failed + counts.Cancelled;
        return { counts, completionRate: finished ? counts.Done / finished : null };
      },
    ),
    route(
      {
        method: 'get',
        path: '/metrics',
        tag: 'system',
        summary: 'Prometheus metrics',
        raw: true,
        responses: { 200: { description: 'Prometheus text format', contentType: 'text/plain', schema: z.string() } },
      },
      async ({ res }) => {
        res.set('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
      },
    ),
  ];
}
