/**
 * The Express app and its lifecycle. `startWebServer` listens (port 0 in tests) and returns a handle whose
 * `stop` closes the server; the Temporal client is passed in and owned by the caller.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import client from 'prom-client';
import type { Client } from '@temporalio/client';
import { selectProvider, type Config } from '../lib/config';
import { createLogger } from '../lib/log';
import type { Metrics } from '../lib/metrics';
import { Credentials, requireAuth } from './auth';
import { errorMiddleware, HttpError } from './errors';
import { RobotService } from './robots/service';
import { resolveWebhookKey } from './robots/webhook-signature';
import { RunService } from './run-service';
import { compoundRouter } from './routes/compound';
import { hooksRouter } from './routes/hooks';
import { robotsRouter } from './routes/robots';
import { RunWatcher } from './run-watcher';
import { eventsRouter } from './routes/events';
import { runsRouter } from './routes/runs';
import { sessionRouter } from './routes/session';
import { temporalUiUrl } from '../lib/temporal';

/** The page: static files, no build step, no CDN. */
export const WEB_DIR = path.resolve(__dirname, '..', 'web');

export interface AppDeps {
  client: Client;
  config: Config;
  credentials: Credentials;
  metrics: Metrics;
}

const log = createLogger('api');

export interface App {
  app: express.Express;
  watcher: RunWatcher;
}

export function createApp(deps: AppDeps): App {
  // RunService resolves `robotId` through RobotService, which starts its runs through RunService.
  const runs: RunService = new RunService(deps.client, deps.config, deps.metrics, (id) => robots.load(id));
  const robots = new RobotService(deps.client, deps.config, runs, resolveWebhookKey(deps.config));
  const watcher = new RunWatcher(deps.client, runs);
  runs.onStarted = (id) => watcher.watch(id);
  registerRunGauge(deps.metrics, runs);

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  // Webhooks authenticate by signature over the raw body: before requireAuth and express.json.
  app.use('/hooks', hooksRouter(robots, deps.config.MC_WEBHOOK_MAX_BODY));

  app.use(sessionRouter(deps.credentials, WEB_DIR));
  app.use(requireAuth(deps.credentials));
  app.use(express.static(WEB_DIR, { index: 'index.html', extensions: ['html'] }));
  app.use(express.json({ limit: deps.config.MC_MAX_BODY }));

  /** What the page shows in its header: which model the configuration selects, and where the Temporal UI is. */
  app.get('/api/info', (_req, res) => {
    const provider = selectProvider(deps.config);
    res.json({ modelProvider: provider, offline: provider === 'offline', temporalUi: temporalUiUrl(deps.config), namespace: deps.config.TEMPORAL_NAMESPACE });
  });
  /** Runs per status and the completion rate, from Temporal visibility. */
  app.get('/api/stats', async (_req, res) => {
    const counts = await runs.countByStatus();
    const finished = counts.Done + counts.Failed + counts.Cancelled;
    res.json({ counts, completionRate: finished ? counts.Done / finished : null });
  });
  app.use(eventsRouter(runs, watcher));

  app.get('/metrics', async (_req, res) => {
    res.set('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.use('/api/runs', runsRouter(runs));
  app.use('/task', compoundRouter(runs));
  app.use('/api/robots', robotsRouter(robots));

  app.use((req, _res, next) => next(new HttpError(404, `no route for ${req.method} ${req.path}`)));
  app.use(errorMiddleware(log));
  return { app, watcher };
}

/** mc_runs{status}: runs per status, counted from Temporal visibility at scrape time (true across processes). */
function registerRunGauge(metrics: Metrics, runs: RunService): void {
  if (metrics.registry.getSingleMetric('mc_runs')) metrics.registry.removeSingleMetric('mc_runs');
  new client.Gauge({
    name: 'mc_runs',
    help: 'Runs by status, from Temporal visibility',
    labelNames: ['status'],
    registers: [metrics.registry],
    async collect() {
      try {
        const counts = await runs.countByStatus();
        for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      } catch (err) {
        log.warn('could not count runs for /metrics', { error: (err as Error).message });
      }
    },
  });
}

export interface WebServer {
  server: http.Server;
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startWebServer(deps: AppDeps, opts: { port?: number; host?: string } = {}): Promise<WebServer> {
  const { app, watcher } = createApp(deps);
  const server = http.createServer(app);
  const host = opts.host ?? deps.config.MC_HOST;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? deps.config.PORT, host, () => resolve());
  });
  watcher.start();
  const { port } = server.address() as AddressInfo;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return {
    server,
    port,
    url: `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await watcher.stop();
      await closed;
    },
  };
}
