/**
 * API entry point (`npm run api`): REST, /metrics, /healthz on PORT. Needs a reachable Temporal (embedded dev
 * server from `npm start`, or TEMPORAL_ADDRESS). Exits 0 on SIGINT/SIGTERM after closing, 1 on failure.
 */
import type { Client } from '@temporalio/client';
import { ConfigError, loadConfig, Config } from '../lib/config';
import { createLogger, setLogLevel } from '../lib/log';
import { createMetrics, Metrics } from '../lib/metrics';
import { connectClient, ensureSearchAttributes, temporalUiUrl } from '../lib/temporal';
import { startWebServer, WebServer } from './app';
import { resolveCredentials } from './auth';

const log = createLogger('api');

export interface RunningApi {
  web: WebServer;
  client: Client;
  stop(): Promise<void>;
}

export async function startApi(config: Config, metrics: Metrics = createMetrics()): Promise<RunningApi> {
  const client = await connectClient(config);
  await ensureSearchAttributes(client.connection, config.TEMPORAL_NAMESPACE);
  const credentials = resolveCredentials(config);
  const web = await startWebServer({ client, config, credentials, metrics });
  log.info(`API listening on ${web.url}  (health: ${web.url}/healthz, metrics: ${web.url}/metrics, API documentation: ${web.url}/docs)`);
  log.info(`Temporal Web UI: ${temporalUiUrl(config)}`);
  if (credentials.generatedKey) {
    log.info(`Generated an API key (shown once; kept in ${credentials.keyFile}):\n\n    ${credentials.generatedKey}\n`);
    log.info(`Try: curl -H "Authorization: Bearer ${credentials.generatedKey}" -H 'content-type: application/json' -d '{"task":"Write a haiku about durable execution"}' ${web.url}/api/runs`);
  } else if (credentials.keyFile) {
    log.info(`API key: the one in ${credentials.keyFile}`);
  } else {
    log.info('API keys: from MC_API_KEYS' + (credentials.adminPassword ? ' (and the MC_ADMIN_PASSWORD)' : ''));
  }
  return {
    web,
    client,
    async stop() {
      await web.stop();
      await client.connection.close();
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  setLogLevel(config.MC_LOG_LEVEL);
  const api = await startApi(config);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log.info('stopping API');
  await api.stop();
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      log.error(err instanceof ConfigError ? err.message : `API failed: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}
