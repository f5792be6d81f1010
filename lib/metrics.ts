/**
 * Prometheus metrics (prom-client). One registry per process; the API serves it at /metrics, and a worker
 * running as its own process can serve it too (MC_WORKER_METRICS_PORT).
 */
import client from 'prom-client';

export interface Metrics {
  registry: client.Registry;
  runsStarted: client.Counter<'trigger'>;
  stageDuration: client.Histogram<'stage' | 'outcome'>;
  activityDuration: client.Histogram<'activity' | 'outcome'>;
  modelTokens: client.Counter<'provider' | 'model' | 'direction'>;
  modelCost: client.Counter<'provider' | 'model'>;
  modelCalls: client.Counter<'provider' | 'model'>;
  modelLatency: client.Histogram<'provider' | 'model'>;
  chatEvents: client.Counter<'platform' | 'outcome'>;
}

/** Seconds: from a zero-latency offline call to a ten-minute stage. */
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600];

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new client.Registry();
  if (opts.defaultMetrics !== false) client.collectDefaultMetrics({ register: registry });
  return {
    registry,
    runsStarted: new client.Counter({
      name: 'mc_runs_started_total',
      help: 'Runs started through this API process, by trigger',
      labelNames: ['trigger'],
      registers: [registry],
    }),
    stageDuration: new client.Histogram({
      name: 'mc_stage_duration_seconds',
      help: 'Duration of stage activity attempts, by stage and outcome (done, failed, cancelled, budget)',
      labelNames: ['stage', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    activityDuration: new client.Histogram({
      name: 'mc_activity_duration_seconds',
      help: 'Duration of activity attempts run by the activity runtime (stages, task-graph nodes, the Robot Host turn, ...), by activity type and outcome (done, failed, cancelled, budget)',
      labelNames: ['activity', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    modelTokens: new client.Counter({
      name: 'mc_model_tokens_total',
      help: 'Model tokens, by provider, model and direction (input/output)',
      labelNames: ['provider', 'model', 'direction'],
      registers: [registry],
    }),
    modelCost: new client.Counter({
      name: 'mc_model_cost_usd_total',
      help: 'Model cost in USD from the price table, by provider and model',
      labelNames: ['provider', 'model'],
      registers: [registry],
    }),
    modelCalls: new client.Counter({
      name: 'mc_model_calls_total',
      help: 'Model calls, by provider and model',
      labelNames: ['provider', 'model'],
      registers: [registry],
    }),
    modelLatency: new client.Histogram({
      name: 'mc_model_latency_seconds',
      help: 'Model call latency, by provider and model',
      labelNames: ['provider', 'model'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    chatEvents: new client.Counter({
      name: 'mc_chat_requests_total',
      help: 'Requests from chat platforms, by platform and outcome (accepted: events handed to a conversation; acknowledged: nothing to do; refused: bad signature or not connected)',
      labelNames: ['platform', 'outcome'],
      registers: [registry],
    }),
  };
}
