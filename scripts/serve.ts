/**
 * Worker + API in one process, as `npm start` runs them (they also run apart: `npm run worker`, `npm run api`).
 * Sharing the process lets one /metrics show API, stage and model metrics together.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startApi } from '../api/main';
import { ConfigError, loadConfig } from '../lib/config';
import { createLogger, setLogLevel } from '../lib/log';
import { createMetrics } from '../lib/metrics';
import { workerRuntimeOptions } from '../lib/temporal';
import { startWorker } from '../workers/main';

const log = createLogger('serve');

async function retry<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      log.debug(`${what} not ready yet: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  setLogLevel(config.MC_LOG_LEVEL);
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [], ...workerRuntimeOptions(config) });
  const metrics = createMetrics();
  const worker = await retry('Temporal (worker)', () => startWorker(config, metrics));
  const api = await retry('Temporal (api)', () => startApi(config, metrics));
  process.stdout.write('MC_READY\n');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping API and draining the worker (up to ${config.MC_SHUTDOWN_GRACE_SECONDS}s)`);
    await api.stop();
    await worker.shutdown();
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  // `npm start` passes --exit-with-stdin and holds our stdin open (a pipe): its end means npm start is gone (even by
  // SIGKILL), so stop too rather than keep the API port.
  if (process.argv.includes('--exit-with-stdin')) {
    process.stdin.on('end', () => void stop('npm start went away'));
    process.stdin.on('error', () => void stop('npm start went away'));
    process.stdin.resume();
  }
  await worker.done;
  if (!stopping) await api.stop();
}

main().then(
  () => process.exit(0),
  (err) => {
    log.error(err instanceof ConfigError ? err.message : `failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
