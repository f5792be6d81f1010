/**
 * Worker entry point (`npm run worker`): runs every workflow and activity of a run on MC_TASK_QUEUE.
 * SIGINT/SIGTERM start a graceful shutdown: no new tasks are taken, in-flight activities get
 * MC_SHUTDOWN_GRACE_SECONDS to finish, then the process exits 0. Any start-up failure exits 1.
 */
import http from 'node:http';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ConfigError, loadConfig, selectProvider, type Config } from '../lib/config';
import { createLogger, setLogLevel } from '../lib/log';
import { createMetrics, Metrics } from '../lib/metrics';
import { connectWorkerConnection, ensureSearchAttributes, temporalAddress, workerRuntimeOptions } from '../lib/temporal';
import { createRobotWorker } from './worker';

const log = createLogger('worker');

/** Says plainly which model answers, and never prints keys. */
export function describeModel(c: Config): string {
  const provider = selectProvider(c);
  if (provider === 'offline') return 'offline model (no provider key set): deterministic answers, no external calls';
  const base = provider === 'anthropic' ? c.ANTHROPIC_BASE_URL : c.OPENAI_BASE_URL;
  return `${provider}${base ? ` at ${base}` : ''}`;
}

export interface RunningWorker {
  /** Resolves when the worker has stopped. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/** Start a worker; used by this entry point and by `npm start` (scripts/serve.ts). */
export async function startWorker(config: Config, metrics?: Metrics): Promise<RunningWorker> {
  const connection = await connectWorkerConnection(config);
  await ensureSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
  const worker = await createRobotWorker({ connection, config, metrics });
  log.info(`polling task queue "${config.MC_TASK_QUEUE}" on ${temporalAddress(config)} (namespace ${config.TEMPORAL_NAMESPACE})`);
  log.info(`model: ${describeModel(config)}`);
  const done = worker.run().finally(() => connection.close());
  return {
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  setLogLevel(config.MC_LOG_LEVEL);
  // The runtime drains the worker on these signals (worker.shutdown), within the grace period.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: ['SIGINT', 'SIGTERM'], ...workerRuntimeOptions(config) });
  const metrics = config.MC_WORKER_METRICS_PORT ? createMetrics() : undefined;
  let server: http.Server | undefined;
  if (metrics) {
    server = http
      .createServer(async (req, res) => {
        if (req.url !== '/metrics') return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(await metrics.registry.metrics());
      })
      .listen(config.MC_WORKER_METRICS_PORT, config.MC_HOST);
    log.info(`worker metrics on http://${config.MC_HOST}:${config.MC_WORKER_METRICS_PORT}/metrics`);
  }
  const running = await startWorker(config, metrics);
  await running.done;
  server?.close();
  log.info('worker stopped');
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      log.error(err instanceof ConfigError ? err.message : `worker failed: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}
